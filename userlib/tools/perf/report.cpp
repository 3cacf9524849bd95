#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#ifndef VIRTSOCKET_VERSION
#define VIRTSOCKET_VERSION "unknown"
#endif

namespace perf {

namespace {

std::string iso_time_now()
{
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	gmtime_r(&t, &tm);
	std::ostringstream s;
	s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
	return s.str();
}

std::string hex(std::uint64_t v)
{
	std::ostringstream s;
	s << std::hex << std::setw(16) << std::setfill('0') << v;
	return s.str();
}

json rtt_json(const latency_stats& l)
{
	return {{"min", l.min}, {"mean", l.mean}, {"p50", l.p50},	{"p90", l.p90},
		{"p99", l.p99}, {"p99_9", l.p99_9}, {"max", l.max}};
}

// iperf3's figures of a stretch of time.
json span_json(double start, double end, std::uint64_t bytes, bool sender)
{
	return {{"start", start},
		{"end", end},
		{"seconds", end - start},
		{"bytes", bytes},
		{"bits_per_second", bits_per_second(bytes, end - start)},
		{"sender", sender}};
}

json interval_json(const test_params& p, std::uint32_t stream, const interval& iv, bool sender)
{
	json j = {{"stream", stream}};
	j.update(span_json(iv.start, iv.end, iv.bytes, sender));
	j["omitted"] = iv.omitted;
	if (p.mode == test_mode::latency) {
		j["round_trips"] = iv.round_trips();
		j["rtt_us"] = {{"p50", iv.p50_us}, {"max", iv.max_us}};
	}
	return j;
}

// The sum of interval records over streams, as iperf3's "sum".
json sum_json(const std::vector<json>& records)
{
	double start = records[0]["start"], end = records[0]["end"];
	std::uint64_t bytes = 0;
	for (const auto& r : records) {
		start = std::min(start, r["start"].get<double>());
		end = std::max(end, r["end"].get<double>());
		bytes += r["bytes"].get<std::uint64_t>();
	}
	json j = span_json(start, end, bytes, records[0]["sender"].get<bool>());
	j["omitted"] = records[0]["omitted"];
	if (records.size() == 1 && records[0].contains("rtt_us")) {
		j["round_trips"] = records[0]["round_trips"];
		j["rtt_us"] = records[0]["rtt_us"];
	}
	return j;
}

json intervals_json(const client_options& o, const request& q, const outcome& out)
{
	const auto& p = o.params;
	bool bidir = p.direction == test_direction::bidir;
	// An interval's slot: omitted or not, and its place counted from the
	// start (or the warm-up's end), whatever stream it belongs to.
	using slot = std::pair<int, long>;
	std::map<slot, std::pair<std::vector<json>, std::vector<json>>> slots;	// forward, reverse
	double period = q.interval_s > 0 ? q.interval_s : 1;
	for (std::uint32_t i = 0; i < out.local.size(); i++) {
		// Latency recv: the server timed the round trips and sent its intervals.
		const auto& res = p.mode == test_mode::latency ? timing_end(p, out) : out.local[i];
		bool sender = mode_of(p, i).client == role::sender || mode_of(p, i).client == role::initiator;
		for (const auto& iv : res.intervals) {
			double base = iv.omitted ? 0 : q.omit_s;
			slot at{iv.omitted ? 0 : 1, static_cast<long>(std::floor((iv.start - base) / period + 1e-9))};
			auto& side = stream_direction(p, i) == test_direction::recv && bidir ? slots[at].second
											      : slots[at].first;
			side.push_back(interval_json(p, i, iv, sender));
		}
	}
	json intervals = json::array();
	for (auto& [at, sides] : slots) {
		json streams = json::array();
		for (const auto* side : {&sides.first, &sides.second})
			for (const auto& r : *side)
				streams.push_back(r);
		json j = {{"streams", std::move(streams)}};
		if (!sides.first.empty())
			j["sum"] = sum_json(sides.first);
		if (!sides.second.empty())
			j["sum_bidir_reverse"] = sum_json(sides.second);
		intervals.push_back(std::move(j));
	}
	return intervals;
}

// end.streams and the sums, for the streams of one direction.
void throughput_end(const test_params& p, const outcome& out, test_direction d, const std::string& suffix,
		    json& end)
{
	std::uint64_t sent = 0, received = 0;
	// The whole run's bytes, warm-up included: what the sender sent must be
	// what the receiver got (null when an end does not report it).
	std::optional<std::uint64_t> sent_total = 0, received_total = 0;
	auto add = [](std::optional<std::uint64_t>& sum, const std::optional<std::uint64_t>& v) {
		sum = sum && v ? std::optional(*sum + *v) : std::nullopt;
	};
	auto opt = [](const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); };
	double sent_s = 0, received_s = 0;
	for (std::uint32_t i = 0; i < out.local.size(); i++) {
		if (stream_direction(p, i) != d)
			continue;
		bool client_sends = mode_of(p, i).client == role::sender;
		const auto& s = client_sends ? out.local[i] : out.remote[i];
		const auto& r = client_sends ? out.remote[i] : out.local[i];
		json sj = {{"stream", i}}, rj = {{"stream", i}};
		sj.update(span_json(0, s.seconds, s.bytes, true));
		rj.update(span_json(0, r.seconds, r.bytes, false));
		sj["bytes_total"] = opt(s.bytes_total);
		rj["bytes_total"] = opt(r.bytes_total);
		add(sent_total, s.bytes_total);
		add(received_total, r.bytes_total);
		end["streams"].push_back({{"sender", std::move(sj)}, {"receiver", std::move(rj)}});
		sent += s.bytes;
		received += r.bytes;
		sent_s = std::max(sent_s, s.seconds);
		received_s = std::max(received_s, r.seconds);
	}
	end["sum_sent" + suffix] = span_json(0, sent_s, sent, true);
	end["sum_sent" + suffix]["bytes_total"] = opt(sent_total);
	end["sum_received" + suffix] = span_json(0, received_s, received, false);
	end["sum_received" + suffix]["bytes_total"] = opt(received_total);
}

} // namespace

json to_json(const client_options& o, const request& q, const outcome& out)
{
	const auto& p = o.params;
	bool latency = p.mode == test_mode::latency;
	std::string transport(vs::to_string(o.addr.kind()));
	json connected = json::array();
	for (std::uint32_t i = 0; i < out.connected.size(); i++)
		connected.push_back({{"stream", i},
				     {"local", out.connected[i].local},
				     {"remote", out.connected[i].remote},
				     {"direction", name(stream_direction(p, i))}});
	json start = {
		{"version", std::string(prog) + " " + VIRTSOCKET_VERSION},
		{"wire_version", wire_version},
		{"timestamp", {{"time", iso_time_now()}, {"timesecs", std::time(nullptr)}}},
		{"transport", transport},
		{"uri", o.uri},
		{"connected", std::move(connected)},
		{"cookie", hex(out.cookie)},
		{"sock_bufsize", p.buffer},
		{"buffers",
		 {{"requested", p.buffer},
		  {"host", to_json(out.buffers)},
		  {"remote", out.remote_buffers ? to_json(*out.remote_buffers) : json(nullptr)}}},
		{"sndbuf_actual", out.sndbuf},
		{"rcvbuf_actual", out.rcvbuf},
		{"remote_sndbuf_actual", out.remote_sndbuf},
		{"remote_rcvbuf_actual", out.remote_rcvbuf},
		{"test_start",
		 {{"protocol", transport},
		  {"mode", name(p.mode)},
		  {"direction", name(p.direction)},
		  {"num_streams", p.streams},
		  {"blksize", p.size},
		  {"omit", q.omit_s},
		  {"duration", q.time_s},
		  {"bytes", p.bytes},
		  {"round_trips", latency ? json(q.count) : json(0)},
		  {"reverse", p.direction == test_direction::recv ? 1 : 0},
		  {"bidir", p.direction == test_direction::bidir ? 1 : 0},
		  {"interval", q.interval_s},
		  {"verify", p.verify}}},
	};

	json end = json::object();
	if (latency) {
		const auto& t = timing_end(p, out);
		end["seconds"] = t.seconds;
		end["bytes"] = t.bytes;
		end["round_trips"] = t.round_trips;
		const auto& echoed = &t == &out.local[0] ? out.remote[0] : out.local[0];
		auto opt = [](const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); };
		end["round_trips_total"] = {{"initiator", opt(t.round_trips_total)},
					    {"echoer", opt(echoed.round_trips_total)}};
		end["rtt_us"] = rtt_json(t.rtt.value_or(latency_stats{}));
		// Each way carries half of what the round trips moved.
		end["sum_sent"] = span_json(0, t.seconds, t.bytes / 2, true);
		end["sum_received"] = span_json(0, t.seconds, t.bytes / 2, false);
	} else {
		end["streams"] = json::array();
		bool bidir = p.direction == test_direction::bidir;
		throughput_end(p, out, bidir ? test_direction::send : p.direction, "", end);
		if (bidir)
			throughput_end(p, out, test_direction::recv, "_bidir_reverse", end);
	}
	if (p.verify) {
		std::uint64_t host = 0, remote = 0;
		for (std::uint32_t i = 0; i < out.local.size(); i++) {
			host += out.local[i].verified_bytes.value_or(0);
			remote += out.remote[i].verified_bytes.value_or(0);
		}
		end["verified_bytes"] = {{"host", host}, {"remote", remote}};
	}
	// The machines' CPU-seconds, busy, idle, stolen and in all, from the end
	// of the warm-up to the end (/proc/stat): on a host, its guests' vCPUs
	// are in busy.
	json machine = json::object();
	for (auto [side, m] : {std::pair{"host", &out.host_machine}, std::pair{"remote", &out.remote_machine}}) {
		auto key = [side = std::string(side)](const char* what) { return side + "_" + what; };
		machine[key("busy")] = *m ? json((*m)->busy) : json(nullptr);
		machine[key("idle")] = *m ? json((*m)->idle) : json(nullptr);
		machine[key("steal")] = *m ? json((*m)->steal) : json(nullptr);
		machine[key("total")] = *m ? json((*m)->total) : json(nullptr);
		machine[key("cpus")] = *m ? json((*m)->cpus) : json(nullptr);
		machine[key("seconds")] = *m ? json((*m)->seconds) : json(nullptr);
	}
	end["cpu_machine_seconds"] = std::move(machine);
	end["buffers"] = {{"host", to_json(out.buffers_end)},
			  {"remote", out.remote_buffers_end ? to_json(*out.remote_buffers_end) : json(nullptr)}};
	end["cpu_utilization_percent"] = {
		{"host_total", out.host_cpu.total},	  {"host_user", out.host_cpu.user},
		{"host_system", out.host_cpu.system},	  {"remote_total", out.remote_cpu.total},
		{"remote_user", out.remote_cpu.user},	  {"remote_system", out.remote_cpu.system}};
	return {{"start", std::move(start)}, {"intervals", intervals_json(o, q, out)}, {"end", std::move(end)}};
}

void print_human(const client_options& o, const json& doc, bool header)
{
	const auto& p = o.params;
	const auto& end = doc["end"];
	bool latency = p.mode == test_mode::latency;
	auto& os = std::cout;
	auto range = [&](const json& j) {
		os << "  " << std::setprecision(2) << std::setw(6) << j["start"].get<double>() << "-" << std::setw(6)
		   << j["end"].get<double>();
	};
	auto mbps = [](const json& j) { return j["bits_per_second"].get<double>() / 8e6; };
	os << std::fixed;
	if (header) {
		const char* who = p.direction == test_direction::send	  ? "client sends"
				  : p.direction == test_direction::recv ? "server sends"
									: "both send";
		os << prog << ": " << o.uri << ", " << name(p.mode) << ", " << who << ", " << p.connections()
		   << " stream(s) of " << p.size << "-byte messages\n";
		const auto& b = doc["start"]["buffers"];
		os << "  window: client " << b["host"]["window"].get<std::uint64_t>() << ", server "
		   << (b["remote"].is_null() ? std::string("?") : std::to_string(b["remote"]["window"].get<std::uint64_t>()))
		   << " bytes" << (p.buffer ? "" : " (defaults)") << '\n';
		if (latency)
			os << "  interval (s)     round trips   p50 us    max us\n";
		else
			os << "  interval (s)           bytes      MB/s\n";
	}
	for (const auto& iv : doc["intervals"]) {
		for (const char* key : {"sum", "sum_bidir_reverse"}) {
			if (!iv.contains(key))
				continue;
			const auto& s = iv[key];
			range(s);
			if (latency)
				os << std::setw(16) << s["round_trips"].get<std::uint64_t>() << std::setw(9)
				   << s["rtt_us"]["p50"].get<double>() << std::setw(10)
				   << s["rtt_us"]["max"].get<double>();
			else
				os << std::setw(16) << s["bytes"].get<std::uint64_t>() << std::setw(10) << mbps(s);
			if (iv.contains("sum_bidir_reverse"))
				os << (key == std::string_view("sum") ? "  client sends" : "  server sends");
			os << (s["omitted"].get<bool>() ? "  (omitted)\n" : "\n");
		}
	}
	if (latency) {
		const auto& l = end["rtt_us"];
		range(end["sum_sent"]);
		os << std::setw(16) << end["round_trips"].get<std::uint64_t>() << "  total\n"
		   << "  round trip (us): min " << l["min"].get<double>() << "  p50 " << l["p50"].get<double>()
		   << "  p90 " << l["p90"].get<double>() << "  p99 " << l["p99"].get<double>() << "  p99.9 "
		   << l["p99_9"].get<double>() << "  max " << l["max"].get<double>() << '\n';
	} else {
		for (std::string suffix : {"", "_bidir_reverse"}) {
			for (std::string side : {"sent", "received"}) {
				auto key = "sum_" + side + suffix;
				if (!end.contains(key))
					continue;
				range(end[key]);
				os << std::setw(16) << end[key]["bytes"].get<std::uint64_t>() << std::setw(10)
				   << mbps(end[key]) << "  " << (side == "sent" ? "sender" : "receiver")
				   << (suffix.empty() ? "" : " (server sends)") << '\n';
			}
		}
	}
	const auto& m = end["cpu_machine_seconds"];
	auto machine = [&](const char* side) {
		auto key = [side = std::string(side)](const char* what) { return side + "_" + what; };
		if (m[key("busy")].is_null())
			os << "?";
		else
			os << std::setprecision(3) << m[key("busy")].get<double>() << " of "
			   << m[key("total")].get<double>() << " CPU-s";
	};
	os << "  machine CPU, busy: client's ";
	machine("host");
	os << ", server's ";
	machine("remote");
	os << '\n';
	if (end.contains("verified_bytes"))
		os << "  payload verified: " << end["verified_bytes"]["host"].get<std::uint64_t>() << " bytes here, "
		   << end["verified_bytes"]["remote"].get<std::uint64_t>() << " at the server\n";
	const auto& c = end["cpu_utilization_percent"];
	os << std::setprecision(1) << "  CPU: client " << c["host_total"].get<double>() << "% (user "
	   << c["host_user"].get<double>() << ", system " << c["host_system"].get<double>() << "), server "
	   << c["remote_total"].get<double>() << "% (user " << c["remote_user"].get<double>() << ", system "
	   << c["remote_system"].get<double>() << ")\n";
	os << std::defaultfloat;
}

} // namespace perf
