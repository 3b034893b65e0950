// SPDX-License-Identifier: GPL-2.0
//
// Readers for the RAMM lines of /proc/self/smaps and /proc/self/status.  The
// parsers take text so they can be tested on a kernel that prints no RAMM
// lines; the readers only add the file.

#include "text.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace ramm {
namespace {

using namespace text;

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
