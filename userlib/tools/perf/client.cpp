#include "client.hpp"

#include <sys/socket.h>

#include <random>
#include <thread>

namespace perf {

namespace {

using namespace std::chrono_literals;

// A data connection with its window set before connect(): TCP picks its
// window scale from the receive buffer at the handshake.
vs::result<vs::stream_socket, vs::error> connect_with_window(const vs::address& a, std::uint32_t window,
							     std::chrono::milliseconds timeout)
{
	auto candidates = a.resolve();
	if (!candidates)
		return candidates.error();
	vs::error last(vs::errno_code(EADDRNOTAVAIL));
	for (const auto& n : *candidates) {
		int fd = ::socket(n.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = vs::with_context(vs::errno_code(errno), "socket");
			continue;
		}
		vs::socket s(fd, a.kind());
		if (auto r = set_window(s, window); !r)
			return vs::error(r.error().code, "setting the window: " + r.error().message());
		(void)s.set_send_timeout(timeout);	// bounds a blocking connect()
		int rc;
		do
			rc = ::connect(fd, n.get(), n.length);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			(void)s.set_send_timeout(0us);
			return vs::stream_socket(std::move(s));
		}
		last = vs::errno_code(errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno);
	}
	return vs::error(last.code, "connect to " + a.to_string() + ": " + last.message());
}

vs::result<vs::stream_socket, vs::error> connect_stream(const client_options& o)
{
	if (o.params.buffer)
		return connect_with_window(o.addr, o.params.buffer, o.connect_timeout);
	return vs::connector(o.connect_timeout).connect(o.addr);
}

void set_idle_timeout(vs::stream_socket& s, std::chrono::milliseconds t)
{
	if (t.count() > 0) {
		(void)s.set_recv_timeout(t);
		(void)s.set_send_timeout(t);
	}
}

std::uint64_t random_cookie()
{
	std::random_device rd;
	return (std::uint64_t{rd()} << 32) ^ rd();
}

// The server's message, or its {"error": ...} as our error.
vs::result<void, vs::error> server_message(vs::stream_socket& control, const std::string& what, json& m,
					   std::chrono::milliseconds idle_timeout)
{
	if (auto r = recv_message(control, m); !r)
		return vs::error(r.error().code, what + ": " + io_error(r.error(), idle_timeout));
	if (m.contains("error"))
		return vs::error(vs::errno_code(EPROTO),
				 "the server: " + (m["error"].is_string() ? m["error"].get<std::string>() : "?"));
	return {};
}

cpu_usage remote_cpu(const json& result)
{
	const auto& c = result.value("cpu_utilization_percent", json::object());
	return {c.value("host_total", 0.0), c.value("host_user", 0.0), c.value("host_system", 0.0)};
}

// --verify: every end that received data checked all of it (each end stops
// the test at the first wrong byte; a server that ignores the flag says
// nothing of it).
vs::result<void, vs::error> check_verified(const test_params& p, const outcome& out)
{
	for (std::uint32_t i = 0; i < out.local.size(); i++) {
		const auto& m = mode_of(p, i);
		for (bool server : {false, true}) {
			const auto& r = server ? out.remote[i] : out.local[i];
			auto who = server ? m.server : m.client;
			if (who == role::sender)
				continue;
			std::uint64_t want = who == role::receiver ? r.bytes_total.value_or(0)
								   : std::uint64_t{p.size} * r.round_trips_total.value_or(0);
			if (!r.verified_bytes)
				return vs::error(vs::errno_code(EPROTO),
						 server ? "the server did not verify the payload (a virtsock-perf without "
							  "--verify?)"
							: "stream " + std::to_string(i) + " was not verified");
			if (*r.verified_bytes != want)
				return vs::error(vs::errno_code(EPROTO),
						 std::string(server ? "the server" : "this end") + " verified " +
							 std::to_string(*r.verified_bytes) + " bytes of stream " +
							 std::to_string(i) + ", it received " + std::to_string(want));
		}
	}
	return {};
}

} // namespace

const stream_result& timing_end(const test_params& p, const outcome& out)
{
	return mode_of(p, 0).client == role::initiator ? out.local.at(0) : out.remote.at(0);
}

vs::result<outcome, vs::error> run_client(const client_options& o)
{
	auto p = o.params;
	p.cookie = random_cookie();
	auto c = vs::connector(o.connect_timeout).connect(o.addr);
	if (!c)
		return c.error();
	auto& control = *c;
	set_idle_timeout(control, o.idle_timeout);

	if (auto r = control.send_all(encode(p)); !r)
		return vs::with_context(r.error(), "sending the test header");
	status_bytes reply;
	if (auto r = control.recv_exact(reply); !r)
		return vs::with_context(r.error(), "reading the server's answer");
	auto status = decode_status(reply);
	if (!status)
		return vs::error(vs::errno_code(EPROTO), "the server is not a virtsock-perf server");
	if (*status == EPROTONOSUPPORT)
		return vs::error(vs::errno_code(*status),
				 "the server rejected the test: it speaks another virtsock-perf wire version "
				 "(this client: version " + std::to_string(wire_version) +
					 "); run the same virtsock-perf on both sides");
	if (*status == EBUSY)
		return vs::error(vs::errno_code(*status),
				 "the server is busy running another test; try again later");
	if (*status)
		return vs::with_context(vs::errno_code(*status), "the server rejected the test");

	outcome out;
	out.cookie = p.cookie;
	std::vector<vs::stream_socket> streams;
	for (std::uint32_t i = 0; i < p.connections(); i++) {
		auto s = connect_stream(o);
		if (!s)
			return vs::error(s.error().code, "data connection " + std::to_string(i) + ": " +
								 s.error().message());
		if (auto r = s->send_all(encode(hello{i, p.cookie})); !r)
			return vs::with_context(r.error(), "sending a stream hello");
		auto local = s->local_address();
		auto remote = s->peer_address();
		out.connected.push_back({local ? local->to_string() : "", remote ? remote->to_string() : ""});
		streams.push_back(std::move(*s));
	}
	json start;
	if (auto r = server_message(control, "waiting for the test to start", start, o.idle_timeout); !r)
		return r.error();
	out.remote_sndbuf = start.value("sndbuf_actual", 0);
	out.remote_rcvbuf = start.value("rcvbuf_actual", 0);
	if (start.contains("buffers"))
		out.remote_buffers = socket_buffers_from_json(start["buffers"]);
	out.buffers = read_buffers(streams[0]);
	out.sndbuf = out.buffers.sndbuf;
	out.rcvbuf = out.buffers.rcvbuf;
	for (auto& s : streams) {
		if (p.mode == test_mode::latency)
			(void)s.set_nodelay();	// only tcp and virt have it
		set_idle_timeout(s, o.idle_timeout);
	}

	auto run = run_streams(true, streams, p);
	out.local = std::move(run.results);
	out.host_cpu = run.cpu;
	out.host_machine = run.machine;
	out.buffers_end = read_buffers(streams[0]);
	const auto& errors = run.errors;
	for (std::uint32_t i = 0; i < streams.size(); i++) {
		if (!errors[i])
			continue;
		// The server may have given up first and said why (a reset or a
		// broken pipe here says less).
		json why;
		(void)control.set_recv_timeout(1s);
		if (recv_message(control, why) && why.contains("error") && why["error"].is_string())
			return vs::error(errors[i]->code, "the server: " + why["error"].get<std::string>());
		return vs::error(errors[i]->code, std::string(name(p.mode)) + " test, stream " +
							  std::to_string(i) + ": " + io_error(*errors[i], o.idle_timeout));
	}

	json result;
	if (auto r = server_message(control, "reading the server's result", result, o.idle_timeout); !r)
		return r.error();
	out.remote_cpu = remote_cpu(result);
	if (result.contains("cpu_machine_seconds") && !result["cpu_machine_seconds"].is_null())
		out.remote_machine = machine_cpu_from_json(result["cpu_machine_seconds"]);
	if (result.contains("buffers"))
		out.remote_buffers_end = socket_buffers_from_json(result["buffers"]);
	const auto& rs = result.value("streams", json::array());
	if (rs.size() != streams.size())
		return vs::error(vs::errno_code(EPROTO), "reading the server's result: " + std::to_string(rs.size()) +
								 " streams, expected " +
								 std::to_string(streams.size()));
	for (const auto& j : rs) {
		auto r = stream_result_from_json(j);
		if (!r)
			return vs::error(vs::errno_code(EPROTO), "reading the server's result: a malformed stream");
		out.remote.push_back(std::move(*r));
	}
	if (p.mode == test_mode::latency) {
		const auto& timed = timing_end(p, out);
		const auto& echoed = &timed == &out.local[0] ? out.remote[0] : out.local[0];
		if (!timed.rtt)
			return vs::error(vs::errno_code(EPROTO), "the server sent no round-trip times");
		// The whole runs (warm-up included) must agree; a server that does
		// not send them is checked on the measured part, without a warm-up.
		if (timed.round_trips_total && echoed.round_trips_total) {
			if (*timed.round_trips_total != *echoed.round_trips_total)
				return vs::error(vs::errno_code(EPROTO),
						 "the initiator made " + std::to_string(*timed.round_trips_total) +
							 " round trips, the echoer echoed " +
							 std::to_string(*echoed.round_trips_total));
		} else if (p.omit.count() == 0 && timed.round_trips != echoed.round_trips) {
			return vs::error(vs::errno_code(EPROTO),
					 "the initiator timed " + std::to_string(timed.round_trips) +
						 " round trips, the echoer echoed " + std::to_string(echoed.round_trips));
		}
	}
	if (p.verify)
		if (auto r = check_verified(p, out); !r)
			return r.error();
	return out;
}

} // namespace perf
