// Move-only RAII sockets over any transport of address.hpp.
//
//   auto l = listener::listen(address("unix:/tmp/s"));      // set-up: result<T, error>
//   auto s = connector(100ms).connect(address("virt:host:1234"));
//   s->send_all(std::as_bytes(std::span(msg)));               // I/O: result<T> (error_code)
//
// Event loops: create(kind, SOCK_NONBLOCK), bind(), connect() that returns
// connect_status::in_progress, then finish_connect() once poll/epoll reports
// the socket writable; listener::accept(peer, SOCK_NONBLOCK); available()
// (FIONREAD); send_all()/recv_exact() tell how far they got (transfer_error).
//
// Sends always pass MSG_NOSIGNAL: a closed peer is an EPIPE error, never a
// SIGPIPE.  A timeout set with set_recv_timeout()/set_send_timeout() shows as
// std::errc::resource_unavailable_try_again, as the kernel reports it.
//
// Threads.  A socket object is not synchronised; what may be shared is what
// the kernel already serialises on the descriptor:
//  - const members, and the I/O members (send*, recv*, accept, poll,
//    shutdown, option setters), may run concurrently on one object: e.g. one
//    thread sending while another receives, or several threads accepting on
//    one listener.  Concurrent sends (or receives) are each whole system
//    calls but interleave in the stream: give each direction one thread, or
//    lock.  send_all()/recv_exact() loop over several calls, so two of them
//    at once interleave even more.
//  - O_NONBLOCK, timeouts and buffer sizes belong to the socket, not to the
//    thread: setting them changes the calls other threads are making.
//    set_nonblocking() is a read-modify-write of the file flags and races
//    with itself.
//  - close(), release(), move, assignment and destruction must not overlap
//    any other use of the object: besides the race on the descriptor
//    number, a closed number is reused at once by the next open() anywhere
//    in the process, so a late call would act on someone else's file.
// address, error and result are values: the usual rules of std types apply.
#pragma once

#include <virtsocket/address.hpp>
#include <virtsocket/result.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

namespace virtsocket {

// One buffer as an iovec for send_gather()/recv_scatter().
inline iovec to_iovec(std::span<const std::byte> s) noexcept
{
	return {const_cast<std::byte*>(s.data()), s.size()};
}

// poll() one descriptor; the returned revents is 0 on timeout.  No timeout
// waits forever.  EINTR is retried with the remaining time.
result<short> poll_one(int fd, short events,
		       std::optional<std::chrono::milliseconds> timeout = std::nullopt) noexcept;
// poll() many; returns the number of ready entries.
result<int> poll_many(std::span<pollfd> fds,
		      std::optional<std::chrono::milliseconds> timeout = std::nullopt) noexcept;

// What connect() did: connected at once, or (non-blocking socket) started;
// the socket becomes writable when it is done (finish_connect()).
enum class connect_status { connected, in_progress };

// The error of send_all()/recv_exact(): an error_code (it compares, converts
// and prints as one) that also tells how many bytes were moved before it, so
// that a caller can resume, e.g. after EAGAIN on a non-blocking socket.
struct transfer_error : std::error_code {
	std::size_t bytes = 0;	// sent, or stored at the front of the buffer

	transfer_error(std::error_code ec, std::size_t moved) noexcept : std::error_code(ec), bytes(moved) {}
};

class socket {
public:
	socket() noexcept = default;
	socket(int fd, transport kind) noexcept : fd_(fd), kind_(kind) {}
	socket(socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), kind_(o.kind_) {}
	socket& operator=(socket&& o) noexcept;
	socket(const socket&) = delete;
	socket& operator=(const socket&) = delete;
	~socket();

	// A new unconnected SOCK_STREAM socket of the transport (tcp: IPv4).
	// flags: SOCK_NONBLOCK or 0 (SOCK_CLOEXEC is always set).
	static result<socket, error> create(transport kind, int flags = 0);

	int handle() const noexcept { return fd_; }
	bool is_open() const noexcept { return fd_ >= 0; }
	explicit operator bool() const noexcept { return is_open(); }
	transport kind() const noexcept { return kind_; }
	int release() noexcept { return std::exchange(fd_, -1); }
	result<void> close() noexcept;

	result<address, error> local_address() const;
	result<address, error> peer_address() const;

	// bind(2).  A tcp host name binds its first address; a unix socket
	// file is not removed later (a listener does that).  The native form
	// passes exactly the given sockaddr and length.
	result<void, error> bind(const address& local);
	result<void> bind(const native_address& local) noexcept;

	// connect(2) as the socket's mode makes it: a blocking socket waits
	// (connected, or the error); a non-blocking one returns in_progress
	// (or connected at once: unix may), and the event loop waits for
	// POLLOUT and calls finish_connect().  A signal during a blocking
	// connect: EINTR, as connect(2) gives it.  One address: for every
	// address of a tcp name, with a timeout, use connector.
	result<connect_status, error> connect(const address& peer);
	result<connect_status> connect(const native_address& peer) noexcept;
	// The outcome of a connect() that returned in_progress, after waiting
	// up to `timeout` for the socket to be writable (default: not at all;
	// std::nullopt: as long as it takes): success, the connect's error
	// (SO_ERROR: ECONNREFUSED, ...), or std::errc::operation_in_progress
	// while it is still going on.
	result<void> finish_connect(
		std::optional<std::chrono::milliseconds> timeout = std::chrono::milliseconds(0)) noexcept;
	// SO_ERROR: the socket's pending error (an empty code when none); the
	// kernel clears it on reading.
	result<std::error_code> pending_error() noexcept;

	result<void> set_nonblocking(bool on = true) noexcept;
	result<bool> is_nonblocking() const noexcept;

	// setsockopt()/getsockopt() of a T (int unless given: linger, timeval,
	// ...): set_option<linger>(SOL_SOCKET, SO_LINGER, {1, 0}).  T must be the
	// option's exact type: get_option<T> fails with std::errc::invalid_argument
	// when the kernel returns another length.  No bool: the kernel's flags are
	// ints, so set_option(level, name, true) sets the int 1.
	template <class T = int>
	result<void> set_option(int level, int name, const std::type_identity_t<T>& value) noexcept
	{
		static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>);
		if (::setsockopt(fd_, level, name, &value, sizeof(T)) < 0)
			return errno_code(errno);
		return {};
	}
	template <class T = int>
	result<T> get_option(int level, int name) const noexcept
	{
		static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>);
		T value{};
		socklen_t len = sizeof(T);
		if (::getsockopt(fd_, level, name, &value, &len) < 0)
			return errno_code(errno);
		if (len != sizeof(T))
			return std::make_error_code(std::errc::invalid_argument);
		return value;
	}

	// FIONREAD (SIOCINQ): bytes ready to be read.  SIOCOUTQ: bytes sent
	// that the transport still holds (AF_VIRT, vsock: not yet read by the
	// peer; tcp: not yet acknowledged; unix: the memory of its queued
	// buffers).  vsock before Linux 6.10: ENOTTY.
	result<std::size_t> available() const noexcept;
	result<std::size_t> send_queue_bytes() const noexcept;

	result<void> set_send_buffer_size(int bytes) noexcept;
	result<int> send_buffer_size() const noexcept;
	result<void> set_recv_buffer_size(int bytes) noexcept;
	result<int> recv_buffer_size() const noexcept;
	result<void> set_recv_lowat(int bytes) noexcept;
	result<int> recv_lowat() const noexcept;
	// Zero means no timeout.
	result<void> set_recv_timeout(std::chrono::microseconds t) noexcept;
	result<std::chrono::microseconds> recv_timeout() const noexcept;
	result<void> set_send_timeout(std::chrono::microseconds t) noexcept;
	result<std::chrono::microseconds> send_timeout() const noexcept;
	result<void> set_reuse_address(bool on = true) noexcept;

	// VIRT_NODELAY/VIRT_CORK on virt, TCP_NODELAY/TCP_CORK on tcp;
	// std::errc::operation_not_supported on unix and vsock.
	result<void> set_nodelay(bool on = true) noexcept;
	result<bool> nodelay() const noexcept;
	result<void> set_cork(bool on = true) noexcept;
	result<bool> cork() const noexcept;

	// AF_VSOCK's SO_VM_SOCKETS_BUFFER_SIZE and _CONNECT_TIMEOUT_NEW at the
	// socket's family level, on virt and vsock (a zero timeout sets the
	// default); std::errc::operation_not_supported on unix and tcp.
	result<void> set_vm_buffer_size(std::uint64_t bytes) noexcept;
	result<std::uint64_t> vm_buffer_size() const noexcept;
	result<void> set_vm_connect_timeout(std::chrono::microseconds t) noexcept;
	result<std::chrono::microseconds> vm_connect_timeout() const noexcept;

	result<short> poll(short events,
			   std::optional<std::chrono::milliseconds> timeout = std::nullopt) const noexcept
	{
		return poll_one(fd_, events, timeout);
	}

protected:
	int fd_ = -1;
	transport kind_ = transport::unix_domain;
};

class stream_socket : public socket {
public:
	using socket::socket;
	stream_socket() noexcept = default;
	explicit stream_socket(socket&& s) noexcept : socket(std::move(s)) {}
	// Connects or throws virtsocket::exception.
	explicit stream_socket(const address& peer);

	// Partial transfers; recv() returns 0 at end of stream.
	result<std::size_t> send(std::span<const std::byte> buf, int flags = 0) noexcept;
	result<std::size_t> recv(std::span<std::byte> buf, int flags = 0) noexcept;
	// Whole buffers, retrying partial transfers and EINTR.  On an error,
	// error().bytes says how many were moved first: sent, or stored at the
	// front of buf.  A non-blocking socket stops at EAGAIN
	// (std::errc::resource_unavailable_try_again) with that count, to go on
	// from there once poll says so.  recv_exact: errc::unexpected_eof when
	// the stream ends first.
	result<void, transfer_error> send_all(std::span<const std::byte> buf) noexcept;
	result<void, transfer_error> recv_exact(std::span<std::byte> buf) noexcept;
	// sendmsg()/recvmsg() over several buffers; partial like send()/recv().
	result<std::size_t> send_gather(std::span<const iovec> bufs, int flags = 0) noexcept;
	result<std::size_t> recv_scatter(std::span<const iovec> bufs, int flags = 0) noexcept;

	result<void> shutdown(int how = SHUT_WR) noexcept;
};

// Makes outgoing connections.  A tcp host name is resolved and every address
// it gives is tried in turn; the timeout bounds the whole connect(), all
// attempts together.  The socket it returns is blocking unless
// set_nonblocking() asked for it to stay non-blocking (for an event loop).
// connect() is const and may be called from several threads at once.
class connector {
public:
	connector() = default;
	explicit connector(std::chrono::milliseconds timeout) : timeout_(timeout) {}

	connector& set_nonblocking(bool on = true) noexcept
	{
		nonblocking_ = on;
		return *this;
	}
	bool nonblocking() const noexcept { return nonblocking_; }

	result<stream_socket, error> connect(const address& peer) const;

private:
	std::optional<std::chrono::milliseconds> timeout_;
	bool nonblocking_ = false;
};

// A bound, listening socket.  A unix listener removes its socket file when
// it is closed or destroyed; tcp listeners set SO_REUSEADDR.
//
// It holds its socket rather than deriving from socket: a listener owns more
// than the descriptor (the path to unlink), and ~socket() is not virtual, so
// `socket s = std::move(l);` would slice off the path while keeping the
// descriptor listening, and l's destructor would then unlink the path of a
// live listener.  Only a const view of the socket is offered (sock(), or
// the implicit conversion for functions taking const socket&).
class listener {
public:
	listener() noexcept = default;
	// Listens or throws virtsocket::exception.
	explicit listener(const address& local, int backlog = SOMAXCONN);
	listener(listener&& o) noexcept
		: sock_(std::move(o.sock_)), unlink_path_(std::exchange(o.unlink_path_, {})) {}
	listener& operator=(listener&& o) noexcept;
	listener(const listener&) = delete;
	listener& operator=(const listener&) = delete;
	~listener();

	static result<listener, error> listen(const address& local, int backlog = SOMAXCONN);

	// accept4(): flags SOCK_NONBLOCK or 0 (SOCK_CLOEXEC is always set).
	// On a non-blocking listener with nothing queued: EAGAIN.
	result<stream_socket> accept(int flags = 0) noexcept;
	// The same, and the peer's address (from accept4() itself, no extra
	// call).
	result<stream_socket> accept(address& peer, int flags = 0);
	// std::errc::timed_out when nobody connects in time.
	result<stream_socket> accept(std::chrono::milliseconds timeout, int flags = 0) noexcept;

	const socket& sock() const noexcept { return sock_; }
	operator const socket&() const noexcept { return sock_; } // NOLINT: implicit on purpose

	// Closes the socket and removes a unix socket file at once.
	result<void> close() noexcept;
	// Hands over the descriptor and, with it, the socket file: the listener
	// will not unlink it.
	int release() noexcept;

	// The socket interface, forwarded.
	int handle() const noexcept { return sock_.handle(); }
	bool is_open() const noexcept { return sock_.is_open(); }
	explicit operator bool() const noexcept { return is_open(); }
	transport kind() const noexcept { return sock_.kind(); }
	result<address, error> local_address() const { return sock_.local_address(); }
	result<address, error> peer_address() const { return sock_.peer_address(); }
	result<void> set_nonblocking(bool on = true) noexcept { return sock_.set_nonblocking(on); }
	result<bool> is_nonblocking() const noexcept { return sock_.is_nonblocking(); }
	template <class T = int>
	result<void> set_option(int level, int name, const std::type_identity_t<T>& value) noexcept
	{
		return sock_.set_option<T>(level, name, value);
	}
	template <class T = int>
	result<T> get_option(int level, int name) const noexcept
	{
		return sock_.get_option<T>(level, name);
	}
	result<std::error_code> pending_error() noexcept { return sock_.pending_error(); }
	result<void> set_send_buffer_size(int bytes) noexcept { return sock_.set_send_buffer_size(bytes); }
	result<int> send_buffer_size() const noexcept { return sock_.send_buffer_size(); }
	result<void> set_recv_buffer_size(int bytes) noexcept { return sock_.set_recv_buffer_size(bytes); }
	result<int> recv_buffer_size() const noexcept { return sock_.recv_buffer_size(); }
	result<void> set_recv_lowat(int bytes) noexcept { return sock_.set_recv_lowat(bytes); }
	result<int> recv_lowat() const noexcept { return sock_.recv_lowat(); }
	result<void> set_recv_timeout(std::chrono::microseconds t) noexcept { return sock_.set_recv_timeout(t); }
	result<std::chrono::microseconds> recv_timeout() const noexcept { return sock_.recv_timeout(); }
	result<void> set_send_timeout(std::chrono::microseconds t) noexcept { return sock_.set_send_timeout(t); }
	result<std::chrono::microseconds> send_timeout() const noexcept { return sock_.send_timeout(); }
	result<void> set_reuse_address(bool on = true) noexcept { return sock_.set_reuse_address(on); }
	result<void> set_nodelay(bool on = true) noexcept { return sock_.set_nodelay(on); }
	result<bool> nodelay() const noexcept { return sock_.nodelay(); }
	result<void> set_cork(bool on = true) noexcept { return sock_.set_cork(on); }
	result<bool> cork() const noexcept { return sock_.cork(); }
	result<void> set_vm_buffer_size(std::uint64_t bytes) noexcept { return sock_.set_vm_buffer_size(bytes); }
	result<std::uint64_t> vm_buffer_size() const noexcept { return sock_.vm_buffer_size(); }
	result<void> set_vm_connect_timeout(std::chrono::microseconds t) noexcept
	{
		return sock_.set_vm_connect_timeout(t);
	}
	result<std::chrono::microseconds> vm_connect_timeout() const noexcept
	{
		return sock_.vm_connect_timeout();
	}
	result<short> poll(short events,
			   std::optional<std::chrono::milliseconds> timeout = std::nullopt) const noexcept
	{
		return sock_.poll(events, timeout);
	}

private:
	void unlink_path() noexcept;

	socket sock_;
	std::string unlink_path_;
};

} // namespace virtsocket
