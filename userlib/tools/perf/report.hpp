// virtsock-perf reports: the client's JSON document (iperf3's keys) and its
// table for people.
#pragma once

#include "client.hpp"

namespace perf {

// What the client was asked for, as the report shows it.
struct request {
	double time_s = 0;	// 0: not timed
	double omit_s = 0;
	double interval_s = 0;
	std::uint64_t count = 0;	// latency round trips asked for
};

json to_json(const client_options& o, const request& q, const outcome& out);
void print_human(const client_options& o, const json& doc, bool header);

} // namespace perf
