// virtsocket-ctl's command line and messages (userlib/tools/ctl/ctl.cpp);
// the ioctls themselves run in the e2e case opt-in.
#include <ctl.hpp>

#include <gtest/gtest.h>

#include <cerrno>

namespace {

ctl::parsed parse(std::vector<std::string> args) { return ctl::parse(args); }

void expect_usage_error(const std::vector<std::string>& args, const std::string& text)
{
	auto p = parse(args);
	EXPECT_FALSE(p.cmd);
	EXPECT_EQ(p.status, 2);
	EXPECT_NE(p.err.find(text), std::string::npos) << "stderr: " << p.err;
}

TEST(CtlArgs, EnableWithPidAndCid)
{
	auto p = parse({"enable", "--pid", "1234", "--cid", "42"});
	ASSERT_TRUE(p.cmd);
	EXPECT_EQ(p.cmd->what, ctl::verb::enable);
	EXPECT_EQ(p.cmd->pid, 1234);
	EXPECT_EQ(p.cmd->cid, 42U);
	EXPECT_EQ(p.status, 0);
}

TEST(CtlArgs, EnableWithoutCidAllocates)
{
	auto p = parse({"enable", "--pid=7"});
	ASSERT_TRUE(p.cmd);
	EXPECT_EQ(p.cmd->pid, 7);
	EXPECT_EQ(p.cmd->cid, 0U);
}

TEST(CtlArgs, DisableAndList)
{
	auto d = parse({"disable", "--pid", "99"});
	ASSERT_TRUE(d.cmd);
	EXPECT_EQ(d.cmd->what, ctl::verb::disable);
	EXPECT_EQ(d.cmd->pid, 99);
	auto l = parse({"list"});
	ASSERT_TRUE(l.cmd);
	EXPECT_EQ(l.cmd->what, ctl::verb::list);
}

TEST(CtlArgs, Refusals)
{
	expect_usage_error({}, "subcommand");
	expect_usage_error({"frobnicate"}, "unknown command 'frobnicate' (enable, disable or list)");
	expect_usage_error({"enable"}, "--pid is required");
	expect_usage_error({"disable"}, "--pid is required");
	expect_usage_error({"enable", "--pid", "0"}, "--pid");
	expect_usage_error({"enable", "--pid", "-5"}, "--pid");
	expect_usage_error({"enable", "--pid", "12x"}, "--pid");
	// CIDs 0..2 are the host's and the wildcard's; the top half is refused.
	expect_usage_error({"enable", "--pid", "1", "--cid", "2"}, "--cid");
	expect_usage_error({"enable", "--pid", "1", "--cid", "2147483648"}, "--cid");
	expect_usage_error({"disable", "--pid", "1", "--cid", "5"}, "--cid");
	expect_usage_error({"list", "--pid", "1"}, "--pid");
}

TEST(CtlArgs, EdgesOfTheCidRange)
{
	auto lo = parse({"enable", "--pid", "1", "--cid", "3"});
	ASSERT_TRUE(lo.cmd);
	EXPECT_EQ(lo.cmd->cid, 3U);
	auto hi = parse({"enable", "--pid", "1", "--cid", "2147483647"});
	ASSERT_TRUE(hi.cmd);
	EXPECT_EQ(hi.cmd->cid, 0x7fffffffU);
}

TEST(CtlArgs, HelpGoesToStdoutWithStatusZero)
{
	auto p = parse({"--help"});
	EXPECT_FALSE(p.cmd);
	EXPECT_EQ(p.status, 0);
	EXPECT_NE(p.out.find("enable"), std::string::npos);
	EXPECT_TRUE(p.err.empty());
}

TEST(CtlArgs, VersionGoesToStdoutWithStatusZero)
{
	auto p = parse({"--version"});
	EXPECT_FALSE(p.cmd);
	EXPECT_EQ(p.status, 0);
	EXPECT_EQ(p.out.rfind("virtsocket-ctl ", 0), 0U) << p.out;
}

TEST(CtlMessages, ErrnosSayWhatWentWrong)
{
	ctl::command en{ctl::verb::enable, 1234, 42};
	EXPECT_EQ(ctl::describe_error(en, EADDRINUSE),
		  "enable pid 1234: CID 42 is in use by another VM or reserved by another entry");
	EXPECT_EQ(ctl::describe_error(en, EEXIST), "enable pid 1234: that pid is enabled already");
	EXPECT_EQ(ctl::describe_error(en, ESRCH),
		  "enable pid 1234: no such process (give the VMM's process id)");
	EXPECT_EQ(ctl::describe_error(en, EPERM), "enable pid 1234: needs CAP_NET_ADMIN (run as root)");
	EXPECT_EQ(ctl::describe_error(en, ENOENT),
		  "enable pid 1234: no /dev/virtsocket: is virtsocket_host loaded?");
	EXPECT_NE(ctl::describe_error(en, ENOSPC).find("1024 entries"), std::string::npos);
	ctl::command dis{ctl::verb::disable, 77, 0};
	EXPECT_EQ(ctl::describe_error(dis, ENOENT), "disable pid 77: that pid is not enabled");
	ctl::command ls{ctl::verb::list, 0, 0};
	EXPECT_EQ(ctl::describe_error(ls, ENOMEM), "list: Cannot allocate memory");
}

TEST(CtlMessages, Listing)
{
	std::vector<virt_ctl_entry> e(3);
	e[0] = {.pid = 10, .cid = 3, .flags = 0, .state = VIRT_CTL_STATE_WAITING, .reserved = 0};
	e[1] = {.pid = 11, .cid = 4, .flags = 0, .state = VIRT_CTL_STATE_BOUND, .reserved = 0};
	e[2] = {.pid = 12, .cid = 5, .flags = 0, .state = VIRT_CTL_STATE_REGISTERED, .reserved = 0};
	EXPECT_EQ(ctl::format_list(e), "pid cid state\n10 3 waiting\n11 4 bound\n12 5 registered\n");
	EXPECT_EQ(ctl::format_list({}), "pid cid state\n");
}

} // namespace
