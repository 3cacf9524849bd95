// Helpers for the userlib tests: a scratch directory and child processes.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <virtsocket/address.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace virtsocket {
// Parameterised tests are named by their transport.
inline void PrintTo(transport t, std::ostream* os) { *os << to_string(t); }
} // namespace virtsocket

namespace test {

// Reproducible bytes to send, and a cheap checksum to compare them by.
inline std::string random_bytes(std::size_t n, std::uint64_t seed = 42)
{
	std::mt19937_64 rng(seed);
	std::string s(n, '\0');
	for (auto& c : s)
		c = static_cast<char>(rng());
	return s;
}

inline std::uint64_t fnv1a(const std::string& s)
{
	std::uint64_t h = 1469598103934665603ULL;
	for (unsigned char c : s)
		h = (h ^ c) * 1099511628211ULL;
	return h;
}

// A fresh directory under /tmp (short: unix socket paths are limited to 107 bytes).
class temp_dir {
public:
	temp_dir()
	{
		std::string tmpl = "/tmp/vsutXXXXXX";
		if (!mkdtemp(tmpl.data()))
			throw std::runtime_error("mkdtemp failed");
		path_ = tmpl;
	}
	~temp_dir()
	{
		std::error_code ec;
		std::filesystem::remove_all(path_, ec);
	}
	temp_dir(const temp_dir&) = delete;
	temp_dir& operator=(const temp_dir&) = delete;

	const std::filesystem::path& path() const { return path_; }
	std::string operator/(const std::string& name) const { return (path_ / name).string(); }

	std::string write(const std::string& name, const std::string& content) const
	{
		auto p = path_ / name;
		std::filesystem::create_directories(p.parent_path());
		std::ofstream(p, std::ios::binary) << content;
		return p.string();
	}

private:
	std::filesystem::path path_;
};

inline std::string read_file(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct spawn_options {
	std::optional<std::string> stdin_path = std::nullopt;	// default: /dev/null
	std::optional<std::string> stdout_path = std::nullopt;	// default: a pipe
	std::vector<std::pair<std::string, std::string>> env = {};
};

// A child process with stdout/stderr on pipes; killed if still running at
// destruction.
class child {
public:
	child(const std::vector<std::string>& argv, const spawn_options& opt = {})
	{
		int out[2], err[2];
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			throw std::runtime_error("pipe failed");
		pid_ = fork();
		if (pid_ < 0)
			throw std::runtime_error("fork failed");
		if (pid_ == 0) {
			int in = open(opt.stdin_path.value_or("/dev/null").c_str(), O_RDONLY);
			int o = opt.stdout_path ? open(opt.stdout_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)
						: out[1];
			dup2(in, 0);
			dup2(o, 1);
			dup2(err[1], 2);
			for (const auto& [k, v] : opt.env)
				setenv(k.c_str(), v.c_str(), 1);
			std::vector<char*> args;
			for (const auto& a : argv)
				args.push_back(const_cast<char*>(a.c_str()));
			args.push_back(nullptr);
			execv(args[0], args.data());
			_exit(127);
		}
		close(out[1]);
		close(err[1]);
		out_ = out[0];
		err_ = err[0];
	}
	~child()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
		close(out_);
		close(err_);
	}
	child(const child&) = delete;
	child& operator=(const child&) = delete;

	// One line of stderr (without '\n'); empty on timeout or EOF.
	std::string stderr_line(std::chrono::milliseconds timeout = std::chrono::seconds(5))
	{
		std::string line;
		auto deadline = std::chrono::steady_clock::now() + timeout;
		for (;;) {
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - std::chrono::steady_clock::now());
			pollfd p{err_, POLLIN, 0};
			if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
				return line;
			char c;
			if (read(err_, &c, 1) != 1 || c == '\n')
				return line;
			line += c;
		}
	}

	pid_t pid() const { return pid_; }

	struct outcome {
		int status = -1;	// exit status, -1 if killed
		int signal = 0;		// the signal that killed it
		std::string out, err;
	};

	// Collects the rest of stdout/stderr and waits; kills after the timeout.
	outcome wait(std::chrono::milliseconds timeout = std::chrono::seconds(10))
	{
		outcome r;
		auto deadline = std::chrono::steady_clock::now() + timeout;
		bool out_open = true, err_open = true;
		while (out_open || err_open) {
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - std::chrono::steady_clock::now());
			if (left.count() <= 0)
				break;
			pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
			if (poll(p, 2, static_cast<int>(left.count())) <= 0)
				break;
			char buf[65536];
			for (int i = 0; i < 2; i++) {
				if (!p[i].revents)
					continue;
				ssize_t n = read(p[i].fd, buf, sizeof(buf));
				if (n <= 0)
					(i ? err_open : out_open) = false;
				else
					(i ? r.err : r.out).append(buf, static_cast<std::size_t>(n));
			}
		}
		if (out_open || err_open)
			kill(pid_, SIGKILL);
		int status = 0;
		waitpid(pid_, &status, 0);
		pid_ = -1;
		r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		return r;
	}

private:
	pid_t pid_ = -1;
	int out_ = -1, err_ = -1;
};

inline child::outcome run(const std::vector<std::string>& argv, const spawn_options& opt = {})
{
	return child(argv, opt).wait();
}

} // namespace test
