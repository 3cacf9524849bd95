#include "pattern.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace perf {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): cheap, and every seed gives a
// sequence without short cycles.
std::uint64_t splitmix64(std::uint64_t& state)
{
	std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

} // namespace

pattern::pattern(std::uint64_t cookie, std::uint32_t index) : twice_(2 * period)
{
	std::uint64_t state = cookie ^ (std::uint64_t{index} << 32 | index);
	for (std::size_t i = 0; i < period; i += 8) {
		auto word = splitmix64(state);
		for (std::size_t b = 0; b < 8 && i + b < period; b++)
			twice_[i + b] = std::byte(static_cast<unsigned char>(word >> (8 * b)));
	}
	std::copy_n(twice_.begin(), period, twice_.begin() + period);
}

void pattern::fill(std::span<std::byte> out, std::uint64_t at) const
{
	while (!out.empty()) {
		auto from = static_cast<std::size_t>(at % period);
		auto n = std::min(out.size(), period);
		std::memcpy(out.data(), twice_.data() + from, n);
		out = out.subspan(n);
		at += n;
	}
}

std::optional<std::uint64_t> pattern::mismatch(std::span<const std::byte> in, std::uint64_t at) const
{
	while (!in.empty()) {
		auto from = static_cast<std::size_t>(at % period);
		auto n = std::min(in.size(), period);
		if (std::memcmp(in.data(), twice_.data() + from, n) != 0) {
			for (std::size_t i = 0; i < n; i++)
				if (in[i] != twice_[from + i])
					return at + i;
		}
		in = in.subspan(n);
		at += n;
	}
	return std::nullopt;
}

std::string mismatch_message(const pattern& p, std::span<const std::byte> in, std::uint64_t at,
			     std::uint64_t offset)
{
	char buf[128];
	std::snprintf(buf, sizeof(buf), "payload mismatch at stream byte %llu: expected 0x%02x, got 0x%02x",
		      static_cast<unsigned long long>(offset), std::to_integer<unsigned>(p.at(offset)),
		      std::to_integer<unsigned>(in[static_cast<std::size_t>(offset - at)]));
	return buf;
}

} // namespace perf
