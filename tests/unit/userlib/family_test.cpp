#include <virtsocket/family.hpp>
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.hpp"

namespace vs = virtsocket;

namespace {

class FakeSysfs : public ::testing::Test {
protected:
	void SetUp() override { setenv("VIRTSOCKET_SYSFS_DIR", dir.path().c_str(), 1); }
	void TearDown() override { unsetenv("VIRTSOCKET_SYSFS_DIR"); }

	test::temp_dir dir;
};

TEST(Sysfs, DefaultDirectoryIsTheAbis)
{
	unsetenv("VIRTSOCKET_SYSFS_DIR");
	EXPECT_EQ(vs::sysfs_dir(), "/sys/kernel/virtsocket");
}

TEST_F(FakeSysfs, ReadsFamilyRoleAndCid)
{
	dir.write("family", "23\n");
	dir.write("role", "guest\n");
	dir.write("cid", "7\n");
	EXPECT_EQ(vs::sysfs_dir(), dir.path());
	auto f = vs::virt_family();
	ASSERT_TRUE(f) << f.error().message();
	EXPECT_EQ(*f, 23);
	EXPECT_EQ(vs::virt_role().value(), "guest");
	EXPECT_EQ(vs::virt_local_cid().value(), 7U);
}

TEST_F(FakeSysfs, NotHardCoded)
{
	dir.write("family", "44");
	EXPECT_EQ(vs::virt_family().value(), 44);
}

TEST_F(FakeSysfs, AbsentMeansModuleNotLoaded)
{
	auto f = vs::virt_family();
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().code, vs::errc::af_virt_unavailable);
	EXPECT_EQ(f.error().code, std::errc::address_family_not_supported);
	EXPECT_EQ(f.error().message(), "AF_VIRT not available: virtsocket module not loaded (" +
					       (dir.path() / "family").string() + " missing)");
}

TEST(Sysfs, AbsentDirectoryHasTheDocumentedMessage)
{
	setenv("VIRTSOCKET_SYSFS_DIR", "/sys/kernel/virtsocket", 1);
	if (std::filesystem::exists("/sys/kernel/virtsocket/family"))
		GTEST_SKIP() << "the virtsocket module is loaded here";
	auto f = vs::virt_family();
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().message(),
		  "AF_VIRT not available: virtsocket module not loaded "
		  "(/sys/kernel/virtsocket/family missing)");
	unsetenv("VIRTSOCKET_SYSFS_DIR");
}

class GarbageFamily : public FakeSysfs, public ::testing::WithParamInterface<std::string> {};

TEST_P(GarbageFamily, IsRejectedWithTheValueShown)
{
	dir.write("family", GetParam());
	auto f = vs::virt_family();
	ASSERT_FALSE(f) << "accepted '" << GetParam() << "' as " << *f;
	EXPECT_EQ(f.error().code, vs::errc::bad_sysfs_value);
	EXPECT_NE(f.error().message().find("holds '"), std::string::npos) << f.error().message();
	EXPECT_NE(f.error().message().find("not a number in 1..255"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Values, GarbageFamily,
			 ::testing::Values("", "\n", "abc", "23x", "-1", "0", "256", "99999999999",
					   " 23", "0x17", "2 3"));

TEST_F(FakeSysfs, SocketCreationReportsMissingModule)
{
	auto s = vs::connector().connect(vs::address("virt:host:1234"));
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, vs::errc::af_virt_unavailable);
	auto l = vs::listener::listen(vs::address("virt:any:1234"));
	ASSERT_FALSE(l);
	EXPECT_NE(l.error().message().find("module not loaded"), std::string::npos);
	EXPECT_THROW(vs::stream_socket(vs::address("virt:host:1")), vs::exception);
}

TEST_F(FakeSysfs, SocketCreationUsesTheFamilyRead)
{
	// A family number no kernel here implements: socket() itself must fail,
	// which shows the number was used rather than a built-in one.
	dir.write("family", "255\n");
	auto s = vs::connector().connect(vs::address("virt:host:1234"));
	ASSERT_FALSE(s);
	EXPECT_EQ(s.error().code, std::errc::address_family_not_supported) << s.error().message();
	EXPECT_NE(s.error().message().find("family 255"), std::string::npos) << s.error().message();
}

} // namespace
