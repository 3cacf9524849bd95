#include <virtsocket/result.hpp>

#include <netdb.h>

namespace virtsocket {
namespace {

class category final : public std::error_category {
public:
	const char* name() const noexcept override { return "virtsocket"; }

	std::string message(int ev) const override
	{
		switch (static_cast<errc>(ev)) {
		case errc::unexpected_eof:
			return "connection closed before all data arrived";
		case errc::af_virt_unavailable:
			return "AF_VIRT not available: virtsocket module not loaded";
		case errc::bad_sysfs_value:
			return "AF_VIRT not available: unexpected value in virtsocket sysfs file";
		case errc::bad_address:
			return "malformed address";
		}
		return "unknown virtsocket error";
	}

	std::error_condition default_error_condition(int ev) const noexcept override
	{
		switch (static_cast<errc>(ev)) {
		case errc::unexpected_eof:
			return std::errc::connection_reset;
		case errc::af_virt_unavailable:
		case errc::bad_sysfs_value:
			return std::errc::address_family_not_supported;
		case errc::bad_address:
			return std::errc::invalid_argument;
		}
		return {ev, *this};
	}
};

class resolver final : public std::error_category {
public:
	const char* name() const noexcept override { return "getaddrinfo"; }

	std::string message(int ev) const override { return gai_strerror(ev); }

	// The EAI_* codes with an errno counterpart; the others ("no such
	// host", "non-recoverable failure") have none and stay as they are.
	std::error_condition default_error_condition(int ev) const noexcept override
	{
		switch (ev) {
		case EAI_AGAIN:
			return std::errc::resource_unavailable_try_again;
		case EAI_BADFLAGS:
			return std::errc::invalid_argument;
		case EAI_FAMILY:
		case EAI_ADDRFAMILY:
			return std::errc::address_family_not_supported;
		case EAI_MEMORY:
			return std::errc::not_enough_memory;
		case EAI_OVERFLOW:
			return std::errc::value_too_large;
		}
		return {ev, *this};
	}
};

} // namespace

const std::error_category& error_category() noexcept
{
	static const category instance;
	return instance;
}

const std::error_category& resolver_category() noexcept
{
	static const resolver instance;
	return instance;
}

} // namespace virtsocket
