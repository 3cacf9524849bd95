// Run-time discovery of AF_VIRT.  The family number is a module parameter, so
// it is read from <sysfs dir>/family, never compiled in.  The directory is
// VIRT_SYSFS_DIR unless $VIRTSOCKET_SYSFS_DIR overrides it (for tests).
#pragma once

#include <virtsocket/result.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace virtsocket {

std::filesystem::path sysfs_dir();

// Not cached: cheap, only used when creating sockets, and right after a
// module reload with another family parameter.
result<int, error> virt_family();
result<std::uint32_t, error> virt_local_cid();
result<std::string, error> virt_role();	// "guest" or "host"

} // namespace virtsocket
