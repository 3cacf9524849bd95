// virtsock-perf server: one test at a time, as iperf3; a client that comes
// while a test runs is told the server is busy (EBUSY) at once.
#pragma once

#include "stats.hpp"
#include "wire.hpp"

#include <chrono>

namespace perf {

struct server_options {
	vs::address addr;
	bool once = false;	// exit after the first test (status: its outcome)
	bool as_json = false;	// one JSON object per line and test
	// A test whose client sends, reads or connects nothing for this long
	// is dropped (0: never, but streams must still connect within 10 s).
	std::chrono::milliseconds idle_timeout{30000};
};

// The server's line for one test (--json), from its own figures.
json server_line(const std::string& client, const test_params& p, const json& result);

int run_server(const server_options& o);

} // namespace perf
