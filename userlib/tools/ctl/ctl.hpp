// virtsocket-ctl's parts that need no kernel: the command line and the
// messages, a library of their own so that the unit tests check them.
#pragma once

#include <virtsocket/ctl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ctl {

enum class verb { enable, disable, list, ports, bind_add, bind_del, bind_list };

// A port set: every port, or these ranges (none: deny all).
struct port_spec {
	bool all = false;
	std::vector<virt_ctl_port_range> ranges;
	bool operator==(const port_spec& o) const
	{
		if (all != o.all || ranges.size() != o.ranges.size())
			return false;
		for (std::size_t i = 0; i < ranges.size(); i++)
			if (ranges[i].lo != o.ranges[i].lo || ranges[i].hi != o.ranges[i].hi)
				return false;
		return true;
	}
};

struct command {
	verb what = verb::list;
	int pid = 0;
	std::uint32_t cid = 0;	// 0: let the host allocate one
	// ports: the sets to set; neither: show both.
	std::optional<port_spec> to_host, to_guest;
	// bind-rule add/del: ports lo..hi for the uid or gid @id.
	virt_ctl_port_range bind_ports{};
	std::uint32_t bind_kind = VIRT_CTL_BIND_UID;
	std::uint32_t bind_id = 0;
};

// "all", "none", or "N" and "N-M" separated by commas (at most
// VIRT_CTL_MAX_RANGES); nullopt with @err set if malformed.
std::optional<port_spec> parse_ports(const std::string& text, std::string& err);
// The inverse: "all", "none" or "22,5000-5010".
std::string format_ports(const port_spec& spec);

// What parse() decided: a command to run, or an exit status with what to
// print (the help on stdout with status 0, a usage error on stderr with 2).
struct parsed {
	std::optional<command> cmd;
	int status = 0;
	std::string out, err;
};

// args: the command line without the program name.
parsed parse(const std::vector<std::string>& args);

// The message for a failed ioctl: errno @err of the request @c.
std::string describe_error(const command& c, int err);

// The listing, one line per entry under a header.
std::string format_list(const std::vector<virt_ctl_entry>& entries);

// The bind rules, one per line under a header.
std::string format_bind_rules(const std::vector<virt_ctl_bind_rule>& rules);

} // namespace ctl
