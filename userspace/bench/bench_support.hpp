// SPDX-License-Identifier: GPL-2.0
//
// What the demo and benchmark programs share: a clock, /proc/meminfo, and
// memory filled with data no page could be deduplicated or compressed from.

#ifndef RAMM_BENCH_SUPPORT_HPP
#define RAMM_BENCH_SUPPORT_HPP

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

}  // namespace ramm::bench

#endif
