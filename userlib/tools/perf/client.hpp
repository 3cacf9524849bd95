// virtsock-perf client: runs one test against a server and gathers both
// ends' figures.
#pragma once

#include "stream.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace perf {

struct client_options {
	vs::address addr;
	std::string uri;
	test_params params;
	double interval_s = 1;	// 0: no intervals
	std::chrono::milliseconds connect_timeout{5000};
	std::chrono::milliseconds idle_timeout{30000};	// 0: none
};

struct connection {
	std::string local, remote;
};

struct outcome {
	std::uint64_t cookie = 0;
	std::vector<connection> connected;	// per data connection
	std::vector<stream_result> local, remote;	// per data connection: this end, the server
	cpu_usage host_cpu, remote_cpu;
	int sndbuf = 0, rcvbuf = 0;		// this end's first data socket, as set
	int remote_sndbuf = 0, remote_rcvbuf = 0;	// the server's
};

// The figures of the end that timed the round trips (latency tests).
const stream_result& timing_end(const test_params& p, const outcome& out);

vs::result<outcome, vs::error> run_client(const client_options& o);

} // namespace perf
