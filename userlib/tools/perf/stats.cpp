#include "stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>

namespace perf {

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

double bits_per_second(std::uint64_t bytes, double secs)
{
	return secs > 0 ? static_cast<double>(bytes) * 8 / secs : 0.0;
}

double percentile(const std::vector<double>& sorted, double pct)
{
	if (sorted.empty())
		return 0;
	// The rank is computed in integers of 1/1000 %: pct / 100 * n in
	// floating point puts p99.9 of 1000 samples at rank 1000 (999.0000001).
	auto milli = static_cast<std::uint64_t>(std::llround(pct * 1000));
	auto rank = (milli * sorted.size() + 100000 - 1) / 100000;
	return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

latency_stats summarize(std::vector<double> samples)
{
	latency_stats l;
	if (samples.empty())
		return l;
	std::sort(samples.begin(), samples.end());
	l.min = samples.front();
	l.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
	l.p50 = percentile(samples, 50);
	l.p90 = percentile(samples, 90);
	l.p99 = percentile(samples, 99);
	l.p99_9 = percentile(samples, 99.9);
	l.max = samples.back();
	return l;
}

latency_stats summarize(const std::vector<double>& samples_us, std::size_t from,
			std::vector<interval>& intervals)
{
	auto at = [&](std::size_t i) { return samples_us.begin() + static_cast<std::ptrdiff_t>(i); };
	for (auto& iv : intervals) {
		auto l = summarize({at(iv.first_sample), at(iv.end_sample)});
		iv.p50_us = l.p50;
		iv.max_us = l.max;
	}
	return summarize({at(std::min(from, samples_us.size())), samples_us.end()});
}

interval_clock::interval_clock(clock_type::time_point t0, clock_type::duration period,
			       clock_type::duration omit, std::vector<interval>* out)
	: t0_(t0), m0_(t0 + omit), start_(t0), end_(t0), period_(period), out_(out),
	  measuring_(omit.count() <= 0)
{
	if (period_.count() <= 0)
		out_ = nullptr;
	next_ = clock_type::time_point::max();
	if (!measuring_)
		next_ = m0_;
	if (out_)
		next_ = std::min(next_, t0_ + period_);
}

void interval_clock::record(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
{
	out_->push_back({seconds(start_ - t0_), seconds(now - t0_), bytes - last_bytes_, last_samples_, samples,
			 start_ < m0_, 0, 0});
	start_ = now;
	last_bytes_ = bytes;
	last_samples_ = samples;
}

void interval_clock::advance(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
{
	if (out_)
		record(now, bytes, samples);
	if (!measuring_ && now >= m0_) {
		measuring_ = true;
		omit_bytes_ = bytes;
		omit_samples_ = samples;
		m0_ = now;	// the measured time starts where its bytes do
	}
	// The first boundary after now: counted from the start (or from the
	// warm-up's end), never from the late tick.
	next_ = clock_type::time_point::max();
	if (!measuring_)
		next_ = m0_;
	if (out_) {
		auto base = measuring_ ? m0_ : t0_;
		auto k = (now - base) / period_ + 1;
		next_ = std::min(next_, base + k * period_);
	}
}

void interval_clock::close(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
{
	if (out_ && (bytes > last_bytes_ || samples > last_samples_)) {
		// A sliver past the last boundary (a receiver's data still in
		// flight there) joins the interval before it, as iperf3 leaves
		// out tails under a tenth of an interval.
		bool sliver = !out_->empty() && (now - start_) * 10 < period_ && start_ > m0_;
		if (sliver) {
			auto& last = out_->back();
			last.end = seconds(now - t0_);
			last.bytes += bytes - last_bytes_;
			last.end_sample = samples;
			last_bytes_ = bytes;
			last_samples_ = samples;
		} else {
			record(now, bytes, samples);
		}
	}
	if (!measuring_) {	// ended in its warm-up: nothing measured
		measuring_ = true;
		omit_bytes_ = bytes;
		omit_samples_ = samples;
		m0_ = now;
	}
	bytes_ = bytes;
	end_ = now;
}

double interval_clock::measured_seconds() const { return seconds(end_ - m0_); }

cpu_times cpu_now()
{
	rusage ru{};
	getrusage(RUSAGE_SELF, &ru);
	auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
	return {secs(ru.ru_utime), secs(ru.ru_stime), clock_type::now()};
}

cpu_usage cpu_between(const cpu_times& a, const cpu_times& b)
{
	double wall = seconds(b.wall - a.wall);
	if (wall <= 0)
		return {};
	cpu_usage u;
	u.user = std::max(0.0, b.user - a.user) / wall * 100;
	u.system = std::max(0.0, b.system - a.system) / wall * 100;
	u.total = u.user + u.system;
	return u;
}

std::optional<machine_ticks> parse_proc_stat(std::string_view text)
{
	std::optional<machine_ticks> m;
	unsigned cpus = 0;
	while (!text.empty()) {
		auto eol = text.find('\n');
		auto line = text.substr(0, eol);
		text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
		if (line.size() > 3 && line.starts_with("cpu") && line[3] >= '0' && line[3] <= '9') {
			cpus++;
			continue;
		}
		if (!line.starts_with("cpu "))
			continue;
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		std::uint64_t f[8] = {};
		std::size_t n = 0;
		auto rest = line.substr(4);
		while (n < 8) {
			auto start = rest.find_first_not_of(' ');
			if (start == std::string_view::npos)
				break;
			rest = rest.substr(start);
			std::uint64_t v = 0;
			auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
			if (ec != std::errc() || (end != rest.data() + rest.size() && *end != ' '))
				return std::nullopt;
			f[n++] = v;
			rest = rest.substr(static_cast<std::size_t>(end - rest.data()));
		}
		if (n < 7)	// steal came with Linux 2.6.11; the rest is older
			return std::nullopt;
		machine_ticks t;
		t.busy = f[0] + f[1] + f[2] + f[5] + f[6];
		t.idle = f[3] + f[4];
		t.steal = f[7];
		t.total = t.busy + t.idle + t.steal;
		m = t;
	}
	if (!m || cpus == 0)
		return std::nullopt;
	m->cpus = cpus;
	return m;
}

std::optional<machine_snapshot> machine_now()
{
	std::ifstream f("/proc/stat");
	if (!f)
		return std::nullopt;
	std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	auto t = parse_proc_stat(text);
	if (!t)
		return std::nullopt;
	return machine_snapshot{*t, clock_type::now()};
}

long user_hz()
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? hz : 100;
}

machine_cpu machine_between(const machine_snapshot& a, const machine_snapshot& b, long ticks_per_second)
{
	auto secs = [&](std::uint64_t from, std::uint64_t to) {
		return to > from ? static_cast<double>(to - from) / static_cast<double>(ticks_per_second) : 0.0;
	};
	return {secs(a.ticks.busy, b.ticks.busy), secs(a.ticks.idle, b.ticks.idle), secs(a.ticks.steal, b.ticks.steal),
		secs(a.ticks.total, b.ticks.total),	  seconds(b.wall - a.wall),		 b.ticks.cpus};
}

} // namespace perf
