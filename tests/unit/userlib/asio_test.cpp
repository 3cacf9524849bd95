// <virtsocket/asio.hpp>: AF_VIRT endpoints for asio::generic::stream_protocol
// (their bytes, size and family, with a made-up family number: no module
// here), and asynchronous echo over unix and tcp loopback through the same
// endpoint type, as over AF_VIRT.
#include <virtsocket/asio.hpp>

#include <gtest/gtest.h>

#include <asio.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "test_util.hpp"

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

// asio's own types take ours as they are.
static_assert(std::is_convertible_v<vs::asio_endpoint, vs::asio_acceptor::endpoint_type>);
static_assert(std::is_convertible_v<vs::asio_socket::endpoint_type, vs::asio_endpoint>);
static_assert(std::is_same_v<vs::asio_socket, asio::generic::stream_protocol::socket>);

constexpr int fake_family = 44;	// AF_VIRT's number comes from sysfs

class AsioVirt : public ::testing::Test {
protected:
	void SetUp() override
	{
		dir.write("family", std::to_string(fake_family) + "\n");
		setenv("VIRTSOCKET_SYSFS_DIR", dir.path().c_str(), 1);
	}
	void TearDown() override { unsetenv("VIRTSOCKET_SYSFS_DIR"); }

	test::temp_dir dir;
};

sockaddr_virt virt_sockaddr(std::uint32_t cid, std::uint32_t port)
{
	sockaddr_virt sv{};
	sv.svirt_family = fake_family;
	sv.svirt_cid = cid;
	sv.svirt_port = port;
	return sv;
}

TEST_F(AsioVirt, EndpointFromAddressHasTheSockaddrVirtBytes)
{
	vs::asio_endpoint ep(vs::address("virt:2:1234"));
	auto want = virt_sockaddr(2, 1234);
	ASSERT_EQ(ep.size(), sizeof(sockaddr_virt));
	EXPECT_EQ(std::memcmp(ep.data(), &want, sizeof(want)), 0);
	EXPECT_EQ(ep.family(), fake_family);
	EXPECT_EQ(ep.protocol().family(), fake_family);
	EXPECT_EQ(ep.protocol().type(), SOCK_STREAM);
	EXPECT_EQ(ep.protocol().protocol(), 0);

	// As asio's endpoint, the same bytes.
	asio::generic::stream_protocol::endpoint generic = ep;
	ASSERT_EQ(generic.size(), sizeof(sockaddr_virt));
	EXPECT_EQ(std::memcmp(generic.data(), &want, sizeof(want)), 0);
	EXPECT_EQ(generic.protocol().family(), fake_family);
	// And back: an asio endpoint turns into the URI's address.
	EXPECT_EQ(vs::asio_endpoint(generic).to_address().value(), vs::address("virt:2:1234"));
}

TEST_F(AsioVirt, EndpointFromSockaddrVirt)
{
	auto sv = virt_sockaddr(vs::cid_any, 5000);
	vs::asio_endpoint ep(sv);
	EXPECT_EQ(ep.size(), sizeof(sv));
	EXPECT_EQ(std::memcmp(ep.data(), &sv, sizeof(sv)), 0);
	EXPECT_EQ(ep, vs::asio_endpoint(vs::address("virt:any:5000")));
	EXPECT_NE(ep, vs::asio_endpoint(vs::address("virt:any:5001")));
	EXPECT_EQ(ep.to_address().value().to_string(), "virt:any:5000");
	auto n = ep.native();
	EXPECT_EQ(n.length, sizeof(sv));
	EXPECT_EQ(n.family(), fake_family);
}

TEST_F(AsioVirt, NoModuleIsAnError)
{
	unsetenv("VIRTSOCKET_SYSFS_DIR");
	setenv("VIRTSOCKET_SYSFS_DIR", (dir / "absent").c_str(), 1);
	auto ep = vs::asio_endpoint::from(vs::address("virt:host:1"));
	ASSERT_FALSE(ep);
	EXPECT_EQ(ep.error().code, vs::errc::af_virt_unavailable);
	EXPECT_THROW(vs::asio_endpoint(vs::address("virt:host:1")), vs::exception);
}

TEST(Asio, EndpointsOfTheOtherTransports)
{
	vs::asio_endpoint tcp(vs::address("tcp:127.0.0.1:8080"));
	EXPECT_EQ(tcp.family(), AF_INET);
	EXPECT_EQ(tcp.size(), sizeof(sockaddr_in));
	EXPECT_EQ(tcp.to_address().value(), vs::address("tcp:127.0.0.1:8080"));
	vs::asio_endpoint unx(vs::address("unix:@name"));
	EXPECT_EQ(unx.family(), AF_UNIX);
	EXPECT_EQ(unx.to_address().value(), vs::address("unix:@name"));
	vs::asio_endpoint vsock(vs::address("vsock:2:9"));
	EXPECT_EQ(vsock.family(), AF_VSOCK);
	EXPECT_EQ(vsock.to_address().value(), vs::address("vsock:2:9"));
}

// One echo connection: read some, write it back, until end of stream.
struct echo_session : std::enable_shared_from_this<echo_session> {
	explicit echo_session(vs::asio_socket s) : sock(std::move(s)) {}
	void read()
	{
		sock.async_read_some(asio::buffer(buf), [self = shared_from_this()](std::error_code ec, std::size_t n) {
			if (!ec)
				asio::async_write(self->sock, asio::buffer(self->buf, n),
						  [self](std::error_code e, std::size_t) {
							  if (!e)
								  self->read();
						  });
		});
	}
	vs::asio_socket sock;
	std::array<char, 1024> buf{};
};

class AsioEcho : public ::testing::TestWithParam<vs::transport> {
protected:
	vs::address listen_address()
	{
		if (GetParam() == vs::transport::unix_domain)
			return vs::address("unix:" + dir / "s");
		return vs::address("tcp:127.0.0.1:0");
	}

	test::temp_dir dir;
	asio::io_context io;
};

INSTANTIATE_TEST_SUITE_P(UnixAndTcp, AsioEcho, ::testing::Values(vs::transport::unix_domain, vs::transport::tcp),
			 [](const auto& info) { return std::string(vs::to_string(info.param)); });

// An asio acceptor and client, both on asio_endpoint, echo asynchronously;
// the accepted peer's endpoint converts back to the client's address.
TEST_P(AsioEcho, AcceptorAndClientOnAsioEndpoints)
{
	vs::asio_acceptor acceptor(io, vs::asio_endpoint(listen_address()));
	auto where = vs::asio_endpoint(acceptor.local_endpoint()).to_address();
	ASSERT_TRUE(where) << where.error().message();
	if (auto t = where->get_if<vs::tcp_address>()) {
		EXPECT_NE(t->port, 0);
	}

	vs::asio_stream_protocol::endpoint peer;
	acceptor.async_accept(peer, [&](std::error_code ec, vs::asio_socket s) {
		ASSERT_FALSE(ec) << ec.message();
		std::make_shared<echo_session>(std::move(s))->read();
	});

	const std::string message = "echo over " + where->to_string();
	std::string reply(message.size(), '\0');
	std::error_code result = asio::error::operation_aborted;
	vs::asio_socket client(io);
	vs::address client_local;
	client.async_connect(vs::asio_endpoint(*where), [&](std::error_code ec) {
		if ((result = ec))
			return;
		client_local = vs::asio_endpoint(client.local_endpoint()).to_address().value();
		asio::async_write(client, asio::buffer(message), [&](std::error_code ec, std::size_t) {
			if ((result = ec))
				return;
			asio::async_read(client, asio::buffer(reply), [&](std::error_code ec, std::size_t) {
				result = ec;
				client.close();
			});
		});
	});
	io.run_for(10s);
	ASSERT_FALSE(result) << result.message();
	EXPECT_EQ(reply, message);
	EXPECT_EQ(vs::asio_endpoint(peer).to_address().value(), client_local);
}

// A socket the library connected (URI, timeout) carries on under asio.
TEST_P(AsioEcho, LibrarySocketHandedToAsio)
{
	auto l = vs::listener::listen(listen_address()).value();
	auto c = vs::connector(5s).connect(l.local_address().value()).value();
	auto server = l.accept(5s).value();
	int fd = c.handle();
	auto s = vs::to_asio(io, std::move(c));
	ASSERT_TRUE(s) << s.error().message();
	EXPECT_FALSE(c.is_open());	// asio owns it now
	EXPECT_EQ(s->native_handle(), fd);
	EXPECT_EQ(s->local_endpoint().protocol().family(), GetParam() == vs::transport::tcp ? AF_INET : AF_UNIX);

	std::string got(5, '\0');
	std::error_code result = asio::error::operation_aborted;
	asio::async_read(*s, asio::buffer(got), [&](std::error_code ec, std::size_t) { result = ec; });
	ASSERT_TRUE(server.send_all(std::as_bytes(std::span("hello", 5))));
	io.run_for(10s);
	ASSERT_FALSE(result) << result.message();
	EXPECT_EQ(got, "hello");

	// A closed socket is refused and stays the caller's.
	vs::stream_socket closed;
	auto r = vs::to_asio(io.get_executor(), std::move(closed));
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
}

} // namespace
