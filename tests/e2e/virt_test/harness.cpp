#include "harness.hpp"

#include <dirent.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vt {

vs::address context::at(int offset) const
{
	if (offset == 0)
		return opt.addr;
	struct visitor {
		int off;
		vs::address operator()(vs::virt_address a) const
		{
			a.port += static_cast<std::uint32_t>(off);
			return a;
		}
		vs::address operator()(vs::vsock_address a) const
		{
			a.port += static_cast<std::uint32_t>(off);
			return a;
		}
		vs::address operator()(vs::unix_address a) const
		{
			a.path += "." + std::to_string(off);
			return a;
		}
		vs::address operator()(vs::tcp_address a) const
		{
			a.port = static_cast<std::uint16_t>(a.port + off);
			return a;
		}
	};
	return std::visit(visitor{offset}, opt.addr.get());
}

std::string errno_name(int e)
{
	if (e == 0)
		return "success";
	const char* n = strerrorname_np(e);
	return n ? n : "errno " + std::to_string(e);
}

std::string describe(const std::error_code& ec)
{
	if (ec.category() == std::system_category() || ec.category() == std::generic_category())
		return errno_name(ec.value()) + " (" + ec.message() + ")";
	return ec.message();
}

namespace {

std::string names(const errnos& allowed)
{
	std::string s;
	for (int e : allowed)
		s += (s.empty() ? "" : " or ") + errno_name(e);
	return s;
}

} // namespace

void expect_code(const std::error_code& ec, const errnos& allowed, std::string_view what)
{
	bool errno_like = ec.category() == std::system_category() || ec.category() == std::generic_category();
	if (errno_like)
		for (int e : allowed)
			if (ec.value() == e)
				return;
	fail(str(what, ": expected ", names(allowed), ", got ", describe(ec)));
}

void expect_raw_errno(long rc, int err, const errnos& allowed, std::string_view what)
{
	if (rc != -1)
		fail(str(what, ": returned ", rc, ", expected -1 with ", names(allowed)));
	expect_code(vs::errno_code(err), allowed, what);
}

int family_of(vs::transport t)
{
	switch (t) {
	case vs::transport::virt:
		return must(vs::virt_family(), "AF_VIRT family discovery");
	case vs::transport::vsock:
		return AF_VSOCK;
	case vs::transport::unix_domain:
		return AF_UNIX;
	case vs::transport::tcp:
		return AF_INET;
	}
	return AF_UNSPEC;
}

vs::listener listen_at(context& c, int offset, int backlog)
{
	auto a = c.at(offset);
	if (auto u = a.get_if<vs::unix_address>(); u && !u->path.empty() && u->path[0] != '@')
		::unlink(u->path.c_str());	// left by a killed case
	return must(vs::listener::listen(a, backlog), str("listen on ", a.to_string()));
}

vs::stream_socket accept_within(vs::listener& l, std::chrono::milliseconds t, std::string_view what)
{
	return must(l.accept(t), what);
}

vs::stream_socket accept_one(context& c, int offset)
{
	auto l = listen_at(c, offset);
	c.ctl.writeln("LISTENING");
	return accept_within(l, 10s, "accept");
}

vs::stream_socket connect_one(context& c, int offset)
{
	c.ctl.expectln("LISTENING");
	auto a = c.at(offset);
	return must(vs::connector(10s).connect(a), str("connect to ", a.to_string()));
}

void send_exact(vs::stream_socket& s, std::span<const std::byte> b, std::string_view what)
{
	auto r = s.send_all(b);
	if (!r)
		fail(str(what, ": ", describe(r.error()), " after ", r.error().bytes, " of ", b.size(), " bytes"));
}

void recv_exact(vs::stream_socket& s, std::span<std::byte> b, std::string_view what)
{
	auto r = s.recv_exact(b);
	if (!r)
		fail(str(what, ": ", describe(r.error()), " after ", r.error().bytes, " of ", b.size(), " bytes"));
}

void send_byte(vs::stream_socket& s, std::uint8_t v)
{
	std::byte b{v};
	auto n = must(s.send(std::span(&b, 1)), "send 1 byte");
	check(n == 1, "send 1 byte returned ", n);
}

std::uint8_t recv_byte(vs::stream_socket& s)
{
	std::byte b{};
	auto n = must(s.recv(std::span(&b, 1)), "recv 1 byte");
	check(n == 1, "recv 1 byte: got end of stream");
	return static_cast<std::uint8_t>(b);
}

void expect_eof(vs::stream_socket& s, std::chrono::milliseconds within)
{
	auto ready = must(s.poll(POLLIN, within), "poll for end of stream");
	check(ready != 0, "no end of stream (POLLIN) within ", within.count(), " ms");
	std::byte b{};
	auto n = must(s.recv(std::span(&b, 1), MSG_DONTWAIT), "recv at end of stream");
	check(n == 0, "expected end of stream, got data");
}

std::uint64_t fill_until_full(vs::stream_socket& s, std::uint64_t seed, std::uint64_t offset)
{
	std::vector<std::byte> buf(65536);
	std::uint64_t sent = 0;
	int again = 0;
	for (;;) {
		check(sent < (64u << 20), "sent 64 MiB to a peer that does not read, without EAGAIN (",
		      again, " EAGAINs, each time writable again)");
		pattern(seed, offset + sent, buf);
		auto r = s.send(buf);
		if (r) {
			sent += *r;
			continue;
		}
		expect_code(r.error(), {EAGAIN}, "non-blocking send to a full peer");
		++again;
		auto ev = must(s.poll(POLLOUT, 200ms), "poll");
		if (!(ev & POLLOUT))
			return sent;
	}
}

epoll_fd::epoll_fd() : fd_(::epoll_create1(EPOLL_CLOEXEC))
{
	check(fd_ >= 0, "epoll_create1: ", errno_name(errno));
}

epoll_fd::~epoll_fd()
{
	::close(fd_);
}

void epoll_fd::add(int fd, std::uint32_t events)
{
	epoll_event ev{};
	ev.events = events;
	ev.data.fd = fd;
	check(::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD: ", errno_name(errno));
}

std::uint32_t epoll_fd::wait(std::chrono::milliseconds t)
{
	epoll_event ev{};
	for (;;) {
		int n = ::epoll_wait(fd_, &ev, 1, static_cast<int>(t.count()));
		if (n < 0 && errno == EINTR)
			continue;
		check(n >= 0, "epoll_wait: ", errno_name(errno));
		return n ? ev.events : 0;
	}
}

namespace {

// splitmix64: a value per 8-byte block, so any offset can be produced.
std::uint64_t mix(std::uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

} // namespace

void pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out)
{
	std::size_t i = 0;
	while (i < out.size()) {
		std::uint64_t pos = offset + i;
		std::uint64_t block = pos / 8;
		std::uint64_t v = mix(seed * 0x100000001b3ULL ^ mix(block));
		unsigned k = static_cast<unsigned>(pos % 8);
		for (; k < 8 && i < out.size(); ++k, ++i)
			out[i] = static_cast<std::byte>(v >> (8 * k));
	}
}

long long pattern_mismatch(std::uint64_t seed, std::uint64_t offset, std::span<const std::byte> got)
{
	std::byte want[4096];
	for (std::size_t done = 0; done < got.size();) {
		std::size_t n = std::min(got.size() - done, sizeof(want));
		pattern(seed, offset + done, std::span(want, n));
		if (std::memcmp(want, got.data() + done, n) != 0) {
			for (std::size_t i = 0; i < n; ++i)
				if (want[i] != got[done + i])
					return static_cast<long long>(offset + done + i);
		}
		done += n;
	}
	return -1;
}

std::vector<std::byte> bytes(std::size_t n, std::uint64_t seed)
{
	std::vector<std::byte> v(n);
	pattern(seed, 0, v);
	return v;
}

int open_fds()
{
	int n = 0;
	for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
		++n;
	return n;
}

double ms_since(clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

} // namespace vt
