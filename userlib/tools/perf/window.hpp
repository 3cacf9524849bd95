// virtsock-perf -w/--window: the option each transport honours for its
// window, set on every data socket on both ends, and what each end got.
//
//   virt, vsock  SO_VM_SOCKETS_BUFFER_MAX_SIZE, then _SIZE (u64, at the
//                family's level): the credit this end offers its peer.
//                AF_VSOCK's default maximum (256 KiB) would clamp a larger
//                size, hence the maximum first.  virt also honours
//                SO_SNDBUF (its unacknowledged bytes): set as for tcp.
//   tcp          SO_SNDBUF and SO_RCVBUF, before connect() on the client
//                (the window scale is fixed at the handshake).
//   unix         SO_SNDBUF and SO_RCVBUF; a stream's sender is limited by
//                its own send buffer.
//
// Linux doubles what SO_SNDBUF/SO_RCVBUF get and caps it at
// net.core.wmem_max/rmem_max (212992 by default); where the cap bit, the
// ..BUFFORCE options (CAP_NET_ADMIN) are tried.  A clamped value is no
// error: the report shows what each end got.
#pragma once

#include "wire.hpp"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <optional>

namespace perf {

// A data socket's buffers as its kernel reports them.  window: the bytes of
// payload the transport lets be in flight, by the option it honours:
// virt, vsock: SO_VM_SOCKETS_BUFFER_SIZE; tcp: the receive window SO_RCVBUF
// allows (tcp_adv_win_scale, half of it by default); unix: SO_SNDBUF / 2.
// With -w W every end of every transport reports a window of W when the
// kernel gave what was asked.
struct socket_buffers {
	int sndbuf = 0, rcvbuf = 0;
	std::optional<std::uint64_t> vm_buffer;	// virt, vsock
	std::uint64_t window = 0;
	friend bool operator==(const socket_buffers&, const socket_buffers&) = default;
};

// TCP's window from its receive buffer (tcp_win_from_space() of Linux 6.1)
// at a tcp_adv_win_scale of `scale`.
std::uint64_t tcp_window(int rcvbuf, int scale);
// /proc/sys/net/ipv4/tcp_adv_win_scale, 1 (the default) when unreadable.
int tcp_adv_win_scale();
// What `window` is for a transport, from the values read.
std::uint64_t window_of(vs::transport t, int sndbuf, int rcvbuf, std::optional<std::uint64_t> vm_buffer);

json to_json(const socket_buffers& b);
std::optional<socket_buffers> socket_buffers_from_json(const json& j);

namespace detail {

// SO_SNDBUF or SO_RCVBUF, with FORCE when net.core's cap clamped it.
template <class S>
vs::result<void, vs::error> set_sol_buffer(S& s, int name, int force, int bytes, const char* what)
{
	if (auto r = s.set_option(SOL_SOCKET, name, bytes); !r)
		return vs::with_context(r.error(), std::string("setting ") + what);
	auto got = s.get_option(SOL_SOCKET, name);
	if (got && *got < 2 * bytes)
		(void)s.set_option(SOL_SOCKET, force, bytes);	// EPERM without CAP_NET_ADMIN: keep the cap
	return {};
}

} // namespace detail

// Sets the window (bytes, > 0) on a data socket: vs::socket before
// connect(), vs::stream_socket after accept().
template <class S>
vs::result<void, vs::error> set_window(S& s, std::uint32_t window)
{
	const int w = static_cast<int>(window);
	if (s.kind() == vs::transport::virt || s.kind() == vs::transport::vsock) {
		auto level = s.get_option(SOL_SOCKET, SO_DOMAIN);
		if (!level)
			return vs::with_context(level.error(), "reading SO_DOMAIN");
		std::uint64_t v = window;
		if (auto r = s.template set_option<std::uint64_t>(*level, SO_VM_SOCKETS_BUFFER_MAX_SIZE, v); !r)
			return vs::with_context(r.error(), "setting SO_VM_SOCKETS_BUFFER_MAX_SIZE");
		if (auto r = s.template set_option<std::uint64_t>(*level, SO_VM_SOCKETS_BUFFER_SIZE, v); !r)
			return vs::with_context(r.error(), "setting SO_VM_SOCKETS_BUFFER_SIZE");
		if (s.kind() == vs::transport::virt)
			return detail::set_sol_buffer(s, SO_SNDBUF, SO_SNDBUFFORCE, w, "SO_SNDBUF");
		return {};
	}
	if (auto r = detail::set_sol_buffer(s, SO_SNDBUF, SO_SNDBUFFORCE, w, "SO_SNDBUF"); !r)
		return r;
	return detail::set_sol_buffer(s, SO_RCVBUF, SO_RCVBUFFORCE, w, "SO_RCVBUF");
}

template <class S>
socket_buffers read_buffers(const S& s)
{
	socket_buffers b;
	b.sndbuf = s.get_option(SOL_SOCKET, SO_SNDBUF).value_or(0);
	b.rcvbuf = s.get_option(SOL_SOCKET, SO_RCVBUF).value_or(0);
	if (s.kind() == vs::transport::virt || s.kind() == vs::transport::vsock) {
		if (auto level = s.get_option(SOL_SOCKET, SO_DOMAIN))
			if (auto v = s.template get_option<std::uint64_t>(*level, SO_VM_SOCKETS_BUFFER_SIZE))
				b.vm_buffer = *v;
	}
	b.window = window_of(s.kind(), b.sndbuf, b.rcvbuf, b.vm_buffer);
	return b;
}

} // namespace perf
