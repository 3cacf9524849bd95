// virtsock-stat: show AF_VIRT sockets like ss(8), and the modules' counters.
//
//   /proc/net/virt          sockets, as af_virt/af_virt.c's virt_proc_show()
//                           prints them on both sides: the header
//                             inode st local_cid local_port peer_cid peer_port conn
//                             rx_queued tx_inflight tx_bytes rx_bytes credit_stalls
//                           then one row per socket, st in hex (TCP's state
//                           numbers), the rest decimal; CID and port
//                           4294967295 mean any.  Columns are found by name.
//   /proc/[pid]/fd          socket:[inode] links, for -p (as ss finds processes).
//   /sys/kernel/virtsocket  one value per file (family, role, cid, counters).
//   /proc/virtsocket/vms    host only: per-VM counters, header line then rows.
#include "tool.hpp"

#include <virtsocket/family.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view prog = "virtsock-stat";
constexpr std::uint64_t any = 0xffffffffU;	// VIRT_CID_ANY, VIRT_PORT_ANY

fs::path from_env(const char* var, const char* fallback)
{
	const char* v = std::getenv(var);
	return v && *v ? v : fallback;
}

std::string lower(std::string s)
{
	std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
	return s;
}

std::vector<std::string> split(const std::string& line)
{
	std::vector<std::string> fields;
	std::istringstream in(line);
	std::string f;
	while (in >> f)
		fields.push_back(f);
	return fields;
}

std::optional<std::uint64_t> number(std::string_view s, int base = 10)
{
	std::uint64_t v = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
	if (ec != std::errc() || end != s.data() + s.size() || s.empty())
		return std::nullopt;
	return v;
}

// Why a kernel file is missing, for the user.
std::string missing(const fs::path& file, std::string_view what)
{
	return file.string() + " missing: " + std::string(what);
}

// ---- states: TCP's numbers, ss's names ----------------------------------------------------

constexpr std::array<std::string_view, 12> state_names{
	"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"};
constexpr unsigned st_syn_sent = 2, st_close = 7, st_listen = 10;
// Bit 0 stands for a state number without a name: shown with -a only.
constexpr unsigned all_states = (1U << state_names.size()) - 1;
constexpr unsigned connected_states = all_states & ~1U & ~(1U << st_listen) & ~(1U << st_close);

std::string state_name(unsigned st)
{
	return st > 0 && st < state_names.size() ? std::string(state_names[st]) : std::to_string(st);
}

// ss's state filter names (and the names shown, in any case).
std::optional<unsigned> state_set(const std::string& word)
{
	static const std::map<std::string, unsigned> names{
		{"established", 1U << 1},  {"syn-sent", 1U << 2},   {"syn-recv", 1U << 3},
		{"fin-wait-1", 1U << 4},   {"fin-wait-2", 1U << 5}, {"time-wait", 1U << 6},
		{"closed", 1U << 7},	   {"close-wait", 1U << 8}, {"last-ack", 1U << 9},
		{"listening", 1U << 10},   {"closing", 1U << 11},   {"all", all_states},
		{"connected", connected_states},
		{"synchronized", connected_states & ~(1U << st_syn_sent)}};
	auto w = lower(word);
	if (auto it = names.find(w); it != names.end())
		return it->second;
	for (unsigned st = 1; st < state_names.size(); st++)
		if (w == lower(std::string(state_names[st])))
			return 1U << st;
	return std::nullopt;
}

// ---- the socket listing ------------------------------------------------------------------

struct endpoint {
	std::uint64_t cid = any, port = any;
};

struct sock_row {
	std::uint64_t inode = 0;
	unsigned st = 0;
	endpoint local, peer;
	std::optional<std::uint64_t> conn, rx_queued, tx_inflight, tx_bytes, rx_bytes, credit_stalls;
};

struct user {
	std::string comm;
	long pid;
	long fd;
};

bool read_sockets(const fs::path& file, std::vector<sock_row>& rows)
{
	std::ifstream in(file);
	if (!in) {
		tool::fail(prog, tool::exit_runtime, missing(file, "no socket listing (virtsocket module not loaded?)"));
		return false;
	}
	std::string line;
	if (!std::getline(in, line)) {
		tool::fail(prog, tool::exit_runtime, file.string() + " is empty (no header line)");
		return false;
	}
	auto header = split(line);
	auto column = [&](std::string_view name) -> std::optional<std::size_t> {
		auto it = std::find(header.begin(), header.end(), name);
		if (it == header.end())
			return std::nullopt;
		return static_cast<std::size_t>(it - header.begin());
	};
	std::array<std::optional<std::size_t>, 6> need{column("inode"),	   column("st"),
						       column("local_cid"),  column("local_port"),
						       column("peer_cid"),   column("peer_port")};
	if (std::any_of(need.begin(), need.end(), [](auto c) { return !c; })) {
		tool::fail(prog, tool::exit_runtime,
			   file.string() + ": unknown format (header '" + line +
				   "' lacks inode, st, local_cid, local_port, peer_cid or peer_port)");
		return false;
	}
	for (unsigned lineno = 2; std::getline(in, line); lineno++) {
		auto f = split(line);
		if (f.empty())
			continue;
		auto get = [&](std::optional<std::size_t> col, int base = 10) -> std::optional<std::uint64_t> {
			if (!col || *col >= f.size())
				return std::nullopt;
			return number(f[*col], base);
		};
		std::array<std::optional<std::uint64_t>, 6> v{get(need[0]), get(need[1], 16), get(need[2]),
							       get(need[3]), get(need[4]), get(need[5])};
		if (f.size() != header.size() ||
		    std::any_of(v.begin(), v.end(), [](auto x) { return !x; })) {
			tool::fail(prog, tool::exit_runtime,
				   file.string() + ":" + std::to_string(lineno) + ": malformed row '" + line + "'");
			return false;
		}
		sock_row r;
		r.inode = *v[0];
		r.st = static_cast<unsigned>(*v[1]);
		r.local = {*v[2], *v[3]};
		r.peer = {*v[4], *v[5]};
		r.conn = get(column("conn"));
		r.rx_queued = get(column("rx_queued"));
		r.tx_inflight = get(column("tx_inflight"));
		r.tx_bytes = get(column("tx_bytes"));
		r.rx_bytes = get(column("rx_bytes"));
		r.credit_stalls = get(column("credit_stalls"));
		rows.push_back(r);
	}
	return true;
}

// Processes holding each socket inode, from their /proc/PID/fd links (those
// we may read: all of them as root), as ss -p does.
std::map<std::uint64_t, std::vector<user>> socket_users()
{
	std::map<std::uint64_t, std::vector<user>> users;
	std::error_code ec;
	for (const auto& proc : fs::directory_iterator("/proc", ec)) {
		auto pid = number(proc.path().filename().string());
		if (!pid)
			continue;
		std::string comm;
		std::getline(std::ifstream(proc.path() / "comm"), comm);
		std::error_code fec;
		for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fec)) {
			std::error_code lec;
			auto target = fs::read_symlink(fd.path(), lec).string();
			if (lec || !target.starts_with("socket:[") || !target.ends_with("]"))
				continue;
			auto inode = number(std::string_view(target).substr(8, target.size() - 9));
			auto fdnum = number(fd.path().filename().string());
			if (inode && fdnum)
				users[*inode].push_back({comm, static_cast<long>(*pid), static_cast<long>(*fdnum)});
		}
	}
	for (auto& [inode, list] : users)
		std::sort(list.begin(), list.end(),
			  [](const user& a, const user& b) { return std::tie(a.pid, a.fd) < std::tie(b.pid, b.fd); });
	return users;
}

// ss's form: users:(("name",pid=1,fd=3),("name",pid=2,fd=4))
std::string users_text(const std::vector<user>& list)
{
	std::string out = "users:(";
	for (std::size_t i = 0; i < list.size(); i++)
		out += std::string(i ? "," : "") + "(\"" + list[i].comm + "\",pid=" +
		       std::to_string(list[i].pid) + ",fd=" + std::to_string(list[i].fd) + ")";
	return out + ")";
}

// ---- filters: ss's words, a documented subset -------------------------------------------

struct port_test {
	bool local;		// sport (else dport)
	std::string op;		// eq ne lt gt le ge
	std::uint64_t port;
};

struct addr_test {
	bool local;		// src (else dst)
	std::optional<std::uint64_t> cid, port;	// nullopt: *
};

struct filter {
	std::optional<unsigned> states;		// from "state"/"exclude" words
	unsigned excluded = 0;
	std::vector<port_test> ports;
	std::vector<addr_test> addrs;

	bool match(const sock_row& r, unsigned default_states) const
	{
		unsigned set = (states ? *states : default_states) & ~excluded;
		unsigned bit = r.st > 0 && r.st < state_names.size() ? 1U << r.st : 1U;
		if (!(set & bit))
			return false;
		for (const auto& t : ports) {
			auto p = (t.local ? r.local : r.peer).port;
			bool ok = t.op == "eq" ? p == t.port : t.op == "ne" ? p != t.port
				: t.op == "lt" ? p < t.port : t.op == "gt" ? p > t.port
				: t.op == "le" ? p <= t.port : p >= t.port;
			if (!ok)
				return false;
		}
		for (const auto& t : addrs) {
			const auto& e = t.local ? r.local : r.peer;
			if ((t.cid && e.cid != *t.cid) || (t.port && e.port != *t.port))
				return false;
		}
		return true;
	}
};

std::optional<std::uint64_t> cid_value(const std::string& s)
{
	if (s == "hypervisor")
		return 0;
	if (s == "local")
		return 1;
	if (s == "host")
		return 2;
	if (s == "any")
		return any;
	return number(s);
}

// Parses ss-style words; an error message, or empty.
std::string parse_filter(const std::vector<std::string>& words, filter& f)
{
	static const std::map<std::string, std::string> ops{
		{"=", "eq"}, {"==", "eq"}, {"eq", "eq"}, {"!=", "ne"}, {"ne", "ne"}, {"neq", "ne"},
		{"<", "lt"}, {"lt", "lt"}, {">", "gt"},	 {"gt", "gt"}, {"<=", "le"}, {"le", "le"},
		{">=", "ge"}, {"ge", "ge"}};
	for (std::size_t i = 0; i < words.size(); i++) {
		const auto& w = words[i];
		auto next = [&]() -> std::optional<std::string> {
			if (i + 1 >= words.size())
				return std::nullopt;
			return words[++i];
		};
		if (w == "and" || w == "&&")
			continue;	// terms are all and-ed
		if (w == "state" || w == "exclude") {
			auto name = next();
			auto set = name ? state_set(*name) : std::nullopt;
			if (!set)
				return "'" + w + "' needs a state name (e.g. established, listening, "
								 "connected, all), got '" + name.value_or("") + "'";
			if (w == "state")
				f.states = f.states.value_or(0) | *set;
			else
				f.excluded |= *set;
		} else if (w == "sport" || w == "dport") {
			auto op = next();
			auto value = next();
			auto o = op ? ops.find(*op) : ops.end();
			if (o == ops.end() || !value)
				return "'" + w + "' needs an operator and a port, e.g. '" + w + " = :1234'";
			auto v = std::string_view(*value);
			if (v.starts_with(':'))
				v.remove_prefix(1);
			auto port = number(v);
			if (!port)
				return "'" + w + "': bad port '" + *value + "'";
			f.ports.push_back({w == "sport", o->second, *port});
		} else if (w == "src" || w == "dst") {
			auto value = next();
			if (!value)
				return "'" + w + "' needs CID, CID:PORT or *:PORT";
			auto colon = value->rfind(':');
			std::string c = value->substr(0, colon), p = colon == std::string::npos ? "*" : value->substr(colon + 1);
			addr_test t{w == "src", std::nullopt, std::nullopt};
			if (c != "*" && !(t.cid = cid_value(c)))
				return "'" + w + "': bad CID '" + c + "'";
			if (p != "*" && !(t.port = p == "any" ? std::optional(any) : number(p)))
				return "'" + w + "': bad port '" + p + "'";
			f.addrs.push_back(t);
		} else {
			return "unknown filter word '" + w + "' (state, exclude, sport, dport, src, dst)";
		}
	}
	return "";
}

// ---- output ----------------------------------------------------------------------------------

struct show_options {
	bool numeric = false, header = true, processes = false, extended = false, info = false,
	     json = false;
};

std::string cid_text(std::uint64_t cid, bool numeric)
{
	if (cid == any)
		return "*";
	if (!numeric && cid <= 2)
		return std::array{"hypervisor", "local", "host"}[cid];
	return std::to_string(cid);
}

std::string endpoint_text(const endpoint& e, bool numeric)
{
	return cid_text(e.cid, numeric) + ":" + (e.port == any ? "*" : std::to_string(e.port));
}

json endpoint_json(const endpoint& e)
{
	return {{"cid", e.cid == any ? json(nullptr) : json(e.cid)},
		{"port", e.port == any ? json(nullptr) : json(e.port)}};
}

void print_sockets(const std::vector<sock_row>& rows, const show_options& o,
		   const std::map<std::uint64_t, std::vector<user>>& users)
{
	auto opt = [](const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); };
	auto users_of = [&](const sock_row& r) -> const std::vector<user>* {
		auto it = r.inode ? users.find(r.inode) : users.end();
		return it == users.end() ? nullptr : &it->second;
	};
	if (o.json) {
		json list = json::array();
		for (const auto& r : rows) {
			json s{{"state", state_name(r.st)},
			       {"recv_q", opt(r.rx_queued)},
			       {"send_q", opt(r.tx_inflight)},
			       {"local", endpoint_json(r.local)},
			       {"peer", endpoint_json(r.peer)},
			       {"inode", r.inode},
			       {"conn", opt(r.conn)},
			       {"bytes_sent", opt(r.tx_bytes)},
			       {"bytes_received", opt(r.rx_bytes)},
			       {"credit_stalls", opt(r.credit_stalls)}};
			if (o.processes) {
				s["users"] = json::array();
				if (auto u = users_of(r))
					for (const auto& x : *u)
						s["users"].push_back({{"comm", x.comm}, {"pid", x.pid}, {"fd", x.fd}});
			}
			list.push_back(s);
		}
		std::cout << json{{"sockets", list}}.dump(2) << '\n';
		return;
	}
	auto num = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; };
	std::vector<std::vector<std::string>> table;
	std::vector<std::string> details;
	std::vector<std::string> head{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"};
	if (o.processes)
		head.push_back("Process");
	for (const auto& r : rows) {
		std::vector<std::string> line{state_name(r.st), num(r.rx_queued), num(r.tx_inflight),
					      endpoint_text(r.local, o.numeric), endpoint_text(r.peer, o.numeric)};
		if (o.processes) {
			auto u = users_of(r);
			line.push_back(u ? users_text(*u) : "");
		}
		if (o.extended)
			line.push_back("ino:" + std::to_string(r.inode) + " conn:" + num(r.conn));
		table.push_back(line);
		details.push_back("bytes_sent:" + num(r.tx_bytes) + " bytes_received:" + num(r.rx_bytes) +
				  " credit_stalls:" + num(r.credit_stalls));
	}
	std::vector<std::size_t> width(head.size() + 1, 0);
	auto widen = [&](const std::vector<std::string>& r) {
		for (std::size_t i = 0; i < r.size(); i++)
			width[i] = std::max(width[i], r[i].size());
	};
	if (o.header)
		widen(head);
	for (const auto& r : table)
		widen(r);
	auto print = [&](const std::vector<std::string>& r) {
		std::string line;
		for (std::size_t i = 0; i < r.size(); i++)
			line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
		while (!line.empty() && line.back() == ' ')
			line.pop_back();
		std::cout << line << '\n';
	};
	if (o.header)
		print(head);
	for (std::size_t i = 0; i < table.size(); i++) {
		print(table[i]);
		if (o.info)
			std::cout << '\t' << details[i] << '\n';
	}
}

// ---- -s: module files and per-VM counters ----------------------------------------------

bool read_module(std::vector<std::pair<std::string, std::string>>& values)
{
	auto dir = virtsocket::sysfs_dir();
	std::error_code ec;
	if (!fs::is_directory(dir, ec)) {
		tool::fail(prog, tool::exit_runtime, missing(dir, "virtsocket module not loaded"));
		return false;
	}
	std::vector<fs::path> files;
	for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
		if (it->is_regular_file(ec))
			files.push_back(it->path());
	std::sort(files.begin(), files.end());
	for (const auto& f : files) {
		std::ifstream in(f);
		std::string value, line;
		if (!in) {
			value = "(unreadable)";
		} else {
			while (std::getline(in, line))
				value += (value.empty() ? "" : " ") + line;
		}
		values.emplace_back(fs::relative(f, dir).string(), value);
	}
	return true;
}

struct vm_table {
	std::vector<std::string> header;
	std::vector<std::vector<std::string>> rows;
};

bool read_vms(vm_table& t)
{
	auto file = from_env("VIRTSOCKET_PROC_VMS", "/proc/virtsocket/vms");
	std::ifstream in(file);
	if (!in) {
		tool::fail(prog, tool::exit_runtime, missing(file, "no per-VM counters (only the host module provides them)"));
		return false;
	}
	std::string line;
	if (std::getline(in, line))
		t.header = split(line);
	while (std::getline(in, line))
		if (auto f = split(line); !f.empty())
			t.rows.push_back(f);
	return true;
}

json scalar(const std::string& v)
{
	if (auto n = number(v))
		return *n;
	return v;
}

int show_summary(const show_options& o)
{
	int rc = tool::exit_ok;
	std::vector<sock_row> rows;
	std::map<std::string, unsigned> by_state;
	bool have_sockets = read_sockets(from_env("VIRTSOCKET_PROC_NET", "/proc/net/virt"), rows);
	if (!have_sockets)
		rc = tool::exit_runtime;
	for (const auto& r : rows)
		by_state[state_name(r.st)]++;
	std::vector<std::pair<std::string, std::string>> module;
	if (!read_module(module))
		rc = tool::exit_runtime;
	auto role = virtsocket::virt_role();
	vm_table vms;
	bool host = role && *role == "host";
	if (host && !read_vms(vms))
		rc = tool::exit_runtime;

	if (o.json) {
		json doc;
		if (have_sockets) {
			doc["total"] = rows.size();
			doc["states"] = json::object();
			for (const auto& [name, n] : by_state)
				doc["states"][name] = n;
		}
		doc["module"] = json::object();
		for (const auto& [name, value] : module)
			doc["module"][name] = scalar(value);
		if (host) {
			doc["vms"] = json::array();
			for (const auto& r : vms.rows) {
				json vm = json::object();
				for (std::size_t i = 0; i < r.size() && i < vms.header.size(); i++)
					vm[vms.header[i]] = scalar(r[i]);
				doc["vms"].push_back(vm);
			}
		}
		std::cout << doc.dump(2) << '\n';
		return rc;
	}
	if (have_sockets) {
		std::string states;
		for (const auto& [name, n] : by_state)
			states += std::string(states.empty() ? "" : ", ") + name + " " + std::to_string(n);
		std::cout << "Total: " << rows.size() << (states.empty() ? "" : " (" + states + ")") << "\n\n";
	}
	for (const auto& [name, value] : module)
		std::cout << name << '=' << value << '\n';
	if (host && !vms.header.empty()) {
		std::cout << '\n';
		std::vector<std::size_t> width(vms.header.size(), 0);
		auto widen = [&](const std::vector<std::string>& r) {
			for (std::size_t i = 0; i < r.size() && i < width.size(); i++)
				width[i] = std::max(width[i], r[i].size());
		};
		widen(vms.header);
		for (const auto& r : vms.rows)
			widen(r);
		auto print = [&](const std::vector<std::string>& r) {
			std::string line;
			for (std::size_t i = 0; i < r.size(); i++)
				line += r[i] + (i + 1 < r.size() && i < width.size()
							? std::string(width[i] - r[i].size() + 2, ' ')
							: "");
			std::cout << line << '\n';
		};
		print(vms.header);
		for (const auto& r : vms.rows)
			print(r);
	}
	return rc;
}

} // namespace

int main(int argc, char** argv)
{
	CLI::App app{"Show AF_VIRT sockets like ss(8), from /proc/net/virt: by default the connected\n"
		     "ones (every state but LISTEN and UNCONN).  Addresses are CID:PORT, * for any.",
		     std::string(prog)};
	show_options o;
	bool listening = false, all = false, summary = false, no_header = false;
	std::vector<std::string> words;
	app.set_version_flag("-V,--version", std::string(prog) + " " + VIRTSOCKET_VERSION);
	app.add_flag("-l,--listening", listening, "Only listening sockets");
	app.add_flag("-a,--all", all, "Sockets in every state (listening and unconnected too)");
	app.add_flag("-n,--numeric", o.numeric, "CIDs as numbers (else 0, 1, 2 read hypervisor, local, host)");
	app.add_flag("-p,--processes", o.processes,
		     "Processes using each socket, from /proc/PID/fd (all of them as root)");
	app.add_flag("-e,--extended", o.extended, "Inode and connection id (ino:N conn:N)");
	app.add_flag("-i,--info", o.info, "Per socket, a line of bytes sent and received and credit stalls");
	app.add_flag("-H,--no-header", no_header, "No header line");
	app.add_flag("-s,--summary", summary,
		     "Socket counts by state, the module's /sys/kernel/virtsocket files as name=value and, "
		     "on the host, /proc/virtsocket/vms");
	app.add_flag("--json", o.json, "One JSON document on stdout");
	app.add_option("FILTER", words,
		       "ss-style filter, every term must hold: state NAME (repeatable: established, "
		       "syn-sent, closing, closed, listening, connected, synchronized, all), exclude NAME, "
		       "sport|dport OP [:]PORT (OP: = != < > <= >= or eq ne lt gt le ge), "
		       "src|dst CID[:PORT] (* for any)");
	app.footer("Files (override for tests): $VIRTSOCKET_SYSFS_DIR, $VIRTSOCKET_PROC_NET,\n"
		   "$VIRTSOCKET_PROC_VMS.\n"
		   "Examples: virtsock-stat -ln; virtsock-stat -anp state established dport = :5000\n"
		   "Exit status: 0 done, 1 a kernel file is missing or unreadable, 2 usage error.");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;
	o.header = !no_header;

	filter f;
	if (auto err = parse_filter(words, f); !err.empty())
		return tool::fail(prog, tool::exit_usage, err);
	if (summary)
		return show_summary(o);

	std::vector<sock_row> rows;
	if (!read_sockets(from_env("VIRTSOCKET_PROC_NET", "/proc/net/virt"), rows))
		return tool::exit_runtime;
	unsigned default_states = listening ? 1U << st_listen : all ? all_states : connected_states;
	if (listening && all)
		default_states = all_states;
	std::erase_if(rows, [&](const sock_row& r) { return !f.match(r, default_states); });
	print_sockets(rows, o, o.processes ? socket_users() : std::map<std::uint64_t, std::vector<user>>{});
	return tool::exit_ok;
}
