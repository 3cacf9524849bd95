// virtsock-perf streams: what each end of a data connection does.  Every
// test is a pair of roles, one per end, looked up in one table.
#pragma once

#include "stats.hpp"
#include "wire.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace perf {

// sender: writes until the byte count or the deadline, then half-closes
//         and waits for the receiver's end of stream;
// receiver: reads until end of stream, then half-closes;
// initiator: sends SIZE bytes, reads the echo, times the round trip; until
//         the count or the deadline, then half-closes and waits for the
//         echoer's end of stream;
// echoer: echoes whole messages until end of stream, then half-closes.
enum class role : std::uint8_t { sender, receiver, initiator, echoer };

struct mode_entry {
	test_mode mode;
	test_direction direction;	// send or recv: bidir is a send and a recv stream each
	role client, server;
};

// The modes, as iperf3 keeps its protocols in one table.
inline constexpr mode_entry modes[] = {
	{test_mode::throughput, test_direction::send, role::sender, role::receiver},
	{test_mode::throughput, test_direction::recv, role::receiver, role::sender},
	{test_mode::latency, test_direction::send, role::initiator, role::echoer},
	{test_mode::latency, test_direction::recv, role::echoer, role::initiator},
};

// Data connection `index` of a test: the direction of its data (bidir: the
// first `streams` connections send, the others receive) and its mode entry.
test_direction stream_direction(const test_params& p, std::uint32_t index);
const mode_entry& mode_of(const test_params& p, std::uint32_t index);
// Bytes stream `index` moves (throughput with a byte count: the count of
// its direction shared among its streams).
std::uint64_t stream_bytes(const test_params& p, std::uint32_t index);

// What one end measured on one stream, after the warm-up.
struct stream_result {
	std::uint64_t bytes = 0;	// sent or received by this end
	double seconds = 0;
	std::uint64_t round_trips = 0;
	std::optional<latency_stats> rtt;	// the initiator only
	std::vector<interval> intervals;	// with the report interval; latency: p50 and max
	// The whole run, warm-up included, so that both ends' counts must
	// agree; and the bytes this end checked against the --verify pattern.
	// nullopt: a server that does not report them.
	std::optional<std::uint64_t> bytes_total, round_trips_total, verified_bytes;
	friend bool operator==(const stream_result&, const stream_result&) = default;
};

json to_json(const stream_result& r, bool with_intervals);
// {"busy", "idle", "steal", "total", "cpus", "seconds"}: one end's machine.
json to_json(const machine_cpu& m);
std::optional<machine_cpu> machine_cpu_from_json(const json& j);
// nullopt when a field is missing or of the wrong type.
std::optional<stream_result> stream_result_from_json(const json& j);

// One end of one stream.  t0 is the test's start, shared by its streams.
vs::result<void, vs::error> run_role(role r, vs::stream_socket& s, const test_params& p,
				     std::uint32_t index, clock_type::time_point t0, stream_result& out);

// Every stream of a test at once, a thread each, in this end's role from the
// mode table (the client's or the server's): what each measured, each one's
// error, the CPU this process used meanwhile, and the machine's CPU time
// from the end of the warm-up (-O) to the end (nullopt without /proc/stat).
struct streams_outcome {
	std::vector<stream_result> results;
	std::vector<std::optional<vs::error>> errors;
	cpu_usage cpu;
	std::optional<machine_cpu> machine;
};
streams_outcome run_streams(bool client_end, std::vector<vs::stream_socket>& streams, const test_params& p);

// A message for an I/O error, naming the idle time-out when it fired.
std::string io_error(const vs::error& e, std::chrono::milliseconds idle_timeout);

} // namespace perf
