// virtsock-perf: throughput and latency between a client and a server, over
// any transport of virtsocket::address (iperf3-like JSON, sockperf-like
// latency percentiles).
//
// Protocol (wire version 2), one test per connection: the client sends a
// 32-byte header with the test parameters, the server answers with an 8-byte
// status {magic, errno} (EPROTONOSUPPORT: another wire version), then:
//   throughput send: client streams, half-closes; server answers with
//                    {bytes received, nanoseconds} (16 bytes);
//   throughput recv: server streams until the byte count or time is reached,
//                    then half-closes;
//   latency send:    client sends SIZE bytes, server echoes them; repeated
//                    until the client half-closes;
//   latency recv:    server sends SIZE bytes, client echoes them, the server
//                    timing each round trip.  A counted test ends after COUNT
//                    round trips on both sides.  A timed one ends when the
//                    client, past its deadline, reads a message in full and
//                    half-closes instead of echoing it (the server sees EOF
//                    where an echo would start).  Either way the server sends
//                    nothing more but the result, so no payload can be taken
//                    for it: an 80-byte block {"VSPR", u32 N intervals, u64
//                    round trips, seconds, latency min, mean, p50, p90, p99,
//                    p99.9, max in us}, N 40-byte intervals {start s, end s,
//                    u64 round trips, p50, max}, then the server half-closes.
// Header: u32 magic "VSPF", u16 version, u8 mode, u8 direction, u32 size,
// u32 report interval in ms (latency recv, 0: none), u64 bytes (throughput)
// or round trips (latency; 0: timed), u64 duration in ns.  Integers are
// little-endian; real numbers are IEEE-754 doubles sent as little-endian u64.
#include "tool.hpp"

#include <virtsocket/virtsocket.hpp>

#include <endian.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <numeric>
#include <sstream>
#include <vector>

namespace vs = virtsocket;
using json = nlohmann::ordered_json;
using clock_type = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::nanoseconds;

namespace {

constexpr std::string_view prog = "virtsock-perf";
constexpr std::uint32_t wire_magic = 0x46505356;	// "VSPF"
constexpr std::uint32_t result_magic = 0x52505356;	// "VSPR"
constexpr std::uint16_t wire_version = 2;
constexpr std::uint64_t max_size = 64ULL << 20;		// bounds the server's buffer
constexpr std::uint32_t max_intervals = 1U << 20;	// latency recv: reported by the server

enum class test_mode : std::uint8_t { throughput = 0, latency = 1 };
enum class test_direction : std::uint8_t { send = 0, recv = 1 };

struct test_params {
	test_mode mode = test_mode::throughput;
	test_direction direction = test_direction::send;
	std::uint32_t size = 0;
	std::uint64_t bytes = 0;	// throughput; 0: run for duration
	std::uint64_t count = 0;	// latency round trips; 0: run for duration
	nanoseconds duration{0};
	std::uint32_t interval_ms = 0;	// latency recv: the server's report interval
};

std::string_view name(test_mode m) { return m == test_mode::latency ? "latency" : "throughput"; }
std::string_view name(test_direction d) { return d == test_direction::recv ? "recv" : "send"; }

// ---- wire format -------------------------------------------------------------

template <class T>
void put(std::byte* p, T v)
{
	if constexpr (sizeof(T) == 2)
		v = static_cast<T>(htole16(static_cast<std::uint16_t>(v)));
	else if constexpr (sizeof(T) == 4)
		v = static_cast<T>(htole32(static_cast<std::uint32_t>(v)));
	else if constexpr (sizeof(T) == 8)
		v = static_cast<T>(htole64(static_cast<std::uint64_t>(v)));
	std::memcpy(p, &v, sizeof(v));
}

template <class T>
T get(const std::byte* p)
{
	T v;
	std::memcpy(&v, p, sizeof(v));
	if constexpr (sizeof(T) == 2)
		return static_cast<T>(le16toh(static_cast<std::uint16_t>(v)));
	else if constexpr (sizeof(T) == 4)
		return static_cast<T>(le32toh(static_cast<std::uint32_t>(v)));
	else if constexpr (sizeof(T) == 8)
		return static_cast<T>(le64toh(static_cast<std::uint64_t>(v)));
	return v;
}

void put_f64(std::byte* p, double v) { put<std::uint64_t>(p, std::bit_cast<std::uint64_t>(v)); }
double get_f64(const std::byte* p) { return std::bit_cast<double>(get<std::uint64_t>(p)); }

using header_bytes = std::array<std::byte, 32>;
using status_bytes = std::array<std::byte, 8>;
using trailer_bytes = std::array<std::byte, 16>;

header_bytes encode(const test_params& t)
{
	header_bytes h{};
	put<std::uint32_t>(&h[0], wire_magic);
	put<std::uint16_t>(&h[4], wire_version);
	h[6] = std::byte(t.mode);
	h[7] = std::byte(t.direction);
	put<std::uint32_t>(&h[8], t.size);
	put<std::uint32_t>(&h[12], t.interval_ms);
	put<std::uint64_t>(&h[16], t.mode == test_mode::latency ? t.count : t.bytes);
	put<std::uint64_t>(&h[24], static_cast<std::uint64_t>(t.duration.count()));
	return h;
}

// 0 or the errno the server answers with.
int decode(const header_bytes& h, test_params& t)
{
	if (get<std::uint32_t>(&h[0]) != wire_magic)
		return EPROTO;
	if (get<std::uint16_t>(&h[4]) != wire_version)
		return EPROTONOSUPPORT;
	auto mode = std::to_integer<std::uint8_t>(h[6]);
	auto direction = std::to_integer<std::uint8_t>(h[7]);
	t.size = get<std::uint32_t>(&h[8]);
	t.interval_ms = get<std::uint32_t>(&h[12]);
	auto amount = get<std::uint64_t>(&h[16]);
	t.duration = nanoseconds(get<std::uint64_t>(&h[24]));
	if (mode > 1 || direction > 1 || t.size == 0 || t.size > max_size ||
	    (amount == 0 && t.duration.count() <= 0))
		return EINVAL;
	(mode == std::uint8_t(test_mode::latency) ? t.count : t.bytes) = amount;
	t.mode = test_mode(mode);
	t.direction = test_direction(direction);
	return 0;
}

double seconds(clock_type::duration d) { return duration<double>(d).count(); }
double mbps(std::uint64_t bytes, double secs) { return secs > 0 ? bytes / secs / 1e6 : 0.0; }

// ---- statistics ------------------------------------------------------------------

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double pct)
{
	if (sorted.empty())
		return 0;
	auto rank = static_cast<std::size_t>(std::ceil(pct / 100.0 * sorted.size()));
	return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct latency_stats {
	double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

latency_stats summarize(std::vector<double> samples)
{
	latency_stats l;
	if (samples.empty())
		return l;
	std::sort(samples.begin(), samples.end());
	l.min = samples.front();
	l.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
	l.p50 = percentile(samples, 50);
	l.p90 = percentile(samples, 90);
	l.p99 = percentile(samples, 99);
	l.p999 = percentile(samples, 99.9);
	l.max = samples.back();
	return l;
}

struct interval {
	double start, end;
	std::uint64_t bytes;
	std::size_t first_sample, end_sample;	// latency: samples in this interval
	double p50_us = 0, max_us = 0;		// latency, set by summarize()
};

// Splits a run into reporting intervals without allocating per message.
class interval_clock {
public:
	interval_clock(clock_type::time_point t0, double period_s, std::vector<interval>& out)
		: t0_(t0), period_(period_s), out_(out)
	{
		next_ = t0 + std::chrono::duration_cast<clock_type::duration>(duration<double>(period_s));
	}

	void tick(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
	{
		if (period_ <= 0 || now < next_)
			return;
		close(now, bytes, samples);
		next_ = now + std::chrono::duration_cast<clock_type::duration>(duration<double>(period_));
	}

	void close(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
	{
		double end = seconds(now - t0_);
		if (period_ <= 0 || (end <= start_ && bytes == bytes_))
			return;
		out_.push_back({start_, end, bytes - bytes_, samples_, samples, 0, 0});
		start_ = end;
		bytes_ = bytes;
		samples_ = samples;
	}

private:
	clock_type::time_point t0_, next_;
	double period_;
	std::vector<interval>& out_;
	double start_ = 0;
	std::uint64_t bytes_ = 0;
	std::size_t samples_ = 0;
};

// What a latency test measured, on whichever side timed the round trips.
struct latency_report {
	std::uint64_t round_trips = 0;
	double secs = 0;
	latency_stats stats;
	std::vector<interval> intervals;	// p50_us and max_us set
};

json latency_json(const latency_stats& l)
{
	return {{"p50", l.p50}, {"max", l.max},	  {"min", l.min},	{"mean", l.mean},
		{"p90", l.p90}, {"p99", l.p99}, {"p99.9", l.p999}};
}

// The statistics of a whole run, and each interval's p50 and max.
latency_stats summarize(const std::vector<double>& samples_us, std::vector<interval>& intervals)
{
	for (auto& iv : intervals) {
		auto l = summarize({samples_us.begin() + static_cast<std::ptrdiff_t>(iv.first_sample),
				    samples_us.begin() + static_cast<std::ptrdiff_t>(iv.end_sample)});
		iv.p50_us = l.p50;
		iv.max_us = l.max;
	}
	return summarize(samples_us);
}

// The latency recv result: a fixed block, then one record per interval.
using result_bytes = std::array<std::byte, 80>;
using interval_bytes = std::array<std::byte, 40>;

std::vector<std::byte> encode(const latency_report& r)
{
	std::vector<std::byte> b(sizeof(result_bytes) + r.intervals.size() * sizeof(interval_bytes));
	const auto& l = r.stats;
	put<std::uint32_t>(&b[0], result_magic);
	put<std::uint32_t>(&b[4], static_cast<std::uint32_t>(r.intervals.size()));
	put<std::uint64_t>(&b[8], r.round_trips);
	std::size_t at = 16;
	for (double v : {r.secs, l.min, l.mean, l.p50, l.p90, l.p99, l.p999, l.max}) {
		put_f64(&b[at], v);
		at += 8;
	}
	for (const auto& iv : r.intervals) {
		put_f64(&b[at], iv.start);
		put_f64(&b[at + 8], iv.end);
		put<std::uint64_t>(&b[at + 16], iv.end_sample - iv.first_sample);
		put_f64(&b[at + 24], iv.p50_us);
		put_f64(&b[at + 32], iv.max_us);
		at += sizeof(interval_bytes);
	}
	return b;
}

// Reads the result; bytes in the report count both directions.
vs::result<void, vs::error> recv_result(vs::stream_socket& s, std::uint32_t size, latency_report& r)
{
	result_bytes b;
	if (auto e = s.recv_exact(b); !e)
		return e;
	if (get<std::uint32_t>(&b[0]) != result_magic)
		return vs::error(vs::errno_code(EPROTO), "not a virtsock-perf result");
	auto n = get<std::uint32_t>(&b[4]);
	if (n > max_intervals)
		return vs::error(vs::errno_code(EPROTO), std::to_string(n) + " intervals, over the limit of " +
								 std::to_string(max_intervals));
	r.round_trips = get<std::uint64_t>(&b[8]);
	auto& l = r.stats;
	std::size_t at = 16;
	for (double* v : {&r.secs, &l.min, &l.mean, &l.p50, &l.p90, &l.p99, &l.p999, &l.max}) {
		*v = get_f64(&b[at]);
		at += 8;
	}
	std::size_t samples = 0;
	for (std::uint32_t i = 0; i < n; i++) {
		interval_bytes ib;
		if (auto e = s.recv_exact(ib); !e)
			return e;
		auto trips = get<std::uint64_t>(&ib[16]);
		r.intervals.push_back({get_f64(&ib[0]), get_f64(&ib[8]), std::uint64_t{2} * size * trips, samples,
				       samples + trips, get_f64(&ib[24]), get_f64(&ib[32])});
		samples += trips;
	}
	return {};
}

// ---- server --------------------------------------------------------------------

struct served {
	test_params params;
	std::uint64_t bytes = 0;
	std::uint64_t round_trips = 0;
	double secs = 0;
	std::optional<latency_stats> latency;	// latency recv: the server timed it
};

vs::result<void> serve_throughput_send(vs::stream_socket& s, std::span<std::byte> buf, served& out)
{
	auto t0 = clock_type::now();
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)
			break;
		out.bytes += *n;
	}
	auto elapsed = clock_type::now() - t0;
	out.secs = seconds(elapsed);
	trailer_bytes tr{};
	put<std::uint64_t>(&tr[0], out.bytes);
	put<std::uint64_t>(&tr[8], static_cast<std::uint64_t>(nanoseconds(elapsed).count()));
	return s.send_all(tr);
}

vs::result<void> serve_throughput_recv(vs::stream_socket& s, std::span<std::byte> buf, served& out)
{
	const auto& p = out.params;
	auto t0 = clock_type::now();
	auto deadline = t0 + p.duration;
	for (;;) {
		std::size_t n = buf.size();
		if (p.bytes) {
			if (out.bytes >= p.bytes)
				break;
			n = static_cast<std::size_t>(std::min<std::uint64_t>(n, p.bytes - out.bytes));
		} else if (clock_type::now() >= deadline) {
			break;
		}
		if (auto r = s.send_all(buf.first(n)); !r)
			return r;
		out.bytes += n;
	}
	out.secs = seconds(clock_type::now() - t0);
	return s.shutdown(SHUT_WR);
}

vs::result<void> serve_latency_send(vs::stream_socket& s, std::span<std::byte> buf, served& out)
{
	auto t0 = clock_type::now();
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)
			break;
		if (auto r = s.recv_exact(buf.subspan(*n)); !r)
			return r;
		if (auto r = s.send_all(buf); !r)
			return r;
		out.round_trips++;
		out.bytes += 2 * buf.size();
	}
	out.secs = seconds(clock_type::now() - t0);
	return {};
}

// The server sends, the client echoes; ends as the protocol comment says.
vs::result<void> serve_latency_recv(vs::stream_socket& s, std::span<std::byte> buf, served& out)
{
	const auto& p = out.params;
	latency_report rep;
	std::vector<double> samples_us;
	samples_us.reserve(p.count ? std::min<std::uint64_t>(p.count, 1 << 24) : 1 << 20);
	auto t0 = clock_type::now();
	interval_clock iv(t0, p.interval_ms / 1e3, rep.intervals);
	for (auto now = t0; !p.count || samples_us.size() < p.count;) {
		if (auto r = s.send_all(buf); !r)
			return r;
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0) {
			if (p.count)	// a counted test ends on the count only
				return vs::make_error_code(vs::errc::unexpected_eof);
			break;
		}
		if (auto r = s.recv_exact(buf.subspan(*n)); !r)
			return r;
		auto after = clock_type::now();
		samples_us.push_back(duration<double, std::micro>(after - now).count());
		out.bytes += 2 * buf.size();
		now = after;
		if (rep.intervals.size() < max_intervals - 1)
			iv.tick(now, out.bytes, samples_us.size());
	}
	auto end = clock_type::now();
	iv.close(end, out.bytes, samples_us.size());
	rep.secs = out.secs = seconds(end - t0);
	rep.round_trips = out.round_trips = samples_us.size();
	out.latency = rep.stats = summarize(samples_us, rep.intervals);
	if (auto r = s.send_all(encode(rep)); !r)
		return r;
	return s.shutdown(SHUT_WR);
}

// One client, start to end; false when the test failed.
bool serve_one(vs::stream_socket s, bool as_json)
{
	auto peer = s.peer_address();
	std::string who = peer ? peer->to_string() : "?";
	auto fail = [&](const std::string& what) {
		std::cerr << prog << ": client " << who << ": " << what << '\n';
		return false;
	};

	// Clients are served one at a time: one that never sends its header
	// must not hold the server.
	(void)s.set_recv_timeout(std::chrono::seconds(10));
	header_bytes h;
	if (auto r = s.recv_exact(h); !r)
		return fail("reading the test header: " + r.error().message());
	(void)s.set_recv_timeout(std::chrono::seconds(0));
	served out;
	int status = decode(h, out.params);
	status_bytes reply{};
	put<std::uint32_t>(&reply[0], wire_magic);
	put<std::int32_t>(&reply[4], status);
	if (auto r = s.send_all(reply); !r)
		return fail("answering the header: " + r.error().message());
	if (status == EPROTONOSUPPORT)
		return fail("rejected test header: the client speaks wire version " +
			    std::to_string(get<std::uint16_t>(&h[4])) + ", this server version " +
			    std::to_string(wire_version) + " (run the same virtsock-perf on both sides)");
	if (status)
		return fail("rejected test header: " + vs::errno_code(status).message());

	const auto& p = out.params;
	if (p.mode == test_mode::latency)
		(void)s.set_nodelay();	// only tcp and virt have it
	std::vector<std::byte> buf(p.size, std::byte{0x5a});
	vs::result<void> r;
	if (p.mode == test_mode::latency && p.direction == test_direction::recv)
		r = serve_latency_recv(s, buf, out);
	else if (p.mode == test_mode::latency)
		r = serve_latency_send(s, buf, out);
	else if (p.direction == test_direction::send)
		r = serve_throughput_send(s, buf, out);
	else
		r = serve_throughput_recv(s, buf, out);
	if (!r)
		return fail(std::string(name(p.mode)) + " test: " + r.error().message());

	if (as_json) {
		json j = {{"client", who},	     {"mode", name(p.mode)},
			  {"direction", name(p.direction)}, {"size", p.size},
			  {"bytes", out.bytes},	     {"seconds", out.secs}};
		if (p.mode == test_mode::latency)
			j["round_trips"] = out.round_trips;
		if (out.latency)
			j["latency_us"] = latency_json(*out.latency);
		if (p.mode == test_mode::throughput)
			j["throughput_MBps"] = mbps(out.bytes, out.secs);
		std::cout << j.dump() << std::endl;
	} else {
		std::cout << "client " << who << ": " << name(p.mode) << ' ' << name(p.direction) << ", "
			  << p.size << "-byte messages: " << out.bytes << " bytes in " << std::fixed
			  << std::setprecision(3) << out.secs << " s";
		if (p.mode == test_mode::latency)
			std::cout << ", " << out.round_trips << " round trips";
		else
			std::cout << " = " << std::setprecision(2) << mbps(out.bytes, out.secs) << " MB/s";
		std::cout << std::defaultfloat << std::endl;
	}
	return true;
}

int run_server(const vs::address& addr, bool once, bool as_json)
{
	auto l = vs::listener::listen(addr);
	if (!l)
		return tool::fail(prog, tool::exit_runtime, l.error().message());
	auto local = l->local_address();
	// The ready signal scripts wait for (the real port of tcp:...:0).
	std::cerr << prog << ": listening on " << (local ? local->to_string() : addr.to_string())
		  << std::endl;
	for (;;) {
		auto s = l->accept();
		if (!s) {
			std::cerr << prog << ": accept: " << s.error().message() << '\n';
			if (once)
				return tool::exit_runtime;
			continue;
		}
		bool ok = serve_one(std::move(*s), as_json);
		if (once)
			return ok ? tool::exit_ok : tool::exit_runtime;
	}
}

// ---- client --------------------------------------------------------------------

struct client_options {
	vs::address addr;
	std::string uri;
	test_params params;
	std::uint64_t count = 0;	// latency round trips, overrides bytes/time
	double time_s = 0;
	double interval_s = 1;
	int buffer = 0;
	std::chrono::milliseconds connect_timeout{5000};
};

struct outcome {
	std::vector<interval> intervals;
	std::uint64_t bytes = 0;	// moved by the client (sent or received)
	std::uint64_t messages = 0;
	double secs = 0;
	std::optional<std::pair<std::uint64_t, double>> receiver;	// server's count, send tests
	latency_stats latency;	// whoever timed the round trips; intervals have p50 and max
	std::string local, peer;
};

vs::result<void> client_throughput_send(vs::stream_socket& s, const client_options& o,
					std::span<std::byte> buf, outcome& out)
{
	const auto& p = o.params;
	auto t0 = clock_type::now();
	auto deadline = t0 + p.duration;
	interval_clock iv(t0, o.interval_s, out.intervals);
	for (auto now = t0;;) {
		std::size_t n = buf.size();
		if (p.bytes) {
			if (out.bytes >= p.bytes)
				break;
			n = static_cast<std::size_t>(std::min<std::uint64_t>(n, p.bytes - out.bytes));
		} else if (now >= deadline) {
			break;
		}
		if (auto r = s.send_all(buf.first(n)); !r)
			return r;
		out.bytes += n;
		out.messages++;
		now = clock_type::now();
		iv.tick(now, out.bytes, 0);
	}
	if (auto r = s.shutdown(SHUT_WR); !r)
		return r;
	trailer_bytes tr;
	if (auto r = s.recv_exact(tr); !r)
		return r;
	auto end = clock_type::now();
	iv.close(end, out.bytes, 0);
	out.secs = seconds(end - t0);
	out.receiver = {get<std::uint64_t>(&tr[0]), get<std::uint64_t>(&tr[8]) / 1e9};
	return {};
}

vs::result<void> client_throughput_recv(vs::stream_socket& s, const client_options& o,
					std::span<std::byte> buf, outcome& out)
{
	auto t0 = clock_type::now();
	interval_clock iv(t0, o.interval_s, out.intervals);
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)
			break;
		out.bytes += *n;
		out.messages++;
		iv.tick(clock_type::now(), out.bytes, 0);
	}
	auto end = clock_type::now();
	iv.close(end, out.bytes, 0);
	out.secs = seconds(end - t0);
	return {};
}

vs::result<void> client_latency_send(vs::stream_socket& s, const client_options& o,
				     std::span<std::byte> buf, outcome& out)
{
	const auto& p = o.params;
	std::vector<double> samples_us;
	samples_us.reserve(p.count ? std::min<std::uint64_t>(p.count, 1 << 24) : 1 << 20);
	auto t0 = clock_type::now();
	auto deadline = t0 + p.duration;
	interval_clock iv(t0, o.interval_s, out.intervals);
	for (auto now = t0; p.count ? out.messages < p.count : now < deadline;) {
		if (auto r = s.send_all(buf); !r)
			return r;
		if (auto r = s.recv_exact(buf); !r)
			return r;
		auto after = clock_type::now();
		samples_us.push_back(duration<double, std::micro>(after - now).count());
		out.messages++;
		out.bytes += 2 * buf.size();
		now = after;
		iv.tick(now, out.bytes, samples_us.size());
	}
	auto end = clock_type::now();
	iv.close(end, out.bytes, samples_us.size());
	out.secs = seconds(end - t0);
	out.latency = summarize(samples_us, out.intervals);
	return s.shutdown(SHUT_WR);
}

// Echoes what the server sends, then reads the server's measurements.
vs::result<void, vs::error> client_latency_recv(vs::stream_socket& s, const client_options& o,
						std::span<std::byte> buf, outcome& out)
{
	const auto& p = o.params;
	// The server's clock starts before its first message, so a deadline counted
	// from that message keeps the server's timed window at least p.duration long.
	std::optional<clock_type::time_point> deadline;
	for (;;) {
		if (p.count && out.messages == p.count)
			break;
		if (auto r = s.recv_exact(buf); !r)
			return r;
		auto now = clock_type::now();
		if (!deadline)
			deadline = now + p.duration;
		if (!p.count && now >= *deadline) {
			// Not echoed: the server reads EOF instead and sends the result.
			if (auto r = s.shutdown(SHUT_WR); !r)
				return r;
			break;
		}
		if (auto r = s.send_all(buf); !r)
			return r;
		out.messages++;
	}
	latency_report rep;
	if (auto r = recv_result(s, p.size, rep); !r)
		return vs::error(r.error().code, "reading the server's result: " + r.error().message());
	if (rep.round_trips != out.messages)
		return vs::error(vs::errno_code(EPROTO),
				 "the server timed " + std::to_string(rep.round_trips) +
					 " round trips, the client echoed " + std::to_string(out.messages));
	std::byte extra;
	auto n = s.recv(std::span(&extra, 1));
	if (!n)
		return vs::with_context(n.error(), "waiting for the server to close");
	if (*n != 0)
		return vs::error(vs::errno_code(EPROTO), "the server sent data after its result");
	out.bytes = 2ULL * p.size * rep.round_trips;
	out.secs = rep.secs;
	out.latency = rep.stats;
	out.intervals = std::move(rep.intervals);
	return {};
}

vs::result<outcome, vs::error> run_client(const client_options& o)
{
	auto s = vs::connector(o.connect_timeout).connect(o.addr);
	if (!s)
		return s.error();
	outcome out;
	if (auto a = s->local_address())
		out.local = a->to_string();
	if (auto a = s->peer_address())
		out.peer = a->to_string();
	const auto& p = o.params;
	if (o.buffer > 0) {
		(void)s->set_send_buffer_size(o.buffer);
		(void)s->set_recv_buffer_size(o.buffer);
	}
	if (p.mode == test_mode::latency)
		(void)s->set_nodelay();

	if (auto r = s->send_all(encode(p)); !r)
		return vs::with_context(r.error(), "sending the test header");
	status_bytes reply;
	if (auto r = s->recv_exact(reply); !r)
		return vs::with_context(r.error(), "reading the server's answer");
	if (get<std::uint32_t>(&reply[0]) != wire_magic)
		return vs::error(vs::errno_code(EPROTO), "the server is not a virtsock-perf server");
	if (int status = get<std::int32_t>(&reply[4]); status == EPROTONOSUPPORT)
		return vs::error(vs::errno_code(status),
				 "the server rejected the test: it speaks another virtsock-perf wire version "
				 "(this client: version " + std::to_string(wire_version) +
					 "); run the same virtsock-perf on both sides");
	else if (status)
		return vs::with_context(vs::errno_code(status), "the server rejected the test");

	std::vector<std::byte> buf(p.size, std::byte{0xa5});
	vs::result<void, vs::error> r;
	if (p.mode == test_mode::latency && p.direction == test_direction::recv)
		r = client_latency_recv(*s, o, buf, out);
	else if (p.mode == test_mode::latency)
		r = client_latency_send(*s, o, buf, out);
	else if (p.direction == test_direction::send)
		r = client_throughput_send(*s, o, buf, out);
	else
		r = client_throughput_recv(*s, o, buf, out);
	if (!r)
		return vs::error(r.error().code, std::string(name(p.mode)) + " test: " + r.error().message());
	return out;
}

// ---- reports ---------------------------------------------------------------------

std::string iso_time_now()
{
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	gmtime_r(&t, &tm);
	std::ostringstream s;
	s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
	return s.str();
}

json to_json(const client_options& o, const outcome& out)
{
	const auto& p = o.params;
	bool latency = p.mode == test_mode::latency;
	json start = {
		{"version", std::string(prog) + " " + VIRTSOCKET_VERSION},
		{"timestamp", {{"time", iso_time_now()}, {"timesecs", std::time(nullptr)}}},
		{"transport", vs::to_string(o.addr.kind())},
		{"uri", o.uri},
		{"connected", {{"local", out.local}, {"peer", out.peer}}},
		{"size", p.size},
		{"mode", name(p.mode)},
		{"direction", name(p.direction)},
		{"bytes", p.bytes ? json(p.bytes) : json(nullptr)},
		{"time", p.bytes || o.count ? json(nullptr) : json(o.time_s)},
		{"interval", o.interval_s},
	};
	if (latency)
		start["round_trips"] = o.count ? json(o.count) : json(nullptr);

	json intervals = json::array();
	for (const auto& iv : out.intervals) {
		json j = {{"start", iv.start}, {"end", iv.end}, {"seconds", iv.end - iv.start},
			  {"bytes", iv.bytes}};
		if (latency) {
			j["round_trips"] = iv.end_sample - iv.first_sample;
			j["latency_us"] = {{"p50", iv.p50_us}, {"max", iv.max_us}};
		} else {
			j["throughput_MBps"] = mbps(iv.bytes, iv.end - iv.start);
		}
		intervals.push_back(std::move(j));
	}

	json end = {{"bytes", out.bytes}, {"seconds", out.secs}};
	if (latency) {
		end["round_trips"] = out.messages;
		end["latency_us"] = latency_json(out.latency);
	} else {
		end["messages"] = out.messages;
		end["throughput_MBps"] = mbps(out.bytes, out.secs);
		if (out.receiver)
			end["receiver"] = {{"bytes", out.receiver->first},
					   {"seconds", out.receiver->second}};
	}
	return {{"start", std::move(start)}, {"intervals", std::move(intervals)}, {"end", std::move(end)}};
}

void print_human(const client_options& o, const json& doc, bool header)
{
	const auto& p = o.params;
	const auto& end = doc["end"];
	bool latency = p.mode == test_mode::latency;
	auto& os = std::cout;
	os << std::fixed;
	if (header) {
		os << prog << ": " << o.uri << ", " << name(p.mode) << ", "
		   << (p.direction == test_direction::send ? "client sends" : "server sends") << ", "
		   << p.size << "-byte messages\n";
		if (latency)
			os << "  interval (s)     round trips   p50 us    max us\n";
		else
			os << "  interval (s)           bytes      MB/s\n";
	}
	for (const auto& iv : doc["intervals"]) {
		os << "  " << std::setprecision(2) << std::setw(6) << iv["start"].get<double>() << "-"
		   << std::setw(6) << iv["end"].get<double>();
		if (latency)
			os << std::setw(16) << iv["round_trips"].get<std::uint64_t>() << std::setw(9)
			   << iv["latency_us"]["p50"].get<double>() << std::setw(10)
			   << iv["latency_us"]["max"].get<double>() << '\n';
		else
			os << std::setw(16) << iv["bytes"].get<std::uint64_t>() << std::setw(10)
			   << iv["throughput_MBps"].get<double>() << '\n';
	}
	os << "  " << std::setprecision(2) << std::setw(6) << 0.0 << "-" << std::setw(6)
	   << end["seconds"].get<double>();
	if (latency) {
		const auto& l = end["latency_us"];
		os << std::setw(16) << end["round_trips"].get<std::uint64_t>() << "  total\n"
		   << "  latency (us): min " << l["min"].get<double>() << "  p50 " << l["p50"].get<double>()
		   << "  p90 " << l["p90"].get<double>() << "  p99 " << l["p99"].get<double>()
		   << "  p99.9 " << l["p99.9"].get<double>() << "  max " << l["max"].get<double>() << '\n';
	} else {
		os << std::setw(16) << end["bytes"].get<std::uint64_t>() << std::setw(10)
		   << end["throughput_MBps"].get<double>() << "  total\n";
	}
	os << std::defaultfloat;
}

} // namespace

int main(int argc, char** argv)
{
	CLI::App app{"Measure throughput and latency between a client and a server over\n"
		     "virt:, vsock:, unix: or tcp: stream sockets.  One server runs any\n"
		     "test: the client sends the parameters when it connects.",
		     std::string(prog)};
	std::string server_uri, client_uri, mode_name = "throughput", direction_name = "send";
	std::uint64_t size = 0, bytes = 0, count = 0;
	std::vector<std::uint64_t> sweep;
	client_options o;
	double time_s = 0;
	bool as_json = false, once = false;

	auto* srv = app.add_option("-s,--server", server_uri, "Serve tests on URI (clients one at a time)");
	auto* cli = app.add_option("-c,--client", client_uri, "Run a test against the server at URI");
	srv->excludes(cli);
	app.add_flag("--once", once, "Server: exit after the first client (status: its test's)");
	auto* size_opt = app.add_option("--size", size, "Message size in bytes (K, M suffixes: 1024s)")
				 ->transform(CLI::AsSizeValue(false));
	auto* bytes_opt = app.add_option("--bytes", bytes, "Stop after N bytes (K, M, G suffixes)")
				  ->transform(CLI::AsSizeValue(false));
	auto* time_opt = app.add_option("--time", time_s, "Stop after SECONDS (default 10)")
				 ->check(CLI::PositiveNumber);
	auto* count_opt = app.add_option("--count", count, "Latency: stop after N round trips")
				  ->check(CLI::PositiveNumber);
	bytes_opt->excludes(time_opt);
	count_opt->excludes(time_opt)->excludes(bytes_opt);
	app.add_option("--mode", mode_name,
		       "throughput or latency (round trips of --size bytes; with --direction recv\n"
		       "the server starts each one and the client echoes)")
		->check(CLI::IsMember({"throughput", "latency"}));
	app.add_option("--direction", direction_name, "send: client to server; recv: server to client")
		->check(CLI::IsMember({"send", "recv"}));
	app.add_option("--sweep", sweep, "Run one test per message size, e.g. 64,1K,64K")
		->delimiter(',')
		->transform(CLI::AsSizeValue(false))
		->excludes(size_opt);
	app.add_option("-i,--interval", o.interval_s, "Report every SECONDS (0: no intervals; default 1)")
		->check(CLI::NonNegativeNumber);
	app.add_option("--buffer", o.buffer, "Client: SO_SNDBUF and SO_RCVBUF in bytes")
		->check(CLI::PositiveNumber);
	app.add_flag("-J,--json", as_json, "Print one JSON document (server: one line per test)");
	app.footer("Exit status: 0 done, 1 connection, I/O or test error, 2 usage error.");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;

	auto usage = [](const std::string& m) { return tool::fail(prog, tool::exit_usage, m); };
	if (server_uri.empty() && client_uri.empty())
		return usage("give --server URI or --client URI (see --help)");
	auto addr = vs::address::parse(server_uri.empty() ? client_uri : server_uri);
	if (!addr)
		return usage(addr.error().message());
	if (!server_uri.empty())
		return run_server(*addr, once, as_json);

	if (sweep.empty() && !*size_opt)
		return usage("--client needs --size (or --sweep)");
	if (sweep.empty())
		sweep.push_back(size);
	for (auto s : sweep)
		if (s == 0 || s > max_size)
			return usage("message size " + std::to_string(s) + " is outside 1.." +
				     std::to_string(max_size));
	if (*bytes_opt && bytes == 0)
		return usage("--bytes must be positive");
	if (count && mode_name != "latency")
		return usage("--count needs --mode latency");

	o.addr = *addr;
	o.uri = client_uri;
	o.count = count;
	o.time_s = *time_opt ? time_s : 10.0;
	o.params.mode = mode_name == "latency" ? test_mode::latency : test_mode::throughput;
	o.params.direction = direction_name == "recv" ? test_direction::recv : test_direction::send;
	o.params.bytes = bytes;
	o.params.duration = std::chrono::duration_cast<nanoseconds>(duration<double>(o.time_s));
	// Latency recv: the server reports intervals, in whole milliseconds.
	if (o.interval_s > 0)
		o.params.interval_ms = static_cast<std::uint32_t>(
			std::clamp<double>(std::round(o.interval_s * 1e3), 1, UINT32_MAX));

	json docs = json::array();
	for (std::size_t i = 0; i < sweep.size(); i++) {
		o.params.size = static_cast<std::uint32_t>(sweep[i]);
		if (o.params.mode == test_mode::latency)	// 0: timed
			o.params.count = count ? count : (bytes + sweep[i] - 1) / sweep[i];
		auto out = run_client(o);
		if (!out) {
			if (as_json)
				std::cout << json{{"error", out.error().message()}}.dump(2) << std::endl;
			return tool::fail(prog, tool::exit_runtime, out.error().message());
		}
		json doc = to_json(o, *out);
		if (!as_json)
			print_human(o, doc, true);
		docs.push_back(std::move(doc));
	}
	if (as_json)
		std::cout << (docs.size() == 1 ? docs[0] : json{{"sweep", docs}}).dump(2) << std::endl;
	return tool::exit_ok;
}
