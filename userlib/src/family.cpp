#include <virtsocket/family.hpp>

#include <virtsocket/virt.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace virtsocket {
namespace {

// The first line of a sysfs file, without trailing white space.
result<std::string, error> read_value(const std::filesystem::path& file)
{
	std::ifstream in(file);
	if (!in) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR)
			return error(errc::af_virt_unavailable,
				     "AF_VIRT not available: virtsocket module not loaded (" +
					     file.string() + " missing)");
		return with_context(errno_code(err ? err : EIO), "AF_VIRT not available: " + file.string());
	}
	std::string line;
	std::getline(in, line);
	while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
		line.pop_back();
	return line;
}

template <class Int>
result<Int, error> read_number(const std::filesystem::path& file, Int min, Int max)
{
	auto text = read_value(file);
	if (!text)
		return text.error();
	Int n{};
	const char* end = text->data() + text->size();
	auto [p, ec] = std::from_chars(text->data(), end, n);
	if (text->empty() || ec != std::errc() || p != end || n < min || n > max)
		return error(errc::bad_sysfs_value, "AF_VIRT not available: " + file.string() +
							    " holds '" + *text + "', not a number in " +
							    std::to_string(min) + ".." + std::to_string(max));
	return n;
}

} // namespace

std::filesystem::path sysfs_dir()
{
	const char* dir = std::getenv("VIRTSOCKET_SYSFS_DIR");
	return dir && *dir ? dir : VIRT_SYSFS_DIR;
}

result<int, error> virt_family()
{
	// sa_family_t is 16 bits; the kernel only accepts families below NPROTO.
	return read_number<int>(sysfs_dir() / "family", 1, 255);
}

result<std::uint32_t, error> virt_local_cid()
{
	return read_number<std::uint32_t>(sysfs_dir() / "cid", 0, 0xffffffffU);
}

result<std::string, error> virt_role()
{
	return read_value(sysfs_dir() / "role");
}

} // namespace virtsocket
