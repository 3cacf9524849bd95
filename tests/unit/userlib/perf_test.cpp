// virtsock-perf's parts alone: percentiles, report intervals, CPU figures,
// the mode table and the wire format (version 3).
#include "stats.hpp"
#include "stream.hpp"
#include "wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

	auto bare = stream_result_from_json(to_json(r, false));
	ASSERT_TRUE(bare);
	EXPECT_TRUE(bare->intervals.empty());
	EXPECT_EQ(to_json(r, false)["rtt_us"]["p99_9"], 6);	// jq-friendly keys
	EXPECT_FALSE(stream_result_from_json(json{{"bytes", 1}}));
	EXPECT_FALSE(stream_result_from_json(json{{"bytes", "many"}, {"seconds", 1}, {"round_trips", 0}}));
}

} // namespace
