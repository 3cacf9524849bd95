#include <virtsocket/address.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.hpp"

namespace vs = virtsocket;

namespace {

// ---- well-formed: parse, then to_string, then parse again ---------------------

struct good_case {
	std::string uri;
	std::string canonical;
};

void PrintTo(const good_case& c, std::ostream* os) { *os << ::testing::PrintToString(c.uri); }

class AddressRoundTrip : public ::testing::TestWithParam<good_case> {};

TEST_P(AddressRoundTrip, ParsesFormatsAndReparses)
{
	const auto& c = GetParam();
	auto a = vs::address::parse(c.uri);
	ASSERT_TRUE(a) << a.error().message();
	EXPECT_EQ(a->to_string(), c.canonical);
	auto again = vs::address::parse(a->to_string());
	ASSERT_TRUE(again) << again.error().message();
	EXPECT_EQ(*again, *a);
}

INSTANTIATE_TEST_SUITE_P(
	AllSchemes, AddressRoundTrip,
	::testing::Values(good_case{"virt:3:1234", "virt:3:1234"},
			  good_case{"virt:host:80", "virt:2:80"},
			  good_case{"virt:hypervisor:1", "virt:0:1"},
			  good_case{"virt:local:1", "virt:1:1"},
			  good_case{"virt:any:any", "virt:any:any"},
			  good_case{"virt:4294967295:4294967295", "virt:any:any"},
			  good_case{"virt:0:0", "virt:0:0"},
			  good_case{"vsock:2:5000", "vsock:2:5000"},
			  good_case{"vsock:host:any", "vsock:2:any"},
			  good_case{"unix:/tmp/x.sock", "unix:/tmp/x.sock"},
			  good_case{"unix:relative/path", "unix:relative/path"},
			  good_case{"unix:@abstract", "unix:@abstract"},
			  good_case{"unix:/with space", "unix:/with space"},
			  good_case{"tcp:127.0.0.1:80", "tcp:127.0.0.1:80"},
			  good_case{"tcp:0.0.0.0:any", "tcp:0.0.0.0:0"},
			  good_case{"tcp:[::1]:5201", "tcp:[::1]:5201"},
			  good_case{"tcp:[fe80::1:2]:65535", "tcp:[fe80::1:2]:65535"},
			  good_case{"tcp:localhost:22", "tcp:localhost:22"}));

TEST(Address, FieldsAndKinds)
{
	auto v = vs::address("virt:host:1234");
	EXPECT_EQ(v.kind(), vs::transport::virt);
	ASSERT_NE(v.get_if<vs::virt_address>(), nullptr);
	EXPECT_EQ(v.get_if<vs::virt_address>()->cid, 2U);
	EXPECT_EQ(v.get_if<vs::virt_address>()->port, 1234U);
	EXPECT_EQ(vs::address("vsock:any:7").kind(), vs::transport::vsock);
	EXPECT_EQ(vs::address("unix:/a").kind(), vs::transport::unix_domain);
	auto t = vs::address("tcp:[::1]:9");
	EXPECT_EQ(t.kind(), vs::transport::tcp);
	EXPECT_EQ(t.get_if<vs::tcp_address>()->host, "::1");
	EXPECT_EQ(vs::to_string(vs::transport::unix_domain), "unix");
}

// ---- malformed: rejected, with a message that says what is wrong ---------------

struct bad_case {
	std::string uri;
	std::string says;	// a part of the message
};

void PrintTo(const bad_case& c, std::ostream* os)
{
	*os << ::testing::PrintToString(c.uri.size() > 40 ? c.uri.substr(0, 40) + "..." : c.uri);
}

class AddressRejects : public ::testing::TestWithParam<bad_case> {};

TEST_P(AddressRejects, WithClearMessage)
{
	const auto& c = GetParam();
	auto a = vs::address::parse(c.uri);
	ASSERT_FALSE(a) << c.uri << " parsed as " << a->to_string();
	EXPECT_EQ(a.error().code, vs::errc::bad_address);
	EXPECT_EQ(a.error().code, std::errc::invalid_argument);
	EXPECT_NE(a.error().message().find("'" + c.uri + "'"), std::string::npos) << a.error().message();
	EXPECT_NE(a.error().message().find(c.says), std::string::npos) << a.error().message();
	EXPECT_THROW(vs::address{c.uri}, vs::exception);
}

INSTANTIATE_TEST_SUITE_P(
	EveryForm, AddressRejects,
	::testing::Values(bad_case{"", "empty"},
			  bad_case{"virt", "no scheme"},
			  bad_case{"http:x:1", "unknown scheme 'http'"},
			  bad_case{"VIRT:2:1", "unknown scheme"},
			  bad_case{"virt:", "expected CID:PORT"},
			  bad_case{"virt:2", "expected CID:PORT"},
			  bad_case{"virt::1", "missing CID"},
			  bad_case{"virt:2:", "missing port"},
			  bad_case{"virt:2:1:3", "too many ':'"},
			  bad_case{"virt:guest:1", "CID 'guest'"},
			  bad_case{"virt:-1:1", "CID '-1'"},
			  bad_case{"virt:+3:1", "CID '+3'"},
			  bad_case{"virt:0x3:1", "CID '0x3'"},
			  bad_case{"virt:4294967296:1", "CID '4294967296'"},
			  bad_case{"virt:3:http", "port 'http'"},
			  bad_case{"virt:3:4294967296", "port '4294967296'"},
			  bad_case{"virt: 3:1", "CID ' 3'"},
			  bad_case{"vsock:host", "expected CID:PORT"},
			  bad_case{"vsock:x:1", "CID 'x'"},
			  bad_case{"unix:", "missing socket path"},
			  bad_case{"unix:@", "missing abstract socket name"},
			  bad_case{"unix:/" + std::string(200, 'a'), "longer than 107 bytes"},
			  bad_case{std::string("unix:/a\0b", 9), "NUL byte"},
			  bad_case{"tcp:", "expected HOST:PORT"},
			  bad_case{"tcp:127.0.0.1", "expected HOST:PORT"},
			  bad_case{"tcp::80", "missing host"},
			  bad_case{"tcp:127.0.0.1:", "missing port"},
			  bad_case{"tcp:127.0.0.1:65536", "port '65536'"},
			  bad_case{"tcp:127.0.0.1:-1", "port '-1'"},
			  bad_case{"tcp:1.2.3:80", "not an IPv4 address"},
			  bad_case{"tcp:256.1.1.1:80", "not an IPv4 address"},
			  bad_case{"tcp:::1:80", "must be in brackets"},
			  bad_case{"tcp:[::1:80", "missing ']'"},
			  bad_case{"tcp:[::1]", "expected ':PORT'"},
			  bad_case{"tcp:[::1]80", "expected ':PORT'"},
			  bad_case{"tcp:[]:80", "not an IPv6 address"},
			  bad_case{"tcp:[1.2.3.4]:80", "not an IPv6 address"},
			  bad_case{"tcp:bad_host:80", "not a valid host name"},
			  bad_case{"tcp:-x:80", "not a valid host name"}));

// ---- native form ------------------------------------------------------------------

TEST(AddressNative, RoundTripsUnixTcpVsock)
{
	for (std::string uri : {"unix:/tmp/sock", "unix:@abs", "tcp:127.0.0.1:80", "tcp:[::1]:443",
				"vsock:3:1024", "vsock:any:any"}) {
		auto a = vs::address(uri);
		auto n = a.to_native();
		ASSERT_TRUE(n) << uri << ": " << n.error().message();
		auto back = vs::address::from_native(n->get(), n->length);
		ASSERT_TRUE(back) << uri << ": " << back.error().message();
		EXPECT_EQ(*back, a) << uri;
	}
}

TEST(AddressNative, ResolvesHostNames)
{
	auto n = vs::address("tcp:localhost:7").to_native();
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_TRUE(n->family() == AF_INET || n->family() == AF_INET6);
}

TEST(AddressNative, VirtUsesTheDiscoveredFamily)
{
	test::temp_dir dir;
	dir.write("family", "41\n");
	setenv("VIRTSOCKET_SYSFS_DIR", dir.path().c_str(), 1);
	auto n = vs::address("virt:host:99").to_native();
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_EQ(n->family(), 41);
	EXPECT_EQ(n->length, 16U);
	auto back = vs::address::from_native(n->get(), n->length);
	ASSERT_TRUE(back) << back.error().message();
	EXPECT_EQ(back->to_string(), "virt:2:99");

	setenv("VIRTSOCKET_SYSFS_DIR", (dir.path() / "nowhere").c_str(), 1);
	auto missing = vs::address("virt:host:99").to_native();
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, vs::errc::af_virt_unavailable);
	unsetenv("VIRTSOCKET_SYSFS_DIR");
}

} // namespace
