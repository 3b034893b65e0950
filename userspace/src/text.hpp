// SPDX-License-Identifier: GPL-2.0
//
// Internal: reading /proc and sysfs files and picking their lines apart,
// shared by procfs.cpp (this process) and market.cpp (the whole machine).

#ifndef RAMM_SRC_TEXT_HPP
#define RAMM_SRC_TEXT_HPP

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace ramm::text {

// Closes the descriptor it holds.
class Fd {
public:
	explicit Fd(int fd) noexcept : fd_(fd) {}
	~Fd()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	Fd(const Fd&) = delete;
	Fd& operator=(const Fd&) = delete;

	int get() const noexcept { return fd_; }

private:
	int fd_;
};

// The whole file: sysfs and /proc files report size 0, so read until EOF.
inline Result<std::string> read_file(const std::string& path)
{
	const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (fd.get() < 0) {
		const int errnum = errno;
		return Error(errnum, fmt::format("open({})", path));
	}

	std::string text;
	char buf[8192];
	for (;;) {
		const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
		if (n < 0) {
			const int errnum = errno;
			if (errnum == EINTR)
				continue;
			return Error(errnum, fmt::format("read({})", path));
		}
		if (n == 0)
			return text;
		text.append(buf, static_cast<std::size_t>(n));
	}
}

inline std::string_view trim_blanks(std::string_view s)
{
	const auto first = s.find_first_not_of(" \t");
	if (first == std::string_view::npos)
		return {};
	const auto last = s.find_last_not_of(" \t");
	return s.substr(first, last - first + 1);
}

// Calls fn(line) for each line of text, without its '\n'; stops when fn
// returns false.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn)
{
	while (!text.empty()) {
		const auto end = text.find('\n');
		const auto line = text.substr(0, end);
		if (!fn(line))
			return;
		if (end == std::string_view::npos)
			return;
		text.remove_prefix(end + 1);
	}
}

// Parses all of s (no sign, no blanks) as a number in base.
template <typename T>
std::optional<T> parse_number(std::string_view s, int base = 10)
{
	T value{};
	const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(),
					       value, base);
	if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
		return std::nullopt;
	return value;
}

// "24576 kB" -> 24576.
inline std::optional<std::uint64_t> parse_kb(std::string_view value)
{
	if (!value.ends_with(" kB"))
		return std::nullopt;
	value.remove_suffix(3);
	return parse_number<std::uint64_t>(trim_blanks(value));
}

}  // namespace ramm::text

#endif  // RAMM_SRC_TEXT_HPP
