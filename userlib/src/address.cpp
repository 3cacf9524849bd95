#include <virtsocket/address.hpp>

#include <virtsocket/virt.h>
#include <virtsocket/family.hpp>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace virtsocket {

// The URI names match the ABI's and vsock's values.
static_assert(cid_any == VIRT_CID_ANY && cid_any == VMADDR_CID_ANY);
static_assert(port_any == VIRT_PORT_ANY && port_any == VMADDR_PORT_ANY);
static_assert(VIRT_CID_HOST == VMADDR_CID_HOST);

namespace {

constexpr std::string_view expected_forms =
	"expected virt:CID:PORT, vsock:CID:PORT, unix:PATH or tcp:HOST:PORT";

struct named_cid {
	std::string_view name;
	std::uint32_t cid;
};
constexpr std::array<named_cid, 4> cid_names{{
	{"hypervisor", VIRT_CID_HYPERVISOR},
	{"local", VIRT_CID_LOCAL},
	{"host", VIRT_CID_HOST},
	{"any", VIRT_CID_ANY},
}};

error bad(std::string_view uri, std::string_view why)
{
	return error(errc::bad_address,
		     "bad address '" + std::string(uri) + "': " + std::string(why));
}

template <class Int>
bool parse_decimal(std::string_view s, Int& out)
{
	if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
		return false;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
	return ec == std::errc() && p == s.data() + s.size();
}

result<std::uint32_t, error> parse_cid(std::string_view uri, std::string_view s)
{
	if (s.empty())
		return bad(uri, "missing CID");
	for (const auto& n : cid_names)
		if (s == n.name)
			return n.cid;
	std::uint32_t cid = 0;
	if (!parse_decimal(s, cid))
		return bad(uri, "CID '" + std::string(s) +
					"' is not a number (0..4294967295) or one of hypervisor, local, host, any");
	return cid;
}

template <class Int>
result<Int, error> parse_port(std::string_view uri, std::string_view s, Int any, Int max)
{
	if (s.empty())
		return bad(uri, "missing port");
	if (s == "any")
		return any;
	Int port = 0;
	if (!parse_decimal(s, port) || port > max)
		return bad(uri, "port '" + std::string(s) + "' is not a number (0.." +
					std::to_string(max) + ") or any");
	return port;
}

// "CID:PORT" for virt: and vsock:
template <class A>
result<address, error> parse_cid_port(std::string_view uri, std::string_view rest)
{
	auto colon = rest.find(':');
	if (colon == std::string_view::npos)
		return bad(uri, "expected CID:PORT after the scheme");
	auto port_text = rest.substr(colon + 1);
	if (port_text.find(':') != std::string_view::npos)
		return bad(uri, "too many ':' (expected CID:PORT)");
	auto cid = parse_cid(uri, rest.substr(0, colon));
	if (!cid)
		return cid.error();
	auto port = parse_port<std::uint32_t>(uri, port_text, port_any, 0xffffffffU);
	if (!port)
		return port.error();
	return address(A{*cid, *port});
}

result<address, error> parse_unix(std::string_view uri, std::string_view path)
{
	if (path.empty())
		return bad(uri, "missing socket path");
	if (path == "@")
		return bad(uri, "missing abstract socket name after '@'");
	if (path.find('\0') != std::string_view::npos)
		return bad(uri, "socket path contains a NUL byte");
	if (path.size() >= sizeof(sockaddr_un::sun_path))
		return bad(uri, "socket path longer than " +
					std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
	return address(unix_address{std::string(path)});
}

bool valid_host_name(std::string_view h)
{
	return !h.empty() && h.front() != '-' && h.front() != '.' &&
	       std::all_of(h.begin(), h.end(), [](char c) {
		       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.';
	       });
}

result<address, error> parse_tcp(std::string_view uri, std::string_view rest)
{
	std::string_view host, port_text;
	if (!rest.empty() && rest.front() == '[') {
		auto close = rest.find(']');
		if (close == std::string_view::npos)
			return bad(uri, "missing ']' after IPv6 address");
		host = rest.substr(1, close - 1);
		auto after = rest.substr(close + 1);
		if (after.empty() || after.front() != ':')
			return bad(uri, "expected ':PORT' after ']'");
		port_text = after.substr(1);
		in6_addr a6{};
		if (host.empty() || inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
			return bad(uri, "'" + std::string(host) + "' is not an IPv6 address");
	} else {
		auto colon = rest.rfind(':');
		if (colon == std::string_view::npos)
			return bad(uri, "expected HOST:PORT after the scheme");
		host = rest.substr(0, colon);
		port_text = rest.substr(colon + 1);
		if (host.find(':') != std::string_view::npos)
			return bad(uri, "an IPv6 address must be in brackets: tcp:[ADDRESS]:PORT");
		if (host.empty())
			return bad(uri, "missing host");
		bool numeric = std::all_of(host.begin(), host.end(),
					   [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
		in_addr a4{};
		if (numeric && inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1)
			return bad(uri, "'" + std::string(host) + "' is not an IPv4 address");
		if (!numeric && !valid_host_name(host))
			return bad(uri, "'" + std::string(host) + "' is not a valid host name");
	}
	auto port = parse_port<std::uint16_t>(uri, port_text, 0, 65535);
	if (!port)
		return port.error();
	return address(tcp_address{std::string(host), *port});
}

std::string number_or_any(std::uint32_t v)
{
	return v == 0xffffffffU ? "any" : std::to_string(v);
}

template <class SockaddrVm>
native_address cid_port_native(int family, std::uint32_t cid, std::uint32_t port)
{
	native_address n;
	SockaddrVm sa{};
	if constexpr (std::is_same_v<SockaddrVm, sockaddr_vm>) {
		sa.svm_family = static_cast<sa_family_t>(family);
		sa.svm_cid = cid;
		sa.svm_port = port;
	} else {
		sa.svirt_family = static_cast<__u16>(family);
		sa.svirt_cid = cid;
		sa.svirt_port = port;
	}
	std::memcpy(&n.storage, &sa, sizeof(sa));
	n.length = sizeof(sa);
	return n;
}

// Sets the port of an AF_INET or AF_INET6 address.
void set_port(native_address& n, std::uint16_t port)
{
	if (n.family() == AF_INET)
		reinterpret_cast<sockaddr_in*>(&n.storage)->sin_port = htons(port);
	else
		reinterpret_cast<sockaddr_in6*>(&n.storage)->sin6_port = htons(port);
}

// Numeric hosts directly; names through getaddrinfo(), every result in its
// order, so a caller can try the next when one does not answer.
result<std::vector<native_address>, error> tcp_resolve(const tcp_address& a)
{
	native_address n;
	in_addr a4{};
	in6_addr a6{};
	if (inet_pton(AF_INET, a.host.c_str(), &a4) == 1) {
		sockaddr_in sin{};
		sin.sin_family = AF_INET;
		sin.sin_addr = a4;
		std::memcpy(&n.storage, &sin, sizeof(sin));
		n.length = sizeof(sin);
	} else if (inet_pton(AF_INET6, a.host.c_str(), &a6) == 1) {
		sockaddr_in6 sin6{};
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = a6;
		std::memcpy(&n.storage, &sin6, sizeof(sin6));
		n.length = sizeof(sin6);
	}
	if (n.length) {
		set_port(n, a.port);
		return std::vector{n};
	}

	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	addrinfo* raw = nullptr;
	errno = 0;
	int rc = getaddrinfo(a.host.c_str(), nullptr, &hints, &raw);
	std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(raw, freeaddrinfo);
	std::string what = "cannot resolve '" + a.host + "'";
	if (rc == EAI_SYSTEM)	// the real cause is in errno
		return with_context(errno_code(errno ? errno : EIO), what);
	if (rc != 0)
		return error(resolver_error_code(rc), what + ": " + gai_strerror(rc));
	std::vector<native_address> all;
	for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(n.storage))
			continue;
		native_address one;
		std::memcpy(&one.storage, ai->ai_addr, ai->ai_addrlen);
		one.length = ai->ai_addrlen;
		set_port(one, a.port);
		all.push_back(one);
	}
	if (all.empty())	// only families we cannot use
		return error(resolver_error_code(EAI_ADDRFAMILY), what + ": " + gai_strerror(EAI_ADDRFAMILY));
	return all;
}

} // namespace

std::string_view to_string(transport t) noexcept
{
	switch (t) {
	case transport::virt:
		return "virt";
	case transport::vsock:
		return "vsock";
	case transport::unix_domain:
		return "unix";
	case transport::tcp:
		return "tcp";
	}
	return "?";
}

address::address(std::string_view uri)
{
	auto a = parse(uri);
	if (!a)
		throw_error(a.error());
	*this = std::move(*a);
}

result<address, error> address::parse(std::string_view uri)
{
	if (uri.empty())
		return bad(uri, std::string("empty; ") + std::string(expected_forms));
	auto colon = uri.find(':');
	if (colon == std::string_view::npos)
		return bad(uri, std::string("no scheme; ") + std::string(expected_forms));
	auto scheme = uri.substr(0, colon);
	auto rest = uri.substr(colon + 1);
	if (scheme == "virt")
		return parse_cid_port<virt_address>(uri, rest);
	if (scheme == "vsock")
		return parse_cid_port<vsock_address>(uri, rest);
	if (scheme == "unix")
		return parse_unix(uri, rest);
	if (scheme == "tcp")
		return parse_tcp(uri, rest);
	return bad(uri, "unknown scheme '" + std::string(scheme) + "'; " + std::string(expected_forms));
}

std::string address::to_string() const
{
	struct visitor {
		std::string operator()(const virt_address& a) const
		{
			return "virt:" + number_or_any(a.cid) + ":" + number_or_any(a.port);
		}
		std::string operator()(const vsock_address& a) const
		{
			return "vsock:" + number_or_any(a.cid) + ":" + number_or_any(a.port);
		}
		std::string operator()(const unix_address& a) const { return "unix:" + a.path; }
		std::string operator()(const tcp_address& a) const
		{
			bool v6 = a.host.find(':') != std::string::npos;
			return "tcp:" + (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
		}
	};
	return std::visit(visitor{}, v_);
}

result<native_address, error> address::to_native() const
{
	if (auto a = get_if<virt_address>()) {
		auto family = virt_family();
		if (!family)
			return family.error();
		return cid_port_native<sockaddr_virt>(*family, a->cid, a->port);
	}
	if (auto a = get_if<vsock_address>())
		return cid_port_native<sockaddr_vm>(AF_VSOCK, a->cid, a->port);
	if (auto a = get_if<tcp_address>()) {
		auto all = tcp_resolve(*a);
		if (!all)
			return all.error();
		return all->front();
	}

	const auto& path = std::get<unix_address>(v_).path;
	native_address n;
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	if (path.size() >= sizeof(sun.sun_path))
		return bad(path, "socket path too long");
	std::memcpy(sun.sun_path, path.data(), path.size());
	if (!path.empty() && path.front() == '@')
		sun.sun_path[0] = '\0';	// abstract: no terminating NUL counted
	std::memcpy(&n.storage, &sun, sizeof(sun));
	n.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
					  (path.empty() || path.front() == '@' ? 0 : 1));
	return n;
}

result<std::vector<native_address>, error> address::resolve() const
{
	if (auto a = get_if<tcp_address>())
		return tcp_resolve(*a);
	auto n = to_native();
	if (!n)
		return n.error();
	return std::vector{*n};
}

result<address, error> address::from_native(const sockaddr* sa, socklen_t len)
{
	return from_native(sa, len, transport::unix_domain);
}

result<address, error> address::from_native(const sockaddr* sa, socklen_t len, transport kind)
{
	if (len < static_cast<socklen_t>(sizeof(sa_family_t)))
		return error(std::make_error_code(std::errc::invalid_argument), "truncated socket address");
	sockaddr_storage ss{};
	std::memcpy(&ss, sa, std::min<std::size_t>(len, sizeof(ss)));
	switch (ss.ss_family) {
	case AF_UNIX: {
		const auto& sun = reinterpret_cast<const sockaddr_un&>(ss);
		std::size_t n = len - offsetof(sockaddr_un, sun_path);
		if (n == 0)
			return address(unix_address{});
		if (sun.sun_path[0] == '\0')
			return address(unix_address{"@" + std::string(sun.sun_path + 1, n - 1)});
		return address(unix_address{std::string(sun.sun_path, strnlen(sun.sun_path, n))});
	}
	case AF_INET:
	case AF_INET6: {
		char host[INET6_ADDRSTRLEN] = {};
		std::uint16_t port;
		if (ss.ss_family == AF_INET) {
			const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
			inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host));
			port = ntohs(sin.sin_port);
		} else {
			const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
			inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host));
			port = ntohs(sin6.sin6_port);
		}
		return address(tcp_address{host, port});
	}
	case AF_VSOCK: {
		const auto& svm = reinterpret_cast<const sockaddr_vm&>(ss);
		return address(vsock_address{svm.svm_cid, svm.svm_port});
	}
	default: {
		// The family numbers above are fixed; AF_VIRT's is whatever is
		// left, for a socket known to be one.
		if (kind == transport::virt && len >= static_cast<socklen_t>(sizeof(sockaddr_virt))) {
			const auto& sv = reinterpret_cast<const sockaddr_virt&>(ss);
			return address(virt_address{sv.svirt_cid, sv.svirt_port});
		}
		auto family = virt_family();
		if (family && ss.ss_family == *family) {
			const auto& sv = reinterpret_cast<const sockaddr_virt&>(ss);
			return address(virt_address{sv.svirt_cid, sv.svirt_port});
		}
		return error(std::make_error_code(std::errc::address_family_not_supported),
			     "unknown address family " + std::to_string(ss.ss_family));
	}
	}
}

} // namespace virtsocket
