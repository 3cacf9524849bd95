// virtsock-perf wire format (version 3), iperf3's shape: a control connection
// carries the test parameters and the results, one data connection per
// stream carries the payload.
//
//   client -> server, control: header (56 bytes, below)
//   server -> client, control: status (8 bytes) {u32 "VSPF", i32 errno}:
//                              0, EBUSY (another test runs), EPROTONOSUPPORT
//                              (another wire version), EINVAL, EPROTO
//   client -> server, each data connection: hello (16 bytes)
//                              {u32 "VSPS", u32 stream index, u64 cookie}
//   server -> client, control: message "start" (see below) once every
//                              stream is in: the test begins
//   ... each stream runs its role (stream.hpp), ends with half-closes ...
//   server -> client, control: message "result": the server's CPU time and
//                              per-stream figures (or an error)
//
// Header: u32 magic "VSPF", u16 version, u8 mode, u8 direction, u32 size,
// u32 report interval in ms (0: none), u64 bytes (throughput, all streams
// of one direction together) or round trips (latency; 0: timed), u64
// duration in ns, u64 cookie, u16 streams per direction, u16 flags, u32
// window in bytes (0: the transports' defaults; window.hpp), u32 omitted
// warm-up in ms, u32 0.  Flags: bit 0, verify the payload (pattern.hpp);
// the others must be 0.  (The flags were a reserved 0 before: a server that
// ignores them sends no "verified_bytes", and the client says so.)
// The server reads magic and version first, so a client of another version
// is told so before the server waits for the rest.
// Message: u32 magic "VSPM", u32 length, then that many bytes of JSON.
// Integers are little-endian.
#pragma once

#include <virtsocket/virtsocket.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <endian.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace perf {

namespace vs = virtsocket;
using json = nlohmann::ordered_json;
using std::chrono::nanoseconds;

constexpr std::string_view prog = "virtsock-perf";
constexpr std::uint32_t wire_magic = 0x46505356;	// "VSPF"
constexpr std::uint32_t stream_magic = 0x53505356;	// "VSPS"
constexpr std::uint32_t message_magic = 0x4d505356;	// "VSPM"
constexpr std::uint16_t wire_version = 3;
constexpr std::uint16_t flag_verify = 1;
constexpr std::uint64_t max_size = 64ULL << 20;		// bounds each side's buffer
constexpr std::uint16_t max_streams = 128;		// per direction, as iperf3
constexpr std::uint32_t max_message = 16U << 20;	// bounds a result's intervals
constexpr std::uint32_t max_intervals = 1U << 16;	// latency: sent by the server
constexpr std::chrono::seconds max_duration{30 * 86400};	// keeps deadlines far from overflow

enum class test_mode : std::uint8_t { throughput = 0, latency = 1 };
// bidir: both at once, `streams` each way (iperf3 --bidir).
enum class test_direction : std::uint8_t { send = 0, recv = 1, bidir = 2 };

struct test_params {
	test_mode mode = test_mode::throughput;
	test_direction direction = test_direction::send;
	std::uint32_t size = 0;
	std::uint64_t bytes = 0;	// throughput, per direction; 0: run for duration
	std::uint64_t count = 0;	// latency round trips; 0: run for duration
	nanoseconds duration{0};	// after the omitted warm-up
	nanoseconds omit{0};
	std::uint32_t interval_ms = 0;
	std::uint16_t streams = 1;	// per direction
	std::uint32_t buffer = 0;	// the window on both ends (window.hpp); 0: defaults
	std::uint64_t cookie = 0;	// ties the data connections to the test; seeds --verify
	bool verify = false;		// the payload is a pattern the receiver checks

	// Data connections in all: bidir has `streams` each way.
	std::uint32_t connections() const
	{
		return direction == test_direction::bidir ? 2U * streams : streams;
	}
	friend bool operator==(const test_params&, const test_params&) = default;
};

std::string_view name(test_mode m);
std::string_view name(test_direction d);

// ---- little-endian fields ---------------------------------------------------

template <class T>
void put(std::byte* p, T v)
{
	if constexpr (sizeof(T) == 2)
		v = static_cast<T>(htole16(static_cast<std::uint16_t>(v)));
	else if constexpr (sizeof(T) == 4)
		v = static_cast<T>(htole32(static_cast<std::uint32_t>(v)));
	else if constexpr (sizeof(T) == 8)
		v = static_cast<T>(htole64(static_cast<std::uint64_t>(v)));
	std::memcpy(p, &v, sizeof(v));
}

template <class T>
T get(const std::byte* p)
{
	T v;
	std::memcpy(&v, p, sizeof(v));
	if constexpr (sizeof(T) == 2)
		return static_cast<T>(le16toh(static_cast<std::uint16_t>(v)));
	else if constexpr (sizeof(T) == 4)
		return static_cast<T>(le32toh(static_cast<std::uint32_t>(v)));
	else if constexpr (sizeof(T) == 8)
		return static_cast<T>(le64toh(static_cast<std::uint64_t>(v)));
	return v;
}

// ---- fixed records ------------------------------------------------------------

constexpr std::size_t prefix_size = 8;	// magic and version: read first
using header_bytes = std::array<std::byte, 56>;
using status_bytes = std::array<std::byte, 8>;
using hello_bytes = std::array<std::byte, 16>;
using message_head = std::array<std::byte, 8>;

header_bytes encode(const test_params& t);
// 0 or the errno the server answers with.
int decode(const header_bytes& h, test_params& t);
// The version a header (or its first 8 bytes) announces; 0: not ours.
std::uint16_t header_version(std::span<const std::byte> h);

status_bytes encode_status(int status);
// The errno, or nullopt when it is not a virtsock-perf status.
std::optional<int> decode_status(const status_bytes& s);

struct hello {
	std::uint32_t index = 0;
	std::uint64_t cookie = 0;
};
hello_bytes encode(const hello& h);
std::optional<hello> decode(const hello_bytes& b);

// ---- JSON messages on the control connection -----------------------------------

std::vector<std::byte> encode_message(const json& j);
// The length a message head announces, or an error (not ours, too long).
vs::result<std::uint32_t, vs::error> message_length(const message_head& h);
vs::result<void, vs::error> send_message(vs::stream_socket& s, const json& j);
vs::result<void, vs::error> recv_message(vs::stream_socket& s, json& out);

} // namespace perf
