#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <numeric>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace vs = virtsocket;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

static_assert(!std::is_copy_constructible_v<vs::stream_socket>);
static_assert(!std::is_copy_assignable_v<vs::listener>);
static_assert(std::is_nothrow_move_constructible_v<vs::stream_socket>);
static_assert(std::is_nothrow_move_constructible_v<vs::listener>);

// A listener is not a socket: a socket made from one would keep the
// descriptor listening while the listener's destructor unlinked its path.
static_assert(!std::is_base_of_v<vs::socket, vs::listener>);
static_assert(!std::is_convertible_v<vs::listener&&, vs::socket>);
static_assert(!std::is_constructible_v<vs::socket, vs::listener&&>);
static_assert(!std::is_assignable_v<vs::socket&, vs::listener&&>);
static_assert(!std::is_convertible_v<vs::listener&, vs::socket&>);
static_assert(!std::is_convertible_v<vs::listener*, vs::socket*>);
static_assert(!std::is_constructible_v<vs::stream_socket, vs::listener&&>);
// A read-only view is harmless: nothing can be moved out of it.
static_assert(std::is_convertible_v<const vs::listener&, const vs::socket&>);

std::span<const std::byte> bytes(std::string_view s)
{
	return std::as_bytes(std::span(s.data(), s.size()));
}

std::string text(std::span<const std::byte> b)
{
	return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<std::byte> pattern(std::size_t n)
{
	std::vector<std::byte> v(n);
	for (std::size_t i = 0; i < n; i++)
		v[i] = std::byte(i * 131 + i / 251);
	return v;
}

// A listener and one connected pair, over unix or tcp loopback.
class Stream : public ::testing::TestWithParam<vs::transport> {
protected:
	void SetUp() override
	{
		signal(SIGPIPE, SIG_DFL);	// a SIGPIPE would kill the test: MSG_NOSIGNAL must prevent it
		auto l = vs::listener::listen(listen_address());
		ASSERT_TRUE(l) << l.error().message();
		lst = std::move(*l);
		auto c = vs::connector().connect(lst.local_address().value());
		ASSERT_TRUE(c) << c.error().message();
		client = std::move(*c);
		auto s = lst.accept(2s);
		ASSERT_TRUE(s) << s.error().message();
		server = std::move(*s);
	}

	vs::address listen_address()
	{
		if (GetParam() == vs::transport::unix_domain)
			return vs::address("unix:" + dir / "s");
		return vs::address("tcp:127.0.0.1:0");
	}

	test::temp_dir dir;
	vs::listener lst;
	vs::stream_socket client, server;
};

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, Stream,
			 ::testing::Values(vs::transport::unix_domain, vs::transport::tcp),
			 [](const auto& info) { return std::string(vs::to_string(info.param)); });

TEST_P(Stream, SendAndRecv)
{
	EXPECT_EQ(client.kind(), GetParam());
	EXPECT_EQ(server.kind(), GetParam());
	EXPECT_EQ(client.peer_address().value(), lst.local_address().value());
	ASSERT_TRUE(client.send_all(bytes("hello")));
	std::array<std::byte, 5> buf;
	ASSERT_TRUE(server.recv_exact(buf));
	EXPECT_EQ(text(buf), "hello");
}

TEST_P(Stream, LocalAddressHasTheRealPort)
{
	auto local = lst.local_address().value();
	if (auto t = local.get_if<vs::tcp_address>()) {
		EXPECT_NE(t->port, 0);
		EXPECT_EQ(t->host, "127.0.0.1");
	} else {
		EXPECT_EQ(local.to_string(), "unix:" + dir / "s");
	}
}

TEST_P(Stream, SendAllAndRecvExactSurvivePartialTransfers)
{
	// Far more than the socket buffers: send() must come back short.
	ASSERT_TRUE(client.set_send_buffer_size(16 * 1024));
	const auto data = pattern(2 << 20);
	std::vector<std::byte> got(data.size());
	std::thread reader([&] { EXPECT_TRUE(server.recv_exact(got)); });
	auto r = client.send_all(data);
	reader.join();
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_TRUE(got == data);
}

TEST_P(Stream, NonBlockingSendIsPartialThenWouldBlock)
{
	ASSERT_TRUE(client.set_send_buffer_size(16 * 1024));
	ASSERT_TRUE(client.set_nonblocking());
	EXPECT_TRUE(client.is_nonblocking().value());
	const auto data = pattern(4 << 20);
	auto n = client.send(data);
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_GT(*n, 0U);
	EXPECT_LT(*n, data.size());
	std::size_t sent = *n;
	for (;;) {	// fill to the brim
		auto more = client.send(std::span(data).subspan(sent));
		if (!more) {
			EXPECT_EQ(more.error(), std::errc::operation_would_block);
			break;
		}
		sent += *more;
	}
	EXPECT_EQ(client.poll(POLLOUT, 0ms).value(), 0);
	// Draining on the other side makes it writable again.
	std::vector<std::byte> sink(sent);
	ASSERT_TRUE(server.recv_exact(sink));
	EXPECT_TRUE(std::equal(sink.begin(), sink.end(), data.begin()));
	EXPECT_TRUE(client.poll(POLLOUT, 2s).value() & POLLOUT);
}

TEST_P(Stream, HalfCloseGivesEofOneWayOnly)
{
	ASSERT_TRUE(client.send_all(bytes("last")));
	ASSERT_TRUE(client.shutdown(SHUT_WR));
	std::array<std::byte, 16> buf;
	std::array<std::byte, 4> four;
	ASSERT_TRUE(server.recv_exact(four));
	EXPECT_EQ(text(four), "last");
	EXPECT_EQ(server.recv(buf).value(), 0U);	// end of stream
	// The other direction still works.
	ASSERT_TRUE(server.send_all(bytes("reply")));
	std::array<std::byte, 5> five;
	ASSERT_TRUE(client.recv_exact(five));
	EXPECT_EQ(text(five), "reply");
}

TEST_P(Stream, RecvExactReportsEarlyEof)
{
	ASSERT_TRUE(client.send_all(bytes("abc")));
	ASSERT_TRUE(client.close());
	EXPECT_FALSE(client.is_open());
	std::array<std::byte, 10> buf;
	auto r = server.recv_exact(buf);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), vs::errc::unexpected_eof);
	EXPECT_EQ(r.error().message(), "connection closed before all data arrived");
}

TEST_P(Stream, RecvTimeout)
{
	ASSERT_TRUE(server.set_recv_timeout(50ms));
	// The kernel rounds to its tick.
	EXPECT_GE(server.recv_timeout().value(), 50ms);
	EXPECT_LT(server.recv_timeout().value(), 70ms);
	std::array<std::byte, 4> buf;
	auto t0 = clock_type::now();
	auto r = server.recv(buf);
	auto took = clock_type::now() - t0;
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::resource_unavailable_try_again);
	EXPECT_GE(took, 40ms);
	EXPECT_LT(took, 1s);
	EXPECT_FALSE(server.set_recv_timeout(-1ms));
}

TEST_P(Stream, SendTimeout)
{
	ASSERT_TRUE(client.set_send_buffer_size(16 * 1024));
	ASSERT_TRUE(client.set_send_timeout(50ms));
	// The kernel rounds to its tick.
	EXPECT_GE(client.send_timeout().value(), 50ms);
	EXPECT_LT(client.send_timeout().value(), 70ms);
	const auto data = pattern(32 << 20);	// nobody reads: must time out
	auto t0 = clock_type::now();
	auto r = client.send_all(data);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::resource_unavailable_try_again);
	EXPECT_LT(clock_type::now() - t0, 2s);
}

TEST_P(Stream, NonBlockingRecvAndPoll)
{
	ASSERT_TRUE(server.set_nonblocking());
	std::array<std::byte, 8> buf;
	auto r = server.recv(buf);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::operation_would_block);
	EXPECT_EQ(server.poll(POLLIN, 0ms).value(), 0);
	ASSERT_TRUE(client.send_all(bytes("ping")));
	EXPECT_TRUE(server.poll(POLLIN, 2s).value() & POLLIN);
	EXPECT_EQ(server.recv(buf).value(), 4U);
	ASSERT_TRUE(server.set_nonblocking(false));
	EXPECT_FALSE(server.is_nonblocking().value());
}

TEST_P(Stream, PollMany)
{
	std::array<pollfd, 2> fds{{{client.handle(), POLLIN, 0}, {server.handle(), POLLIN, 0}}};
	EXPECT_EQ(vs::poll_many(fds, 0ms).value(), 0);
	ASSERT_TRUE(server.send_all(bytes("x")));
	EXPECT_EQ(vs::poll_many(fds, 2s).value(), 1);
	EXPECT_TRUE(fds[0].revents & POLLIN);
	EXPECT_EQ(fds[1].revents, 0);
}

TEST_P(Stream, ScatterGather)
{
	std::array<iovec, 3> out{vs::to_iovec(bytes("abc")), vs::to_iovec(bytes("defg")),
				 vs::to_iovec(bytes("hi"))};
	EXPECT_EQ(client.send_gather(out).value(), 9U);
	std::array<std::byte, 4> a;
	std::array<std::byte, 5> b;
	std::array<iovec, 2> in{vs::to_iovec(a), vs::to_iovec(b)};
	EXPECT_EQ(server.recv_scatter(in, MSG_WAITALL).value(), 9U);
	EXPECT_EQ(text(a), "abcd");
	EXPECT_EQ(text(b), "efghi");
}

TEST_P(Stream, EpipeInsteadOfSigpipe)
{
	ASSERT_TRUE(server.close());
	const auto data = pattern(64 * 1024);
	vs::result<std::size_t> r = std::size_t(0);
	for (int i = 0; i < 100 && r; i++)	// tcp needs the RST back first
		r = client.send(data);
	ASSERT_FALSE(r);
	EXPECT_TRUE(r.error() == std::errc::broken_pipe || r.error() == std::errc::connection_reset)
		<< r.error().message();
}

TEST_P(Stream, BufferAndLowatOptions)
{
	// Small, below every default: a setter that did nothing shows.  Linux
	// doubles the value (bookkeeping overhead).
	auto rcv = server.recv_buffer_size().value(), snd = server.send_buffer_size().value();
	ASSERT_TRUE(server.set_recv_buffer_size(4096));
	EXPECT_NE(server.recv_buffer_size().value(), rcv);
	EXPECT_GE(server.recv_buffer_size().value(), 4096);
	EXPECT_LE(server.recv_buffer_size().value(), 4 * 4096);
	ASSERT_TRUE(server.set_send_buffer_size(4096));
	EXPECT_NE(server.send_buffer_size().value(), snd);
	EXPECT_GE(server.send_buffer_size().value(), 4096);
	EXPECT_LE(server.send_buffer_size().value(), 4 * 4096);
	ASSERT_TRUE(server.set_recv_lowat(10));
	EXPECT_EQ(server.recv_lowat().value(), 10);
	EXPECT_EQ(server.get_option(SOL_SOCKET, SO_TYPE).value(), SOCK_STREAM);
}

TEST_P(Stream, NodelayAndCorkMapToTheTransport)
{
	if (GetParam() == vs::transport::tcp) {
		ASSERT_TRUE(client.set_nodelay());
		EXPECT_TRUE(client.nodelay().value());
		ASSERT_TRUE(client.set_nodelay(false));
		EXPECT_FALSE(client.nodelay().value());
		ASSERT_TRUE(client.set_cork());
		EXPECT_TRUE(client.cork().value());
	} else {
		EXPECT_EQ(client.set_nodelay().error(), std::errc::operation_not_supported);
		EXPECT_EQ(client.cork().error(), std::errc::operation_not_supported);
	}
}

TEST_P(Stream, VsockOptionsAreVirtAndVsockOnly)
{
	EXPECT_EQ(client.set_vm_buffer_size(65536).error(), std::errc::operation_not_supported);
	EXPECT_EQ(client.vm_buffer_size().error(), std::errc::operation_not_supported);
	EXPECT_EQ(client.set_vm_connect_timeout(1s).error(), std::errc::operation_not_supported);
	EXPECT_EQ(client.vm_connect_timeout().error(), std::errc::operation_not_supported);
}

TEST_P(Stream, AcceptTimesOut)
{
	auto t0 = clock_type::now();
	auto s = lst.accept(50ms);
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error(), std::errc::timed_out);
	EXPECT_LT(clock_type::now() - t0, 1s);
}

TEST_P(Stream, ConnectWithTimeoutSucceedsAndIsBlocking)
{
	auto c = vs::connector(1s).connect(lst.local_address().value());
	ASSERT_TRUE(c) << c.error().message();
	EXPECT_FALSE(c->is_nonblocking().value());
	EXPECT_TRUE(lst.accept(1s));
}

TEST_P(Stream, MoveTransfersOwnership)
{
	int fd = client.handle();
	vs::stream_socket moved(std::move(client));
	EXPECT_FALSE(client.is_open());	// NOLINT: checking the moved-from state
	EXPECT_EQ(moved.handle(), fd);
	vs::stream_socket assigned;
	assigned = std::move(moved);
	EXPECT_EQ(assigned.handle(), fd);
	{
		vs::stream_socket dying(std::move(assigned));
	}
	EXPECT_EQ(fcntl(fd, F_GETFD), -1);	// closed by the destructor
	EXPECT_EQ(errno, EBADF);
}

// ---- errors while setting up ------------------------------------------------------

TEST(Connect, TcpRefused)
{
	// A bound but not listening port: nobody accepts there.
	vs::socket holder = vs::socket::create(vs::transport::tcp).value();
	auto n = vs::address("tcp:127.0.0.1:0").to_native().value();
	ASSERT_EQ(bind(holder.handle(), n.get(), n.length), 0);
	auto where = holder.local_address().value();
	auto c = vs::connector().connect(where);
	ASSERT_FALSE(c);
	EXPECT_EQ(c.error().code, std::errc::connection_refused);
	EXPECT_EQ(c.error().message(), "connect to " + where.to_string() + ": Connection refused");
	auto t = vs::connector(1s).connect(where);
	ASSERT_FALSE(t);
	EXPECT_EQ(t.error().code, std::errc::connection_refused);
}

TEST(Connect, UnixRefusedAndMissing)
{
	test::temp_dir dir;
	auto missing = vs::connector().connect(vs::address("unix:" + dir / "none"));
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);

	vs::socket bound = vs::socket::create(vs::transport::unix_domain).value();
	auto n = vs::address("unix:" + dir / "bound").to_native().value();
	ASSERT_EQ(bind(bound.handle(), n.get(), n.length), 0);
	auto refused = vs::connector(1s).connect(vs::address("unix:" + dir / "bound"));
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, std::errc::connection_refused);
}

TEST(Connect, ZeroTimeoutStillTriesOnce)
{
	// A unix connect() completes at once: no time is needed, none is given.
	test::temp_dir dir;
	auto where = vs::address("unix:" + dir / "s");
	vs::listener l(where);
	auto c = vs::connector(0ms).connect(where);
	ASSERT_TRUE(c) << c.error().message();
	EXPECT_TRUE(l.accept(1s));
}

TEST(Connect, TimeoutWhenTheBacklogIsFull)
{
	test::temp_dir dir;
	auto where = vs::address("unix:" + dir / "s");
	vs::listener l(where, 0);
	std::vector<vs::stream_socket> queued;	// never accepted
	for (;;) {
		auto c = vs::connector(20ms).connect(where);
		if (!c) {
			EXPECT_EQ(c.error().code, std::errc::timed_out) << c.error().message();
			break;
		}
		queued.push_back(std::move(*c));
		ASSERT_LT(queued.size(), 16U) << "backlog 0 never filled";
	}
	auto t0 = clock_type::now();
	auto c = vs::connector(100ms).connect(where);
	auto took = clock_type::now() - t0;
	ASSERT_FALSE(c);
	EXPECT_EQ(c.error().code, std::errc::timed_out);
	EXPECT_GE(took, 80ms);
	EXPECT_LT(took, 1s);
}

TEST(Listen, UnixPathInUseAndRemovedOnClose)
{
	test::temp_dir dir;
	auto path = dir / "s";
	{
		vs::listener l(vs::address("unix:" + path));
		EXPECT_TRUE(std::filesystem::exists(path));
		auto again = vs::listener::listen(vs::address("unix:" + path));
		ASSERT_FALSE(again);
		EXPECT_EQ(again.error().code, std::errc::address_in_use);
		EXPECT_NE(again.error().message().find("bind unix:" + path), std::string::npos);
		vs::listener moved(std::move(l));
		EXPECT_TRUE(std::filesystem::exists(path));	// the move did not unlink
	}
	EXPECT_FALSE(std::filesystem::exists(path));
}

// Connects to a unix path, expecting success or ENOENT.
bool connects(const std::string& path)
{
	auto c = vs::connector(1s).connect(vs::address("unix:" + path));
	if (!c) {
		EXPECT_EQ(c.error().code, std::errc::no_such_file_or_directory) << c.error().message();
	}
	return bool(c);
}

int fd_of(const vs::socket& s)	// takes const socket&, as some callers' helpers do
{
	return s.handle();
}

TEST(Listen, UnixPathGoesExactlyWhenTheListenerDies)
{
	test::temp_dir dir;
	auto p1 = dir / "one", p2 = dir / "two";
	{
		std::vector<vs::listener> owners;
		owners.emplace_back(vs::address("unix:" + p1));
		int fd = fd_of(owners.back());	// a const view of the socket
		EXPECT_EQ(fd, owners.back().handle());
		vs::listener moved(std::move(owners.back()));
		owners.pop_back();	// the moved-from listener dies: no unlink
		EXPECT_TRUE(connects(p1));
		EXPECT_TRUE(moved.accept(1s));

		// Assigning over a listener ends the old one (its path goes), not
		// the one moved in.
		vs::listener other(vs::address("unix:" + p2));
		other = std::move(moved);
		EXPECT_FALSE(std::filesystem::exists(p2));
		EXPECT_TRUE(connects(p1));
		EXPECT_EQ(other.handle(), fd);
		EXPECT_TRUE(other.accept(1s));
	}
	EXPECT_FALSE(std::filesystem::exists(p1));
	EXPECT_FALSE(connects(p1));
}

TEST(Listen, CloseUnlinksReleaseHandsOverThePath)
{
	test::temp_dir dir;
	auto path = dir / "s";
	vs::listener l(vs::address("unix:" + path));
	ASSERT_TRUE(l.close());
	EXPECT_FALSE(l.is_open());
	EXPECT_FALSE(std::filesystem::exists(path));

	int fd;
	{
		vs::listener r(vs::address("unix:" + path));
		fd = r.release();
		EXPECT_FALSE(r.is_open());
	}
	// The descriptor and its file now belong to the caller.
	EXPECT_TRUE(std::filesystem::exists(path));
	vs::socket owner(fd, vs::transport::unix_domain);
	EXPECT_TRUE(connects(path));
	::unlink(path.c_str());
}

TEST(Listen, ThrowingConstructorCarriesTheCode)
{
	try {
		vs::listener l(vs::address("unix:/nonexistent-dir/s"));
		FAIL() << "listened in a missing directory";
	} catch (const std::system_error& e) {
		EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
		EXPECT_NE(std::string(e.what()).find("bind unix:/nonexistent-dir/s"), std::string::npos);
	}
}

TEST(Listen, AbstractUnixAndIpv6)
{
	auto name = "unix:@virtsocket-test-" + std::to_string(getpid());
	vs::listener l(vs::address{name});
	EXPECT_EQ(l.local_address().value().to_string(), name);
	auto c = vs::connector(1s).connect(vs::address(name));
	ASSERT_TRUE(c) << c.error().message();

	auto v6 = vs::listener::listen(vs::address("tcp:[::1]:0"));
	if (!v6)
		GTEST_SKIP() << "no IPv6 loopback: " << v6.error().message();
	auto c6 = vs::connector(1s).connect(v6->local_address().value());
	ASSERT_TRUE(c6) << c6.error().message();
	EXPECT_EQ(c6->peer_address().value().get_if<vs::tcp_address>()->host, "::1");
}

// The documented sharing: one thread sends while another receives on the
// same object (run under TSan by scripts/userlib-sanitizers.sh).
TEST_P(Stream, OneObjectSendsAndReceivesFromTwoThreads)
{
	const auto data = pattern(1 << 20);
	std::vector<std::byte> echoed(data.size());
	std::thread echo([&] {	// the server's other end: echoes everything
		std::vector<std::byte> buf(64 * 1024);
		for (std::size_t done = 0; done < data.size();) {
			auto n = server.recv(buf);
			if (!n || *n == 0)
				return;
			if (!server.send_all(std::span(buf).first(*n)))
				return;
			done += *n;
		}
	});
	std::thread reader([&] { EXPECT_TRUE(client.recv_exact(echoed)); });
	EXPECT_TRUE(client.send_all(data));
	reader.join();
	echo.join();
	EXPECT_TRUE(echoed == data);
}

TEST(Result, ValueOrThrow)
{
	vs::result<int> ok = 3;
	vs::result<int> bad = std::make_error_code(std::errc::timed_out);
	EXPECT_EQ(ok.value(), 3);
	EXPECT_EQ(bad.value_or(7), 7);
	EXPECT_THROW((void)bad.value(), std::system_error);
	vs::result<void, vs::error> widened = vs::result<void>(std::make_error_code(std::errc::io_error));
	ASSERT_FALSE(widened);
	EXPECT_EQ(widened.error().code, std::errc::io_error);
}

} // namespace
