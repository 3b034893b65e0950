// SPDX-License-Identifier: GPL-2.0
//
// ramm::Cache on any kernel: tiers, degradation under release(), purges
// never read as data, statistics.

#include "test_support.hpp"

#include <ramm/cache.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <random>

namespace {

using ramm::Cache;
using IntCache = ramm::Cache<int, int>;

// A compressible value: text-like, different per key.
std::string value_for(int key, std::size_t size = 2000)
{
	std::string v;
	while (v.size() < size)
		v += fmt::format("entry {} says hello, ", key);
	v.resize(size);
	return v;
}

// An incompressible value.
std::vector<std::uint64_t> noise_for(int key, std::size_t words = 256)
{
	std::mt19937_64 rng(static_cast<std::uint64_t>(key));
	std::vector<std::uint64_t> v(words);
	for (auto& w : v)
		w = rng();
	return v;
}

TEST(Cache, RejectsBadPrices)
{
	ramm::CacheOptions o;
	o.hot_price = 0;
	EXPECT_EQ(IntCache::create(o).error().errnum(), EINVAL);
	o.hot_price = 100;
	o.cold_price = 200;
	EXPECT_EQ(IntCache::create(o).error().errnum(), EINVAL);
	o.cold_price = 101;  // the same price class as the hot tier
	EXPECT_EQ(IntCache::create(o).error().errnum(), EINVAL);
}

TEST(Cache, PutGetEraseAndTypedCodecs)
{
	auto c = Cache<int, std::string>::create().value();
	for (int i = 0; i < 100; i++)
		ASSERT_TRUE(c.put(i, value_for(i)));
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(c.get(i), value_for(i));
	EXPECT_FALSE(c.get(100).has_value());
	ASSERT_TRUE(c.put(7, "replaced"));
	EXPECT_EQ(c.get(7), "replaced");
	EXPECT_TRUE(c.erase(7));
	EXPECT_FALSE(c.erase(7));
	EXPECT_FALSE(c.contains(7));

	auto vec = Cache<std::string, std::vector<std::uint64_t>>::create().value();
	ASSERT_TRUE(vec.put("a", noise_for(1)));
	EXPECT_EQ(vec.get("a"), noise_for(1));

	const auto s = c.stats();
	EXPECT_EQ(s.hits, 101U);
	EXPECT_EQ(s.misses, 1U);
	EXPECT_EQ(s.hot_entries, 99U);
	EXPECT_EQ(s.inserts, 101U);
}

// Ask the cache's arena for all of it, a bit at a time, as the kernel
// would: the cheapest (cold) tier first, then the hot one.
std::size_t ask(ramm::Listener& l, std::uint64_t price_at_most, std::size_t amount)
{
	std::size_t released = 0;
	for (const auto& r : l.ranges()) {
		if (r.price > price_at_most)
			continue;
		ramm::Request q;
		q.start = r.addr;
		q.len = r.len;
		q.price = r.price;
		q.amount = amount;
		released += l.on_ask(q);
	}
	return released;
}

TEST(Cache, DegradesThroughItsTiers)
{
	ramm::CacheOptions o;
	o.hot_price = 40000;
	auto c = Cache<int, std::string>::create(o).value();
	constexpr int kEntries = 2000;  // 4 MB of values
	for (int i = 0; i < kEntries; i++)
		ASSERT_TRUE(c.put(i, value_for(i)));
	// Touch the second half: the first half is the colder.
	for (int i = kEntries / 2; i < kEntries; i++)
		ASSERT_TRUE(c.get(i).has_value());

	// Asked for hot memory, it compresses the coldest entries.
	const std::size_t released = ask(c.listener(), o.hot_price, std::size_t{1} << 20);
	EXPECT_GE(released, std::size_t{1} << 20);
	auto s = c.stats();
	EXPECT_GT(s.demotions, 0U);
	EXPECT_EQ(s.evictions, 0U);
	EXPECT_GT(s.cold_entries, 0U);
	EXPECT_LT(s.cold_bytes, s.cold_raw_bytes / 2);  // it compressed
	EXPECT_EQ(s.hot_entries + s.cold_entries, static_cast<std::size_t>(kEntries));

	// Every value is still right, cold ones come back hot.
	const int cold_one = 0;  // the coldest entry of all
	const auto before = c.stats().cold_hits;
	ASSERT_EQ(c.get(cold_one), value_for(cold_one));
	EXPECT_EQ(c.stats().cold_hits, before + 1);
	EXPECT_EQ(c.stats().promotions, 1U);

	// Asked for the cold tier, it drops the coldest compressed entries:
	// those are misses, never garbage.
	const auto cold_before = c.stats().cold_entries;
	EXPECT_GT(ask(c.listener(), o.hot_price / 4, std::size_t{64} << 10), 0U);
	s = c.stats();
	EXPECT_GT(s.evictions, 0U);
	EXPECT_LT(s.cold_entries, cold_before);
	int missing = 0;
	for (int i = 0; i < kEntries; i++) {
		auto v = c.get(i);
		if (!v)
			missing++;
		else
			ASSERT_EQ(*v, value_for(i)) << i;
	}
	EXPECT_EQ(static_cast<std::uint64_t>(missing), s.evictions);
}

TEST(Cache, IncompressibleEntriesAreDroppedNotDemoted)
{
	auto c = Cache<int, std::vector<std::uint64_t>>::create().value();
	for (int i = 0; i < 300; i++)
		ASSERT_TRUE(c.put(i, noise_for(i)));
	EXPECT_GT(ask(c.listener(), UINT64_MAX, std::size_t{256} << 10), 0U);
	const auto s = c.stats();
	EXPECT_EQ(s.demotions, 0U);
	EXPECT_GT(s.evictions, 0U);
	EXPECT_EQ(s.cold_entries, 0U);
}

TEST(Cache, PurgedValuesAreMissesNeverGarbage)
{
	auto c = Cache<int, std::string>::create().value();
	for (int i = 0; i < 200; i++)
		ASSERT_TRUE(c.put(i, value_for(i)));
	// Do what a kernel purge does: zero-fill the pages, here with
	// MADV_DONTNEED on the first page of the hot region.
	const auto ranges = c.listener().ranges();
	ASSERT_FALSE(ranges.empty());
	const auto page = ramm_test::page_size();
	ASSERT_EQ(::madvise(reinterpret_cast<void*>(ranges[0].addr), page, MADV_DONTNEED), 0);

	// Before the purge record is read, a lookup still never sees zeros.
	int lost = 0;
	for (int i = 0; i < 200; i++) {
		auto v = c.get(i);
		if (!v)
			lost++;
		else
			ASSERT_EQ(*v, value_for(i));
	}
	EXPECT_GT(lost, 0);
	EXPECT_EQ(c.stats().purged_drops, static_cast<std::uint64_t>(lost));
}

TEST(Cache, APurgeNoticeDropsExactlyTheDamagedEntries)
{
	auto c = Cache<int, std::string>::create().value();
	for (int i = 0; i < 200; i++)
		ASSERT_TRUE(c.put(i, value_for(i)));
	const auto r = c.listener().ranges().at(0);
	const auto page = ramm_test::page_size();
	ASSERT_EQ(::madvise(reinterpret_cast<void*>(r.addr), page, MADV_DONTNEED), 0);

	ramm::Request purge;
	purge.reason = ramm::Request::Reason::purged;
	purge.start = r.addr;
	purge.len = r.len;
	purge.amount = page;
	c.listener().on_purge(purge);
	const auto s = c.stats();
	// A 4 KiB page holds parts of three 2000-byte entries at most.
	EXPECT_GE(s.purged_drops, 2U);
	EXPECT_LE(s.purged_drops, 3U);
	EXPECT_EQ(s.hot_entries, 200U - s.purged_drops);
	for (int i = 0; i < 200; i++) {
		auto v = c.get(i);
		if (v) {
			ASSERT_EQ(*v, value_for(i));
		}
	}
}

TEST(Cache, MaxBytesDropsTheColdestFirst)
{
	ramm::CacheOptions o;
	o.max_bytes = 100 * 2000;
	auto c = Cache<int, std::string>::create(o).value();
	for (int i = 0; i < 150; i++)
		ASSERT_TRUE(c.put(i, value_for(i)));
	const auto s = c.stats();
	EXPECT_EQ(s.capacity_drops, 50U);
	EXPECT_FALSE(c.get(0).has_value());
	EXPECT_FALSE(c.get(49).has_value());
	EXPECT_TRUE(c.get(50).has_value());
	EXPECT_TRUE(c.get(149).has_value());
}

TEST(Cache, ConcurrentReadersWritersAndAsks)
{
	auto c = Cache<int, std::string>::create().value();
	std::atomic<bool> stop{false};
	std::atomic<int> garbage{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 3; t++) {
		threads.emplace_back([&, t] {
			std::mt19937 rng(static_cast<unsigned>(t));
			for (int i = 0; i < 20000; i++) {
				const int k = static_cast<int>(rng() % 500);
				if (rng() % 3 == 0) {
					c.put(k, value_for(k));
				} else if (auto v = c.get(k); v && *v != value_for(k)) {
					garbage++;
				}
			}
		});
	}
	std::thread asker([&] {
		while (!stop)
			ask(c.listener(), UINT64_MAX, std::size_t{128} << 10);
	});
	for (auto& t : threads)
		t.join();
	stop = true;
	asker.join();
	EXPECT_EQ(garbage, 0);
}

TEST(Cache, StatsPrintThroughASink)
{
	auto c = Cache<int, std::string>::create().value();
	ASSERT_TRUE(c.put(1, "one"));
	(void)c.get(1);
	(void)c.get(2);
	std::vector<std::string> lines;
	c.print_stats([&](std::string_view l) { lines.emplace_back(l); });
	ASSERT_EQ(lines.size(), 4U);
	EXPECT_NE(lines[0].find("hit rate 50.0%"), std::string::npos) << lines[0];
}

}  // namespace
