#include "server.hpp"

#include "../tool.hpp"
#include "stream.hpp"
#include "window.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iomanip>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace perf {

namespace {

using namespace std::chrono_literals;

// A connection gets this long to say what it is: the accept loop waits
// for it meanwhile.
constexpr auto hello_timeout = 10s;
constexpr auto stream_setup_without_idle_timeout = 10s;

std::mutex out_mutex;	// the test thread and the accept loop both report

void log(const std::string& line)
{
	std::lock_guard lock(out_mutex);
	std::cerr << prog << ": " << line << std::endl;
}

// Closes after the peer had a chance to read what we sent: a close with
// unread data would make TCP reset the connection, and the reset can
// overtake our answer.
void close_gently(vs::stream_socket& s)
{
	(void)s.shutdown(SHUT_WR);
	(void)s.set_recv_timeout(1s);
	std::array<std::byte, 4096> sink;
	for (int i = 0; i < 64; i++) {
		auto n = s.recv(sink);
		if (!n || *n == 0)
			break;
	}
	(void)s.close();
}

std::string peer_of(const vs::stream_socket& s)
{
	auto peer = s.peer_address();
	return peer ? peer->to_string() : "?";
}

class server {
public:
	explicit server(const server_options& o) : o_(o) {}
	int run();

private:
	void classify(vs::stream_socket s);
	void take_stream(vs::stream_socket s, const hello_bytes& b);
	void start_test(vs::stream_socket control, const test_params& p, std::string who);
	bool serve(vs::stream_socket& control, const test_params& p, const std::string& who);
	// The test's data connections, or why they did not all come.
	std::optional<std::string> wait_for_streams(const test_params& p, std::vector<vs::stream_socket>& streams);
	// Free for the next test.  Before the last word to the client, which
	// may connect again at once; --once stays busy to its end.
	void release(bool at_end)
	{
		if (o_.once && !at_end)
			return;
		std::lock_guard lock(m_);
		busy_ = false;
		streams_.clear();
	}
	void once_done(bool ok)
	{
		if (o_.once && !done_.exchange(true))
			ok_ = ok;
	}

	const server_options& o_;
	// The running test, shared with the accept loop that hands it its streams.
	std::mutex m_;
	std::condition_variable cv_;
	bool busy_ = false;
	std::string busy_with_;
	std::uint64_t cookie_ = 0;
	std::vector<vs::stream_socket> streams_;
	std::thread test_;
	std::atomic<bool> done_{false}, ok_{true};
};

int server::run()
{
	auto l = vs::listener::listen(o_.addr);
	if (!l)
		return tool::fail(prog, tool::exit_runtime, l.error().message());
	auto local = l->local_address();
	// The ready signal scripts wait for (the real port of tcp:...:0).
	log("listening on " + (local ? local->to_string() : o_.addr.to_string()));
	while (!done_) {
		// Polled, so that --once ends when its test does.
		auto s = l->accept(200ms);
		if (!s) {
			if (s.error() != std::errc::timed_out)
				log("accept: " + s.error().message());
			continue;
		}
		classify(std::move(*s));
	}
	if (test_.joinable())
		test_.join();
	return ok_ ? tool::exit_ok : tool::exit_runtime;
}

// A control connection (test header) or a data connection (stream hello).
void server::classify(vs::stream_socket s)
{
	std::string who = peer_of(s);
	auto reject = [&](int status, const std::string& why) {
		(void)s.send_all(encode_status(status));
		log("client " + who + ": " + why);
		close_gently(s);
	};
	(void)s.set_recv_timeout(hello_timeout);
	header_bytes h{};
	auto head = std::span(h).first(prefix_size);
	if (auto r = s.recv_exact(head); !r) {
		log("client " + who + ": reading the test header: " + r.error().message());
		return once_done(false);
	}
	if (get<std::uint32_t>(&h[0]) == stream_magic) {
		hello_bytes b{};
		std::copy(head.begin(), head.end(), b.begin());
		if (auto r = s.recv_exact(std::span(b).subspan(prefix_size)); !r)
			return log("client " + who + ": reading a stream hello: " + r.error().message());
		return take_stream(std::move(s), b);
	}
	auto version = header_version(head);
	if (version == 0) {
		reject(EPROTO, "rejected test header: not a virtsock-perf client");
		return once_done(false);
	}
	if (version != wire_version) {
		reject(EPROTONOSUPPORT, "rejected test header: the client speaks wire version " +
						std::to_string(version) + ", this server version " +
						std::to_string(wire_version) +
						" (run the same virtsock-perf on both sides)");
		return once_done(false);
	}
	if (auto r = s.recv_exact(std::span(h).subspan(prefix_size)); !r) {
		log("client " + who + ": reading the test header: " + r.error().message());
		return once_done(false);
	}
	std::optional<std::string> busy_with;
	{
		std::lock_guard lock(m_);
		if (busy_)
			busy_with = busy_with_;
	}
	if (busy_with) {
		// iperf3's answer: one test at a time, and the next client hears
		// so at once instead of waiting in the backlog.
		reject(EBUSY, "busy: refused while the test of " + *busy_with + " runs");
		return;
	}
	test_params p;
	if (int status = decode(h, p)) {
		reject(status, "rejected test header: " + vs::errno_code(status).message());
		return once_done(false);
	}
	if (test_.joinable())
		test_.join();	// the last test's thread, done (busy_ is false)
	start_test(std::move(s), p, who);
}

void server::take_stream(vs::stream_socket s, const hello_bytes& b)
{
	auto h = decode(b);
	std::unique_lock lock(m_);
	if (!h || !busy_ || h->cookie != cookie_ || h->index >= streams_.size() || streams_[h->index]) {
		lock.unlock();
		log("client " + peer_of(s) + ": a data connection of no running test, closed");
		return;
	}
	streams_[h->index] = std::move(s);
	cv_.notify_all();
}

void server::start_test(vs::stream_socket control, const test_params& p, std::string who)
{
	{
		std::lock_guard lock(m_);
		busy_ = true;
		busy_with_ = who;
		cookie_ = p.cookie;
		streams_.clear();
		streams_.resize(p.connections());
	}
	(void)control.set_recv_timeout(0s);
	test_ = std::thread([this, control = std::move(control), p, who]() mutable {
		bool ok = serve(control, p, who);
		release(true);
		once_done(ok);
	});
}

std::optional<std::string> server::wait_for_streams(const test_params& p, std::vector<vs::stream_socket>& streams)
{
	auto limit = o_.idle_timeout.count() > 0 ? o_.idle_timeout
						: std::chrono::milliseconds(stream_setup_without_idle_timeout);
	std::unique_lock lock(m_);
	bool all = cv_.wait_for(lock, limit, [&] {
		return std::all_of(streams_.begin(), streams_.end(), [](const auto& s) { return s.is_open(); });
	});
	if (!all) {
		auto n = std::count_if(streams_.begin(), streams_.end(), [](const auto& s) { return s.is_open(); });
		std::ostringstream m;
		m << n << " of " << p.connections() << " data connections came within " << seconds(limit)
		  << " s";
		return m.str();
	}
	streams = std::move(streams_);
	streams_.clear();
	return std::nullopt;
}

bool server::serve(vs::stream_socket& control, const test_params& p, const std::string& who)
{
	auto fail = [&](const std::string& what) {
		log("client " + who + ": " + what);
		release(false);
		(void)send_message(control, {{"error", what}});
		return false;
	};
	if (auto r = control.send_all(encode_status(0)); !r)
		return fail("answering the header: " + r.error().message());

	std::vector<vs::stream_socket> streams;
	if (auto why = wait_for_streams(p, streams))
		return fail(*why);
	for (auto& s : streams) {
		// After accept(): TCP's window scale came from the listener, whose
		// buffers are the default (scaled for tcp_rmem's maximum).
		if (p.buffer)
			if (auto r = set_window(s, p.buffer); !r)
				return fail("setting the window: " + r.error().message());
		if (p.mode == test_mode::latency)
			(void)s.set_nodelay();	// only tcp and virt have it
		if (o_.idle_timeout.count() > 0) {
			(void)s.set_recv_timeout(o_.idle_timeout);
			(void)s.set_send_timeout(o_.idle_timeout);
		}
	}
	auto buffers = read_buffers(streams[0]);
	json start = {{"sndbuf_actual", buffers.sndbuf}, {"rcvbuf_actual", buffers.rcvbuf}, {"buffers", to_json(buffers)}};
	if (auto r = send_message(control, start); !r)
		return fail("starting the test: " + r.error().message());

	auto [results, errors, cpu, machine] = run_streams(false, streams, p);
	for (std::uint32_t i = 0; i < streams.size(); i++)
		if (errors[i])
			return fail(std::string(name(p.mode)) + " test, stream " + std::to_string(i) + ": " +
				    io_error(*errors[i], o_.idle_timeout));

	json result = {{"cpu_utilization_percent",
			{{"host_total", cpu.total}, {"host_user", cpu.user}, {"host_system", cpu.system}}},
		       {"cpu_machine_seconds", machine ? to_json(*machine) : json(nullptr)},
		       {"buffers", to_json(read_buffers(streams[0]))},	// at the end: TCP tunes its own
		       {"streams", json::array()}};
	for (std::uint32_t i = 0; i < streams.size(); i++)
		result["streams"].push_back(to_json(results[i], mode_of(p, i).server == role::initiator));
	json line = server_line(who, p, result);
	release(false);
	if (auto r = send_message(control, result); !r) {
		log("client " + who + ": sending the result: " + r.error().message());
		return false;
	}

	std::lock_guard lock(out_mutex);
	if (o_.as_json) {
		std::cout << line.dump() << std::endl;
	} else {
		std::cout << "client " << who << ": " << name(p.mode) << ' ' << name(p.direction) << ", "
			  << p.connections() << " stream(s) of " << p.size << "-byte messages: "
			  << line["bytes"].get<std::uint64_t>() << " bytes in " << std::fixed << std::setprecision(3)
			  << line["seconds"].get<double>() << " s";
		if (p.mode == test_mode::latency)
			std::cout << ", " << line["round_trips"].get<std::uint64_t>() << " round trips";
		else
			std::cout << " = " << std::setprecision(2) << line["bits_per_second"].get<double>() / 8e6
				  << " MB/s";
		std::cout << ", CPU " << std::setprecision(1) << cpu.total << "%" << std::defaultfloat
			  << std::endl;
	}
	return true;
}

} // namespace

json server_line(const std::string& client, const test_params& p, const json& result)
{
	std::uint64_t bytes = 0, trips = 0;
	double secs = 0;
	const json* rtt = nullptr;
	for (const auto& s : result["streams"]) {
		bytes += s["bytes"].get<std::uint64_t>();
		trips += s["round_trips"].get<std::uint64_t>();
		secs = std::max(secs, s["seconds"].get<double>());
		if (s.contains("rtt_us"))
			rtt = &s["rtt_us"];
	}
	json j = {{"client", client},
		  {"mode", name(p.mode)},
		  {"direction", name(p.direction)},
		  {"size", p.size},
		  {"streams", p.streams},
		  {"bytes", bytes},
		  {"seconds", secs}};
	if (p.mode == test_mode::latency) {
		j["round_trips"] = trips;
		if (rtt)
			j["rtt_us"] = *rtt;
	} else {
		j["bits_per_second"] = bits_per_second(bytes, secs);
	}
	j["cpu_utilization_percent"] = result["cpu_utilization_percent"];
	j["cpu_machine_seconds"] = result.value("cpu_machine_seconds", json(nullptr));
	return j;
}

int run_server(const server_options& o) { return server(o).run(); }

} // namespace perf
