// SPDX-License-Identifier: GPL-2.0
//
// libramm: the whole machine's market, as an administrator sees it.
//
// ramm.hpp is about one process's own priced memory.  This header reads what
// the kernel shows about everyone: the tunables and counters of
// /sys/kernel/mm/ramm/ and the Ramm* lines of every /proc/PID/status (see
// Documentation/admin-guide/mm/ramm.rst, "sysfs interface" and "Per-process
// information").  Every call takes the directory to read, so the tests (and
// rammctl --sysfs/--proc) can point it at a fake tree.
//
// Nothing here needs RAMM in the running kernel: without it the sysfs
// directory is absent (read_market() says so, it is not an error) and no
// process has Ramm* lines.

#ifndef RAMM_MARKET_HPP
#define RAMM_MARKET_HPP

#include <ramm/ramm.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramm {

inline constexpr const char* default_market_sysfs_dir = "/sys/kernel/mm/ramm";
inline constexpr const char* default_proc_dir = "/proc";

// The tunables (writable by root), in the documented order.
std::span<const std::string_view> market_tunable_names() noexcept;
// The counters this library knows (read-only), in the documented order.
// "participants" is a gauge (registered now); all others count since boot.
std::span<const std::string_view> market_counter_names() noexcept;
bool is_market_tunable(std::string_view name) noexcept;

// One tunable setting, as "NAME=VALUE" on rammctl's command line.
struct MarketTunable {
	std::string name;
	std::uint64_t value = 0;
};

// "deadline_ms=200" -> {"deadline_ms", 200}.  EINVAL (before anything is
// written) for a missing '=', an unknown tunable, or a value that is not an
// unsigned decimal integer.  The kernel checks the range.
Result<MarketTunable> parse_tunable_assignment(std::string_view text);

// Everything in the sysfs directory, each file read once (the files are
// read one after another, so the values are not one atomic snapshot).
struct MarketView {
	// False when the directory does not exist: a kernel without RAMM.
	// The lists are then empty.
	bool present = false;
	// The known tunables present, in the documented order.
	std::vector<std::pair<std::string, std::uint64_t>> tunables;
	// The known counters present, in the documented order, then every
	// other regular file (a newer kernel's counters), alphabetically.
	std::vector<std::pair<std::string, std::uint64_t>> counters;
};

// EBADMSG for a file that does not hold one unsigned decimal integer.
Result<MarketView> read_market(const std::string& sysfs_dir = default_market_sysfs_dir);

// One tunable's value; EINVAL for a name that is not a known tunable.
Result<std::uint64_t> read_tunable(std::string_view name,
				   const std::string& sysfs_dir = default_market_sysfs_dir);

// Writes value to the tunable.  EINVAL, before writing, for a name that is
// not a known tunable (so no other file of the directory, and nothing
// outside it, can be written through this call).  Otherwise the kernel's
// errno: EINVAL for a value out of range, EACCES when not root, ENOENT when
// the kernel has no RAMM.
Result<void> set_tunable(std::string_view name, std::uint64_t value,
			 const std::string& sysfs_dir = default_market_sysfs_dir);

// One process's line in the market.
struct ProcessRamm {
	int pid = 0;
	std::string comm;               // Name: of its status
	std::uint64_t priced_kb = 0;    // RammPriced: (size of priced mappings)
	std::uint64_t discardable_kb = 0;  // RammDiscardable: (part of it)
	std::uint64_t credit = 1000;    // RammCredit:, in thousandths
};

// Every process of proc_dir whose status shows priced memory (RammPriced:
// not 0) or a credit below 1000, the largest RammPriced: first (then by
// PID).  A process without Ramm* lines (any process on a kernel without
// RAMM) has none of either.  Processes that exit while being read, and
// those whose status may not be read, are left out; EBADMSG for a malformed
// Ramm* line.
Result<std::vector<ProcessRamm>>
list_priced_processes(const std::string& proc_dir = default_proc_dir);

}  // namespace ramm

#endif  // RAMM_MARKET_HPP
