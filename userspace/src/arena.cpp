// SPDX-License-Identifier: GPL-2.0
//
// Arena: allocations of similar price co-located in 4 MiB priced regions.
//
// Layout.  Every region reserves whole, aligned 4 MiB granules of address
// space, so a pointer finds its region through a two-level page map without
// a lock.  A region is 64 spans of 64 KiB; a span serves one size class
// (16 B .. 16 KiB) from a free bitmap, or belongs to a run of spans for one
// allocation of up to 2 MiB.  Larger allocations get a region of their own.
//
// Threads.  A class's small-object spans are spread over shards, each with
// its own lock and lists; a thread allocates from the shard it was given,
// and a free goes to the shard of the span it lands in.  Threads that
// allocate and free their own objects thus rarely share a lock.  The class
// lock guards the regions and the spans not given to a shard; a shard lock
// may be held while taking the class lock, never the other way round.
//
// Why the bookkeeping is out of band: discardable memory can be purged by
// the kernel at any time, which zero-fills it.  A free list threaded through
// the memory itself would then be corrupted; a bitmap kept in ordinary
// memory is not.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <map>
#include <mutex>

namespace ramm {
namespace {

constexpr unsigned kGranuleShift = 22;
constexpr std::size_t kGranule = std::size_t{1} << kGranuleShift;  // 4 MiB
constexpr std::size_t kSpan = std::size_t{64} << 10;
constexpr std::size_t kSpansPerRegion = kGranule / kSpan;          // 64
constexpr std::size_t kMaxSmall = std::size_t{16} << 10;
constexpr std::size_t kMaxRun = kGranule / 2;
constexpr std::size_t kMaxAlign = kSpan;
constexpr std::size_t kBitmapWords = kSpan / 16 / 64;               // 64
constexpr std::size_t kShards = 8;
static_assert(kSpansPerRegion == 64, "a region's free spans are one word");

// 16 .. 128 by 16, then four classes per power of two up to 16 KiB.
constexpr auto kSizeClasses = [] {
	std::array<std::uint32_t, 36> sizes{};
	std::size_t n = 0;

	for (std::uint32_t s = 16; s <= 128; s += 16)
		sizes[n++] = s;
	for (std::uint32_t base = 128; base < kMaxSmall; base *= 2)
		for (std::uint32_t q = 1; q <= 4; q++)
			sizes[n++] = base + q * base / 4;
	return sizes;
}();
static_assert(kSizeClasses.back() == kMaxSmall);

// The smallest class that holds size bytes at alignment align (<= 16 KiB),
// or kSizeClasses.size() if none does.
std::size_t size_class_of(std::size_t size, std::size_t align)
{
	std::size_t i;

	if (size <= 128)
		i = size == 0 ? 0 : (size - 1) / 16;
	else
		i = static_cast<std::size_t>(
			std::lower_bound(kSizeClasses.begin(), kSizeClasses.end(), size) -
			kSizeClasses.begin());
	while (i < kSizeClasses.size() && kSizeClasses[i] % align != 0)
		i++;
	return i;
}

std::size_t round_up(std::size_t n, std::size_t to)
{
	return (n + to - 1) / to * to;
}

}  // namespace

// ---------------------------------------------------------------------------
// Regions and spans
// ---------------------------------------------------------------------------

namespace {

enum class SpanKind : std::uint8_t { free, small, run_head, run_tail };

struct Region;

struct Span {
	Region* region = nullptr;
	std::byte* addr = nullptr;
	Span* prev = nullptr;  // in its size class's list of spans with free slots
	Span* next = nullptr;
	// Changes under the class lock (and, for a small span, its shard's);
	// atomic so a free can look at a span before taking either.
	std::atomic<SpanKind> kind{SpanKind::free};
	std::atomic<std::uint8_t> shard{0};  // small: the shard that owns it
	bool committed = false;   // may hold resident pages
	bool in_partial = false;
	std::uint8_t size_class = 0;
	std::uint16_t slots = 0;
	std::uint16_t free_slots = 0;
	std::uint16_t hint = 0;   // no free slot in the bitmap words before it
	std::uint16_t run_len = 0;
	std::uint32_t slot_size = 0;
	std::array<std::uint64_t, kBitmapWords> free_bits{};
};

struct Region {
	PriceClass* owner = nullptr;
	std::byte* base = nullptr;
	std::size_t size = 0;      // bytes mapped with the price
	std::size_t reserved = 0;  // bytes of address space, whole granules
	bool dedicated = false;    // one allocation of more than kMaxRun
	bool committed = false;    // dedicated: touched
	std::uint64_t free_spans = ~std::uint64_t{0};
	// Dedicated: 1 while allocated.  Otherwise the spans in use (a small
	// span or a run counts once).  Under the class lock.
	std::size_t live = 0;
	std::unique_ptr<Span[]> spans;

	std::uintptr_t begin() const { return reinterpret_cast<std::uintptr_t>(base); }
	std::uintptr_t end() const { return begin() + size; }
	bool overlaps(std::uintptr_t start, std::size_t len) const
	{
		return start < end() && begin() < start + len;
	}
	std::byte* span_addr(std::size_t i) const { return base + i * kSpan; }
};

// ---------------------------------------------------------------------------
// The page map: granule -> Region, for the whole process
// ---------------------------------------------------------------------------

constexpr unsigned kAddressBits = 48;
constexpr unsigned kLeafBits = 13;
constexpr unsigned kTopBits = kAddressBits - kGranuleShift - kLeafBits;

class PageMap {
public:
	Region* find(const void* p) const noexcept
	{
		const auto g = reinterpret_cast<std::uintptr_t>(p) >> kGranuleShift;
		if (g >> (kTopBits + kLeafBits))
			return nullptr;
		const auto* leaf = top_[g >> kLeafBits].load(std::memory_order_acquire);
		if (leaf == nullptr)
			return nullptr;
		return leaf[g & ((1U << kLeafBits) - 1)].load(std::memory_order_acquire);
	}

	// Maps every granule of [region->base, + region->reserved) to region
	// (nullptr to forget it).  False if a leaf cannot be allocated.
	bool set(const Region& range, Region* region) noexcept
	{
		const auto first = range.begin() >> kGranuleShift;
		const auto count = range.reserved >> kGranuleShift;

		for (std::uintptr_t g = first; g < first + count; g++) {
			auto* leaf = leaf_for(g, region != nullptr);
			if (leaf == nullptr)
				return region == nullptr;
			leaf[g & ((1U << kLeafBits) - 1)].store(region, std::memory_order_release);
		}
		return true;
	}

private:
	std::atomic<Region*>* leaf_for(std::uintptr_t g, bool create) noexcept
	{
		auto& slot = top_[g >> kLeafBits];
		auto* leaf = slot.load(std::memory_order_acquire);

		if (leaf != nullptr || !create)
			return leaf;
		const std::lock_guard lock(mutex_);
		leaf = slot.load(std::memory_order_relaxed);
		if (leaf == nullptr) {
			// Leaves live as long as the process: a lookup never
			// races with their freeing.
			leaf = new (std::nothrow) std::atomic<Region*>[1U << kLeafBits]();
			slot.store(leaf, std::memory_order_release);
		}
		return leaf;
	}

	std::array<std::atomic<std::atomic<Region*>*>, 1U << kTopBits> top_{};
	std::mutex mutex_;
};

PageMap& page_map()
{
	// Never destroyed: deallocations may come from static destructors.
	static PageMap* map = new PageMap;
	return *map;
}

// Maps reserve bytes of aligned address space, the first size bytes of them
// priced; the rest stays a PROT_NONE reservation so no one else maps into
// the region's granules.
std::byte* map_region(std::size_t reserve, std::size_t size, std::uint64_t price,
		      Flags flags)
{
	void* raw = ::mmap(nullptr, reserve + kGranule, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return nullptr;

	const auto raw_addr = reinterpret_cast<std::uintptr_t>(raw);
	const auto aligned = round_up(raw_addr, kGranule);
	if (aligned > raw_addr)
		::munmap(raw, aligned - raw_addr);
	if (raw_addr + kGranule > aligned)
		::munmap(reinterpret_cast<void*>(aligned + reserve),
			 raw_addr + kGranule - aligned);

	if (kernel_support().present) {
		ramm_mmap_args args{};
		args.addr = aligned;
		args.len = size;
		args.prot = PROT_READ | PROT_WRITE;
		args.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
		args.price = price;
		args.ramm_flags = static_cast<std::uint64_t>(flags);
		if (mmap_priced(args))
			return reinterpret_cast<std::byte*>(aligned);
	} else if (::mmap(reinterpret_cast<void*>(aligned), size,
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			  -1, 0) != MAP_FAILED) {
		return reinterpret_cast<std::byte*>(aligned);
	}
	::munmap(reinterpret_cast<void*>(aligned), reserve);
	return nullptr;
}

void decommit(void* addr, std::size_t len)
{
	// MADV_DONTNEED, not MADV_FREE: RAMM counts the pages as given back
	// at once, and reuse gets zero pages, which is what a fresh span has.
	::madvise(addr, len, MADV_DONTNEED);
}

}  // namespace

// ---------------------------------------------------------------------------
// PriceClass
// ---------------------------------------------------------------------------

using PartialLists = std::array<Span*, kSizeClasses.size()>;

struct PriceClass::State {
	// The class lock: regions, free spans, release and stats bookkeeping.
	mutable std::mutex mutex;
	std::vector<std::unique_ptr<Region>> regions;
	// What is allocated, counted under one lock (the class's, or a
	// shard's for its slots) and read under none: a relaxed load and
	// store, no locked instruction on the allocation path.
	struct Counts {
		std::atomic<std::size_t> bytes{0};
		std::atomic<std::size_t> allocations{0};

		void add(std::size_t b, std::size_t n)
		{
			bytes.store(bytes.load(std::memory_order_relaxed) + b,
				    std::memory_order_relaxed);
			allocations.store(allocations.load(std::memory_order_relaxed) + n,
					  std::memory_order_relaxed);
		}
		void sub(std::size_t b, std::size_t n) { add(-b, -n); }  // wraps: subtracts
	};
	struct alignas(64) Shard {
		std::mutex mutex;
		PartialLists partial{};  // its small spans with free slots
		Counts counts;
	};
	std::array<Shard, kShards> shards;
	Counts counts;  // runs and dedicated regions
	std::atomic<std::size_t> invalid_frees{0};
	std::size_t released = 0;
	std::size_t purged_notices = 0;
	std::size_t unmapped_committed = 0;  // resident bytes of regions unmapped

	// Called outside the lock, so they are copied out under it.
	std::mutex handler_mutex;
	Evictor evictor;
	PurgeHandler purge_handler;
};

namespace {

void partial_push(PartialLists& partial, Span* s)
{
	Span*& head = partial[s->size_class];

	s->prev = nullptr;
	s->next = head;
	if (head != nullptr)
		head->prev = s;
	head = s;
	s->in_partial = true;
}

void partial_remove(PartialLists& partial, Span* s)
{
	if (s->prev != nullptr)
		s->prev->next = s->next;
	else
		partial[s->size_class] = s->next;
	if (s->next != nullptr)
		s->next->prev = s->prev;
	s->prev = s->next = nullptr;
	s->in_partial = false;
}

// count consecutive free spans of region, or -1.
int find_free_spans(std::uint64_t free_mask, unsigned count)
{
	for (unsigned i = 0; i + count <= kSpansPerRegion; i++) {
		const std::uint64_t want = (count == 64 ? ~std::uint64_t{0}
					    : ((std::uint64_t{1} << count) - 1)) << i;
		if ((free_mask & want) == want)
			return static_cast<int>(i);
	}
	return -1;
}

}  // namespace

PriceClass::PriceClass(Arena& arena, std::uint64_t price, Flags flags)
	: arena_(arena), price_(price), flags_(flags), state_(std::make_unique<State>())
{
}

PriceClass::~PriceClass()
{
	for (auto& region : state_->regions) {
		page_map().set(*region, nullptr);
		::munmap(region->base, region->reserved);
	}
}

void PriceClass::set_evictor(Evictor evictor)
{
	const std::lock_guard lock(state_->handler_mutex);
	state_->evictor = std::move(evictor);
}

void PriceClass::set_purge_handler(PurgeHandler handler)
{
	const std::lock_guard lock(state_->handler_mutex);
	state_->purge_handler = std::move(handler);
}

namespace {

// A new region for cls, registered in the page map; nullptr on failure.
std::unique_ptr<Region> new_region(PriceClass& cls, std::size_t size, bool dedicated)
{
	auto region = std::make_unique<Region>();

	region->owner = &cls;
	region->size = size;
	region->reserved = round_up(size, kGranule);
	region->dedicated = dedicated;
	if (!dedicated)
		region->spans = std::make_unique<Span[]>(kSpansPerRegion);
	region->base = map_region(region->reserved, size, cls.price(), cls.flags());
	if (region->base == nullptr)
		return nullptr;
	for (std::size_t i = 0; !dedicated && i < kSpansPerRegion; i++) {
		region->spans[i].region = region.get();
		region->spans[i].addr = region->span_addr(i);
	}
	if (!page_map().set(*region, region.get())) {
		::munmap(region->base, region->reserved);
		return nullptr;
	}
	return region;
}

// count consecutive free spans of a region of cls, taken off its free
// mask: an existing region's first fit, else a new region's first spans.
// {nullptr, 0} if no region can be mapped.  The class lock is held.
std::pair<Region*, std::size_t> take_spans(PriceClass& cls, PriceClass::State& st,
					   unsigned count)
{
	Region* region = nullptr;
	int first = -1;

	for (auto& r : st.regions) {
		if (r->dedicated)
			continue;
		first = find_free_spans(r->free_spans, count);
		if (first >= 0) {
			region = r.get();
			break;
		}
	}
	if (region == nullptr) {
		auto fresh = new_region(cls, kGranule, false);
		if (!fresh)
			return {nullptr, 0};
		region = fresh.get();
		st.regions.push_back(std::move(fresh));
		first = 0;
	}
	const std::uint64_t mask = count == 64 ? ~std::uint64_t{0}
				   : ((std::uint64_t{1} << count) - 1);
	region->free_spans &= ~(mask << first);
	return {region, static_cast<std::size_t>(first)};
}


// The shard this thread allocates small objects from: threads are dealt
// shards in turn.
std::size_t my_shard()
{
	static std::atomic<std::size_t> next{0};
	thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kShards;
	return mine;
}

// A slot of size class sc from this thread's shard; a new span from the
// class (under the class lock) when the shard has none with room.
void* allocate_small(PriceClass& cls, PriceClass::State& st, std::size_t sc)
{
	const std::size_t shard = my_shard();
	auto& sh = st.shards[shard];
	const std::lock_guard lock(sh.mutex);
	Span* s = sh.partial[sc];

	if (s == nullptr) {
		{
			const std::lock_guard class_lock(st.mutex);
			auto [region, idx] = take_spans(cls, st, 1);
			if (region == nullptr)
				return nullptr;
			s = &region->spans[idx];
			s->committed = true;
			s->shard.store(static_cast<std::uint8_t>(shard), std::memory_order_relaxed);
			s->kind = SpanKind::small;
			region->live++;
		}
		s->size_class = static_cast<std::uint8_t>(sc);
		s->slot_size = kSizeClasses[sc];
		s->slots = static_cast<std::uint16_t>(kSpan / s->slot_size);
		s->free_slots = s->slots;
		s->hint = 0;
		s->free_bits.fill(0);
		for (std::size_t i = 0; i < s->slots; i++)
			s->free_bits[i / 64] |= std::uint64_t{1} << (i % 64);
		partial_push(sh.partial, s);
	}
	while (s->free_bits[s->hint] == 0)
		s->hint++;
	const auto bit = static_cast<std::size_t>(std::countr_zero(s->free_bits[s->hint]));
	s->free_bits[s->hint] &= ~(std::uint64_t{1} << bit);
	const std::size_t slot = s->hint * 64U + bit;
	if (--s->free_slots == 0)
		partial_remove(sh.partial, s);
	sh.counts.add(s->slot_size, 1);
	return s->addr + slot * s->slot_size;
}

}  // namespace

void* PriceClass::allocate(std::size_t size, std::size_t align) noexcept
{
	State& st = *state_;

	if (align == 0 || !std::has_single_bit(align) || align > kMaxAlign)
		return nullptr;
	if (align < 16)
		align = 16;
	if (size == 0)
		size = 1;
	if (size > (std::size_t{1} << 46))
		return nullptr;

	const std::size_t sc = size <= kMaxSmall ? size_class_of(size, align)
						 : kSizeClasses.size();
	try {
		if (sc < kSizeClasses.size())
			return allocate_small(*this, st, sc);

		const std::lock_guard lock(st.mutex);
		if (size <= kMaxRun) {
			const auto count = static_cast<unsigned>(round_up(size, kSpan) / kSpan);
			auto [region, first] = take_spans(*this, st, count);
			if (region == nullptr)
				return nullptr;
			for (unsigned i = 0; i < count; i++) {
				Span& s = region->spans[first + i];
				s.kind = i == 0 ? SpanKind::run_head : SpanKind::run_tail;
				s.committed = true;
				s.run_len = static_cast<std::uint16_t>(count);
			}
			region->live++;
			st.counts.add(count * kSpan, 1);
			return region->span_addr(first);
		}

		auto fresh = new_region(*this, round_up(size, kSpan), true);
		if (!fresh)
			return nullptr;
		fresh->live = 1;
		fresh->committed = true;
		fresh->free_spans = 0;
		st.counts.add(fresh->size, 1);
		std::byte* p = fresh->base;
		st.regions.push_back(std::move(fresh));
		return p;
	} catch (const std::bad_alloc&) {
		return nullptr;
	}
}

namespace {

// Bytes of r that may be resident.
std::size_t committed_bytes(const Region& r)
{
	std::size_t n = 0;

	if (r.dedicated)
		return r.committed ? r.size : 0;
	for (std::size_t i = 0; i < kSpansPerRegion; i++)
		n += r.spans[i].committed ? kSpan : 0;
	return n;
}

// Frees the run or dedicated allocation at p of region r (owned by the
// class of st, whose lock is held).  False if p is not one.
bool free_large_locked(PriceClass::State& st, Region& r, std::byte* p)
{
	const auto off = static_cast<std::size_t>(p - r.base);

	if (r.dedicated) {
		if (off != 0 || r.live == 0)
			return false;
		r.live = 0;
		st.counts.sub(r.size, 1);
		return true;
	}
	if (p < r.base || off >= r.size)
		return false;

	const std::size_t idx = off / kSpan;
	Span& s = r.spans[idx];
	if (s.kind != SpanKind::run_head || off % kSpan != 0)
		return false;
	for (std::size_t i = idx; i < idx + s.run_len; i++) {
		r.spans[i].kind = SpanKind::free;
		r.free_spans |= std::uint64_t{1} << i;
	}
	st.counts.sub(s.run_len * kSpan, 1);
	r.live--;
	return true;
}

// The region r of st, taken out of the class if nothing in it is in use
// any more (a class keeps one ordinary region, so that a loop of allocate
// and free does not map and unmap).  The class lock is held; the caller
// unmaps what it gets.
std::unique_ptr<Region> drop_if_empty(PriceClass::State& st, Region* r)
{
	const auto ordinary = std::count_if(st.regions.begin(), st.regions.end(),
					    [](auto& x) { return !x->dedicated; });
	if (r->live != 0 || (!r->dedicated && ordinary <= 1))
		return nullptr;
	auto it = std::find_if(st.regions.begin(), st.regions.end(),
			       [r](auto& x) { return x.get() == r; });
	auto dead = std::move(*it);
	st.regions.erase(it);
	page_map().set(*dead, nullptr);
	st.unmapped_committed += committed_bytes(*dead);
	return dead;
}

// Frees the slot at p of the small span s (span idx of region r).  Under the
// span's shard lock; a span left empty goes back to its region under the
// class lock.  False if p is not a live slot.
bool free_small(PriceClass::State& st, Region& r, std::size_t idx, std::byte* p,
		std::unique_ptr<Region>& dead)
{
	Span& s = r.spans[idx];
	const std::size_t shard = s.shard.load(std::memory_order_relaxed);
	auto& sh = st.shards[shard];
	const std::lock_guard lock(sh.mutex);

	// Only a bad free can see the span change hands before the lock.
	if (s.kind != SpanKind::small || s.shard.load(std::memory_order_relaxed) != shard)
		return false;
	const auto in_span = static_cast<std::size_t>(p - s.addr);
	if (in_span % s.slot_size != 0 || in_span / s.slot_size >= s.slots)
		return false;
	const std::size_t slot = in_span / s.slot_size;
	const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
	auto& word = s.free_bits[slot / 64];
	if (word & bit)
		return false;
	word |= bit;
	s.hint = std::min(s.hint, static_cast<std::uint16_t>(slot / 64));
	sh.counts.sub(s.slot_size, 1);
	if (++s.free_slots < s.slots) {
		if (!s.in_partial)
			partial_push(sh.partial, &s);
		return true;
	}
	if (s.in_partial)
		partial_remove(sh.partial, &s);
	const std::lock_guard class_lock(st.mutex);
	s.kind = SpanKind::free;
	r.free_spans |= std::uint64_t{1} << idx;
	r.live--;
	dead = drop_if_empty(st, &r);
	return true;
}

// Gives the free spans of cls that lie in [start, start + len) back to the
// kernel; returns the bytes.
std::size_t decommit_free(PriceClass::State& st, std::uintptr_t start, std::size_t len)
{
	const std::lock_guard lock(st.mutex);
	std::size_t bytes = 0;

	for (auto& r : st.regions) {
		if (r->dedicated || !r->overlaps(start, len))
			continue;
		for (std::size_t i = 0; i < kSpansPerRegion; i++) {
			Span& s = r->spans[i];
			const auto a = reinterpret_cast<std::uintptr_t>(s.addr);
			const auto lo = std::max(a, start);
			const auto hi = std::min(a + kSpan, start + len);
			if (s.kind != SpanKind::free || !s.committed || lo >= hi)
				continue;
			decommit(reinterpret_cast<void*>(lo), hi - lo);
			bytes += hi - lo;
			// A span only partly in the range may still hold pages.
			s.committed = lo != a || hi != a + kSpan;
		}
	}
	st.released += bytes;
	return bytes;
}

}  // namespace

// ---------------------------------------------------------------------------
// Arena
// ---------------------------------------------------------------------------

struct Arena::Impl {
	mutable std::mutex mutex;
	std::map<std::pair<std::uint64_t, Flags>, std::unique_ptr<PriceClass>> classes;
	std::atomic<std::size_t> foreign_frees{0};

	std::vector<PriceClass*> snapshot() const
	{
		const std::lock_guard lock(mutex);
		std::vector<PriceClass*> out;

		for (auto& [key, cls] : classes)
			out.push_back(cls.get());
		return out;
	}
};

Arena::Arena() : impl_(std::make_unique<Impl>()) {}

Arena::~Arena() = default;

std::uint64_t price_class_floor(std::uint64_t price) noexcept
{
	if (price < 8)
		return price;
	const unsigned low = static_cast<unsigned>(std::bit_width(price)) - 3;
	return price & ~((std::uint64_t{1} << low) - 1);
}

Result<std::reference_wrapper<PriceClass>> Arena::price_class(std::uint64_t price,
							      Flags flags)
{
	const auto op = [&] {
		return fmt::format("Arena::price_class(price={}, flags={:#x})", price,
				   static_cast<std::uint64_t>(flags));
	};
	if (price == 0)
		return Error(EINVAL, op(), "price must be > 0");
	if (to_string(flags) == "invalid")
		return Error(EINVAL, op(), "unknown ramm flags");

	const auto key = std::make_pair(price_class_floor(price), flags);
	const std::lock_guard lock(impl_->mutex);
	auto& slot = impl_->classes[key];
	if (!slot)
		slot.reset(new PriceClass(*this, key.first, flags));
	return std::ref(*slot);
}

void* Arena::allocate(std::size_t size, std::uint64_t price, Flags flags,
		      std::size_t align) noexcept
{
	try {
		auto cls = price_class(price, flags);
		return cls ? cls->get().allocate(size, align) : nullptr;
	} catch (const std::bad_alloc&) {
		return nullptr;
	}
}

void PriceClass::deallocate(void* p) noexcept
{
	arena_.deallocate(p);
}

void Arena::deallocate(void* p) noexcept
{
	if (p == nullptr)
		return;

	Region* r = page_map().find(p);
	if (r == nullptr || &r->owner->arena() != this) {
		impl_->foreign_frees++;
		fmt::print(stderr, "ramm: Arena::deallocate({}): not memory of this arena\n",
			   fmt::ptr(p));
		return;
	}

	PriceClass::State& st = *r->owner->state_;
	auto* bp = static_cast<std::byte*>(p);
	std::unique_ptr<Region> dead;
	bool ok;
	const std::size_t off = static_cast<std::size_t>(bp - r->base);
	if (!r->dedicated && bp >= r->base && off < r->size &&
	    r->spans[off / kSpan].kind == SpanKind::small) {
		ok = free_small(st, *r, off / kSpan, bp, dead);
	} else {
		const std::lock_guard lock(st.mutex);
		ok = free_large_locked(st, *r, bp);
		if (ok)
			dead = drop_if_empty(st, r);
	}
	if (!ok) {
		st.invalid_frees.fetch_add(1, std::memory_order_relaxed);
		fmt::print(stderr, "ramm: Arena::deallocate({}): not a live "
			   "allocation (double free?)\n", fmt::ptr(p));
		return;
	}
	if (dead)
		::munmap(dead->base, dead->reserved);
}

std::size_t Arena::release(std::uintptr_t start, std::size_t len, std::size_t amount)
{
	const auto classes = impl_->snapshot();
	std::size_t released = 0;

	// Free memory first: giving it back costs nobody anything.
	for (PriceClass* cls : classes)
		released += decommit_free(*cls->state_, start, len);

	// Then the owners, class by class, until enough whole spans are free.
	for (PriceClass* cls : classes) {
		PriceClass::State& st = *cls->state_;
		// Bounded: an evictor that frees a little each time cannot keep
		// the dispatcher here forever.
		for (int round = 0; round < 64 && released < amount; round++) {
			bool overlaps;
			std::size_t unmapped_before;
			{
				const std::lock_guard lock(st.mutex);
				overlaps = std::any_of(st.regions.begin(), st.regions.end(),
						       [&](auto& r) { return r->overlaps(start, len); });
				unmapped_before = st.unmapped_committed;
			}
			PriceClass::Evictor evictor;
			{
				const std::lock_guard lock(st.handler_mutex);
				evictor = st.evictor;
			}
			if (!overlaps || !evictor)
				break;
			const std::size_t freed = evictor({start, len, amount - released});
			released += decommit_free(st, start, len);
			{
				const std::lock_guard lock(st.mutex);
				released += st.unmapped_committed - unmapped_before;
				st.released += st.unmapped_committed - unmapped_before;
			}
			if (freed == 0)
				break;
		}
	}
	return released;
}

void Arena::purged(std::uintptr_t start, std::size_t len)
{
	for (PriceClass* cls : impl_->snapshot()) {
		PriceClass::State& st = *cls->state_;
		bool overlaps;
		{
			const std::lock_guard lock(st.mutex);
			overlaps = std::any_of(st.regions.begin(), st.regions.end(),
					       [&](auto& r) { return r->overlaps(start, len); });
			st.purged_notices += overlaps;
		}
		PriceClass::PurgeHandler handler;
		{
			const std::lock_guard lock(st.handler_mutex);
			handler = st.purge_handler;
		}
		if (overlaps && handler)
			handler(start, len);
	}
}

bool Arena::overlaps(std::uintptr_t start, std::size_t len) const
{
	for (PriceClass* cls : impl_->snapshot()) {
		const std::lock_guard lock(cls->state_->mutex);
		for (auto& r : cls->state_->regions)
			if (r->overlaps(start, len))
				return true;
	}
	return false;
}

std::vector<ramm_range> Arena::ranges() const
{
	std::vector<ramm_range> out;

	for (PriceClass* cls : impl_->snapshot()) {
		const std::lock_guard lock(cls->state_->mutex);
		for (auto& r : cls->state_->regions)
			out.push_back({r->begin(), r->size, cls->price(),
				       static_cast<std::uint64_t>(cls->flags())});
	}
	return out;
}

namespace {

ArenaStats class_stats(const PriceClass::State& st)
{
	ArenaStats s;

	s.regions = st.regions.size();
	for (auto& r : st.regions) {
		s.mapped += r->size;
		for (std::size_t i = 0; !r->dedicated && i < kSpansPerRegion; i++)
			if (r->spans[i].kind == SpanKind::free && r->spans[i].committed)
				s.free_committed += kSpan;
	}
	// A slot is counted by the shard that owns its span, when allocated
	// and when freed.
	s.allocated = st.counts.bytes.load(std::memory_order_relaxed);
	s.allocations = st.counts.allocations.load(std::memory_order_relaxed);
	for (auto& sh : st.shards) {
		s.allocated += sh.counts.bytes.load(std::memory_order_relaxed);
		s.allocations += sh.counts.allocations.load(std::memory_order_relaxed);
	}
	s.released = st.released;
	s.purged_notices = st.purged_notices;
	s.invalid_frees = st.invalid_frees;
	return s;
}

void add(ArenaStats& to, const ArenaStats& s)
{
	to.regions += s.regions;
	to.mapped += s.mapped;
	to.allocated += s.allocated;
	to.allocations += s.allocations;
	to.free_committed += s.free_committed;
	to.released += s.released;
	to.purged_notices += s.purged_notices;
	to.invalid_frees += s.invalid_frees;
}

}  // namespace

ArenaStats Arena::stats() const
{
	ArenaStats total;

	for (PriceClass* cls : impl_->snapshot()) {
		const std::lock_guard lock(cls->state_->mutex);
		add(total, class_stats(*cls->state_));
	}
	total.invalid_frees += impl_->foreign_frees;
	return total;
}

void Arena::print_stats(const StatsSink& sink) const
{
	const auto row = [&](std::string_view name, const ArenaStats& s) {
		sink(fmt::format("{:<24} {:>7} {:>12} {:>12} {:>9} {:>12} {:>12} {:>7}",
				 name, s.regions, s.mapped, s.allocated, s.allocations,
				 s.free_committed, s.released, s.purged_notices));
	};
	ArenaStats total;

	sink(fmt::format("{:<24} {:>7} {:>12} {:>12} {:>9} {:>12} {:>12} {:>7}",
			 "arena class", "regions", "mapped", "allocated", "live",
			 "free-kept", "released", "purges"));
	for (PriceClass* cls : impl_->snapshot()) {
		ArenaStats s;
		{
			const std::lock_guard lock(cls->state_->mutex);
			s = class_stats(*cls->state_);
		}
		add(total, s);
		row(fmt::format("{} {}", cls->price(), to_string(cls->flags())), s);
	}
	total.invalid_frees += impl_->foreign_frees;
	row("total", total);
	if (total.invalid_frees != 0)
		sink(fmt::format("invalid frees: {}", total.invalid_frees));
}

// ---------------------------------------------------------------------------
// PricedResource
// ---------------------------------------------------------------------------

void* PricedResource::do_allocate(std::size_t bytes, std::size_t align)
{
	void* p = class_.allocate(bytes, align);

	if (p == nullptr)
		throw std::bad_alloc();
	return p;
}

void PricedResource::do_deallocate(void* p, std::size_t, std::size_t)
{
	class_.deallocate(p);
}

bool PricedResource::do_is_equal(const std::pmr::memory_resource& other) const noexcept
{
	// Any class of one Arena frees any allocation of that Arena.
	const auto* o = dynamic_cast<const PricedResource*>(&other);
	return o != nullptr && &o->class_.arena() == &class_.arena();
}

}  // namespace ramm
