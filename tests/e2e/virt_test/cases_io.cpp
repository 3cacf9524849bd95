// Data transfer and per-call / per-socket I/O options: sizes both ways,
// MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO,
// SO_SNDBUF/SO_RCVBUF, SIOCINQ/SIOCOUTQ.
#include "harness.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
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
	auto t0 = clock::now();
	expect_errno(s.recv(b, MSG_DONTWAIT), {EAGAIN}, "recv MSG_DONTWAIT with nothing queued");
	check(ms_since(t0) < 100, "recv MSG_DONTWAIT took ", ms_since(t0), " ms");
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
	c.ctl.writeln("WAITING");
	auto t0 = clock::now();
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

	c.ctl.writeln("RECV");
	auto t0 = clock::now();
	n = must(s.recv(buf), "blocking recv");
	check(n >= 128, "blocking recv returned ", n, " bytes, below SO_RCVLOWAT 128");
	check(ms_since(t0) >= 150, "blocking recv returned after ", ms_since(t0),
	      " ms, before the second half was sent");
	c.ctl.writeln("DONE");
}

// ---- SO_RCVTIMEO ----------------------------------------------------------------------------
//
// 500 ms reads back as 500 ms; recv() with nothing coming fails with EAGAIN
// after at least 500 ms and well before 1.5 s.

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
	check(took >= 490 && took < 1500, "recv timed out after ", took, " ms with SO_RCVTIMEO 500 ms");
	c.note(str("timed out after ", static_cast<int>(took), " ms"));
	c.ctl.writeln("DONE");
}

// ---- SO_SNDTIMEO ----------------------------------------------------------------------------
//
// The peer does not read: send() eventually blocks, and with SO_SNDTIMEO
// 500 ms fails with EAGAIN after at least 500 ms and before 1.5 s.

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
		check(took >= 490 && took < 1500, "send timed out after ", took, " ms with SO_SNDTIMEO 500 ms");
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

// ---- SIOCINQ / SIOCOUTQ --------------------------------------------------------------
//
// SIOCINQ counts the unread bytes exactly; SIOCOUTQ counts what the peer
// has not read (AF_VIRT; TCP: not acknowledged, unix: its skbs' memory) and
// falls to 0 once the reader has read it all.
// vsock before Linux 6.10 has neither (ENOTTY): not asserted there.

constexpr int queue_bytes = 8192;

// The ioctl's count, or -1 when the socket has no such ioctl (vsock).
int queued(context& c, vs::stream_socket& s, unsigned long req, const char* name)
{
	int n = 0;
	if (::ioctl(s.handle(), req, &n) == 0)
		return n;
	check(errno == ENOTTY && c.is(transport::vsock), name, ": ", std::strerror(errno));
	return -1;
}

// Waits (10 s at most) until the ioctl reads `want`; returns the last count.
int queued_becomes(context& c, vs::stream_socket& s, unsigned long req, const char* name, int want)
{
	auto t0 = clock::now();
	int n;
	while ((n = queued(c, s, req, name)) != want && n != -1 && clock::now() - t0 < 10s)
		std::this_thread::sleep_for(5ms);
	return n;
}

void queued_client(context& c)
{
	auto s = connect_one(c);
	send_exact(s, bytes(queue_bytes, 21), "send 8 KiB");
	// Unread here (the reader waits for SENT); unix counts skb memory.
	int out = queued(c, s, SIOCOUTQ, "SIOCOUTQ");
	if (c.is(transport::virt))
		check(out == queue_bytes, "SIOCOUTQ reads ", out, " with ", queue_bytes, " bytes unread");
	if (c.is(transport::tcp))
		check(out <= queue_bytes, "SIOCOUTQ reads ", out, " after sending ", queue_bytes, " bytes");
	c.ctl.writeln("SENT");
	c.ctl.expectln("READ");
	out = queued_becomes(c, s, SIOCOUTQ, "SIOCOUTQ", 0);
	check(out <= 0, "SIOCOUTQ still reads ", out, " 10 s after the peer read everything");
	c.ctl.writeln("DONE");
}

void queued_server(context& c)
{
	auto s = accept_one(c);
	c.ctl.expectln("SENT");
	int in = queued_becomes(c, s, SIOCINQ, "SIOCINQ", queue_bytes);
	check(in == queue_bytes || in == -1, "SIOCINQ reads ", in, " with ", queue_bytes, " bytes sent");
	std::vector<std::byte> half(queue_bytes / 2);
	recv_exact(s, half, "recv 4 KiB");
	in = queued(c, s, SIOCINQ, "SIOCINQ");
	check(in == queue_bytes / 2 || in == -1, "SIOCINQ reads ", in, " with 4 KiB left unread");
	recv_exact(s, half, "recv 4 KiB");
	in = queued(c, s, SIOCINQ, "SIOCINQ");
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

} // namespace vt
