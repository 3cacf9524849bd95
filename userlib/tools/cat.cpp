// virtsock-cat: relay stdin/stdout over one stream connection, like `socat -`.
#include "tool.hpp"

#include <virtsocket/virtsocket.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view prog = "virtsock-cat";

bool write_all(int fd, std::span<const std::byte> buf)
{
	while (!buf.empty()) {
		ssize_t n = ::write(fd, buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		buf = buf.subspan(static_cast<std::size_t>(n));
	}
	return true;
}

// A reset connection (the peer aborted, or its VM died) has an exit status of
// its own, so that a reader can tell it from an end of stream.
int fail_socket(std::string_view what, std::error_code ec)
{
	return tool::fail(prog, ec == vs::errno_code(ECONNRESET) ? tool::exit_reset : tool::exit_runtime,
			  std::string(what) + ": " + ec.message());
}

// stdin -> socket and socket -> stdout until the socket reaches end of stream
// and stdin is done (or at once with quit_on_eof).  Stdin's end becomes a
// half-close, so the peer still gets to answer.
int relay(vs::stream_socket& sock, bool quit_on_eof)
{
	static std::array<std::byte, 64 * 1024> buf;
	bool stdin_open = true, sock_open = true;

	while (sock_open || stdin_open) {
		std::array<pollfd, 2> fds{{{stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
					   {sock_open ? sock.handle() : -1, POLLIN, 0}}};
		if (auto r = vs::poll_many(fds); !r)
			return tool::fail(prog, tool::exit_runtime, "poll: " + r.error().message());

		if (fds[0].revents) {
			ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno != EBADF)
				return tool::fail(prog, tool::exit_runtime,
						  std::string("read stdin: ") + std::strerror(errno));
			if (n <= 0) {
				stdin_open = false;
				if (auto r = sock.shutdown(SHUT_WR); !r && sock_open)
					return fail_socket("shutdown", r.error());
			} else if (auto r = sock.send_all(std::span(buf).first(static_cast<std::size_t>(n))); !r) {
				return fail_socket("send", r.error());
			}
		}
		if (fds[1].revents) {
			auto n = sock.recv(buf);
			if (!n)
				return fail_socket("recv", n.error());
			if (*n == 0) {
				sock_open = false;
				if (quit_on_eof)
					break;
			} else if (!write_all(STDOUT_FILENO, std::span(buf).first(*n))) {
				return tool::fail(prog, tool::exit_runtime,
						  std::string("write stdout: ") + std::strerror(errno));
			}
		}
	}
	return tool::exit_ok;
}

} // namespace

int main(int argc, char** argv)
{
	CLI::App app{"Relay stdin and stdout over one stream connection (like `socat -`).\n"
		     "Stdin's end is passed on as a half-close (shutdown SHUT_WR); the\n"
		     "tool exits when the peer has ended its stream and stdin is done.",
		     std::string(prog)};
	bool listen = false, verbose = false, quit_on_eof = false;
	double wait = 0;
	std::uint64_t buffer = 0;
	std::string uri;
	app.add_flag("-l,--listen", listen, "Accept one connection on URI instead of connecting");
	app.add_option("-w,--wait", wait, "Give up connecting/accepting after SECONDS (default: never)")
		->check(CLI::NonNegativeNumber);
	app.add_flag("-q,--quit-on-eof", quit_on_eof,
		     "Exit as soon as the peer ends its stream, even if stdin is still open");
	app.add_flag("-v,--verbose", verbose, "Report the connection on stderr");
	app.add_option("-b,--buffer", buffer,
		       "Receive buffer offered as credit, SO_VM_SOCKETS_BUFFER_SIZE (virt:, vsock:)")
		->check(CLI::PositiveNumber);
	app.add_option("URI", uri, "virt:CID:PORT, vsock:CID:PORT, unix:PATH or tcp:HOST:PORT")
		->required();
	app.footer("Exit status: 0 done (the peer ended its stream), 1 connection or I/O\n"
		   "error, 2 usage error, 3 the peer reset the connection (ECONNRESET: it\n"
		   "aborted, or its VM died).");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;

	auto addr = vs::address::parse(uri);
	if (!addr)
		return tool::fail(prog, tool::exit_usage, addr.error().message());
	std::optional<std::chrono::milliseconds> timeout;
	if (wait > 0)
		timeout = std::chrono::milliseconds(static_cast<long long>(wait * 1000));

	vs::stream_socket sock;
	if (listen) {
		auto l = vs::listener::listen(*addr, 1);
		if (!l)
			return tool::fail(prog, tool::exit_runtime, l.error().message());
		// Before the peer connects: the accepted socket inherits it.
		if (buffer)
			if (auto r = l->set_vm_buffer_size(buffer); !r)
				return tool::fail(prog, tool::exit_runtime, "--buffer: " + r.error().message());
		if (verbose) {
			auto local = l->local_address();
			std::cerr << prog << ": listening on "
				  << (local ? local->to_string() : addr->to_string()) << std::endl;
		}
		auto s = timeout ? l->accept(*timeout) : l->accept();
		if (!s)
			return tool::fail(prog, tool::exit_runtime, "accept: " + s.error().message());
		sock = std::move(*s);
	} else {
		auto s = timeout ? vs::connector(*timeout).connect(*addr) : vs::connector().connect(*addr);
		if (!s)
			return tool::fail(prog, tool::exit_runtime, s.error().message());
		sock = std::move(*s);
		if (buffer)
			if (auto r = sock.set_vm_buffer_size(buffer); !r)
				return tool::fail(prog, tool::exit_runtime, "--buffer: " + r.error().message());
	}
	if (verbose) {
		auto peer = sock.peer_address();
		std::cerr << prog << ": connected to " << (peer ? peer->to_string() : "?") << std::endl;
	}
	return relay(sock, quit_on_eof);
}
