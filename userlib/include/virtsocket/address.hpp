// Socket addresses written as URIs, one interface for every transport, so a
// program switches transport by changing a string:
//
//   virt:CID:PORT    AF_VIRT          CID: number, hypervisor, local, host, any
//   vsock:CID:PORT   AF_VSOCK         PORT: number or any
//   unix:PATH        AF_UNIX stream   unix:@NAME is the abstract namespace
//   tcp:HOST:PORT    TCP over IPv4/6  HOST: IPv4, [IPv6] or a name; PORT any = 0
#pragma once

#include <virtsocket/result.hpp>

#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace virtsocket {

enum class transport { virt, vsock, unix_domain, tcp };

// "virt", "vsock", "unix", "tcp": the URI scheme.
std::string_view to_string(transport t) noexcept;

inline constexpr std::uint32_t cid_any = 0xffffffffU;	// VIRT_CID_ANY, VMADDR_CID_ANY
inline constexpr std::uint32_t port_any = 0xffffffffU;	// VIRT_PORT_ANY, VMADDR_PORT_ANY

struct virt_address {
	std::uint32_t cid = cid_any;
	std::uint32_t port = port_any;
	friend auto operator<=>(const virt_address&, const virt_address&) = default;
};

struct vsock_address {
	std::uint32_t cid = cid_any;
	std::uint32_t port = port_any;
	friend auto operator<=>(const vsock_address&, const vsock_address&) = default;
};

struct unix_address {
	std::string path;	// "@name": abstract; "": unnamed (a client's own end)
	friend auto operator<=>(const unix_address&, const unix_address&) = default;
};

struct tcp_address {
	std::string host;	// without brackets
	std::uint16_t port = 0;
	friend auto operator<=>(const tcp_address&, const tcp_address&) = default;
};

// A sockaddr ready for bind()/connect().
struct native_address {
	sockaddr_storage storage{};
	socklen_t length = 0;

	int family() const noexcept { return storage.ss_family; }
	const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
	sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
};

class address {
public:
	using variant_type = std::variant<virt_address, vsock_address, unix_address, tcp_address>;

	address() = default;
	address(virt_address a) : v_(a) {}			// NOLINT: implicit on purpose
	address(vsock_address a) : v_(a) {}			// NOLINT
	address(unix_address a) : v_(std::move(a)) {}		// NOLINT
	address(tcp_address a) : v_(std::move(a)) {}		// NOLINT
	// Parses or throws virtsocket::exception (errc::bad_address).
	explicit address(std::string_view uri);

	static result<address, error> parse(std::string_view uri);

	// The URI form; parse(a.to_string()) == a.
	std::string to_string() const;
	transport kind() const noexcept { return static_cast<transport>(v_.index()); }
	const variant_type& get() const noexcept { return v_; }
	template <class A>
	const A* get_if() const noexcept { return std::get_if<A>(&v_); }

	// Resolves host names and discovers the AF_VIRT family number.  A host
	// name gives its first address; a resolver failure is an error in
	// resolver_category() (or errno's for EAI_SYSTEM).
	result<native_address, error> to_native() const;
	// Every address a tcp host name resolves to, in getaddrinfo()'s order
	// (connector::connect() tries them all); one for every other address.
	result<std::vector<native_address>, error> resolve() const;
	static result<address, error> from_native(const sockaddr* sa, socklen_t len);
	// The same for an address a socket of transport `kind` gave (accept(),
	// getsockname()): an AF_VIRT one is decoded without reading the family
	// number from sysfs again.
	static result<address, error> from_native(const sockaddr* sa, socklen_t len, transport kind);

	friend bool operator==(const address&, const address&) = default;

private:
	variant_type v_;
};

} // namespace virtsocket
