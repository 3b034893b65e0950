// SPDX-License-Identifier: GPL-2.0
//
// What the demo and benchmark programs share: a clock, /proc/meminfo and
// /proc/vmstat, RAMM's sysfs values, and memory filled with data no page
// could be deduplicated or compressed from.

#ifndef RAMM_BENCH_SUPPORT_HPP
#define RAMM_BENCH_SUPPORT_HPP

#include <ramm/market.hpp>

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace ramm::bench {

constexpr std::size_t MiB = std::size_t{1} << 20;

// CLOCK_MONOTONIC in nanoseconds: the clock the kernel's detected_ns uses.
inline std::uint64_t now_ns()
{
	timespec ts{};
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

// A /proc/meminfo field ("MemAvailable", "MemFree") in bytes; 0 if absent.
inline std::uint64_t meminfo_bytes(std::string_view field)
{
	std::ifstream in("/proc/meminfo");
	std::string name, unit;
	std::uint64_t kib;
	while (in >> name >> kib) {
		std::getline(in, unit);
		if (name.size() == field.size() + 1 && name.starts_with(field))
			return kib * 1024;
	}
	return 0;
}

// A /proc/vmstat counter ("oom_kill"); 0 if absent.
inline std::uint64_t vmstat(std::string_view field)
{
	std::ifstream in("/proc/vmstat");
	std::string name;
	std::uint64_t value;
	while (in >> name >> value)
		if (name == field)
			return value;
	return 0;
}

// A counter or tunable of /sys/kernel/mm/ramm ("wakes", "headroom_permille");
// 0 if it cannot be read.  One file, not read_market()'s whole directory:
// ramm-latency reads it the moment it is woken.
inline std::uint64_t market_value(std::string_view name)
{
	std::uint64_t value = 0;
	std::ifstream(std::string(ramm::default_market_sysfs_dir) + "/" + std::string(name)) >> value;
	return value;
}

// Fills len bytes (a multiple of 8) with xorshift noise from seed.
inline void fill_noise(std::byte* p, std::size_t len, std::uint64_t seed)
{
	std::uint64_t x = seed | 1;
	auto* w = reinterpret_cast<std::uint64_t*>(p);
	for (std::size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

// --- data a process can check ----------------------------------------------
//
// Every page starts with a word only its owner's page would hold and is
// filled with xorshift noise, so a dropped page (zero-filled when touched
// again) is told apart from a kept one, and nothing compresses.

constexpr std::size_t data_page_size = 4096;

inline std::uint64_t page_tag(std::uint64_t seed, std::size_t page)
{
	return (seed * 0x9e3779b97f4a7c15ull) ^ (page * 0xbf58476d1ce4e5b9ull) ^ 1;
}

inline void fill(std::byte* data, std::size_t len, std::uint64_t seed)
{
	fill_noise(data, len, seed);
	for (std::size_t page = 0; page < len / data_page_size; page++)
		*reinterpret_cast<std::uint64_t*>(data + page * data_page_size) = page_tag(seed, page);
}

// Pages still holding what fill() put there, judged by their first word.
inline std::size_t intact_pages(const std::byte* data, std::size_t len, std::uint64_t seed)
{
	std::size_t intact = 0;
	for (std::size_t page = 0; page < len / data_page_size; page++) {
		const auto* word = reinterpret_cast<const std::uint64_t*>(data + page * data_page_size);
		intact += *word == page_tag(seed, page);
	}
	return intact;
}

// Pages whose every byte is still what fill() put there: the whole
// content compared, for data that must come through untouched.
inline std::size_t identical_pages(const std::byte* data, std::size_t len, std::uint64_t seed)
{
	constexpr std::size_t words_per_page = data_page_size / 8;
	const auto* w = reinterpret_cast<const std::uint64_t*>(data);
	std::uint64_t x = seed | 1;
	std::size_t identical = 0;
	for (std::size_t page = 0; page < len / data_page_size; page++) {
		bool same = true;
		for (std::size_t i = 0; i < words_per_page; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			const std::uint64_t want = i == 0 ? page_tag(seed, page) : x;
			same &= w[page * words_per_page + i] == want;
		}
		identical += same;
	}
	return identical;
}

}  // namespace ramm::bench

#endif
