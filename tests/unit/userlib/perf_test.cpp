// virtsock-perf's parts alone: percentiles, report intervals, CPU figures
// (the process's and the machine's), the mode table, the wire format
// (version 3), the --verify pattern and the windows per transport.
#include "pattern.hpp"
#include "stats.hpp"
#include "stream.hpp"
#include "window.hpp"
#include "wire.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

using namespace perf;
using namespace std::chrono_literals;

namespace {

// ---- percentiles -----------------------------------------------------------------

std::vector<double> one_to(int n)
{
	std::vector<double> v(static_cast<std::size_t>(n));
	std::iota(v.begin(), v.end(), 1.0);
	return v;
}

TEST(Percentile, NearestRank)
{
	auto v = one_to(1000);
	EXPECT_EQ(percentile(v, 50), 500);
	EXPECT_EQ(percentile(v, 90), 900);
	EXPECT_EQ(percentile(v, 99), 990);
	EXPECT_EQ(percentile(v, 100), 1000);
	EXPECT_EQ(percentile(v, 0), 1);	// the rank is at least 1
	auto ten = one_to(10);
	EXPECT_EQ(percentile(ten, 50), 5);
	EXPECT_EQ(percentile(ten, 51), 6);	// rank ceil(5.1)
	EXPECT_EQ(percentile(ten, 99.9), 10);
}

// 99.9 / 100 * 1000 is 999.0000000000001 in doubles: a rank taken from it
// by ceil() is 1000, the maximum, not the 999th sample.
TEST(Percentile, P99_9IsNotTheMaximumOfAThousand)
{
	auto v = one_to(1000);
	EXPECT_EQ(percentile(v, 99.9), 999);
	auto big = one_to(100000);
	EXPECT_EQ(percentile(big, 99.9), 99900);
	EXPECT_EQ(percentile(big, 99.99), 99990);
}

TEST(Percentile, EmptyAndSingle)
{
	EXPECT_EQ(percentile({}, 50), 0);
	EXPECT_EQ(percentile({7.5}, 0.1), 7.5);
	EXPECT_EQ(percentile({7.5}, 99.9), 7.5);
}

TEST(Summarize, SortsAndFillsEveryField)
{
	auto v = one_to(1000);
	std::mt19937 rng(1);
	std::shuffle(v.begin(), v.end(), rng);
	auto l = summarize(v);
	EXPECT_EQ(l.min, 1);
	EXPECT_EQ(l.max, 1000);
	EXPECT_DOUBLE_EQ(l.mean, 500.5);
	EXPECT_EQ(l.p50, 500);
	EXPECT_EQ(l.p90, 900);
	EXPECT_EQ(l.p99, 990);
	EXPECT_EQ(l.p99_9, 999);
	EXPECT_EQ(summarize(std::vector<double>{}), latency_stats{});
}

TEST(Summarize, IntervalsAndTheMeasuredPart)
{
	std::vector<double> samples = {100, 1, 2, 3, 10, 20, 30};	// the first is a warm-up
	std::vector<interval> ivs = {{0, 1, 0, 0, 1, true}, {1, 2, 0, 1, 4}, {2, 3, 0, 4, 7}};
	auto l = summarize(samples, 1, ivs);
	EXPECT_EQ(l.max, 30);	// not 100: left out
	EXPECT_EQ(l.min, 1);
	EXPECT_EQ(l.p50, 3);
	EXPECT_EQ(ivs[0].p50_us, 100);
	EXPECT_EQ(ivs[1].p50_us, 2);
	EXPECT_EQ(ivs[1].max_us, 3);
	EXPECT_EQ(ivs[2].p50_us, 20);
	EXPECT_EQ(ivs[2].max_us, 30);
}

// ---- report intervals --------------------------------------------------------------

const clock_type::time_point t0{std::chrono::seconds(1000)};

clock_type::time_point at(double s)
{
	return t0 + std::chrono::round<clock_type::duration>(std::chrono::duration<double>(s));
}

// Late ticks do not push the boundaries back: they stay at t0 + k s.
TEST(IntervalClock, BoundariesDoNotDrift)
{
	std::vector<interval> out;
	interval_clock c(t0, 1s, 0s, &out);
	EXPECT_EQ(c.next_boundary(), at(1));
	c.tick(at(0.5), 100, 0);	// between boundaries: nothing
	EXPECT_TRUE(out.empty());
	c.tick(at(1.3), 200, 0);
	ASSERT_EQ(out.size(), 1U);
	EXPECT_DOUBLE_EQ(out[0].end, 1.3);
	EXPECT_EQ(out[0].bytes, 200U);
	EXPECT_EQ(c.next_boundary(), at(2));	// not 2.3
	c.tick(at(2.05), 300, 0);
	EXPECT_EQ(c.next_boundary(), at(3));
	c.tick(at(5.5), 400, 0);	// a stall over several boundaries
	EXPECT_EQ(c.next_boundary(), at(6));
	ASSERT_EQ(out.size(), 3U);
	EXPECT_DOUBLE_EQ(out[1].start, 1.3);
	EXPECT_DOUBLE_EQ(out[1].end, 2.05);
	EXPECT_EQ(out[2].bytes, 100U);
}

TEST(IntervalClock, NoEmptyTail)
{
	std::vector<interval> out;
	interval_clock c(t0, 1s, 0s, &out);
	c.tick(at(1.0), 100, 0);
	c.tick(at(2.0), 200, 0);
	c.close(at(2.5), 200, 0);	// nothing since the last boundary
	ASSERT_EQ(out.size(), 2U);
	EXPECT_DOUBLE_EQ(out.back().end, 2.0);
	EXPECT_EQ(c.measured_bytes(), 200U);
	EXPECT_DOUBLE_EQ(c.measured_seconds(), 2.5);
}

TEST(IntervalClock, SliverTailJoinsTheLastInterval)
{
	std::vector<interval> out;
	interval_clock c(t0, 1s, 0s, &out);
	c.tick(at(1.0), 100, 0);
	c.close(at(1.05), 130, 0);	// data still in flight at the boundary
	ASSERT_EQ(out.size(), 1U);
	EXPECT_DOUBLE_EQ(out[0].end, 1.05);
	EXPECT_EQ(out[0].bytes, 130U);

	std::vector<interval> out2;
	interval_clock d(t0, 1s, 0s, &out2);
	d.tick(at(1.0), 100, 0);
	d.close(at(1.5), 150, 0);	// a real tail
	ASSERT_EQ(out2.size(), 2U);
	EXPECT_EQ(out2[1].bytes, 50U);

	std::vector<interval> out3;
	interval_clock e(t0, 1s, 0s, &out3);
	e.close(at(0.01), 5, 0);	// the only interval, however short
	ASSERT_EQ(out3.size(), 1U);
	EXPECT_EQ(out3[0].bytes, 5U);
}

// -O 1.5 with 1 s intervals: [0,1] [1,1.5] omitted, then from the warm-up's
// end, [1.5,2.5] ...; the figures count from there.
TEST(IntervalClock, WarmUpIsOmitted)
{
	std::vector<interval> out;
	interval_clock c(t0, 1s, 1500ms, &out);
	EXPECT_EQ(c.next_boundary(), at(1));
	c.tick(at(1.0), 100, 10);
	EXPECT_EQ(c.next_boundary(), at(1.5));
	c.tick(at(1.5), 150, 15);
	EXPECT_EQ(c.next_boundary(), at(2.5));
	c.tick(at(2.5), 250, 25);
	c.close(at(3.0), 300, 30);
	ASSERT_EQ(out.size(), 4U);
	EXPECT_TRUE(out[0].omitted);
	EXPECT_TRUE(out[1].omitted);
	EXPECT_FALSE(out[2].omitted);
	EXPECT_FALSE(out[3].omitted);
	EXPECT_EQ(c.measured_bytes(), 150U);
	EXPECT_EQ(c.first_measured_sample(), 15U);
	EXPECT_DOUBLE_EQ(c.measured_seconds(), 1.5);
}

// Without intervals the warm-up still counts.
TEST(IntervalClock, WarmUpWithoutIntervals)
{
	interval_clock c(t0, 0s, 1s, nullptr);
	EXPECT_EQ(c.next_boundary(), at(1));
	c.tick(at(1.2), 40, 0);
	EXPECT_EQ(c.next_boundary(), clock_type::time_point::max());
	c.close(at(2.2), 100, 0);
	EXPECT_EQ(c.measured_bytes(), 60U);
	EXPECT_DOUBLE_EQ(c.measured_seconds(), 1.0);
}

// ---- CPU ----------------------------------------------------------------------------------

TEST(Cpu, PerCentOfTheWallClock)
{
	cpu_times a{1.0, 2.0, t0}, b{1.5, 2.25, at(1)};
	auto u = cpu_between(a, b);
	EXPECT_DOUBLE_EQ(u.user, 50);
	EXPECT_DOUBLE_EQ(u.system, 25);
	EXPECT_DOUBLE_EQ(u.total, 75);
	EXPECT_EQ(cpu_between(a, a), cpu_usage{});	// no time: no figure, no division by zero
	cpu_times c{3.0, 2.0, at(2)};			// two threads busy
	EXPECT_DOUBLE_EQ(cpu_between(a, c).user, 100);
}

TEST(Cpu, ThisProcessSpendsSome)
{
	auto a = cpu_now();
	cpu_times b;
	volatile double x = 0;
	do {	// spin until the kernel's accounting moves (bounded by the test's time-out)
		for (int i = 0; i < 100000; i++)
			x = x + 1;
		b = cpu_now();
	} while (b.user + b.system == a.user + a.system);
	EXPECT_GT(cpu_between(a, b).total, 0);
	EXPECT_GE(b.wall, a.wall);
}

// ---- the machine's CPU time (/proc/stat) -------------------------------------------------

// Linux 6.1's format: user nice system idle iowait irq softirq steal guest guest_nice.
constexpr const char* proc_stat = "cpu  100 20 300 4000 50 6 7 8 900 10\n"
				  "cpu0 50 10 150 2000 25 3 4 4 450 5\n"
				  "cpu1 50 10 150 2000 25 3 3 4 450 5\n"
				  "intr 12345 0 0\n"
				  "ctxt 999\n"
				  "btime 1700000000\n";

TEST(ProcStat, BusyTotalAndCpus)
{
	auto t = parse_proc_stat(proc_stat);
	ASSERT_TRUE(t);
	// busy: user + nice + system + irq + softirq; guest time is in user already.
	EXPECT_EQ(t->busy, 100U + 20 + 300 + 6 + 7);
	EXPECT_EQ(t->idle, 4000U + 50);	// idle + iowait
	EXPECT_EQ(t->steal, 8U);
	EXPECT_EQ(t->total, t->busy + 4000 + 50 + 8);
	EXPECT_EQ(t->cpus, 2U);
}

TEST(ProcStat, OlderAndMalformedLines)
{
	// Seven fields (no steal): still the figures.
	auto seven = parse_proc_stat("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n");
	ASSERT_TRUE(seven);
	EXPECT_EQ(seven->busy, 1U + 2 + 3 + 6 + 7);
	EXPECT_EQ(seven->total, seven->busy + 4 + 5);
	EXPECT_EQ(seven->steal, 0U);
	EXPECT_FALSE(parse_proc_stat("cpu  1 2 3\ncpu0 1 2 3\n"));		// too short
	EXPECT_FALSE(parse_proc_stat("cpu  1 2 x 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n"));	// not a number
	EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n"));		// no summary line
	EXPECT_FALSE(parse_proc_stat("cpu  1 2 3 4 5 6 7 8\nintr 1\n"));	// no CPU counted
	EXPECT_FALSE(parse_proc_stat(""));
}

TEST(ProcStat, SecondsBetweenSnapshots)
{
	machine_snapshot a{{1000, 3900, 100, 5000, 2}, t0}, b{{1150, 3940, 110, 5200, 2}, at(1)};
	auto m = machine_between(a, b, 100);
	EXPECT_DOUBLE_EQ(m.busy, 1.5);
	EXPECT_DOUBLE_EQ(m.idle, 0.4);
	EXPECT_DOUBLE_EQ(m.steal, 0.1);
	EXPECT_DOUBLE_EQ(m.total, 2.0);
	EXPECT_DOUBLE_EQ(m.seconds, 1.0);
	EXPECT_EQ(m.cpus, 2U);
	EXPECT_EQ(machine_between(b, a, 100).busy, 0.0);	// never negative
	auto j = to_json(m);
	EXPECT_EQ(j["busy"], 1.5);
	EXPECT_EQ(machine_cpu_from_json(j), m);
	EXPECT_FALSE(machine_cpu_from_json(json{{"busy", 1.0}}));
}

TEST(ProcStat, ThisMachine)
{
	auto a = machine_now();
	ASSERT_TRUE(a) << "/proc/stat unreadable";
	EXPECT_EQ(a->ticks.cpus, static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
	EXPECT_GE(a->ticks.total, a->ticks.busy);
	std::optional<machine_snapshot> b;
	volatile double x = 0;
	do {	// spin until the machine's busy ticks move (bounded by the test's time-out)
		for (int i = 0; i < 100000; i++)
			x = x + 1;
		b = machine_now();
		ASSERT_TRUE(b);
	} while (b->ticks.busy == a->ticks.busy);
	auto m = machine_between(*a, *b, user_hz());
	EXPECT_GT(m.busy, 0.0);
	EXPECT_LE(m.busy, m.total);
	EXPECT_DOUBLE_EQ(m.total, m.busy + m.idle + m.steal);
}

// ---- the --verify pattern -----------------------------------------------------------------

std::vector<std::byte> stream_of(const pattern& p, std::size_t n, std::size_t chunk)
{
	std::vector<std::byte> out(n);
	for (std::size_t at = 0; at < n; at += chunk)
		p.fill(std::span(out).subspan(at, std::min(chunk, n - at)), at);
	return out;
}

TEST(Pattern, TheSameBytesHoweverTheStreamIsCut)
{
	pattern p(0x1234, 0);
	const std::size_t n = 3 * pattern::period + 777;
	auto whole = stream_of(p, n, n);
	for (std::size_t chunk : {std::size_t{1}, std::size_t{56}, std::size_t{4096}, pattern::period, pattern::period + 1})
		EXPECT_EQ(stream_of(p, n, chunk), whole) << chunk;
	// Checked in other pieces than it was filled in: no mismatch.
	for (std::size_t at = 0; at < n; at += 1000) {
		auto len = std::min<std::size_t>(1000, n - at);
		EXPECT_EQ(p.mismatch(std::span(whole).subspan(at, len), at), std::nullopt) << at;
	}
	// It repeats after a period, and only then.
	EXPECT_EQ(p.at(5), p.at(5 + pattern::period));
	EXPECT_TRUE(std::equal(whole.begin(), whole.begin() + 64, whole.begin() + pattern::period));
	EXPECT_FALSE(std::equal(whole.begin(), whole.begin() + 64, whole.begin() + 65536));
}

TEST(Pattern, EveryFaultIsFoundWhereItIs)
{
	pattern p(99, 1);
	auto bytes = stream_of(p, 200000, 4096);
	auto flipped = bytes;
	flipped[123456] ^= std::byte{0x10};
	EXPECT_EQ(p.mismatch(flipped, 0), 123456U);
	EXPECT_EQ(p.mismatch(std::span(flipped).subspan(100000), 100000), 123456U);
	// A lost byte: everything after it is one early.
	std::vector<std::byte> lost(bytes.begin(), bytes.end());
	lost.erase(lost.begin() + 70000);
	auto at = p.mismatch(lost, 0);
	ASSERT_TRUE(at);
	EXPECT_GE(*at, 70000U);
	EXPECT_LT(*at, 70000U + 64);	// 1 in 256 per byte to agree by chance
	// Right bytes at the wrong offset.
	EXPECT_TRUE(p.mismatch(std::span(bytes).subspan(4096, 4096), 0));
	auto msg = mismatch_message(p, flipped, 0, 123456);
	EXPECT_NE(msg.find("payload mismatch at stream byte 123456"), std::string::npos) << msg;
}

TEST(Pattern, SeededByTestAndStream)
{
	auto a = stream_of(pattern(1, 0), 4096, 4096);
	EXPECT_NE(a, stream_of(pattern(2, 0), 4096, 4096));
	EXPECT_NE(a, stream_of(pattern(1, 1), 4096, 4096));
	EXPECT_EQ(a, stream_of(pattern(1, 0), 4096, 4096));
	// Not constant bytes: the values spread.
	std::sort(a.begin(), a.end());
	EXPECT_GT(std::unique(a.begin(), a.end()) - a.begin(), 200);
}

// ---- windows per transport ----------------------------------------------------------------

TEST(Window, TcpFromItsReceiveBuffer)
{
	EXPECT_EQ(tcp_window(2 << 20, 1), 1U << 20);	// the default scale: half
	EXPECT_EQ(tcp_window(1 << 20, 2), 768U << 10);
	EXPECT_EQ(tcp_window(1 << 20, -1), 512U << 10);
	EXPECT_EQ(tcp_window(1 << 20, 0), 1U << 20);
	EXPECT_EQ(tcp_window(0, 1), 0U);
	EXPECT_EQ(window_of(vs::transport::unix_domain, 4096, 999, std::nullopt), 2048U);
	EXPECT_EQ(window_of(vs::transport::vsock, 1, 2, 262144), 262144U);
	EXPECT_EQ(window_of(vs::transport::virt, 1, 2, std::nullopt), 0U);
}

TEST(Window, BuffersOnTheWire)
{
	socket_buffers b{4, 8, 1 << 20, 1 << 20};
	EXPECT_EQ(socket_buffers_from_json(json::parse(to_json(b).dump())), b);
	socket_buffers tcp{4, 8, std::nullopt, 4};
	EXPECT_TRUE(to_json(tcp)["vm_buffer_size"].is_null());
	EXPECT_EQ(socket_buffers_from_json(to_json(tcp)), tcp);
	EXPECT_FALSE(socket_buffers_from_json(json{{"sndbuf", 1}}));
}

vs::socket raw_socket(int family, vs::transport kind)
{
	int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return vs::socket(fd, kind);
}

// SO_SNDBUF and SO_RCVBUF, doubled by Linux: the window is what was asked.
TEST(Window, TcpAndUnixSetBothBuffers)
{
	for (auto [family, kind] : {std::pair{AF_INET, vs::transport::tcp}, std::pair{AF_UNIX, vs::transport::unix_domain}}) {
		auto s = raw_socket(family, kind);
		ASSERT_TRUE(s.is_open());
		ASSERT_TRUE(set_window(s, 64 << 10));
		auto b = read_buffers(s);
		EXPECT_EQ(b.sndbuf, 128 << 10) << vs::to_string(kind);
		EXPECT_EQ(b.rcvbuf, 128 << 10) << vs::to_string(kind);
		EXPECT_FALSE(b.vm_buffer);
		if (kind == vs::transport::tcp && tcp_adv_win_scale() != 1)
			continue;	// the window is then another share of the buffer
		EXPECT_EQ(b.window, 64U << 10) << vs::to_string(kind);
	}
}

// Past net.core.rmem_max: FORCE with CAP_NET_ADMIN, else the cap.
TEST(Window, BeyondTheSysctlCap)
{
	auto s = raw_socket(AF_UNIX, vs::transport::unix_domain);
	const int want = 16 << 20;
	ASSERT_TRUE(set_window(s, want));
	auto b = read_buffers(s);
	std::ifstream f("/proc/sys/net/core/wmem_max");
	int cap = 0;
	f >> cap;
	if (cap >= want)
		GTEST_SKIP() << "net.core.wmem_max is " << cap;
	if (b.sndbuf == 2 * want)
		EXPECT_EQ(b.window, std::uint64_t(want));
	else
		EXPECT_EQ(b.sndbuf, 2 * cap) << "neither forced nor capped";
}

// AF_VSOCK: the maximum first, or a size above 256 KiB would be clamped.
TEST(Window, VsockSetsMaximumThenSize)
{
	auto s = raw_socket(AF_VSOCK, vs::transport::vsock);
	if (!s.is_open())
		GTEST_SKIP() << "no AF_VSOCK here";
	auto before = read_buffers(s);
	ASSERT_TRUE(before.vm_buffer);
	EXPECT_EQ(before.window, *before.vm_buffer);
	for (std::uint32_t w : {1U << 20, 64U << 10, 8U << 20}) {
		ASSERT_TRUE(set_window(s, w));
		auto b = read_buffers(s);
		EXPECT_EQ(b.vm_buffer, w);
		EXPECT_EQ(b.window, w);
	}
}

// ---- the mode table ----------------------------------------------------------------

TEST(Modes, EveryTestHasOneEntryWithComplementaryRoles)
{
	for (auto mode : {test_mode::throughput, test_mode::latency})
		for (auto dir : {test_direction::send, test_direction::recv}) {
			test_params p;
			p.mode = mode;
			p.direction = dir;
			const auto& m = mode_of(p, 0);
			EXPECT_EQ(m.mode, mode);
			EXPECT_EQ(m.direction, dir);
			auto pair = std::minmax(m.client, m.server);
			if (mode == test_mode::throughput)
				EXPECT_EQ(pair, std::minmax(role::sender, role::receiver));
			else
				EXPECT_EQ(pair, std::minmax(role::initiator, role::echoer));
		}
	test_params up;
	EXPECT_EQ(mode_of(up, 0).client, role::sender);
	up.direction = test_direction::recv;
	EXPECT_EQ(mode_of(up, 0).client, role::receiver);
	test_params lat;
	lat.mode = test_mode::latency;
	lat.direction = test_direction::recv;
	EXPECT_EQ(mode_of(lat, 0).server, role::initiator);
}

TEST(Modes, BidirStreamsAndByteShares)
{
	test_params p;
	p.direction = test_direction::bidir;
	p.streams = 3;
	p.bytes = 10;
	EXPECT_EQ(p.connections(), 6U);
	std::uint64_t each_way[2] = {0, 0};
	for (std::uint32_t i = 0; i < p.connections(); i++) {
		auto d = stream_direction(p, i);
		EXPECT_EQ(d, i < 3 ? test_direction::send : test_direction::recv) << i;
		EXPECT_EQ(mode_of(p, i).client, i < 3 ? role::sender : role::receiver) << i;
		each_way[i < 3 ? 0 : 1] += stream_bytes(p, i);
		EXPECT_GE(stream_bytes(p, i), 3U);
	}
	EXPECT_EQ(each_way[0], 10U);
	EXPECT_EQ(each_way[1], 10U);
}

// ---- the wire ---------------------------------------------------------------------------

test_params sample_params()
{
	test_params p;
	p.mode = test_mode::throughput;
	p.direction = test_direction::bidir;
	p.size = 65536;
	p.bytes = 0;
	p.duration = 2500ms;
	p.omit = 1500ms;
	p.interval_ms = 250;
	p.streams = 4;
	p.buffer = 8192;
	p.cookie = 0x0102030405060708ULL;
	return p;
}

TEST(Wire, HeaderRoundTrip)
{
	auto p = sample_params();
	test_params q;
	EXPECT_EQ(decode(encode(p), q), 0);
	EXPECT_EQ(q, p);

	test_params lat;
	lat.mode = test_mode::latency;
	lat.direction = test_direction::recv;
	lat.size = 64;
	lat.count = 1000;
	test_params r;
	EXPECT_EQ(decode(encode(lat), r), 0);
	EXPECT_EQ(r, lat);
}

// The layout is the protocol: another build must read the same bytes.
TEST(Wire, HeaderLayoutIsLittleEndianAtFixedOffsets)
{
	auto h = encode(sample_params());
	auto u = [&](std::size_t at, int n) {
		std::uint64_t v = 0;
		for (int i = n - 1; i >= 0; i--)
			v = (v << 8) | std::to_integer<std::uint64_t>(h[at + static_cast<std::size_t>(i)]);
		return v;
	};
	EXPECT_EQ(h.size(), 56U);
	EXPECT_EQ(u(0, 4), 0x46505356U);	// "VSPF"
	EXPECT_EQ(std::to_integer<char>(h[0]), 'V');
	EXPECT_EQ(u(4, 2), 3U);
	EXPECT_EQ(u(6, 1), 0U);	// throughput
	EXPECT_EQ(u(7, 1), 2U);	// bidir
	EXPECT_EQ(u(8, 4), 65536U);
	EXPECT_EQ(u(12, 4), 250U);
	EXPECT_EQ(u(16, 8), 0U);
	EXPECT_EQ(u(24, 8), 2'500'000'000U);
	EXPECT_EQ(u(32, 8), 0x0102030405060708ULL);
	EXPECT_EQ(std::to_integer<int>(h[32]), 8);
	EXPECT_EQ(u(40, 2), 4U);
	EXPECT_EQ(u(44, 4), 8192U);
	EXPECT_EQ(u(48, 4), 1500U);
	EXPECT_EQ(header_version(std::span(h).first(prefix_size)), 3);
}

TEST(Wire, HeaderRejects)
{
	auto bad = [](auto change) {
		auto h = encode(sample_params());
		change(h);
		test_params q;
		return decode(h, q);
	};
	EXPECT_EQ(bad([](auto& h) { h[0] = std::byte{'X'}; }), EPROTO);
	EXPECT_EQ(bad([](auto& h) { h[4] = std::byte{2}; }), EPROTONOSUPPORT);
	EXPECT_EQ(bad([](auto& h) { h[6] = std::byte{2}; }), EINVAL);	// no such mode
	EXPECT_EQ(bad([](auto& h) { h[7] = std::byte{3}; }), EINVAL);	// no such direction
	EXPECT_EQ(bad([](auto& h) { put<std::uint32_t>(&h[8], 0); }), EINVAL);
	EXPECT_EQ(bad([](auto& h) { put<std::uint32_t>(&h[8], (64U << 20) + 1); }), EINVAL);
	EXPECT_EQ(bad([](auto& h) { put<std::uint16_t>(&h[40], 0); }), EINVAL);
	EXPECT_EQ(bad([](auto& h) { put<std::uint16_t>(&h[40], 129); }), EINVAL);
	EXPECT_EQ(bad([](auto& h) { put<std::uint64_t>(&h[24], 0); }), EINVAL);	// neither amount nor time
	EXPECT_EQ(bad([](auto& h) { put<std::uint64_t>(&h[24], UINT64_MAX / 2); }), EINVAL);	// past the deadline clock
	EXPECT_EQ(bad([](auto& h) { put<std::uint64_t>(&h[16], 5); }), EINVAL);	// a count and a warm-up
	EXPECT_EQ(bad([](auto& h) { h[6] = std::byte{1}; }), EINVAL);	// latency, bidir, 4 streams
	EXPECT_EQ(header_version(std::vector<std::byte>(8)), 0);
}

TEST(Wire, VerifyFlag)
{
	auto p = sample_params();
	p.verify = true;
	auto h = encode(p);
	EXPECT_EQ(get<std::uint16_t>(&h[42]), 1U);
	test_params q;
	EXPECT_EQ(decode(h, q), 0);
	EXPECT_TRUE(q.verify);
	EXPECT_EQ(q, p);
	put<std::uint16_t>(&h[42], 2);	// a flag this version does not know
	EXPECT_EQ(decode(h, q), EINVAL);
	EXPECT_EQ(get<std::uint16_t>(&encode(sample_params())[42]), 0U);
}

TEST(Wire, StatusAndHello)
{
	EXPECT_EQ(decode_status(encode_status(EBUSY)), EBUSY);
	EXPECT_EQ(decode_status(encode_status(0)), 0);
	auto s = encode_status(0);
	s[1] = std::byte{0};
	EXPECT_EQ(decode_status(s), std::nullopt);

	auto b = encode(hello{5, 0xabcdef});
	EXPECT_EQ(get<std::uint32_t>(&b[0]), stream_magic);
	auto h = decode(b);
	ASSERT_TRUE(h);
	EXPECT_EQ(h->index, 5U);
	EXPECT_EQ(h->cookie, 0xabcdefU);
	b[0] = std::byte{0};
	EXPECT_FALSE(decode(b));
}

TEST(Wire, Messages)
{
	json j = {{"a", 1}};
	auto b = encode_message(j);
	message_head head;
	std::copy_n(b.begin(), head.size(), head.begin());
	auto n = message_length(head);
	ASSERT_TRUE(n);
	EXPECT_EQ(*n, b.size() - 8);
	EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data() + 8), *n), "{\"a\":1}");
	put<std::uint32_t>(&head[4], max_message + 1);
	EXPECT_FALSE(message_length(head));
	put<std::uint32_t>(&head[0], wire_magic);
	auto bad = message_length(head);
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().message(), "not a virtsock-perf message");
}

TEST(Wire, StreamResultRoundTrip)
{
	stream_result r;
	r.bytes = 640;
	r.seconds = 0.5;
	r.round_trips = 5;
	r.rtt = latency_stats{1, 2, 3, 4, 5, 6, 7};
	r.intervals = {{0, 0.25, 256, 0, 2, true, 1.5, 2.5}, {0.25, 0.5, 384, 2, 5, false, 3.5, 4.5}};
	auto back = stream_result_from_json(json::parse(to_json(r, true).dump()));
	ASSERT_TRUE(back);
	EXPECT_EQ(*back, r);
	EXPECT_FALSE(to_json(r, false).contains("bytes_total"));	// not measured: not sent
	r.bytes_total = 1000;
	r.round_trips_total = 8;
	r.verified_bytes = 1000;
	back = stream_result_from_json(json::parse(to_json(r, true).dump()));
	ASSERT_TRUE(back);
	EXPECT_EQ(*back, r);
	EXPECT_EQ(to_json(r, false)["verified_bytes"], 1000);

	auto bare = stream_result_from_json(to_json(r, false));
	ASSERT_TRUE(bare);
	EXPECT_TRUE(bare->intervals.empty());
	EXPECT_EQ(to_json(r, false)["rtt_us"]["p99_9"], 6);	// jq-friendly keys
	EXPECT_FALSE(stream_result_from_json(json{{"bytes", 1}}));
	EXPECT_FALSE(stream_result_from_json(json{{"bytes", "many"}, {"seconds", 1}, {"round_trips", 0}}));
}

} // namespace
