#include "ctl.hpp"

#include <CLI/CLI.hpp>

#include <virtsocket/virt.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>

namespace ctl {

namespace {

constexpr std::string_view prog = "virtsocket-ctl";

std::string pid_str(const command& c) { return "pid " + std::to_string(c.pid); }

const char* state_name(std::uint32_t state)
{
	switch (state) {
	case VIRT_CTL_STATE_WAITING: return "waiting";
	case VIRT_CTL_STATE_BOUND: return "bound";
	case VIRT_CTL_STATE_REGISTERED: return "registered";
	default: return "unknown";
	}
}

} // namespace

parsed parse(const std::vector<std::string>& args)
{
	command c;
	CLI::App app{"Enable AF_VIRT for a VM, by its VMM's pid, on " VIRT_CTL_DEVICE, std::string(prog)};
	app.set_version_flag("--version", std::string(prog) + " " VIRTSOCKET_VERSION);
	app.require_subcommand(1);
	auto* enable = app.add_subcommand("enable", "Enable the VM whose VMM process is PID");
	enable->add_option("--pid", c.pid, "The VMM's process id (thread-group id)")
		->required()
		->check(CLI::Range(1, std::numeric_limits<int>::max()));
	enable->add_option("--cid", c.cid, "The CID the VM gets (default: allocated)")
		->check(CLI::Range(std::uint32_t{VIRT_CID_GUEST_MIN}, std::uint32_t{VIRT_CTL_CID_MAX}));
	auto* disable = app.add_subcommand("disable", "Take AF_VIRT away from the VM of PID");
	disable->add_option("--pid", c.pid, "The VMM's process id")
		->required()
		->check(CLI::Range(1, std::numeric_limits<int>::max()));
	auto* list = app.add_subcommand("list", "List the enabled VMs");

	parsed p;
	// (CLI11 would only say that a subcommand is required.)
	if (!args.empty() && !args[0].starts_with('-') && args[0] != "enable" && args[0] != "disable" &&
	    args[0] != "list") {
		p.status = 2;
		p.err = std::string(prog) + ": unknown command '" + args[0] +
			"' (enable, disable or list)\n";
		return p;
	}
	// CLI11 takes the words last first.
	std::vector<std::string> words(args.rbegin(), args.rend());
	try {
		app.parse(words);
	} catch (const CLI::ParseError& e) {
		std::ostringstream out, err;
		p.status = app.exit(e, out, err) == 0 ? 0 : 2;
		p.out = out.str();
		p.err = err.str();
		return p;
	}
	if (enable->parsed())
		c.what = verb::enable;
	else if (disable->parsed())
		c.what = verb::disable;
	else if (list->parsed())
		c.what = verb::list;
	p.cmd = c;
	return p;
}

std::string describe_error(const command& c, int err)
{
	std::string what;
	switch (c.what) {
	case verb::enable: what = "enable " + pid_str(c); break;
	case verb::disable: what = "disable " + pid_str(c); break;
	case verb::list: what = "list"; break;
	}
	std::string why;
	switch (err) {
	case EPERM:
	case EACCES:
		why = "needs CAP_NET_ADMIN (run as root)";
		break;
	case ENOENT:
		why = c.what == verb::disable ? "that pid is not enabled"
					      : "no " VIRT_CTL_DEVICE ": is virtsocket_host loaded?";
		break;
	case ESRCH:
		why = "no such process (give the VMM's process id)";
		break;
	case EEXIST:
		why = "that pid is enabled already";
		break;
	case EADDRINUSE:
		why = "CID " + std::to_string(c.cid) + " is in use by another VM or reserved by another entry";
		break;
	case ENOSPC:
		why = "the host's table is full (" + std::to_string(VIRT_CTL_MAX_ENTRIES) +
		      " entries) or no CID is free";
		break;
	case EINVAL:
		why = "the module refused the request (another interface version?)";
		break;
	default:
		why = std::strerror(err);
		break;
	}
	return what + ": " + why;
}

std::string format_list(const std::vector<virt_ctl_entry>& entries)
{
	std::ostringstream out;
	out << "pid cid state\n";
	for (const auto& e : entries)
		out << e.pid << ' ' << e.cid << ' ' << state_name(e.state) << '\n';
	return out.str();
}

} // namespace ctl
