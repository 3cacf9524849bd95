// virtsocket-ctl: which VMs get AF_VIRT, on the host's control device.
//
//   virtsocket-ctl enable --pid PID [--cid CID]   prints the VM's CID
//   virtsocket-ctl disable --pid PID
//   virtsocket-ctl list                           pid cid state, one per line
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
