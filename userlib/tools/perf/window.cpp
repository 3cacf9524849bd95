#include "window.hpp"

#include <fstream>

namespace perf {

std::uint64_t tcp_window(int rcvbuf, int scale)
{
	if (rcvbuf <= 0)
		return 0;
	auto space = static_cast<std::uint64_t>(rcvbuf);
	if (scale <= 0)
		return space >> std::min(-scale, 31);
	return space - (space >> std::min(scale, 31));
}

int tcp_adv_win_scale()
{
	std::ifstream f("/proc/sys/net/ipv4/tcp_adv_win_scale");
	int scale = 1;
	if (!(f >> scale))
		return 1;
	return scale;
}

std::uint64_t window_of(vs::transport t, int sndbuf, int rcvbuf, std::optional<std::uint64_t> vm_buffer)
{
	switch (t) {
	case vs::transport::virt:
	case vs::transport::vsock:
		return vm_buffer.value_or(0);
	case vs::transport::tcp:
		return tcp_window(rcvbuf, tcp_adv_win_scale());
	case vs::transport::unix_domain:
		return sndbuf > 0 ? static_cast<std::uint64_t>(sndbuf) / 2 : 0;
	}
	return 0;
}

json to_json(const socket_buffers& b)
{
	return {{"sndbuf", b.sndbuf},
		{"rcvbuf", b.rcvbuf},
		{"vm_buffer_size", b.vm_buffer ? json(*b.vm_buffer) : json(nullptr)},
		{"window", b.window}};
}

std::optional<socket_buffers> socket_buffers_from_json(const json& j)
{
	try {
		socket_buffers b;
		b.sndbuf = j.at("sndbuf").get<int>();
		b.rcvbuf = j.at("rcvbuf").get<int>();
		if (!j.at("vm_buffer_size").is_null())
			b.vm_buffer = j["vm_buffer_size"].get<std::uint64_t>();
		b.window = j.at("window").get<std::uint64_t>();
		return b;
	} catch (const json::exception&) {
		return std::nullopt;
	}
}

} // namespace perf
