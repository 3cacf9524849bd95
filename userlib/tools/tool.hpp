// What the three tools share: exit statuses and argument parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <optional>
#include <string_view>

namespace tool {

// exit_reset: virtsock-cat's connection was reset by its peer (ECONNRESET),
// told apart from an orderly end of stream (exit_ok) and other errors.
enum exit_status : int { exit_ok = 0, exit_runtime = 1, exit_usage = 2, exit_reset = 3 };

// nullopt: go on; otherwise exit with this status (0 after --help, 2 on bad usage).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv)
{
	// A vanished reader is an EPIPE error we report, not a silent death.
	std::signal(SIGPIPE, SIG_IGN);
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError& e) {
		return app.exit(e) == 0 ? exit_ok : exit_usage;
	}
	return std::nullopt;
}

inline int fail(std::string_view prog, int status, std::string_view message)
{
	std::cerr << prog << ": " << message << '\n';
	return status;
}

} // namespace tool
