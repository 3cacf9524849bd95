// virt_test harness: the case registry, the per-case context, assertions and
// small socket helpers shared by the case files.
//
// A case is a pair of functions (client side, server side) run at the same
// time in two processes, usually on two machines (KVM host and guest, either
// way round).  They coordinate only through the control channel (control.hpp);
// every data-path socket uses the transport under test.
//
// A case fails by throwing vt::failure (fail(), check(), must(), expect_errno());
// the runner catches it and reports the message.
#pragma once

#include "control.hpp"

#include <virtsocket/virtsocket.hpp>

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace vt {

namespace vs = virtsocket;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

enum class side { server, client };

struct options {
	side role = side::server;
	vs::address addr;			// --listen (server) or --connect (client)
	std::chrono::seconds case_timeout{30};
	std::uint64_t integrity_bytes = 4u << 20;
	std::uint64_t seed = 0;
};

// What a case sees.
class context {
public:
	context(const options& o, control& c) : opt(o), ctl(c) {}

	const options& opt;
	control& ctl;

	bool server() const { return opt.role == side::server; }
	vs::transport kind() const { return opt.addr.kind(); }
	bool is(vs::transport t) const { return kind() == t; }
	// The address under test moved by a port offset (unix: path + ".N"), for
	// extra listeners a case needs.  Offset 0 is the address itself.
	vs::address at(int offset) const;
	// A note printed after the case's result ("p50=...").
	void note(const std::string& s)
	{
		if (!notes.empty())
			notes += "; ";
		notes += s;
	}
	std::string notes;
};

using case_fn = void (*)(context&);

struct test_case {
	std::string name;
	case_fn client;
	case_fn server;
};

// The case files; main() registers them in this order.
void add_connect_cases(std::vector<test_case>& r);
void add_io_cases(std::vector<test_case>& r);
void add_poll_cases(std::vector<test_case>& r);
void add_close_cases(std::vector<test_case>& r);
void add_data_cases(std::vector<test_case>& r);
void add_sequential_case(std::vector<test_case>& r);
void add_vm_options_case(std::vector<test_case>& r);

// ---- assertions ---------------------------------------------------------------

// Acceptable errno values.
using errnos = std::vector<int>;

struct failure : std::runtime_error {
	using std::runtime_error::runtime_error;
};

template <class... A>
std::string str(const A&... a)
{
	std::ostringstream s;
	(s << ... << a);
	return s.str();
}

[[noreturn]] inline void fail(const std::string& why)
{
	throw failure(why);
}

template <class... A>
void check(bool ok, const A&... why)
{
	if (!ok)
		fail(str(why...));
}

// "ECONNREFUSED" for an errno value; "success" for 0.
std::string errno_name(int e);
// "ECONNREFUSED (Connection refused)", or the library's own message.
std::string describe(const std::error_code& ec);

inline std::error_code code_of(const std::error_code& ec) { return ec; }
inline std::error_code code_of(const vs::error& e) { return e.code; }

// The value of a result or a failure "WHAT: <error>".
template <class T, class E>
T must(vs::result<T, E>&& r, std::string_view what)
{
	if (!r)
		fail(str(what, ": ", describe(code_of(r.error()))));
	return std::move(*r);
}
template <class E>
void must(vs::result<void, E>&& r, std::string_view what)
{
	if (!r)
		fail(str(what, ": ", describe(code_of(r.error()))));
}

// An errno code that must be one of `allowed`.
void expect_code(const std::error_code& ec, const errnos& allowed, std::string_view what);

// A result that must be an error with one of the errno values in `allowed`.
template <class T, class E>
void expect_errno(const vs::result<T, E>& r, const errnos& allowed, std::string_view what)
{
	if (r)
		fail(str(what, ": succeeded, expected ", errno_name(allowed.front())));
	expect_code(code_of(r.error()), allowed, what);
}

// A raw call's return value: must be -1 with errno in `allowed`.
void expect_raw_errno(long rc, int err, const errnos& allowed, std::string_view what);

// ---- sockets --------------------------------------------------------------------

// The socket family number of the transport (AF_VIRT: from discovery).
int family_of(vs::transport t);

// Server: listen at offset (removing a stale unix socket file first).
vs::listener listen_at(context& c, int offset = 0, int backlog = SOMAXCONN);
// Server: listen at offset, tell the client "LISTENING", accept one connection.
vs::stream_socket accept_one(context& c, int offset = 0);
// Client: wait for "LISTENING", connect to offset.
vs::stream_socket connect_one(context& c, int offset = 0);
// Accept with a bound wait.
vs::stream_socket accept_within(vs::listener& l, std::chrono::milliseconds t, std::string_view what);

// Whole buffers with assertions (blocking sockets); a failure tells how
// many bytes had been moved.
void send_exact(vs::stream_socket& s, std::span<const std::byte> b, std::string_view what);
void recv_exact(vs::stream_socket& s, std::span<std::byte> b, std::string_view what);
void send_byte(vs::stream_socket& s, std::uint8_t v);
std::uint8_t recv_byte(vs::stream_socket& s);
// recv() must report end of stream (0) within the time.
void expect_eof(vs::stream_socket& s, std::chrono::milliseconds within = 5s);
// Non-blocking sends of the stream `seed` from `offset` on, until EAGAIN and
// no POLLOUT for 200 ms: a transport may move data from the send buffer into
// the peer's receive buffer (TCP does), which makes room again even though
// nobody reads; that must stop once both are full.  Returns the bytes sent.
std::uint64_t fill_until_full(vs::stream_socket& s, std::uint64_t seed, std::uint64_t offset = 0);

// epoll on one descriptor: the cases assert epoll's own reports, so it stays
// raw (the library has poll() only).
class epoll_fd {
public:
	epoll_fd();
	~epoll_fd();
	epoll_fd(const epoll_fd&) = delete;
	epoll_fd& operator=(const epoll_fd&) = delete;

	void add(int fd, std::uint32_t events);
	// The events of the one descriptor, 0 on timeout; EINTR is retried.
	std::uint32_t wait(std::chrono::milliseconds t);

private:
	int fd_;
};

// A reproducible byte stream: the bytes at [offset, offset + out.size()) of
// the stream `seed` (seekable, so a receiver can check any piece).
void pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out);
// First offset where `got` differs from the stream, or -1.
long long pattern_mismatch(std::uint64_t seed, std::uint64_t offset, std::span<const std::byte> got);

std::vector<std::byte> bytes(std::size_t n, std::uint64_t seed = 1);

// Open descriptors of this process (for leak checks).
int open_fds();

double ms_since(clock::time_point t0);

} // namespace vt
