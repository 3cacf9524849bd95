// virtsock-cat as a relay (-l [-k] URI TARGET_URI) over unix and tcp loopback:
// concurrent pairs, half-close both ways, -u/-U, the connection bound, resets,
// and the clean-up of a unix socket file on SIGINT/SIGTERM.
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "test_util.hpp"

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

const std::string cat_bin = VIRTSOCK_CAT;

bool contains(const std::string& haystack, const std::string& needle)
{
	return haystack.find(needle) != std::string::npos;
}

using test::fnv1a;
using test::random_bytes;

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

// Everything up to the peer's end of stream; the error if there is one.
vs::result<std::string> read_to_eof(vs::stream_socket& s)
{
	std::string got;
	std::array<std::byte, 65536> buf;
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)
			return got;
		got.append(reinterpret_cast<const char*>(buf.data()), *n);
	}
}

// "...: listening on URI" -> URI
std::string listening_uri(test::child& c)
{
	auto line = c.stderr_line();
	auto at = line.find("listening on ");
	EXPECT_NE(at, std::string::npos) << "no ready line, got '" << line << "'";
	return at == std::string::npos ? "" : line.substr(at + 13);
}

// A target service in this process: each accepted connection is handled by
// `handler` in a thread of its own.
class service {
public:
	using handler = std::function<void(vs::stream_socket&, unsigned index)>;

	service(const std::string& where, handler h) : l_(vs::address(where)), h_(std::move(h))
	{
		auto local = l_.local_address();
		uri_ = local ? local->to_string() : where;
		thread_ = std::thread([this] { loop(); });
	}
	~service()
	{
		stop_ = true;
		thread_.join();
		for (auto& t : workers_)
			t.join();
	}
	const std::string& uri() const { return uri_; }
	unsigned accepted() const { return accepted_; }
	// True once n handlers have returned (what they wrote may be read then).
	bool finished(unsigned n, std::chrono::seconds limit = 10s)
	{
		std::unique_lock lock(m_);
		return cv_.wait_for(lock, limit, [&] { return finished_ >= n; });
	}

private:
	void loop()
	{
		while (!stop_) {
			auto s = l_.accept(50ms);
			if (!s)
				continue;
			unsigned index = accepted_++;
			workers_.emplace_back([this, index, c = std::move(*s)]() mutable {
				h_(c, index);
				std::lock_guard lock(m_);
				finished_++;
				cv_.notify_all();
			});
		}
	}

	vs::listener l_;
	handler h_;
	std::string uri_;
	std::atomic<bool> stop_{false};
	std::atomic<unsigned> accepted_{0};
	std::mutex m_;
	std::condition_variable cv_;
	unsigned finished_ = 0;
	std::thread thread_;
	std::vector<std::thread> workers_;
};

// Waits (bounded) until `n` parties have arrived: proof that connections
// were open at the same time.
class meeting {
public:
	explicit meeting(unsigned n) : n_(n) {}
	bool arrive_and_wait(std::chrono::seconds limit = 10s)
	{
		std::unique_lock lock(m_);
		if (++here_ >= n_)
			cv_.notify_all();
		return cv_.wait_for(lock, limit, [&] { return here_ >= n_; });
	}

private:
	std::mutex m_;
	std::condition_variable cv_;
	unsigned n_, here_ = 0;
};

std::string banner = "SSH-2.0-relay-test\r\n";

// An sshd-like service: speaks first, reads its client's whole stream
// (which only a passed-on half-close ends), waits until `together`
// connections are open at once, then answers with the checksum of what it
// read and a payload of its own, and closes.
service::handler checksum_service(meeting& together, std::atomic<int>& failures)
{
	return [&](vs::stream_socket& c, unsigned index) {
		if (!c.send_all(bytes(banner)))
			failures++;
		auto got = read_to_eof(c);
		if (!got || !together.arrive_and_wait()) {
			failures++;
			return;
		}
		auto reply = std::to_string(got->size()) + " " + std::to_string(fnv1a(*got)) + "\n" +
			     random_bytes(1 << 20, 100 + index);
		if (!c.send_all(bytes(reply)))
			failures++;
	};
}

// A client of the relay: sends `data`, half-closes, reads to the end.
struct client_result {
	bool ok = false;
	std::string error, reply;
};

client_result run_client(const std::string& uri, const std::string& data)
{
	client_result r;
	auto c = vs::connector(5s).connect(vs::address(uri));
	if (!c) {
		r.error = c.error().message();
		return r;
	}
	// The reply is read while sending: the service speaks first.
	std::string reply;
	std::thread reader([&] {
		auto got = read_to_eof(*c);
		if (got)
			reply = *got;
		else
			r.error = "recv: " + got.error().message();
	});
	if (auto s = c->send_all(bytes(data)); !s)
		r.error = "send: " + s.error().message();
	else if (auto h = c->shutdown(SHUT_WR); !h)
		r.error = "shutdown: " + h.error().message();
	reader.join();
	r.reply = reply;
	r.ok = r.error.empty();
	return r;
}

void expect_checksum_reply(const client_result& r, const std::string& sent, unsigned index)
{
	ASSERT_TRUE(r.ok) << r.error;
	ASSERT_TRUE(r.reply.starts_with(banner)) << r.reply.substr(0, 64);
	auto rest = r.reply.substr(banner.size());
	auto nl = rest.find('\n');
	ASSERT_NE(nl, std::string::npos);
	EXPECT_EQ(rest.substr(0, nl), std::to_string(sent.size()) + " " + std::to_string(fnv1a(sent)));
	auto payload = rest.substr(nl + 1);
	auto want = random_bytes(1 << 20, 100 + index);
	EXPECT_EQ(payload.size(), want.size());
	EXPECT_EQ(fnv1a(payload), fnv1a(want));
}

struct transports {
	std::string listen, target;	// "unix" or "tcp"
};

std::string where(const std::string& kind, test::temp_dir& dir, const std::string& name)
{
	return kind == "unix" ? "unix:" + dir / name : "tcp:127.0.0.1:0";
}

class RelayBetween : public ::testing::TestWithParam<transports> {};

// Two connections relayed at once (the service answers only when both are
// open), each moving 2 MiB one way and 1 MiB the other, the client's
// half-close passed on to the service and the service's end to the client.
TEST_P(RelayBetween, TwoConcurrentPairsWithHalfCloseAndChecksums)
{
	test::temp_dir dir;
	meeting together(2);
	std::atomic<int> failures{0};
	service svc(where(GetParam().target, dir, "svc"), checksum_service(together, failures));
	test::child relay({cat_bin, "-l", "-k", "-v", where(GetParam().listen, dir, "relay"), svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());

	std::array<std::string, 2> data{random_bytes(2 << 20, 1), random_bytes(2 << 20, 2)};
	std::array<client_result, 2> got;
	{
		std::jthread a([&] { got[0] = run_client(uri, data[0]); });
		std::jthread b([&] { got[1] = run_client(uri, data[1]); });
	}
	ASSERT_TRUE(svc.finished(2));
	EXPECT_EQ(failures, 0);
	ASSERT_EQ(svc.accepted(), 2u);
	// Which service connection served which client is the relay's business:
	// both payloads must have come back, to the client that sent the data.
	for (unsigned i = 0; i < 2; i++) {
		auto rest = got[i].reply.substr(std::min(got[i].reply.size(), banner.size()));
		auto payload = rest.substr(std::min(rest.size(), rest.find('\n') + 1));
		unsigned index = fnv1a(payload) == fnv1a(random_bytes(1 << 20, 100)) ? 0 : 1;
		expect_checksum_reply(got[i], data[i], index);
	}

	ASSERT_EQ(::kill(relay.pid(), SIGTERM), 0);
	auto r = relay.wait();
	EXPECT_EQ(r.signal, SIGTERM) << r.err;
	EXPECT_TRUE(contains(r.err, "connection 1 from")) << r.err;
	EXPECT_TRUE(contains(r.err, "bytes back")) << r.err;
	EXPECT_FALSE(std::filesystem::exists(dir / "relay"));
}

INSTANTIATE_TEST_SUITE_P(Relay, RelayBetween,
			 ::testing::Values(transports{"unix", "tcp"}, transports{"tcp", "unix"},
					   transports{"tcp", "tcp"}),
			 [](const auto& info) { return info.param.listen + "_to_" + info.param.target; });

// The target half-closes first and goes on reading: its data and its end
// reach the client, whose later data still reaches the target.
TEST(Relay, TargetHalfClosesFirst)
{
	test::temp_dir dir;
	std::atomic<int> failures{0};
	std::string later = random_bytes(1 << 20, 7), from_client;
	service svc("unix:" + dir / "svc", [&](vs::stream_socket& c, unsigned) {
		if (!c.send_all(bytes(std::string("early words"))) || !c.shutdown(SHUT_WR))
			failures++;
		auto got = read_to_eof(c);
		if (got)
			from_client = *got;
		else
			failures++;
	});
	test::child relay({cat_bin, "-l", "-v", "unix:" + dir / "relay", svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	auto early = read_to_eof(*c);
	ASSERT_TRUE(early) << early.error().message();
	EXPECT_EQ(*early, "early words");
	ASSERT_TRUE(c->send_all(bytes(later)));
	ASSERT_TRUE(c->shutdown(SHUT_WR));
	auto r = relay.wait();	// one connection without -k: done when both ways ended
	EXPECT_EQ(r.status, 0) << r.err;
	ASSERT_TRUE(svc.finished(1));
	EXPECT_EQ(failures, 0);
	EXPECT_EQ(from_client.size(), later.size());
	EXPECT_EQ(fnv1a(from_client), fnv1a(later));
	// Without -k the listener went with its one connection.
	EXPECT_FALSE(std::filesystem::exists(dir / "relay"));
}

// -u: client -> target only.  The client gets an end of stream at once; the
// target's data is dropped; the client's arrives whole.
TEST(Relay, OneWayForward)
{
	test::temp_dir dir;
	std::string data = random_bytes(3 << 20, 11), at_target;
	std::atomic<int> failures{0};
	service svc("tcp:127.0.0.1:0", [&](vs::stream_socket& c, unsigned) {
		if (!c.send_all(bytes(std::string("dropped"))))
			failures++;
		auto got = read_to_eof(c);
		if (got)
			at_target = *got;
		else
			failures++;
	});
	test::child relay({cat_bin, "-l", "-u", "-v", "unix:" + dir / "relay", svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	auto back = read_to_eof(*c);	// before sending anything
	ASSERT_TRUE(back) << back.error().message();
	EXPECT_EQ(*back, "");
	ASSERT_TRUE(c->send_all(bytes(data)));
	ASSERT_TRUE(c->shutdown(SHUT_WR));
	auto r = relay.wait();
	EXPECT_EQ(r.status, 0) << r.err;
	ASSERT_TRUE(svc.finished(1));
	EXPECT_EQ(failures, 0);
	EXPECT_EQ(at_target.size(), data.size());
	EXPECT_EQ(fnv1a(at_target), fnv1a(data));
}

// -U: target -> client only.  The target gets an end of stream at once; the
// client's data is dropped; the target's arrives whole.
TEST(Relay, OneWayBackward)
{
	test::temp_dir dir;
	std::string data = random_bytes(3 << 20, 12);
	std::atomic<int> failures{0};
	std::string at_target = "unset";
	service svc("unix:" + dir / "svc", [&](vs::stream_socket& c, unsigned) {
		auto got = read_to_eof(c);	// the relay's half-close, at once
		if (got)
			at_target = *got;
		else
			failures++;
		if (!c.send_all(bytes(data)))
			failures++;
	});
	test::child relay({cat_bin, "-l", "-U", "-v", "tcp:127.0.0.1:0", svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	ASSERT_TRUE(c->send_all(bytes(std::string("dropped"))));
	ASSERT_TRUE(c->shutdown(SHUT_WR));
	auto back = read_to_eof(*c);
	ASSERT_TRUE(back) << back.error().message();
	EXPECT_EQ(back->size(), data.size());
	EXPECT_EQ(fnv1a(*back), fnv1a(data));
	auto r = relay.wait();
	EXPECT_EQ(r.status, 0) << r.err;
	ASSERT_TRUE(svc.finished(1));
	EXPECT_EQ(failures, 0);
	EXPECT_EQ(at_target, "");
}

// --max-connections 1: a second client waits in the backlog until the first
// pair ends, then is relayed.
TEST(Relay, MaxConnectionsHoldsTheRestInTheBacklog)
{
	test::temp_dir dir;
	std::mutex m;
	std::condition_variable cv;
	bool release_first = false;
	std::atomic<int> failures{0};
	service svc("unix:" + dir / "svc", [&](vs::stream_socket& c, unsigned index) {
		if (index == 0) {
			std::unique_lock lock(m);
			cv.wait_for(lock, 10s, [&] { return release_first; });
		}
		auto got = read_to_eof(c);
		if (!got || !c.send_all(bytes("reply " + std::to_string(index) + " to " + *got)))
			failures++;
	});
	test::child relay({cat_bin, "-l", "-k", "-v", "--max-connections", "1", "tcp:127.0.0.1:0",
			   svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());

	auto first = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(first) << first.error().message();
	for (int i = 0; i < 500 && svc.accepted() < 1; i++)
		std::this_thread::sleep_for(10ms);
	ASSERT_EQ(svc.accepted(), 1u);
	// tcp: the kernel completes the connection; it waits in the backlog.
	auto second = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(second) << second.error().message();
	ASSERT_TRUE(second->send_all(bytes(std::string("two"))));
	ASSERT_TRUE(second->shutdown(SHUT_WR));
	std::this_thread::sleep_for(300ms);	// were it relayed, the service would see it by now
	EXPECT_EQ(svc.accepted(), 1u) << "the second connection was relayed past the bound";

	ASSERT_TRUE(first->send_all(bytes(std::string("one"))));
	ASSERT_TRUE(first->shutdown(SHUT_WR));
	{
		std::lock_guard lock(m);
		release_first = true;
	}
	cv.notify_all();
	auto r1 = read_to_eof(*first);
	ASSERT_TRUE(r1) << r1.error().message();
	EXPECT_EQ(*r1, "reply 0 to one");
	auto r2 = read_to_eof(*second);
	ASSERT_TRUE(r2) << r2.error().message();
	EXPECT_EQ(*r2, "reply 1 to two");
	ASSERT_TRUE(svc.finished(2));
	EXPECT_EQ(failures, 0);
	::kill(relay.pid(), SIGTERM);
	EXPECT_EQ(relay.wait().signal, SIGTERM);
}

// A relay that cannot reach its target resets its client (not an end of
// stream that would look like an empty answer), and with -k goes on.
TEST(Relay, UnreachableTargetResetsTheClient)
{
	test::temp_dir dir;
	test::child relay({cat_bin, "-l", "-k", "-v", "tcp:127.0.0.1:0", "unix:" + dir / "nobody"});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	for (int i = 0; i < 2; i++) {
		// Blocking: a connect with a timeout may see the reset already.
		auto c = vs::connector().connect(vs::address(uri));
		ASSERT_TRUE(c) << c.error().message();
		auto got = read_to_eof(*c);
		ASSERT_FALSE(got) << "got an end of stream";
		EXPECT_TRUE(got.error() == std::errc::connection_reset) << got.error().message();
	}
	::kill(relay.pid(), SIGINT);
	auto r = relay.wait();
	EXPECT_EQ(r.signal, SIGINT);
	EXPECT_TRUE(contains(r.err, "connect to unix:" + dir / "nobody")) << r.err;
}

// Without -k, -w bounds the wait for the one connection; the file goes.
TEST(Relay, WaitBoundsTheAcceptWithoutKeep)
{
	test::temp_dir dir;
	auto r = test::run({cat_bin, "-l", "-w", "0.2", "unix:" + dir / "relay", "unix:" + dir / "svc"});
	EXPECT_EQ(r.status, 1) << r.err;
	EXPECT_TRUE(contains(r.err, "accept: Connection timed out")) << r.err;
	EXPECT_FALSE(std::filesystem::exists(dir / "relay"));
}

// A client that resets its connection has its target's connection reset.
TEST(Relay, ClientResetIsPassedOn)
{
	std::atomic<int> failures{0};
	std::promise<std::error_code> target_saw;
	service svc("tcp:127.0.0.1:0", [&](vs::stream_socket& c, unsigned) {
		if (!c.send_all(bytes(std::string("hello"))))
			failures++;
		auto got = read_to_eof(c);
		target_saw.set_value(got ? std::error_code{} : got.error());
	});
	test::child relay({cat_bin, "-l", "-v", "tcp:127.0.0.1:0", svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	std::array<std::byte, 5> hello;
	ASSERT_TRUE(c->recv_exact(hello));	// relayed: the pair is up
	const linger now{.l_onoff = 1, .l_linger = 0};
	ASSERT_EQ(::setsockopt(c->handle(), SOL_SOCKET, SO_LINGER, &now, sizeof(now)), 0);
	ASSERT_TRUE(c->close());
	auto saw = target_saw.get_future();
	ASSERT_EQ(saw.wait_for(10s), std::future_status::ready);
	EXPECT_TRUE(saw.get() == std::errc::connection_reset);
	auto r = relay.wait();
	EXPECT_EQ(r.status, 3) << r.err;	// without -k: the pair's outcome
	EXPECT_TRUE(contains(r.err, "recv: Connection reset by peer")) << r.err;
	EXPECT_EQ(failures, 0);
}

// ---- signals: the unix socket file goes, relays in progress are reset -------------------

struct signal_case {
	std::vector<std::string> args;	// before the listen URI
	bool with_target;
	int signo;
};

class SignalCleanup : public ::testing::TestWithParam<signal_case> {};

TEST_P(SignalCleanup, RemovesTheUnixSocketFile)
{
	test::temp_dir dir;
	service svc("unix:" + dir / "svc", [](vs::stream_socket&, unsigned) {});
	auto path = dir / "listen";
	auto argv = std::vector<std::string>{cat_bin};
	argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
	argv.push_back("unix:" + path);
	if (GetParam().with_target)
		argv.push_back(svc.uri());
	for (int round = 0; round < 2; round++) {	// the second would get EADDRINUSE
		test::child c(argv);
		ASSERT_FALSE(listening_uri(c).empty());
		ASSERT_TRUE(std::filesystem::exists(path));
		ASSERT_EQ(::kill(c.pid(), GetParam().signo), 0);
		auto r = c.wait();
		EXPECT_EQ(r.signal, GetParam().signo) << r.err;
		EXPECT_FALSE(std::filesystem::exists(path)) << "round " << round;
	}
}

INSTANTIATE_TEST_SUITE_P(
	Relay, SignalCleanup,
	::testing::Values(signal_case{{"-l", "-v"}, false, SIGTERM}, signal_case{{"-l", "-v"}, false, SIGINT},
			  signal_case{{"-l", "-k", "-v"}, true, SIGTERM},
			  signal_case{{"-l", "-k", "-v"}, true, SIGINT},
			  signal_case{{"-l", "-v"}, true, SIGHUP}),
	[](const auto& info) {
		return std::string(info.param.with_target ? "relay" : "stdio") +
		       (info.param.args.size() > 2 ? "_keep_" : "_") + sigabbrev_np(info.param.signo);
	});

// SIGTERM while data flows: the client is reset, not handed an end of stream
// it would take for a complete transfer.
TEST(Relay, SigtermResetsRelaysInProgress)
{
	test::temp_dir dir;
	std::atomic<bool> quit{false};
	service svc("unix:" + dir / "svc", [&](vs::stream_socket& c, unsigned) {
		(void)c.send_all(bytes(std::string("up")));
		while (!quit)	// holds the connection open
			(void)c.poll(POLLIN, 50ms);
	});
	test::child relay({cat_bin, "-l", "-k", "-v", "tcp:127.0.0.1:0", svc.uri()});
	auto uri = listening_uri(relay);
	ASSERT_FALSE(uri.empty());
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	std::array<std::byte, 2> up;
	ASSERT_TRUE(c->recv_exact(up));
	ASSERT_EQ(::kill(relay.pid(), SIGTERM), 0);
	auto got = read_to_eof(*c);
	quit = true;
	ASSERT_FALSE(got) << "got an end of stream";
	EXPECT_TRUE(got.error() == std::errc::connection_reset) << got.error().message();
	EXPECT_EQ(relay.wait().signal, SIGTERM);
}

// ---- stdin/stdout with -u / -U ---------------------------------------------------------------

// -u: stdin goes out; what the peer sends is not printed.
TEST(Cat, OneWayStdinToSocket)
{
	test::temp_dir dir;
	vs::listener l(vs::address("unix:" + dir / "s"));
	auto data = random_bytes(1 << 20, 21);
	test::child cat({cat_bin, "-u", "unix:" + dir / "s"}, {.stdin_path = dir.write("in", data)});
	auto s = l.accept(5s);
	ASSERT_TRUE(s) << s.error().message();
	ASSERT_TRUE(s->send_all(bytes(std::string("not for stdout"))));
	auto got = read_to_eof(*s);
	ASSERT_TRUE(got) << got.error().message();
	EXPECT_EQ(fnv1a(*got), fnv1a(data));
	ASSERT_TRUE(s->close());
	auto r = cat.wait();
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_EQ(r.out, "");
}

// -U: the socket's data goes to stdout; stdin is not read, the peer gets an
// end of stream at once.
TEST(Cat, OneWaySocketToStdout)
{
	test::temp_dir dir;
	vs::listener l(vs::address("unix:" + dir / "s"));
	test::child cat({cat_bin, "-U", "unix:" + dir / "s"}, {.stdin_path = dir.write("in", "not sent")});
	auto s = l.accept(5s);
	ASSERT_TRUE(s) << s.error().message();
	auto got = read_to_eof(*s);
	ASSERT_TRUE(got) << got.error().message();
	EXPECT_EQ(*got, "");
	ASSERT_TRUE(s->send_all(bytes(std::string("answer"))));
	ASSERT_TRUE(s->close());
	auto r = cat.wait();
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_EQ(r.out, "answer");
}

// ---- usage -----------------------------------------------------------------------------------

struct usage_case {
	std::vector<std::string> args;
	std::string says;
};

class RelayUsage : public ::testing::TestWithParam<usage_case> {};

TEST_P(RelayUsage, ExitsTwoWithAMessage)
{
	std::vector<std::string> argv{cat_bin};
	argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
	auto r = test::run(argv);
	EXPECT_EQ(r.status, 2) << r.err;
	EXPECT_TRUE(contains(r.err, GetParam().says)) << r.err;
	EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
	Relay, RelayUsage,
	::testing::Values(usage_case{{"unix:/a", "unix:/b"}, "TARGET_URI unix:/b needs -l"},
			  usage_case{{"-l", "-k", "unix:/a"}, "-k needs -l and a TARGET_URI"},
			  usage_case{{"-u", "-U", "unix:/a"}, "-u and -U exclude each other"},
			  usage_case{{"-l", "-q", "unix:/a", "unix:/b"}, "-q is for the stdin/stdout relay"},
			  usage_case{{"-l", "-k", "--max-connections", "0", "unix:/a", "unix:/b"},
				     "--max-connections"},
			  usage_case{{"-l", "unix:/a", "virt:nohost:1"}, "CID 'nohost'"},
			  usage_case{{"-l", "-b", "4096", "unix:/a", "tcp:127.0.0.1:1"},
				     "--buffer needs a virt: or vsock: end"}));

TEST(Relay, HelpStatesTheBoundAndVersionPrints)
{
	auto h = test::run({cat_bin, "--help"});
	EXPECT_EQ(h.status, 0);
	EXPECT_TRUE(contains(h.out, "--max-connections")) << h.out;
	EXPECT_TRUE(contains(h.out, "default 64")) << h.out;
	auto v = test::run({cat_bin, "--version"});
	EXPECT_EQ(v.status, 0) << v.err;
	EXPECT_TRUE(v.out.starts_with("virtsock-cat ")) << v.out;
}

} // namespace
