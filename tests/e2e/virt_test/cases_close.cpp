// Ending connections: shutdown, close with data in flight, resets, EPIPE and
// SIGPIPE.
#include "harness.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace vt {
namespace {

using vs::transport;

// Waits (epoll) until the peer's close or shutdown is visible.
void wait_remote_close(vs::stream_socket& s, std::chrono::milliseconds t = 5s)
{
	epoll_fd ep;
	ep.add(s.handle(), EPOLLRDHUP | EPOLLHUP);
	auto ev = ep.wait(t);
	check(ev != 0, "the peer's close/shutdown not seen (EPOLLRDHUP/EPOLLHUP) within ", t.count(), " ms");
}

// Sends 1 byte with MSG_NOSIGNAL until it fails (the peer's shutdown may
// take a moment to arrive); returns the error.
std::error_code send_until_error(vs::stream_socket& s, std::chrono::milliseconds t, const char* what)
{
	auto t0 = clock::now();
	std::byte b{1};
	for (;;) {
		auto r = s.send(std::span(&b, 1));
		if (!r)
			return r.error();
		check(clock::now() - t0 < t, what, ": send still succeeds after ", t.count(), " ms");
		std::this_thread::sleep_for(10ms);
	}
}

// ---- 8. shutdown ---------------------------------------------------------------------
//
// SHUT_WR: the peer reads the data then EOF (0) and can still send back; our
// own send after SHUT_WR: EPIPE.  SHUT_RD: our recv() returns 0 at once; we
// can still send; the peer's send fails with EPIPE (AF_VSOCK and AF_UNIX tell
// the peer; TCP does not, so not asserted for tcp).  shutdown() on an
// unconnected socket: ENOTCONN (AF_UNIX returns 0, asserted as such);
// shutdown with an invalid `how`: EINVAL.

void shutdown_client(context& c)
{
	auto s = connect_one(c);
	send_exact(s, bytes(10), "send 10 bytes");
	must(s.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	std::byte b{1};
	expect_errno(s.send(std::span(&b, 1)), {EPIPE}, "send after own shutdown(SHUT_WR)");
	std::vector<std::byte> back(100);
	recv_exact(s, back, "recv after own SHUT_WR");
	check(back == bytes(100, 2), "data sent back after SHUT_WR differs");
	expect_eof(s);

	auto s2 = connect_one(c);
	c.ctl.expectln("SHUT_RD");
	if (c.is(transport::tcp)) {
		c.note("tcp: peer's SHUT_RD not visible, EPIPE not asserted");
	} else {
		auto e = send_until_error(s2, 2s, "after the peer's shutdown(SHUT_RD)");
		expect_code(e, {EPIPE}, "send after the peer's shutdown(SHUT_RD)");
	}
	std::vector<std::byte> in(10);
	recv_exact(s2, in, "recv from a peer that shut down reading");
	check(in == bytes(10, 3), "data from a peer that shut down reading differs");

	vs::stream_socket u(must(vs::socket::create(c.kind()), "socket"));
	auto r = u.shutdown(SHUT_RDWR);
	if (c.is(transport::unix_domain)) {
		if (!r)
			fail(str("unix: shutdown on an unconnected socket: ", describe(r.error()), " (Linux returns 0)"));
	} else {
		expect_errno(r, {ENOTCONN}, "shutdown on an unconnected socket");
	}
	expect_errno(s2.shutdown(42), {EINVAL}, "shutdown(fd, 42)");
	c.ctl.writeln("DONE");
}

void shutdown_server(context& c)
{
	auto s = accept_one(c);
	std::vector<std::byte> in(10);
	recv_exact(s, in, "recv 10 bytes");
	check(in == bytes(10), "data before SHUT_WR differs");
	expect_eof(s);
	send_exact(s, bytes(100, 2), "send back after the peer's SHUT_WR");
	s.close().value();

	auto s2 = accept_one(c);
	must(s2.set_recv_timeout(2s), "SO_RCVTIMEO");
	must(s2.shutdown(SHUT_RD), "shutdown(SHUT_RD)");
	c.ctl.writeln("SHUT_RD");
	std::byte b[8];
	// A recv that blocked would fail with EAGAIN after SO_RCVTIMEO.
	auto n = must(s2.recv(b), "recv after own shutdown(SHUT_RD)");
	check(n == 0 || c.is(transport::tcp) || c.is(transport::unix_domain),
	      "recv after own SHUT_RD returned data");
	send_exact(s2, bytes(10, 3), "send after own SHUT_RD");
	c.ctl.expectln("DONE");
}

// ---- 9. close with data queued ------------------------------------------------------------
//
// The client close()s right after its last send: (a) 4 KiB the server only
// starts reading after the close; (b) 1 MiB the server reads as it comes.
// The server gets every byte, in order, then EOF.

void close_queued_client(context& c)
{
	auto a = connect_one(c);
	send_exact(a, bytes(4096, 21), "send 4 KiB");
	a.close().value();
	c.ctl.writeln("CLOSED");

	auto b = connect_one(c);
	send_exact(b, bytes(1u << 20, 22), "send 1 MiB");
	b.close().value();
	c.ctl.expectln("DONE");
}

void read_all_then_eof(vs::stream_socket& s, std::size_t n, std::uint64_t seed)
{
	std::vector<std::byte> in(n);
	recv_exact(s, in, str("recv ", n, " bytes sent before close"));
	auto bad = pattern_mismatch(seed, 0, in);
	check(bad < 0, "byte ", bad, " of the data sent before close differs");
	expect_eof(s, 10s);
}

void close_queued_server(context& c)
{
	auto a = accept_one(c);
	c.ctl.expectln("CLOSED");
	read_all_then_eof(a, 4096, 21);
	auto b = accept_one(c);
	read_all_then_eof(b, 1u << 20, 22);
	c.ctl.writeln("DONE");
}

// ---- 10. peer reset ------------------------------------------------------------------------------
//
// (a) The peer close()s with data it has not read.  AF_UNIX and TCP reset
//     the connection: our recv() fails with ECONNRESET (once), then send()
//     fails with EPIPE.  virt does the same (the design promises ECONNRESET
//     when the peer socket is reset).  virtio-vsock instead closes
//     gracefully: recv() returns 0, send() EPIPE; asserted so for vsock.
// (b) The peer sets SO_LINGER {1, 0} and close()s (nothing unread): an
//     abortive close.  TCP and virt: ECONNRESET then EPIPE.  AF_UNIX and
//     vsock have no abortive close: EOF then EPIPE.
// (c) The peer sends a byte and close()s (vsock_test's "client close"): we
//     see the hang-up, send() fails with EPIPE, and the byte is still
//     readable, then EOF.  TCP: the first sends after a FIN succeed, so for
//     tcp only "sends soon fail with EPIPE or ECONNRESET", after the reads.

bool resets_on_unread_close(context& c) { return !c.is(transport::vsock); }
bool resets_on_linger0(context& c) { return c.is(transport::tcp) || c.is(transport::virt); }

void expect_reset_or_eof(context& c, vs::stream_socket& s, bool reset, const char* what)
{
	wait_remote_close(s);
	std::byte b[16];
	auto t0 = clock::now();
	auto r = s.recv(b, MSG_DONTWAIT);
	// The reset may follow the hang-up by a moment.
	while (reset && r && *r == 0 && clock::now() - t0 < 2s) {
		std::this_thread::sleep_for(10ms);
		r = s.recv(b, MSG_DONTWAIT);
	}
	if (reset) {
		expect_errno(r, {ECONNRESET}, str("recv after ", what));
	} else {
		check(r.has_value(), "recv after ", what, ": ", r ? "" : describe(r.error()), ", want end of stream");
		check(*r == 0, "recv after ", what, " returned data");
	}
	expect_errno(s.send(std::span(b, 1)), {EPIPE}, str("send after ", what));
	(void)c;
}

void reset_client(context& c)
{
	auto a = connect_one(c);
	auto ev = must(a.poll(POLLIN, 5s), "poll");
	check(ev & POLLIN, "the server's data did not arrive");
	a.close().value();	// with 100 unread bytes
	c.ctl.writeln("CLOSED");

	auto b = connect_one(c);
	must(b.set_option<linger>(SOL_SOCKET, SO_LINGER, {1, 0}), "SO_LINGER {1, 0}");
	b.close().value();
	c.ctl.writeln("CLOSED");

	auto d = connect_one(c);
	send_byte(d, 1);
	d.close().value();
	c.ctl.writeln("CLOSED");
	c.ctl.expectln("DONE");
}

void reset_server(context& c)
{
	auto a = accept_one(c);
	send_exact(a, bytes(100), "send 100 bytes");
	c.ctl.expectln("CLOSED");
	expect_reset_or_eof(c, a, resets_on_unread_close(c), "the peer closed with unread data");

	auto b = accept_one(c);
	c.ctl.expectln("CLOSED");
	expect_reset_or_eof(c, b, resets_on_linger0(c), "the peer closed with SO_LINGER 0");

	auto d = accept_one(c);
	c.ctl.expectln("CLOSED");
	wait_remote_close(d);
	if (!c.is(transport::tcp)) {
		std::byte x{0};
		expect_errno(d.send(std::span(&x, 1)), {EPIPE}, "send after the peer closed");
	}
	check(recv_byte(d) == 1, "the byte sent before close is wrong");
	expect_eof(d);
	if (c.is(transport::tcp)) {
		auto e = send_until_error(d, 2s, "tcp after the peer closed");
		expect_code(e, {EPIPE, ECONNRESET}, "send after the peer closed");
	}
	c.ctl.writeln("DONE");
}

// ---- reset while sending ---------------------------------------------------------------------
//
// We are sending (blocked on the window, or with sends still in flight) when
// the peer closes with our data unread.  The first send that fails says why:
// ECONNRESET on tcp and virt, as a send blocked when a RST arrives does on
// TCP; virt sends still on the ring when the reset comes must not turn it
// into EPIPE.  vsock does not reset: EPIPE.  unix: EPIPE, or ECONNRESET
// when the send was waiting for buffer space (the closing peer sets sk_err).
// Each side takes the sender's part in turn, so the guest sends whichever
// side it runs.

constexpr int reset_while_sending_rounds = 8;

errnos reset_while_sending_errnos(context& c)
{
	if (c.is(transport::tcp) || c.is(transport::virt))
		return {ECONNRESET};
	if (c.is(transport::unix_domain))
		return {EPIPE, ECONNRESET};
	return {EPIPE};
}

// Sends 64 KiB chunks until a send fails; the peer has closed by then.
void send_until_reset(context& c, vs::stream_socket& s, int round)
{
	const auto chunk = bytes(64 * 1024, 40 + static_cast<std::uint64_t>(round));
	std::uint64_t sent = 0;

	for (;;) {
		auto r = s.send(chunk);
		if (!r) {
			expect_code(r.error(), reset_while_sending_errnos(c),
				    str("round ", round, ": the first failed send after ", sent,
					" bytes, the peer having closed with data unread"));
			return;
		}
		sent += *r;
	}
}

// Reads 256 KiB, so that the sender is well under way, then closes once more
// has arrived unread (a close with nothing unread is an orderly end).
void close_while_peer_sends(vs::stream_socket& s, int round)
{
	std::vector<std::byte> in(256 * 1024);

	recv_exact(s, in, str("round ", round, ": the sender's first 256 KiB"));
	auto ev = must(s.poll(POLLIN, 5s), "poll");
	check(ev & POLLIN, "round ", round, ": the sender stopped sending");
	s.close().value();
}

void reset_sending_client(context& c)
{
	for (int i = 0; i < reset_while_sending_rounds; i++) {
		auto s = connect_one(c);
		if (i % 2)
			send_until_reset(c, s, i);
		else
			close_while_peer_sends(s, i);
		c.ctl.writeln("NEXT");
		c.ctl.expectln("NEXT");
	}
}

void reset_sending_server(context& c)
{
	for (int i = 0; i < reset_while_sending_rounds; i++) {
		auto s = accept_one(c);
		if (i % 2)
			close_while_peer_sends(s, i);
		else
			send_until_reset(c, s, i);
		c.ctl.expectln("NEXT");
		c.ctl.writeln("NEXT");
	}
}

// ---- 11. EPIPE and SIGPIPE ---------------------------------------------------------------------
//
// send() without MSG_NOSIGNAL that fails with EPIPE also raises SIGPIPE;
// with MSG_NOSIGNAL it does not.  Three ways to EPIPE: (a) our own
// shutdown(SHUT_WR) (client), (b) the peer closed (server), (c) the peer's
// shutdown(SHUT_RD) (server; not tcp, where SHUT_RD is not signalled).
// tcp (b): the first sends after the peer's close succeed; sent with
// MSG_NOSIGNAL until they fail, then checked.  vsock: Linux before 6.4 sends
// no SIGPIPE, so only EPIPE is asserted for vsock.

volatile std::sig_atomic_t sigpipes;

void on_sigpipe(int)
{
	sigpipes = sigpipes + 1;
}

void install_sigpipe_handler()
{
	struct sigaction sa {};
	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	check(::sigaction(SIGPIPE, &sa, nullptr) == 0, "sigaction: ", errno_name(errno));
	sigpipes = 0;
}

void expect_epipe_signal(context& c, int fd, const char* why)
{
	char b = 1;
	int before = sigpipes;
	ssize_t rc = ::send(fd, &b, 1, 0);
	expect_raw_errno(rc, errno, {EPIPE}, str("send without MSG_NOSIGNAL ", why));
	if (!c.is(transport::vsock))
		check(sigpipes == before + 1, "send without MSG_NOSIGNAL ", why, ": ", sigpipes - before,
		      " SIGPIPE signals, want 1");
	before = sigpipes;
	rc = ::send(fd, &b, 1, MSG_NOSIGNAL);
	expect_raw_errno(rc, errno, {EPIPE}, str("send with MSG_NOSIGNAL ", why));
	check(sigpipes == before, "send with MSG_NOSIGNAL ", why, " raised SIGPIPE");
}

void sigpipe_client(context& c)
{
	install_sigpipe_handler();
	auto a = connect_one(c);
	must(a.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	expect_epipe_signal(c, a.handle(), "after own SHUT_WR");
	a.close().value();
	c.ctl.writeln("CLOSED");

	auto b = connect_one(c);
	must(b.shutdown(SHUT_RD), "shutdown(SHUT_RD)");
	c.ctl.writeln("SHUT_RD");
	c.ctl.expectln("DONE");
}

void sigpipe_server(context& c)
{
	install_sigpipe_handler();
	auto a = accept_one(c);
	c.ctl.expectln("CLOSED");
	wait_remote_close(a);
	if (c.is(transport::tcp))
		(void)send_until_error(a, 2s, "tcp after the peer closed");
	expect_epipe_signal(c, a.handle(), "after the peer closed");

	auto b = accept_one(c);
	c.ctl.expectln("SHUT_RD");
	if (c.is(transport::tcp)) {
		c.note("tcp: peer's SHUT_RD not visible, not asserted");
	} else {
		auto e = send_until_error(b, 2s, "after the peer's SHUT_RD");
		expect_code(e, {EPIPE}, "send after the peer's SHUT_RD");
		expect_epipe_signal(c, b.handle(), "after the peer's SHUT_RD");
	}
	c.ctl.writeln("DONE");
}

} // namespace

void add_close_cases(std::vector<test_case>& r)
{
	r.push_back({"SOCK_STREAM shutdown", shutdown_client, shutdown_server});
	r.push_back({"SOCK_STREAM close with data queued", close_queued_client, close_queued_server});
	r.push_back({"SOCK_STREAM peer reset", reset_client, reset_server});
	r.push_back({"SOCK_STREAM EPIPE and SIGPIPE", sigpipe_client, sigpipe_server});
	r.push_back({"SOCK_STREAM reset while sending", reset_sending_client, reset_sending_server});
}

} // namespace vt
