// virt_test: end-to-end socket semantics tests for AF_VIRT (and, to check the
// tests themselves, the same cases over vsock, unix and tcp), modelled on the
// kernel's tools/testing/vsock/vsock_test.c.
//
//   virt_test --mode server --listen URI  --control DIR [--cases LIST]
//   virt_test --mode client --connect URI --control DIR [--cases LIST]
//   virt_test --list
//
// One side runs as the server, the other as the client, on either side of a
// VM boundary.  They meet in the control directory (control.hpp), agree on
// the cases and parameters (the server's --cases, --integrity-bytes, --seed
// and --case-timeout win), then run every case in step:
//
//   BEGIN n  ->  fork: the case's side runs in a child process, killed after
//                --case-timeout  ->  RESULT exchange  ->  one line per case.
//
// A case passes only if it passed on both sides; both sides print the same
// lines and end with "virt_test: N passed, N failed".  Exit status: 0 all
// passed, 1 a case failed, 2 usage or set-up error.
#include "harness.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <set>

namespace vt {
namespace {

std::vector<test_case> all_cases()
{
	std::vector<test_case> r;
	add_connect_cases(r);
	add_io_cases(r);
	add_poll_cases(r);
	add_close_cases(r);
	add_data_cases(r);
	add_sequential_case(r);
	add_vm_options_case(r);
	return r;
}

std::string lower(std::string s)
{
	std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
	return s;
}

// "1,3-5,MSG_PEEK" -> case numbers (1-based), in registry order.
std::vector<int> select_cases(const std::vector<test_case>& all, const std::string& list)
{
	int count = static_cast<int>(all.size());
	if (list.empty()) {
		std::vector<int> v(all.size());
		for (int i = 0; i < count; ++i)
			v[i] = i + 1;
		return v;
	}
	std::set<int> chosen;
	std::stringstream in(list);
	std::string item;
	while (std::getline(in, item, ',')) {
		if (item.empty())
			continue;
		bool numeric = std::all_of(item.begin(), item.end(),
					   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-'; });
		if (numeric) {
			auto dash = item.find('-');
			int a = 0, b = 0;
			try {
				a = std::stoi(item.substr(0, dash));
				b = dash == std::string::npos ? a : std::stoi(item.substr(dash + 1));
			} catch (const std::exception&) {
				throw CLI::ValidationError("--cases", "bad range '" + item + "'");
			}
			if (a < 1 || b > count || a > b)
				throw CLI::ValidationError("--cases", "'" + item + "' is outside 1-" + std::to_string(count));
			for (int i = a; i <= b; ++i)
				chosen.insert(i);
			continue;
		}
		bool any = false;
		for (int i = 0; i < count; ++i)
			if (lower(all[i].name).find(lower(item)) != std::string::npos) {
				chosen.insert(i + 1);
				any = true;
			}
		if (!any)
			throw CLI::ValidationError("--cases", "no case name contains '" + item + "' (see --list)");
	}
	return {chosen.begin(), chosen.end()};
}

std::string join(const std::vector<int>& v)
{
	std::string s;
	for (int i : v)
		s += (s.empty() ? "" : ",") + std::to_string(i);
	return s;
}

std::string one_line(std::string s)
{
	std::replace(s.begin(), s.end(), '\n', ' ');
	std::replace(s.begin(), s.end(), '\t', ' ');
	return s;
}

struct outcome {
	bool ok = false;
	std::string text;	// the reason, or the notes
};

// Runs one side of a case in a child process, bounded by the case timeout.
outcome run_side(const options& opt, const control& session, int id, case_fn fn)
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC) < 0)
		return {false, str("pipe: ", std::strerror(errno))};
	std::fflush(nullptr);
	pid_t parent = ::getpid();
	pid_t pid = ::fork();
	if (pid < 0)
		return {false, str("fork: ", std::strerror(errno))};
	if (pid == 0) {
		::close(fds[0]);
		// Die with the runner (killed, or its own peer gone).
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (::getppid() != parent)
			::_exit(1);
		std::string msg;
		try {
			control ctl = session.channel(static_cast<unsigned>(id));
			ctl.set_timeout(opt.case_timeout);
			context c(opt, ctl);
			fn(c);
			msg = "ok\t" + one_line(c.notes);
		} catch (const failure& f) {
			msg = "fail\t" + one_line(f.what());
		} catch (const std::exception& e) {
			msg = "fail\tunexpected exception: " + one_line(e.what());
		}
		const char* p = msg.data();
		std::size_t left = msg.size();
		while (left > 0) {
			ssize_t n = ::write(fds[1], p, left);
			if (n <= 0)
				break;
			p += n;
			left -= static_cast<std::size_t>(n);
		}
		std::fflush(nullptr);
		::_exit(0);
	}
	::close(fds[1]);
	std::string msg;
	auto deadline = clock::now() + opt.case_timeout;
	bool timed_out = false;
	for (;;) {
		auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		pollfd p{fds[0], POLLIN, 0};
		int r = ::poll(&p, 1, static_cast<int>(left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			timed_out = true;
			break;
		}
		char buf[1024];
		ssize_t n = ::read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msg.append(buf, static_cast<std::size_t>(n));
	}
	::close(fds[0]);
	if (timed_out)
		::kill(pid, SIGKILL);	// our own child, by its pid
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (timed_out)
		return {false, str("timed out after ", opt.case_timeout.count(), " s (killed)")};
	if (WIFSIGNALED(status) && msg.empty())
		return {false, str("crashed: ", strsignal(WTERMSIG(status)))};
	auto tab = msg.find('\t');
	if (tab == std::string::npos)
		return {false, "the case process ended without a result"};
	return {msg.substr(0, tab) == "ok", msg.substr(tab + 1)};
}

// A bare connectivity check, for deciding whether a transport works here
// (the selftest uses it for vsock loopback): 0 works, 77 does not.
int probe(const vs::address& listen_at, const vs::address& connect_to)
{
	auto l = vs::listener::listen(listen_at, 4);
	if (!l) {
		std::cout << "probe: " << l.error().message() << "\n";
		return 77;
	}
	auto s = vs::connector(3s).connect(connect_to);
	if (!s) {
		std::cout << "probe: " << s.error().message() << "\n";
		return 77;
	}
	auto a = l->accept(3s);
	if (!a) {
		std::cout << "probe: accept: " << describe(a.error()) << "\n";
		return 77;
	}
	std::byte b{42};
	if (!s->send_all(std::span(&b, 1)) || !a->recv_exact(std::span(&b, 1))) {
		std::cout << "probe: no data through\n";
		return 77;
	}
	std::cout << "probe: " << connect_to.to_string() << " works\n";
	return 0;
}

std::uint64_t parse_size(const std::string& s)
{
	std::size_t used = 0;
	std::uint64_t v = std::stoull(s, &used);
	std::string unit = lower(s.substr(used));
	if (unit == "k" || unit == "kib")
		v <<= 10;
	else if (unit == "m" || unit == "mib")
		v <<= 20;
	else if (unit == "g" || unit == "gib")
		v <<= 30;
	else if (!unit.empty())
		throw CLI::ValidationError("--integrity-bytes", "bad size '" + s + "'");
	return v;
}

int run(int argc, char** argv)
{
	CLI::App app{"virt_test: end-to-end SOCK_STREAM semantics of AF_VIRT (also vsock, unix, tcp)"};
	std::string mode, listen_uri, connect_uri, control_dir, cases_arg, size_arg = "4M";
	bool list = false;
	int case_timeout = 30, control_timeout = 120;
	std::uint64_t seed = 0;
	app.add_option("--mode", mode, "server, client (or probe: --listen and --connect in one process)")
		->check(CLI::IsMember({"server", "client", "probe"}));
	app.add_option("--listen", listen_uri, "server: address to listen on, e.g. virt:any:1234");
	app.add_option("--connect", connect_uri, "client: the server's address, e.g. virt:2:1234");
	app.add_option("--control", control_dir, "directory shared by both sides (control channel)");
	app.add_option("--cases", cases_arg, "cases to run: numbers, ranges, name parts: 1,3-5,PEEK");
	app.add_flag("--list", list, "list the cases and exit");
	app.add_option("--case-timeout", case_timeout, "seconds before a case is failed and killed")
		->check(CLI::Range(1, 3600));
	app.add_option("--control-timeout", control_timeout, "seconds to wait for the other side to start")
		->check(CLI::Range(1, 36000));
	app.add_option("--integrity-bytes", size_arg, "bytes each way per connection in the integrity case (4M)");
	app.add_option("--seed", seed, "data seed (default: random; the server's is used)");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError& e) {
		return app.exit(e) == 0 ? 0 : 2;
	}

	auto cases = all_cases();
	if (list) {
		for (std::size_t i = 0; i < cases.size(); ++i)
			std::cout << i + 1 << " - " << cases[i].name << "\n";
		return 0;
	}

	options opt;
	std::vector<int> selected;
	try {
		if (mode.empty())
			throw CLI::ValidationError("--mode", "required (server or client)");
		if (mode == "probe") {
			if (listen_uri.empty() || connect_uri.empty())
				throw CLI::ValidationError("--mode probe", "needs --listen and --connect");
			return probe(vs::address(listen_uri), vs::address(connect_uri));
		}
		opt.role = mode == "server" ? side::server : side::client;
		const std::string& uri = opt.role == side::server ? listen_uri : connect_uri;
		if (uri.empty())
			throw CLI::ValidationError(opt.role == side::server ? "--listen" : "--connect", "required");
		auto a = vs::address::parse(uri);
		if (!a)
			throw CLI::ValidationError("address", a.error().message());
		opt.addr = *a;
		if (auto p = opt.addr.get_if<vs::virt_address>(); p && p->port == vs::port_any)
			throw CLI::ValidationError("address", "needs a fixed port");
		if (auto p = opt.addr.get_if<vs::vsock_address>(); p && p->port == vs::port_any)
			throw CLI::ValidationError("address", "needs a fixed port");
		if (auto p = opt.addr.get_if<vs::tcp_address>(); p && p->port == 0)
			throw CLI::ValidationError("address", "needs a fixed port");
		if (opt.addr.kind() == vs::transport::virt) {
			auto f = vs::virt_family();
			if (!f)
				throw CLI::ValidationError("virt", f.error().message());
		}
		if (control_dir.empty())
			throw CLI::ValidationError("--control", "required");
		opt.case_timeout = std::chrono::seconds(case_timeout);
		opt.integrity_bytes = parse_size(size_arg);
		opt.seed = seed ? seed : std::random_device{}();
		selected = select_cases(cases, cases_arg);
	} catch (const CLI::Error& e) {
		std::cerr << "virt_test: " << e.what() << "\n";
		return 2;
	} catch (const std::exception& e) {
		std::cerr << "virt_test: " << e.what() << "\n";
		return 2;
	}

	::signal(SIGPIPE, SIG_IGN);	// a case that wants SIGPIPE installs a handler
	bool server = opt.role == side::server;
	std::string self = server ? "server" : "client", peer = server ? "client" : "server";
	std::cout << "# virt_test " << self << ": " << (server ? "listen " : "connect ")
		  << opt.addr.to_string() << ", control " << control_dir << "\n";
	std::cout.flush();

	int passed = 0, failed = 0;
	try {
		auto session = control::handshake(control_dir, self, peer, std::chrono::seconds(control_timeout));
		// The peer's case may take the whole case timeout before it answers.
		session.set_timeout(opt.case_timeout + 30s);
		if (server) {
			session.writeln("CASES " + join(selected));
			session.writeln(str("PARAMS ", opt.integrity_bytes, " ", opt.seed, " ", opt.case_timeout.count()));
			auto answer = session.readln();
			if (answer != "AGREED")
				fail("the client does not agree: " + answer);
		} else {
			auto line = session.readln();
			auto theirs = line.substr(std::min<std::size_t>(line.size(), 6));
			std::istringstream params(session.readln().substr(7));
			long long t = 30;
			params >> opt.integrity_bytes >> opt.seed >> t;
			opt.case_timeout = std::chrono::seconds(t);
			session.set_timeout(opt.case_timeout + 30s);
			if (!cases_arg.empty() && theirs != join(selected)) {
				session.writeln("client --cases selects " + join(selected) + ", server " + theirs);
				fail("--cases differ: client " + join(selected) + ", server " + theirs);
			}
			session.writeln("AGREED");
			selected.clear();
			std::stringstream in(theirs);
			std::string n;
			while (std::getline(in, n, ','))
				if (!n.empty())
					selected.push_back(std::stoi(n));
		}
		std::cout << "# " << selected.size() << " cases, integrity " << opt.integrity_bytes
			  << " bytes, seed " << opt.seed << ", case timeout " << opt.case_timeout.count() << " s\n";
		std::cout.flush();

		for (int id : selected) {
			const auto& tc = cases.at(static_cast<std::size_t>(id - 1));
			session.writeln("BEGIN " + std::to_string(id));
			session.expectln("BEGIN " + std::to_string(id));
			auto own = run_side(opt, session, id, server ? tc.server : tc.client);
			if (!own.ok)
				session.abort_case(static_cast<unsigned>(id));
			session.writeln(str("RESULT ", own.ok ? "ok" : "fail", "\t", one_line(own.text)));
			auto line = session.readln();
			outcome theirs{false, "bad result line from the " + peer + ": " + line};
			if (line.rfind("RESULT ", 0) == 0) {
				auto tab = line.find('\t');
				auto verdict = line.substr(7, tab == std::string::npos ? std::string::npos : tab - 7);
				theirs = {verdict == "ok", tab == std::string::npos ? "" : line.substr(tab + 1)};
			}
			// Same order on both sides: server first.
			const outcome& s = server ? own : theirs;
			const outcome& c = server ? theirs : own;
			std::string text;
			auto add = [&](const char* who, const outcome& o, bool want_ok) {
				if (o.ok == want_ok && !o.text.empty())
					text += (text.empty() ? "" : "; ") + std::string(who) + ": " + o.text;
			};
			bool ok = s.ok && c.ok;
			add("server", s, ok);
			add("client", c, ok);
			if (ok) {
				++passed;
				std::cout << "ok " << id << " - " << tc.name << (text.empty() ? "" : " # " + text) << "\n";
			} else {
				++failed;
				std::cout << "not ok " << id << " - " << tc.name << ": " << text << "\n";
			}
			std::cout.flush();
		}
		session.writeln("END");
		session.expectln("END");
		session.remove_own_files();
		std::cout << "virt_test: " << passed << " passed, " << failed << " failed\n";
		return failed == 0 ? 0 : 1;
	} catch (const std::exception& e) {
		std::cout << "virt_test: " << e.what() << "\n";
		// Cases not run count as failed.
		std::cout << "virt_test: " << passed << " passed, " << selected.size() - static_cast<std::size_t>(passed)
			  << " failed\n";
		return 2;
	}
}

} // namespace
} // namespace vt

int main(int argc, char** argv)
{
	return vt::run(argc, argv);
}
