// Name resolution: every address a name gives is tried, and the resolver's
// own error comes back.  This machine's names resolve to one address each, so
// the test binary puts its own getaddrinfo() in front of the C library's: the
// names under .virtsocket.test answer what the tests need, every other name
// goes to the real resolver.
#include <virtsocket/socket.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace vs = virtsocket;
using namespace std::chrono_literals;

namespace {

struct fake_answer {
	int rc = 0;			// what getaddrinfo() returns
	int err = 0;			// errno, for EAI_SYSTEM
	std::vector<std::string> addresses;	// IPv4 or IPv6, in order
};

std::mutex fake_lock;
std::set<addrinfo*> fake_lists;	// ours, for freeaddrinfo()

const fake_answer* fake_for(const char* node)
{
	static const std::pair<std::string, fake_answer> table[] = {
		// 127.0.0.2 refuses (nothing listens there), 127.0.0.1 accepts.
		{"two.virtsocket.test", {0, 0, {"127.0.0.2", "127.0.0.1"}}},
		{"refused.virtsocket.test", {0, 0, {"127.0.0.2", "127.0.0.3"}}},
		{"v6first.virtsocket.test", {0, 0, {"::1", "127.0.0.1"}}},
		{"noname.virtsocket.test", {EAI_NONAME, 0, {}}},
		{"again.virtsocket.test", {EAI_AGAIN, 0, {}}},
		{"system.virtsocket.test", {EAI_SYSTEM, EMFILE, {}}},
	};
	for (const auto& [name, answer] : table)
		if (node && name == node)
			return &answer;
	return nullptr;
}

addrinfo* make_list(const std::vector<std::string>& addresses)
{
	addrinfo* head = nullptr;
	addrinfo** tail = &head;
	for (const auto& a : addresses) {
		auto* ai = new addrinfo{};
		auto* ss = new sockaddr_storage{};
		ai->ai_socktype = SOCK_STREAM;
		ai->ai_protocol = IPPROTO_TCP;
		if (a.find(':') == std::string::npos) {
			auto* sin = reinterpret_cast<sockaddr_in*>(ss);
			sin->sin_family = AF_INET;
			inet_pton(AF_INET, a.c_str(), &sin->sin_addr);
			ai->ai_family = AF_INET;
			ai->ai_addrlen = sizeof(sockaddr_in);
		} else {
			auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
			sin6->sin6_family = AF_INET6;
			inet_pton(AF_INET6, a.c_str(), &sin6->sin6_addr);
			ai->ai_family = AF_INET6;
			ai->ai_addrlen = sizeof(sockaddr_in6);
		}
		ai->ai_addr = reinterpret_cast<sockaddr*>(ss);
		*tail = ai;
		tail = &ai->ai_next;
	}
	return head;
}

} // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res)
{
	if (const auto* fake = fake_for(node)) {
		*res = nullptr;
		if (fake->rc) {
			errno = fake->err;
			return fake->rc;
		}
		*res = make_list(fake->addresses);
		std::lock_guard g(fake_lock);
		fake_lists.insert(*res);
		return 0;
	}
	using fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
	static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
	return real(node, service, hints, res);
}

extern "C" void freeaddrinfo(addrinfo* list) noexcept
{
	{
		std::lock_guard g(fake_lock);
		if (fake_lists.erase(list)) {
			while (list) {
				auto* next = list->ai_next;
				delete reinterpret_cast<sockaddr_storage*>(list->ai_addr);
				delete list;
				list = next;
			}
			return;
		}
	}
	using fn = void (*)(addrinfo*);
	static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "freeaddrinfo"));
	real(list);
}

namespace {

// A listener on 127.0.0.1 and the port it got.
struct loopback_listener {
	vs::listener l{vs::address("tcp:127.0.0.1:0")};
	std::uint16_t port = l.local_address().value().get_if<vs::tcp_address>()->port;
};

TEST(Resolve, GivesEveryAddressInOrder)
{
	auto all = vs::address("tcp:two.virtsocket.test:80").resolve();
	ASSERT_TRUE(all) << all.error().message();
	ASSERT_EQ(all->size(), 2U);
	EXPECT_EQ(vs::address::from_native((*all)[0].get(), (*all)[0].length)->to_string(), "tcp:127.0.0.2:80");
	EXPECT_EQ(vs::address::from_native((*all)[1].get(), (*all)[1].length)->to_string(), "tcp:127.0.0.1:80");
	// to_native() keeps giving the first.
	auto first = vs::address("tcp:two.virtsocket.test:80").to_native();
	ASSERT_TRUE(first) << first.error().message();
	EXPECT_EQ(vs::address::from_native(first->get(), first->length)->to_string(), "tcp:127.0.0.2:80");
	// Numeric hosts and other transports: one address, no resolver.
	EXPECT_EQ(vs::address("tcp:[::1]:5").resolve().value().size(), 1U);
	EXPECT_EQ(vs::address("unix:/x").resolve().value().size(), 1U);
}

class ConnectTries : public ::testing::TestWithParam<bool> {	// with a timeout?
protected:
	vs::connector connector() const { return GetParam() ? vs::connector(2s) : vs::connector(); }
};

INSTANTIATE_TEST_SUITE_P(BlockingAndTimed, ConnectTries, ::testing::Bool(),
			 [](const auto& info) { return info.param ? "timed" : "blocking"; });

TEST_P(ConnectTries, EveryAddressUntilOneAnswers)
{
	loopback_listener srv;
	auto uri = "tcp:two.virtsocket.test:" + std::to_string(srv.port);
	auto c = connector().connect(vs::address(uri));
	ASSERT_TRUE(c) << c.error().message();
	EXPECT_EQ(c->peer_address().value().to_string(), "tcp:127.0.0.1:" + std::to_string(srv.port));
	EXPECT_TRUE(srv.l.accept(1s));
}

TEST_P(ConnectTries, AcrossFamilies)
{
	loopback_listener srv;	// IPv4 only: ::1 refuses (or has no IPv6 at all)
	auto c = connector().connect(vs::address("tcp:v6first.virtsocket.test:" + std::to_string(srv.port)));
	ASSERT_TRUE(c) << c.error().message();
	EXPECT_EQ(c->peer_address().value().get_if<vs::tcp_address>()->host, "127.0.0.1");
}

TEST_P(ConnectTries, AllRefusedGivesTheLastErrorAndListsThem)
{
	loopback_listener srv;	// its port, on addresses where nobody listens
	auto port = std::to_string(srv.port);
	auto uri = "tcp:refused.virtsocket.test:" + port;
	auto c = connector().connect(vs::address(uri));
	ASSERT_FALSE(c);
	EXPECT_EQ(c.error().code, std::errc::connection_refused);
	EXPECT_EQ(c.error().message(), "connect to " + uri + ": Connection refused (2 addresses tried: tcp:127.0.0.2:" +
					       port + ": Connection refused; tcp:127.0.0.3:" + port +
					       ": Connection refused)");
}

TEST(ResolveErrors, KeepTheResolversCodeAndMessage)
{
	for (int eai : {EAI_NONAME, EAI_AGAIN}) {
		std::string host = eai == EAI_NONAME ? "noname.virtsocket.test" : "again.virtsocket.test";
		auto n = vs::address("tcp:" + host + ":80").to_native();
		ASSERT_FALSE(n);
		EXPECT_EQ(n.error().code, vs::resolver_error_code(eai));
		EXPECT_EQ(&n.error().code.category(), &vs::resolver_category());
		EXPECT_STREQ(n.error().code.category().name(), "getaddrinfo");
		EXPECT_EQ(n.error().code.message(), gai_strerror(eai));
		EXPECT_EQ(n.error().message(), "cannot resolve '" + host + "': " + gai_strerror(eai));

		auto c = vs::connector().connect(vs::address("tcp:" + host + ":80"));
		ASSERT_FALSE(c);
		EXPECT_EQ(c.error().code, vs::resolver_error_code(eai));
	}
	// Conditions where an errno counterpart exists.
	EXPECT_EQ(vs::resolver_error_code(EAI_AGAIN), std::errc::resource_unavailable_try_again);
	EXPECT_EQ(vs::resolver_error_code(EAI_MEMORY), std::errc::not_enough_memory);
	EXPECT_NE(vs::resolver_error_code(EAI_NONAME), std::errc::host_unreachable);
}

TEST(ResolveErrors, SystemErrorIsErrno)
{
	auto n = vs::address("tcp:system.virtsocket.test:80").to_native();
	ASSERT_FALSE(n);
	EXPECT_EQ(n.error().code, std::errc::too_many_files_open);
	EXPECT_EQ(&n.error().code.category(), &std::system_category());
	EXPECT_EQ(n.error().message(), "cannot resolve 'system.virtsocket.test': " + n.error().code.message());
}

TEST(ResolveErrors, RealResolverStillAnswers)
{
	auto n = vs::address("tcp:localhost:7").to_native();	// /etc/hosts, through the interposer
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_TRUE(n->family() == AF_INET || n->family() == AF_INET6);
}

} // namespace
