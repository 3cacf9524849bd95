// Asynchronous echo with standalone asio over any virtsocket URI, AF_VIRT
// included: an acceptor echoes every connection; a client sends a message
// and checks what comes back.  Exit status 0 when the echo matches.
//
//   asio_echo [URI]              both in one process, one io_context thread
//                                (default: a unix socket in /tmp; tcp, vsock
//                                loopback)
//   asio_echo --server URI       echo forever, e.g. virt:any:5000 on the host
//   asio_echo --client URI       one echo, e.g. virt:host:5000 in a guest
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

bool is_path(const vs::address& a)
{
	auto u = a.get_if<vs::unix_address>();
	return u && !u->path.empty() && u->path[0] != '@';
}

// Connects to `where`, sends the message, reads the echo; `done` gets the
// outcome.  Closes the acceptor, if any, at the end (io.run() then returns).
void echo_client(asio::io_context& io, const vs::address& where, vs::asio_acceptor* acceptor, std::string& reply,
		 std::error_code& done)
{
	auto client = std::make_shared<vs::asio_socket>(io);
	auto message = std::make_shared<std::string>("hello over " + where.to_string() + " with asio");
	reply.assign(message->size(), '\0');
	auto finish = [client, acceptor, &done](std::error_code ec) {
		done = ec;
		client->close();
		if (acceptor)
			acceptor->close();
	};
	client->async_connect(vs::asio_endpoint(where), [=, &reply](std::error_code ec) {
		if (ec)
			return finish(ec);
		asio::async_write(*client, asio::buffer(*message), [=, &reply](std::error_code ec, std::size_t) {
			if (ec)
				return finish(ec);
			asio::async_read(*client, asio::buffer(reply), [=, &reply](std::error_code ec, std::size_t) {
				if (!ec && reply != *message)
					ec = std::make_error_code(std::errc::bad_message);
				finish(ec);
			});
		});
	});
}

} // namespace

int main(int argc, char** argv)
{
	std::string mode = argc > 2 ? argv[1] : "";
	std::string uri = argc > 2 ? argv[2]
		: argc > 1 ? argv[1] : "unix:/tmp/virtsocket-asio-echo-" + std::to_string(getpid());
	if (!mode.empty() && mode != "--server" && mode != "--client") {
		std::cerr << "usage: asio_echo [URI] | --server URI | --client URI\n";
		return 2;
	}
	try {
		asio::io_context io;
		vs::address addr(uri);
		std::string reply;
		std::error_code result = asio::error::operation_aborted;
		if (mode == "--client") {
			echo_client(io, addr, nullptr, reply, result);
			io.run_for(std::chrono::seconds(10));
		} else {
			if (is_path(addr))
				::unlink(std::get<vs::unix_address>(addr.get()).path.c_str());
			vs::asio_acceptor acceptor(io, vs::asio_endpoint(addr));
			// The real port of tcp:...:0 or virt:any:any.
			auto where = vs::asio_endpoint(acceptor.local_endpoint()).to_address().value();
			accept_loop(acceptor);
			if (mode == "--server") {
				std::cerr << "asio_echo: echoing on " << where.to_string() << '\n';
				io.run();
				return 0;
			}
			echo_client(io, where, &acceptor, reply, result);
			io.run_for(std::chrono::seconds(10));
			if (is_path(addr))
				::unlink(std::get<vs::unix_address>(addr.get()).path.c_str());
		}
		if (result) {
			std::cerr << "asio_echo: " << uri << ": " << result.message() << '\n';
			return 1;
		}
		std::cout << "asio_echo: " << reply << '\n';
		return 0;
	} catch (const std::exception& e) {
		std::cerr << "asio_echo: " << e.what() << '\n';
		return 1;
	}
}
