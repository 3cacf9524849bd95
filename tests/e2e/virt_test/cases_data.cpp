// Bulk data: integrity over many concurrent connections, back-pressure
// (blocking and non-blocking senders), 1-byte ping-pong latency.
#include "harness.hpp"

#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

namespace vt {
namespace {

using vs::transport;

// ---- 12. integrity -----------------------------------------------------------------------------
//
// 16 connections at once, each moving --integrity-bytes each way at the same
// time (a sender and a receiver thread per connection and side), in random
// piece sizes; every stream is a seeded pattern checked at the far end: no
// byte lost, changed, duplicated or reordered, and EOF exactly at the end.

constexpr int streams = 16;

std::uint64_t stream_seed(const context& c, int conn, bool from_client)
{
	return c.opt.seed * 1000003ULL + static_cast<std::uint64_t>(conn) * 2 + (from_client ? 1 : 0);
}

struct errors {
	std::mutex m;
	std::string first;
	void add(const std::string& e)
	{
		std::lock_guard g(m);
		if (first.empty())
			first = e;
	}
};

void sender(vs::stream_socket& s, std::uint64_t seed, std::uint64_t total, int conn, errors& errs)
{
	try {
		std::mt19937_64 rng(seed);
		std::vector<std::byte> buf(65536);
		std::uint64_t off = 0;
		while (off < total) {
			std::size_t n = std::min<std::uint64_t>(total - off, 1 + rng() % buf.size());
			pattern(seed, off, std::span(buf).first(n));
			send_exact(s, std::span(buf).first(n), str("connection ", conn, ": send at byte ", off));
			off += n;
		}
		must(s.shutdown(SHUT_WR), str("connection ", conn, ": shutdown(SHUT_WR)"));
	} catch (const std::exception& e) {
		errs.add(e.what());
	}
}

void receiver(vs::stream_socket& s, std::uint64_t seed, std::uint64_t total, int conn, errors& errs)
{
	try {
		std::mt19937_64 rng(seed ^ 0x5555);
		std::vector<std::byte> buf(131072);
		std::uint64_t off = 0;
		for (;;) {
			std::size_t want = 1 + rng() % buf.size();
			auto n = must(s.recv(std::span(buf).first(want)),
				      str("connection ", conn, ": recv at byte ", off));
			if (n == 0)
				break;
			check(off + n <= total, "connection ", conn, ": more than ", total, " bytes arrived");
			auto bad = pattern_mismatch(seed, off, std::span(buf).first(n));
			check(bad < 0, "connection ", conn, ": byte ", bad, " differs (lost, changed or reordered data)");
			off += n;
		}
		check(off == total, "connection ", conn, ": end of stream after ", off, " of ", total, " bytes");
	} catch (const std::exception& e) {
		errs.add(e.what());
	}
}

void transfer_all(context& c, std::vector<vs::stream_socket>& socks, const std::vector<int>& ids)
{
	bool client = !c.server();
	errors errs;
	std::vector<std::thread> threads;
	auto t0 = clock::now();
	for (std::size_t k = 0; k < socks.size(); ++k) {
		auto& s = socks[k];
		int conn = ids[k];
		// A stall is an error message, not a killed case.
		must(s.set_recv_timeout(15s), "SO_RCVTIMEO");
		must(s.set_send_timeout(15s), "SO_SNDTIMEO");
		threads.emplace_back(sender, std::ref(s), stream_seed(c, conn, client), c.opt.integrity_bytes, conn,
				     std::ref(errs));
		threads.emplace_back(receiver, std::ref(s), stream_seed(c, conn, !client), c.opt.integrity_bytes,
				     conn, std::ref(errs));
	}
	for (auto& t : threads)
		t.join();
	check(errs.first.empty(), errs.first);
	double secs = ms_since(t0) / 1000;
	double mib = 2.0 * streams * static_cast<double>(c.opt.integrity_bytes) / (1 << 20);
	c.note(str(streams, " x ", c.opt.integrity_bytes, " bytes each way in ", static_cast<int>(secs * 1000),
		   " ms (", static_cast<int>(mib / std::max(secs, 1e-3)), " MiB/s)"));
}

void integrity_client(context& c)
{
	c.ctl.expectln("LISTENING");
	std::vector<vs::stream_socket> socks;
	std::vector<int> ids;
	for (int i = 0; i < streams; ++i) {
		socks.push_back(must(vs::connector(10s).connect(c.opt.addr), str("connect #", i)));
		std::uint32_t id = static_cast<std::uint32_t>(i);
		std::byte hdr[4];
		std::memcpy(hdr, &id, 4);
		send_exact(socks.back(), hdr, "send the connection number");
		ids.push_back(i);
	}
	transfer_all(c, socks, ids);
}

void integrity_server(context& c)
{
	auto l = listen_at(c);
	c.ctl.writeln("LISTENING");
	std::vector<vs::stream_socket> socks;
	std::vector<int> ids;
	std::vector<bool> seen(streams);
	for (int i = 0; i < streams; ++i) {
		socks.push_back(accept_within(l, 10s, str("accept #", i)));
		std::byte hdr[4];
		recv_exact(socks.back(), hdr, "recv the connection number");
		std::uint32_t id;
		std::memcpy(&id, hdr, 4);
		check(id < streams && !seen[id], "bad or repeated connection number ", id);
		seen[id] = true;
		ids.push_back(static_cast<int>(id));
	}
	transfer_all(c, socks, ids);
}

// ---- 13. back-pressure ----------------------------------------------------------------------------
//
// Blocking: the server does not read; the client's blocking send of 2 MiB
// must stall (asserted: it has sent less than 2 MiB when it stops making
// progress), then the server reads slowly (16 KiB, 2 ms pause) and gets
// every byte; the sender only finishes after the reader started.
// Non-blocking: sends fail with EAGAIN at some point, and before 64 MiB
// there is no POLLOUT for 200 ms while nobody reads; the server drains what was sent, and a
// poll() waiting for POLLOUT wakes up; the rest flows; nothing is lost.
// Both ends ask for 64 KiB buffers (else TCP autotuning could swallow it all).

constexpr std::size_t bp_total = 2u << 20;
constexpr std::uint64_t bp_seed = 1313;

void small_buffers(vs::stream_socket& s)
{
	must(s.set_send_buffer_size(65536), "SO_SNDBUF 64 KiB");
	must(s.set_recv_buffer_size(65536), "SO_RCVBUF 64 KiB");
}

void bp_blocking_client(context& c)
{
	auto s = connect_one(c);
	small_buffers(s);
	must(s.set_send_timeout(20s), "SO_SNDTIMEO");
	std::atomic<std::uint64_t> sent{0};
	std::atomic<bool> done{false};
	std::string error;
	clock::time_point finished{};
	std::thread t([&] {
		try {
			std::vector<std::byte> buf(65536);
			while (sent < bp_total) {
				std::size_t n = std::min<std::size_t>(buf.size(), bp_total - sent);
				pattern(bp_seed, sent, std::span(buf).first(n));
				auto r = must(s.send(std::span(buf).first(n)), str("blocking send at byte ", sent.load()));
				sent += r;
			}
			finished = clock::now();
		} catch (const std::exception& e) {
			error = e.what();
		}
		done = true;
	});
	// Wait until the sender stops making progress.
	std::uint64_t last = 0;
	auto still_since = clock::now();
	while (!done) {
		std::this_thread::sleep_for(20ms);
		if (sent != last) {
			last = sent;
			still_since = clock::now();
		} else if (clock::now() - still_since > 300ms) {
			break;
		}
	}
	std::uint64_t stalled_at = sent;
	auto stall = clock::now();
	c.ctl.writeulong(stalled_at);
	t.join();
	check(error.empty(), error);
	check(stalled_at < bp_total, "a blocking send of ", bp_total,
	      " bytes to a peer that does not read never blocked");
	c.note(str("sender stalled at ", stalled_at, " bytes, then blocked ",
		   static_cast<int>(std::chrono::duration<double, std::milli>(finished - stall).count()),
		   " ms more while the reader was slow"));
	s.close().value();
	c.ctl.expectln("DONE");
}

void bp_blocking_server(context& c)
{
	auto s = accept_one(c);
	small_buffers(s);
	must(s.set_recv_timeout(20s), "SO_RCVTIMEO");
	auto stalled_at = c.ctl.readulong();
	(void)stalled_at;
	std::vector<std::byte> buf(16384);
	std::uint64_t got = 0;
	for (;;) {
		auto n = must(s.recv(buf), str("slow recv at byte ", got));
		if (n == 0)
			break;
		auto bad = pattern_mismatch(bp_seed, got, std::span(buf).first(n));
		check(bad < 0, "byte ", bad, " differs");
		got += n;
		std::this_thread::sleep_for(2ms);	// the point: a slow reader
	}
	check(got == bp_total, "got ", got, " of ", bp_total, " bytes");
	c.ctl.writeln("DONE");
}

void bp_nonblocking_client(context& c)
{
	auto s = connect_one(c);
	small_buffers(s);
	must(s.set_nonblocking(true), "O_NONBLOCK");
	std::uint64_t sent = fill_until_full(s, bp_seed);
	std::vector<std::byte> buf(65536);
	c.ctl.writeulong(sent);
	auto t0 = clock::now();
	auto ev = must(s.poll(POLLOUT, 10s), "poll for POLLOUT");
	check(ev & POLLOUT, "no POLLOUT within 10 s of the reader draining the queue");
	c.note(str("EAGAIN after ", sent, " bytes; POLLOUT ", static_cast<int>(ms_since(t0)),
		   " ms after the reader started draining"));
	// The rest, non-blocking, with poll().
	std::uint64_t total = sent + bp_total;
	while (sent < total) {
		std::size_t n = std::min<std::uint64_t>(buf.size(), total - sent);
		pattern(bp_seed, sent, std::span(buf).first(n));
		auto r = s.send(std::span(buf).first(n));
		if (!r) {
			expect_code(r.error(), {EAGAIN}, "non-blocking send");
			ev = must(s.poll(POLLOUT, 10s), "poll");
			check(ev & POLLOUT, "no POLLOUT within 10 s while the reader reads");
			continue;
		}
		sent += *r;
	}
	c.ctl.writeulong(total);
	must(s.shutdown(SHUT_WR), "shutdown(SHUT_WR)");
	c.ctl.expectln("DONE");
}

void bp_nonblocking_server(context& c)
{
	auto s = accept_one(c);
	small_buffers(s);
	must(s.set_recv_timeout(15s), "SO_RCVTIMEO");
	auto full = c.ctl.readulong();
	std::vector<std::byte> buf(65536);
	std::uint64_t got = 0;
	for (;;) {
		auto n = must(s.recv(buf), str("recv at byte ", got));
		if (n == 0)
			break;
		auto bad = pattern_mismatch(bp_seed, got, std::span(buf).first(n));
		check(bad < 0, "byte ", bad, " differs");
		got += n;
	}
	auto total = c.ctl.readulong();
	check(got == total && got > full, "got ", got, " bytes, the client sent ", total);
	c.ctl.writeln("DONE");
}

// ---- 13b. buffers set after connect --------------------------------------------------------------
//
// 16 connections; both ends set 64 KiB SO_SNDBUF and SO_RCVBUF after connect
// and accept (the server says when its are set); the server never reads.
// Each non-blocking sender fills its connection until EAGAIN and no POLLOUT
// for 200 ms, and must have sent at most 2 x (SO_SNDBUF + SO_RCVBUF) + 256 KiB
// (the kernel doubles both values, as it does for TCP).

constexpr int late_conns = 16;
constexpr std::uint64_t late_bound = 2 * (65536 + 65536) + (256u << 10);
// The host's slab may grow by at most this while the 16 connections are full.
constexpr std::int64_t late_slab_bound_kib = 32 << 10;

// "host" or "guest" where the AF_VIRT module runs, else empty.
std::string virt_role()
{
	std::ifstream role_file("/sys/kernel/virtsocket/role");
	std::string role;
	role_file >> role;
	return role;
}

// The kernel's slab (/proc/meminfo "Slab:"), in KiB.
std::int64_t slab_kib()
{
	std::ifstream meminfo("/proc/meminfo");
	std::string key;
	std::int64_t kib = -1;
	while (meminfo >> key >> kib) {
		if (key == "Slab:")
			return kib;
		meminfo.ignore(64, '\n');
	}
	check(false, "no Slab: line in /proc/meminfo");
	return -1;
}

// On the test host's end of an AF_VIRT connection, measures how much the
// slab grew between construction and check().
struct host_slab_growth {
	bool on_host;
	std::int64_t before;

	explicit host_slab_growth(context& c)
		: on_host(c.is(transport::virt) && virt_role() == "host"), before(on_host ? slab_kib() : 0)
	{
	}
	void check_now(context& c, std::string_view what) const
	{
		if (!on_host)
			return;
		auto grown = slab_kib() - before;
		check(grown <= late_slab_bound_kib, "the host's slab grew by ", grown, " KiB ", what, " (at most ",
		      late_slab_bound_kib, ")");
		c.note(str("host slab grew by ", grown, " KiB ", what));
	}
};

void late_buffers_client(context& c)
{
	c.ctl.expectln("LISTENING");
	host_slab_growth slab(c);
	std::vector<vs::stream_socket> socks;
	for (int i = 0; i < late_conns; ++i) {
		socks.push_back(must(vs::connector(10s).connect(c.opt.addr), str("connect #", i)));
		small_buffers(socks.back());
		must(socks.back().set_nonblocking(true), "O_NONBLOCK");
	}
	c.ctl.expectln("SET");
	std::uint64_t most = 0;
	for (int i = 0; i < late_conns; ++i) {
		auto sent = fill_until_full(socks[i], bp_seed + i);
		check(sent <= late_bound, "connection #", i, ": ", sent,
		      " bytes sent to a peer that never reads, with 64 KiB buffers set after connect (at most ",
		      late_bound, ")");
		most = std::max(most, sent);
	}
	c.note(str("each sender stopped within ", most, " bytes (bound ", late_bound, ")"));
	slab.check_now(c, "with 16 full connections (host senders)");
	c.ctl.writeln("FULL");
	c.ctl.expectln("DONE");
}

void late_buffers_server(context& c)
{
	auto l = listen_at(c);
	host_slab_growth slab(c);
	c.ctl.writeln("LISTENING");
	std::vector<vs::stream_socket> socks;
	for (int i = 0; i < late_conns; ++i) {
		socks.push_back(accept_within(l, 10s, str("accept #", i)));
		small_buffers(socks.back());
	}
	c.ctl.writeln("SET");
	c.ctl.expectln("FULL");
	slab.check_now(c, "with 16 full connections (host readers that never read)");
	socks.clear();
	c.ctl.writeln("DONE");
}

// ---- 13c. one-byte sends ---------------------------------------------------------------------------
//
// 100 000 sends of one byte each.  virt: the server reads nothing until the
// client has sent them all, then the receive queue's memory (SO_MEMINFO)
// must be at most 4 x the bytes plus 64 KiB (an skb per byte would be
// hundreds of times that; checked on the host only: a guest's receive
// memory is its own, and small host sends can arrive a page each there);
// other transports
// read as they go.  Then every byte arrives in order.

constexpr std::uint64_t tiny_sends = 100000;

void tiny_sends_client(context& c)
{
	auto s = connect_one(c);
	std::vector<std::byte> all(tiny_sends);
	pattern(bp_seed, 0, all);
	for (std::uint64_t i = 0; i < tiny_sends; ++i)
		send_exact(s, std::span(all).subspan(i, 1), str("one-byte send #", i));
	c.ctl.writeln("SENT");
	c.ctl.expectln("DONE");
}

void tiny_sends_server(context& c)
{
	auto s = accept_one(c);
	must(s.set_recv_timeout(30s), "SO_RCVTIMEO");
	std::vector<std::byte> got(tiny_sends);
	std::uint64_t n = 0;
	if (c.is(transport::virt)) {
		c.ctl.expectln("SENT");
		auto mem = must(s.get_option<std::array<std::uint32_t, SK_MEMINFO_VARS>>(SOL_SOCKET, SO_MEMINFO),
				"SO_MEMINFO");
		std::uint64_t bound = 4 * tiny_sends + (64u << 10);
		// The guest's own memory is its business: the bound is the host's.
		auto role = virt_role();
		if (role == "host")
			check(mem[SK_MEMINFO_RMEM_ALLOC] <= bound, tiny_sends,
			      " one-byte sends take ", mem[SK_MEMINFO_RMEM_ALLOC],
			      " bytes of the host's receive memory (at most ", bound, ")");
		c.note(str(tiny_sends, " one-byte sends queued in ", mem[SK_MEMINFO_RMEM_ALLOC],
			   " bytes of receive memory on the ", role.empty() ? "?" : role));
	}
	while (n < tiny_sends) {
		auto r = must(s.recv(std::span(got).subspan(n)), str("recv at byte ", n));
		check(r > 0, "end of stream after ", n, " bytes");
		n += r;
	}
	auto bad = pattern_mismatch(bp_seed, 0, got);
	check(bad < 0, "byte ", bad, " differs");
	if (!c.is(transport::virt))
		c.ctl.expectln("SENT");
	c.ctl.writeln("DONE");
}

// ---- 14. 1-byte ping-pong ---------------------------------------------------------------------------
//
// 1000 round trips of one byte, with the no-delay option on (virt:
// VIRT_NODELAY, tcp: TCP_NODELAY; it must read back as on; unix and vsock
// have none: the library's operation_not_supported is asserted) and with the
// default.  p50/p99 round-trip latency go into the note.

constexpr int rounds = 1000;

void set_nodelay(context& c, vs::stream_socket& s, bool on)
{
	if (!on)
		return;
	auto r = s.set_nodelay(true);
	if (c.is(transport::unix_domain) || c.is(transport::vsock)) {
		check(!r && r.error() == std::errc::operation_not_supported,
		      "set_nodelay on ", vs::to_string(c.kind()), ": want operation_not_supported");
		return;
	}
	must(std::move(r), "set_nodelay(true)");
	check(must(s.nodelay(), "nodelay()"), "no-delay reads back off after setting it");
}

void pingpong_client(context& c, bool nodelay)
{
	auto s = connect_one(c);
	set_nodelay(c, s, nodelay);
	must(s.set_recv_timeout(5s), "SO_RCVTIMEO");
	std::vector<double> us;
	us.reserve(rounds);
	for (int i = 0; i < rounds; ++i) {
		auto t0 = clock::now();
		send_byte(s, static_cast<std::uint8_t>(i));
		auto b = recv_byte(s);
		us.push_back(ms_since(t0) * 1000);
		check(b == static_cast<std::uint8_t>(i + 1), "round ", i, ": wrong byte back");
	}
	std::sort(us.begin(), us.end());
	c.note(str(rounds, " round trips: p50 ", static_cast<int>(us[rounds / 2]), " us, p99 ",
		   static_cast<int>(us[rounds * 99 / 100]), " us, max ", static_cast<int>(us.back()), " us"));
}

void pingpong_server(context& c, bool nodelay)
{
	auto s = accept_one(c);
	set_nodelay(c, s, nodelay);
	must(s.set_recv_timeout(5s), "SO_RCVTIMEO");
	for (int i = 0; i < rounds; ++i) {
		auto b = recv_byte(s);
		check(b == static_cast<std::uint8_t>(i), "round ", i, ": wrong byte");
		send_byte(s, static_cast<std::uint8_t>(b + 1));
	}
	expect_eof(s);
}

void pingpong_nodelay_client(context& c) { pingpong_client(c, true); }
void pingpong_nodelay_server(context& c) { pingpong_server(c, true); }
void pingpong_default_client(context& c) { pingpong_client(c, false); }
void pingpong_default_server(context& c) { pingpong_server(c, false); }

} // namespace

void add_data_cases(std::vector<test_case>& r)
{
	r.push_back({"SOCK_STREAM integrity, 16 connections both ways", integrity_client, integrity_server});
	r.push_back({"SOCK_STREAM back-pressure, blocking sender", bp_blocking_client, bp_blocking_server});
	r.push_back({"SOCK_STREAM back-pressure, non-blocking sender", bp_nonblocking_client,
		     bp_nonblocking_server});
	r.push_back({"SOCK_STREAM buffers set after connect bound each sender, 16 connections",
		     late_buffers_client, late_buffers_server});
	r.push_back({"SOCK_STREAM 100 000 one-byte sends", tiny_sends_client, tiny_sends_server});
	r.push_back({"SOCK_STREAM 1-byte ping-pong, no-delay", pingpong_nodelay_client, pingpong_nodelay_server});
	r.push_back({"SOCK_STREAM 1-byte ping-pong, default", pingpong_default_client, pingpong_default_server});
}

} // namespace vt
