#include "wire.hpp"

#include <cerrno>

namespace perf {

std::string_view name(test_mode m) { return m == test_mode::latency ? "latency" : "throughput"; }

std::string_view name(test_direction d)
{
	switch (d) {
	case test_direction::recv:
		return "recv";
	case test_direction::bidir:
		return "bidir";
	default:
		return "send";
	}
}

header_bytes encode(const test_params& t)
{
	header_bytes h{};
	put<std::uint32_t>(&h[0], wire_magic);
	put<std::uint16_t>(&h[4], wire_version);
	h[6] = std::byte(t.mode);
	h[7] = std::byte(t.direction);
	put<std::uint32_t>(&h[8], t.size);
	put<std::uint32_t>(&h[12], t.interval_ms);
	put<std::uint64_t>(&h[16], t.mode == test_mode::latency ? t.count : t.bytes);
	put<std::uint64_t>(&h[24], static_cast<std::uint64_t>(t.duration.count()));
	put<std::uint64_t>(&h[32], t.cookie);
	put<std::uint16_t>(&h[40], t.streams);
	put<std::uint16_t>(&h[42], t.verify ? flag_verify : 0);
	put<std::uint32_t>(&h[44], t.buffer);
	put<std::uint32_t>(&h[48], static_cast<std::uint32_t>(
					   std::chrono::duration_cast<std::chrono::milliseconds>(t.omit).count()));
	return h;
}

std::uint16_t header_version(std::span<const std::byte> h)
{
	if (h.size() < prefix_size || get<std::uint32_t>(&h[0]) != wire_magic)
		return 0;
	return get<std::uint16_t>(&h[4]);
}

int decode(const header_bytes& h, test_params& t)
{
	if (get<std::uint32_t>(&h[0]) != wire_magic)
		return EPROTO;
	if (get<std::uint16_t>(&h[4]) != wire_version)
		return EPROTONOSUPPORT;
	auto mode = std::to_integer<std::uint8_t>(h[6]);
	auto direction = std::to_integer<std::uint8_t>(h[7]);
	t.size = get<std::uint32_t>(&h[8]);
	t.interval_ms = get<std::uint32_t>(&h[12]);
	auto amount = get<std::uint64_t>(&h[16]);
	auto ns = get<std::uint64_t>(&h[24]);
	t.cookie = get<std::uint64_t>(&h[32]);
	t.streams = get<std::uint16_t>(&h[40]);
	auto flags = get<std::uint16_t>(&h[42]);
	t.buffer = get<std::uint32_t>(&h[44]);
	t.omit = std::chrono::milliseconds(get<std::uint32_t>(&h[48]));
	if (mode > 1 || direction > 2 || t.size == 0 || t.size > max_size || t.streams == 0 ||
	    t.streams > max_streams || ns > std::uint64_t(nanoseconds(max_duration).count()) ||
	    t.buffer > INT32_MAX / 2 || (flags & ~flag_verify) ||
	    (amount == 0 && ns == 0))
		return EINVAL;
	t.mode = test_mode(mode);
	t.direction = test_direction(direction);
	// Round trips are timed on one connection; a warm-up needs a clock.
	if (t.mode == test_mode::latency && (t.streams != 1 || t.direction == test_direction::bidir))
		return EINVAL;
	if (amount && t.omit.count())
		return EINVAL;
	t.bytes = t.count = 0;
	(t.mode == test_mode::latency ? t.count : t.bytes) = amount;
	t.duration = nanoseconds(ns);
	t.verify = flags & flag_verify;
	return 0;
}

status_bytes encode_status(int status)
{
	status_bytes s{};
	put<std::uint32_t>(&s[0], wire_magic);
	put<std::int32_t>(&s[4], status);
	return s;
}

std::optional<int> decode_status(const status_bytes& s)
{
	if (get<std::uint32_t>(&s[0]) != wire_magic)
		return std::nullopt;
	return get<std::int32_t>(&s[4]);
}

hello_bytes encode(const hello& h)
{
	hello_bytes b{};
	put<std::uint32_t>(&b[0], stream_magic);
	put<std::uint32_t>(&b[4], h.index);
	put<std::uint64_t>(&b[8], h.cookie);
	return b;
}

std::optional<hello> decode(const hello_bytes& b)
{
	if (get<std::uint32_t>(&b[0]) != stream_magic)
		return std::nullopt;
	return hello{get<std::uint32_t>(&b[4]), get<std::uint64_t>(&b[8])};
}

std::vector<std::byte> encode_message(const json& j)
{
	auto text = j.dump();
	std::vector<std::byte> b(sizeof(message_head) + text.size());
	put<std::uint32_t>(&b[0], message_magic);
	put<std::uint32_t>(&b[4], static_cast<std::uint32_t>(text.size()));
	std::memcpy(b.data() + sizeof(message_head), text.data(), text.size());
	return b;
}

vs::result<std::uint32_t, vs::error> message_length(const message_head& h)
{
	if (get<std::uint32_t>(&h[0]) != message_magic)
		return vs::error(vs::errno_code(EPROTO), "not a virtsock-perf message");
	auto n = get<std::uint32_t>(&h[4]);
	if (n > max_message)
		return vs::error(vs::errno_code(EPROTO), "a message of " + std::to_string(n) +
								 " bytes, over the limit of " +
								 std::to_string(max_message));
	return n;
}

vs::result<void, vs::error> send_message(vs::stream_socket& s, const json& j)
{
	auto b = encode_message(j);
	if (b.size() - sizeof(message_head) > max_message)
		return vs::error(vs::errno_code(EMSGSIZE), "message over the limit");
	if (auto r = s.send_all(b); !r)
		return r.error();
	return {};
}

vs::result<void, vs::error> recv_message(vs::stream_socket& s, json& out)
{
	message_head h;
	if (auto r = s.recv_exact(h); !r)
		return r.error();
	auto n = message_length(h);
	if (!n)
		return n.error();
	std::string text(*n, '\0');
	if (auto r = s.recv_exact(std::as_writable_bytes(std::span(text))); !r)
		return r.error();
	out = json::parse(text, nullptr, false);
	if (out.is_discarded() || !out.is_object())
		return vs::error(vs::errno_code(EPROTO), "a message that is not a JSON object");
	return {};
}

} // namespace perf
