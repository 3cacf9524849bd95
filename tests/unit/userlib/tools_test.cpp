// The tools as built: argument handling, exit statuses, and real transfers.
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <bit>
#include <random>

#include "test_util.hpp"

namespace vs = virtsocket;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string cat_bin = VIRTSOCK_CAT;
const std::string perf_bin = VIRTSOCK_PERF;
const std::string stat_bin = VIRTSOCK_STAT;

bool contains(const std::string& haystack, const std::string& needle)
{
	return haystack.find(needle) != std::string::npos;
}

using test::fnv1a;
using test::random_bytes;

// "...: listening on URI" -> URI
std::string listening_uri(test::child& c)
{
	auto line = c.stderr_line();
	auto at = line.find("listening on ");
	EXPECT_NE(at, std::string::npos) << "no ready line, got '" << line << "'";
	return at == std::string::npos ? "" : line.substr(at + 13);
}

// ---- --help and usage errors -------------------------------------------------------

class Help : public ::testing::TestWithParam<std::string> {};

TEST_P(Help, ExitsZeroWithUsage)
{
	auto r = test::run({GetParam(), "--help"});
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_TRUE(contains(r.out, "Usage:")) << r.out;
	EXPECT_TRUE(contains(r.out, "Exit status")) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Tools, Help, ::testing::Values(cat_bin, perf_bin, stat_bin),
			 [](const auto& info) {
				 auto name = std::filesystem::path(info.param).filename().string();
				 return name.substr(name.find('-') + 1);
			 });

struct usage_case {
	std::vector<std::string> argv;
	std::string says;
};

void PrintTo(const usage_case& c, std::ostream* os)
{
	*os << std::filesystem::path(c.argv[0]).filename().string();
	for (std::size_t i = 1; i < c.argv.size(); i++)
		*os << ' ' << c.argv[i];
}

class Usage : public ::testing::TestWithParam<usage_case> {};

TEST_P(Usage, ExitsTwoWithAMessage)
{
	auto r = test::run(GetParam().argv);
	EXPECT_EQ(r.status, 2) << r.err;
	EXPECT_TRUE(contains(r.err, GetParam().says)) << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
	Tools, Usage,
	::testing::Values(
		usage_case{{cat_bin}, "URI is required"},
		usage_case{{cat_bin, "--bogus", "unix:/x"}, "--bogus"},
		usage_case{{cat_bin, "unix:"}, "missing socket path"},
		usage_case{{cat_bin, "virt:nohost:1"}, "CID 'nohost'"},
		usage_case{{cat_bin, "-w", "-1", "unix:/x"}, "-w"},
		usage_case{{cat_bin, "unix:/a", "unix:/b"}, "unix:/b"},
		usage_case{{perf_bin}, "give --server URI or --client URI"},
		usage_case{{perf_bin, "--server", "unix:/a", "--client", "unix:/b"}, "excludes"},
		usage_case{{perf_bin, "--client", "unix:/a", "--mode", "latency", "-P", "2"}, "runs one stream"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "0"}, "outside 1.."},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "1G"}, "outside 1.."},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "lots"}, "--size"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--mode", "fast"}, "--mode"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--direction", "up"},
			   "--direction"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--bytes", "1", "--time", "1"},
			   "excludes"},
		usage_case{{perf_bin, "--client", "tcp:[::1:5", "--size", "64"}, "missing ']'"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--count", "5"},
			   "--count needs --mode latency"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--count", "5", "--direction", "recv"},
			   "--count needs --mode latency"},
		usage_case{{perf_bin, "--client", "unix:/a", "--size", "64", "--mode", "latency", "--direction",
			    "recv", "--count", "5", "--time", "1"},
			   "excludes"},
		usage_case{{stat_bin, "--bogus"}, "--bogus"},
		usage_case{{stat_bin, "extra"}, "extra"}));

// ---- runtime errors -------------------------------------------------------------------

TEST(Cat, ConnectFailureExitsOne)
{
	test::temp_dir dir;
	auto r = test::run({cat_bin, "unix:" + dir / "nobody"});
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "connect to unix:" + dir / "nobody" + ": No such file")) << r.err;
}

TEST(Cat, MissingModuleIsExplained)
{
	test::temp_dir dir;
	auto r = test::run({cat_bin, "virt:host:1234"},
			   {.env = {{"VIRTSOCKET_SYSFS_DIR", (dir.path() / "gone").string()}}});
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "AF_VIRT not available: virtsocket module not loaded (" +
					    (dir.path() / "gone/family").string() + " missing)"))
		<< r.err;
}

// ---- virtsock-cat moves data --------------------------------------------------------------

// A file goes from a connecting cat to a listening cat, or the other way round;
// the receiving side's stdin is empty, so it half-closes at once.
void transfer(const std::string& scheme, bool listener_sends)
{
	test::temp_dir dir;
	const auto data = random_bytes(3 << 20);
	auto input = dir.write("in", data);
	auto output = dir / "out";
	std::string where = scheme == "unix" ? "unix:" + dir / "s" : "tcp:127.0.0.1:0";

	test::spawn_options lopt, copt;
	(listener_sends ? lopt : copt).stdin_path = input;
	(listener_sends ? copt : lopt).stdout_path = output;
	test::child listener({cat_bin, "-l", "-v", "-w", "5", where}, lopt);
	auto uri = listening_uri(listener);
	ASSERT_FALSE(uri.empty());
	test::child client({cat_bin, uri}, copt);
	auto c = client.wait();
	auto l = listener.wait();
	EXPECT_EQ(c.status, 0) << c.err;
	EXPECT_EQ(l.status, 0) << l.err;
	auto got = test::read_file(output);
	EXPECT_EQ(got.size(), data.size());
	EXPECT_EQ(fnv1a(got), fnv1a(data));
	if (scheme == "unix") {
		EXPECT_FALSE(std::filesystem::exists(dir / "s"));	// listener cleaned up
	}
}

TEST(Cat, UnixFileToListener) { transfer("unix", false); }
TEST(Cat, UnixFileFromListener) { transfer("unix", true); }
TEST(Cat, TcpFileToListener) { transfer("tcp", false); }

TEST(Cat, HalfClosesThenPrintsTheReply)
{
	test::temp_dir dir;
	vs::listener l(vs::address("unix:" + dir / "s"));
	test::child cat({cat_bin, "unix:" + dir / "s"}, {.stdin_path = dir.write("req", "question")});
	auto s = l.accept(5s);
	ASSERT_TRUE(s) << s.error().message();
	std::string req;
	std::array<std::byte, 64> buf;
	for (;;) {	// until cat's half-close
		auto n = s->recv(buf);
		ASSERT_TRUE(n) << n.error().message();
		if (*n == 0)
			break;
		req.append(reinterpret_cast<const char*>(buf.data()), *n);
	}
	EXPECT_EQ(req, "question");
	std::string answer = "answer";
	ASSERT_TRUE(s->send_all(std::as_bytes(std::span(answer))));
	ASSERT_TRUE(s->close());
	auto r = cat.wait();
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_EQ(r.out, "answer");
}

// A reset (here TCP's RST, from a close with SO_LINGER 0) is exit status 3, an
// end of stream 0 (above): a reader can tell a dead peer from a finished one.
TEST(Cat, PeerResetExitsThree)
{
	test::temp_dir dir;
	vs::listener l(vs::address("tcp:127.0.0.1:0"));
	auto local = l.local_address();
	ASSERT_TRUE(local) << local.error().message();
	test::child cat({cat_bin, local->to_string()}, {.stdin_path = dir.write("in", "")});
	auto s = l.accept(5s);
	ASSERT_TRUE(s) << s.error().message();
	std::array<std::byte, 64> buf;
	auto n = s->recv(buf);	// cat's half-close (its stdin is empty): it is in its relay loop
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_EQ(*n, 0u);
	const linger reset{.l_onoff = 1, .l_linger = 0};
	ASSERT_EQ(::setsockopt(s->handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
	ASSERT_TRUE(s->close());
	auto r = cat.wait();
	EXPECT_EQ(r.status, 3) << r.err;
	EXPECT_TRUE(contains(r.err, "virtsock-cat: recv: Connection reset by peer")) << r.err;
	EXPECT_TRUE(r.out.empty()) << r.out;
}

// ---- virtsock-perf ----------------------------------------------------------------------------

json run_perf_client(const std::string& uri, std::vector<std::string> args)
{
	std::vector<std::string> argv{perf_bin, "--client", uri, "--json"};
	argv.insert(argv.end(), args.begin(), args.end());
	auto r = test::run(argv);
	EXPECT_EQ(r.status, 0) << r.err;
	json doc = json::parse(r.out, nullptr, false);	// exactly one document, or discarded
	EXPECT_FALSE(doc.is_discarded()) << r.out;
	return doc;
}

void expect_start(const json& doc, const std::string& uri, std::string_view mode,
		  std::string_view direction, std::uint64_t size)
{
	ASSERT_TRUE(doc.contains("start")) << doc;
	ASSERT_TRUE(doc["intervals"].is_array()) << doc;
	ASSERT_TRUE(doc["end"].is_object()) << doc;
	const auto& s = doc["start"];
	EXPECT_EQ(s["transport"], uri.substr(0, uri.find(':')));
	EXPECT_EQ(s["uri"], uri);
	EXPECT_EQ(s["test_start"]["blksize"], size);
	EXPECT_EQ(s["test_start"]["mode"], mode);
	EXPECT_EQ(s["test_start"]["direction"], direction);
}

// Percentiles present, positive and ordered; intervals add up to the total.
void expect_latency(const json& doc, std::uint64_t round_trips, std::uint64_t size)
{
	const auto& end = doc["end"];
	EXPECT_EQ(end["round_trips"], round_trips) << doc;
	EXPECT_EQ(end["bytes"], 2 * size * end["round_trips"].get<std::uint64_t>()) << doc;
	EXPECT_GT(end["seconds"].get<double>(), 0.0) << doc;
	const auto& l = end["rtt_us"];
	for (auto key : {"min", "mean", "p50", "p90", "p99", "p99_9", "max"})
		ASSERT_TRUE(l.contains(key)) << key << " missing in " << l;
	EXPECT_GT(l["min"].get<double>(), 0.0) << l;
	EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>()) << l;
	EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>()) << l;
	EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>()) << l;
	EXPECT_LE(l["p99"].get<double>(), l["p99_9"].get<double>()) << l;
	EXPECT_LE(l["p99_9"].get<double>(), l["max"].get<double>()) << l;
	EXPECT_LE(l["mean"].get<double>(), l["max"].get<double>()) << l;
	std::uint64_t sum = 0;
	for (const auto& i : doc["intervals"]) {
		const auto& iv = i["sum"];
		ASSERT_TRUE(iv["rtt_us"].contains("p50")) << iv;
		ASSERT_TRUE(iv["rtt_us"].contains("max")) << iv;
		EXPECT_LE(iv["rtt_us"]["p50"].get<double>(), iv["rtt_us"]["max"].get<double>()) << iv;
		EXPECT_EQ(iv["bytes"], 2 * size * iv["round_trips"].get<std::uint64_t>()) << iv;
		sum += iv["round_trips"].get<std::uint64_t>();
	}
	EXPECT_FALSE(doc["intervals"].empty()) << doc;
	EXPECT_EQ(sum, end["round_trips"]) << doc;
}

void perf_suite(const std::string& where)
{
	test::child server({perf_bin, "--server", where});
	auto uri = listening_uri(server);
	ASSERT_FALSE(uri.empty());

	for (std::string direction : {"send", "recv"}) {
		auto doc = run_perf_client(uri, {"--size", "4K", "--bytes", "8M", "--direction", direction});
		expect_start(doc, uri, "throughput", direction, 4096);
		EXPECT_EQ(doc["end"]["sum_sent"]["bytes"], 8U << 20);
		EXPECT_EQ(doc["end"]["sum_received"]["bytes"], 8U << 20);
		EXPECT_GT(doc["end"]["sum_received"]["bits_per_second"].get<double>(), 0.0);
	}

	auto lat = run_perf_client(uri, {"--size", "64", "--bytes", "64K", "--mode", "latency"});
	expect_start(lat, uri, "latency", "send", 64);
	EXPECT_EQ(lat["end"]["round_trips"], 1024U);
	const auto& l = lat["end"]["rtt_us"];
	for (auto key : {"p50", "p90", "p99", "p99_9", "max"})
		ASSERT_TRUE(l.contains(key)) << key << " missing in " << l;
	EXPECT_GT(l["p50"].get<double>(), 0.0);
	EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>());
	EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
	EXPECT_LE(l["p99"].get<double>(), l["p99_9"].get<double>());
	EXPECT_LE(l["p99_9"].get<double>(), l["max"].get<double>());

	expect_latency(lat, 1024, 64);

	// Server-initiated round trips: counted, large, timed, human.
	auto rlat = run_perf_client(uri, {"--size", "64", "--count", "500", "--mode", "latency",
					  "--direction", "recv"});
	expect_start(rlat, uri, "latency", "recv", 64);
	EXPECT_EQ(rlat["start"]["test_start"]["round_trips"], 500U);
	expect_latency(rlat, 500, 64);
	auto by_bytes = run_perf_client(uri, {"--size", "1K", "--bytes", "64K", "--mode", "latency",
					      "--direction", "recv"});
	expect_latency(by_bytes, 64, 1024);
	auto big = run_perf_client(uri, {"--size", "1M", "--count", "5", "--mode", "latency",
					 "--direction", "recv"});
	expect_start(big, uri, "latency", "recv", 1U << 20);
	expect_latency(big, 5, 1U << 20);
	auto rtimed = run_perf_client(uri, {"--size", "256", "--time", "0.3", "--interval", "0.1",
					    "--mode", "latency", "--direction", "recv"});
	expect_start(rtimed, uri, "latency", "recv", 256);
	EXPECT_EQ(rtimed["start"]["test_start"]["duration"], 0.3);
	EXPECT_GE(rtimed["intervals"].size(), 2U) << rtimed;
	EXPECT_GE(rtimed["end"]["seconds"].get<double>(), 0.3);
	EXPECT_GT(rtimed["end"]["round_trips"].get<std::uint64_t>(), 0U);
	expect_latency(rtimed, rtimed["end"]["round_trips"].get<std::uint64_t>(), 256);
	auto rhuman = test::run({perf_bin, "--client", uri, "--size", "64", "--count", "100", "--mode",
				 "latency", "--direction", "recv"});
	EXPECT_EQ(rhuman.status, 0) << rhuman.err;
	EXPECT_TRUE(contains(rhuman.out, "latency, server sends")) << rhuman.out;
	EXPECT_TRUE(contains(rhuman.out, "100  total")) << rhuman.out;
	EXPECT_TRUE(contains(rhuman.out, "round trip (us): min ")) << rhuman.out;

	auto timed = run_perf_client(uri, {"--size", "1K", "--time", "0.3", "--interval", "0.1"});
	EXPECT_EQ(timed["start"]["test_start"]["duration"], 0.3);
	EXPECT_GE(timed["intervals"].size(), 2U);
	EXPECT_GE(timed["end"]["sum_sent"]["seconds"].get<double>(), 0.3);
	for (const auto& iv : timed["intervals"])
		EXPECT_GT(iv["sum"]["bits_per_second"].get<double>(), 0.0) << iv;

	auto human = test::run({perf_bin, "--client", uri, "--size", "512", "--bytes", "1M"});
	EXPECT_EQ(human.status, 0) << human.err;
	EXPECT_TRUE(contains(human.out, "MB/s")) << human.out;
}

TEST(Perf, UnixOneServerServesEveryTest)
{
	test::temp_dir dir;
	perf_suite("unix:" + dir / "perf");
}

TEST(Perf, TcpOneServerServesEveryTest) { perf_suite("tcp:127.0.0.1:0"); }

TEST(Perf, OnceServerExitsAfterOneClient)
{
	test::temp_dir dir;
	test::child server({perf_bin, "--server", "unix:" + dir / "p", "--once", "--json"});
	auto uri = listening_uri(server);
	auto doc = run_perf_client(uri, {"--size", "64", "--count", "100", "--mode", "latency"});
	EXPECT_EQ(doc["end"]["round_trips"], 100U);
	auto s = server.wait();
	EXPECT_EQ(s.status, 0) << s.err;
	auto line = json::parse(s.out, nullptr, false);	// one JSON line per test
	ASSERT_FALSE(line.is_discarded()) << s.out;
	EXPECT_EQ(line["round_trips"], 100U);
	EXPECT_EQ(line["mode"], "latency");
	auto again = test::run({perf_bin, "--client", uri, "--size", "64"});
	EXPECT_EQ(again.status, 1);	// nobody serves any more
}

TEST(Perf, OnceServerTimesServerInitiatedRoundTrips)
{
	test::temp_dir dir;
	test::child server({perf_bin, "--server", "unix:" + dir / "p", "--once", "--json"});
	auto uri = listening_uri(server);
	auto doc = run_perf_client(uri, {"--size", "4K", "--count", "300", "--mode", "latency",
					 "--direction", "recv", "--interval", "0"});
	expect_start(doc, uri, "latency", "recv", 4096);
	EXPECT_EQ(doc["end"]["round_trips"], 300U);
	EXPECT_TRUE(doc["intervals"].empty()) << doc;
	auto s = server.wait();
	EXPECT_EQ(s.status, 0) << s.err;
	auto line = json::parse(s.out, nullptr, false);
	ASSERT_FALSE(line.is_discarded()) << s.out;
	EXPECT_EQ(line["mode"], "latency");
	EXPECT_EQ(line["direction"], "recv");
	EXPECT_EQ(line["round_trips"], 300U);
	EXPECT_EQ(line["bytes"], 2U * 4096 * 300);
	// The server timed the round trips, the client reports its figures.
	EXPECT_EQ(line["rtt_us"], doc["end"]["rtt_us"]) << s.out;
	EXPECT_EQ(line["seconds"], doc["end"]["seconds"]) << s.out;
}

TEST(Perf, SweepRunsEverySize)
{
	test::temp_dir dir;
	test::child server({perf_bin, "--server", "unix:" + dir / "p"});
	auto uri = listening_uri(server);
	auto doc = run_perf_client(uri, {"--sweep", "64,1K,64K", "--bytes", "1M"});
	ASSERT_TRUE(doc["sweep"].is_array()) << doc;
	ASSERT_EQ(doc["sweep"].size(), 3U);
	EXPECT_EQ(doc["sweep"][2]["start"]["test_start"]["blksize"], 65536U);
	EXPECT_GT(doc["sweep"][2]["end"]["sum_received"]["bits_per_second"].get<double>(), 0.0);
}

TEST(Perf, NoServerIsARuntimeErrorInJson)
{
	test::temp_dir dir;
	auto r = test::run({perf_bin, "--client", "unix:" + dir / "none", "--size", "64", "--json"});
	EXPECT_EQ(r.status, 1);
	auto doc = json::parse(r.out, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << r.out;
	EXPECT_TRUE(contains(doc["error"].get<std::string>(), "No such file")) << doc;
}

TEST(Perf, ServerRejectsAForeignClient)
{
	test::temp_dir dir;
	test::child server({perf_bin, "--server", "unix:" + dir / "p", "--once"});
	auto uri = listening_uri(server);
	auto c = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	std::string junk(32, 'x');
	ASSERT_TRUE(c->send_all(std::as_bytes(std::span(junk))));
	auto s = server.wait();
	EXPECT_EQ(s.status, 1);
	EXPECT_TRUE(contains(s.err, "rejected test header")) << s.err;
}

// A v1 header: the server names both versions.
TEST(Perf, ServerRejectsAnotherWireVersion)
{
	test::temp_dir dir;
	test::child server({perf_bin, "--server", "unix:" + dir / "p", "--once"});
	auto uri = listening_uri(server);
	auto c = vs::connector(2s).connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	std::array<unsigned char, 32> h{'V', 'S', 'P', 'F', 1, 0, 1, 0, 64};	// v1, latency, size 64
	h[16] = 10;	// 10 round trips
	ASSERT_TRUE(c->send_all(std::as_bytes(std::span(h))));
	std::array<unsigned char, 8> status{};
	ASSERT_TRUE(c->recv_exact(std::as_writable_bytes(std::span(status))));
	EXPECT_EQ(status[4], EPROTONOSUPPORT);
	auto s = server.wait();
	EXPECT_EQ(s.status, 1);
	EXPECT_TRUE(contains(s.err, "client speaks wire version 1, this server version 3")) << s.err;
}

// virtsock-stat: stat_test.cpp.

} // namespace
