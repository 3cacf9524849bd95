// virtsock-stat over fixtures in the exact format the kernel modules print:
// the header and row format are checked against af_virt/af_virt.c's
// virt_proc_show() (both modules' /proc/net/virt) and host-module/vm.c's
// virt_vms_show(), and the rows are rendered with that same format.
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "test_util.hpp"

namespace vs = virtsocket;
using nlohmann::json;

namespace {

const std::string stat_bin = VIRTSOCK_STAT;
const std::string source_dir = VIRTSOCKET_SOURCE_DIR;

// af_virt/af_virt.c, virt_proc_show(): seq_puts() and seq_printf().
constexpr const char* net_header =
	"inode st local_cid local_port peer_cid peer_port conn rx_queued tx_inflight tx_bytes rx_bytes "
	"credit_stalls\n";
#define NET_ROW_FORMAT "%lu %02X %u %u %u %u %u %u %u %llu %llu %llu\n"
// host-module/vm.c, virt_vms_show().
constexpr const char* vms_header =
	"cid pid ring_gpa ring_entries apic_id vector features hypercalls errors irqs flushes tx_descs "
	"rx_descs bad_descs tx_bytes rx_bytes buffer_stalls conns stale_descs policy_denied\n";

constexpr unsigned tcp_established = 1, tcp_syn_sent = 2, tcp_close = 7, tcp_listen = 10, tcp_closing = 11;
constexpr unsigned any = 0xffffffffU;

struct net_row {
	unsigned long inode;
	unsigned st, local_cid, local_port, peer_cid, peer_port, conn, rx_queued, tx_inflight;
	unsigned long long tx_bytes, rx_bytes, credit_stalls;
};

// One row as the kernel prints it.
std::string render(const net_row& r)
{
	char buf[256];
	std::snprintf(buf, sizeof(buf), NET_ROW_FORMAT, r.inode, r.st, r.local_cid, r.local_port, r.peer_cid,
		      r.peer_port, r.conn, r.rx_queued, r.tx_inflight, r.tx_bytes, r.rx_bytes, r.credit_stalls);
	return buf;
}

std::string listing(const std::vector<net_row>& rows)
{
	std::string s = net_header;
	for (const auto& r : rows)
		s += render(r);
	return s;
}

bool contains(const std::string& haystack, const std::string& needle)
{
	return haystack.find(needle) != std::string::npos;
}

std::string read_source(const std::string& rel)
{
	return test::read_file(source_dir + "/" + rel);
}

// The string literal passed to `call(m, "...")` in a source file.
std::string literal_after(const std::string& source, const std::string& call)
{
	auto at = source.find(call + "(m, \"");
	if (at == std::string::npos)
		return "";
	auto start = at + call.size() + 5;
	auto end = source.find('"', start);
	auto s = source.substr(start, end - start);
	for (std::size_t nl; (nl = s.find("\\n")) != std::string::npos;)	// C's \n
		s.replace(nl, 2, "\n");
	return s;
}

TEST(StatFormat, FixturesAreWhatTheKernelPrints)
{
	auto af = read_source("af_virt/af_virt.c");
	ASSERT_FALSE(af.empty());
	auto show = af.substr(af.find("static int virt_proc_show"));
	EXPECT_EQ(literal_after(show, "seq_puts"), net_header);
	EXPECT_EQ(literal_after(show, "seq_printf"), NET_ROW_FORMAT);
	auto vm = read_source("host-module/vm.c");
	ASSERT_FALSE(vm.empty());
	EXPECT_EQ(literal_after(vm.substr(vm.find("static int virt_vms_show")), "seq_puts"), vms_header);
}

// A host: a listener on any:5000, a connection it accepted from guest 3, a
// socket that only connects, one closing, one unbound, one an accepted
// connection nobody has taken yet (inode 0).
const std::vector<net_row> host_rows{
	{1001, tcp_listen, any, 5000, any, any, 0, 0, 0, 0, 0, 0},
	{1002, tcp_established, 2, 5000, 3, 1073741825, 17, 12, 4096, 1048576, 2048, 3},
	{1003, tcp_syn_sent, 2, 1073741900, 4, 6000, 18, 0, 0, 0, 0, 0},
	{1004, tcp_closing, 2, 5001, 3, 1073741826, 19, 0, 0, 10, 20, 0},
	{1005, tcp_close, any, any, any, any, 0, 0, 0, 0, 0, 0},
	{0, tcp_established, 2, 5000, 3, 1073741827, 20, 5, 0, 0, 5, 0},
};

class Stat : public ::testing::Test {
protected:
	void SetUp() override { dir.write("net", listing(host_rows)); }
	test::spawn_options env()
	{
		return {.env = {{"VIRTSOCKET_SYSFS_DIR", (dir.path() / "sys").string()},
				{"VIRTSOCKET_PROC_NET", (dir.path() / "net").string()},
				{"VIRTSOCKET_PROC_VMS", (dir.path() / "vms").string()}}};
	}
	test::child::outcome stat(std::vector<std::string> args)
	{
		args.insert(args.begin(), stat_bin);
		return test::run(args, env());
	}
	test::temp_dir dir;
};

// Without -a or -l: connected sockets only, as ss; addresses CID:PORT, * for
// any; CID 2 shown as host unless -n.
TEST_F(Stat, DefaultShowsConnectedSockets)
{
	auto r = stat({});
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_EQ(r.out, "State     Recv-Q  Send-Q  Local Address:Port  Peer Address:Port\n"
			 "ESTAB     12      4096    host:5000           3:1073741825\n"
			 "SYN-SENT  0       0       host:1073741900     4:6000\n"
			 "CLOSING   0       0       host:5001           3:1073741826\n"
			 "ESTAB     5       0       host:5000           3:1073741827\n");
}

TEST_F(Stat, ListeningAllNumericNoHeader)
{
	auto l = stat({"-l", "-n"});
	EXPECT_EQ(l.status, 0) << l.err;
	EXPECT_EQ(l.out, "State   Recv-Q  Send-Q  Local Address:Port  Peer Address:Port\n"
			 "LISTEN  0       0       *:5000              *:*\n");
	auto a = stat({"-a", "-n", "-H"});
	EXPECT_EQ(a.status, 0) << a.err;
	EXPECT_EQ(a.out, "LISTEN    0   0     *:5000        *:*\n"
			 "ESTAB     12  4096  2:5000        3:1073741825\n"
			 "SYN-SENT  0   0     2:1073741900  4:6000\n"
			 "CLOSING   0   0     2:5001        3:1073741826\n"
			 "UNCONN    0   0     *:*           *:*\n"
			 "ESTAB     5   0     2:5000        3:1073741827\n");
	auto combined = stat({"-lnH"});
	EXPECT_EQ(combined.out, "LISTEN  0  0  *:5000  *:*\n");
}

TEST_F(Stat, ExtendedAndInfo)
{
	auto r = stat({"-n", "-H", "-e", "-i", "sport", "=", ":5000"});
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_EQ(r.out, "ESTAB  12  4096  2:5000  3:1073741825  ino:1002 conn:17\n"
			 "\tbytes_sent:1048576 bytes_received:2048 credit_stalls:3\n"
			 "ESTAB  5   0     2:5000  3:1073741827  ino:0 conn:20\n"
			 "\tbytes_sent:0 bytes_received:5 credit_stalls:0\n");
}

struct filter_case {
	std::vector<std::string> words;
	std::vector<unsigned> inodes;	// of the rows shown (-a -e)
};

void PrintTo(const filter_case& c, std::ostream* os)
{
	for (const auto& w : c.words)
		*os << w << ' ';
}

class StatFilter : public Stat, public ::testing::WithParamInterface<filter_case> {};

TEST_P(StatFilter, ShowsTheMatchingRows)
{
	std::vector<std::string> args{"-n", "-H", "-e"};
	args.insert(args.end(), GetParam().words.begin(), GetParam().words.end());
	auto r = stat(args);
	ASSERT_EQ(r.status, 0) << r.err;
	std::vector<unsigned> got;
	for (auto at = r.out.find("ino:"); at != std::string::npos; at = r.out.find("ino:", at + 1))
		got.push_back(static_cast<unsigned>(std::stoul(r.out.substr(at + 4))));
	EXPECT_EQ(got, GetParam().inodes) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
	Stat, StatFilter,
	::testing::Values(
		filter_case{{"state", "listening"}, {1001}},
		filter_case{{"state", "established"}, {1002, 0}},
		filter_case{{"state", "established", "state", "closing"}, {1002, 1004, 0}},
		filter_case{{"state", "all"}, {1001, 1002, 1003, 1004, 1005, 0}},
		filter_case{{"state", "closed"}, {1005}},
		filter_case{{"state", "UNCONN"}, {1005}},
		filter_case{{"state", "synchronized"}, {1002, 1004, 0}},
		filter_case{{"state", "connected", "exclude", "syn-sent"}, {1002, 1004, 0}},
		filter_case{{"-a", "exclude", "listening"}, {1002, 1003, 1004, 1005, 0}},
		filter_case{{"-a", "sport", "=", ":5000"}, {1001, 1002, 0}},
		filter_case{{"-a", "sport", "eq", "5000", "and", "state", "listening"}, {1001}},
		filter_case{{"-a", "dport", "!=", ":6000", "state", "connected"}, {1002, 1004, 0}},
		filter_case{{"dport", "gt", ":1073741825"}, {1004, 0}},
		filter_case{{"dport", ">=", ":1073741825"}, {1002, 1004, 0}},
		filter_case{{"sport", "lt", ":5001"}, {1002, 0}},
		filter_case{{"sport", "<=", ":5001"}, {1002, 1004, 0}},
		filter_case{{"dst", "4"}, {1003}},
		filter_case{{"dst", "3:1073741826"}, {1004}},
		filter_case{{"dst", "*:6000"}, {1003}},
		filter_case{{"-a", "src", "any:5000"}, {1001}},
		filter_case{{"src", "host:*", "dst", "3"}, {1002, 1004, 0}}));

TEST_F(Stat, BadFiltersAreUsageErrors)
{
	for (auto words : std::vector<std::vector<std::string>>{
		     {"state", "bogus"}, {"state"}, {"sport", "=", ":x"}, {"sport", "~", ":1"}, {"dst"},
		     {"dst", "nohost:1"}, {"extra"}}) {
		auto r = stat(words);
		EXPECT_EQ(r.status, 2) << words[0] << ": " << r.err;
		EXPECT_TRUE(r.out.empty()) << r.out;
	}
}

TEST_F(Stat, Json)
{
	auto r = stat({"--json", "-a"});
	ASSERT_EQ(r.status, 0) << r.err;
	auto doc = json::parse(r.out, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << r.out;
	ASSERT_EQ(doc["sockets"].size(), host_rows.size());
	const auto& l = doc["sockets"][0];
	EXPECT_EQ(l["state"], "LISTEN");
	EXPECT_TRUE(l["local"]["cid"].is_null());
	EXPECT_EQ(l["local"]["port"], 5000);
	EXPECT_TRUE(l["peer"]["port"].is_null());
	EXPECT_FALSE(l.contains("users"));	// only with -p
	const auto& e = doc["sockets"][1];
	EXPECT_EQ(e["state"], "ESTAB");
	EXPECT_EQ(e["inode"], 1002);
	EXPECT_EQ(e["local"]["cid"], 2);
	EXPECT_EQ(e["peer"]["cid"], 3);
	EXPECT_EQ(e["peer"]["port"], 1073741825U);
	EXPECT_EQ(e["recv_q"], 12);
	EXPECT_EQ(e["send_q"], 4096);
	EXPECT_EQ(e["conn"], 17);
	EXPECT_EQ(e["bytes_sent"], 1048576);
	EXPECT_EQ(e["bytes_received"], 2048);
	EXPECT_EQ(e["credit_stalls"], 3);
	auto listening = stat({"--json", "-l"});
	auto ldoc = json::parse(listening.out, nullptr, false);
	ASSERT_FALSE(ldoc.is_discarded()) << listening.out;
	EXPECT_EQ(ldoc["sockets"].size(), 1U);
}

// -p finds the process holding a socket inode through /proc/PID/fd, as ss:
// here this test's own socket, whose inode goes into the listing.
TEST_F(Stat, ProcessesFromProcFd)
{
	vs::listener l(vs::address("unix:" + dir / "held"));
	struct stat st{};
	ASSERT_EQ(::fstat(l.handle(), &st), 0);
	std::string comm;
	std::getline(std::ifstream("/proc/self/comm"), comm);
	auto rows = host_rows;
	rows[0].inode = static_cast<unsigned long>(st.st_ino);
	dir.write("net", listing(rows));

	auto r = stat({"-lnp"});
	ASSERT_EQ(r.status, 0) << r.err;
	auto users = "users:((\"" + comm + "\",pid=" + std::to_string(::getpid()) + ",fd=" +
		     std::to_string(l.handle()) + "))";
	EXPECT_EQ(r.out, "State   Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Process\n"
			 "LISTEN  0       0       *:5000              *:*                " + users + "\n")
		<< r.out;
	auto none = stat({"-np", "-H", "dst", "4"});	// inode 1003: nobody holds it
	EXPECT_EQ(none.out, "SYN-SENT  0  0  2:1073741900  4:6000\n");

	auto j = stat({"--json", "-lp"});
	auto doc = json::parse(j.out, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << j.out;
	ASSERT_EQ(doc["sockets"][0]["users"].size(), 1U) << doc;
	EXPECT_EQ(doc["sockets"][0]["users"][0]["pid"], ::getpid());
	EXPECT_EQ(doc["sockets"][0]["users"][0]["fd"], l.handle());
	EXPECT_EQ(doc["sockets"][0]["users"][0]["comm"], comm);
}

TEST_F(Stat, UnknownStateNumberShownWithAll)
{
	dir.write("net", listing({{7, 0x0C, 2, 1, 3, 4, 0, 0, 0, 0, 0, 0}}));
	EXPECT_EQ(stat({"-H"}).out, "");
	EXPECT_EQ(stat({"-anH"}).out, "12  0  0  2:1  3:4\n");
}

TEST_F(Stat, ForeignFormatIsRefused)
{
	dir.write("net", "sl local_cid local_port remote_cid remote_port state\n0: 2 1 3 4 0A\n");
	auto r = stat({});
	EXPECT_EQ(r.status, 1);
	EXPECT_TRUE(contains(r.err, "unknown format")) << r.err;
	dir.write("net", std::string(net_header) + "1 0A 2 3\n");
	auto short_row = stat({});
	EXPECT_EQ(short_row.status, 1);
	EXPECT_TRUE(contains(short_row.err, (dir.path() / "net").string() + ":2: malformed row")) << short_row.err;
}

TEST_F(Stat, SummaryOnTheHost)
{
	dir.write("sys/family", "23\n");
	dir.write("sys/role", "host\n");
	dir.write("sys/hypercalls", "17\n");
	dir.write("vms", std::string(vms_header) +
				 "3 1000 0x7f000000 256 0 236 0x3 42 0 5 40 100 90 0 4096 8192 0 2 0 0\n");
	auto r = stat({"-s"});
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_TRUE(r.out.starts_with("Total: 6 (CLOSING 1, ESTAB 2, LISTEN 1, SYN-SENT 1, UNCONN 1)\n\n"
				      "family=23\nhypercalls=17\nrole=host\n\ncid  pid   ring_gpa"))
		<< r.out;
	EXPECT_TRUE(contains(r.out, "\n3    1000  0x7f000000")) << r.out;

	auto j = stat({"-s", "--json"});
	auto doc = json::parse(j.out, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << j.out;
	EXPECT_EQ(doc["total"], 6);
	EXPECT_EQ(doc["states"]["ESTAB"], 2);
	EXPECT_EQ(doc["module"]["family"], 23);
	EXPECT_EQ(doc["module"]["role"], "host");
	ASSERT_EQ(doc["vms"].size(), 1U);
	EXPECT_EQ(doc["vms"][0]["cid"], 3);
	EXPECT_EQ(doc["vms"][0]["ring_gpa"], "0x7f000000");
	EXPECT_EQ(doc["vms"][0]["conns"], 2);
}

TEST_F(Stat, SummaryInAGuestHasNoVms)
{
	dir.write("sys/role", "guest\n");
	dir.write("sys/cid", "3\n");
	auto r = stat({"-s"});
	EXPECT_EQ(r.status, 0) << r.err;
	EXPECT_TRUE(r.out.ends_with("\n\ncid=3\nrole=guest\n")) << r.out;
}

TEST_F(Stat, MissingFilesExitOneAndSaySo)
{
	std::filesystem::remove(dir.path() / "net");
	auto sockets = stat({});
	EXPECT_EQ(sockets.status, 1);
	EXPECT_TRUE(contains(sockets.err, (dir.path() / "net").string() + " missing")) << sockets.err;
	auto summary = stat({"-s"});
	EXPECT_EQ(summary.status, 1);
	EXPECT_TRUE(contains(summary.err, (dir.path() / "sys").string() + " missing: virtsocket module not loaded"))
		<< summary.err;
}

TEST(StatVersion, PrintsIt)
{
	auto r = test::run({stat_bin, "--version"});
	EXPECT_EQ(r.status, 0);
	EXPECT_TRUE(r.out.starts_with("virtsock-stat ")) << r.out;
}

} // namespace
