// virtsock-cat: relay stdin/stdout over one stream connection, like `socat -`;
// or, given a second URI, relay connections accepted on the first to new
// connections to the second, like `socat LISTEN,fork TARGET`.
#include "tool.hpp"

#include <virtsocket/virtsocket.hpp>

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <list>
#include <memory>
#include <thread>
#include <vector>

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view prog = "virtsock-cat";

// Which way data goes between the first and the second end (stdin/stdout and
// the socket; or the accepted connection and the target's), as socat's -u/-U.
enum class flow { both, forward_only, backward_only };

struct options {
	bool listen = false, keep = false, verbose = false, quit_on_eof = false;
	flow dir = flow::both;
	std::optional<std::chrono::milliseconds> timeout;
	std::uint64_t buffer = 0;
	unsigned max_connections = 64;
	std::string uri, target;
};

// One line to stderr with one write(), so that lines of concurrent relays
// do not interleave.
void say(const std::string& line)
{
	std::string s = std::string(prog) + ": " + line + '\n';
	[[maybe_unused]] auto n = ::write(STDERR_FILENO, s.data(), s.size());
}

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

bool is_reset(std::error_code ec) { return ec == vs::errno_code(ECONNRESET); }

// A reset connection (the peer aborted, or its VM died) has an exit status of
// its own, so that a reader can tell it from an end of stream.
int fail_socket(std::string_view what, std::error_code ec)
{
	return tool::fail(prog, is_reset(ec) ? tool::exit_reset : tool::exit_runtime,
			  std::string(what) + ": " + ec.message());
}

// Close so that the peer sees ECONNRESET rather than an end of stream it
// would take for a complete transfer (SO_LINGER 0 resets on tcp and virt).
void reset(vs::socket& s)
{
	const linger now{.l_onoff = 1, .l_linger = 0};
	if (s)
		::setsockopt(s.handle(), SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	(void)s.close();
}

// SO_VM_SOCKETS_BUFFER_SIZE where the transport has it (virt, vsock).
bool has_vm_buffer(vs::transport t) { return t == vs::transport::virt || t == vs::transport::vsock; }

// SIGINT, SIGTERM and SIGHUP are blocked (in every thread started later) and
// read from a signalfd, so that a listener can remove its unix socket file
// and reset its relays before it dies of the signal.
class signal_watch {
public:
	signal_watch()
	{
		sigemptyset(&set_);
		for (int s : {SIGINT, SIGTERM, SIGHUP})
			sigaddset(&set_, s);
		pthread_sigmask(SIG_BLOCK, &set_, nullptr);
		fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC);
	}
	~signal_watch()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	signal_watch(const signal_watch&) = delete;
	signal_watch& operator=(const signal_watch&) = delete;

	int fd() const { return fd_; }
	int take() const	// the signal that arrived
	{
		signalfd_siginfo si{};
		return ::read(fd_, &si, sizeof(si)) == sizeof(si) ? static_cast<int>(si.ssi_signo) : SIGTERM;
	}
	// Delivery as usual again (a pending signal strikes now).
	void release() const { pthread_sigmask(SIG_UNBLOCK, &set_, nullptr); }
	[[noreturn]] void die(int sig) const
	{
		std::signal(sig, SIG_DFL);
		::raise(sig);
		release();
		std::_Exit(128 + sig);	// not reached
	}

private:
	sigset_t set_;
	int fd_ = -1;
};

// stdin -> socket and socket -> stdout until the socket reaches end of stream
// and stdin is done (or at once with quit_on_eof).  Stdin's end becomes a
// half-close, so the peer still gets to answer.  One-way (-u, -U): the other
// way's data is read and dropped, and the socket is half-closed at once
// when stdin is not to be read.
int relay_stdio(vs::stream_socket& sock, flow dir, bool quit_on_eof)
{
	static std::array<std::byte, 64 * 1024> buf;
	bool stdin_open = dir != flow::backward_only, sock_open = true;

	if (!stdin_open)
		if (auto r = sock.shutdown(SHUT_WR); !r)
			return fail_socket("shutdown", r.error());
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
			} else if (dir != flow::forward_only &&
				   !write_all(STDOUT_FILENO, std::span(buf).first(*n))) {
				return tool::fail(prog, tool::exit_runtime,
						  std::string("write stdout: ") + std::strerror(errno));
			}
		}
	}
	return tool::exit_ok;
}

// ---- relay mode: accepted connection <-> new connection to the target ----------------

// One way of a relayed pair: what was read from src and not yet sent to dst.
struct half {
	vs::stream_socket* src;
	vs::stream_socket* dst;
	bool forward;		// false: read and drop (-u/-U)
	std::vector<std::byte> buf = std::vector<std::byte>(64 * 1024);
	std::size_t len = 0, off = 0;
	bool eof = false, done = false;
	std::uint64_t bytes = 0;

	bool wants_read() const { return !eof && len == 0; }
	bool wants_write() const { return off < len; }
};

struct pair_outcome {
	int status = tool::exit_ok;	// exit_reset if a side was reset
	std::string error;		// empty: both ways ended in order
	bool stopped = false;		// by the tool's own stop (a signal)
	std::uint64_t forward = 0, backward = 0;
};

// Relays a <-> b until both ways have ended (end of stream read and passed on
// as shutdown(SHUT_WR)) or one fails.  Non-blocking I/O in one poll loop, so
// neither way waits for the other (a target that answers while it reads
// would otherwise deadlock with a blocked send), with at most 64 KiB in
// flight each way.  stop_fd readable: give up at once.
pair_outcome relay_pair(vs::stream_socket& a, vs::stream_socket& b, flow dir, int stop_fd)
{
	pair_outcome out;
	std::array<half, 2> h{half{&a, &b, dir != flow::backward_only},
			      half{&b, &a, dir != flow::forward_only}};
	auto fail = [&](std::string what, std::error_code ec) {
		out.status = is_reset(ec) ? tool::exit_reset : tool::exit_runtime;
		out.error = what + ": " + ec.message();
		return out;
	};
	// The side that gets nothing learns it at once.
	for (auto& w : h)
		if (!w.forward)
			if (auto r = w.dst->shutdown(SHUT_WR); !r)
				return fail("shutdown", r.error());

	auto flush = [&](half& w) -> std::error_code {
		while (w.off < w.len) {
			auto n = w.dst->send(std::span(w.buf).subspan(w.off, w.len - w.off), MSG_DONTWAIT);
			if (!n)
				return n.error() == std::errc::resource_unavailable_try_again ? std::error_code{}
											  : n.error();
			w.off += *n;
		}
		w.off = w.len = 0;
		return {};
	};

	while (!h[0].done || !h[1].done) {
		std::array<pollfd, 3> fds{{{a.handle(), 0, 0}, {b.handle(), 0, 0}, {stop_fd, POLLIN, 0}}};
		for (std::size_t i = 0; i < 2; i++) {
			if (h[i].wants_read())
				fds[i].events |= POLLIN;
			if (h[i].wants_write())
				fds[1 - i].events |= POLLOUT;
		}
		for (auto& p : fds)
			if (!p.events)
				p.fd = -1;	// else an error or hang-up would spin the loop
		if (auto r = vs::poll_many(fds); !r)
			return fail("poll", r.error());
		if (fds[2].revents) {
			out.status = tool::exit_runtime;
			out.error = "relay stopped, connection reset";
			out.stopped = true;
			return out;
		}
		for (std::size_t i = 0; i < 2; i++) {
			half& w = h[i];
			if (fds[1 - i].revents && w.wants_write())
				if (auto ec = flush(w))
					return fail("send", ec);
			if (fds[i].revents && w.wants_read()) {
				auto n = w.src->recv(w.buf, MSG_DONTWAIT);
				if (!n && n.error() != std::errc::resource_unavailable_try_again)
					return fail("recv", n.error());
				if (n && *n == 0) {
					w.eof = true;
				} else if (n) {
					w.bytes += *n;
					if (w.forward) {
						w.len = *n;
						if (auto ec = flush(w))
							return fail("send", ec);
					}
				}
			}
			if (w.eof && !w.wants_write() && !w.done) {
				w.done = true;
				if (w.forward)
					if (auto r = w.dst->shutdown(SHUT_WR); !r)
						return fail("shutdown", r.error());
			}
		}
	}
	out.forward = h[0].bytes;
	out.backward = h[1].bytes;
	return out;
}

// One accepted connection and its thread.
struct pair_job {
	unsigned id;
	vs::stream_socket client;
	std::string from;
	std::thread thread;
	std::atomic<bool> done{false};
	pair_outcome result;
};

class relay_server {
public:
	relay_server(const options& o, vs::address target, signal_watch& sig)
		: opt_(o), target_(std::move(target)), sig_(sig),
		  stop_fd_(::eventfd(0, EFD_CLOEXEC)), done_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
	{
	}
	~relay_server()
	{
		for (auto& p : pairs_)
			if (p->thread.joinable())
				p->thread.join();
		::close(stop_fd_);
		::close(done_fd_);
	}
	relay_server(const relay_server&) = delete;
	relay_server& operator=(const relay_server&) = delete;

	int run(vs::listener& l)
	{
		if (stop_fd_ < 0 || done_fd_ < 0 || sig_.fd() < 0)
			return tool::fail(prog, tool::exit_runtime, std::string("eventfd: ") + std::strerror(errno));
		if (auto r = l.set_nonblocking(); !r)
			return tool::fail(prog, tool::exit_runtime, "listener: " + r.error().message());
		// Without -k, -w bounds the wait for the one connection.
		const bool bounded = opt_.timeout && !opt_.keep;
		const auto deadline = std::chrono::steady_clock::now() + opt_.timeout.value_or(0ms);
		unsigned accepted = 0;
		for (;;) {
			reap();
			if (!l && pairs_.empty())
				return status_;
			// At the bound, further connections wait in the listen backlog.
			bool accepting = l && pairs_.size() < opt_.max_connections;
			std::array<pollfd, 3> fds{{{sig_.fd(), POLLIN, 0},
						   {done_fd_, POLLIN, 0},
						   {accepting ? l.handle() : -1, POLLIN, 0}}};
			std::optional<std::chrono::milliseconds> wait;
			if (bounded && accepted == 0) {
				wait = std::chrono::duration_cast<std::chrono::milliseconds>(
					deadline - std::chrono::steady_clock::now());
				if (wait->count() <= 0)
					return finish(l, tool::fail(prog, tool::exit_runtime,
							    "accept: " + std::make_error_code(std::errc::timed_out).message()));
			}
			if (auto r = vs::poll_many(fds, wait); !r)
				return finish(l, tool::fail(prog, tool::exit_runtime, "poll: " + r.error().message()));
			if (fds[0].revents) {
				int signo = sig_.take();
				stop(l);
				sig_.die(signo);	// with any pair still connecting
			}
			if (fds[1].revents) {
				std::uint64_t n;
				[[maybe_unused]] auto r = ::read(done_fd_, &n, sizeof(n));
			}
			if (!fds[2].revents)
				continue;
			auto s = l.accept();
			if (!s) {
				auto ec = s.error();
				// Gone before we took it, or taken by nobody else: nothing to do.
				if (ec == std::errc::resource_unavailable_try_again || ec == std::errc::connection_aborted ||
				    ec == std::errc::protocol_error)
					continue;
				return finish(l, tool::fail(prog, tool::exit_runtime, "accept: " + ec.message()));
			}
			accepted++;
			if (!opt_.keep)
				(void)l.close();	// one connection: stop listening, remove the file
			start(std::move(*s), ++next_id_);
		}
	}

private:
	void start(vs::stream_socket s, unsigned id)
	{
		auto job = std::make_unique<pair_job>();
		job->id = id;
		auto peer = s.peer_address();
		job->from = peer ? peer->to_string() : "?";
		job->client = std::move(s);
		pair_job* p = job.get();
		pairs_.push_back(std::move(job));
		p->thread = std::thread([this, p] { serve(*p); });
	}

	// Runs in the pair's thread.
	void serve(pair_job& p)
	{
		std::string name = "connection " + std::to_string(p.id) + " from " + p.from;
		auto conn = opt_.timeout ? vs::connector(*opt_.timeout).connect(target_)
					 : vs::connector().connect(target_);
		if (!conn) {
			p.result = {tool::exit_runtime, conn.error().message(), 0, 0};
		} else if (opt_.buffer && has_vm_buffer(target_.kind()) &&
			   !conn->set_vm_buffer_size(opt_.buffer)) {
			p.result = {tool::exit_runtime, "--buffer: cannot set on " + target_.to_string(), 0, 0};
		} else {
			if (opt_.verbose)
				say(name + ": relaying to " + target_.to_string());
			p.result = relay_pair(p.client, *conn, opt_.dir, stop_fd_);
		}
		if (p.result.error.empty()) {
			if (opt_.verbose)
				say(name + ": done, " + std::to_string(p.result.forward) + " bytes to " +
				    target_.to_string() + ", " + std::to_string(p.result.backward) + " bytes back");
			(void)p.client.close();
			if (conn)
				(void)conn->close();
		} else {
			say(name + ": " + p.result.error);
			reset(p.client);
			if (conn)
				reset(*conn);
		}
		p.done = true;
		const std::uint64_t one = 1;
		[[maybe_unused]] auto r = ::write(done_fd_, &one, sizeof(one));
	}

	// Joins the pairs that ended; without -k the last one's status is ours.
	void reap()
	{
		std::erase_if(pairs_, [&](std::unique_ptr<pair_job>& p) {
			if (!p->done)
				return false;
			p->thread.join();
			if (p->result.stopped)
				return true;
			status_ = opt_.keep ? tool::exit_ok : p->result.status;
			return true;
		});
	}

	// Stop listening (a unix socket file goes) and reset the relays in
	// progress.  False: a pair still connects to the target after 2 s; it is
	// left to end with the process.
	bool stop(vs::listener& l)
	{
		(void)l.close();
		const std::uint64_t one = 1;
		[[maybe_unused]] auto w = ::write(stop_fd_, &one, sizeof(one));
		auto deadline = std::chrono::steady_clock::now() + 2s;
		for (;;) {
			reap();
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - std::chrono::steady_clock::now());
			if (pairs_.empty() || left.count() <= 0)
				break;
			pollfd p{done_fd_, POLLIN, 0};
			(void)vs::poll_many(std::span(&p, 1), left);
			std::uint64_t n;
			[[maybe_unused]] auto r = ::read(done_fd_, &n, sizeof(n));
		}
		return pairs_.empty();
	}

	int finish(vs::listener& l, int status)
	{
		if (!stop(l))
			std::_Exit(status);	// not joinable in time: end them with us
		return status;
	}

	const options& opt_;
	vs::address target_;
	signal_watch& sig_;
	int stop_fd_, done_fd_;
	std::list<std::unique_ptr<pair_job>> pairs_;
	unsigned next_id_ = 0;
	int status_ = tool::exit_ok;
};

// Accepts one connection for the stdin/stdout relay, watching for signals:
// the listener (and its unix socket file) is closed before the tool dies.
vs::result<vs::stream_socket, vs::error> accept_one(vs::listener& l, const options& o, signal_watch& sig)
{
	std::array<pollfd, 2> fds{{{l.handle(), POLLIN, 0}, {sig.fd(), POLLIN, 0}}};
	auto r = vs::poll_many(fds, o.timeout);
	if (!r)
		return vs::with_context(r.error(), "accept");
	if (fds[1].revents) {
		int signo = sig.take();
		(void)l.close();
		sig.die(signo);
	}
	if (*r == 0)
		return vs::with_context(std::make_error_code(std::errc::timed_out), "accept");
	auto s = l.accept();
	if (!s)
		return vs::with_context(s.error(), "accept");
	return std::move(*s);
}

} // namespace

int main(int argc, char** argv)
{
	CLI::App app{"Relay stdin and stdout over one stream connection (like `socat -`), or relay\n"
		     "connections accepted on URI to new connections to TARGET_URI (like\n"
		     "`socat LISTEN,fork TARGET`).  An end of stream is passed on as a half-close\n"
		     "(shutdown SHUT_WR) and the other way goes on until it ends too.",
		     std::string(prog)};
	options o;
	bool one_way = false, other_way = false;
	double wait = 0;
	app.set_version_flag("--version", std::string(prog) + " " + VIRTSOCKET_VERSION);
	app.add_flag("-l,--listen", o.listen, "Accept a connection on URI instead of connecting");
	app.add_flag("-k,--keep-open", o.keep,
		     "With -l and TARGET_URI: accept and relay connections until SIGINT/SIGTERM");
	app.add_flag("-u", one_way,
		     "One way only: stdin -> URI, or URI's connection -> TARGET_URI (the other way's "
		     "data is dropped)");
	app.add_flag("-U", other_way,
		     "One way only: URI -> stdout, or TARGET_URI -> URI's connection");
	app.add_option("--max-connections", o.max_connections,
		       "With -k: relay at most N connections at once; more wait in the listen "
		       "backlog (default 64)")
		->check(CLI::Range(1U, 4096U));
	app.add_option("-w,--wait", wait,
		       "Give up connecting (to URI, or to TARGET_URI for each connection), and without "
		       "-k accepting, after SECONDS (default: never)")
		->check(CLI::NonNegativeNumber);
	app.add_flag("-q,--quit-on-eof", o.quit_on_eof,
		     "Exit as soon as the peer ends its stream, even if stdin is still open");
	app.add_flag("-v,--verbose", o.verbose, "Report connections on stderr");
	app.add_option("-b,--buffer", o.buffer,
		       "Receive buffer offered as credit, SO_VM_SOCKETS_BUFFER_SIZE (virt:, vsock:)")
		->check(CLI::PositiveNumber);
	app.add_option("URI", o.uri, "virt:CID:PORT, vsock:CID:PORT, unix:PATH or tcp:HOST:PORT")
		->required();
	app.add_option("TARGET_URI", o.target, "With -l: relay each accepted connection to a new "
					       "connection to TARGET_URI instead of stdin/stdout");
	app.footer("On SIGINT, SIGTERM or SIGHUP a listener stops listening, removes its unix socket\n"
		   "file, resets the connections it relays (their peers get ECONNRESET, not an end\n"
		   "of stream) and dies of the signal.\n"
		   "Exit status: 0 done (the peer ended its stream; with a TARGET_URI, both ends\n"
		   "did), 1 connection or I/O error, 2 usage error, 3 the peer reset the connection\n"
		   "(ECONNRESET: it aborted, or its VM died).");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;

	auto usage = [](std::string msg) { return tool::fail(prog, tool::exit_usage, msg); };
	if (one_way && other_way)
		return usage("-u and -U exclude each other");
	o.dir = one_way ? flow::forward_only : other_way ? flow::backward_only : flow::both;
	if (!o.target.empty() && !o.listen)
		return usage("TARGET_URI " + o.target + " needs -l (relay accepted connections)");
	if (o.keep && o.target.empty())
		return usage("-k needs -l and a TARGET_URI");
	if (o.quit_on_eof && !o.target.empty())
		return usage("-q is for the stdin/stdout relay, not with TARGET_URI");
	auto addr = vs::address::parse(o.uri);
	if (!addr)
		return tool::fail(prog, tool::exit_usage, addr.error().message());
	std::optional<vs::address> target;
	if (!o.target.empty()) {
		auto t = vs::address::parse(o.target);
		if (!t)
			return tool::fail(prog, tool::exit_usage, t.error().message());
		target = *t;
		if (o.buffer && !has_vm_buffer(addr->kind()) && !has_vm_buffer(t->kind()))
			return usage("--buffer needs a virt: or vsock: end");
	}
	if (wait > 0)
		o.timeout = std::chrono::milliseconds(static_cast<long long>(wait * 1000));

	vs::stream_socket sock;
	if (o.listen) {
		// Before the listener exists: no signal may kill us between its
		// bind() and the watch, leaving its file behind.
		signal_watch sig;
		auto l = vs::listener::listen(*addr, target ? SOMAXCONN : 1);
		if (!l)
			return tool::fail(prog, tool::exit_runtime, l.error().message());
		// Before the peer connects: the accepted socket inherits it.
		if (o.buffer && (!target || has_vm_buffer(addr->kind())))
			if (auto r = l->set_vm_buffer_size(o.buffer); !r)
				return tool::fail(prog, tool::exit_runtime, "--buffer: " + r.error().message());
		if (o.verbose) {
			auto local = l->local_address();
			std::cerr << prog << ": listening on "
				  << (local ? local->to_string() : addr->to_string()) << std::endl;
		}
		if (target) {
			relay_server server(o, *target, sig);
			return server.run(*l);
		}
		auto s = accept_one(*l, o, sig);
		if (!s)
			return tool::fail(prog, tool::exit_runtime, s.error().message());
		sock = std::move(*s);
		(void)l->close();
		sig.release();	// nothing to clean up any more
	} else {
		auto s = o.timeout ? vs::connector(*o.timeout).connect(*addr) : vs::connector().connect(*addr);
		if (!s)
			return tool::fail(prog, tool::exit_runtime, s.error().message());
		sock = std::move(*s);
		if (o.buffer)
			if (auto r = sock.set_vm_buffer_size(o.buffer); !r)
				return tool::fail(prog, tool::exit_runtime, "--buffer: " + r.error().message());
	}
	if (o.verbose) {
		auto peer = sock.peer_address();
		std::cerr << prog << ": connected to " << (peer ? peer->to_string() : "?") << std::endl;
	}
	return relay_stdio(sock, o.dir, o.quit_on_eof);
}
