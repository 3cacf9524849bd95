// result<T, E>'s monadic operations, checked against std::expected's rules
// (P2505): which callable runs, what it receives, what comes out.
#include <virtsocket/result.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>

namespace vs = virtsocket;

namespace {

const std::error_code timed_out = std::make_error_code(std::errc::timed_out);
const std::error_code io = std::make_error_code(std::errc::io_error);

vs::result<int> half(int v)
{
	if (v % 2)
		return std::make_error_code(std::errc::invalid_argument);
	return v / 2;
}

TEST(ResultMonadic, AndThenChainsOrPassesTheError)
{
	vs::result<int> eight = 8;
	auto two = eight.and_then(half).and_then(half);
	static_assert(std::is_same_v<decltype(two), vs::result<int>>);
	EXPECT_EQ(two.value(), 2);
	EXPECT_EQ(vs::result<int>(3).and_then(half).error(), std::errc::invalid_argument);

	bool called = false;
	vs::result<int> bad = timed_out;
	auto r = bad.and_then([&](int v) {
		called = true;
		return half(v);
	});
	EXPECT_FALSE(called);
	EXPECT_EQ(r.error(), timed_out);

	// To another value type, and to void.
	auto text = eight.and_then([](int v) -> vs::result<std::string> { return std::to_string(v); });
	EXPECT_EQ(text.value(), "8");
	auto none = eight.and_then([](int) -> vs::result<void> { return io; });
	static_assert(std::is_same_v<decltype(none), vs::result<void>>);
	EXPECT_EQ(none.error(), io);
}

TEST(ResultMonadic, TransformMapsTheValueOnly)
{
	vs::result<int> three = 3;
	auto s = three.transform([](int v) { return std::string(v, 'x'); });
	static_assert(std::is_same_v<decltype(s), vs::result<std::string>>);
	EXPECT_EQ(s.value(), "xxx");

	vs::result<int, vs::error> bad = vs::error(timed_out, "waited");
	auto t = bad.transform([](int v) { return v + 1; });
	static_assert(std::is_same_v<decltype(t), vs::result<int, vs::error>>);
	EXPECT_EQ(t.error().code, timed_out);
	EXPECT_EQ(t.error().message(), "waited");

	int seen = 0;
	auto v = three.transform([&](int x) { seen = x; });
	static_assert(std::is_same_v<decltype(v), vs::result<void>>);
	EXPECT_TRUE(v);
	EXPECT_EQ(seen, 3);

	// A value convertible to the error type is still a value.
	auto code = three.transform([](int) { return io; });
	static_assert(std::is_same_v<decltype(code), vs::result<std::error_code>>);
	ASSERT_TRUE(code);
	EXPECT_EQ(*code, io);
}

TEST(ResultMonadic, OrElseRecoversOrReplacesTheError)
{
	vs::result<int> bad = timed_out;
	auto zero = bad.or_else([](const std::error_code& e) -> vs::result<int> {
		if (e == std::errc::timed_out)
			return 0;
		return e;
	});
	EXPECT_EQ(zero.value(), 0);

	// Widening the error type, as set-up calls do.
	auto widened = bad.or_else([](std::error_code e) -> vs::result<int, vs::error> {
		return vs::with_context(e, "connect");
	});
	static_assert(std::is_same_v<decltype(widened), vs::result<int, vs::error>>);
	EXPECT_EQ(widened.error().message(), "connect: " + timed_out.message());

	bool called = false;
	vs::result<int> ok = 5;
	auto same = ok.or_else([&](std::error_code e) -> vs::result<int> {
		called = true;
		return e;
	});
	EXPECT_FALSE(called);
	EXPECT_EQ(same.value(), 5);
}

TEST(ResultMonadic, MoveOnlyValuesMoveThrough)
{
	vs::result<std::unique_ptr<int>> p = std::make_unique<int>(7);
	auto q = std::move(p).and_then([](std::unique_ptr<int> v) -> vs::result<std::unique_ptr<int>> {
		*v += 1;
		return v;
	});
	ASSERT_TRUE(q);
	EXPECT_EQ(**q, 8);
	auto n = std::move(q).transform([](std::unique_ptr<int> v) { return *v; });
	EXPECT_EQ(n.value(), 8);
	auto r = vs::result<std::unique_ptr<int>>(io).or_else(
		[](std::error_code) -> vs::result<std::unique_ptr<int>> { return std::make_unique<int>(1); });
	EXPECT_EQ(*r.value(), 1);
}

TEST(ResultMonadic, VoidResults)
{
	vs::result<void> ok;
	vs::result<void> bad = io;
	EXPECT_EQ(ok.and_then([] { return vs::result<int>(4); }).value(), 4);
	EXPECT_EQ(bad.and_then([] { return vs::result<int>(4); }).error(), io);
	EXPECT_EQ(ok.transform([] { return 9; }).value(), 9);
	EXPECT_EQ(bad.transform([] { return 9; }).error(), io);
	EXPECT_TRUE(bad.or_else([](std::error_code) { return vs::result<void>(); }));
	auto still = ok.or_else([](std::error_code e) { return vs::result<void>(e); });
	EXPECT_TRUE(still);
}

TEST(ResultMonadic, TagsLikeStdExpected)
{
	vs::result<std::string> s(std::in_place, 3, 'a');
	EXPECT_EQ(s.value(), "aaa");
	vs::result<std::string> e(vs::unexpect, io);
	EXPECT_EQ(e.error(), io);
	vs::result<void, vs::error> v(vs::unexpect, timed_out, "late");
	EXPECT_EQ(v.error().message(), "late");
}

} // namespace
