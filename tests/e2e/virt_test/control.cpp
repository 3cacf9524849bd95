#include "control.hpp"

#include "harness.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace vt {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(2);

// Writes `content` to `target` atomically: a temporary file, then rename().
void write_atomically(const std::filesystem::path& dir, const std::string& tmp_prefix,
		      const std::filesystem::path& target, const std::string& content)
{
	static unsigned long counter;
	auto tmp = dir / (tmp_prefix + std::to_string(::getpid()) + "." + std::to_string(++counter));
	int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(str("control: cannot create ", tmp.string(), ": ", std::strerror(errno)));
	const char* p = content.data();
	std::size_t left = content.size();
	while (left > 0) {
		ssize_t n = ::write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			::close(fd);
			::unlink(tmp.c_str());
			fail(str("control: cannot write ", tmp.string(), ": ", std::strerror(err)));
		}
		p += n;
		left -= static_cast<std::size_t>(n);
	}
	::close(fd);
	if (::rename(tmp.c_str(), target.c_str()) < 0) {
		int err = errno;
		::unlink(tmp.c_str());
		fail(str("control: cannot rename to ", target.string(), ": ", std::strerror(err)));
	}
}

// The whole file, or false if it does not exist (yet).
bool read_whole(const std::filesystem::path& file, std::string& out)
{
	int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return false;
		fail(str("control: cannot open ", file.string(), ": ", std::strerror(errno)));
	}
	out.clear();
	char buf[512];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			::close(fd);
			fail(str("control: cannot read ", file.string(), ": ", std::strerror(err)));
		}
		if (n == 0)
			break;
		out.append(buf, static_cast<std::size_t>(n));
	}
	::close(fd);
	while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
		out.pop_back();
	return true;
}

std::string new_nonce()
{
	std::random_device rd;
	std::uint64_t v = (std::uint64_t(rd()) << 32) ^ rd() ^ std::uint64_t(::getpid());
	std::ostringstream s;
	s << std::hex << v;
	return s.str();
}

} // namespace

control control::handshake(const std::filesystem::path& dir, const std::string& self,
			   const std::string& peer, std::chrono::milliseconds timeout)
{
	std::error_code ec;
	if (!std::filesystem::is_directory(dir, ec))
		fail(str("control: ", dir.string(), " is not a directory"));
	// Our own leftovers from an older run (never the peer's: it may be
	// running already and waiting for us).
	for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
		auto n = e.path().filename().string();
		if (n.rfind(self + ".", 0) == 0 || n.rfind(".tmp." + self + ".", 0) == 0)
			std::filesystem::remove(e.path(), ec);
	}

	control c;
	c.dir_ = dir;
	c.self_ = self;
	c.peer_ = peer;
	c.self_nonce_ = new_nonce();

	auto hello = [&](const std::string& seen) {
		write_atomically(dir, ".tmp." + self + ".", dir / (self + ".hello"),
				 c.self_nonce_ + " " + seen + "\n");
	};
	std::string seen = "-";
	hello(seen);
	auto deadline = clock::now() + timeout;
	for (;;) {
		std::string text;
		if (read_whole(dir / (peer + ".hello"), text)) {
			std::istringstream in(text);
			std::string nonce, their_seen;
			in >> nonce >> their_seen;
			// A stale file names an older nonce of ours; a current peer
			// that has not seen us yet names "-".
			if (!nonce.empty() && nonce != seen) {
				seen = nonce;
				hello(seen);
			}
			if (their_seen == c.self_nonce_ && nonce == seen)
				break;
		}
		if (clock::now() > deadline)
			fail(str("control: no ", peer, " appeared in ", dir.string(), " within ",
				 timeout.count() / 1000, " s (is the other side running, with the same --control?)"));
		std::this_thread::sleep_for(poll_interval);
	}
	c.peer_nonce_ = seen;
	return c;
}

control control::channel(unsigned ns) const
{
	control c = *this;
	c.ns_ = ns;
	c.wseq_ = c.rseq_ = 0;
	return c;
}

std::filesystem::path control::name(const std::string& from, const std::string& nonce,
				    unsigned long long seq) const
{
	return dir_ / (from + "." + nonce + "." + std::to_string(ns_) + "." + std::to_string(seq));
}

void control::writeln(std::string_view line)
{
	check(line.find('\n') == std::string_view::npos, "control: a message is one line");
	write_atomically(dir_, ".tmp." + self_ + "." + self_nonce_ + ".", name(self_, self_nonce_, wseq_++),
			 std::string(line) + "\n");
}

std::string control::readln()
{
	auto file = name(peer_, peer_nonce_, rseq_);
	auto deadline = clock::now() + timeout_;
	auto abort_file = dir_ / (peer_ + "." + peer_nonce_ + "." + std::to_string(ns_) + ".abort");
	std::string text;
	while (!read_whole(file, text)) {
		if (ns_ != 0 && std::filesystem::exists(abort_file))
			fail(str("stopped: the ", peer_, " side failed"));
		if (clock::now() > deadline)
			fail(str("control: timed out after ", timeout_.count() / 1000.0, " s waiting for message ",
				 rseq_, " from the ", peer_, " (", file.filename().string(), ")"));
		std::this_thread::sleep_for(poll_interval);
	}
	std::error_code ec;
	std::filesystem::remove(file, ec);
	++rseq_;
	return text;
}

void control::abort_case(unsigned ns) const
{
	write_atomically(dir_, ".tmp." + self_ + "." + self_nonce_ + ".",
			 dir_ / (self_ + "." + self_nonce_ + "." + std::to_string(ns) + ".abort"), "abort\n");
}

void control::expectln(std::string_view expected)
{
	auto got = readln();
	if (got != expected)
		fail(str("control: expected '", expected, "' from the ", peer_, ", got '", got, "'"));
}

void control::writeulong(unsigned long long v)
{
	writeln(std::to_string(v));
}

unsigned long long control::readulong()
{
	auto line = readln();
	try {
		std::size_t used = 0;
		auto v = std::stoull(line, &used);
		if (used == line.size())
			return v;
	} catch (const std::exception&) {
	}
	fail(str("control: expected a number from the ", peer_, ", got '", line, "'"));
}

void control::remove_own_files() const
{
	std::error_code ec;
	auto mine = self_ + "." + self_nonce_ + ".";
	auto tmp = ".tmp." + self_ + "." + self_nonce_ + ".";
	for (auto& e : std::filesystem::directory_iterator(dir_, ec)) {
		auto n = e.path().filename().string();
		// Session messages (namespace 0) are the peer's to consume: the
		// last ones may still be unread.
		bool case_message = n.rfind(mine, 0) == 0 && n.compare(mine.size(), 2, "0.") != 0;
		if (case_message || n.rfind(tmp, 0) == 0)
			std::filesystem::remove(e.path(), ec);
	}
}

} // namespace vt
