// result<T, E>: a value or an error, std::expected-shaped (C++23's
// std::expected is not in g++ 12 and Debian 12 has no tl-expected package).
//
// I/O calls return result<T> over a bare std::error_code: no allocation, no
// exceptions on the hot path.  Set-up calls (parsing, discovery, connect,
// listen) return result<T, error>, which adds a human-readable message.
#pragma once

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

template <class T, class E = std::error_code>
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

	template <class U>
	T value_or(U&& fallback) const&
	{
		return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
	}

private:
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

	template <class G>
		requires std::is_constructible_v<E, G &&>
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

private:
	std::variant<std::monostate, E> v_;
};

} // namespace virtsocket

template <>
struct std::is_error_code_enum<virtsocket::errc> : std::true_type {};
