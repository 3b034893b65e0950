// SPDX-License-Identifier: GPL-2.0
//
// Readers for the RAMM lines of /proc/self/smaps and /proc/self/status.  The
// parsers take text so they can be tested on a kernel that prints no RAMM
// lines; the readers only add the file.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace ramm {
namespace {

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

// The whole file: /proc files report size 0, so read until EOF.
Result<std::string> read_file(const char* path)
{
	const Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
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

std::string_view trim_blanks(std::string_view s)
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

// An smaps VMA header, "start-end perms offset dev inode [name]".
struct VmaRange {
	std::uintptr_t start;
	std::uintptr_t end;
};

std::optional<VmaRange> parse_vma_header(std::string_view line)
{
	const auto token = line.substr(0, line.find(' '));
	const auto dash = token.find('-');
	if (dash == std::string_view::npos)
		return std::nullopt;

	const auto start = parse_number<std::uintptr_t>(token.substr(0, dash), 16);
	const auto end = parse_number<std::uintptr_t>(token.substr(dash + 1), 16);
	if (!start || !end)
		return std::nullopt;
	return VmaRange{*start, *end};
}

// "Name:   value" -> {"Name", "value"}; nullopt if there is no ':'.
std::optional<std::pair<std::string_view, std::string_view>>
split_field(std::string_view line)
{
	const auto colon = line.find(':');
	if (colon == std::string_view::npos)
		return std::nullopt;
	return std::pair{line.substr(0, colon), trim_blanks(line.substr(colon + 1))};
}

// "24576 kB" -> 24576.
std::optional<std::uint64_t> parse_kb(std::string_view value)
{
	if (!value.ends_with(" kB"))
		return std::nullopt;
	value.remove_suffix(3);
	return parse_number<std::uint64_t>(trim_blanks(value));
}

Error malformed(std::string_view operation, std::string_view line)
{
	return Error(EBADMSG, operation, fmt::format("malformed line \"{}\"", line));
}

}  // namespace

Result<SmapsRamm> parse_smaps_ramm(std::string_view smaps, std::uintptr_t addr)
{
	const std::string operation =
		fmt::format("parse_smaps_ramm(addr={:#x})", addr);
	SmapsRamm entry;
	bool found = false;
	std::optional<Error> error;

	for_each_line(smaps, [&](std::string_view line) {
		if (const auto range = parse_vma_header(line)) {
			// The entry ends at the next VMA header.
			if (found)
				return false;
			found = range->start <= addr && addr < range->end;
			entry.start = range->start;
			entry.end = range->end;
			return true;
		}
		if (!found || !line.starts_with("Ramm"))
			return true;

		entry.lines.emplace_back(line);
		const auto field = split_field(line);
		if (!field) {
			error = malformed(operation, line);
			return false;
		}
		const auto [name, value] = *field;
		if (name == "RammPrice") {
			entry.price = parse_number<std::uint64_t>(value);
			if (!entry.price)
				error = malformed(operation, line);
		} else if (name == "RammDiscardable") {
			if (value == "0" || value == "1")
				entry.discardable = value == "1";
			else
				error = malformed(operation, line);
		}
		// Ramm* lines of a newer kernel are kept in lines only.
		return !error;
	});

	if (error)
		return *error;
	if (!found)
		return Error(ENOENT, operation, "no VMA contains the address");
	return entry;
}

Result<SmapsRamm> smaps_ramm(const void* addr)
{
	const auto text = read_file("/proc/self/smaps");
	if (!text)
		return text.error();
	return parse_smaps_ramm(*text, reinterpret_cast<std::uintptr_t>(addr));
}

Result<StatusRamm> parse_status_ramm(std::string_view status)
{
	StatusRamm totals;
	std::optional<Error> error;

	for_each_line(status, [&](std::string_view line) {
		if (!line.starts_with("Ramm"))
			return true;

		totals.lines.emplace_back(line);
		const auto field = split_field(line);
		if (!field) {
			error = malformed("parse_status_ramm()", line);
			return false;
		}
		const auto [name, value] = *field;
		std::optional<std::uint64_t>* slot = nullptr;
		if (name == "RammPriced")
			slot = &totals.priced_kb;
		else if (name == "RammDiscardable")
			slot = &totals.discardable_kb;
		if (slot != nullptr) {
			*slot = parse_kb(value);
			if (!*slot)
				error = malformed("parse_status_ramm()", line);
		}
		return !error;
	});

	if (error)
		return *error;
	return totals;
}

Result<StatusRamm> status_ramm()
{
	const auto text = read_file("/proc/self/status");
	if (!text)
		return text.error();
	return parse_status_ramm(*text);
}

}  // namespace ramm
