// result<T, E>: a value or an error, shaped like C++23's std::expected
// (value(), error(), and_then(), transform(), or_else(), the unexpect tag), so
// that moving to std::expected once our compilers have it is a rename.  g++ 12
// has no std::expected; Debian 12 does package tl::expected (libexpected-dev),
// but one small header is not worth a dependency of every user.
//
// I/O calls return result<T> over a bare std::error_code: no allocation, no
// exceptions on the hot path.  Set-up calls (parsing, discovery, connect,
// listen) return result<T, error>, which adds a human-readable message.
#pragma once

#if __cplusplus < 202002L
#error "virtsocket needs C++20 or later (-std=c++20)"
#endif

#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace virtsocket {

// Errors raised by the library itself; everything else is an errno value in
// std::system_category().
enum class errc {
	unexpected_eof = 1,	// peer closed before recv_exact() was satisfied
	af_virt_unavailable,	// no virtsocket module loaded
	bad_sysfs_value,	// a discovery file holds something unusable
	bad_address,		// malformed address string
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
	return {static_cast<int>(e), error_category()};
}

// getaddrinfo()'s EAI_* codes (the negative numbers of <netdb.h>); the
// messages are gai_strerror()'s.  EAI_SYSTEM is never used: the library
// reports its errno in std::system_category() instead.
const std::error_category& resolver_category() noexcept;

inline std::error_code resolver_error_code(int eai) noexcept
{
	return {eai, resolver_category()};
}

// errno as an error_code that compares equal to std::errc values.
inline std::error_code errno_code(int err) noexcept
{
	return {err, std::system_category()};
}

// An error_code with the full sentence to show a user.
struct error {
	std::error_code code;
	std::string what;	// empty: code.message() says it all

	error() = default;
	error(std::error_code c) : code(c) {} // NOLINT: implicit on purpose
	error(std::error_code c, std::string w) : code(c), what(std::move(w)) {}
	error(errc e, std::string w) : code(make_error_code(e)), what(std::move(w)) {}

	std::string message() const { return what.empty() ? code.message() : what; }
};

// "context: <strerror>" for an error_code raised while doing something.
inline error with_context(std::error_code ec, std::string_view context)
{
	return {ec, std::string(context) + ": " + ec.message()};
}

// A std::system_error whose what() is exactly error::message().
class exception : public std::system_error {
public:
	explicit exception(const error& e) : std::system_error(e.code), message_(e.message()) {}
	const char* what() const noexcept override { return message_.c_str(); }

private:
	std::string message_;
};

[[noreturn]] inline void throw_error(const std::error_code& ec) { throw exception(error(ec)); }
[[noreturn]] inline void throw_error(const error& e) { throw exception(e); }

// std::unexpect: builds a result holding an error, whatever T is.
struct unexpect_t {
	explicit unexpect_t() = default;
};
inline constexpr unexpect_t unexpect{};

template <class T, class E = std::error_code>
class [[nodiscard]] result;

namespace detail {
template <class R>
struct is_result : std::false_type {};
template <class T, class E>
struct is_result<result<T, E>> : std::true_type {};
} // namespace detail

template <class T, class E>
class [[nodiscard]] result {
public:
	using value_type = T;
	using error_type = E;

	template <class U = T>
		requires(std::is_constructible_v<T, U &&> &&
			 !std::is_same_v<std::remove_cvref_t<U>, result> &&
			 !std::is_convertible_v<U &&, E>)
	result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {} // NOLINT

	template <class G>
		requires(std::is_constructible_v<E, G &&> && !std::is_convertible_v<G &&, T>)
	result(G&& e) : v_(std::in_place_index<1>, E(std::forward<G>(e))) {} // NOLINT

	template <class... Args>
	explicit result(std::in_place_t, Args&&... args) : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}
	template <class... Args>
	explicit result(unexpect_t, Args&&... args) : v_(std::in_place_index<1>, std::forward<Args>(args)...) {}

	// Widen an I/O result (bare error_code) into a set-up result.
	template <class G>
		requires(!std::is_same_v<G, E> && std::is_constructible_v<E, const G&>)
	result(result<T, G>&& other)
		: v_(other ? decltype(v_)(std::in_place_index<0>, std::move(*other))
			   : decltype(v_)(std::in_place_index<1>, E(other.error())))
	{
	}

	bool has_value() const noexcept { return v_.index() == 0; }
	explicit operator bool() const noexcept { return has_value(); }

	T& value() &
	{
		check();
		return std::get<0>(v_);
	}
	const T& value() const&
	{
		check();
		return std::get<0>(v_);
	}
	T&& value() &&
	{
		check();
		return std::get<0>(std::move(v_));
	}
	T& operator*() & noexcept { return *std::get_if<0>(&v_); }
	const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
	T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
	T* operator->() noexcept { return std::get_if<0>(&v_); }
	const T* operator->() const noexcept { return std::get_if<0>(&v_); }

	const E& error() const& noexcept { return *std::get_if<1>(&v_); }
	E& error() & noexcept { return *std::get_if<1>(&v_); }
	E&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

	template <class U>
	T value_or(U&& fallback) const&
	{
		return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
	}
	template <class U>
	T value_or(U&& fallback) &&
	{
		return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
	}

	// Monadic operations, as std::expected's.  and_then: f(value) returns a
	// result with the same error type; transform: f(value) returns the new
	// value; or_else: f(error) returns a result with the same value type.
	template <class F>
	auto and_then(F&& f) & { return and_then_(*this, std::forward<F>(f)); }
	template <class F>
	auto and_then(F&& f) const& { return and_then_(*this, std::forward<F>(f)); }
	template <class F>
	auto and_then(F&& f) && { return and_then_(std::move(*this), std::forward<F>(f)); }

	template <class F>
	auto transform(F&& f) & { return transform_(*this, std::forward<F>(f)); }
	template <class F>
	auto transform(F&& f) const& { return transform_(*this, std::forward<F>(f)); }
	template <class F>
	auto transform(F&& f) && { return transform_(std::move(*this), std::forward<F>(f)); }

	template <class F>
	auto or_else(F&& f) & { return or_else_(*this, std::forward<F>(f)); }
	template <class F>
	auto or_else(F&& f) const& { return or_else_(*this, std::forward<F>(f)); }
	template <class F>
	auto or_else(F&& f) && { return or_else_(std::move(*this), std::forward<F>(f)); }

private:
	// Self is result&, const result& or result&&: one body for all three.
	template <class Self, class F>
	static auto and_then_(Self&& self, F&& f)
	{
		using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
		static_assert(detail::is_result<R>::value, "and_then: f must return a result");
		static_assert(std::is_same_v<typename R::error_type, E>, "and_then: f must keep the error type");
		if (self.has_value())
			return std::invoke(std::forward<F>(f), *std::forward<Self>(self));
		return R(unexpect, std::forward<Self>(self).error());
	}

	template <class Self, class F>
	static auto transform_(Self&& self, F&& f)
	{
		using U = std::remove_cv_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
		using R = result<U, E>;
		if (!self.has_value())
			return R(unexpect, std::forward<Self>(self).error());
		if constexpr (std::is_void_v<U>) {
			std::invoke(std::forward<F>(f), *std::forward<Self>(self));
			return R();
		} else {
			return R(std::in_place, std::invoke(std::forward<F>(f), *std::forward<Self>(self)));
		}
	}

	template <class Self, class F>
	static auto or_else_(Self&& self, F&& f)
	{
		using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(std::forward<Self>(self).error())>>;
		static_assert(detail::is_result<R>::value, "or_else: f must return a result");
		static_assert(std::is_same_v<typename R::value_type, T>, "or_else: f must keep the value type");
		if (self.has_value())
			return R(std::in_place, *std::forward<Self>(self));
		return std::invoke(std::forward<F>(f), std::forward<Self>(self).error());
	}

	void check() const
	{
		if (!has_value())
			throw_error(error());
	}

	std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] result<void, E> {
public:
	using value_type = void;
	using error_type = E;

	result() = default;
	explicit result(std::in_place_t) {}
	template <class... Args>
	explicit result(unexpect_t, Args&&... args) : v_(std::in_place_index<1>, std::forward<Args>(args)...) {}

	template <class G>
		requires(std::is_constructible_v<E, G &&> && !std::is_same_v<std::remove_cvref_t<G>, result>)
	result(G&& e) : v_(std::in_place_index<1>, E(std::forward<G>(e))) {} // NOLINT

	template <class G>
		requires(!std::is_same_v<G, E> && std::is_constructible_v<E, const G&>)
	result(const result<void, G>& other)
	{
		if (!other)
			v_.template emplace<1>(E(other.error()));
	}

	bool has_value() const noexcept { return v_.index() == 0; }
	explicit operator bool() const noexcept { return has_value(); }
	void value() const
	{
		if (!has_value())
			throw_error(error());
	}
	const E& error() const& noexcept { return *std::get_if<1>(&v_); }
	E& error() & noexcept { return *std::get_if<1>(&v_); }
	E&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

	// As result<T, E>'s, f taking no value.
	template <class F>
	auto and_then(F&& f) const& { return and_then_(*this, std::forward<F>(f)); }
	template <class F>
	auto and_then(F&& f) && { return and_then_(std::move(*this), std::forward<F>(f)); }

	template <class F>
	auto transform(F&& f) const&
	{
		using U = std::remove_cv_t<std::invoke_result_t<F>>;
		using R = result<U, E>;
		if (!has_value())
			return R(unexpect, error());
		if constexpr (std::is_void_v<U>) {
			std::invoke(std::forward<F>(f));
			return R();
		} else {
			return R(std::in_place, std::invoke(std::forward<F>(f)));
		}
	}

	template <class F>
	auto or_else(F&& f) const& { return or_else_(*this, std::forward<F>(f)); }
	template <class F>
	auto or_else(F&& f) && { return or_else_(std::move(*this), std::forward<F>(f)); }

private:
	// Self is const result& or result&&: one body for both.
	template <class Self, class F>
	static auto and_then_(Self&& self, F&& f)
	{
		using R = std::remove_cvref_t<std::invoke_result_t<F>>;
		static_assert(detail::is_result<R>::value, "and_then: f must return a result");
		static_assert(std::is_same_v<typename R::error_type, E>, "and_then: f must keep the error type");
		if (self.has_value())
			return std::invoke(std::forward<F>(f));
		return R(unexpect, std::forward<Self>(self).error());
	}

	template <class Self, class F>
	static auto or_else_(Self&& self, F&& f)
	{
		using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(std::forward<Self>(self).error())>>;
		static_assert(detail::is_result<R>::value, "or_else: f must return a result");
		static_assert(std::is_void_v<typename R::value_type>, "or_else: f must keep the value type");
		if (self.has_value())
			return R();
		return std::invoke(std::forward<F>(f), std::forward<Self>(self).error());
	}

	std::variant<std::monostate, E> v_;
};

} // namespace virtsocket

template <>
struct std::is_error_code_enum<virtsocket::errc> : std::true_type {};
