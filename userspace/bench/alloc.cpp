// SPDX-License-Identifier: GPL-2.0
//
// ramm-allocbench: small-object allocate/free throughput, libramm's Arena
// against glibc malloc, in one run.
//
//   ramm-allocbench [--ops N] [--threads T] [--json FILE]
//
// Each thread keeps a window of 4096 live objects of 16..512 bytes and, N
// times, frees a random one and allocates a new one of a random size (the
// same sequence for both allocators), writing the object's first bytes as a
// program would.  Reported: millions of operations (one free + one
// allocation) per second, the best of three runs.

#include <ramm/ramm.hpp>

#include "bench_support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace ramm::bench;

struct Rng {
	std::uint64_t x;
	std::uint64_t next()
	{
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		return x;
	}
};

constexpr std::size_t window = 4096;

template <typename Alloc, typename Free>
void churn(std::uint64_t ops, std::uint64_t seed, Alloc alloc, Free release)
{
	Rng rng{seed | 1};
	std::vector<void*> live(window, nullptr);
	for (auto& p : live) {
		const std::size_t size = 16 + rng.next() % 497;
		p = alloc(size);
		std::memset(p, 1, 16);
	}
	for (std::uint64_t i = 0; i < ops; i++) {
		const std::size_t slot = rng.next() % window;
		const std::size_t size = 16 + rng.next() % 497;
		release(live[slot]);
		live[slot] = alloc(size);
		std::memset(live[slot], int(i), 16);
	}
	for (void* p : live)
		release(p);
}

// Millions of operations per second over all threads, best of three.
template <typename Alloc, typename Free>
double measure(unsigned threads, std::uint64_t ops, Alloc alloc, Free release)
{
	double best = 0;
	for (int rep = 0; rep < 3; rep++) {
		const std::uint64_t t0 = now_ns();
		std::vector<std::thread> pool;
		for (unsigned t = 0; t < threads; t++)
			pool.emplace_back([&, t] { churn(ops, t + 1, alloc, release); });
		for (auto& th : pool)
			th.join();
		const double s = double(now_ns() - t0) / 1e9;
		best = std::max(best, double(ops) * threads / s / 1e6);
	}
	return best;
}

}  // namespace

int main(int argc, char** argv)
{
	std::uint64_t ops = 2000000;
	unsigned threads = 1;
	std::string json;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string_view arg = argv[i], v = argv[i + 1];
		bool ok = true;
		if (arg == "--ops")
			ok = std::from_chars(v.data(), v.data() + v.size(), ops).ec == std::errc{} && ops;
		else if (arg == "--threads")
			ok = std::from_chars(v.data(), v.data() + v.size(), threads).ec == std::errc{} &&
			     threads;
		else if (arg == "--json")
			json = v;
		else
			ok = false;
		if (!ok) {
			fmt::print(stderr, "usage: ramm-allocbench [--ops N] [--threads T] [--json FILE]\n");
			return 2;
		}
	}
	if (argc % 2 == 0) {
		fmt::print(stderr, "usage: ramm-allocbench [--ops N] [--threads T] [--json FILE]\n");
		return 2;
	}

	const double glibc = measure(threads, ops, [](std::size_t n) { return std::malloc(n); },
				     [](void* p) { std::free(p); });
	ramm::Arena arena;
	auto cls = arena.price_class(1000, ramm::Flags::preserved);
	if (!cls) {
		fmt::print(stderr, "ramm-allocbench: {}\n", cls.error().what());
		return 1;
	}
	ramm::PriceClass& pc = cls->get();
	const double libramm = measure(threads, ops,
				       [&pc](std::size_t n) {
					       void* p = pc.allocate(n);
					       if (p == nullptr)
						       std::abort();
					       return p;
				       },
				       [&pc](void* p) { pc.deallocate(p); });

	fmt::print("{} thread(s), {} ops each: glibc malloc {:.1f} Mops/s, libramm Arena "
		   "{:.1f} Mops/s ({:.2f}x glibc's time)\n",
		   threads, ops, glibc, libramm, glibc / libramm);
	if (!json.empty()) {
		std::ofstream out(json);
		out << fmt::format("{{\"kind\":\"alloc\",\"threads\":{},\"ops\":{},"
				   "\"glibc_mops\":{:.2f},\"libramm_mops\":{:.2f}}}\n",
				   threads, ops, glibc, libramm);
		if (!out)
			return 1;
	}
	return 0;
}
