// virtsock-stat: show virtsocket sockets and counters from the kernel's files,
// like ss(8).
//
//   /proc/net/virt          sockets: a header line of column names, then one
//                           whitespace-separated row per socket (extra fields
//                           join the last column, e.g. paths with spaces);
//                           listening sockets have state LISTEN or 0A in the
//                           column named "state" or "st".
//   /sys/kernel/virtsocket  one value per file (family, role, cid, ...).
//   /proc/virtsocket/vms    host only: per-VM counters, header line then rows.
#include "tool.hpp"

#include <virtsocket/family.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr std::string_view prog = "virtsock-stat";

using row = std::vector<std::string>;

struct table {
	row header;
	std::vector<row> rows;
};

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

row split(const std::string& line, std::size_t max_fields)
{
	row fields;
	std::istringstream in(line);
	std::string f;
	while (in >> f)
		fields.push_back(f);
	// Fields past the header's count belong to the last column.
	if (max_fields && fields.size() > max_fields) {
		for (std::size_t i = max_fields; i < fields.size(); i++)
			fields[max_fields - 1] += " " + fields[i];
		fields.resize(max_fields);
	}
	return fields;
}

// Why a kernel file is missing, for the user.
std::string missing(const fs::path& file, std::string_view what)
{
	return std::string(file.string()) + " missing: " + std::string(what);
}

bool read_table(const fs::path& file, table& t, std::string_view what)
{
	std::ifstream in(file);
	if (!in) {
		tool::fail(prog, tool::exit_runtime, missing(file, what));
		return false;
	}
	std::string line;
	if (!std::getline(in, line)) {
		tool::fail(prog, tool::exit_runtime, file.string() + " is empty (no header line)");
		return false;
	}
	t.header = split(line, 0);
	while (std::getline(in, line))
		if (line.find_first_not_of(" \t") != std::string::npos)
			t.rows.push_back(split(line, t.header.size()));
	return true;
}

// vsock and AF_VIRT use TCP's state numbers.
std::string state_name(const std::string& v)
{
	static constexpr std::array<std::string_view, 12> names{
		"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"};
	char* end = nullptr;
	long n = std::strtol(v.c_str(), &end, 16);
	if (v.size() == 2 && *end == '\0' && n > 0 && n < static_cast<long>(names.size()))
		return std::string(names[n]);
	return v;
}

void print_table(const table& t)
{
	std::vector<std::size_t> width(t.header.size(), 0);
	auto widen = [&](const row& r) {
		for (std::size_t i = 0; i < r.size() && i < width.size(); i++)
			width[i] = std::max(width[i], r[i].size());
	};
	widen(t.header);
	for (const auto& r : t.rows)
		widen(r);
	auto print = [&](const row& r) {
		std::string line;
		for (std::size_t i = 0; i < r.size(); i++) {
			line += r[i];
			if (i + 1 < r.size())
				line += std::string(width[i] - r[i].size() + 2, ' ');
		}
		std::cout << line << '\n';
	};
	print(t.header);
	for (const auto& r : t.rows)
		print(r);
}

int show_sockets(bool listening_only)
{
	auto file = from_env("VIRTSOCKET_PROC_NET", "/proc/net/virt");
	table t;
	if (!read_table(file, t, "no socket listing (virtsocket module not loaded?)"))
		return tool::exit_runtime;
	auto state = std::find_if(t.header.begin(), t.header.end(), [](const std::string& h) {
		return lower(h) == "state" || lower(h) == "st";
	});
	if (state != t.header.end()) {
		auto col = static_cast<std::size_t>(state - t.header.begin());
		for (auto& r : t.rows)
			if (col < r.size())
				r[col] = state_name(r[col]);
		if (listening_only)
			std::erase_if(t.rows, [&](const row& r) {
				return col >= r.size() || lower(r[col]) != "listen";
			});
	} else if (listening_only) {
		return tool::fail(prog, tool::exit_runtime,
				  file.string() + " has no state column: cannot pick listening sockets");
	}
	print_table(t);
	return tool::exit_ok;
}

int show_sysfs()
{
	auto dir = virtsocket::sysfs_dir();
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		return tool::fail(prog, tool::exit_runtime,
				  missing(dir, "virtsocket module not loaded"));
	std::vector<fs::path> files;
	for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
	     it.increment(ec))
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
		std::cout << fs::relative(f, dir).string() << '=' << value << '\n';
	}
	return tool::exit_ok;
}

int show_vms()
{
	auto file = from_env("VIRTSOCKET_PROC_VMS", "/proc/virtsocket/vms");
	table t;
	if (!read_table(file, t, "no per-VM counters (only the host module provides them)"))
		return tool::exit_runtime;
	print_table(t);
	return tool::exit_ok;
}

} // namespace

int main(int argc, char** argv)
{
	CLI::App app{"Show virtsocket sockets and counters, like ss(8).\n"
		     "Without options: the socket listing of /proc/net/virt.",
		     std::string(prog)};
	bool listening = false, info = false, vms = false, all = false;
	app.add_flag("-l,--listening", listening, "Only listening sockets");
	app.add_flag("-i,--info", info, "Module state: every file of /sys/kernel/virtsocket as name=value");
	app.add_flag("-m,--vms", vms, "Per-VM counters from /proc/virtsocket/vms (host)");
	app.add_flag("-a,--all", all, "Info, sockets, and per-VM counters when on the host");
	app.footer("Files (override for tests): $VIRTSOCKET_SYSFS_DIR, $VIRTSOCKET_PROC_NET,\n"
		   "$VIRTSOCKET_PROC_VMS.\n"
		   "Exit status: 0 done, 1 a kernel file is missing or unreadable, 2 usage error.");
	if (auto rc = tool::parse(app, argc, argv))
		return *rc;

	if (all) {
		int rc = show_sysfs();
		std::cout << '\n';
		rc = std::max(rc, show_sockets(listening));
		auto role = virtsocket::virt_role();
		if (role && *role == "host") {
			std::cout << '\n';
			rc = std::max(rc, show_vms());
		}
		return rc;
	}
	if (info || vms) {
		int rc = info ? show_sysfs() : tool::exit_ok;
		if (vms)
			rc = std::max(rc, show_vms());
		return rc;
	}
	return show_sockets(listening);
}
