// SPDX-License-Identifier: GPL-2.0
//
// The machine's market: /sys/kernel/mm/ramm/ and the Ramm* lines of every
// /proc/PID/status.  Every reader takes its directory as an argument so the
// tests can run on a fake tree on any kernel.

#include <ramm/market.hpp>

#include "text.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <map>
#include <optional>

namespace ramm {
namespace {

using namespace text;

// Documentation/ABI/testing/sysfs-kernel-mm-ramm, in its order.
constexpr std::array<std::string_view, 7> tunable_names = {
	"enabled",	     "reserve_price",	  "deadline_ms",
	"queue_len",	     "headroom_permille", "credit_halflife_s",
	"pass_budget_ms",
};

constexpr std::array<std::string_view, 20> counter_names = {
	"participants",	   "wakes",		  "wakes_ahead",
	"requests",	   "pages_asked",	  "pages_released",
	"pages_purged_krammmd", "pages_purged_direct", "pages_purged_oom",
	"answered",	   "late",		  "ignored",
	"signals_sent",	   "signals_skipped",	  "signals_coalesced",
	"queue_overflows", "selections",	  "select_ns",
	"passes",	   "passes_over_budget",
};

// Closes the directory stream it holds.
class Dir {
public:
	explicit Dir(DIR* dir) noexcept : dir_(dir) {}
	~Dir()
	{
		if (dir_ != nullptr)
			::closedir(dir_);
	}
	Dir(const Dir&) = delete;
	Dir& operator=(const Dir&) = delete;

	DIR* get() const noexcept { return dir_; }

private:
	DIR* dir_;
};

// The names in a directory, without "." and "..", in readdir() order.
Result<std::vector<std::string>> list_dir(const std::string& path)
{
	const Dir dir(::opendir(path.c_str()));
	if (dir.get() == nullptr) {
		const int errnum = errno;
		return Error(errnum, fmt::format("opendir({})", path));
	}

	std::vector<std::string> names;
	for (;;) {
		// readdir() returns NULL both at the end and on error: only
		// errno tells them apart.
		errno = 0;
		const struct dirent* entry = ::readdir(dir.get());
		if (entry == nullptr) {
			const int errnum = errno;
			if (errnum != 0)
				return Error(errnum, fmt::format("readdir({})", path));
			return names;
		}
		const std::string_view name = entry->d_name;
		if (name != "." && name != "..")
			names.emplace_back(name);
	}
}

// A sysfs value: the kernel prints "%llu\n".  The newline is optional so a
// hand-made test file without one still reads.
std::optional<std::uint64_t> parse_sysfs_value(std::string_view text)
{
	if (text.ends_with('\n'))
		text.remove_suffix(1);
	return parse_number<std::uint64_t>(text);
}

std::string tunable_list()
{
	return fmt::format("{}", fmt::join(tunable_names, ", "));
}

// EINVAL for anything set_tunable() must not write; nullopt for a tunable.
std::optional<Error> check_tunable_name(std::string_view operation,
					std::string_view name)
{
	// The slash test is implied by the list, but it is the one property
	// that keeps a write inside the directory: say it on its own.
	if (name.find('/') != std::string_view::npos)
		return Error(EINVAL, operation,
			     fmt::format("\"{}\" is not a tunable name (it has a '/')", name));
	if (!is_market_tunable(name))
		return Error(EINVAL, operation,
			     fmt::format("unknown tunable \"{}\" (tunables: {})", name,
					 tunable_list()));
	return std::nullopt;
}

// Why the kernel refused a write, in the words of its documentation.
std::string write_refusal(int errnum, const std::string& path)
{
	switch (errnum) {
	case EINVAL:
		return fmt::format("{}: value out of range (see "
				   "Documentation/ABI/testing/sysfs-kernel-mm-ramm)",
				   path);
	case EACCES:
	case EPERM:
		return fmt::format("{}: the tunables are writable by root only", path);
	case ENOENT:
		return fmt::format("{}: no such file (does this kernel have RAMM?)", path);
	default:
		return path;
	}
}

// What /proc/PID/status says about one process.
struct StatusFields {
	std::string comm;
	std::uint64_t priced_kb = 0;
	std::uint64_t discardable_kb = 0;
	// A status without RammCredit: (a kernel without RAMM) is a process
	// nobody has judged: full credit.
	std::uint64_t credit = 1000;
};

// nullopt and *bad_line set for a malformed Ramm* line.
std::optional<StatusFields> parse_status_fields(std::string_view status,
						std::string* bad_line)
{
	StatusFields fields;
	bool ok = true;

	for_each_line(status, [&](std::string_view line) {
		if (line.starts_with("Name:")) {
			// "Name:\t%s": the comm may itself start or end with
			// blanks, so only the separating tab goes.
			line.remove_prefix(5);
			if (line.starts_with('\t'))
				line.remove_prefix(1);
			fields.comm = line;
			return true;
		}
		if (!line.starts_with("Ramm"))
			return true;

		const auto colon = line.find(':');
		const auto name = line.substr(0, colon);
		const auto value = colon == std::string_view::npos
			? std::string_view{}
			: trim_blanks(line.substr(colon + 1));
		std::optional<std::uint64_t> parsed;
		if (name == "RammPriced" || name == "RammDiscardable")
			parsed = parse_kb(value);
		else if (name == "RammCredit")
			parsed = parse_number<std::uint64_t>(value);
		else
			return true;  // a newer kernel's line

		if (colon == std::string_view::npos || !parsed) {
			*bad_line = line;
			ok = false;
			return false;
		}
		if (name == "RammPriced")
			fields.priced_kb = *parsed;
		else if (name == "RammDiscardable")
			fields.discardable_kb = *parsed;
		else
			fields.credit = *parsed;
		return true;
	});

	if (!ok)
		return std::nullopt;
	return fields;
}

// The process is gone (its directory went between readdir() and open(), or
// it is a zombie being reaped), or it is hidden from us (hidepid=1): either
// way it has no line to show, and the rest of the list is still worth it.
bool process_unreadable(int errnum)
{
	return errnum == ENOENT || errnum == ESRCH || errnum == ENOTDIR ||
	       errnum == EACCES || errnum == EPERM;
}

}  // namespace

std::span<const std::string_view> market_tunable_names() noexcept
{
	return tunable_names;
}

std::span<const std::string_view> market_counter_names() noexcept
{
	return counter_names;
}

bool is_market_tunable(std::string_view name) noexcept
{
	return std::find(tunable_names.begin(), tunable_names.end(), name) !=
	       tunable_names.end();
}

Result<MarketTunable> parse_tunable_assignment(std::string_view text)
{
	const std::string operation = fmt::format("tunable setting \"{}\"", text);
	const auto equals = text.find('=');
	if (equals == std::string_view::npos)
		return Error(EINVAL, operation, "expected NAME=VALUE");

	const auto name = text.substr(0, equals);
	if (auto error = check_tunable_name(operation, name))
		return *error;

	const auto value = parse_number<std::uint64_t>(text.substr(equals + 1));
	if (!value)
		return Error(EINVAL, operation,
			     "the value must be an unsigned decimal integer below 2^64");
	return MarketTunable{std::string(name), *value};
}

Result<MarketView> read_market(const std::string& sysfs_dir)
{
	const std::string operation = fmt::format("read_market({})", sysfs_dir);
	MarketView view;

	const auto names = list_dir(sysfs_dir);
	if (!names) {
		// No directory is the normal state of a kernel without RAMM.
		if (names.error().errnum() == ENOENT)
			return view;
		return names.error();
	}
	view.present = true;

	std::map<std::string, std::uint64_t, std::less<>> values;
	for (const auto& name : *names) {
		const std::string path = fmt::format("{}/{}", sysfs_dir, name);
		struct stat st {};
		// Subdirectories (a newer kernel's groups) are not values.
		if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
			continue;

		const auto text = read_file(path);
		if (!text) {
			// Gone since readdir(): nothing to show.
			if (text.error().errnum() == ENOENT)
				continue;
			return text.error();
		}
		const auto value = parse_sysfs_value(*text);
		if (!value) {
			// {:?} escapes the newline and any binary junk; a
			// short prefix is enough to recognise what it is.
			const auto shown = std::string_view(*text).substr(0, 32);
			return Error(EBADMSG, operation,
				     fmt::format("{}: not an unsigned decimal integer: {:?}",
						 name, shown));
		}
		values.emplace(name, *value);
	}

	// Documented order first: related values stay together (the three
	// verdicts, the two purge counts) as the documentation explains them.
	for (const auto name : tunable_names) {
		if (const auto it = values.find(name); it != values.end()) {
			view.tunables.emplace_back(it->first, it->second);
			values.erase(it);
		}
	}
	for (const auto name : counter_names) {
		if (const auto it = values.find(name); it != values.end()) {
			view.counters.emplace_back(it->first, it->second);
			values.erase(it);
		}
	}
	// Whatever is left is a newer kernel's counter: std::map keeps it
	// sorted by name.
	for (auto& [name, value] : values)
		view.counters.emplace_back(name, value);
	return view;
}

Result<std::uint64_t> read_tunable(std::string_view name, const std::string& sysfs_dir)
{
	const std::string operation = fmt::format("read_tunable({})", name);
	if (auto error = check_tunable_name(operation, name))
		return *error;

	const std::string path = fmt::format("{}/{}", sysfs_dir, name);
	const auto text = read_file(path);
	if (!text) {
		const int errnum = text.error().errnum();
		if (errnum == ENOENT)
			return Error(errnum, operation,
				     fmt::format("{}: no such file (does this kernel have RAMM?)",
						 path));
		return Error(errnum, operation, path);
	}
	const auto value = parse_sysfs_value(*text);
	if (!value)
		return Error(EBADMSG, operation,
			     fmt::format("{}: not an unsigned decimal integer", path));
	return *value;
}

Result<void> set_tunable(std::string_view name, std::uint64_t value,
			 const std::string& sysfs_dir)
{
	const std::string operation = fmt::format("set_tunable({}={})", name, value);
	if (auto error = check_tunable_name(operation, name))
		return *error;

	// No O_CREAT: on sysfs the file is always there, and a typo in
	// sysfs_dir must not leave a stray file behind.  O_TRUNC is what a
	// shell's "echo 1 >" does; sysfs ignores it, a test file needs it.
	const std::string path = fmt::format("{}/{}", sysfs_dir, name);
	const Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
	if (fd.get() < 0) {
		const int errnum = errno;
		return Error(errnum, operation, write_refusal(errnum, path));
	}

	// One write(): a sysfs store sees only what one call passes.
	const std::string text = fmt::format("{}\n", value);
	ssize_t n;
	do {
		n = ::write(fd.get(), text.data(), text.size());
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		const int errnum = errno;
		return Error(errnum, operation, write_refusal(errnum, path));
	}
	if (static_cast<std::size_t>(n) != text.size())
		return Error(EIO, operation,
			     fmt::format("{}: short write ({} of {} bytes)", path, n,
					 text.size()));
	return {};
}

Result<std::vector<ProcessRamm>> list_priced_processes(const std::string& proc_dir)
{
	const std::string operation = fmt::format("list_priced_processes({})", proc_dir);
	const auto names = list_dir(proc_dir);
	if (!names)
		return names.error();

	std::vector<ProcessRamm> processes;
	for (const auto& name : *names) {
		const auto pid = parse_number<int>(name);
		if (!pid || *pid <= 0)
			continue;  // "self", "sys", "meminfo", ...

		const auto text = read_file(fmt::format("{}/{}/status", proc_dir, name));
		if (!text) {
			if (process_unreadable(text.error().errnum()))
				continue;
			return text.error();
		}

		std::string bad_line;
		const auto fields = parse_status_fields(*text, &bad_line);
		if (!fields)
			return Error(EBADMSG, operation,
				     fmt::format("PID {}: malformed line \"{}\"", *pid,
						 bad_line));
		if (fields->priced_kb == 0 && fields->credit >= 1000)
			continue;
		processes.push_back(ProcessRamm{*pid, fields->comm, fields->priced_kb,
						fields->discardable_kb, fields->credit});
	}

	std::sort(processes.begin(), processes.end(),
		  [](const ProcessRamm& a, const ProcessRamm& b) {
			  if (a.priced_kb != b.priced_kb)
				  return a.priced_kb > b.priced_kb;
			  return a.pid < b.pid;
		  });
	return processes;
}

}  // namespace ramm
