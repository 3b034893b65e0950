// SPDX-License-Identifier: GPL-2.0
//
// What ramm-scenario and ramm-balloon share: the line protocol their child
// processes report to the driver on, and the children's memory (plain and
// priced mappings, a cache tier that gives back from its top).  Both
// programs run the same kind of scenario and the guest tests parse what
// both print, so the plumbing has one home here and each program keeps
// only its own story and its own lines of output.

#ifndef RAMM_DEMO_SCENARIO_SUPPORT_HPP
#define RAMM_DEMO_SCENARIO_SUPPORT_HPP

#include <ramm/ramm.hpp>

#include "bench_support.hpp"

#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ramm::demo {

inline double mib(std::uint64_t bytes)
{
	return double(bytes) / double(bench::MiB);
}

// --- what children tell the driver -------------------------------------------
//
// One line per message on a shared pipe, each written with one write(2) of
// less than PIPE_BUF bytes, so lines from different processes never mix:
//   E <ns> <role> <text>          a timeline event
//   A <ns> <role> ...             an ask answered (each program's own fields)
//   R <role> <key> <value>        a result (an integer)

inline int g_report_fd = -1;
inline const char* g_role = "driver";

inline void send_line(const std::string& line)
{
	std::string text = line.size() < 500 ? line : line.substr(0, 500);
	text += '\n';
	ssize_t n;
	do {
		n = ::write(g_report_fd, text.data(), text.size());
	} while (n < 0 && errno == EINTR);
}

template <typename... Args>
void event(fmt::format_string<Args...> format, Args&&... args)
{
	send_line(fmt::format("E {} {} {}", bench::now_ns(), g_role,
			      fmt::format(format, std::forward<Args>(args)...)));
}

inline void result(std::string_view key, std::uint64_t value)
{
	send_line(fmt::format("R {} {} {}", g_role, key, value));
}

inline std::byte* map_plain(std::size_t len)
{
	void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		event("mmap of {:.0f} MiB failed: {}", mib(len), std::strerror(errno));
		std::_Exit(1);
	}
	return static_cast<std::byte*>(p);
}

// An mmap_priced() mapping; the process exits if it gets none.
inline ramm::PricedMapping map_priced(std::size_t len, std::uint64_t price, ramm::Flags flags)
{
	auto m = ramm::PricedMapping::create(len, price, flags);
	if (!m) {
		event("mmap_priced failed: {}", m.error().what());
		std::_Exit(1);
	}
	return std::move(*m);
}

// libramm's Dispatcher, for a process that cannot do without one: it
// exits if there is none.
inline std::unique_ptr<ramm::Dispatcher> start_dispatcher(ramm::Options options = {})
{
	auto started = ramm::Dispatcher::start(std::move(options));
	if (!started) {
		event("Dispatcher::start failed: {}", started.error().what());
		std::_Exit(1);
	}
	return std::move(*started);
}

// Blocks until the driver says "check" (a byte on fd) or goes away.
inline void wait_for_driver(int fd)
{
	char c;
	while (::read(fd, &c, 1) < 0 && errno == EINTR) {
	}
}

// --- a cache's tier ------------------------------------------------------------

struct Tier {
	std::string name;
	std::uint64_t price;
	std::uint64_t seed;
	std::size_t len;
	ramm::PricedMapping priced;   // the variants with priced memory
	std::byte* plain = nullptr;   // the variants with plain memory
	// Bytes at the start of the tier not given back yet; only the
	// dispatcher thread changes it.
	std::atomic<std::size_t> kept{0};

	std::byte* data() { return plain != nullptr ? plain : priced.data(); }
};

// Maps the tier, priced and discardable or plain, and fills it.
inline void map_tier(Tier& tier, bool priced)
{
	if (priced)
		tier.priced = map_priced(tier.len, tier.price, ramm::Flags::discardable);
	else
		tier.plain = map_plain(tier.len);
	bench::fill(tier.data(), tier.len, tier.seed);
	tier.kept = tier.len;
}

// Gives back up to `amount` bytes from the top of what the tier still keeps.
inline std::size_t drop_from_top(Tier& tier, std::size_t amount)
{
	constexpr std::size_t page_size = bench::data_page_size;
	const std::size_t kept = tier.kept.load();
	const std::size_t give = std::min(kept, (amount + page_size - 1) / page_size * page_size);
	if (give == 0)
		return 0;
	if (::madvise(tier.data() + kept - give, give, MADV_DONTNEED) != 0)
		return 0;
	tier.kept.store(kept - give);
	return give;
}

}  // namespace ramm::demo

#endif  // RAMM_DEMO_SCENARIO_SUPPORT_HPP
