// virtsock-perf --verify: the payload of each stream is a pattern both ends
// derive from the test's cookie, so the receiving end can check every byte.
// Its period is a prime: a byte lost, duplicated or moved shows at once
// unless moved by a multiple of the period, and the byte counts (sender
// against receiver) catch the rest.  The sender copies the pattern into
// each message and the receiver compares it: the cost of a memcpy and a
// memcmp per message, which is why the sweep verifies its warm-up runs and
// not its measured ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace perf {

class pattern {
public:
	static constexpr std::size_t period = 65521;	// the largest prime below 64 Ki

	// Stream `index` of the test with this cookie.
	pattern(std::uint64_t cookie, std::uint32_t index);

	// The stream's bytes [at, at + out.size()).
	void fill(std::span<std::byte> out, std::uint64_t at) const;
	// The stream offset of the first byte of `in` (the stream's bytes from
	// `at` on, as received) that is not the pattern's.
	std::optional<std::uint64_t> mismatch(std::span<const std::byte> in, std::uint64_t at) const;
	std::byte at(std::uint64_t offset) const { return twice_[offset % period]; }

private:
	std::vector<std::byte> twice_;	// two periods: any window of one is contiguous
};

// "payload mismatch at stream byte N: expected 0x.., got 0x.."
std::string mismatch_message(const pattern& p, std::span<const std::byte> in, std::uint64_t at,
			     std::uint64_t offset);

} // namespace perf
