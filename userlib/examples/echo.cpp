// Echo over any virtsocket URI: a server thread echoes one connection, the
// client checks what comes back.  Exit status 0 when the echo matches.
//
//   echo [URI]     (default: a unix socket in /tmp)
#include <virtsocket/virtsocket.hpp>

#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>

namespace vs = virtsocket;
using namespace std::chrono_literals;

int main(int argc, char** argv)
{
	std::string uri = argc > 1 ? argv[1] : "unix:/tmp/virtsocket-echo-" + std::to_string(getpid());
	try {
		vs::listener server{vs::address(uri)};
		auto where = server.local_address().value();	// the real port for tcp:...:0

		std::thread echo([&server] {
			auto s = server.accept(5s).value();
			std::array<std::byte, 4096> buf;
			for (;;) {
				auto n = s.recv(buf);
				if (!n || *n == 0)
					break;	// error or the client's half-close
				if (!s.send_all(std::span(buf).first(*n)))
					break;
			}
		});

		auto client = vs::connector(2s).connect(where).value();
		client.set_recv_timeout(2s).value();
		const std::string message = "hello over " + where.to_string();
		client.send_all(std::as_bytes(std::span(message))).value();
		client.shutdown(SHUT_WR).value();
		std::string reply(message.size(), '\0');
		auto r = client.recv_exact(std::as_writable_bytes(std::span(reply)));
		echo.join();
		if (!r || reply != message) {
			std::cerr << "echo: got '" << reply << "'"
				  << (r ? "" : ": " + r.error().message()) << '\n';
			return 1;
		}
		std::cout << "echo: " << reply << '\n';
		return 0;
	} catch (const std::exception& e) {
		std::cerr << "echo: " << e.what() << '\n';
		return 1;
	}
}
