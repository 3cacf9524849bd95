// Data transfer and per-call / per-socket I/O options: sizes both ways,
// MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO,
// SO_SNDBUF/SO_RCVBUF, AF_VSOCK's SO_VM_SOCKETS_*, SIOCINQ/SIOCOUTQ.
#include "harness.hpp"

#include <linux/time_types.h>
#include <linux/vm_sockets.h>

#include <cerrno>
#include <thread>

namespace vt {
namespace {

using vs::transport;

// ---- send/recv both directions ------------------------------------------------------

constexpr std::size_t sizes[] = {1, 100, 4096, 65536 + 7, (1u << 20) + 3};

void expect_pattern(std::span<const std::byte> got, std::uint64_t seed, const char* what)
{
	auto bad = pattern_mismatch(seed, 0, got);
	check(bad < 0, what, ": byte ", bad, " of ", got.size(), " differs from what was sent");
}

void sendrecv_client(context& c)
{
	auto s = connect_one(c);
	for (std::size_t n : sizes) {
		send_exact(s, bytes(n, n), str("send ", n, " bytes"));
		std::vector<std::byte> in(n);
		recv_exact(s, in, str("recv ", n, " bytes"));
		expect_pattern(in, n + 1000, "reply");
	}
	// Scatter/gather: one sendmsg() of three pieces, one recvmsg() into two.
	auto a = bytes(10, 1), b = bytes(20, 2), d = bytes(30, 3);
	iovec out[] = {vs::to_iovec(a), vs::to_iovec(b), vs::to_iovec(d)};
	auto n = must(s.send_gather(out), "sendmsg of 3 pieces");
	check(n == 60, "sendmsg sent ", n, " of 60 bytes");
	expect_eof(s, 10s);
}

void sendrecv_server(context& c)
{
	auto s = accept_one(c);
	for (std::size_t n : sizes) {
		std::vector<std::byte> in(n);
		recv_exact(s, in, str("recv ", n, " bytes"));
		expect_pattern(in, n, "request");
		send_exact(s, bytes(n, n + 1000), str("send ", n, " bytes"));
	}
	std::vector<std::byte> x(25), y(35);
	iovec in[] = {vs::to_iovec(x), vs::to_iovec(y)};
	std::size_t got = 0;
	while (got < 60) {
		// The two iovecs, moved past what has arrived.
		std::vector<iovec> rest;
		std::size_t skip = got;
		for (auto v : in) {
			if (skip >= v.iov_len) {
				skip -= v.iov_len;
				continue;
			}
			rest.push_back({static_cast<char*>(v.iov_base) + skip, v.iov_len - skip});
			skip = 0;
		}
		auto n = must(s.recv_scatter(rest), "recvmsg into 2 pieces");
		check(n > 0, "end of stream after ", got, " of 60 bytes");
		got += n;
	}
	std::vector<std::byte> all(x);
	all.insert(all.end(), y.begin(), y.end());
	std::vector<std::byte> want = bytes(10, 1);
	auto b = bytes(20, 2), d = bytes(30, 3);
	want.insert(want.end(), b.begin(), b.end());
	want.insert(want.end(), d.begin(), d.end());
	check(all == want, "scatter/gather data differs");
}

// ---- MSG_PEEK ------------------------------------------------------------------------
//
// Peeking returns the queued bytes without consuming them (twice the same,
// a short peek the prefix); the following recv() returns the same bytes;
// MSG_PEEK|MSG_DONTWAIT on an empty queue: EAGAIN.

void peek_client(context& c)
{
	auto s = connect_one(c);
	send_exact(s, bytes(100, 77), "send 100 bytes");
	c.ctl.writeln("SENT");
	c.ctl.expectln("DONE");
}

void peek_server(context& c)
{
	auto s = accept_one(c);
	c.ctl.expectln("SENT");
	// Wait until all 100 bytes are there (a stream may deliver in pieces).
	std::vector<std::byte> p1(200);
	std::size_t n = 0;
	auto t0 = clock::now();
	for (;;) {
		must(s.poll(POLLIN, 5s), "poll");
		n = must(s.recv(p1, MSG_PEEK), "recv MSG_PEEK");
		if (n >= 100 || clock::now() - t0 > 5s)
			break;
		std::this_thread::sleep_for(5ms);
	}
	check(n == 100, "MSG_PEEK of 200 returned ", n, " of the 100 bytes sent");
	std::vector<std::byte> p2(50);
	auto n2 = must(s.recv(p2, MSG_PEEK), "short MSG_PEEK");
	check(n2 == 50, "MSG_PEEK of 50 returned ", n2);
	check(std::equal(p2.begin(), p2.end(), p1.begin()), "short peek differs from the first peek");
	std::vector<std::byte> r(200);
	auto n3 = must(s.recv(r), "recv after peeking");
	check(n3 == 100, "recv after peeking returned ", n3, ", not the 100 peeked bytes");
	check(std::equal(r.begin(), r.begin() + 100, p1.begin()), "recv returned other bytes than MSG_PEEK");
	expect_pattern(std::span(r).first(100), 77, "peeked data");
	expect_errno(s.recv(r, MSG_PEEK | MSG_DONTWAIT), {EAGAIN}, "MSG_PEEK|MSG_DONTWAIT on an empty queue");
	c.ctl.writeln("DONE");
}

// ---- MSG_DONTWAIT ----------------------------------------------------------------------
//
// On a blocking socket: recv(MSG_DONTWAIT) with nothing queued: EAGAIN at
// once; the socket stays blocking; with data queued it returns the data.

void dontwait_client(context& c)
{
	auto s = connect_one(c);
	c.ctl.expectln("EMPTY");
	send_byte(s, 9);
	c.ctl.expectln("DONE");
}

void dontwait_server(context& c)
{
	auto s = accept_one(c);
	std::byte b[16];
	// EAGAIN is the proof that it did not block: the peer sends only after
	// EMPTY, so a blocking recv would have hung until the case timeout.
	expect_errno(s.recv(b, MSG_DONTWAIT), {EAGAIN}, "recv MSG_DONTWAIT with nothing queued");
	check(!must(s.is_nonblocking(), "F_GETFL"), "MSG_DONTWAIT left the socket non-blocking");
	c.ctl.writeln("EMPTY");
	auto ev = must(s.poll(POLLIN, 5s), "poll");
	check(ev & POLLIN, "no POLLIN within 5 s of the peer sending");
	auto n = must(s.recv(b, MSG_DONTWAIT), "recv MSG_DONTWAIT with data queued");
	check(n == 1 && b[0] == std::byte{9}, "recv MSG_DONTWAIT returned ", n, " bytes");
	c.ctl.writeln("DONE");
}

// ---- MSG_WAITALL ------------------------------------------------------------------------
//
// recv(4000, MSG_WAITALL) returns all 4000 bytes although they arrive in
// four pieces 50 ms apart; at end of stream it returns what there is (100 of
// 200), then 0.

void waitall_client(context& c)
{
	auto s = connect_one(c);
	auto data = bytes(4000, 5);
	c.ctl.expectln("WAITING");
	for (int i = 0; i < 4; ++i) {
		if (i)
			std::this_thread::sleep_for(50ms);	// the point: pieces apart in time
		send_exact(s, std::span(data).subspan(static_cast<std::size_t>(i) * 1000, 1000), "send a piece");
	}
	c.ctl.expectln("GOT");
	send_exact(s, bytes(100, 6), "send 100 bytes");
	must(s.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	c.ctl.expectln("DONE");
}

void waitall_server(context& c)
{
	auto s = accept_one(c);
	std::vector<std::byte> buf(4000);
	// The clock starts before the peer can start sending: a vCPU may sit
	// descheduled for tens of ms right after the control write.
	auto t0 = clock::now();
	c.ctl.writeln("WAITING");
	auto n = must(s.recv(buf, MSG_WAITALL), "recv MSG_WAITALL");
	check(n == 4000, "recv(4000, MSG_WAITALL) returned ", n, " bytes");
	expect_pattern(buf, 5, "MSG_WAITALL data");
	check(ms_since(t0) >= 140, "MSG_WAITALL returned after ", ms_since(t0),
	      " ms, before the last piece can have been sent");
	c.ctl.writeln("GOT");
	std::vector<std::byte> b2(200);
	auto n2 = must(s.recv(b2, MSG_WAITALL), "recv MSG_WAITALL at end of stream");
	check(n2 == 100, "recv(200, MSG_WAITALL) with 100 bytes then end of stream returned ", n2);
	expect_eof(s);
	c.ctl.writeln("DONE");
}

// ---- SO_RCVLOWAT ---------------------------------------------------------------------------
//
// SO_RCVLOWAT 128 reads back as 128; with 64 bytes queued poll() does not
// report POLLIN (not asserted for unix: unix_poll() ignores SO_RCVLOWAT,
// though its recv() honours it); at 128 it does; a blocking recv() waits
// until 128 bytes are there and returns at least 128.

void rcvlowat_client(context& c)
{
	auto s = connect_one(c);
	c.ctl.expectln("READY");
	send_exact(s, bytes(64, 1), "send 64");
	c.ctl.writeln("SENT64");
	c.ctl.expectln("MORE");
	send_exact(s, bytes(64, 2), "send 64 more");
	c.ctl.expectln("RECV");
	send_exact(s, bytes(64, 3), "send 64");
	std::this_thread::sleep_for(200ms);	// the point: the reader must wait for the rest
	send_exact(s, bytes(64, 4), "send the other 64");
	c.ctl.expectln("DONE");
}

void rcvlowat_server(context& c)
{
	auto s = accept_one(c);
	must(s.set_recv_lowat(128), "SO_RCVLOWAT 128");
	auto v = must(s.recv_lowat(), "getsockopt SO_RCVLOWAT");
	check(v == 128, "SO_RCVLOWAT reads back ", v);
	c.ctl.writeln("READY");
	c.ctl.expectln("SENT64");
	auto ev = must(s.poll(POLLIN, 300ms), "poll");
	if (!c.is(transport::unix_domain))
		check(!(ev & POLLIN), "POLLIN with 64 bytes queued and SO_RCVLOWAT 128");
	c.ctl.writeln("MORE");
	ev = must(s.poll(POLLIN, 5s), "poll");
	check(ev & POLLIN, "no POLLIN within 5 s with 128 bytes sent and SO_RCVLOWAT 128");
	std::vector<std::byte> buf(1024);
	auto n = must(s.recv(buf), "recv");
	check(n >= 128, "recv returned ", n, " bytes, below SO_RCVLOWAT 128");

	auto t0 = clock::now();	// before the peer can send (see MSG_WAITALL)
	c.ctl.writeln("RECV");
	n = must(s.recv(buf), "blocking recv");
	check(n >= 128, "blocking recv returned ", n, " bytes, below SO_RCVLOWAT 128");
	check(ms_since(t0) >= 150, "blocking recv returned after ", ms_since(t0),
	      " ms, before the second half was sent");
	c.ctl.writeln("DONE");
}

// ---- SO_RCVTIMEO ----------------------------------------------------------------------------
//
// 500 ms reads back as 500 ms; recv() with nothing coming fails with EAGAIN
// after at least 500 ms and well before 5 s.

// The upper bound catches a timeout misread tenfold, not a slow machine: a
// loaded nest can stall a vCPU for a second.
constexpr double timeo_limit_ms = 5000;

void rcvtimeo_client(context& c)
{
	auto s = connect_one(c);
	c.ctl.expectln("DONE");
}

void rcvtimeo_server(context& c)
{
	auto s = accept_one(c);
	must(s.set_recv_timeout(500ms), "SO_RCVTIMEO 500 ms");
	auto t = must(s.recv_timeout(), "getsockopt SO_RCVTIMEO");
	check(t >= 490ms && t <= 510ms, "SO_RCVTIMEO reads back ", t.count(), " us");
	std::byte b[8];
	auto t0 = clock::now();
	auto r = s.recv(b);
	double took = ms_since(t0);
	expect_errno(r, {EAGAIN}, "recv with SO_RCVTIMEO and nothing sent");
	check(took >= 490 && took < timeo_limit_ms, "recv timed out after ", took, " ms with SO_RCVTIMEO 500 ms");
	c.note(str("timed out after ", static_cast<int>(took), " ms"));
	c.ctl.writeln("DONE");
}

// ---- SO_SNDTIMEO ----------------------------------------------------------------------------
//
// The peer does not read: send() eventually blocks, and with SO_SNDTIMEO
// 500 ms fails with EAGAIN after at least 500 ms and before 5 s.

void sndtimeo_client(context& c)
{
	auto s = connect_one(c);
	must(s.set_send_timeout(500ms), "SO_SNDTIMEO 500 ms");
	auto t = must(s.send_timeout(), "getsockopt SO_SNDTIMEO");
	check(t >= 490ms && t <= 510ms, "SO_SNDTIMEO reads back ", t.count(), " us");
	auto chunk = bytes(65536, 3);
	std::uint64_t sent = 0;
	for (;;) {
		check(sent < (64u << 20), "sent 64 MiB to a peer that does not read without blocking");
		auto t0 = clock::now();
		auto r = s.send(chunk);
		double took = ms_since(t0);
		if (r) {
			sent += *r;
			continue;
		}
		expect_code(r.error(), {EAGAIN}, "send to a full peer with SO_SNDTIMEO");
		check(took >= 490 && took < timeo_limit_ms, "send timed out after ", took, " ms with SO_SNDTIMEO 500 ms");
		c.note(str("blocked after ", sent, " bytes, timed out after ", static_cast<int>(took), " ms"));
		break;
	}
	c.ctl.writeln("DONE");
}

void sndtimeo_server(context& c)
{
	auto s = accept_one(c);
	c.ctl.expectln("DONE");
}

// ---- SO_SNDBUF / SO_RCVBUF -------------------------------------------------------------------
//
// Set then get: the value read back is at least the value set and at most
// twice it (Linux doubles it for bookkeeping; not doubling is fine), and a
// larger setting reads back larger.  Data still flows afterwards.

void bufsize_checks(vs::stream_socket& s)
{
	for (int so : {SO_SNDBUF, SO_RCVBUF}) {
		const char* name = so == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF";
		int prev = 0;
		for (int v : {32768, 65536}) {
			must(s.set_option(SOL_SOCKET, so, v), str(name, " ", v));
			int got = must(s.get_option(SOL_SOCKET, so), str("getsockopt ", name));
			check(got >= v && got <= 2 * v, name, " set to ", v, " reads back ", got);
			check(got > prev, name, " set larger reads back ", got, ", not more than before (", prev, ")");
			prev = got;
		}
	}
}

void bufsize_client(context& c)
{
	auto s = connect_one(c);
	bufsize_checks(s);
	send_exact(s, bytes(256 << 10, 11), "send 256 KiB");
	std::vector<std::byte> in(256 << 10);
	recv_exact(s, in, "recv 256 KiB");
	expect_pattern(in, 12, "data after resizing buffers");
}

void bufsize_server(context& c)
{
	auto s = accept_one(c);
	bufsize_checks(s);
	std::vector<std::byte> in(256 << 10);
	recv_exact(s, in, "recv 256 KiB");
	expect_pattern(in, 11, "data after resizing buffers");
	send_exact(s, bytes(256 << 10, 12), "send 256 KiB");
	expect_eof(s, 10s);
}

// ---- AF_VSOCK's own options: SO_VM_SOCKETS_* ------------------------------------------------
//
// virt and vsock, the same calls at the family's own level (AF_VSOCK, or
// AF_VIRT's number from discovery), as a vsock program makes them:
//  - BUFFER_SIZE/MIN_SIZE/MAX_SIZE (u64): the size within [min, max], new
//    bounds clamp it again, short lengths EINVAL.  virt: defaults 1 MiB in
//    4 KiB..8 MiB, bounds clamped into those, SO_RCVBUF reads back the size
//    and, once set itself, is what the size reads within the bounds.
//  - CONNECT_TIMEOUT_NEW/OLD: round trip (to a jiffy) in both layouts, 0
//    the default (virt 10 s), ERANGE for tv_sec -1 or huge, tv_usec 10^6
//    (virt also -1), the old value kept; short lengths EINVAL.
//  - PEER_HOST_VM_ID, TRUSTED, NONBLOCK_TXRX: ENOPROTOOPT.
//  - an accepted socket inherits its listener's size and timeout.
//  - the window follows the reader's BUFFER_SIZE set after accept, without
//    the reader reading: 64 KiB stops a non-blocking sender (EAGAIN, no
//    POLLOUT for 200 ms) within 64 KiB (the default window is 1 MiB on virt,
//    256 KiB on vsock; the credit is exact on both); 192 KiB wakes it and
//    lets it go on to within 192 KiB.  Then all of it is read and checked.
// unix and tcp have no such options: the library's operation_not_supported
// is asserted (as for no-delay), nothing else runs, and the note says so.

constexpr std::uint64_t vm_small = 64u << 10, vm_big = 192u << 10, vm_listener = 96u << 10;
constexpr std::uint64_t vm_seed = 4242;

bool has_vm_options(context& c)
{
	return c.is(transport::virt) || c.is(transport::vsock);
}

const char* vm_name(int name)
{
	switch (name) {
	case SO_VM_SOCKETS_BUFFER_SIZE:
		return "SO_VM_SOCKETS_BUFFER_SIZE";
	case SO_VM_SOCKETS_BUFFER_MIN_SIZE:
		return "SO_VM_SOCKETS_BUFFER_MIN_SIZE";
	case SO_VM_SOCKETS_BUFFER_MAX_SIZE:
		return "SO_VM_SOCKETS_BUFFER_MAX_SIZE";
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD:
		return "SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD";
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW:
		return "SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW";
	}
	return "SO_VM_SOCKETS_?";
}

// Raw calls at the family's level on one descriptor.
struct vm_options {
	int fd;
	int level;

	std::uint64_t get(int name) const
	{
		std::uint64_t v = 0;
		socklen_t len = sizeof(v);
		check(::getsockopt(fd, level, name, &v, &len) == 0, "getsockopt ", vm_name(name), ": ",
		      errno_name(errno));
		check(len == sizeof(v), "getsockopt ", vm_name(name), " returned length ", len);
		return v;
	}
	void set(int name, std::uint64_t v) const
	{
		check(::setsockopt(fd, level, name, &v, sizeof(v)) == 0, "setsockopt ", vm_name(name), " ", v,
		      ": ", errno_name(errno));
	}
	// Set `name` to `v`; BUFFER_SIZE must then read `want`.
	void set_expect(int name, std::uint64_t v, std::uint64_t want) const
	{
		set(name, v);
		auto got = get(SO_VM_SOCKETS_BUFFER_SIZE);
		check(got == want, vm_name(name), " ", v, ": SO_VM_SOCKETS_BUFFER_SIZE reads ", got, ", expected ",
		      want);
	}

	// setsockopt and getsockopt of `name` with a T shorter than its value:
	// both EINVAL.
	template <class T>
	void expect_short_rejected(int name) const
	{
		T small{};
		int rc = ::setsockopt(fd, level, name, &small, sizeof(small));
		expect_raw_errno(rc, errno, {EINVAL}, str("setsockopt ", vm_name(name), " with ", sizeof(T), " bytes"));
		socklen_t len = sizeof(small);
		rc = ::getsockopt(fd, level, name, &small, &len);
		expect_raw_errno(rc, errno, {EINVAL}, str("getsockopt ", vm_name(name), " into ", sizeof(T), " bytes"));
	}

	template <class T>
	int set_tv(int name, long long sec, long long usec) const
	{
		T tv{};
		tv.tv_sec = static_cast<decltype(tv.tv_sec)>(sec);
		tv.tv_usec = static_cast<decltype(tv.tv_usec)>(usec);
		return ::setsockopt(fd, level, name, &tv, sizeof(tv)) == 0 ? 0 : errno;
	}
	template <class T>
	std::chrono::microseconds get_tv(int name) const
	{
		T tv{};
		socklen_t len = sizeof(tv);
		check(::getsockopt(fd, level, name, &tv, &len) == 0, "getsockopt ", vm_name(name), ": ",
		      errno_name(errno));
		check(len == sizeof(tv), "getsockopt ", vm_name(name), " returned length ", len);
		return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
	}
	std::chrono::microseconds timeout() const
	{
		auto t = get_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW);
		auto old = get_tv<__kernel_old_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD);
		check(t == old, "CONNECT_TIMEOUT_NEW reads ", t.count(), " us, _OLD ", old.count(), " us");
		return t;
	}
};

vm_options vm_options_of(context& c, const vs::socket& s)
{
	return {s.handle(), family_of(c.kind())};
}

// A timeout set must read back as set, or up to a jiffy (10 ms at HZ 100) longer.
void expect_timeout(const vm_options& o, std::chrono::microseconds want, const char* how)
{
	auto got = o.timeout();
	check(got >= want && got <= want + 10ms, how, ": CONNECT_TIMEOUT reads ", got.count(), " us, expected ",
	      want.count(), " us");
}

void vm_buffer_checks(context& c, const vm_options& o)
{
	const std::uint64_t lo = o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE);
	const std::uint64_t hi = o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE);
	const std::uint64_t def = o.get(SO_VM_SOCKETS_BUFFER_SIZE);
	check(lo <= def && def <= hi, "default BUFFER_SIZE ", def, " outside [", lo, ", ", hi, "]");
	if (c.is(transport::virt))
		check(lo == 4096 && hi == (8u << 20) && def == (1u << 20), "defaults: BUFFER_SIZE ", def, " in [",
		      lo, ", ", hi, "], expected 1 MiB in [4 KiB, 8 MiB]");
	c.note(str("defaults: size ", def, " in [", lo, ", ", hi, "]"));

	// Into [min, max].
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, vm_small, vm_small);
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, hi + 1, hi);
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, 1ull << 40, hi);
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, 1, lo);
	// Within bounds of our own.
	o.set(SO_VM_SOCKETS_BUFFER_MAX_SIZE, 128u << 10);
	check(o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE) == (128u << 10), "BUFFER_MAX_SIZE 128 KiB reads ",
	      o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE));
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, 1u << 20, 128u << 10);
	o.set(SO_VM_SOCKETS_BUFFER_MIN_SIZE, 32u << 10);
	check(o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE) == (32u << 10), "BUFFER_MIN_SIZE 32 KiB reads ",
	      o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE));
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, 8u << 10, 32u << 10);
	// New bounds clamp the size again.
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, vm_small, vm_small);
	o.set_expect(SO_VM_SOCKETS_BUFFER_MAX_SIZE, 48u << 10, 48u << 10);
	o.set_expect(SO_VM_SOCKETS_BUFFER_MAX_SIZE, hi, 48u << 10);
	o.set_expect(SO_VM_SOCKETS_BUFFER_MIN_SIZE, 56u << 10, 56u << 10);
	o.set_expect(SO_VM_SOCKETS_BUFFER_MIN_SIZE, lo, 56u << 10);
	check(o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE) == lo && o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE) == hi,
	      "bounds not restored");

	// Lengths: u64 or more.
	o.expect_short_rejected<std::uint32_t>(SO_VM_SOCKETS_BUFFER_SIZE);
	// Into more: AF_VIRT (and vsock in 6.1) returns the 8 bytes of the value.
	std::uint64_t big[2] = {0, 0};
	socklen_t len = sizeof(big);
	int rc = ::getsockopt(o.fd, o.level, SO_VM_SOCKETS_BUFFER_SIZE, big, &len);
	check(rc == 0 && (len == 8 || (len == 16 && c.is(transport::vsock))) && big[0] == 56u << 10,
	      "getsockopt BUFFER_SIZE into 16 bytes: ", rc ? errno_name(errno) : "length " + std::to_string(len),
	      ", value ", big[0]);

	if (!c.is(transport::virt))
		return;
	// Our bounds: a vsock program's min 128 and a max past 8 MiB are clamped.
	o.set(SO_VM_SOCKETS_BUFFER_MIN_SIZE, 128);
	check(o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE) == 4096, "BUFFER_MIN_SIZE 128 reads ",
	      o.get(SO_VM_SOCKETS_BUFFER_MIN_SIZE), ", expected 4096");
	o.set(SO_VM_SOCKETS_BUFFER_MAX_SIZE, 1ull << 40);
	check(o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE) == (8u << 20), "BUFFER_MAX_SIZE 2^40 reads ",
	      o.get(SO_VM_SOCKETS_BUFFER_MAX_SIZE), ", expected 8 MiB");
	// SO_RCVBUF and BUFFER_SIZE are one buffer.
	auto int_opt = [&](int level, int name, const char* what) {
		int v = 0;
		socklen_t n = sizeof(v);
		check(::getsockopt(o.fd, level, name, &v, &n) == 0, "getsockopt ", what, ": ", errno_name(errno));
		return v;
	};
	auto set_int_opt = [&](int level, int name, int v, const char* what) {
		check(::setsockopt(o.fd, level, name, &v, sizeof(v)) == 0, "setsockopt ", what, " ", v, ": ",
		      errno_name(errno));
	};
	o.set(SO_VM_SOCKETS_BUFFER_SIZE, vm_small);
	int rcvbuf = int_opt(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	check(rcvbuf == static_cast<int>(vm_small), "after BUFFER_SIZE 64 KiB SO_RCVBUF reads ", rcvbuf);
	set_int_opt(SOL_SOCKET, SO_RCVBUF, 40000, "SO_RCVBUF");
	rcvbuf = int_opt(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	auto size = o.get(SO_VM_SOCKETS_BUFFER_SIZE);
	check(size == static_cast<std::uint64_t>(rcvbuf), "after SO_RCVBUF 40000 (reads ", rcvbuf,
	      ") BUFFER_SIZE reads ", size);
	set_int_opt(SOL_SOCKET, SO_RCVBUF, 1, "SO_RCVBUF");	// the kernel's minimum, below ours
	size = o.get(SO_VM_SOCKETS_BUFFER_SIZE);
	check(size == 4096, "after SO_RCVBUF 1 (reads ", int_opt(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"),
	      ") BUFFER_SIZE reads ", size, ", expected 4096");
	o.set(SO_VM_SOCKETS_BUFFER_SIZE, vm_small);
	o.set_expect(SO_VM_SOCKETS_BUFFER_MAX_SIZE, 48u << 10, 48u << 10);
	rcvbuf = int_opt(SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	check(rcvbuf == (48 << 10), "after BUFFER_MAX_SIZE 48 KiB SO_RCVBUF reads ", rcvbuf);
	o.set(SO_VM_SOCKETS_BUFFER_MAX_SIZE, 8u << 20);
	// The option numbers are VIRT_NODELAY's and VIRT_CORK's: another level.
	set_int_opt(VIRT_SOL, VIRT_NODELAY, 0, "VIRT_NODELAY");
	o.set(SO_VM_SOCKETS_BUFFER_MIN_SIZE, 8192);
	int nodelay = int_opt(VIRT_SOL, VIRT_NODELAY, "VIRT_NODELAY");
	check(nodelay == 0, "VIRT_NODELAY reads ", nodelay,
	      " after BUFFER_MIN_SIZE (the same number) at the family level");
}

void vm_timeout_checks(context& c, const vm_options& o)
{
	using std::chrono::microseconds;
	const auto def = o.timeout();
	if (c.is(transport::virt))
		check(def == 10s, "default CONNECT_TIMEOUT ", def.count(), " us, expected 10 s");
	c.note(str("default connect timeout ", def.count() / 1000, " ms"));

	check(o.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, 1, 500000) == 0,
	      "CONNECT_TIMEOUT_NEW 1.5 s: ", errno_name(errno));
	expect_timeout(o, 1500ms, "CONNECT_TIMEOUT_NEW 1.5 s");
	check(o.set_tv<__kernel_old_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, 0, 250000) == 0,
	      "CONNECT_TIMEOUT_OLD 0.25 s: ", errno_name(errno));
	expect_timeout(o, 250ms, "CONNECT_TIMEOUT_OLD 0.25 s");
	check(o.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, 0, 0) == 0,
	      "CONNECT_TIMEOUT_NEW 0: ", errno_name(errno));
	check(o.timeout() == def, "CONNECT_TIMEOUT 0 reads ", o.timeout().count(), " us, not the default");

	// Out of range: ERANGE, and the value stays.
	check(o.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, 3, 0) == 0,
	      "CONNECT_TIMEOUT_NEW 3 s: ", errno_name(errno));
	struct bad {
		long long sec, usec;
	};
	std::vector<bad> bads = {{-1, 0}, {0, 1000000}, {INT64_MAX, 0}};
	if (c.is(transport::virt))
		bads.push_back({0, -1});	// vsock lets it through
	for (auto b : bads) {
		int e = o.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, b.sec, b.usec);
		expect_code(vs::errno_code(e), {ERANGE}, str("CONNECT_TIMEOUT_NEW {", b.sec, ", ", b.usec, "}"));
		e = o.set_tv<__kernel_old_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, b.sec, b.usec);
		expect_code(vs::errno_code(e), {ERANGE}, str("CONNECT_TIMEOUT_OLD {", b.sec, ", ", b.usec, "}"));
	}
	expect_timeout(o, 3s, "after the out-of-range values");

	// Lengths: the whole structure.
	o.expect_short_rejected<std::int64_t>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW);
	expect_timeout(o, 3s, "after the short ones");
	o.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, 0, 0);
}

void vm_other_checks(const vm_options& o)
{
	for (int name : {SO_VM_SOCKETS_PEER_HOST_VM_ID, SO_VM_SOCKETS_TRUSTED, SO_VM_SOCKETS_NONBLOCK_TXRX}) {
		std::uint64_t v = 0;
		socklen_t len = sizeof(v);
		int rc = ::getsockopt(o.fd, o.level, name, &v, &len);
		expect_raw_errno(rc, errno, {ENOPROTOOPT}, str("getsockopt SO_VM_SOCKETS option ", name));
		int one = 1;
		rc = ::setsockopt(o.fd, o.level, name, &one, sizeof(one));
		expect_raw_errno(rc, errno, {ENOPROTOOPT}, str("setsockopt SO_VM_SOCKETS option ", name));
	}
}

// unix, tcp: the library says the options are not there.
void vm_options_absent(context& c)
{
	auto s = must(vs::socket::create(c.kind()), "socket");
	auto r1 = s.set_vm_buffer_size(vm_small);
	auto r2 = s.vm_buffer_size();
	auto r3 = s.set_vm_connect_timeout(1s);
	auto r4 = s.vm_connect_timeout();
	check(!r1 && r1.error() == std::errc::operation_not_supported && !r2 &&
		      r2.error() == std::errc::operation_not_supported && !r3 &&
		      r3.error() == std::errc::operation_not_supported && !r4 &&
		      r4.error() == std::errc::operation_not_supported,
	      "SO_VM_SOCKETS_* on ", vs::to_string(c.kind()), ": want operation_not_supported");
	c.note(str(vs::to_string(c.kind()), ": no SO_VM_SOCKETS_* options, only that is asserted"));
}

// Options on a fresh socket of this side; the library's wrappers agree.
void vm_unconnected_checks(context& c)
{
	auto s = must(vs::socket::create(c.kind()), "socket");
	auto o = vm_options_of(c, s);
	vm_buffer_checks(c, o);
	vm_timeout_checks(c, o);
	vm_other_checks(o);
	must(s.set_vm_buffer_size(vm_big), "set_vm_buffer_size");
	check(must(s.vm_buffer_size(), "vm_buffer_size") == vm_big, "vm_buffer_size after 192 KiB");
	must(s.set_vm_connect_timeout(2500ms), "set_vm_connect_timeout");
	auto t = must(s.vm_connect_timeout(), "vm_connect_timeout");
	check(t >= 2500ms && t <= 2510ms, "vm_connect_timeout reads ", t.count(), " us after 2.5 s");
}

void vm_options_client(context& c)
{
	if (!has_vm_options(c))
		return vm_options_absent(c);
	vm_unconnected_checks(c);
	auto s = connect_one(c);
	c.ctl.expectln("SMALL");
	// The reader learns of our data only now; its credit came first.
	send_byte(s, 1);
	c.ctl.expectln("READ");
	must(s.set_nonblocking(true), "O_NONBLOCK");
	auto first = fill_until_full(s, vm_seed);
	check(first <= vm_small && first >= vm_small / 2, first,
	      " bytes sent before EAGAIN to a reader whose BUFFER_SIZE is 64 KiB (expected 32-64 KiB)");
	c.ctl.writeulong(first);
	c.ctl.expectln("BIG");
	auto ev = must(s.poll(POLLOUT, 5s), "poll");
	check(ev & POLLOUT, "no POLLOUT within 5 s of the reader growing BUFFER_SIZE to 192 KiB");
	auto total = first + fill_until_full(s, vm_seed, first);
	check(total > vm_small && total <= vm_big, total,
	      " bytes sent before EAGAIN to a reader whose BUFFER_SIZE grew to 192 KiB (expected 64-192 KiB)");
	c.ctl.writeulong(total);
	c.note(str("sender stopped at ", first, " bytes, then ", total));
	must(s.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	c.ctl.expectln("DONE");
}

void vm_options_server(context& c)
{
	if (!has_vm_options(c))
		return vm_options_absent(c);
	vm_unconnected_checks(c);
	auto l = listen_at(c);
	auto lo = vm_options_of(c, l);
	lo.set(SO_VM_SOCKETS_BUFFER_SIZE, vm_listener);
	check(lo.set_tv<__kernel_sock_timeval>(SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, 3, 0) == 0,
	      "CONNECT_TIMEOUT_NEW 3 s on the listener: ", errno_name(errno));
	c.ctl.writeln("LISTENING");
	auto s = accept_within(l, 10s, "accept");
	auto o = vm_options_of(c, s);
	auto inherited = o.get(SO_VM_SOCKETS_BUFFER_SIZE);
	check(inherited == vm_listener, "accepted socket's BUFFER_SIZE ", inherited, ", its listener's 96 KiB");
	expect_timeout(o, 3s, "accepted socket of a listener with 3 s");

	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, vm_small, vm_small);
	if (c.is(transport::virt)) {
		int rcvbuf = must(s.recv_buffer_size(), "SO_RCVBUF");
		check(rcvbuf == static_cast<int>(vm_small), "SO_RCVBUF reads ", rcvbuf,
		      " after BUFFER_SIZE 64 KiB on the accepted socket");
	}
	c.ctl.writeln("SMALL");
	check(recv_byte(s) == 1, "wrong first byte");
	c.ctl.writeln("READ");
	auto first = c.ctl.readulong();
	o.set_expect(SO_VM_SOCKETS_BUFFER_SIZE, vm_big, vm_big);
	c.ctl.writeln("BIG");
	auto total = c.ctl.readulong();
	check(total >= first, "the sender's total ", total, " is below its first ", first);
	std::vector<std::byte> in(total);
	recv_exact(s, in, str("recv the ", total, " bytes sent"));
	auto bad = pattern_mismatch(vm_seed, 0, in);
	check(bad < 0, "byte ", bad, " of ", total, " differs from what was sent");
	expect_eof(s, 10s);
	c.ctl.writeln("DONE");
}

// ---- SIOCINQ / SIOCOUTQ --------------------------------------------------------------
//
// SIOCINQ counts the unread bytes exactly; SIOCOUTQ counts what the peer
// has not read (AF_VIRT; TCP: not acknowledged, unix: its skbs' memory) and
// falls to 0 once the reader has read it all.
// vsock before Linux 6.10 has neither (ENOTTY): not asserted there.

constexpr int queue_bytes = 8192;

// The ioctls: SIOCINQ (available()) and SIOCOUTQ (send_queue_bytes()).
enum class queue { in, out };

const char* queue_name(queue q)
{
	return q == queue::in ? "SIOCINQ" : "SIOCOUTQ";
}

// The ioctl's count, or -1 when the socket has no such ioctl (vsock).
int queued(context& c, vs::stream_socket& s, queue q)
{
	auto n = q == queue::in ? s.available() : s.send_queue_bytes();
	if (n)
		return static_cast<int>(*n);
	if (n.error() != std::errc::inappropriate_io_control_operation || !c.is(transport::vsock))
		fail(str(queue_name(q), ": ", describe(n.error())));
	return -1;
}

// Waits (10 s at most) until the ioctl reads `want`; returns the last count.
int queued_becomes(context& c, vs::stream_socket& s, queue q, int want)
{
	auto t0 = clock::now();
	int n;
	while ((n = queued(c, s, q)) != want && n != -1 && clock::now() - t0 < 10s)
		std::this_thread::sleep_for(5ms);
	return n;
}

void queued_client(context& c)
{
	auto s = connect_one(c);
	send_exact(s, bytes(queue_bytes, 21), "send 8 KiB");
	// Unread here (the reader waits for SENT); unix counts skb memory.
	int out = queued(c, s, queue::out);
	if (c.is(transport::virt))
		check(out == queue_bytes, "SIOCOUTQ reads ", out, " with ", queue_bytes, " bytes unread");
	if (c.is(transport::tcp))
		check(out <= queue_bytes, "SIOCOUTQ reads ", out, " after sending ", queue_bytes, " bytes");
	c.ctl.writeln("SENT");
	c.ctl.expectln("READ");
	out = queued_becomes(c, s, queue::out, 0);
	check(out <= 0, "SIOCOUTQ still reads ", out, " 10 s after the peer read everything");
	c.ctl.writeln("DONE");
}

void queued_server(context& c)
{
	auto s = accept_one(c);
	c.ctl.expectln("SENT");
	int in = queued_becomes(c, s, queue::in, queue_bytes);
	check(in == queue_bytes || in == -1, "SIOCINQ reads ", in, " with ", queue_bytes, " bytes sent");
	std::vector<std::byte> half(queue_bytes / 2);
	recv_exact(s, half, "recv 4 KiB");
	in = queued(c, s, queue::in);
	check(in == queue_bytes / 2 || in == -1, "SIOCINQ reads ", in, " with 4 KiB left unread");
	recv_exact(s, half, "recv 4 KiB");
	in = queued(c, s, queue::in);
	check(in <= 0, "SIOCINQ reads ", in, " with everything read");
	c.ctl.writeln("READ");
	c.ctl.expectln("DONE");
}

} // namespace

void add_io_cases(std::vector<test_case>& r)
{
	r.push_back({"SOCK_STREAM send/recv both directions", sendrecv_client, sendrecv_server});
	r.push_back({"SOCK_STREAM MSG_PEEK", peek_client, peek_server});
	r.push_back({"SOCK_STREAM MSG_DONTWAIT", dontwait_client, dontwait_server});
	r.push_back({"SOCK_STREAM MSG_WAITALL", waitall_client, waitall_server});
	r.push_back({"SOCK_STREAM SO_RCVLOWAT", rcvlowat_client, rcvlowat_server});
	r.push_back({"SOCK_STREAM SO_RCVTIMEO", rcvtimeo_client, rcvtimeo_server});
	r.push_back({"SOCK_STREAM SO_SNDTIMEO", sndtimeo_client, sndtimeo_server});
	r.push_back({"SOCK_STREAM SO_SNDBUF/SO_RCVBUF", bufsize_client, bufsize_server});
	r.push_back({"SOCK_STREAM SIOCINQ/SIOCOUTQ", queued_client, queued_server});
}

// Last, so that the numbers of the cases before it stay.
void add_vm_options_case(std::vector<test_case>& r)
{
	r.push_back({"SOCK_STREAM SO_VM_SOCKETS_* options at the family level", vm_options_client,
		     vm_options_server});
}

} // namespace vt
