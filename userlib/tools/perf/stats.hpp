// virtsock-perf statistics: round-trip percentiles, report intervals whose
// boundaries are fixed from the start time, and CPU utilisation.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace perf {

using clock_type = std::chrono::steady_clock;

double seconds(clock_type::duration d);
double bits_per_second(std::uint64_t bytes, double secs);

// Nearest-rank percentile of sorted samples (0 when there are none).
double percentile(const std::vector<double>& sorted, double pct);

struct latency_stats {
	double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, p99_9 = 0, max = 0;
	friend bool operator==(const latency_stats&, const latency_stats&) = default;
};

latency_stats summarize(std::vector<double> samples);

struct interval {
	double start = 0, end = 0;	// seconds since the test's start
	std::uint64_t bytes = 0;
	std::size_t first_sample = 0, end_sample = 0;	// latency: its round trips
	bool omitted = false;				// in the warm-up (-O)
	double p50_us = 0, max_us = 0;			// latency, set by summarize()

	std::uint64_t round_trips() const { return end_sample - first_sample; }
	friend bool operator==(const interval&, const interval&) = default;
};

// Each interval's p50 and max, and the statistics of samples [from, end).
latency_stats summarize(const std::vector<double>& samples_us, std::size_t from,
			std::vector<interval>& intervals);

// Splits a run into report intervals and finds the end of the warm-up.
// Boundaries are t0 + k * period (after the warm-up: its end + k * period),
// so late ticks do not push the later ones back; the warm-up's end is a
// boundary of its own.  tick() is cheap between boundaries.  A tail that
// moved nothing is not an interval; one under a tenth of the period joins
// the interval before it.
class interval_clock {
public:
	// period zero: no intervals (the warm-up is still tracked).
	interval_clock(clock_type::time_point t0, clock_type::duration period, clock_type::duration omit,
		       std::vector<interval>* out = nullptr);

	void tick(clock_type::time_point now, std::uint64_t bytes, std::size_t samples)
	{
		if (now >= next_)
			advance(now, bytes, samples);
	}
	// The end of the run: the tail interval, and the figures below.
	void close(clock_type::time_point now, std::uint64_t bytes, std::size_t samples);

	clock_type::time_point next_boundary() const { return next_; }
	// After close(): what the run measured after its warm-up.
	std::uint64_t measured_bytes() const { return bytes_ - omit_bytes_; }
	std::uint64_t total_bytes() const { return bytes_; }	// the warm-up's too
	std::size_t first_measured_sample() const { return omit_samples_; }
	double measured_seconds() const;

private:
	void advance(clock_type::time_point now, std::uint64_t bytes, std::size_t samples);
	void record(clock_type::time_point now, std::uint64_t bytes, std::size_t samples);

	clock_type::time_point t0_, m0_, next_, start_, end_;
	clock_type::duration period_;
	std::vector<interval>* out_;
	bool measuring_;
	std::uint64_t bytes_ = 0, last_bytes_ = 0, omit_bytes_ = 0;
	std::size_t last_samples_ = 0, omit_samples_ = 0;
};

// This process's CPU time (getrusage) and the wall clock.
struct cpu_times {
	double user = 0, system = 0;	// seconds
	clock_type::time_point wall;
};
cpu_times cpu_now();

// Per cent of one CPU over [a, b], as iperf3 reports it (may exceed 100
// with several threads busy).
struct cpu_usage {
	double total = 0, user = 0, system = 0;
	friend bool operator==(const cpu_usage&, const cpu_usage&) = default;
};
cpu_usage cpu_between(const cpu_times& a, const cpu_times& b);

// The whole machine's CPU time, /proc/stat's "cpu" line, in clock ticks
// (USER_HZ).  busy: user, nice, system, irq, softirq: on a host this
// includes its guests' vCPU time (guest and guest_nice are part of user
// and nice, so they are not added again).  idle: idle and iowait.  steal:
// a hypervisor ran someone else; not our CPU's work, so not busy.  total:
// all four.  Busy time is sampled by the tick, idle time (NO_HZ) measured:
// a machine that loses ticks (an emulated one, busy) under-counts its busy
// time, and its CPUs' time less idle and steal is the better figure.
struct machine_ticks {
	std::uint64_t busy = 0, idle = 0, steal = 0, total = 0;
	unsigned cpus = 0;	// its "cpuN" lines
	friend bool operator==(const machine_ticks&, const machine_ticks&) = default;
};
std::optional<machine_ticks> parse_proc_stat(std::string_view text);

struct machine_snapshot {
	machine_ticks ticks;
	clock_type::time_point wall;
};
// nullopt when /proc/stat cannot be read or parsed.
std::optional<machine_snapshot> machine_now();

// CPU-seconds between two snapshots (as machine_ticks), and the wall-clock
// seconds between them.
struct machine_cpu {
	double busy = 0, idle = 0, steal = 0, total = 0, seconds = 0;
	unsigned cpus = 0;
	friend bool operator==(const machine_cpu&, const machine_cpu&) = default;
};
machine_cpu machine_between(const machine_snapshot& a, const machine_snapshot& b, long ticks_per_second);
long user_hz();

} // namespace perf
