#include "stream.hpp"

#include "pattern.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <thread>

namespace perf {

using std::chrono::duration;

test_direction stream_direction(const test_params& p, std::uint32_t index)
{
	if (p.direction != test_direction::bidir)
		return p.direction;
	return index < p.streams ? test_direction::send : test_direction::recv;
}

const mode_entry& mode_of(const test_params& p, std::uint32_t index)
{
	auto d = stream_direction(p, index);
	for (const auto& m : modes)
		if (m.mode == p.mode && m.direction == d)
			return m;
	return modes[0];	// unreachable: decode() and the CLI admit table entries only
}

std::uint64_t stream_bytes(const test_params& p, std::uint32_t index)
{
	std::uint32_t i = index % p.streams;
	return p.bytes / p.streams + (i < p.bytes % p.streams ? 1 : 0);
}

// ---- results on the wire -----------------------------------------------------------

// The counts a document has only when the run made them, by their keys.
constexpr std::array<std::pair<const char*, std::optional<std::uint64_t> stream_result::*>, 3> optional_counts = {{
	{"bytes_total", &stream_result::bytes_total},
	{"round_trips_total", &stream_result::round_trips_total},
	{"verified_bytes", &stream_result::verified_bytes},
}};

json to_json(const stream_result& r, bool with_intervals)
{
	json j = {{"bytes", r.bytes}, {"seconds", r.seconds}, {"round_trips", r.round_trips}};
	for (auto [key, member] : optional_counts)
		if (r.*member)
			j[key] = *(r.*member);
	if (r.rtt) {
		const auto& l = *r.rtt;
		j["rtt_us"] = {{"min", l.min}, {"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90},
			       {"p99", l.p99}, {"p99_9", l.p99_9}, {"max", l.max}};
	}
	if (with_intervals) {
		json ivs = json::array();
		for (const auto& iv : r.intervals)
			ivs.push_back({iv.start, iv.end, iv.bytes, iv.round_trips(), iv.omitted, iv.p50_us,
				       iv.max_us});
		j["intervals"] = std::move(ivs);
	}
	return j;
}

std::optional<stream_result> stream_result_from_json(const json& j)
{
	try {
		stream_result r;
		r.bytes = j.at("bytes").get<std::uint64_t>();
		r.seconds = j.at("seconds").get<double>();
		r.round_trips = j.at("round_trips").get<std::uint64_t>();
		for (auto [key, member] : optional_counts)
			if (j.contains(key))
				r.*member = j[key].get<std::uint64_t>();
		if (j.contains("rtt_us")) {
			const auto& l = j["rtt_us"];
			r.rtt = latency_stats{l.at("min").get<double>(),  l.at("mean").get<double>(),
					      l.at("p50").get<double>(),  l.at("p90").get<double>(),
					      l.at("p99").get<double>(),  l.at("p99_9").get<double>(),
					      l.at("max").get<double>()};
		}
		std::size_t samples = 0;
		if (j.contains("intervals")) {
			if (j["intervals"].size() > max_intervals)
				return std::nullopt;
			for (const auto& iv : j["intervals"]) {
				auto trips = iv.at(3).get<std::uint64_t>();
				r.intervals.push_back({iv.at(0).get<double>(), iv.at(1).get<double>(),
						       iv.at(2).get<std::uint64_t>(), samples, samples + trips,
						       iv.at(4).get<bool>(), iv.at(5).get<double>(),
						       iv.at(6).get<double>()});
				samples += trips;
			}
		}
		return r;
	} catch (const json::exception&) {
		return std::nullopt;
	}
}

json to_json(const machine_cpu& m)
{
	return {{"busy", m.busy},   {"idle", m.idle}, {"steal", m.steal},
		{"total", m.total}, {"cpus", m.cpus}, {"seconds", m.seconds}};
}

std::optional<machine_cpu> machine_cpu_from_json(const json& j)
{
	try {
		return machine_cpu{j.at("busy").get<double>(),	j.at("idle").get<double>(),
				   j.at("steal").get<double>(), j.at("total").get<double>(),
				   j.at("seconds").get<double>(), j.at("cpus").get<unsigned>()};
	} catch (const json::exception&) {
		return std::nullopt;
	}
}

// ---- the roles ------------------------------------------------------------------------

namespace {

clock_type::duration period(const test_params& p)
{
	return std::chrono::milliseconds(p.interval_ms);
}

// The peer's end of stream after ours: anything else is a protocol error.
vs::result<void, vs::error> expect_eof(vs::stream_socket& s)
{
	std::byte extra;
	auto n = s.recv(std::span(&extra, 1));
	if (!n)
		return vs::with_context(n.error(), "waiting for the peer's end of stream");
	if (*n != 0)
		return vs::error(vs::errno_code(EPROTO), "the peer sent data after the test");
	return {};
}

void finish(interval_clock& iv, std::uint64_t moved, std::size_t samples, stream_result& out)
{
	iv.close(clock_type::now(), moved, samples);
	out.bytes = iv.measured_bytes();
	out.bytes_total = iv.total_bytes();
	out.seconds = iv.measured_seconds();
}

std::optional<pattern> pattern_of(const test_params& p, std::uint32_t index)
{
	return p.verify ? std::optional<pattern>(std::in_place, p.cookie, index) : std::nullopt;
}

vs::error mismatch_error(const pattern& pat, std::span<const std::byte> in, std::uint64_t at, std::uint64_t bad)
{
	return vs::error(vs::errno_code(EBADMSG), mismatch_message(pat, in, at, bad));
}

vs::result<void, vs::error> sender(vs::stream_socket& s, const test_params& p, std::uint32_t index,
				   clock_type::time_point t0, stream_result& out)
{
	std::vector<std::byte> buf(p.size, std::byte{0xa5});
	const auto pat = pattern_of(p, index);
	const auto quota = stream_bytes(p, index);
	const auto deadline = t0 + p.omit + p.duration;
	interval_clock iv(t0, period(p), p.omit, &out.intervals);
	std::uint64_t sent = 0;
	for (auto now = t0;;) {
		std::size_t n = buf.size();
		if (p.bytes) {
			if (sent >= quota)
				break;
			n = static_cast<std::size_t>(std::min<std::uint64_t>(n, quota - sent));
		} else if (now >= deadline) {
			break;
		}
		if (pat)
			pat->fill(std::span(buf).first(n), sent);
		if (auto r = s.send_all(std::span(buf).first(n)); !r)
			return r.error();
		sent += n;
		now = clock_type::now();
		iv.tick(now, sent, 0);
	}
	finish(iv, sent, 0, out);
	if (auto r = s.shutdown(SHUT_WR); !r)
		return r.error();
	return expect_eof(s);
}

vs::result<void, vs::error> receiver(vs::stream_socket& s, const test_params& p, std::uint32_t index,
				     clock_type::time_point t0, stream_result& out)
{
	std::vector<std::byte> buf(p.size);
	const auto pat = pattern_of(p, index);
	interval_clock iv(t0, period(p), p.omit, &out.intervals);
	std::uint64_t got = 0;
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)
			break;
		if (pat) {
			auto in = std::span<const std::byte>(buf).first(*n);
			if (auto bad = pat->mismatch(in, got))
				return mismatch_error(*pat, in, got, *bad);
		}
		got += *n;
		iv.tick(clock_type::now(), got, 0);
	}
	finish(iv, got, 0, out);
	if (pat)
		out.verified_bytes = got;
	if (auto r = s.shutdown(SHUT_WR); !r)
		return r.error();
	return {};
}

vs::result<void, vs::error> initiator(vs::stream_socket& s, const test_params& p, std::uint32_t index,
				      clock_type::time_point t0, stream_result& out)
{
	std::vector<std::byte> buf(p.size, std::byte{0x5a});
	const auto pat = pattern_of(p, index);
	std::vector<std::byte> echo(pat ? p.size : 0);	// --verify: the echo apart from what was sent
	std::vector<double> samples_us;
	samples_us.reserve(p.count ? std::min<std::uint64_t>(p.count, 1 << 24) : 1 << 20);
	const auto deadline = t0 + p.omit + p.duration;
	interval_clock iv(t0, period(p), p.omit, &out.intervals);
	std::uint64_t moved = 0;
	for (auto now = t0; p.count ? samples_us.size() < p.count : now < deadline;) {
		const std::uint64_t at = std::uint64_t{p.size} * samples_us.size();
		if (pat)
			pat->fill(buf, at);
		if (auto r = s.send_all(buf); !r)
			return r.error();
		if (auto r = s.recv_exact(pat ? std::span(echo) : std::span(buf)); !r)
			return r.error();
		auto after = clock_type::now();
		if (pat && std::memcmp(echo.data(), buf.data(), buf.size()) != 0) {
			if (auto bad = pat->mismatch(echo, at))
				return vs::error(vs::errno_code(EBADMSG),
						 "echo: " + mismatch_message(*pat, echo, at, *bad));
		}
		samples_us.push_back(duration<double, std::micro>(after - now).count());
		moved += 2ULL * buf.size();
		now = after;
		if (out.intervals.size() < max_intervals - 1)
			iv.tick(now, moved, samples_us.size());
	}
	finish(iv, moved, samples_us.size(), out);
	out.round_trips = samples_us.size() - iv.first_measured_sample();
	out.round_trips_total = samples_us.size();
	if (pat)
		out.verified_bytes = std::uint64_t{p.size} * samples_us.size();
	out.rtt = summarize(samples_us, iv.first_measured_sample(), out.intervals);
	if (auto r = s.shutdown(SHUT_WR); !r)
		return r.error();
	return expect_eof(s);
}

vs::result<void, vs::error> echoer(vs::stream_socket& s, const test_params& p, std::uint32_t index,
				   clock_type::time_point t0, stream_result& out)
{
	std::vector<std::byte> buf(p.size);
	const auto pat = pattern_of(p, index);
	interval_clock iv(t0, period(p), p.omit, &out.intervals);
	std::uint64_t moved = 0, trips = 0;
	for (;;) {
		auto n = s.recv(buf);
		if (!n)
			return n.error();
		if (*n == 0)	// only between messages: recv_exact below fails mid-message
			break;
		if (auto r = s.recv_exact(std::span(buf).subspan(*n)); !r)
			return r.error();
		if (pat) {
			const std::uint64_t at = std::uint64_t{p.size} * trips;
			if (auto bad = pat->mismatch(buf, at))
				return mismatch_error(*pat, buf, at, *bad);
		}
		if (auto r = s.send_all(buf); !r)
			return r.error();
		moved += 2ULL * buf.size();
		trips++;
		iv.tick(clock_type::now(), moved, trips);
	}
	finish(iv, moved, trips, out);
	out.round_trips = trips - iv.first_measured_sample();
	out.round_trips_total = trips;
	if (pat)
		out.verified_bytes = std::uint64_t{p.size} * trips;
	if (auto r = s.shutdown(SHUT_WR); !r)
		return r.error();
	return {};
}

} // namespace

vs::result<void, vs::error> run_role(role r, vs::stream_socket& s, const test_params& p, std::uint32_t index,
				     clock_type::time_point t0, stream_result& out)
{
	switch (r) {
	case role::sender:
		return sender(s, p, index, t0, out);
	case role::receiver:
		return receiver(s, p, index, t0, out);
	case role::initiator:
		return initiator(s, p, index, t0, out);
	case role::echoer:
		return echoer(s, p, index, t0, out);
	}
	return vs::error(vs::errno_code(EINVAL), "no such role");
}

std::string io_error(const vs::error& e, std::chrono::milliseconds idle_timeout)
{
	// SO_RCVTIMEO and SO_SNDTIMEO expire as EAGAIN on a blocking socket.
	if (idle_timeout.count() > 0 && (e.code == std::errc::resource_unavailable_try_again ||
					 e.code == std::errc::operation_would_block)) {
		std::ostringstream s;
		s << "idle for " << seconds(idle_timeout)
		  << " s: the peer stopped sending or reading (--idle-timeout)";
		return s.str();
	}
	return e.message();
}

streams_outcome run_streams(bool client_end, std::vector<vs::stream_socket>& streams, const test_params& p)
{
	streams_outcome out;
	out.results.resize(streams.size());
	out.errors.resize(streams.size());
	auto cpu0 = cpu_now();
	auto t0 = clock_type::now();
	// The machine's CPU time over what the figures measure: from the end
	// of a timed warm-up (a thread wakes for it) to the end.
	// (Read after the threads are joined: the join orders the write.)
	std::optional<machine_snapshot> m0 = machine_now();
	{
		std::jthread warm_up_end;
		if (p.omit.count() > 0 && p.duration.count() > 0)
			warm_up_end = std::jthread([&m0, at = t0 + p.omit](std::stop_token stop) {
				std::mutex m;
				std::condition_variable_any cv;
				std::unique_lock lock(m);
				(void)cv.wait_until(lock, stop, at, [] { return false; });
				if (!stop.stop_requested())	// else the streams ended first (an error)
					m0 = machine_now();
			});
		std::vector<std::jthread> threads;
		for (std::uint32_t i = 0; i < streams.size(); i++)
			threads.emplace_back([&, i] {
				const auto& m = mode_of(p, i);
				if (auto r = run_role(client_end ? m.client : m.server, streams[i], p, i, t0,
						      out.results[i]);
				    !r)
					out.errors[i] = r.error();
			});
	}
	out.cpu = cpu_between(cpu0, cpu_now());
	auto m1 = machine_now();
	if (m0 && m1)
		out.machine = machine_between(*m0, *m1, user_hz());
	return out;
}

} // namespace perf
