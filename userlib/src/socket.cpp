#include <virtsocket/socket.hpp>

#include <virtsocket/family.hpp>
#include <virtsocket/virt.h>

#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/time_types.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace virtsocket {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::error_code last_error() noexcept
{
	return errno_code(errno);
}

int poll_timeout_ms(std::optional<steady_clock::time_point> deadline) noexcept
{
	if (!deadline)
		return -1;
	auto left = std::chrono::ceil<milliseconds>(*deadline - steady_clock::now());
	return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

timeval to_timeval(std::chrono::microseconds t) noexcept
{
	return {static_cast<time_t>(t.count() / 1000000),
		static_cast<suseconds_t>(t.count() % 1000000)};
}

// The (level, name) of the no-delay / cork option of a transport.
result<std::pair<int, int>> transport_option(transport kind, bool cork) noexcept
{
	switch (kind) {
	case transport::virt:
		return std::pair{VIRT_SOL, cork ? VIRT_CORK : VIRT_NODELAY};
	case transport::tcp:
		return std::pair{int(IPPROTO_TCP), cork ? TCP_CORK : TCP_NODELAY};
	default:
		return std::make_error_code(std::errc::operation_not_supported);
	}
}

int fixed_family(transport kind) noexcept
{
	switch (kind) {
	case transport::vsock:
		return AF_VSOCK;
	case transport::unix_domain:
		return AF_UNIX;
	default:
		return AF_INET;
	}
}

// A socket of the right family for a native address.
result<socket, error> open_for(transport kind, const native_address& n, int flags = 0)
{
	int fd = ::socket(n.family(), SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0) {
		auto ec = last_error();
		if (kind == transport::virt)
			return with_context(ec, "AF_VIRT socket (family " + std::to_string(n.family()) + ")");
		return with_context(ec, std::string(to_string(kind)) + " socket");
	}
	return socket(fd, kind);
}

} // namespace

result<short> poll_one(int fd, short events, std::optional<milliseconds> timeout) noexcept
{
	pollfd p{fd, events, 0};
	auto r = poll_many(std::span(&p, 1), timeout);
	if (!r)
		return r.error();
	return *r ? p.revents : short(0);
}

result<int> poll_many(std::span<pollfd> fds, std::optional<milliseconds> timeout) noexcept
{
	std::optional<steady_clock::time_point> deadline;
	if (timeout)
		deadline = steady_clock::now() + *timeout;
	for (;;) {
		int n = ::poll(fds.data(), fds.size(), poll_timeout_ms(deadline));
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return last_error();
	}
}

// ---- socket ----------------------------------------------------------------

socket& socket::operator=(socket&& o) noexcept
{
	if (this != &o) {
		(void)close();
		fd_ = std::exchange(o.fd_, -1);
		kind_ = o.kind_;
	}
	return *this;
}

socket::~socket()
{
	(void)close();
}

result<socket, error> socket::create(transport kind, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return error(std::make_error_code(std::errc::invalid_argument),
			     "socket flags " + std::to_string(flags) + ": only SOCK_NONBLOCK and SOCK_CLOEXEC");
	int family;
	if (kind == transport::virt) {
		auto f = virt_family();
		if (!f)
			return f.error();
		family = *f;
	} else {
		family = fixed_family(kind);
	}
	native_address n;
	n.storage.ss_family = static_cast<sa_family_t>(family);
	return open_for(kind, n, flags);
}

result<void> socket::close() noexcept
{
	if (fd_ < 0)
		return {};
	// Linux releases the descriptor even when close() fails: never retry.
	if (::close(std::exchange(fd_, -1)) < 0 && errno != EINTR)
		return last_error();
	return {};
}

result<address, error> socket::local_address() const
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
		return with_context(last_error(), "getsockname");
	return address::from_native(reinterpret_cast<sockaddr*>(&ss), len, kind_);
}

result<address, error> socket::peer_address() const
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
		return with_context(last_error(), "getpeername");
	return address::from_native(reinterpret_cast<sockaddr*>(&ss), len, kind_);
}

result<void, error> socket::bind(const address& local)
{
	auto n = local.to_native();
	if (!n)
		return n.error();
	if (auto r = bind(*n); !r)
		return with_context(r.error(), "bind " + local.to_string());
	return {};
}

result<void> socket::bind(const native_address& local) noexcept
{
	if (::bind(fd_, local.get(), local.length) < 0)
		return last_error();
	return {};
}

result<connect_status, error> socket::connect(const address& peer)
{
	auto n = peer.to_native();
	if (!n)
		return n.error();
	auto r = connect(*n);
	if (!r)
		return with_context(r.error(), "connect to " + peer.to_string());
	return *r;
}

result<connect_status> socket::connect(const native_address& peer) noexcept
{
	if (::connect(fd_, peer.get(), peer.length) == 0)
		return connect_status::connected;
	if (errno == EINPROGRESS)
		return connect_status::in_progress;
	return last_error();
}

result<void> socket::finish_connect(std::optional<milliseconds> timeout) noexcept
{
	auto ready = poll(POLLOUT, timeout);
	if (!ready)
		return ready.error();
	if (*ready == 0)
		return std::make_error_code(std::errc::operation_in_progress);
	auto err = pending_error();
	if (!err)
		return err.error();
	if (*err)
		return *err;
	return {};
}

result<std::error_code> socket::pending_error() noexcept
{
	auto v = get_option(SOL_SOCKET, SO_ERROR);
	if (!v)
		return result<std::error_code>(unexpect, v.error());
	return result<std::error_code>(std::in_place, *v ? errno_code(*v) : std::error_code());
}

result<std::size_t> socket::available() const noexcept
{
	int n = 0;
	if (::ioctl(fd_, SIOCINQ, &n) < 0)
		return last_error();
	return static_cast<std::size_t>(n);
}

result<std::size_t> socket::send_queue_bytes() const noexcept
{
	int n = 0;
	if (::ioctl(fd_, SIOCOUTQ, &n) < 0)
		return last_error();
	return static_cast<std::size_t>(n);
}

result<void> socket::set_nonblocking(bool on) noexcept
{
	int flags = ::fcntl(fd_, F_GETFL);
	if (flags < 0)
		return last_error();
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (::fcntl(fd_, F_SETFL, flags) < 0)
		return last_error();
	return {};
}

result<bool> socket::is_nonblocking() const noexcept
{
	int flags = ::fcntl(fd_, F_GETFL);
	if (flags < 0)
		return last_error();
	return (flags & O_NONBLOCK) != 0;
}

result<void> socket::set_send_buffer_size(int bytes) noexcept
{
	return set_option(SOL_SOCKET, SO_SNDBUF, bytes);
}

result<int> socket::send_buffer_size() const noexcept
{
	return get_option(SOL_SOCKET, SO_SNDBUF);
}

result<void> socket::set_recv_buffer_size(int bytes) noexcept
{
	return set_option(SOL_SOCKET, SO_RCVBUF, bytes);
}

result<int> socket::recv_buffer_size() const noexcept
{
	return get_option(SOL_SOCKET, SO_RCVBUF);
}

result<void> socket::set_recv_lowat(int bytes) noexcept
{
	return set_option(SOL_SOCKET, SO_RCVLOWAT, bytes);
}

result<int> socket::recv_lowat() const noexcept
{
	return get_option(SOL_SOCKET, SO_RCVLOWAT);
}

static result<void> set_timeout(socket& s, int name, std::chrono::microseconds t) noexcept
{
	if (t.count() < 0)
		return std::make_error_code(std::errc::invalid_argument);
	return s.set_option<timeval>(SOL_SOCKET, name, to_timeval(t));
}

static result<std::chrono::microseconds> get_timeout(const socket& s, int name) noexcept
{
	return s.get_option<timeval>(SOL_SOCKET, name).transform([](const timeval& tv) {
		return std::chrono::microseconds(std::chrono::seconds(tv.tv_sec) +
						 std::chrono::microseconds(tv.tv_usec));
	});
}

result<void> socket::set_recv_timeout(std::chrono::microseconds t) noexcept
{
	return set_timeout(*this, SO_RCVTIMEO, t);
}

result<std::chrono::microseconds> socket::recv_timeout() const noexcept
{
	return get_timeout(*this, SO_RCVTIMEO);
}

result<void> socket::set_send_timeout(std::chrono::microseconds t) noexcept
{
	return set_timeout(*this, SO_SNDTIMEO, t);
}

result<std::chrono::microseconds> socket::send_timeout() const noexcept
{
	return get_timeout(*this, SO_SNDTIMEO);
}

result<void> socket::set_reuse_address(bool on) noexcept
{
	return set_option(SOL_SOCKET, SO_REUSEADDR, on);
}

// The no-delay and cork options of the socket's transport (VIRT_* or TCP_*).
static result<void> set_transport_flag(socket& s, bool cork, bool on) noexcept
{
	auto opt = transport_option(s.kind(), cork);
	if (!opt)
		return opt.error();
	return s.set_option(opt->first, opt->second, on);
}

static result<bool> transport_flag(const socket& s, bool cork) noexcept
{
	auto opt = transport_option(s.kind(), cork);
	if (!opt)
		return opt.error();
	auto v = s.get_option(opt->first, opt->second);
	if (!v)
		return v.error();
	return *v != 0;
}

result<void> socket::set_nodelay(bool on) noexcept
{
	return set_transport_flag(*this, false, on);
}

result<bool> socket::nodelay() const noexcept
{
	return transport_flag(*this, false);
}

result<void> socket::set_cork(bool on) noexcept
{
	return set_transport_flag(*this, true, on);
}

result<bool> socket::cork() const noexcept
{
	return transport_flag(*this, true);
}

// The level of AF_VSOCK's own options: the socket's family (virt, vsock).
static result<int> vm_option_level(const socket& s) noexcept
{
	if (s.kind() != transport::virt && s.kind() != transport::vsock)
		return std::make_error_code(std::errc::operation_not_supported);
	return s.get_option(SOL_SOCKET, SO_DOMAIN);
}

result<void> socket::set_vm_buffer_size(std::uint64_t bytes) noexcept
{
	auto level = vm_option_level(*this);
	if (!level)
		return level.error();
	if (::setsockopt(fd_, *level, SO_VM_SOCKETS_BUFFER_SIZE, &bytes, sizeof(bytes)) < 0)
		return last_error();
	return {};
}

result<std::uint64_t> socket::vm_buffer_size() const noexcept
{
	auto level = vm_option_level(*this);
	if (!level)
		return level.error();
	std::uint64_t bytes = 0;
	socklen_t len = sizeof(bytes);
	if (::getsockopt(fd_, *level, SO_VM_SOCKETS_BUFFER_SIZE, &bytes, &len) < 0)
		return last_error();
	return bytes;
}

result<void> socket::set_vm_connect_timeout(std::chrono::microseconds t) noexcept
{
	if (t.count() < 0)
		return std::make_error_code(std::errc::invalid_argument);
	auto level = vm_option_level(*this);
	if (!level)
		return level.error();
	__kernel_sock_timeval tv{t.count() / 1000000, t.count() % 1000000};
	if (::setsockopt(fd_, *level, SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, &tv, sizeof(tv)) < 0)
		return last_error();
	return {};
}

result<std::chrono::microseconds> socket::vm_connect_timeout() const noexcept
{
	auto level = vm_option_level(*this);
	if (!level)
		return level.error();
	__kernel_sock_timeval tv{};
	socklen_t len = sizeof(tv);
	if (::getsockopt(fd_, *level, SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, &tv, &len) < 0)
		return last_error();
	return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// ---- stream_socket -----------------------------------------------------------

stream_socket::stream_socket(const address& peer)
{
	auto s = connector().connect(peer);
	if (!s)
		throw_error(s.error());
	*this = std::move(*s);
}

result<std::size_t> stream_socket::send(std::span<const std::byte> buf, int flags) noexcept
{
	for (;;) {
		ssize_t n = ::send(fd_, buf.data(), buf.size(), flags | MSG_NOSIGNAL);
		if (n >= 0)
			return static_cast<std::size_t>(n);
		if (errno != EINTR)
			return last_error();
	}
}

result<std::size_t> stream_socket::recv(std::span<std::byte> buf, int flags) noexcept
{
	for (;;) {
		ssize_t n = ::recv(fd_, buf.data(), buf.size(), flags);
		if (n >= 0)
			return static_cast<std::size_t>(n);
		if (errno != EINTR)
			return last_error();
	}
}

result<void, transfer_error> stream_socket::send_all(std::span<const std::byte> buf) noexcept
{
	std::size_t done = 0;
	while (done < buf.size()) {
		auto n = send(buf.subspan(done));
		if (!n)
			return transfer_error(n.error(), done);
		done += *n;
	}
	return {};
}

result<void, transfer_error> stream_socket::recv_exact(std::span<std::byte> buf) noexcept
{
	// MSG_WAITALL in slices: AF_VSOCK refuses (ENOMEM) a wait for more than
	// its receive buffer (256 KiB by default).
	constexpr std::size_t slice = 64 * 1024;
	std::size_t done = 0;
	while (done < buf.size()) {
		auto n = recv(buf.subspan(done, std::min(buf.size() - done, slice)), MSG_WAITALL);
		if (!n)
			return transfer_error(n.error(), done);
		if (*n == 0)
			return transfer_error(errc::unexpected_eof, done);
		done += *n;
	}
	return {};
}

result<std::size_t> stream_socket::send_gather(std::span<const iovec> bufs, int flags) noexcept
{
	msghdr msg{};
	msg.msg_iov = const_cast<iovec*>(bufs.data());
	msg.msg_iovlen = bufs.size();
	for (;;) {
		ssize_t n = ::sendmsg(fd_, &msg, flags | MSG_NOSIGNAL);
		if (n >= 0)
			return static_cast<std::size_t>(n);
		if (errno != EINTR)
			return last_error();
	}
}

result<std::size_t> stream_socket::recv_scatter(std::span<const iovec> bufs, int flags) noexcept
{
	msghdr msg{};
	msg.msg_iov = const_cast<iovec*>(bufs.data());
	msg.msg_iovlen = bufs.size();
	for (;;) {
		ssize_t n = ::recvmsg(fd_, &msg, flags);
		if (n >= 0)
			return static_cast<std::size_t>(n);
		if (errno != EINTR)
			return last_error();
	}
}

result<void> stream_socket::shutdown(int how) noexcept
{
	if (::shutdown(fd_, how) < 0)
		return last_error();
	return {};
}

// ---- connector -------------------------------------------------------------

namespace {

// connect() bounded by a deadline: non-blocking connect, then poll.  The
// socket's mode afterwards is the caller's to set.
result<void> connect_by(socket& s, const native_address& n, steady_clock::time_point deadline)
{
	if (auto r = s.set_nonblocking(true); !r)
		return r;
	auto st = s.connect(n);
	if (!st && st.error() == std::errc::resource_unavailable_try_again && n.family() == AF_UNIX) {
		// A full unix backlog makes non-blocking connect() fail at once
		// instead of pending; a blocking connect() honours SO_SNDTIMEO.
		if (auto r = s.set_nonblocking(false); !r)
			return r;
		auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - steady_clock::now());
		if (left.count() <= 0)
			return std::make_error_code(std::errc::timed_out);
		if (auto r = s.set_send_timeout(left); !r)
			return r;
		st = s.connect(n);
		(void)s.set_send_timeout(std::chrono::microseconds(0));
		if (!st && st.error() != std::errc::resource_unavailable_try_again)
			return st.error();
		if (!st || *st == connect_status::in_progress)
			return std::make_error_code(std::errc::timed_out);
		return {};
	}
	// EINTR: the connect goes on in the background, as EINPROGRESS.
	if (!st && st.error() != std::errc::interrupted)
		return st.error();
	if (st && *st == connect_status::connected)
		return {};
	auto r = s.finish_connect(std::chrono::ceil<milliseconds>(deadline - steady_clock::now()));
	if (!r && r.error() == std::errc::operation_in_progress)
		return std::make_error_code(std::errc::timed_out);
	return r;
}

// One candidate address: a socket of its family, connected, in the mode asked.
result<socket, error> connect_one(transport kind, const native_address& n,
				  std::optional<steady_clock::time_point> deadline, bool nonblocking)
{
	auto s = open_for(kind, n);
	if (!s)
		return s.error();
	if (deadline) {
		if (auto r = connect_by(*s, n, *deadline); !r)
			return error(r.error());
	} else {
		auto st = s->connect(n);
		while (!st && st.error() == std::errc::interrupted)
			st = s->connect(n);
		if (!st)
			return error(st.error());
	}
	// connect_by() leaves it non-blocking, a plain connect() blocking.
	if (deadline || nonblocking) {
		if (auto r = s->set_nonblocking(nonblocking); !r)
			return error(r.error());
	}
	return s;
}

} // namespace

result<stream_socket, error> connector::connect(const address& peer) const
{
	auto candidates = peer.resolve();
	if (!candidates)
		return candidates.error();
	std::optional<steady_clock::time_point> deadline;
	if (timeout_)
		deadline = steady_clock::now() + *timeout_;
	// A name may resolve to several addresses (IPv6 and IPv4, several
	// hosts): try each in turn within the one deadline.  The last error is
	// returned; with several addresses its message lists every attempt.
	std::string tried;
	error last;
	for (const auto& n : *candidates) {
		// The first address is always tried (a zero timeout still makes
		// one non-blocking attempt, as before); the others within the time.
		if (&n != &candidates->front() && deadline && steady_clock::now() >= *deadline) {
			last = error(std::make_error_code(std::errc::timed_out));
			break;
		}
		auto s = connect_one(peer.kind(), n, deadline, nonblocking_);
		if (s)
			return stream_socket(std::move(*s));
		last = std::move(s).error();
		if (candidates->size() > 1) {
			auto where = address::from_native(n.get(), n.length);
			tried += (tried.empty() ? "" : "; ") + (where ? where->to_string() : "?") + ": " +
				 last.message();
		}
	}
	error e(last.code, "connect to " + peer.to_string() + ": " + last.message());
	if (candidates->size() > 1)
		e.what += " (" + std::to_string(candidates->size()) + " addresses tried: " + tried + ")";
	return e;
}

// ---- listener ----------------------------------------------------------------

listener::listener(const address& local, int backlog)
{
	auto l = listen(local, backlog);
	if (!l)
		throw_error(l.error());
	*this = std::move(*l);
}

listener& listener::operator=(listener&& o) noexcept
{
	if (this != &o) {
		unlink_path();
		sock_ = std::move(o.sock_);
		unlink_path_ = std::exchange(o.unlink_path_, {});
	}
	return *this;
}

listener::~listener()
{
	unlink_path();
}

void listener::unlink_path() noexcept
{
	if (!unlink_path_.empty())
		::unlink(unlink_path_.c_str());
	unlink_path_.clear();
}

result<void> listener::close() noexcept
{
	unlink_path();
	return sock_.close();
}

int listener::release() noexcept
{
	unlink_path_.clear();
	return sock_.release();
}

result<listener, error> listener::listen(const address& local, int backlog)
{
	auto n = local.to_native();
	if (!n)
		return n.error();
	auto s = open_for(local.kind(), *n);
	if (!s)
		return s.error();
	if (local.kind() == transport::tcp) {
		if (auto r = s->set_reuse_address(); !r)
			return with_context(r.error(), "SO_REUSEADDR");
	}
	if (auto r = s->bind(*n); !r)
		return with_context(r.error(), "bind " + local.to_string());
	listener l;
	l.sock_ = std::move(*s);
	if (auto u = local.get_if<unix_address>(); u && !u->path.empty() && u->path.front() != '@')
		l.unlink_path_ = u->path;
	if (::listen(l.handle(), backlog) < 0)
		return with_context(last_error(), "listen on " + local.to_string());
	return l;
}

static bool valid_accept_flags(int flags) noexcept
{
	return (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == 0;
}

result<stream_socket> listener::accept(int flags) noexcept
{
	if (!valid_accept_flags(flags))
		return std::make_error_code(std::errc::invalid_argument);
	for (;;) {
		int fd = ::accept4(sock_.handle(), nullptr, nullptr, SOCK_CLOEXEC | flags);
		if (fd >= 0)
			return stream_socket(fd, sock_.kind());
		if (errno != EINTR)
			return last_error();
	}
}

result<stream_socket> listener::accept(address& peer, int flags)
{
	if (!valid_accept_flags(flags))
		return std::make_error_code(std::errc::invalid_argument);
	for (;;) {
		sockaddr_storage ss{};
		socklen_t len = sizeof(ss);
		int fd = ::accept4(sock_.handle(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | flags);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return last_error();
		}
		stream_socket s(fd, sock_.kind());
		auto a = address::from_native(reinterpret_cast<sockaddr*>(&ss), len, sock_.kind());
		if (!a)
			return a.error().code;	// the connection is dropped: no address to give
		peer = std::move(*a);
		return s;
	}
}

result<stream_socket> listener::accept(milliseconds timeout, int flags) noexcept
{
	auto ready = poll(POLLIN, timeout);
	if (!ready)
		return ready.error();
	if (*ready == 0)
		return std::make_error_code(std::errc::timed_out);
	return accept(flags);
}

} // namespace virtsocket
