// virtsock-perf: throughput and round trips between a client and a server,
// over any transport of virtsocket::address; iperf3's options and JSON
// where they apply, sockperf-like round-trip percentiles.
#include "../tool.hpp"
#include "report.hpp"
#include "server.hpp"

#include <cmath>

using namespace perf;
using std::chrono::duration;

int main(int argc, char** argv)
{
	CLI::App app{"Measure throughput and round trips between a client and a server over\n"
		     "virt:, vsock:, unix: or tcp: stream sockets.  One server runs any\n"
		     "test, one at a time: the client sends the parameters when it connects.",
		     std::string(prog)};
	std::string server_uri, client_uri, mode_name = "throughput", direction_name = "send";
	std::uint64_t size = 128 << 10, bytes = 0, count = 0, buffer = 0;
	std::vector<std::uint64_t> sweep;
	double time_s = 10, omit_s = 0, interval_s = 1, idle_s = 30, rcv_timeout_ms = 0;
	unsigned streams = 1;
	bool as_json = false, once = false, reverse = false, bidir = false, verify = false;

	app.set_version_flag("-v,--version", std::string(prog) + " " + VIRTSOCKET_VERSION + " (wire version " +
						     std::to_string(wire_version) + ")");
	auto* srv = app.add_option("-s,--server", server_uri, "Serve tests on URI (one at a time)");
	auto* cli = app.add_option("-c,--client", client_uri, "Run a test against the server at URI");
	srv->excludes(cli);
	auto* once_opt = app.add_flag("-1,--once,--one-off", once,
				      "Server: exit after the first test (status: its outcome)");
	auto* idle_opt = app.add_option("--idle-timeout", idle_s,
					"Drop a test when the peer sends, reads or connects nothing for\n"
					"SECONDS (default 30; 0: never)")
				 ->check(CLI::NonNegativeNumber);
	auto* rcv_opt = app.add_option("--rcv-timeout", rcv_timeout_ms, "iperf3's spelling of --idle-timeout, in ms")
				->check(CLI::PositiveNumber)
				->excludes(idle_opt);
	auto* size_opt = app.add_option("-l,--size,--length", size,
					"Message size in bytes, K, M suffixes: 1024s (default 128K)")
				 ->transform(CLI::AsSizeValue(false));
	auto* bytes_opt = app.add_option("-n,--bytes", bytes,
					 "Stop after N bytes each way, K, M, G suffixes (latency: N/size\n"
					 "round trips)")
				  ->transform(CLI::AsSizeValue(false));
	auto* time_opt = app.add_option("-t,--time", time_s, "Stop after SECONDS (default 10)")
				 ->check(CLI::PositiveNumber);
	auto* count_opt = app.add_option("--count", count, "Latency: stop after N round trips")
				  ->check(CLI::PositiveNumber);
	auto* omit_opt = app.add_option("-O,--omit", omit_s,
					"Leave the first SECONDS out of the figures (warm-up; timed tests)")
				 ->check(CLI::NonNegativeNumber);
	bytes_opt->excludes(time_opt);
	count_opt->excludes(time_opt)->excludes(bytes_opt);
	omit_opt->excludes(bytes_opt)->excludes(count_opt);
	auto* mode_opt = app.add_option("--mode", mode_name,
					"throughput or latency (round trips of --size bytes; with --direction\n"
					"recv the server starts each one and the client echoes)")
				 ->check(CLI::IsMember({"throughput", "latency"}));
	auto* dir_opt = app.add_option("--direction", direction_name,
				       "send: client to server; recv: server to client; bidir: both")
				->check(CLI::IsMember({"send", "recv", "bidir"}));
	auto* reverse_opt = app.add_flag("-R,--reverse", reverse, "The server sends (--direction recv)");
	auto* bidir_opt = app.add_flag("--bidir", bidir, "Both send at once (--direction bidir)");
	reverse_opt->excludes(dir_opt)->excludes(bidir_opt);
	bidir_opt->excludes(dir_opt);
	auto* streams_opt = app.add_option("-P,--parallel", streams, "Parallel streams (each way with --bidir)")
				    ->check(CLI::Range(1U, unsigned(max_streams)));
	app.add_option("--sweep", sweep, "Run one test per message size, e.g. 64,1K,64K")
		->delimiter(',')
		->transform(CLI::AsSizeValue(false))
		->excludes(size_opt);
	app.add_option("-i,--interval", interval_s, "Report every SECONDS (0: no intervals; default 1)")
		->check(CLI::NonNegativeNumber);
	auto* buffer_opt = app.add_option("-w,--buffer,--window", buffer,
					  "The window of every data socket, both ends (K, M suffixes), by\n"
					  "what each transport honours: virt, vsock: SO_VM_SOCKETS_BUFFER_MAX_SIZE\n"
					  "and _SIZE (virt: SO_SNDBUF too); tcp, unix: SO_SNDBUF and SO_RCVBUF,\n"
					  "before connect.  The JSON's start.buffers has what each end got")
				   ->transform(CLI::AsSizeValue(false));
	auto* verify_opt = app.add_flag("--verify", verify,
					"Fill the payload with a pattern seeded per test and check every\n"
					"byte received (costs a copy and a compare per message)");
	app.add_flag("-J,--json", as_json, "Print one JSON document (server: one line per test)");
	app.footer("Exit status: 0 done, 1 connection, I/O or test error (server busy too), 2 usage error.");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;

	auto usage = [](const std::string& m) { return tool::fail(prog, tool::exit_usage, m); };
	if (server_uri.empty() && client_uri.empty())
		return usage("give --server URI or --client URI (see --help)");
	auto addr = vs::address::parse(server_uri.empty() ? client_uri : server_uri);
	if (!addr)
		return usage(addr.error().message());
	if (idle_s > double(max_duration.count()) || rcv_timeout_ms > 1e3 * double(max_duration.count()))
		return usage("the idle time-out is limited to " + std::to_string(max_duration.count()) + " s");
	auto idle = std::chrono::milliseconds(
		*rcv_opt ? static_cast<std::int64_t>(std::llround(rcv_timeout_ms))
			 : static_cast<std::int64_t>(std::llround(idle_s * 1e3)));
	if (!server_uri.empty()) {
		for (auto* client_only : {size_opt, bytes_opt, time_opt, count_opt, omit_opt, mode_opt, dir_opt,
					  reverse_opt, bidir_opt, streams_opt, buffer_opt, verify_opt})
			if (*client_only)
				return usage(client_only->get_name() + " is a client option (the client sends the "
								       "test's parameters)");
		return run_server({*addr, once, as_json, idle});
	}
	if (*once_opt)
		return usage("--once is a server option");

	if (sweep.empty())
		sweep.push_back(size);
	for (auto s : sweep)
		if (s == 0 || s > max_size)
			return usage("message size " + std::to_string(s) + " is outside 1.." + std::to_string(max_size));
	if (*bytes_opt && bytes == 0)
		return usage("--bytes must be positive");
	if (count && mode_name != "latency")
		return usage("--count needs --mode latency");
	if (time_s > double(max_duration.count()) || omit_s > double(max_duration.count()))
		return usage("--time and --omit are limited to " + std::to_string(max_duration.count()) + " s");
	if (buffer > INT32_MAX / 2)
		return usage("--window is too large");
	if (buffer && buffer < 4096)	// (0: the defaults)
		return usage("--window must be at least 4K (AF_VIRT's and AF_VSOCK's minimum)");
	if (reverse)
		direction_name = "recv";
	if (bidir)
		direction_name = "bidir";
	if (mode_name == "latency" && (streams != 1 || direction_name == "bidir"))
		return usage("--mode latency runs one stream: no --parallel, no --bidir");
	if (*bytes_opt && bytes < streams)
		return usage("--bytes must give every stream at least one byte");

	client_options o;
	o.addr = *addr;
	o.uri = client_uri;
	o.interval_s = interval_s;
	o.idle_timeout = idle;
	auto& p = o.params;
	p.mode = mode_name == "latency" ? test_mode::latency : test_mode::throughput;
	p.direction = direction_name == "recv"	  ? test_direction::recv
		      : direction_name == "bidir" ? test_direction::bidir
						  : test_direction::send;
	p.bytes = p.mode == test_mode::throughput ? bytes : 0;
	p.streams = static_cast<std::uint16_t>(streams);
	p.buffer = static_cast<std::uint32_t>(buffer);
	p.verify = verify;
	bool timed = !bytes && !count;
	p.duration = timed ? std::chrono::duration_cast<nanoseconds>(duration<double>(time_s)) : nanoseconds(0);
	p.omit = std::chrono::duration_cast<nanoseconds>(
		std::chrono::round<std::chrono::milliseconds>(duration<double>(omit_s)));
	// Report intervals in whole milliseconds (the header's unit).
	if (interval_s > 0)
		p.interval_ms = static_cast<std::uint32_t>(std::clamp<double>(std::round(interval_s * 1e3), 1, UINT32_MAX));
	request q{timed ? time_s : 0, omit_s, interval_s, count};

	json docs = json::array();
	for (auto s : sweep) {
		p.size = static_cast<std::uint32_t>(s);
		if (p.mode == test_mode::latency && !timed) {
			p.count = count ? count : (bytes + s - 1) / s;
			q.count = p.count;
		}
		auto out = run_client(o);
		if (!out) {
			if (as_json)
				std::cout << json{{"error", out.error().message()}}.dump(2) << std::endl;
			return tool::fail(prog, tool::exit_runtime, out.error().message());
		}
		json doc = to_json(o, q, *out);
		// As iperf3: say so when an end got a smaller window than asked for.
		if (p.buffer) {
			for (auto [who, b] : {std::pair{"this end", std::optional(out->buffers)},
					      std::pair{"the server", out->remote_buffers}})
				if (b && b->window != p.buffer)
					std::cerr << prog << ": warning: asked for a window of " << p.buffer << " bytes, "
						  << who << " got " << b->window << " (net.core.rmem_max/wmem_max, "
						  << "or the transport's limit)" << std::endl;
		}
		if (!as_json)
			print_human(o, doc, true);
		docs.push_back(std::move(doc));
	}
	if (as_json)
		std::cout << (docs.size() == 1 ? docs[0] : json{{"sweep", docs}}).dump(2) << std::endl;
	return tool::exit_ok;
}
