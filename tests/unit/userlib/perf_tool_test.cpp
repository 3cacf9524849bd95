// virtsock-perf as built: iperf3's options and JSON, both ends' CPU time (the
// process's and the machine's), the busy answer, the idle time-out, the
// windows, byte totals and --verify; and the client against a fake server,
// the server against a fake client, speaking wire version 3 (tools_test.cpp
// has the basic runs).
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <fstream>

#include "test_util.hpp"

namespace vs = virtsocket;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string perf_bin = VIRTSOCK_PERF;

bool contains(const std::string& haystack, const std::string& needle)
{
	return haystack.find(needle) != std::string::npos;
}

std::string listening_uri(test::child& c)
{
	auto line = c.stderr_line();
	auto at = line.find("listening on ");
	EXPECT_NE(at, std::string::npos) << "no ready line, got '" << line << "'";
	return at == std::string::npos ? "" : line.substr(at + 13);
}

json run_json(const std::string& uri, std::vector<std::string> args)
{
	std::vector<std::string> argv{perf_bin, "-c", uri, "-J"};
	argv.insert(argv.end(), args.begin(), args.end());
	auto r = test::run(argv);
	EXPECT_EQ(r.status, 0) << r.err;
	json doc = json::parse(r.out, nullptr, false);
	EXPECT_FALSE(doc.is_discarded()) << r.out;
	return doc;
}

// ---- the wire, written by hand ------------------------------------------------------

using bytes = std::vector<unsigned char>;

void le(bytes& b, std::size_t at, std::uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[at + i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t from_le(const unsigned char* p, int n)
{
	std::uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

// A version 3 header: throughput send, timed, one stream.
bytes header(std::uint64_t cookie, std::uint8_t mode = 0, std::uint8_t direction = 0, std::uint64_t amount = 0,
	     std::uint64_t ns = 60'000'000'000)
{
	bytes h(56);
	le(h, 0, 0x46505356, 4);
	le(h, 4, 3, 2);
	h[6] = mode;
	h[7] = direction;
	le(h, 8, 1024, 4);
	le(h, 16, amount, 8);
	le(h, 24, ns, 8);
	le(h, 32, cookie, 8);
	le(h, 40, 1, 2);
	return h;
}

bytes hello(std::uint32_t index, std::uint64_t cookie)
{
	bytes b(16);
	le(b, 0, 0x53505356, 4);
	le(b, 4, index, 4);
	le(b, 8, cookie, 8);
	return b;
}

void send_bytes(vs::stream_socket& s, const bytes& b) { ASSERT_TRUE(s.send_all(std::as_bytes(std::span(b)))); }

std::int32_t recv_status(vs::stream_socket& s)
{
	std::array<unsigned char, 8> st{};
	auto r = s.recv_exact(std::as_writable_bytes(std::span(st)));
	EXPECT_TRUE(r) << r.error().message();
	EXPECT_EQ(from_le(st.data(), 4), 0x46505356U);
	return static_cast<std::int32_t>(from_le(st.data() + 4, 4));
}

bytes message(const json& j)
{
	auto text = j.dump();
	bytes b(8 + text.size());
	le(b, 0, 0x4d505356, 4);
	le(b, 4, text.size(), 4);
	std::copy(text.begin(), text.end(), b.begin() + 8);
	return b;
}

json recv_message(vs::stream_socket& s)
{
	std::array<unsigned char, 8> head{};
	auto r = s.recv_exact(std::as_writable_bytes(std::span(head)));
	EXPECT_TRUE(r) << r.error().message();
	if (!r)
		return {};
	EXPECT_EQ(from_le(head.data(), 4), 0x4d505356U);
	std::string text(from_le(head.data() + 4, 4), '\0');
	EXPECT_TRUE(s.recv_exact(std::as_writable_bytes(std::span(text))));
	return json::parse(text, nullptr, false);
}

// ---- iperf3's options and keys ----------------------------------------------------------

class PerfTool : public ::testing::Test {
protected:
	void SetUp() override { uri = listening_uri(server); }
	test::temp_dir dir;
	test::child server{{perf_bin, "-s", "unix:" + dir / "p", "-J"}};
	std::string uri;
};

TEST(PerfCli, VersionNamesTheWireVersion)
{
	for (auto flag : {"-v", "--version"}) {
		auto r = test::run({perf_bin, flag});
		EXPECT_EQ(r.status, 0) << r.err;
		EXPECT_TRUE(contains(r.out, "virtsock-perf ")) << r.out;
		EXPECT_TRUE(contains(r.out, "(wire version 3)")) << r.out;
	}
}

TEST(PerfCli, UsageErrors)
{
	struct {
		std::vector<std::string> args;
		std::string says;
	} cases[] = {
		{{"-c", "unix:/a", "-R", "--direction", "send"}, "excludes"},
		{{"-c", "unix:/a", "-R", "--bidir"}, "excludes"},
		{{"-c", "unix:/a", "-O", "1", "-n", "1M"}, "excludes"},
		{{"-c", "unix:/a", "-P", "0"}, "--parallel"},
		{{"-c", "unix:/a", "-P", "129"}, "--parallel"},
		{{"-c", "unix:/a", "--mode", "latency", "--bidir"}, "runs one stream"},
		{{"-c", "unix:/a", "-n", "2", "-P", "3"}, "at least one byte"},
		{{"-c", "unix:/a", "--once"}, "--once is a server option"},
		{{"-c", "unix:/a", "-t", "1e12"}, "limited to"},
		{{"-s", "unix:/a", "-l", "64"}, "is a client option"},
		{{"-s", "unix:/a", "--verify"}, "is a client option"},
		{{"-c", "unix:/a", "-w", "1K"}, "--window must be at least 4K"},
		{{"-s", "unix:/a", "--idle-timeout", "1", "--rcv-timeout", "5"}, "excludes"},
	};
	for (const auto& c : cases) {
		std::vector<std::string> argv{perf_bin};
		argv.insert(argv.end(), c.args.begin(), c.args.end());
		auto r = test::run(argv);
		EXPECT_EQ(r.status, 2) << c.args[2] << ": " << r.err;
		EXPECT_TRUE(contains(r.err, c.says)) << r.err;
	}
}

// iperf3's documents: start.connected an array, start.test_start, the sums
// with bits_per_second, and the CPU of both ends.
TEST_F(PerfTool, ParallelStreamsShareTheBytes)
{
	auto doc = run_json(uri, {"-P", "3", "-n", "3000001", "-l", "64K", "-i", "0"});
	const auto& s = doc["start"];
	ASSERT_TRUE(s["connected"].is_array()) << s;
	EXPECT_EQ(s["connected"].size(), 3U);
	EXPECT_EQ(s["test_start"]["num_streams"], 3);
	EXPECT_EQ(s["test_start"]["blksize"], 65536);
	EXPECT_EQ(s["test_start"]["bytes"], 3000001);
	EXPECT_EQ(s["test_start"]["reverse"], 0);
	const auto& e = doc["end"];
	ASSERT_EQ(e["streams"].size(), 3U) << e;
	std::uint64_t sum = 0;
	for (const auto& st : e["streams"]) {
		EXPECT_EQ(st["sender"]["bytes"], st["receiver"]["bytes"]) << st;
		EXPECT_GE(st["sender"]["bytes"].get<std::uint64_t>(), 1000000U) << st;
		sum += st["sender"]["bytes"].get<std::uint64_t>();
	}
	EXPECT_EQ(sum, 3000001U);
	EXPECT_EQ(e["sum_sent"]["bytes"], 3000001);
	EXPECT_EQ(e["sum_received"]["bytes"], 3000001);
	EXPECT_TRUE(e["sum_sent"]["sender"].get<bool>());
	EXPECT_FALSE(e["sum_received"]["sender"].get<bool>());
	EXPECT_GT(e["sum_received"]["bits_per_second"].get<double>(), 0.0);
	EXPECT_TRUE(doc["intervals"].empty()) << doc["intervals"];
}

TEST_F(PerfTool, ReverseAndBidirectional)
{
	auto rev = run_json(uri, {"-R", "-n", "1M", "-l", "4K"});
	EXPECT_EQ(rev["start"]["test_start"]["reverse"], 1);
	EXPECT_EQ(rev["start"]["test_start"]["direction"], "recv");
	EXPECT_EQ(rev["end"]["sum_sent"]["bytes"], 1U << 20);
	EXPECT_EQ(rev["end"]["sum_received"]["bytes"], 1U << 20);
	ASSERT_FALSE(rev["intervals"].empty());
	EXPECT_FALSE(rev["intervals"][0]["sum"]["sender"].get<bool>()) << rev["intervals"];

	auto bi = run_json(uri, {"--bidir", "-P", "2", "-n", "2M", "-l", "16K"});
	EXPECT_EQ(bi["start"]["test_start"]["bidir"], 1);
	ASSERT_EQ(bi["start"]["connected"].size(), 4U);
	EXPECT_EQ(bi["start"]["connected"][0]["direction"], "send");
	EXPECT_EQ(bi["start"]["connected"][3]["direction"], "recv");
	const auto& e = bi["end"];
	for (auto key : {"sum_sent", "sum_received", "sum_sent_bidir_reverse", "sum_received_bidir_reverse"})
		EXPECT_EQ(e[key]["bytes"], 2U << 20) << key << ": " << e;
	EXPECT_EQ(e["streams"].size(), 4U);
	ASSERT_FALSE(bi["intervals"].empty());
	EXPECT_TRUE(bi["intervals"][0].contains("sum_bidir_reverse")) << bi["intervals"][0];
}

// -O: the warm-up's intervals are marked and left out of the sums.
TEST_F(PerfTool, OmitLeavesTheWarmUpOut)
{
	auto doc = run_json(uri, {"-t", "0.4", "-O", "0.2", "-i", "0.1", "-l", "4K"});
	EXPECT_EQ(doc["start"]["test_start"]["omit"], 0.2);
	std::uint64_t omitted = 0, measured = 0;
	double measured_from = -1, measured_to = 0;
	for (const auto& iv : doc["intervals"]) {
		const auto& s = iv["sum"];
		if (s["omitted"].get<bool>()) {
			EXPECT_LT(measured_from, 0) << "an omitted interval after the warm-up: " << doc["intervals"];
			EXPECT_LE(s["end"].get<double>(), 0.2 + 0.1 + 0.05) << s;	// ends at the warm-up's end
			omitted += s["bytes"].get<std::uint64_t>();
		} else {
			if (measured_from < 0)
				measured_from = s["start"].get<double>();
			measured_to = s["end"].get<double>();
			measured += s["bytes"].get<std::uint64_t>();
		}
	}
	EXPECT_GT(omitted, 0U);
	ASSERT_GE(measured_from, 0) << "no interval after the warm-up: " << doc["intervals"];
	// The client sends: its sum is exactly its intervals after the warm-up,
	// in bytes and in time (whatever the machine's speed made of that time).
	EXPECT_EQ(doc["end"]["sum_sent"]["bytes"], measured) << doc;
	EXPECT_NEAR(doc["end"]["sum_sent"]["seconds"].get<double>(), measured_to - measured_from, 1e-3) << doc;
	// It ran the warm-up and then the whole -t: a slow machine only ends later.
	EXPECT_GE(measured_to, 0.2 + 0.4 - 1e-3) << doc["intervals"];
}

// Both ends' CPU, as iperf3: the server measures its own and sends it.
TEST(PerfCpu, UtilisationOfBothEnds)
{
	test::temp_dir dir;
	test::child server({perf_bin, "-s", "unix:" + dir / "p", "--once", "-J"});
	auto uri = listening_uri(server);
	auto doc = run_json(uri, {"-n", "64M", "-l", "128K"});
	const auto& c = doc["end"]["cpu_utilization_percent"];
	for (auto side : {"host", "remote"}) {
		auto key = [&](const char* what) { return std::string(side) + "_" + what; };
		for (auto what : {"total", "user", "system"})
			ASSERT_TRUE(c.contains(key(what))) << key(what) << " missing in " << c;
		EXPECT_GE(c[key("user")].get<double>(), 0.0) << c;
		EXPECT_GE(c[key("system")].get<double>(), 0.0) << c;
		EXPECT_NEAR(c[key("total")].get<double>(), c[key("user")].get<double>() + c[key("system")].get<double>(),
			    1e-6)
			<< c;
	}
	// Moving 64 MiB through a socket takes CPU time on both ends.
	EXPECT_GT(c["host_total"].get<double>(), 0.0) << c;
	EXPECT_GT(c["remote_total"].get<double>(), 0.0) << c;
	// The server's own line: the figures it sent the client.
	auto s = server.wait();
	EXPECT_EQ(s.status, 0) << s.err;
	auto line = json::parse(s.out, nullptr, false);
	ASSERT_FALSE(line.is_discarded()) << s.out;
	EXPECT_EQ(line["cpu_utilization_percent"]["host_total"], c["remote_total"]) << s.out;
	EXPECT_EQ(line["cpu_utilization_percent"]["host_system"], c["remote_system"]) << s.out;
	EXPECT_EQ(line["bytes"], 64U << 20);
}

int tcp_adv_win_scale()
{
	std::ifstream f("/proc/sys/net/ipv4/tcp_adv_win_scale");
	int scale = 1;
	f >> scale;
	return scale;
}

// -w sets both ends' buffers before connecting, and the document says so.
TEST(PerfBuffer, SetOnBothEndsAndReported)
{
	test::child server({perf_bin, "-s", "tcp:127.0.0.1:0"});
	auto uri = listening_uri(server);
	auto plain = run_json(uri, {"-n", "1M", "-l", "4K"});
	auto small = run_json(uri, {"-n", "1M", "-l", "4K", "-w", "16K"});
	EXPECT_EQ(plain["start"]["sock_bufsize"], 0);
	EXPECT_EQ(small["start"]["sock_bufsize"], 16384);
	for (auto key : {"sndbuf_actual", "rcvbuf_actual", "remote_sndbuf_actual", "remote_rcvbuf_actual"}) {
		auto set = small["start"][key].get<int>(), dflt = plain["start"][key].get<int>();
		// Linux doubles what it is given (for its bookkeeping).
		EXPECT_GE(set, 16384) << key;
		EXPECT_LE(set, 4 * 16384) << key;
		EXPECT_LT(set, dflt) << key << ": the default is not above 64 KiB, so this shows nothing";
	}
	EXPECT_EQ(small["end"]["sum_received"]["bytes"], 1U << 20);
	// start.buffers: what each end got, and the window it makes.
	const auto& b = small["start"]["buffers"];
	EXPECT_EQ(b["requested"], 16384);
	for (auto side : {"host", "remote"}) {
		EXPECT_EQ(b[side]["sndbuf"], 32768) << b;
		EXPECT_EQ(b[side]["rcvbuf"], 32768) << b;
		EXPECT_TRUE(b[side]["vm_buffer_size"].is_null()) << b;
		if (tcp_adv_win_scale() == 1) {
			EXPECT_EQ(b[side]["window"], 16384) << b;
		}
		// Set buffers stay as set (TCP tunes only its own).
		EXPECT_EQ(small["end"]["buffers"][side], b[side]) << small["end"]["buffers"];
	}
	EXPECT_EQ(small["start"]["sndbuf_actual"], b["host"]["sndbuf"]);
	EXPECT_EQ(small["start"]["remote_rcvbuf_actual"], b["remote"]["rcvbuf"]);
}

// Unix: SO_SNDBUF limits a stream's sender; both ends report the window.
// Beyond net.core.wmem_max the tool forces it (CAP_NET_ADMIN) or warns.
TEST(PerfBuffer, UnixWindowAndTheCap)
{
	test::temp_dir dir;
	test::child server({perf_bin, "-s", "unix:" + dir / "p"});
	auto uri = listening_uri(server);
	auto doc = run_json(uri, {"-n", "1M", "-l", "4K", "-w", "64K"});
	for (auto side : {"host", "remote"})
		EXPECT_EQ(doc["start"]["buffers"][side]["window"], 65536) << doc["start"]["buffers"];

	std::ifstream f("/proc/sys/net/core/wmem_max");
	long cap = 0;
	f >> cap;
	const long want = 16L << 20;
	if (cap >= want)
		GTEST_SKIP() << "net.core.wmem_max is " << cap;
	auto r = test::run({perf_bin, "-c", uri, "-J", "-n", "1M", "-l", "4K", "-w", "16M"});
	ASSERT_EQ(r.status, 0) << r.err;
	auto big = json::parse(r.out);
	for (auto side : {"host", "remote"}) {
		auto got = big["start"]["buffers"][side]["window"].get<long>();
		if (got == want)
			continue;
		EXPECT_EQ(got, cap) << side;
		EXPECT_TRUE(contains(r.err, "warning: asked for a window of 16777216 bytes")) << r.err;
	}
}

// Every throughput run's whole-run byte counts, warm-up included: what the
// sender sent, the receiver got.
TEST_F(PerfTool, WholeRunByteTotalsAgree)
{
	for (auto dir : {"send", "recv"}) {
		auto doc = run_json(uri, {"-t", "0.3", "-O", "0.2", "-l", "4K", "--direction", dir});
		const auto& e = doc["end"];
		auto sent = e["sum_sent"]["bytes_total"].get<std::uint64_t>();
		EXPECT_EQ(sent, e["sum_received"]["bytes_total"].get<std::uint64_t>()) << e;
		// The warm-up's bytes are in the totals, not in the measured sums.
		EXPECT_GT(sent, e["sum_sent"]["bytes"].get<std::uint64_t>()) << e;
		EXPECT_EQ(e["streams"][0]["sender"]["bytes_total"], sent);
	}
	auto lat = run_json(uri, {"--mode", "latency", "-t", "0.2", "-O", "0.1", "-l", "64"});
	const auto& t = lat["end"]["round_trips_total"];
	EXPECT_EQ(t["initiator"], t["echoer"]) << t;
	EXPECT_GT(t["initiator"].get<std::uint64_t>(), lat["end"]["round_trips"].get<std::uint64_t>()) << lat["end"];
}

// end.cpu_machine_seconds: /proc/stat of each end's machine over the
// measured part (after -O's warm-up).
TEST_F(PerfTool, MachineCpuOverTheMeasuredPart)
{
	const auto start = std::chrono::steady_clock::now();
	auto doc = run_json(uri, {"-t", "0.5", "-O", "0.5", "-l", "64K"});
	const std::chrono::duration<double> whole = std::chrono::steady_clock::now() - start;
	const auto& m = doc["end"]["cpu_machine_seconds"];
	for (auto side : {"host", "remote"}) {
		auto key = [&](const char* what) { return std::string(side) + "_" + what; };
		ASSERT_TRUE(m[key("busy")].is_number()) << m;
		EXPECT_GT(m[key("busy")].get<double>(), 0.0) << m;	// a stream keeps a CPU busy
		EXPECT_LE(m[key("busy")].get<double>(), m[key("total")].get<double>() + 0.02) << m;
		EXPECT_NEAR(m[key("total")].get<double>(),
			    m[key("busy")].get<double>() + m[key("idle")].get<double>() + m[key("steal")].get<double>(),
			    0.015)
			<< m;
		EXPECT_EQ(m[key("cpus")].get<long>(), sysconf(_SC_NPROCESSORS_ONLN)) << m;
		// From the warm-up's end, which comes 0.5 s after either end
		// started, to the end: within the whole run less the warm-up, on a
		// machine of any speed (a late wake-up only shortens it).
		EXPECT_GT(m[key("seconds")].get<double>(), 0.0) << m;
		EXPECT_LT(m[key("seconds")].get<double>(), whole.count() - 0.5) << m << " whole run " << whole.count();
		// Its CPUs' time in all: at most the wall clock times the CPUs, to
		// the tick.  Not at least: ticks go missing (0.90 of 1.00 CPU-s
		// on an idle build machine here), which is why bench/report.py
		// takes busy time as the CPUs' wall time less idle and steal.
		EXPECT_GT(m[key("total")].get<double>(), 0.0) << m;
		EXPECT_LE(m[key("total")].get<double>(),
			  m[key("seconds")].get<double>() * m[key("cpus")].get<double>() + 0.05 * m[key("cpus")].get<double>())
			<< m;
	}
}

// --verify: the receiving end checks every byte; the document says how many.
TEST_F(PerfTool, VerifiedPayload)
{
	auto send = run_json(uri, {"-n", "3000001", "-l", "64K", "--verify"});
	EXPECT_TRUE(send["start"]["test_start"]["verify"].get<bool>());
	EXPECT_EQ(send["end"]["verified_bytes"]["host"], 0);	// the sender
	EXPECT_EQ(send["end"]["verified_bytes"]["remote"], 3000001);
	auto recv = run_json(uri, {"-t", "0.2", "-O", "0.1", "-l", "1000", "-R", "--verify"});
	EXPECT_EQ(recv["end"]["verified_bytes"]["host"], recv["end"]["sum_received"]["bytes_total"]);
	EXPECT_EQ(recv["end"]["verified_bytes"]["remote"], 0);
	auto lat = run_json(uri, {"--mode", "latency", "--count", "50", "-l", "333", "--verify"});
	EXPECT_EQ(lat["end"]["verified_bytes"]["host"], 333 * 50);	// the echoes
	EXPECT_EQ(lat["end"]["verified_bytes"]["remote"], 333 * 50);	// the echoer's input
	auto plain = run_json(uri, {"-n", "1M"});
	EXPECT_FALSE(plain["end"].contains("verified_bytes"));
	EXPECT_FALSE(plain["start"]["test_start"]["verify"].get<bool>());
}

// ---- one test at a time ---------------------------------------------------------------

// A client that comes while a test runs hears "busy" at once instead of
// waiting in the backlog; the server then serves again.
TEST_F(PerfTool, BusyWhileATestRuns)
{
	auto control = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(control) << control.error().message();
	send_bytes(*control, header(42));
	ASSERT_EQ(recv_status(*control), 0);	// the server now runs our test

	auto start = std::chrono::steady_clock::now();
	auto busy = test::run({perf_bin, "-c", uri, "-n", "1M"});
	EXPECT_EQ(busy.status, 1) << busy.err;
	EXPECT_TRUE(contains(busy.err, "the server is busy running another test")) << busy.err;
	// Promptly: not after our test (60 s) or the server's idle time-out (30 s).
	EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
	auto busy_json = test::run({perf_bin, "-c", uri, "-n", "1M", "-J"});
	EXPECT_EQ(busy_json.status, 1);
	EXPECT_TRUE(contains(json::parse(busy_json.out, nullptr, false).value("error", ""), "busy")) << busy_json.out;

	// Our test goes on: its stream, the start, a few bytes, the end.
	auto data = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(data) << data.error().message();
	send_bytes(*data, hello(0, 42));
	auto started = recv_message(*control);
	EXPECT_TRUE(started.contains("sndbuf_actual")) << started;
	send_bytes(*data, bytes(5000, 'x'));
	ASSERT_TRUE(data->shutdown(SHUT_WR));
	auto result = recv_message(*control);
	ASSERT_EQ(result["streams"].size(), 1U) << result;
	EXPECT_EQ(result["streams"][0]["bytes"], 5000) << result;
	EXPECT_TRUE(result["cpu_utilization_percent"].contains("host_total")) << result;

	auto again = run_json(uri, {"-n", "1M"});
	EXPECT_EQ(again["end"]["sum_received"]["bytes"], 1U << 20);
}

// A data connection with the wrong cookie is no part of the running test.
TEST_F(PerfTool, ForeignStreamsAreTurnedAway)
{
	auto control = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(control) << control.error().message();
	send_bytes(*control, header(7, 0, 0, 10));	// 10 bytes
	ASSERT_EQ(recv_status(*control), 0);
	auto stranger = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(stranger);
	send_bytes(*stranger, hello(0, 8));
	std::array<std::byte, 1> b;
	auto n = stranger->recv(b);	// closed by the server
	EXPECT_TRUE(!n || *n == 0);
	auto data = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(data);
	send_bytes(*data, hello(0, 7));
	EXPECT_TRUE(recv_message(*control).contains("rcvbuf_actual"));
}

// ---- the idle time-out ---------------------------------------------------------------

// A client that stops sending in the middle of a test is dropped after
// --idle-timeout, and the server is free again.
TEST(PerfIdle, StalledClientIsDropped)
{
	test::temp_dir dir;
	test::child server({perf_bin, "-s", "unix:" + dir / "p", "--once", "--idle-timeout", "0.3"});
	auto uri = listening_uri(server);
	auto control = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(control) << control.error().message();
	send_bytes(*control, header(9));	// 60 s
	ASSERT_EQ(recv_status(*control), 0);
	auto data = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(data);
	send_bytes(*data, hello(0, 9));
	recv_message(*control);
	send_bytes(*data, bytes(4096, 'x'));
	// ... and nothing more, the connections held open.
	auto s = server.wait(10s);
	EXPECT_EQ(s.status, 1) << s.err;
	EXPECT_TRUE(contains(s.err, "idle for 0.3 s")) << s.err;
	auto why = recv_message(*control);	// the client is told
	EXPECT_TRUE(contains(why.value("error", ""), "idle for 0.3 s")) << why;
}

// iperf3's --rcv-timeout (ms) is the same time-out; it also bounds the wait
// for a test's data connections.
TEST(PerfIdle, StreamsThatNeverComeAreGivenUp)
{
	test::temp_dir dir;
	test::child server({perf_bin, "-s", "unix:" + dir / "p", "--once", "--rcv-timeout", "300"});
	auto uri = listening_uri(server);
	auto control = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(control) << control.error().message();
	send_bytes(*control, header(11));
	ASSERT_EQ(recv_status(*control), 0);
	auto why = recv_message(*control);
	EXPECT_TRUE(contains(why.value("error", ""), "0 of 1 data connections came within 0.3 s")) << why;
	auto s = server.wait(10s);
	EXPECT_EQ(s.status, 1) << s.err;
}

// ---- the client against a fake server ----------------------------------------------

// Answers the header with `status`, takes the one data connection, sends
// the start message, then runs `then` (control, data).
template <class F>
test::child::outcome against_fake_server(const std::vector<std::string>& client_args, std::int32_t status,
					 F then)
{
	test::temp_dir dir;
	auto uri = "unix:" + dir / "fake";
	auto l = vs::listener::listen(vs::address(uri));
	EXPECT_TRUE(l) << l.error().message();
	if (!l)
		return {};
	std::vector<std::string> argv{perf_bin, "--client", uri};
	argv.insert(argv.end(), client_args.begin(), client_args.end());
	test::child client(argv);
	auto c = l->accept(5s);
	EXPECT_TRUE(c) << c.error().message();
	if (!c)
		return client.wait();
	bytes h(56);
	EXPECT_TRUE(c->recv_exact(std::as_writable_bytes(std::span(h))));
	EXPECT_EQ(from_le(&h[4], 2), 3U) << "wire version";
	bytes reply(8);
	le(reply, 0, 0x46505356, 4);
	le(reply, 4, static_cast<std::uint32_t>(status), 4);
	send_bytes(*c, reply);
	if (status == 0) {
		auto d = l->accept(5s);
		EXPECT_TRUE(d) << d.error().message();
		if (d) {
			bytes hi(16);
			EXPECT_TRUE(d->recv_exact(std::as_writable_bytes(std::span(hi))));
			EXPECT_EQ(from_le(&hi[8], 8), from_le(&h[32], 8)) << "the cookie";
			send_bytes(*c, message({{"sndbuf_actual", 1}, {"rcvbuf_actual", 2}}));
			then(*c, *d, h);
		}
	}
	return client.wait();
}

TEST(PerfFake, ClientExplainsAnotherWireVersion)
{
	auto r = against_fake_server({"--size", "64"}, EPROTONOSUPPORT, [](auto&, auto&, auto&) {});
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "another virtsock-perf wire version (this client: version 3)")) << r.err;
}

// Latency recv: the fake server starts the round trips and times them; the
// client reports the server's figures (rtt_us, the intervals).
TEST(PerfFake, ClientReportsTheServersRoundTrips)
{
	auto r = against_fake_server(
		{"--size", "8", "--count", "2", "--mode", "latency", "--direction", "recv", "--json"}, 0,
		[](vs::stream_socket& c, vs::stream_socket& d, const bytes& h) {
			EXPECT_EQ(h[6], 1U);	// latency
			EXPECT_EQ(h[7], 1U);	// recv
			EXPECT_EQ(h[16], 2U);	// round trips
			for (int i = 0; i < 2; i++) {
				std::string msg = "message" + std::to_string(i), echo(8, '\0');
				EXPECT_TRUE(d.send_all(std::as_bytes(std::span(msg))));
				EXPECT_TRUE(d.recv_exact(std::as_writable_bytes(std::span(echo))));
				EXPECT_EQ(echo, msg);
			}
			EXPECT_TRUE(d.shutdown(SHUT_WR));
			std::array<std::byte, 1> b;
			auto n = d.recv(b);	// the echoer's end of stream
			EXPECT_TRUE(n && *n == 0);
			json rtt = {{"min", 1.0}, {"mean", 2.0}, {"p50", 2.0}, {"p90", 3.0},
				    {"p99", 3.0}, {"p99_9", 7.0}, {"max", 7.0}};
			send_bytes(c, message({{"cpu_utilization_percent",
						 {{"host_total", 3.0}, {"host_user", 1.0}, {"host_system", 2.0}}},
						{"streams",
						 {{{"bytes", 32},
						   {"seconds", 0.25},
						   {"round_trips", 2},
						   {"rtt_us", rtt},
						   {"intervals", {{0.0, 0.25, 32, 2, false, 2.0, 7.0}}}}}}}));
		});
	EXPECT_EQ(r.status, 0) << r.err;
	auto doc = json::parse(r.out, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << r.out;
	EXPECT_EQ(doc["end"]["seconds"], 0.25);
	EXPECT_EQ(doc["end"]["round_trips"], 2);
	EXPECT_EQ(doc["end"]["rtt_us"]["p99_9"], 7.0);
	EXPECT_EQ(doc["end"]["cpu_utilization_percent"]["remote_total"], 3.0);
	EXPECT_EQ(doc["end"]["cpu_utilization_percent"]["remote_system"], 2.0);
	ASSERT_EQ(doc["intervals"].size(), 1U) << doc;
	EXPECT_EQ(doc["intervals"][0]["sum"]["rtt_us"]["max"], 7.0);
	EXPECT_EQ(doc["start"]["remote_sndbuf_actual"], 1);
	EXPECT_EQ(doc["start"]["remote_rcvbuf_actual"], 2);
}

// The fake server sends zeros where the pattern belongs.
TEST(PerfFake, ClientFindsAWrongPayload)
{
	auto r = against_fake_server({"-n", "4096", "-l", "4K", "-R", "--verify"}, 0,
				     [](vs::stream_socket&, vs::stream_socket& d, const bytes& h) {
					     EXPECT_EQ(from_le(&h[42], 2), 1U) << "the verify flag";
					     bytes zeros(4096);
					     (void)d.send_all(std::as_bytes(std::span(zeros)));
					     (void)d.shutdown(SHUT_WR);
				     });
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "payload mismatch at stream byte ")) << r.err;
}

// A server that ignores the flag (it was reserved) verifies nothing: the
// client does not pass that off as verified.
TEST(PerfFake, ClientWantsTheServersVerification)
{
	auto r = against_fake_server({"-n", "1K", "-l", "1K", "--verify"}, 0,
				     [](vs::stream_socket& c, vs::stream_socket& d, const bytes&) {
					     bytes sink(1024);
					     EXPECT_TRUE(d.recv_exact(std::as_writable_bytes(std::span(sink))));
					     EXPECT_TRUE(d.shutdown(SHUT_WR));
					     send_bytes(c, message({{"streams",
								     {{{"bytes", 1024}, {"seconds", 0.1}, {"round_trips", 0}}}}}));
				     });
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "the server did not verify the payload")) << r.err;
}

// A fake client sends zeros to the real server under --verify: the server
// stops the test and says why.
TEST(PerfFakeClient, ServerFindsAWrongPayload)
{
	test::temp_dir dir;
	test::child server({perf_bin, "-s", "unix:" + dir / "p"});
	auto uri = listening_uri(server);
	auto c = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	auto h = header(77, 0, 0, 4096);
	le(h, 42, 1, 2);	// verify
	send_bytes(*c, h);
	ASSERT_EQ(recv_status(*c), 0);
	auto d = vs::connector(5s).connect(vs::address(uri));
	ASSERT_TRUE(d) << d.error().message();
	send_bytes(*d, hello(0, 77));
	auto start = recv_message(*c);
	EXPECT_TRUE(start.contains("buffers")) << start;
	bytes zeros(4096);
	send_bytes(*d, zeros);
	(void)d->shutdown(SHUT_WR);
	auto result = recv_message(*c);
	ASSERT_TRUE(result.contains("error")) << result;
	EXPECT_TRUE(contains(result["error"].get<std::string>(), "payload mismatch at stream byte ")) << result;
}

TEST(PerfFake, ClientChecksTheServersResult)
{
	auto junk = against_fake_server({"-n", "1K", "-l", "1K"}, 0,
					[](vs::stream_socket& c, vs::stream_socket& d, const bytes&) {
						bytes sink(1024);
						EXPECT_TRUE(d.recv_exact(std::as_writable_bytes(std::span(sink))));
						EXPECT_TRUE(d.shutdown(SHUT_WR));
						send_bytes(c, bytes(80, 'x'));
					});
	EXPECT_EQ(junk.status, 1);
	EXPECT_TRUE(contains(junk.err, "reading the server's result: not a virtsock-perf message")) << junk.err;

	auto wrong = against_fake_server(
		{"--size", "8", "--count", "1", "--mode", "latency", "-R"}, 0,
		[](vs::stream_socket& c, vs::stream_socket& d, const bytes&) {
			std::string msg(8, 'm');
			EXPECT_TRUE(d.send_all(std::as_bytes(std::span(msg))));
			EXPECT_TRUE(d.recv_exact(std::as_writable_bytes(std::span(msg))));
			EXPECT_TRUE(d.shutdown(SHUT_WR));
			json rtt = {{"min", 1.0}, {"mean", 1.0}, {"p50", 1.0}, {"p90", 1.0},
				    {"p99", 1.0}, {"p99_9", 1.0}, {"max", 1.0}};
			send_bytes(c, message({{"streams",
						{{{"bytes", 160}, {"seconds", 0.1}, {"round_trips", 10}, {"rtt_us", rtt}}}}}));
		});
	EXPECT_EQ(wrong.status, 1);
	EXPECT_TRUE(contains(wrong.err, "the initiator timed 10 round trips, the echoer echoed 1")) << wrong.err;

	auto refused = against_fake_server({"-n", "1K"}, 0, [](vs::stream_socket& c, vs::stream_socket&, const bytes&) {
		send_bytes(c, message({{"error", "out of cheese"}}));
	});
	EXPECT_EQ(refused.status, 1);
	EXPECT_TRUE(contains(refused.err, "the server: out of cheese")) << refused.err;
}

} // namespace
