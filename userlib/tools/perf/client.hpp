// virtsock-perf client: runs one test against a server and gathers both
// ends' figures.
#pragma once

#include "stream.hpp"
#include "window.hpp"

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
	// The machines' CPU time over the measured part (nullopt: no /proc/stat,
	// or a server that does not send it).
	std::optional<machine_cpu> host_machine, remote_machine;
	int sndbuf = 0, rcvbuf = 0;		// this end's first data socket, as set
	int remote_sndbuf = 0, remote_rcvbuf = 0;	// the server's
	// The first data socket's buffers at the start and at the end, each end
	// (the server's: nullopt when it does not send them).
	socket_buffers buffers, buffers_end;
	std::optional<socket_buffers> remote_buffers, remote_buffers_end;
};

// The figures of the end that timed the round trips (latency tests).
const stream_result& timing_end(const test_params& p, const outcome& out);

vs::result<outcome, vs::error> run_client(const client_options& o);

} // namespace perf
