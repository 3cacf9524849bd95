// virtsocket-ctl's command line and messages (userlib/tools/ctl/ctl.cpp);
// the ioctls themselves run in the e2e cases opt-in and policy.
#include <ctl.hpp>

#include <gtest/gtest.h>

#include <cerrno>

namespace {

ctl::command cmd(ctl::verb what, int pid, std::uint32_t cid)
{
	ctl::command c;
	c.what = what;
	c.pid = pid;
	c.cid = cid;
	return c;
}

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
	expect_usage_error({"frobnicate"},
			   "unknown command 'frobnicate' (enable, disable, list, ports or bind-rule)");
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
	auto en = cmd(ctl::verb::enable, 1234, 42);
	EXPECT_EQ(ctl::describe_error(en, EADDRINUSE),
		  "enable pid 1234: CID 42 is in use by another VM or reserved by another entry");
	EXPECT_EQ(ctl::describe_error(en, EEXIST), "enable pid 1234: that pid is enabled already");
	EXPECT_EQ(ctl::describe_error(en, ESRCH),
		  "enable pid 1234: no such process (give the VMM's process id)");
	EXPECT_EQ(ctl::describe_error(en, EPERM), "enable pid 1234: needs CAP_NET_ADMIN (run as root)");
	EXPECT_EQ(ctl::describe_error(en, ENOENT),
		  "enable pid 1234: no /dev/virtsocket: is virtsocket_host loaded?");
	EXPECT_NE(ctl::describe_error(en, ENOSPC).find("1024 entries"), std::string::npos);
	auto dis = cmd(ctl::verb::disable, 77, 0);
	EXPECT_EQ(ctl::describe_error(dis, ENOENT), "disable pid 77: that pid is not enabled");
	auto ls = cmd(ctl::verb::list, 0, 0);
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

ctl::port_spec ranges(std::vector<virt_ctl_port_range> r)
{
	ctl::port_spec s;
	s.ranges = std::move(r);
	return s;
}

TEST(CtlPorts, SetBothDirections)
{
	auto p = parse({"ports", "--pid", "42", "--to-host", "5000-5010,22", "--to-guest", "all"});
	ASSERT_TRUE(p.cmd) << p.err;
	EXPECT_EQ(p.cmd->what, ctl::verb::ports);
	EXPECT_EQ(p.cmd->pid, 42);
	ASSERT_TRUE(p.cmd->to_host);
	EXPECT_EQ(*p.cmd->to_host, ranges({{5000, 5010}, {22, 22}}));
	ASSERT_TRUE(p.cmd->to_guest);
	EXPECT_TRUE(p.cmd->to_guest->all);
}

TEST(CtlPorts, OneDirectionOrShow)
{
	auto p = parse({"ports", "--pid=7", "--to-guest", "none"});
	ASSERT_TRUE(p.cmd);
	EXPECT_FALSE(p.cmd->to_host);
	ASSERT_TRUE(p.cmd->to_guest);
	EXPECT_EQ(*p.cmd->to_guest, ctl::port_spec{});
	auto show = parse({"ports", "--pid", "7"});
	ASSERT_TRUE(show.cmd);
	EXPECT_FALSE(show.cmd->to_host);
	EXPECT_FALSE(show.cmd->to_guest);
}

TEST(CtlPorts, Refusals)
{
	expect_usage_error({"ports", "--to-host", "all"}, "--pid is required");
	expect_usage_error({"ports", "--pid", "1", "--to-host", "10-5"}, "--to-host: bad port or range '10-5'");
	expect_usage_error({"ports", "--pid", "1", "--to-host", "1,,2"}, "bad port or range ''");
	expect_usage_error({"ports", "--pid", "1", "--to-guest", "-3"}, "--to-guest");
	expect_usage_error({"ports", "--pid", "1", "--to-guest", "4294967295"}, "bad port or range");
	expect_usage_error({"ports", "--pid", "1", "--to-host", "x"}, "bad port or range 'x'");
	std::string many;
	for (int i = 0; i < 65; i++)
		many += (i ? "," : "") + std::to_string(i);
	expect_usage_error({"ports", "--pid", "1", "--to-host", many}, "at most 64 ranges");
}

TEST(CtlPorts, ParseAndFormatAgree)
{
	std::string err;
	for (const char* text : {"all", "none", "22", "0-4294967294", "22,5000-5010,7"}) {
		auto spec = ctl::parse_ports(text, err);
		ASSERT_TRUE(spec) << text << ": " << err;
		EXPECT_EQ(ctl::format_ports(*spec), text);
	}
}

TEST(CtlBindRule, AddDelList)
{
	auto a = parse({"bind-rule", "add", "--ports", "6000-6100", "--uid", "1000"});
	ASSERT_TRUE(a.cmd) << a.err;
	EXPECT_EQ(a.cmd->what, ctl::verb::bind_add);
	EXPECT_EQ(a.cmd->bind_ports.lo, 6000U);
	EXPECT_EQ(a.cmd->bind_ports.hi, 6100U);
	EXPECT_EQ(a.cmd->bind_kind, std::uint32_t{VIRT_CTL_BIND_UID});
	EXPECT_EQ(a.cmd->bind_id, 1000U);
	auto d = parse({"bind-rule", "del", "--ports", "80", "--gid", "27"});
	ASSERT_TRUE(d.cmd) << d.err;
	EXPECT_EQ(d.cmd->what, ctl::verb::bind_del);
	EXPECT_EQ(d.cmd->bind_ports.lo, 80U);
	EXPECT_EQ(d.cmd->bind_ports.hi, 80U);
	EXPECT_EQ(d.cmd->bind_kind, std::uint32_t{VIRT_CTL_BIND_GID});
	EXPECT_EQ(d.cmd->bind_id, 27U);
	auto l = parse({"bind-rule", "list"});
	ASSERT_TRUE(l.cmd);
	EXPECT_EQ(l.cmd->what, ctl::verb::bind_list);
}

TEST(CtlBindRule, Refusals)
{
	expect_usage_error({"bind-rule"}, "subcommand");
	expect_usage_error({"bind-rule", "add", "--uid", "1"}, "--ports is required");
	expect_usage_error({"bind-rule", "add", "--ports", "1-2"}, "--uid or --gid is required");
	expect_usage_error({"bind-rule", "add", "--ports", "1", "--uid", "1", "--gid", "2"}, "excludes");
	expect_usage_error({"bind-rule", "del", "--ports", "9-8", "--uid", "1"}, "--ports: bad port or range '9-8'");
	expect_usage_error({"bind-rule", "add", "--ports", "1", "--uid", "-1"}, "--uid");
}

TEST(CtlBindRule, MessagesAndListing)
{
	auto a = parse({"bind-rule", "add", "--ports", "6000-6100", "--uid", "1000"});
	ASSERT_TRUE(a.cmd);
	EXPECT_EQ(ctl::describe_error(*a.cmd, EEXIST), "bind-rule add rule 6000-6100 uid 1000: that rule exists already");
	EXPECT_EQ(ctl::describe_error(*a.cmd, ENOSPC), "bind-rule add rule 6000-6100 uid 1000: the host has 256 rules already");
	auto d = parse({"bind-rule", "del", "--ports", "80", "--gid", "27"});
	ASSERT_TRUE(d.cmd);
	EXPECT_EQ(ctl::describe_error(*d.cmd, ENOENT), "bind-rule del rule 80 gid 27: no such rule");
	auto p = parse({"ports", "--pid", "5", "--to-host", "1"});
	ASSERT_TRUE(p.cmd);
	EXPECT_EQ(ctl::describe_error(*p.cmd, ENOENT), "ports pid 5: that pid is not enabled");
	std::vector<virt_ctl_bind_rule> r(2);
	r[0].kind = VIRT_CTL_BIND_UID;
	r[0].id = 1000;
	r[0].lo = 6000;
	r[0].hi = 6100;
	r[1].kind = VIRT_CTL_BIND_GID;
	r[1].id = 27;
	r[1].lo = r[1].hi = 80;
	EXPECT_EQ(ctl::format_bind_rules(r), "ports kind id\n6000-6100 uid 1000\n80 gid 27\n");
}

} // namespace
