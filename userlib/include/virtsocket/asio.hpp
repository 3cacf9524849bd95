// AF_VIRT (and every other transport of address.hpp) for standalone asio
// (Debian: libasio-dev).  Optional: include it only in programs built with
// asio; libvirtsocket itself does not use asio.
//
// asio's own protocols (ip::tcp, local::stream_protocol) fix their family at
// compile time; AF_VIRT's number is a module parameter read at run time
// (family.hpp).  asio::generic::stream_protocol takes the family at run time,
// so its socket and acceptor carry AF_VIRT; asio_endpoint builds their
// endpoints from URIs, virtsocket::address or a sockaddr_virt:
//
//   virtsocket::asio_acceptor acceptor(io, virtsocket::asio_endpoint(virtsocket::address("virt:any:5000")));
//   virtsocket::asio_socket s(io);
//   s.async_connect(virtsocket::asio_endpoint(virtsocket::address("virt:host:5000")), handler);
//   auto peer = virtsocket::asio_endpoint(s.remote_endpoint()).to_address();
#pragma once

#include <virtsocket/address.hpp>
#include <virtsocket/result.hpp>
#include <virtsocket/socket.hpp>
#include <virtsocket/virt.h>

#include <asio/basic_socket_acceptor.hpp>
#include <asio/generic/stream_protocol.hpp>

#include <cstring>
#include <system_error>
#include <utility>

namespace virtsocket {

using asio_stream_protocol = ::asio::generic::stream_protocol;
using asio_socket = asio_stream_protocol::socket;
using asio_acceptor = ::asio::basic_socket_acceptor<asio_stream_protocol>;

// An endpoint for asio_socket and asio_acceptor: asio's generic endpoint
// (it is one, so it goes wherever asio wants an endpoint), built from a
// URI's address, a native_address or a sockaddr_virt, and turned back into
// an address.  Protocol 0: the family's default.
class asio_endpoint : public asio_stream_protocol::endpoint {
public:
	using base_type = asio_stream_protocol::endpoint;

	asio_endpoint() = default;
	// What asio gives back: remote_endpoint(), local_endpoint(), the peer
	// of accept().
	asio_endpoint(const base_type& e) : base_type(e) {} // NOLINT: implicit on purpose
	explicit asio_endpoint(const native_address& n) : base_type(n.get(), n.length, 0) {}
	// The family is the sockaddr's own svirt_family: virt_family() for a
	// real one.
	explicit asio_endpoint(const sockaddr_virt& sa) : base_type(&sa, sizeof(sa), 0) {}
	// Resolves (tcp: the first address of a name) and discovers AF_VIRT's
	// family; throws virtsocket::exception.
	explicit asio_endpoint(const address& a) : asio_endpoint(a.to_native().value()) {}

	static result<asio_endpoint, error> from(const address& a)
	{
		return a.to_native().transform([](const native_address& n) { return asio_endpoint(n); });
	}

	int family() const { return protocol().family(); }
	native_address native() const
	{
		native_address n;
		std::memcpy(&n.storage, data(), size());
		n.length = static_cast<socklen_t>(size());
		return n;
	}
	// The URI form's address (AF_VIRT: the family is checked against
	// discovery).
	result<address, error> to_address() const { return address::from_native(data(), static_cast<socklen_t>(size())); }
};

// Hands a library socket (e.g. one from connector, with its URI, timeout and
// every address of a tcp name tried) to asio: an asio_socket on `ctx` (an
// io_context or an executor) owning the descriptor.  On failure `s` still
// owns it.
template <class ExecutionContext>
result<asio_socket> to_asio(ExecutionContext&& ctx, stream_socket&& s)
{
	auto family = s.get_option(SOL_SOCKET, SO_DOMAIN);
	if (!family)
		return family.error();
	asio_socket out(std::forward<ExecutionContext>(ctx));
	std::error_code ec;
	out.assign(asio_stream_protocol(*family, 0), s.handle(), ec);
	if (ec)
		return ec;
	(void)s.release();
	return result<asio_socket>(std::in_place, std::move(out));
}

} // namespace virtsocket
