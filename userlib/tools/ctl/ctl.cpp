#include "ctl.hpp"

#include <CLI/CLI.hpp>

#include <virtsocket/virt.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>
#include <tuple>
#include <utility>

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

std::string rule_str(const command& c)
{
	return "rule " + format_ports({false, {c.bind_ports}}) +
	       (c.bind_kind == VIRT_CTL_BIND_GID ? " gid " : " uid ") + std::to_string(c.bind_id);
}

// A port number: decimal, below VIRT_PORT_ANY.
bool parse_port(const std::string& t, std::uint32_t& out)
{
	if (t.empty() || t.size() > 10 || t.find_first_not_of("0123456789") != std::string::npos)
		return false;
	auto v = std::stoull(t);
	if (v >= VIRT_PORT_ANY)
		return false;
	out = static_cast<std::uint32_t>(v);
	return true;
}

bool parse_range(const std::string& t, virt_ctl_port_range& r)
{
	auto dash = t.find('-');
	if (dash == std::string::npos) {
		if (!parse_port(t, r.lo))
			return false;
		r.hi = r.lo;
		return true;
	}
	return parse_port(t.substr(0, dash), r.lo) && parse_port(t.substr(dash + 1), r.hi) && r.lo <= r.hi;
}

} // namespace

std::optional<port_spec> parse_ports(const std::string& text, std::string& err)
{
	port_spec spec;
	if (text == "all") {
		spec.all = true;
		return spec;
	}
	if (text == "none")
		return spec;
	std::size_t start = 0;
	for (;;) {
		auto comma = text.find(',', start);
		auto word = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
		virt_ctl_port_range r{};
		if (!parse_range(word, r)) {
			err = "bad port or range '" + word + "' in '" + text +
			      "' (all, none, or N and N-M separated by commas)";
			return std::nullopt;
		}
		spec.ranges.push_back(r);
		if (comma == std::string::npos)
			break;
		start = comma + 1;
	}
	if (spec.ranges.size() > VIRT_CTL_MAX_RANGES) {
		err = "at most " + std::to_string(VIRT_CTL_MAX_RANGES) + " ranges";
		return std::nullopt;
	}
	return spec;
}

std::string format_ports(const port_spec& spec)
{
	if (spec.all)
		return "all";
	if (spec.ranges.empty())
		return "none";
	std::string out;
	for (const auto& r : spec.ranges) {
		if (!out.empty())
			out += ',';
		out += std::to_string(r.lo);
		if (r.hi != r.lo)
			out += '-' + std::to_string(r.hi);
	}
	return out;
}

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
	std::string to_host, to_guest;
	auto* ports = app.add_subcommand(
		"ports", "Set (or, with neither option, show) the ports connects may reach through the "
			 "VM of PID; an enabled VM allows none either way until set here (refused connects "
			 "fail with EACCES)");
	ports->add_option("--pid", c.pid, "The VMM's process id")
		->required()
		->check(CLI::Range(1, std::numeric_limits<int>::max()));
	auto* th = ports->add_option("--to-host", to_host,
				     "Host ports the VM may connect to: all, none, or N and N-M separated by "
				     "commas (at most " + std::to_string(VIRT_CTL_MAX_RANGES) + " ranges)");
	auto* tg = ports->add_option("--to-guest", to_guest,
				     "The VM's ports host programs may connect to, alike");
	auto* rule = app.add_subcommand(
		"bind-rule", "Host bind rules: a port a rule covers may be bound (and listened on) only by "
			     "the uids and gids its rules name, others get EACCES (at most " +
				     std::to_string(VIRT_CTL_MAX_BIND_RULES) + " rules)");
	rule->require_subcommand(1);
	std::string rule_ports;
	std::uint32_t uid = 0, gid = 0;
	auto rule_options = [&](CLI::App* sub) {
		sub->add_option("--ports", rule_ports, "The port N or ports N-M the rule covers")->required();
		auto* u = sub->add_option("--uid", uid, "The user the rule lets bind them");
		auto* g = sub->add_option("--gid", gid, "The group the rule lets bind them");
		u->excludes(g);
		return std::pair{u, g};
	};
	auto* rule_add = rule->add_subcommand("add", "Add a rule");
	auto [add_uid, add_gid] = rule_options(rule_add);
	auto* rule_del = rule->add_subcommand("del", "Remove the identical rule");
	auto [del_uid, del_gid] = rule_options(rule_del);
	auto* rule_list = rule->add_subcommand("list", "List the rules");

	parsed p;
	// (CLI11 would only say that a subcommand is required.)
	if (!args.empty() && !args[0].starts_with('-') && args[0] != "enable" && args[0] != "disable" &&
	    args[0] != "list" && args[0] != "ports" && args[0] != "bind-rule") {
		p.status = 2;
		p.err = std::string(prog) + ": unknown command '" + args[0] +
			"' (enable, disable, list, ports or bind-rule)\n";
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
	std::string err;
	auto usage = [&](const std::string& msg) {
		p.status = 2;
		p.err = std::string(prog) + ": " + msg + "\n";
		return p;
	};
	if (ports->parsed()) {
		c.what = verb::ports;
		if (th->count() && !(c.to_host = parse_ports(to_host, err)))
			return usage("--to-host: " + err);
		if (tg->count() && !(c.to_guest = parse_ports(to_guest, err)))
			return usage("--to-guest: " + err);
	}
	if (rule_list->parsed())
		c.what = verb::bind_list;
	for (auto [sub, u, g, v] : {std::tuple{rule_add, add_uid, add_gid, verb::bind_add},
				    std::tuple{rule_del, del_uid, del_gid, verb::bind_del}}) {
		if (!sub->parsed())
			continue;
		c.what = v;
		if (!u->count() && !g->count())
			return usage("bind-rule: --uid or --gid is required");
		if (!parse_range(rule_ports, c.bind_ports))
			return usage("--ports: bad port or range '" + rule_ports + "' (N or N-M)");
		c.bind_kind = g->count() ? VIRT_CTL_BIND_GID : VIRT_CTL_BIND_UID;
		c.bind_id = g->count() ? gid : uid;
	}
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
	case verb::ports: what = "ports " + pid_str(c); break;
	case verb::bind_add: what = "bind-rule add " + rule_str(c); break;
	case verb::bind_del: what = "bind-rule del " + rule_str(c); break;
	case verb::bind_list: what = "bind-rule list"; break;
	}
	std::string why;
	switch (err) {
	case EPERM:
	case EACCES:
		why = "needs CAP_NET_ADMIN (run as root)";
		break;
	case ENOENT:
		why = c.what == verb::disable || c.what == verb::ports ? "that pid is not enabled"
		      : c.what == verb::bind_del			 ? "no such rule"
								 : "no " VIRT_CTL_DEVICE ": is virtsocket_host loaded?";
		break;
	case ESRCH:
		why = "no such process (give the VMM's process id)";
		break;
	case EEXIST:
		why = c.what == verb::bind_add ? "that rule exists already" : "that pid is enabled already";
		break;
	case EADDRINUSE:
		why = "CID " + std::to_string(c.cid) + " is in use by another VM or reserved by another entry";
		break;
	case ENOSPC:
		if (c.what == verb::bind_add) {
			why = "the host has " + std::to_string(VIRT_CTL_MAX_BIND_RULES) + " rules already";
			break;
		}
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

std::string format_bind_rules(const std::vector<virt_ctl_bind_rule>& rules)
{
	std::ostringstream out;
	out << "ports kind id\n";
	for (const auto& r : rules)
		out << format_ports({false, {{r.lo, r.hi}}}) << ' '
		    << (r.kind == VIRT_CTL_BIND_GID ? "gid" : "uid") << ' ' << r.id << '\n';
	return out.str();
}

} // namespace ctl
