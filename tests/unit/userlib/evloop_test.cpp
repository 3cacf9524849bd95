// The socket operations an event loop needs: non-blocking create and
// connect, bind, accept with flags and the peer's address, typed options,
// SO_ERROR, FIONREAD, and send_all()/recv_exact() counting what they moved.
// Over unix and tcp loopback (AF_VIRT itself needs the module).
#include <virtsocket/socket.hpp>
#include <virtsocket/virt.h>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/un.h>

#include <cstring>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes(std::string_view s)
{
	return std::as_bytes(std::span(s.data(), s.size()));
}

std::vector<std::byte> pattern(std::size_t n)
{
	std::vector<std::byte> v(n);
	for (std::size_t i = 0; i < n; i++)
		v[i] = std::byte(i * 131 + i / 251);
	return v;
}

class EventLoop : public ::testing::TestWithParam<vs::transport> {
protected:
	void SetUp() override { signal(SIGPIPE, SIG_DFL); }

	vs::address listen_address(const std::string& name = "s")
	{
		if (GetParam() == vs::transport::unix_domain)
			return vs::address("unix:" + dir / name);
		return vs::address("tcp:127.0.0.1:0");
	}
	// A listener and its real address (tcp: the port the kernel picked).
	std::pair<vs::listener, vs::address> listen(int backlog = SOMAXCONN)
	{
		auto l = vs::listener::listen(listen_address(), backlog);
		EXPECT_TRUE(l) << l.error().message();
		auto where = l->local_address().value();
		return {std::move(*l), where};
	}

	test::temp_dir dir;
};

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, EventLoop,
			 ::testing::Values(vs::transport::unix_domain, vs::transport::tcp),
			 [](const auto& info) { return std::string(vs::to_string(info.param)); });

TEST_P(EventLoop, CreateNonBlocking)
{
	auto s = vs::socket::create(GetParam(), SOCK_NONBLOCK);
	ASSERT_TRUE(s) << s.error().message();
	EXPECT_TRUE(s->is_nonblocking().value());
	auto b = vs::socket::create(GetParam());
	ASSERT_TRUE(b);
	EXPECT_FALSE(b->is_nonblocking().value());
	auto bad = vs::socket::create(GetParam(), SOCK_STREAM);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, std::errc::invalid_argument);
}

TEST_P(EventLoop, BindThenListenSeesTheName)
{
	auto s = vs::socket::create(GetParam()).value();
	auto want = listen_address("bound");
	auto r = s.bind(want);
	ASSERT_TRUE(r) << r.error().message();
	auto got = s.local_address().value();
	if (GetParam() == vs::transport::tcp)
		EXPECT_NE(got.get_if<vs::tcp_address>()->port, 0);
	else
		EXPECT_EQ(got, want);

	// The same name again: in use, and the message says what was bound.
	auto other = vs::socket::create(GetParam()).value();
	auto again = other.bind(got);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, std::errc::address_in_use);
	EXPECT_NE(again.error().message().find("bind " + got.to_string()), std::string::npos)
		<< again.error().message();
	// A bound socket cannot be bound twice.
	EXPECT_EQ(s.bind(listen_address("other")).error().code, std::errc::invalid_argument);
	if (GetParam() == vs::transport::unix_domain)
		::unlink((dir / "bound").c_str());
}

TEST_P(EventLoop, BindNativeTakesTheLengthAsGiven)
{
	auto s = vs::socket::create(GetParam()).value();
	auto n = listen_address("short").to_native().value();
	n.length = 1;	// not even the family
	EXPECT_EQ(s.bind(n).error(), std::errc::invalid_argument);
}

// connect() on a non-blocking socket, finish_connect() after POLLOUT.
TEST_P(EventLoop, NonBlockingConnectThenFinish)
{
	auto [l, where] = listen();
	auto s = vs::socket::create(GetParam(), SOCK_NONBLOCK).value();
	auto st = s.connect(where);
	ASSERT_TRUE(st) << st.error().message();
	if (*st == vs::connect_status::in_progress) {
		auto ev = s.poll(POLLOUT, 5s).value();
		EXPECT_TRUE(ev & POLLOUT);
	}
	auto done = s.finish_connect(5s);
	ASSERT_TRUE(done) << done.error().message();
	EXPECT_FALSE(s.pending_error().value());
	EXPECT_TRUE(s.is_nonblocking().value());	// connect() leaves the mode alone
	EXPECT_EQ(s.peer_address().value(), where);

	vs::stream_socket c(std::move(s));
	auto a = l.accept(5s).value();
	ASSERT_TRUE(c.send_all(bytes("hi")));
	std::array<std::byte, 2> buf;
	ASSERT_TRUE(a.recv_exact(buf));
	EXPECT_EQ(std::memcmp(buf.data(), "hi", 2), 0);
}

TEST_P(EventLoop, ConnectOnABlockingSocketWaits)
{
	auto [l, where] = listen();
	auto s = vs::socket::create(GetParam()).value();
	auto st = s.connect(where);
	ASSERT_TRUE(st) << st.error().message();
	EXPECT_EQ(*st, vs::connect_status::connected);
	// Again: already connected.
	auto again = s.connect(where.to_native().value());
	if (GetParam() == vs::transport::tcp && again)	// Linux tcp: one 0 first
		again = s.connect(where.to_native().value());
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error(), std::errc::already_connected);
}

// A refused connect: at once (unix: no socket file) or through SO_ERROR.
TEST_P(EventLoop, RefusedConnectReportsTheError)
{
	vs::address nobody = listen_address("nobody");
	if (GetParam() == vs::transport::tcp) {
		// A port that was just free.
		auto [l, where] = listen();
		nobody = where;
	}
	auto s = vs::socket::create(GetParam(), SOCK_NONBLOCK).value();
	auto st = s.connect(nobody);
	std::error_code ec;
	if (!st) {
		ec = st.error().code;
		EXPECT_NE(st.error().message().find("connect to " + nobody.to_string()), std::string::npos);
	} else {
		ASSERT_EQ(*st, vs::connect_status::in_progress);
		ASSERT_TRUE(s.poll(POLLOUT, 5s).value());
		// SO_ERROR holds it once: read, it is cleared.
		auto pending = s.pending_error();
		ASSERT_TRUE(pending);
		ec = *pending;
		EXPECT_FALSE(s.pending_error().value());
	}
	if (GetParam() == vs::transport::unix_domain)
		EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
	else
		EXPECT_EQ(ec, std::errc::connection_refused);
}

TEST(EventLoopTcp, FinishConnectWhileStillInProgress)
{
	// A full accept queue makes Linux TCP drop the SYN: the connect stays
	// pending until the server accepts and the client's SYN is sent again.
	auto l = vs::listener::listen(vs::address("tcp:127.0.0.1:0"), 1).value();
	auto where = l.local_address().value();
	std::vector<vs::stream_socket> queued;
	for (int i = 0; i < 2; i++)	// backlog + 1 fit
		queued.push_back(vs::connector(5s).connect(where).value());

	auto s = vs::socket::create(vs::transport::tcp, SOCK_NONBLOCK).value();
	ASSERT_EQ(s.connect(where).value(), vs::connect_status::in_progress);
	EXPECT_EQ(s.finish_connect().error(), std::errc::operation_in_progress);
	EXPECT_EQ(s.finish_connect(300ms).error(), std::errc::operation_in_progress);

	ASSERT_TRUE(l.accept(5s));
	auto done = s.finish_connect(20s);
	ASSERT_TRUE(done) << done.error().message();
	EXPECT_TRUE(s.peer_address());
}

TEST_P(EventLoop, ConnectorCanLeaveTheSocketNonBlocking)
{
	auto [l, where] = listen();
	for (bool timeout : {false, true}) {
		vs::connector plain = timeout ? vs::connector(5s) : vs::connector();
		auto b = plain.connect(where);
		ASSERT_TRUE(b) << b.error().message();
		EXPECT_FALSE(b->is_nonblocking().value());
		EXPECT_FALSE(plain.nonblocking());

		vs::connector nb = timeout ? vs::connector(5s) : vs::connector();
		nb.set_nonblocking();
		EXPECT_TRUE(nb.nonblocking());
		auto c = nb.connect(where);
		ASSERT_TRUE(c) << c.error().message();
		EXPECT_TRUE(c->is_nonblocking().value());
		std::array<std::byte, 1> buf;
		EXPECT_EQ(c->recv(buf).error(), std::errc::resource_unavailable_try_again);
		ASSERT_TRUE(l.accept(5s));
		ASSERT_TRUE(l.accept(5s));
	}
}

TEST_P(EventLoop, AcceptWithFlagsAndThePeersAddress)
{
	auto [l, where] = listen();
	ASSERT_TRUE(l.set_nonblocking());
	EXPECT_EQ(l.accept(SOCK_NONBLOCK).error(), std::errc::resource_unavailable_try_again);
	vs::address peer;
	EXPECT_EQ(l.accept(peer, SOCK_NONBLOCK).error(), std::errc::resource_unavailable_try_again);
	EXPECT_EQ(l.accept(SOCK_STREAM).error(), std::errc::invalid_argument);

	auto c1 = vs::connector(5s).connect(where).value();
	ASSERT_TRUE(l.poll(POLLIN, 5s).value());
	auto a1 = l.accept(peer, SOCK_NONBLOCK);
	ASSERT_TRUE(a1) << a1.error().message();
	EXPECT_TRUE(a1->is_nonblocking().value());
	EXPECT_EQ(peer, c1.local_address().value());
	EXPECT_EQ(peer.kind(), GetParam());
	EXPECT_EQ(a1->kind(), GetParam());

	auto c2 = vs::connector(5s).connect(where).value();
	auto a2 = l.accept(5s, SOCK_NONBLOCK);
	ASSERT_TRUE(a2) << a2.error().message();
	EXPECT_TRUE(a2->is_nonblocking().value());
	auto c3 = vs::connector(5s).connect(where).value();
	ASSERT_TRUE(l.poll(POLLIN, 5s).value());
	auto a3 = l.accept(peer);
	ASSERT_TRUE(a3);
	EXPECT_FALSE(a3->is_nonblocking().value());
	EXPECT_EQ(peer, c3.local_address().value());
}

TEST_P(EventLoop, TypedOptions)
{
	auto s = vs::socket::create(GetParam()).value();
	ASSERT_TRUE(s.set_option<linger>(SOL_SOCKET, SO_LINGER, {1, 7}));
	auto l = s.get_option<linger>(SOL_SOCKET, SO_LINGER);
	ASSERT_TRUE(l) << l.error().message();
	EXPECT_EQ(l->l_onoff, 1);
	EXPECT_EQ(l->l_linger, 7);

	ASSERT_TRUE(s.set_recv_timeout(1500ms));
	auto tv = s.get_option<timeval>(SOL_SOCKET, SO_RCVTIMEO).value();
	EXPECT_EQ(tv.tv_sec, 1);
	EXPECT_EQ(tv.tv_usec, 500000);
	ASSERT_TRUE(s.set_option<timeval>(SOL_SOCKET, SO_SNDTIMEO, {2, 500000}));
	EXPECT_EQ(s.send_timeout().value(), 2500ms);	// whole jiffies at any HZ

	// int by default; a bool argument is the int 1, not one byte.
	ASSERT_TRUE(s.set_option(SOL_SOCKET, SO_KEEPALIVE, true));
	EXPECT_EQ(s.get_option(SOL_SOCKET, SO_KEEPALIVE).value(), 1);
	EXPECT_EQ(s.get_option<int>(SOL_SOCKET, SO_TYPE).value(), SOCK_STREAM);
	// The wrong type is caught: the kernel returns 4 bytes, not 8.
	EXPECT_EQ(s.get_option<std::uint64_t>(SOL_SOCKET, SO_TYPE).error(), std::errc::invalid_argument);
	EXPECT_EQ(s.set_option<char>(SOL_SOCKET, SO_KEEPALIVE, 1).error(), std::errc::invalid_argument);

	auto lst = vs::listener::listen(listen_address("l")).value();
	ASSERT_TRUE(lst.set_option<linger>(SOL_SOCKET, SO_LINGER, {1, 3}));
	EXPECT_EQ(lst.get_option<linger>(SOL_SOCKET, SO_LINGER).value().l_linger, 3);
	EXPECT_FALSE(lst.pending_error().value());
}

// SO_LINGER {1, 0}: close() aborts.  tcp resets; unix has no abortive close.
TEST_P(EventLoop, LingerZeroCloseAborts)
{
	auto [l, where] = listen();
	auto c = vs::connector(5s).connect(where).value();
	auto a = l.accept(5s).value();
	ASSERT_TRUE(c.set_option<linger>(SOL_SOCKET, SO_LINGER, {1, 0}));
	ASSERT_TRUE(c.close());
	ASSERT_TRUE(a.poll(POLLIN, 5s).value());
	std::array<std::byte, 8> buf;
	auto r = a.recv(buf);
	if (GetParam() == vs::transport::tcp) {
		EXPECT_EQ(r.error(), std::errc::connection_reset);
	} else {
		ASSERT_TRUE(r);
		EXPECT_EQ(*r, 0U);
	}
}

TEST_P(EventLoop, AvailableAndSendQueue)
{
	auto [l, where] = listen();
	auto c = vs::connector(5s).connect(where).value();
	auto a = l.accept(5s).value();
	EXPECT_EQ(a.available().value(), 0U);
	ASSERT_TRUE(c.send_all(pattern(100)));
	ASSERT_TRUE(a.poll(POLLIN, 5s).value());
	auto deadline = std::chrono::steady_clock::now() + 5s;
	while (a.available().value() < 100 && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(1ms);
	EXPECT_EQ(a.available().value(), 100U);
	std::array<std::byte, 40> buf;
	ASSERT_TRUE(a.recv_exact(buf));
	EXPECT_EQ(a.available().value(), 60U);

	// What was sent and read is no longer queued at the sender.
	std::array<std::byte, 60> rest;
	ASSERT_TRUE(a.recv_exact(rest));
	auto out = c.send_queue_bytes();
	ASSERT_TRUE(out) << out.error().message();
	while (*out != 0 && std::chrono::steady_clock::now() < deadline + 5s) {
		std::this_thread::sleep_for(1ms);
		out = c.send_queue_bytes();
	}
	EXPECT_EQ(out.value(), 0U);
}

TEST_P(EventLoop, RecvExactCountsWhatArrivedBeforeTheEnd)
{
	auto [l, where] = listen();
	auto c = vs::connector(5s).connect(where).value();
	auto a = l.accept(5s).value();
	ASSERT_TRUE(c.send_all(bytes("abc")));
	ASSERT_TRUE(c.shutdown(SHUT_WR));
	std::array<std::byte, 10> buf{};
	auto r = a.recv_exact(buf);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), vs::errc::unexpected_eof);
	EXPECT_EQ(r.error().bytes, 3U);
	EXPECT_EQ(std::memcmp(buf.data(), "abc", 3), 0);
	// Still an error_code where one is expected.
	vs::result<void> narrowed = r;
	EXPECT_EQ(narrowed.error(), vs::errc::unexpected_eof);
	vs::result<void, vs::error> widened = r;
	EXPECT_EQ(widened.error().code, vs::errc::unexpected_eof);
}

// A non-blocking send_all() stops at EAGAIN and says how far it got; going
// on from there delivers the whole buffer exactly once.
TEST_P(EventLoop, SendAllCountsWhatWasSentBeforeEagain)
{
	auto [l, where] = listen();
	auto c = vs::connector(5s).set_nonblocking().connect(where).value();
	auto a = l.accept(5s).value();
	ASSERT_TRUE(c.set_send_buffer_size(16 * 1024));
	ASSERT_TRUE(a.set_recv_buffer_size(16 * 1024));
	const auto data = pattern(8 << 20);	// far more than both buffers
	auto r = c.send_all(data);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::resource_unavailable_try_again);
	std::size_t sent = r.error().bytes;
	EXPECT_GT(sent, 0U);
	EXPECT_LT(sent, data.size());

	std::vector<std::byte> got(data.size());
	std::thread reader([&] { EXPECT_TRUE(a.recv_exact(got)); });
	while (sent < data.size()) {
		auto ready = c.poll(POLLOUT, 10s);
		if (!ready || !*ready) {
			ADD_FAILURE() << "not writable within 10 s while the peer reads";
			break;
		}
		auto more = c.send_all(std::span(data).subspan(sent));
		if (more) {
			sent = data.size();
			break;
		}
		if (more.error() != std::errc::resource_unavailable_try_again) {
			ADD_FAILURE() << more.error().message();
			break;
		}
		sent += more.error().bytes;
	}
	if (sent < data.size())
		(void)c.shutdown(SHUT_WR);	// the reader stops at end of stream
	reader.join();
	EXPECT_TRUE(got == data);
}

TEST(EventLoopAddress, VirtPeerDecodedWithoutDiscovery)
{
	// No family file: a bare sockaddr cannot be told apart, one from a
	// virt socket can.
	test::temp_dir dir;
	setenv("VIRTSOCKET_SYSFS_DIR", dir.path().c_str(), 1);
	sockaddr_virt sv{};
	sv.svirt_family = 44;	// not AF_UNIX, AF_INET(6) or AF_VSOCK (40)
	sv.svirt_cid = 3;
	sv.svirt_port = 1234;
	const auto* sa = reinterpret_cast<const sockaddr*>(&sv);
	EXPECT_FALSE(vs::address::from_native(sa, sizeof(sv)));
	auto a = vs::address::from_native(sa, sizeof(sv), vs::transport::virt);
	unsetenv("VIRTSOCKET_SYSFS_DIR");
	ASSERT_TRUE(a) << a.error().message();
	EXPECT_EQ(a->to_string(), "virt:3:1234");
	// The fixed families still win.
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	EXPECT_EQ(vs::address::from_native(reinterpret_cast<const sockaddr*>(&sun), sizeof(sa_family_t),
					   vs::transport::virt)
			  ->kind(),
		  vs::transport::unix_domain);
}

} // namespace
