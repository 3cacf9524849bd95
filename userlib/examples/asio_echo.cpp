// Asynchronous echo with standalone asio over any virtsocket URI, AF_VIRT
// included: an acceptor echoes every connection, a client sends a message
// and checks what comes back, all on one io_context thread.  Exit status 0
// when the echo matches.
//
//   asio_echo [URI]     (default: a unix socket in /tmp)
//   asio_echo virt:any:5000 ... on a host; the client then connects to
//   virt:local:5000 (the same machine).
#include <virtsocket/asio.hpp>
#include <virtsocket/virtsocket.hpp>

#include <asio.hpp>

#include <unistd.h>

#include <array>
#include <iostream>
#include <memory>
#include <string>

namespace vs = virtsocket;

namespace {

// One connection: read what comes, write it back, until end of stream.
class session : public std::enable_shared_from_this<session> {
public:
	explicit session(vs::asio_socket s) : socket_(std::move(s)) {}
	void start() { read(); }

private:
	void read()
	{
		socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
			if (!ec)
				self->write(n);	// end of stream (asio::error::eof) or an error: done
		});
	}
	void write(std::size_t n)
	{
		asio::async_write(socket_, asio::buffer(buf_, n), [self = shared_from_this()](std::error_code ec, std::size_t) {
			if (!ec)
				self->read();
		});
	}

	vs::asio_socket socket_;
	std::array<char, 4096> buf_;
};

void accept_loop(vs::asio_acceptor& acceptor)
{
	acceptor.async_accept([&acceptor](std::error_code ec, vs::asio_socket s) {
		if (ec)
			return;	// the acceptor was closed
		std::make_shared<session>(std::move(s))->start();
		accept_loop(acceptor);
	});
}

// Where a client reaches a listener bound to `bound`.
vs::address client_side(vs::address bound)
{
	if (auto v = bound.get_if<vs::virt_address>(); v && v->cid == vs::cid_any)
		return vs::virt_address{VIRT_CID_LOCAL, v->port};
	return bound;
}

} // namespace

int main(int argc, char** argv)
{
	std::string uri = argc > 1 ? argv[1] : "unix:/tmp/virtsocket-asio-echo-" + std::to_string(getpid());
	try {
		asio::io_context io;
		vs::address local(uri);
		if (auto u = local.get_if<vs::unix_address>(); u && !u->path.empty() && u->path[0] != '@')
			::unlink(u->path.c_str());
		vs::asio_acceptor acceptor(io, vs::asio_endpoint(local));
		// The real port of tcp:...:0 or virt:any:any.
		auto where = client_side(vs::asio_endpoint(acceptor.local_endpoint()).to_address().value());
		accept_loop(acceptor);

		const std::string message = "hello over " + where.to_string() + " with asio";
		std::string reply(message.size(), '\0');
		std::error_code result = asio::error::operation_aborted;
		vs::asio_socket client(io);
		client.async_connect(vs::asio_endpoint(where), [&](std::error_code ec) {
			if (ec) {
				result = ec;
				return;
			}
			asio::async_write(client, asio::buffer(message), [&](std::error_code ec, std::size_t) {
				if (ec) {
					result = ec;
					return;
				}
				asio::async_read(client, asio::buffer(reply), [&](std::error_code ec, std::size_t) {
					result = ec;
					client.close();
					acceptor.close();	// ends accept_loop: io.run() returns
				});
			});
		});
		io.run_for(std::chrono::seconds(10));

		if (auto u = local.get_if<vs::unix_address>(); u && !u->path.empty() && u->path[0] != '@')
			::unlink(u->path.c_str());
		if (result || reply != message) {
			std::cerr << "asio_echo: got '" << reply << "'" << (result ? ": " + result.message() : "") << '\n';
			return 1;
		}
		std::cout << "asio_echo: " << reply << '\n';
		return 0;
	} catch (const std::exception& e) {
		std::cerr << "asio_echo: " << e.what() << '\n';
		return 1;
	}
}
