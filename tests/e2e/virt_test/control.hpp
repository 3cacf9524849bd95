// The control channel between the two virt_test processes: numbered message
// files in a directory both sides see (a 9p share between a KVM host and a
// guest; there is no network between them).
//
// A message is one line of text in a file named
//     <from>.<nonce>.<ns>.<seq>
// written under a temporary name and renamed into place, so a reader never
// sees a partial file.  The reader polls for the next <seq> every 2 ms, reads
// the file and deletes it.  <nonce> is a random number per run, exchanged in
// the handshake, so files left over from a crashed run never match; <ns> is
// 0 for the runner and the case number inside a case, so a case killed half
// way leaves nothing that the next case could read.
//
// Handshake: each side keeps "<self>.hello" holding "<own nonce> <the peer's
// nonce it has seen>"; a side is through when the peer's hello names its own
// nonce.  Stale hello files from an old run name an old nonce and are ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace vt {

class control {
public:
	// Removes this side's leftover files, then waits (up to `timeout`) for the
	// peer.  `self` and `peer` are "server" and "client".
	static control handshake(const std::filesystem::path& dir, const std::string& self,
				 const std::string& peer, std::chrono::milliseconds timeout);

	// A fresh channel in namespace `ns` (sequence numbers from 0) with the same peer.
	control channel(unsigned ns) const;

	void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

	void writeln(std::string_view line);
	// The next line from the peer; throws vt::failure after the timeout.
	std::string readln();
	void expectln(std::string_view expected);
	void writeulong(unsigned long long v);
	unsigned long long readulong();

	// Tells the peer's case process (namespace ns) that this side has failed,
	// so it stops waiting for messages that will never come.
	void abort_case(unsigned ns) const;

	// Removes the case messages this side wrote in this run that the peer never
	// read (cases killed half way); for the end of the run.
	void remove_own_files() const;

private:
	control() = default;
	std::filesystem::path name(const std::string& from, const std::string& nonce,
				   unsigned long long seq) const;

	std::filesystem::path dir_;
	std::string self_, peer_, self_nonce_, peer_nonce_;
	unsigned ns_ = 0;
	unsigned long long wseq_ = 0, rseq_ = 0;
	std::chrono::milliseconds timeout_{60000};
};

} // namespace vt
