// SPDX-License-Identifier: GPL-2.0
//
// libramm against the real market, in the guest's RAMM kernel: a child hog
// makes memory short, krammmd asks this process (the only participant) for
// its cheap memory, and the Dispatcher must deliver each ask to the right
// owner, which gives the memory back.

#include <ramm/cache.hpp>
#include <ramm/market.hpp>
#include <ramm/ramm.hpp>

#include "pressure.hpp"
#include "test_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace pressure;
using ramm::Flags;

// Sets a /sys/kernel/mm/ramm tunable for one test.
class Tunable {
public:
	Tunable(const char* name, std::uint64_t value) : name_(name)
	{
		old_ = ramm::read_tunable(name).value();
		ramm::set_tunable(name, value).value();
	}
	~Tunable() { (void)ramm::set_tunable(name_, old_); }

private:
	const char* name_;
	std::uint64_t old_;
};

// What the market and this process saw, for failure messages.
std::string diagnosis(const ramm::Dispatcher& d)
{
	std::string out;
	const auto k = ramm::get_stats().value();
	const auto s = d.stats();
	out += fmt::format("kernel: registered {} asked {} answered {} late {} ignored {} "
			   "purged {}; dispatcher: asks {} purges {} unrouted {}; market:",
			   k.registered, k.asked, k.answered, k.late, k.ignored,
			   k.purged_bytes, s.asks, s.purges, s.unrouted);
	for (const auto& [name, value] : ramm::read_market().value().counters)
		out += fmt::format(" {}={}", name, value);
	return out + fmt::format("; MemAvailable {} MiB", mem_available() / MiB);
}

// Turns the first active swap device off for one test, and back on.
//
// With zram swap and the hog's incompressible data, reclaim "progresses" by
// compressing pages into as much RAM as they held: the guest thrashes for
// minutes, this process's own pages (the dispatcher's among them) are
// swapped in and out, and no ask is answered in bounded time.  Without
// swap only what owners give back frees anonymous memory, which is what
// these tests are about (market_test.c does the same).
class SwapOff {
public:
	SwapOff()
	{
		std::ifstream swaps("/proc/swaps");
		std::string header, dev;
		if (std::getline(swaps, header) && (swaps >> dev) && ::swapoff(dev.c_str()) == 0)
			dev_ = dev;
	}
	~SwapOff()
	{
		if (!dev_.empty())
			::swapon(dev_.c_str(), 0);
	}
	SwapOff(const SwapOff&) = delete;
	SwapOff& operator=(const SwapOff&) = delete;

private:
	std::string dev_;
};

class Market : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_TRUE(ramm::kernel_support().present) << "needs the RAMM kernel";
		set_oom_score_adj(-1000);  // the hog is the one to die
	}
	void TearDown() override { set_oom_score_adj(0); }

	SwapOff swap_off_;

	// Ask early and give owners time: TCG guests are slow.
	Tunable headroom_{"headroom_permille", 100};
	Tunable deadline_{"deadline_ms", 2000};
};

TEST_F(Market, AKernelAskReachesTheOwnersCallbackWithTheRangeAndAmount)
{
	auto dispatcher = ramm::Dispatcher::start().value();
	ASSERT_EQ(dispatcher->mode(), ramm::DispatchMode::kernel);

	// Preserved: the kernel never purges it, so only the owner's release
	// can answer the ask.
	auto cache = ramm::PricedMapping::create(32 * MiB, 1, Flags::preserved,
						 {PROT_READ | PROT_WRITE, MAP_POPULATE}).value();
	std::memset(cache.data(), 0x5a, cache.size());

	std::mutex mutex;
	std::vector<ramm::Request> asks, purges;
	ramm::MappingListener listener(
		cache,
		[&](const ramm::Request& r) {
			// Give back what was asked, from the start of the range.
			const std::size_t n = std::min(r.amount, r.len);
			EXPECT_EQ(::madvise(reinterpret_cast<void*>(r.start), n, MADV_DONTNEED), 0);
			const std::lock_guard lock(mutex);
			asks.push_back(r);
			return n;
		},
		[&](const ramm::Request& r) {
			const std::lock_guard lock(mutex);
			purges.push_back(r);
		});
	auto sub = dispatcher->subscribe(listener);

	{
		Hog hog(mem_available() + 64 * MiB);
		ASSERT_TRUE(wait_for([&] {
			const std::lock_guard lock(mutex);
			return !asks.empty();
		}, 60s)) << "no ask reached the callback in 60 s: " << diagnosis(*dispatcher);
	}

	const std::lock_guard lock(mutex);
	const auto begin = reinterpret_cast<std::uintptr_t>(cache.data());
	const ramm::Request& a = asks.front();
	EXPECT_EQ(a.reason, ramm::Request::Reason::ask);
	EXPECT_GE(a.start, begin);
	EXPECT_LE(a.start + a.len, begin + cache.size());
	EXPECT_GT(a.amount, 0U);
	EXPECT_LE(a.amount, a.len);
	EXPECT_EQ(a.price, 1U);
	EXPECT_EQ(a.flags, Flags::preserved);
	EXPECT_GT(a.seq, 0U);
	EXPECT_GT(a.deadline_ns, a.detected_ns);

	// The kernel saw the memory come back: the ask was answered.
	EXPECT_TRUE(wait_for([] { return ramm::get_stats().value().answered > 0; }, 10s))
		<< "asked " << ramm::get_stats().value().asked << ", answered 0";
	const auto s = dispatcher->stats();
	EXPECT_GE(s.asks, asks.size());
	EXPECT_GE(s.bytes_released, a.amount);
	EXPECT_GT(s.latency_samples, 0U);
}

// Real asks, from a hog that keeps memory short, reach the cache, which
// gives memory up in its tier order and never returns garbage.  (Flaky
// while krammmd was woken only at kswapd's low watermark: asks came too
// late and direct reclaim purged the hot tier instead.)
TEST_F(Market, TheCacheGivesUpMemoryUnderRealPressureAndNeverReturnsGarbage)
{
	auto dispatcher = ramm::Dispatcher::start().value();
	ramm::CacheOptions o;
	o.hot_price = 8;   // the cheapest memory of the machine
	o.cold_price = 2;
	auto cache = ramm::Cache<int, std::string>::create(o, dispatcher.get()).value();

	const auto value_for = [](int key) {
		std::string v;
		while (v.size() < 2000)
			v += "entry " + std::to_string(key) + " is here; ";
		v.resize(2000);
		return v;
	};
	constexpr int kEntries = 24000;  // 48 MB of values
	for (int i = 0; i < kEntries; i++)
		ASSERT_TRUE(cache.put(i, value_for(i)));

	{
		Hog hog(mem_available() + 64 * MiB, 8 * MiB);
		// The order of the tiers is checked on the host (cache_test);
		// here, that real asks reach the cache and it gives memory up.
		// The dispatcher counts an ask once the listener has returned,
		// which can be long after the cache started giving memory up.
		EXPECT_TRUE(wait_for([&] {
			const auto st = cache.stats();
			return st.demotions + st.evictions > 0 && dispatcher->stats().asks > 0;
		}, 60s)) << "the cache gave nothing back: " << diagnosis(*dispatcher);
	}
	cache.print_stats([](std::string_view l) { std::fprintf(stderr, "%.*s\n",
		static_cast<int>(l.size()), l.data()); });

	const auto given_up = cache.stats();
	// Every lookup is the value or a miss, never garbage.
	for (int i = 0; i < kEntries; i++) {
		auto v = cache.get(i);
		if (v) {
			ASSERT_EQ(*v, value_for(i)) << "entry " << i << " came back wrong";
		}
	}
	// The hot tier is the cheapest memory of the machine, so it is asked
	// first, and it gives up by compressing into the cold tier.  (Whether
	// what was demoted is still there to hit depends on asks that may
	// still be arriving.)
	EXPECT_GT(given_up.demotions, 0U);
}

}  // namespace
