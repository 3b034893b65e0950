// SPDX-License-Identifier: GPL-2.0
//
// Arena and PricedResource on any kernel (RAMM_DISABLE forces the plain
// mmap() path where it matters; the allocator's logic is the same).

#include "test_support.hpp"

#include <ramm/ramm.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <latch>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using ramm::Arena;
using ramm::Flags;

// Every byte of an allocation holds a pattern derived from its id, so an
// overlap or a stray write is found when the pattern is checked.
unsigned char pattern(std::uint64_t id, std::size_t i)
{
	return static_cast<unsigned char>((id * 131 + i * 7) ^ (id >> 8));
}

void fill(void* p, std::size_t n, std::uint64_t id)
{
	auto* b = static_cast<unsigned char*>(p);
	for (std::size_t i = 0; i < n; i++)
		b[i] = pattern(id, i);
}

bool intact(const void* p, std::size_t n, std::uint64_t id)
{
	const auto* b = static_cast<const unsigned char*>(p);
	for (std::size_t i = 0; i < n; i++)
		if (b[i] != pattern(id, i))
			return false;
	return true;
}

TEST(PriceClassFloor, KeepsTheTopThreeBits)
{
	EXPECT_EQ(ramm::price_class_floor(0), 0U);
	EXPECT_EQ(ramm::price_class_floor(5), 5U);
	EXPECT_EQ(ramm::price_class_floor(8), 8U);
	EXPECT_EQ(ramm::price_class_floor(15), 14U);
	EXPECT_EQ(ramm::price_class_floor(2000), 1792U);  // 0b111'1101'0000
	EXPECT_EQ(ramm::price_class_floor(2048), 2048U);
	EXPECT_EQ(ramm::price_class_floor(3000), 2560U);
	// Never above the price, and within 25% of it.
	for (std::uint64_t p = 1; p < 100000; p += 37) {
		const auto f = ramm::price_class_floor(p);
		ASSERT_LE(f, p);
		ASSERT_GE(f * 5 / 4 + 1, p) << p;
	}
}

TEST(Arena, SimilarPricesShareAClassAndDifferentOnesDoNot)
{
	Arena arena;
	auto& a = arena.price_class(2000, Flags::discardable).value().get();
	auto& b = arena.price_class(2001, Flags::discardable).value().get();
	auto& c = arena.price_class(2000, Flags::preserved).value().get();
	auto& d = arena.price_class(4000, Flags::discardable).value().get();

	EXPECT_EQ(&a, &b);
	EXPECT_NE(&a, &c);
	EXPECT_NE(&a, &d);
	EXPECT_EQ(a.price(), 1792U);
	EXPECT_EQ(arena.price_class(0, Flags::preserved).error().errnum(), EINVAL);
	EXPECT_EQ(arena.price_class(1, static_cast<Flags>(8)).error().errnum(), EINVAL);
}

TEST(Arena, AllocationsOfOneClassShareRegionsOfOthersDoNot)
{
	Arena arena;
	void* cheap1 = arena.allocate(100, 500, Flags::discardable);
	void* cheap2 = arena.allocate(5000, 510, Flags::discardable);
	void* dear = arena.allocate(100, 90000, Flags::preserved);
	ASSERT_NE(cheap1, nullptr);
	ASSERT_NE(cheap2, nullptr);
	ASSERT_NE(dear, nullptr);

	const auto ranges = arena.ranges();
	ASSERT_EQ(ranges.size(), 2U);
	const auto holder = [&](void* p) {
		const auto a = reinterpret_cast<std::uintptr_t>(p);
		return std::find_if(ranges.begin(), ranges.end(), [a](const ramm_range& r) {
			return r.addr <= a && a < r.addr + r.len;
		});
	};
	EXPECT_EQ(holder(cheap1), holder(cheap2));
	EXPECT_NE(holder(cheap1), holder(dear));
	EXPECT_EQ(holder(dear)->price, ramm::price_class_floor(90000));
	EXPECT_EQ(holder(dear)->ramm_flags, 0U);
	EXPECT_EQ(holder(cheap1)->ramm_flags, RAMM_DISCARDABLE);
	arena.deallocate(cheap1);
	arena.deallocate(cheap2);
	arena.deallocate(dear);
	EXPECT_EQ(arena.stats().allocations, 0U);
}

TEST(Arena, HonoursAlignmentUpTo64K)
{
	Arena arena;
	auto& cls = arena.price_class(1000, Flags::preserved).value().get();
	std::vector<void*> live;

	for (std::size_t align = 1; align <= 65536; align *= 2) {
		for (std::size_t size : {1UL, 24UL, 100UL, 3000UL, 20000UL, 300000UL}) {
			void* p = cls.allocate(size, align);
			ASSERT_NE(p, nullptr) << size << " " << align;
			EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0U)
				<< size << " " << align;
			std::memset(p, 0xab, size);
			live.push_back(p);
		}
	}
	EXPECT_EQ(cls.allocate(8, 3), nullptr);       // not a power of two
	EXPECT_EQ(cls.allocate(8, 1 << 17), nullptr);  // beyond 64 KiB
	for (void* p : live)
		cls.deallocate(p);
	EXPECT_EQ(arena.stats().allocations, 0U);
	EXPECT_EQ(arena.stats().invalid_frees, 0U);
}

TEST(Arena, HugeAllocationsGetARegionOfTheirOwnAndGiveItBack)
{
	Arena arena;
	const std::size_t big = std::size_t{9} << 20;
	void* p = arena.allocate(big, 100, Flags::discardable);
	ASSERT_NE(p, nullptr);
	std::memset(p, 1, big);
	EXPECT_GE(arena.stats().mapped, big);
	arena.deallocate(p);
	EXPECT_EQ(arena.stats().mapped, 0U);
	EXPECT_FALSE(ramm_test::is_mapped(p, ramm_test::page_size()));
}

TEST(Arena, BadFreesAreReportedAndChangeNothing)
{
	Arena arena;
	Arena other;
	auto* p = static_cast<char*>(arena.allocate(64, 100, Flags::preserved));
	ASSERT_NE(p, nullptr);
	int on_stack = 0;

	arena.deallocate(&on_stack);  // not arena memory
	arena.deallocate(p + 16);     // inside an allocation
	other.deallocate(p);          // another arena's
	arena.deallocate(nullptr);    // allowed, as free(NULL)
	EXPECT_EQ(arena.stats().allocations, 1U);
	arena.deallocate(p);
	arena.deallocate(p);          // double free
	EXPECT_EQ(arena.stats().allocations, 0U);
	EXPECT_EQ(arena.stats().invalid_frees, 3U);
	EXPECT_EQ(other.stats().invalid_frees, 1U);
}

// The randomized stress test: random sizes, alignments, classes and frees,
// every live allocation in a shadow map with its pattern, checked on free
// and at the end, so overlaps and corruption cannot hide.
TEST(Arena, RandomizedStressAgainstAShadowMap)
{
	Arena arena;
	std::mt19937_64 rng(20261122);
	struct Live {
		std::size_t size;
		std::uint64_t id;
	};
	std::map<std::uintptr_t, Live> shadow;
	std::uint64_t next_id = 1;
	const std::uint64_t prices[] = {100, 1000, 5000, 100000};
	const auto pick_size = [&] {
		switch (rng() % 10) {
		case 0:
			return static_cast<std::size_t>(rng() % (256 << 10));  // runs
		case 1:
			return static_cast<std::size_t>(rng() % 16384);
		default:
			return static_cast<std::size_t>(rng() % 512);
		}
	};

	for (int step = 0; step < 30000; step++) {
		if (shadow.empty() || rng() % 100 < 55) {
			const std::size_t size = pick_size();
			const std::size_t align = std::size_t{1} << (rng() % 8);
			const auto price = prices[rng() % 4];
			const auto flags = rng() % 2 ? Flags::discardable : Flags::preserved;
			void* p = arena.allocate(size, price, flags, align);
			ASSERT_NE(p, nullptr);
			const auto a = reinterpret_cast<std::uintptr_t>(p);
			ASSERT_EQ(a % align, 0U);
			// No overlap with a neighbour in the shadow map.
			auto next = shadow.lower_bound(a);
			if (next != shadow.end()) {
				ASSERT_LE(a + std::max<std::size_t>(size, 1), next->first);
			}
			if (next != shadow.begin()) {
				auto prev = std::prev(next);
				ASSERT_LE(prev->first + std::max<std::size_t>(prev->second.size, 1), a);
			}
			fill(p, size, next_id);
			shadow[a] = {size, next_id++};
		} else {
			auto it = shadow.begin();
			std::advance(it, static_cast<long>(rng() % shadow.size()));
			ASSERT_TRUE(intact(reinterpret_cast<void*>(it->first), it->second.size,
					   it->second.id));
			arena.deallocate(reinterpret_cast<void*>(it->first));
			shadow.erase(it);
		}
		if (step % 10000 == 0)  // freeing spans back must not touch live data
			for (auto& r : arena.ranges())
				arena.release(r.addr, r.len, r.len);
	}
	EXPECT_EQ(arena.stats().allocations, shadow.size());
	for (auto& [a, live] : shadow) {
		ASSERT_TRUE(intact(reinterpret_cast<void*>(a), live.size, live.id));
		arena.deallocate(reinterpret_cast<void*>(a));
	}
	const auto s = arena.stats();
	EXPECT_EQ(s.allocations, 0U);
	EXPECT_EQ(s.allocated, 0U);
	EXPECT_EQ(s.invalid_frees, 0U);
	// What is left is at most the one region each class keeps.
	EXPECT_LE(s.regions, 8U);
}

TEST(Arena, ThreadsAllocateAndFreeConcurrently)
{
	Arena arena;
	constexpr int kThreads = 4;
	std::vector<std::thread> threads;
	std::atomic<int> failures{0};

	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			std::mt19937 rng(static_cast<unsigned>(t));
			std::vector<std::pair<void*, std::uint64_t>> mine;
			for (int i = 0; i < 20000; i++) {
				if (mine.empty() || rng() % 2) {
					const std::uint64_t id = (std::uint64_t(t) << 32) | unsigned(i);
					void* p = arena.allocate(48, 100 + 1000 * (i % 2),
								 Flags::discardable);
					if (p == nullptr) {
						failures++;
						continue;
					}
					fill(p, 48, id);
					mine.emplace_back(p, id);
				} else {
					// Free another thread's way: any order.
					auto [p, id] = mine[rng() % mine.size()];
					if (!intact(p, 48, id))
						failures++;
					std::erase_if(mine, [p = p](auto& x) { return x.first == p; });
					arena.deallocate(p);
				}
			}
			for (auto [p, id] : mine) {
				if (!intact(p, 48, id))
					failures++;
				arena.deallocate(p);
			}
		});
	}
	for (auto& t : threads)
		t.join();
	EXPECT_EQ(failures, 0);
	EXPECT_EQ(arena.stats().allocations, 0U);
}

// A small object freed by another thread goes to that thread's cache, not
// the allocator's; span and region bookkeeping must stay right while both
// threads also allocate (small slots, runs of spans, and regions of their
// own).
TEST(Arena, ObjectsFreedByAnotherThreadWhileItAllocates)
{
	Arena arena;
	constexpr int kThreads = 4;
	constexpr int kObjects = 2000;
	std::array<std::vector<std::pair<void*, std::uint64_t>>, kThreads> made;
	std::atomic<int> failures{0};
	const auto size_of = [](std::uint64_t id) -> std::size_t {
		static constexpr std::size_t sizes[] = {16, 48, 200, 1000, 16384, 70000};
		return id % 101 == 0 ? 3 << 20 : sizes[id % std::size(sizes)];
	};
	const auto make = [&](int t, int i) -> std::pair<void*, std::uint64_t> {
		const std::uint64_t id = (std::uint64_t(t) << 32) | unsigned(i);
		void* p = arena.allocate(size_of(id), 500, Flags::preserved);
		if (p == nullptr) {
			failures++;
			return {nullptr, id};
		}
		fill(p, size_of(id), id);
		return {p, id};
	};
	const auto check_and_free = [&](std::pair<void*, std::uint64_t> obj) {
		if (obj.first == nullptr)
			return;
		if (!intact(obj.first, size_of(obj.second), obj.second))
			failures++;
		arena.deallocate(obj.first);
	};

	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kObjects; i++)
				made[t].push_back(make(t, i));
		});
	for (auto& th : threads)
		th.join();
	threads.clear();
	// Each thread frees its neighbour's objects, allocating as it goes.
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] {
			std::vector<std::pair<void*, std::uint64_t>> mine;
			for (auto obj : made[(t + 1) % kThreads]) {
				check_and_free(obj);
				mine.push_back(make(t, kObjects + int(mine.size())));
			}
			for (auto obj : mine)
				check_and_free(obj);
		});
	for (auto& th : threads)
		th.join();
	EXPECT_EQ(failures, 0);
	const ramm::ArenaStats st = arena.stats();
	EXPECT_EQ(st.allocations, 0U);
	EXPECT_EQ(st.allocated, 0U);
	EXPECT_EQ(st.invalid_frees, 0U);
	EXPECT_LE(st.regions, 1U);	// empty regions went back, one is kept
}

// Allocates and frees n objects of each size from 16 B to 16 KiB: every
// size class of the calling thread's cache for cls ends up full.
void fill_cache(ramm::PriceClass& cls, int n)
{
	std::vector<void*> v;
	for (std::size_t size = 16; size <= 16384; size += size < 128 ? 16 : size / 4)
		for (int i = 0; i < n; i++) {
			v.push_back(cls.allocate(size));
			std::memset(v.back(), 0x5a, size);
		}
	for (void* p : v)
		cls.deallocate(p);
}

// What a thread keeps cached is free: stats() and release() see it while
// the thread lives (and holds on to it).
TEST(ArenaCaches, ReleaseRecoversAnotherThreadsCachedSlots)
{
	Arena arena;
	auto& cls = arena.price_class(300, Flags::discardable).value().get();
	std::latch freed(1), done(1);
	std::thread holder([&] {
		std::vector<void*> v;
		for (int i = 0; i < 4096; i++) {  // 4096 x 512 B = 32 spans
			v.push_back(cls.allocate(512));
			std::memset(v.back(), 7, 512);
		}
		// The last ones freed stay in its cache, and pin their span.
		for (void* p : v)
			cls.deallocate(p);
		freed.count_down();
		done.wait();
		// Its cache was taken while it waited: it works on regardless.
		fill_cache(cls, 8);
	});
	freed.wait();
	const auto region = arena.ranges().at(0);
	EXPECT_EQ(arena.release(region.addr, region.len, region.len), std::size_t{32} << 16);
	const auto st = arena.stats();
	EXPECT_EQ(st.allocations, 0U);
	EXPECT_EQ(st.allocated, 0U);
	EXPECT_EQ(st.free_committed, 0U);
	EXPECT_EQ(st.released, std::size_t{32} << 16);
	done.count_down();
	holder.join();
	EXPECT_EQ(arena.stats().allocations, 0U);
}

// A thread that exits hands its full cache back to the spans.
TEST(ArenaCaches, ThreadExitReturnsTheCache)
{
	Arena arena;
	auto& cls = arena.price_class(1000, Flags::preserved).value().get();
	std::thread([&] { fill_cache(cls, 100); }).join();
	const auto st = arena.stats();
	EXPECT_EQ(st.allocations, 0U);
	EXPECT_EQ(st.allocated, 0U);
	EXPECT_EQ(st.regions, 1U);  // the others went back when left empty
	EXPECT_EQ(st.invalid_frees, 0U);
}

// An Arena may die while other threads still cache its slots; the threads
// keep working, with other Arenas (maybe at the same address), and exit.
TEST(ArenaCaches, ArenaDestroyedWhileAnotherThreadHoldsACache)
{
	auto arena = std::make_unique<Arena>();
	Arena survivor;
	std::latch cached(1), destroyed(1);
	std::atomic<int> failures{0};
	std::thread holder([&] {
		fill_cache(arena->price_class(500, Flags::preserved).value().get(), 4);
		cached.count_down();
		destroyed.wait();
		for (int round = 0; round < 3; round++) {
			Arena next;
			auto& cls = next.price_class(500, Flags::preserved).value().get();
			fill_cache(cls, 4);
			void* p = cls.allocate(64);
			cls.deallocate(p);
			if (next.stats().allocations != 0 || next.stats().invalid_frees != 0)
				failures++;
		}
		// The thread exits with a cache of an Arena that lives on.
		fill_cache(survivor.price_class(9, Flags::discardable).value().get(), 2);
	});
	cached.wait();
	arena.reset();
	destroyed.count_down();
	holder.join();
	EXPECT_EQ(failures, 0);
	EXPECT_EQ(survivor.stats().allocations, 0U);
}

// One thread, two Arenas, their classes interleaved: each keeps its own
// slots, counts and invalid frees.
TEST(ArenaCaches, TwoArenasInOneThread)
{
	Arena a, b;
	auto& ca = a.price_class(100, Flags::preserved).value().get();
	auto& cb = b.price_class(100, Flags::preserved).value().get();
	std::vector<std::pair<void*, std::uint64_t>> in_a, in_b;
	for (std::uint64_t i = 0; i < 3000; i++) {
		auto& cls = i % 2 ? ca : cb;
		auto& list = i % 2 ? in_a : in_b;
		void* p = cls.allocate(16 + i % 300);
		fill(p, 16 + i % 300, i);
		list.emplace_back(p, i);
		if (i % 3 == 0) {
			auto [q, id] = list[list.size() / 2];
			ASSERT_TRUE(intact(q, 16 + id % 300, id));
			list.erase(list.begin() + static_cast<long>(list.size() / 2));
			cls.deallocate(q);
		}
	}
	ASSERT_FALSE(in_a.empty());
	b.deallocate(in_a[0].first);  // not b's
	EXPECT_EQ(b.stats().invalid_frees, 1U);
	EXPECT_EQ(a.stats().allocations, in_a.size());
	EXPECT_EQ(b.stats().allocations, in_b.size());
	for (auto [p, id] : in_a) {
		ASSERT_TRUE(intact(p, 16 + id % 300, id));
		a.deallocate(p);
	}
	for (auto [p, id] : in_b) {
		ASSERT_TRUE(intact(p, 16 + id % 300, id));
		b.deallocate(p);
	}
	EXPECT_EQ(a.stats().allocations, 0U);
	EXPECT_EQ(b.stats().allocations, 0U);
	EXPECT_EQ(a.stats().invalid_frees, 0U);
}

// A slot freed twice is caught while it sits in the first freer's cache,
// whichever thread frees it the second time, and never handed out twice.
TEST(ArenaCaches, DoubleFreeOfACachedSlotIsCaught)
{
	Arena arena;
	auto& cls = arena.price_class(100, Flags::preserved).value().get();
	void* p = cls.allocate(48);
	void* q = cls.allocate(48);
	cls.deallocate(p);
	std::thread([&] { cls.deallocate(p); }).join();
	cls.deallocate(q);
	cls.deallocate(q);
	EXPECT_EQ(arena.stats().invalid_frees, 2U);
	EXPECT_EQ(arena.stats().allocations, 0U);
	std::set<void*> seen;
	std::vector<void*> v;
	for (int i = 0; i < 2000; i++) {
		v.push_back(cls.allocate(48));
		ASSERT_TRUE(seen.insert(v.back()).second) << "handed out twice";
	}
	for (void* x : v)
		cls.deallocate(x);
	EXPECT_EQ(arena.stats().invalid_frees, 2U);
}

// Threads allocate, free each other's objects and check their data while
// another thread keeps asking for memory back and reading the stats (the
// drain handshake against the caches' fast paths).
TEST(ArenaCaches, ReleaseAndStatsWhileThreadsChurn)
{
	Arena arena;
	auto& cls = arena.price_class(700, Flags::discardable).value().get();
	constexpr int kThreads = 3;
	std::atomic<int> failures{0};
	std::atomic<bool> stop{false};
	// Objects handed from thread t to thread t + 1, which frees them.
	struct Mailbox {
		std::mutex mutex;
		std::vector<std::pair<void*, std::uint64_t>> objects;
	};
	std::array<Mailbox, kThreads> mail;
	const auto size_of = [](std::uint64_t id) -> std::size_t { return 16 + id % 700; };

	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] {
			std::mt19937 rng(static_cast<unsigned>(t));
			std::vector<std::pair<void*, std::uint64_t>> mine;
			for (std::uint64_t i = 0; i < 30000; i++) {
				const std::uint64_t id = (std::uint64_t(t) << 32) | i;
				void* p = cls.allocate(size_of(id));
				if (p == nullptr) {
					failures++;
					continue;
				}
				fill(p, size_of(id), id);
				mine.emplace_back(p, id);
				if (mine.size() > 200 || rng() % 3 == 0) {
					const auto at = rng() % mine.size();
					auto obj = mine[at];
					mine[at] = mine.back();
					mine.pop_back();
					if (rng() % 2) {
						const std::lock_guard lock(mail[(t + 1) % kThreads].mutex);
						mail[(t + 1) % kThreads].objects.push_back(obj);
					} else {
						if (!intact(obj.first, size_of(obj.second), obj.second))
							failures++;
						cls.deallocate(obj.first);
					}
				}
				if (i % 64 == 0) {
					std::vector<std::pair<void*, std::uint64_t>> got;
					{
						const std::lock_guard lock(mail[t].mutex);
						got.swap(mail[t].objects);
					}
					for (auto [q, qid] : got) {
						if (!intact(q, size_of(qid), qid))
							failures++;
						cls.deallocate(q);
					}
				}
			}
			for (auto [q, qid] : mine) {
				if (!intact(q, size_of(qid), qid))
					failures++;
				cls.deallocate(q);
			}
		});
	std::thread asker([&] {
		while (!stop) {
			for (auto& r : arena.ranges())
				arena.release(r.addr, r.len, r.len);
			(void)arena.stats();
		}
	});
	for (auto& th : threads)
		th.join();
	stop = true;
	asker.join();
	for (auto& box : mail)
		for (auto [q, qid] : box.objects) {
			if (!intact(q, size_of(qid), qid))
				failures++;
			cls.deallocate(q);
		}
	EXPECT_EQ(failures, 0);
	const auto st = arena.stats();
	EXPECT_EQ(st.allocations, 0U);
	EXPECT_EQ(st.allocated, 0U);
	EXPECT_EQ(st.invalid_frees, 0U);
}

TEST(Arena, ReleaseGivesBackFreeSpansFirstThenAsksTheEvictor)
{
	Arena arena;
	auto& cls = arena.price_class(300, Flags::discardable).value().get();
	std::vector<void*> objects;
	for (int i = 0; i < 4096; i++) {  // 4096 x 512 B = 32 spans
		void* p = cls.allocate(512);
		ASSERT_NE(p, nullptr);
		std::memset(p, 7, 512);
		objects.push_back(p);
	}
	// Free the second half: 16 spans become free but stay resident.
	for (std::size_t i = 2048; i < objects.size(); i++)
		cls.deallocate(objects[i]);
	objects.resize(2048);
	ASSERT_EQ(arena.stats().free_committed, std::size_t{16} << 16);

	std::size_t evictor_calls = 0;
	std::vector<ramm::EvictRequest> asked;
	cls.set_evictor([&](const ramm::EvictRequest& r) {
		evictor_calls++;
		asked.push_back(r);
		// Free the oldest objects that lie in the range, up to the amount.
		std::size_t freed = 0;
		std::erase_if(objects, [&](void* p) {
			const auto a = reinterpret_cast<std::uintptr_t>(p);
			if (freed >= r.amount || a < r.start || a >= r.start + r.len)
				return false;
			cls.deallocate(p);
			freed += 512;
			return true;
		});
		return freed;
	});

	const auto region = arena.ranges().at(0);
	// Asking for what is free costs the owner nothing.
	EXPECT_EQ(arena.release(region.addr, region.len, std::size_t{16} << 16),
		  std::size_t{16} << 16);
	EXPECT_EQ(evictor_calls, 0U);
	EXPECT_EQ(arena.stats().free_committed, 0U);

	// Asking for more reaches the evictor with the range and what is missing.
	const std::size_t want = std::size_t{8} << 16;
	const std::size_t got = arena.release(region.addr, region.len, want);
	EXPECT_GE(got, want);
	ASSERT_FALSE(asked.empty());
	EXPECT_EQ(asked[0].start, region.addr);
	EXPECT_EQ(asked[0].len, region.len);
	EXPECT_EQ(asked[0].amount, want);
	EXPECT_EQ(objects.size(), 2048U - want / 512);
	for (void* p : objects)
		cls.deallocate(p);
}

TEST(Arena, PurgeNoticesReachTheClassOwningTheRange)
{
	Arena arena;
	auto& cheap = arena.price_class(100, Flags::discardable).value().get();
	auto& dear = arena.price_class(100000, Flags::discardable).value().get();
	void* a = cheap.allocate(64);
	void* b = dear.allocate(64);
	std::vector<std::pair<std::uintptr_t, std::size_t>> cheap_told, dear_told;
	cheap.set_purge_handler([&](auto s, auto l) { cheap_told.emplace_back(s, l); });
	dear.set_purge_handler([&](auto s, auto l) { dear_told.emplace_back(s, l); });

	const auto where = reinterpret_cast<std::uintptr_t>(a) & ~std::uintptr_t{4095};
	arena.purged(where, 4096);
	ASSERT_EQ(cheap_told.size(), 1U);
	EXPECT_EQ(cheap_told[0].first, where);
	EXPECT_EQ(cheap_told[0].second, 4096U);
	EXPECT_TRUE(dear_told.empty());
	EXPECT_EQ(arena.stats().purged_notices, 1U);
	cheap.deallocate(a);
	dear.deallocate(b);
}

TEST(PricedResource, StandardContainersLiveInPricedMemory)
{
	Arena arena;
	ramm::PricedResource res(arena.price_class(2000, Flags::preserved).value());
	{
		std::pmr::vector<std::pmr::string> v(&res);
		std::pmr::map<int, std::pmr::string> m(&res);
		for (int i = 0; i < 10000; i++) {
			v.emplace_back(std::string(static_cast<std::size_t>(i % 200), 'x'));
			m.emplace(i, std::to_string(i) + std::string(40, 'y'));
		}
		for (int i = 0; i < 10000; i++) {
			ASSERT_EQ(v[static_cast<std::size_t>(i)].size(), static_cast<std::size_t>(i % 200));
			ASSERT_EQ(std::string_view(m.at(i)), std::to_string(i) + std::string(40, 'y'));
		}
		// The elements are in the arena's memory.
		const auto a = reinterpret_cast<std::uintptr_t>(v[199].data());
		EXPECT_TRUE(arena.overlaps(a, 1));
		EXPECT_GT(arena.stats().allocations, 10000U);
	}
	EXPECT_EQ(arena.stats().allocations, 0U);

	ramm::PricedResource same_arena(arena.price_class(9, Flags::discardable).value());
	Arena other;
	ramm::PricedResource other_arena(other.price_class(2000, Flags::preserved).value());
	EXPECT_TRUE(res.is_equal(same_arena));
	EXPECT_FALSE(res.is_equal(other_arena));
	EXPECT_FALSE(res.is_equal(*std::pmr::new_delete_resource()));
}

TEST(PricedResource, ExhaustionThrowsBadAlloc)
{
	Arena arena;
	ramm::PricedResource res(arena.price_class(2000, Flags::preserved).value());
	EXPECT_THROW((void)res.allocate(16, std::size_t{1} << 20), std::bad_alloc);
}

}  // namespace
