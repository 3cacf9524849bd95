// virtsocket-ctl: which VMs get AF_VIRT, on the host's control device.
//
//   virtsocket-ctl enable --pid PID [--cid CID]   prints the VM's CID
//   virtsocket-ctl disable --pid PID
//   virtsocket-ctl list                           pid cid state, one per line
//   virtsocket-ctl ports --pid PID [--to-host SET] [--to-guest SET]
//   virtsocket-ctl bind-rule add|del --ports N[-M] --uid U|--gid G
//   virtsocket-ctl bind-rule list
//
// The ioctls and their errnos: include/virtsocket/ctl.h.
#include "ctl.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace {

int fail(const ctl::command& c, int err)
{
	std::cerr << "virtsocket-ctl: " << ctl::describe_error(c, err) << '\n';
	return 1;
}

class device {
public:
	device() : fd_(::open(VIRT_CTL_DEVICE, O_RDWR | O_CLOEXEC)) {}
	~device()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	device(const device&) = delete;
	device& operator=(const device&) = delete;
	[[nodiscard]] bool ok() const { return fd_ >= 0; }
	template <typename T> int call(unsigned long req, T& arg) const
	{
		return ::ioctl(fd_, req, &arg) == 0 ? 0 : errno;
	}

private:
	int fd_;
};

int set_ports(const device& dev, const ctl::command& c, std::uint32_t dir, const ctl::port_spec& spec)
{
	virt_ctl_ports a{};
	a.version = VIRT_CTL_VERSION;
	a.pid = c.pid;
	a.direction = dir;
	a.flags = spec.all ? VIRT_CTL_PORTS_ALL : 0;
	a.count = static_cast<std::uint32_t>(spec.ranges.size());
	a.ranges = reinterpret_cast<std::uintptr_t>(spec.ranges.data());
	return dev.call(VIRT_CTL_SET_PORTS, a);
}

int show_ports(const device& dev, const ctl::command& c, std::uint32_t dir, const char* name)
{
	ctl::port_spec spec;
	spec.ranges.resize(VIRT_CTL_MAX_RANGES);
	virt_ctl_ports a{};
	a.version = VIRT_CTL_VERSION;
	a.pid = c.pid;
	a.direction = dir;
	a.count = VIRT_CTL_MAX_RANGES;
	a.ranges = reinterpret_cast<std::uintptr_t>(spec.ranges.data());
	if (int err = dev.call(VIRT_CTL_GET_PORTS, a))
		return err;
	spec.all = a.flags & VIRT_CTL_PORTS_ALL;
	spec.ranges.resize(std::min<std::size_t>(a.count, spec.ranges.size()));
	std::cout << name << ' ' << ctl::format_ports(spec) << '\n';
	return 0;
}

int bind_rule(const device& dev, const ctl::command& c, unsigned long req)
{
	virt_ctl_bind_rule a{};
	a.version = VIRT_CTL_VERSION;
	a.kind = c.bind_kind;
	a.id = c.bind_id;
	a.lo = c.bind_ports.lo;
	a.hi = c.bind_ports.hi;
	return dev.call(req, a);
}

int run(const ctl::command& c)
{
	device dev;
	if (!dev.ok())
		return fail(c, errno);
	switch (c.what) {
	case ctl::verb::enable: {
		virt_ctl_enable a{};
		a.version = VIRT_CTL_VERSION;
		a.pid = c.pid;
		a.cid = c.cid;
		if (int err = dev.call(VIRT_CTL_ENABLE, a))
			return fail(c, err);
		std::cout << a.cid << '\n';
		return 0;
	}
	case ctl::verb::disable: {
		virt_ctl_disable a{};
		a.version = VIRT_CTL_VERSION;
		a.pid = c.pid;
		if (int err = dev.call(VIRT_CTL_DISABLE, a))
			return fail(c, err);
		return 0;
	}
	case ctl::verb::list: {
		// The table's bound: one call always gets every entry.
		std::vector<virt_ctl_entry> entries(VIRT_CTL_MAX_ENTRIES);
		virt_ctl_list a{};
		a.version = VIRT_CTL_VERSION;
		a.count = static_cast<std::uint32_t>(entries.size());
		a.entries = reinterpret_cast<std::uintptr_t>(entries.data());
		if (int err = dev.call(VIRT_CTL_LIST, a))
			return fail(c, err);
		entries.resize(std::min<std::size_t>(a.count, entries.size()));
		std::cout << ctl::format_list(entries);
		return 0;
	}
	case ctl::verb::ports: {
		int err = 0;
		if (c.to_host)
			err = set_ports(dev, c, VIRT_CTL_TO_HOST, *c.to_host);
		if (!err && c.to_guest)
			err = set_ports(dev, c, VIRT_CTL_TO_GUEST, *c.to_guest);
		if (!err && !c.to_host && !c.to_guest) {
			err = show_ports(dev, c, VIRT_CTL_TO_HOST, "to-host");
			if (!err)
				err = show_ports(dev, c, VIRT_CTL_TO_GUEST, "to-guest");
		}
		return err ? fail(c, err) : 0;
	}
	case ctl::verb::bind_add:
	case ctl::verb::bind_del:
		if (int err = bind_rule(dev, c, c.what == ctl::verb::bind_add ? VIRT_CTL_BIND_ADD : VIRT_CTL_BIND_DEL))
			return fail(c, err);
		return 0;
	case ctl::verb::bind_list: {
		std::vector<virt_ctl_bind_rule> rules(VIRT_CTL_MAX_BIND_RULES);
		virt_ctl_bind_list a{};
		a.version = VIRT_CTL_VERSION;
		a.count = static_cast<std::uint32_t>(rules.size());
		a.rules = reinterpret_cast<std::uintptr_t>(rules.data());
		if (int err = dev.call(VIRT_CTL_BIND_LIST, a))
			return fail(c, err);
		rules.resize(std::min<std::size_t>(a.count, rules.size()));
		std::cout << ctl::format_bind_rules(rules);
		return 0;
	}
	}
	return 1;
}

} // namespace

int main(int argc, char** argv)
{
	auto p = ctl::parse(std::vector<std::string>(argv + 1, argv + argc));
	std::cout << p.out;
	std::cerr << p.err;
	if (!p.cmd)
		return p.status;
	return run(*p.cmd);
}
