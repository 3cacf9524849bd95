// poll()/epoll readiness: POLLIN wake-ups, POLLOUT, POLLRDHUP/POLLHUP after
// shutdown and close, POLLERR after a reset.
#include "harness.hpp"

#include <sys/epoll.h>

#include <atomic>
#include <thread>

namespace vt {
namespace {

using vs::transport;

std::string events(unsigned ev)
{
	std::string s;
	auto add = [&](unsigned bit, const char* name) {
		if (ev & bit)
			s += (s.empty() ? "" : "|") + std::string(name);
	};
	add(POLLIN, "POLLIN");
	add(POLLOUT, "POLLOUT");
	add(POLLERR, "POLLERR");
	add(POLLHUP, "POLLHUP");
	add(POLLRDHUP, "POLLRDHUP");
	add(POLLPRI, "POLLPRI");
	return s.empty() ? "none" : s;
}

// ---- POLLIN / POLLOUT and an epoll_wait() wake-up -----------------------------------
//
// A connected socket is writable (POLLOUT) and, with nothing queued, not
// readable; an epoll_wait() blocked in another thread wakes up with EPOLLIN
// when the peer sends; so does a blocked poll().

void pollin_client(context& c)
{
	auto s = connect_one(c);
	auto ev = must(s.poll(POLLIN | POLLOUT, 0ms), "poll");
	check(ev == POLLOUT, "fresh connection: revents ", events(static_cast<unsigned>(ev)), ", want POLLOUT");
	for (int round = 0; round < 2; ++round) {
		c.ctl.expectln("WAITING");
		send_byte(s, static_cast<std::uint8_t>(round));
	}
	c.ctl.expectln("DONE");
}

void pollin_server(context& c)
{
	auto s = accept_one(c);
	auto ev = must(s.poll(POLLIN | POLLOUT, 0ms), "poll");
	check(ev == POLLOUT, "fresh connection: revents ", events(static_cast<unsigned>(ev)), ", want POLLOUT");

	for (int round = 0; round < 2; ++round) {
		// Round 0: epoll_wait(); round 1: poll(); both blocked in a thread.
		std::atomic<bool> entered{false};
		unsigned got = 0;
		double waited = 0;
		std::string error;
		std::thread waiter([&] {
			try {
				auto t0 = clock::now();
				if (round == 0) {
					epoll_fd ep;
					ep.add(s.handle(), EPOLLIN);
					entered = true;
					got = ep.wait(10s);
				} else {
					entered = true;
					got = static_cast<unsigned>(must(s.poll(POLLIN, 10s), "poll"));
				}
				waited = ms_since(t0);
			} catch (const std::exception& e) {
				error = e.what();
			}
		});
		while (!entered)
			std::this_thread::sleep_for(1ms);
		std::this_thread::sleep_for(50ms);	// let it block before anything is sent
		c.ctl.writeln("WAITING");
		waiter.join();
		check(error.empty(), error);
		const char* how = round == 0 ? "epoll_wait" : "poll";
		check(got & POLLIN, how, " blocked in a thread did not wake with POLLIN within 10 s (",
		      events(got), ")");
		check(recv_byte(s) == round, "wrong byte");
		c.note(str(how, " woke after ", static_cast<int>(waited), " ms"));
	}
	ev = must(s.poll(POLLIN, 0ms), "poll");
	check(!(ev & POLLIN), "POLLIN after everything was read");
	c.ctl.writeln("DONE");
}

// ---- POLLRDHUP / POLLHUP ------------------------------------------------------------------
//
// Connection A: the peer does shutdown(SHUT_WR): POLLIN|POLLRDHUP (epoll
// wakes with EPOLLRDHUP), still POLLOUT, no POLLHUP; recv() gives 0.  Once
// this side has shut down writing too: POLLHUP.
// Connection B: the peer close()s: POLLIN|POLLRDHUP, and POLLHUP (AF_UNIX
// and AF_VSOCK report the peer's close as hang-up; TCP does not until this
// side shuts down too, so not asserted for tcp); never POLLERR.

void hup_client(context& c)
{
	auto a = connect_one(c);
	c.ctl.expectln("READY");
	must(a.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	check(recv_byte(a) == 42, "wrong byte after half close");
	c.ctl.expectln("NEXT");
	auto b = connect_one(c);
	c.ctl.expectln("READY");
	b.close().value();
	a.close().value();
	c.ctl.expectln("DONE");
}

void hup_server(context& c)
{
	auto a = accept_one(c);
	{
		epoll_fd ep;
		ep.add(a.handle(), EPOLLIN | EPOLLRDHUP);
		c.ctl.writeln("READY");
		auto ev = ep.wait(5s);
		check(ev & EPOLLRDHUP, "epoll: no EPOLLRDHUP within 5 s of the peer's SHUT_WR (", events(ev), ")");
	}
	auto ev = static_cast<unsigned>(must(a.poll(POLLIN | POLLOUT | POLLRDHUP, 0ms), "poll"));
	check((ev & (POLLIN | POLLRDHUP | POLLOUT)) == (POLLIN | POLLRDHUP | POLLOUT) && !(ev & (POLLHUP | POLLERR)),
	      "after the peer's SHUT_WR: ", events(ev), ", want POLLIN|POLLOUT|POLLRDHUP");
	expect_eof(a);
	send_byte(a, 42);
	must(a.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	ev = static_cast<unsigned>(must(a.poll(POLLIN | POLLRDHUP, 2s), "poll"));
	check(ev & POLLHUP, "both directions shut down: ", events(ev), ", want POLLHUP");
	c.ctl.writeln("NEXT");

	auto b = accept_one(c);
	{
		epoll_fd ep;
		ep.add(b.handle(), EPOLLIN | EPOLLRDHUP);
		c.ctl.writeln("READY");
		auto e = ep.wait(5s);
		check(e & EPOLLRDHUP, "epoll: no EPOLLRDHUP within 5 s of the peer's close (", events(e), ")");
	}
	unsigned want = POLLIN | POLLRDHUP | (c.is(transport::tcp) ? 0u : unsigned(POLLHUP));
	auto t0 = clock::now();
	do {	// the hang-up may follow the end of stream
		ev = static_cast<unsigned>(must(b.poll(POLLIN | POLLRDHUP, 100ms), "poll"));
	} while ((ev & want) != want && clock::now() - t0 < 2s);
	check((ev & want) == want && !(ev & POLLERR), "after the peer's close: ", events(ev), ", want ",
	      events(want));
	c.ctl.writeln("DONE");
}

// ---- POLLERR after a reset ------------------------------------------------------------------
//
// The peer closes with data it never read: that resets the connection
// (AF_UNIX and TCP; virt by choice, see the reset case).  This side wakes
// from epoll with EPOLLERR|EPOLLHUP and SO_ERROR is ECONNRESET.  Not asserted
// for vsock: virtio-vsock closes such a connection gracefully (EOF).

void pollerr_client(context& c)
{
	auto s = connect_one(c);
	auto ev = must(s.poll(POLLIN, 5s), "poll");
	check(ev & POLLIN, "the server's data did not arrive");
	s.close().value();	// unread data: a reset
	c.ctl.writeln("CLOSED");
	c.ctl.expectln("DONE");
}

void pollerr_server(context& c)
{
	auto s = accept_one(c);
	send_exact(s, bytes(100), "send 100 bytes");
	c.ctl.expectln("CLOSED");
	epoll_fd ep;
	ep.add(s.handle(), EPOLLIN | EPOLLRDHUP);	// EPOLLERR and EPOLLHUP are always reported
	auto ev = ep.wait(5s);
	if (c.is(transport::vsock)) {
		check(ev & (EPOLLRDHUP | EPOLLHUP), "no hang-up within 5 s (", events(ev), ")");
		c.note("vsock: reset not asserted (graceful close)");
	} else {
		auto t0 = clock::now();
		while (!(ev & EPOLLERR) && clock::now() - t0 < 2s)
			ev = ep.wait(100ms);
		check((ev & (EPOLLERR | EPOLLHUP)) == (EPOLLERR | EPOLLHUP),
		      "after the peer closed with unread data: ", events(ev), ", want POLLERR|POLLHUP");
		auto err = must(s.pending_error(), "SO_ERROR");
		check(err == std::errc::connection_reset, "SO_ERROR after a reset: ", describe(err), ", want ECONNRESET");
	}
	c.ctl.writeln("DONE");
}

} // namespace

void add_poll_cases(std::vector<test_case>& r)
{
	r.push_back({"SOCK_STREAM poll/epoll POLLIN wake-up and POLLOUT", pollin_client, pollin_server});
	r.push_back({"SOCK_STREAM POLLRDHUP/POLLHUP after shutdown and close", hup_client, hup_server});
	r.push_back({"SOCK_STREAM POLLERR after reset", pollerr_client, pollerr_server});
}

} // namespace vt
