// virtsocket-ctl's parts that need no kernel: the command line and the
// messages, a library of their own so that the unit tests check them.
#pragma once

#include <virtsocket/ctl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ctl {

enum class verb { enable, disable, list };

struct command {
	verb what = verb::list;
	int pid = 0;
	std::uint32_t cid = 0;	// 0: let the host allocate one
};

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

} // namespace ctl
