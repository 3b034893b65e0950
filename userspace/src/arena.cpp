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
// Threads.  The class lock guards a class's regions, spans and bitmaps.  In
// front of it, each thread keeps a cache of free small slots per class it
// uses: arrays of pointers, one per size class, that allocate() pops and
// deallocate() pushes with neither a lock nor a locked instruction.  A cache
// takes the class lock only to refill or spill half a size class at a time.
// Cached slots are free for the program but taken for their spans, so what
// must see the spans as they are (release(), stats(), a suspected double
// free) first drains every cache of the class: see "Thread caches".
//
// Why the bookkeeping is out of band: discardable memory can be purged by
// the kernel at any time, which zero-fills it.  A free list threaded through
// the memory itself would then be corrupted; a bitmap kept in ordinary
// memory is not.  (A cached slot holds one word of ours, its free key, but
// only as a hint: see mark_free().)

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <linux/membarrier.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

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

// The smallest class that holds size bytes, 1 .. 16 KiB, at alignment 16
// (every class is a multiple of 16): arithmetic, no search.
constexpr std::size_t small_class(std::size_t size)
{
	if (size <= 128)
		return size == 0 ? 0 : (size - 1) / 16;
	// size is in (base, 2 * base]: which quarter of base it ends in.
	const auto log = static_cast<unsigned>(std::bit_width(size - 1)) - 1;
	return 8 + (log - 7) * 4 + ((size - 1 - (std::size_t{1} << log)) >> (log - 2));
}

static_assert([] {
	for (std::size_t size = 1; size <= kMaxSmall; size++) {
		const std::size_t i = small_class(size);
		if (kSizeClasses[i] < size || (i > 0 && kSizeClasses[i - 1] >= size))
			return false;
	}
	return true;
}(), "small_class() is the first class that fits");

// The smallest class that holds size bytes at alignment align (<= 16 KiB),
// or kSizeClasses.size() if none does.
std::size_t size_class_of(std::size_t size, std::size_t align)
{
	if (size > kMaxSmall)
		return kSizeClasses.size();
	std::size_t i = small_class(size);
	while (i < kSizeClasses.size() && kSizeClasses[i] % align != 0)
		i++;
	return i;
}

// A thread cache keeps up to kCacheBytes of free slots of each size class
// (at least one slot, at most kCacheSlots) and moves half that at a time:
// enough that a thread rarely takes the class lock, while a cache holds
// at most about 400 KiB (which release() takes back anyway).
constexpr std::size_t kCacheSlots = 32;
constexpr std::size_t kCacheBytes = std::size_t{16} << 10;
constexpr auto kCacheLimit = [] {
	std::array<std::uint8_t, kSizeClasses.size()> limit{};

	for (std::size_t i = 0; i < limit.size(); i++)
		limit[i] = static_cast<std::uint8_t>(
			std::clamp<std::size_t>(kCacheBytes / kSizeClasses[i], 1, kCacheSlots));
	return limit;
}();

std::size_t cache_batch(std::size_t sc)
{
	return (kCacheLimit[sc] + 1U) / 2;
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
	// These change under the class lock; they are atomic so that a free
	// can check its pointer against the span without taking it.
	std::atomic<SpanKind> kind{SpanKind::free};
	std::atomic<std::uint8_t> size_class{0};  // small: the class it serves
	// Small: a bit per slot, set while the span has it to give (not
	// allocated, not in a thread cache).
	std::array<std::atomic<std::uint64_t>, kBitmapWords> free_bits{};
	bool committed = false;   // may hold resident pages
	bool in_partial = false;
	std::uint16_t free_slots = 0;
	std::uint16_t hint = 0;   // no free slot in the bitmap words before it
	std::uint16_t run_len = 0;
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

namespace {
struct ThreadCache;
}  // namespace

using PartialLists = std::array<Span*, kSizeClasses.size()>;

struct PriceClass::State {
	explicit State(PriceClass& owner) : cls(owner) {}

	PriceClass& cls;
	// The class lock: regions, spans and their bitmaps, the counts below.
	mutable std::mutex mutex;
	std::vector<std::unique_ptr<Region>> regions;
	PartialLists partial{};  // small spans with free slots, per size class
	// What the spans have handed out, cached slots included: stats()
	// drains the caches first, so it reports what the program holds.
	std::size_t allocated = 0;
	std::size_t allocations = 0;
	std::atomic<std::size_t> invalid_frees{0};
	std::size_t released = 0;
	std::size_t purged_notices = 0;
	std::size_t unmapped_committed = 0;  // resident bytes of regions unmapped

	// The threads' caches of this class, under cache_registry().
	std::vector<ThreadCache*> caches;

	// Called outside the lock, so they are copied out under it.
	std::mutex handler_mutex;
	Evictor evictor;
	PurgeHandler purge_handler;
};

namespace {

void partial_push(PartialLists& partial, Span* s)
{
	Span*& head = partial[s->size_class.load(std::memory_order_relaxed)];

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
		partial[s->size_class.load(std::memory_order_relaxed)] = s->next;
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

// count consecutive free spans of a region of the class, taken off its free
// mask: an existing region's first fit, else a new region's first spans.
// {nullptr, 0} if no region can be mapped.  The class lock is held.
std::pair<Region*, std::size_t> take_spans(PriceClass::State& st, unsigned count)
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
		auto fresh = new_region(st.cls, kGranule, false);
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

// Unmaps the region r of st if nothing in it is in use any more (a class
// keeps one ordinary region, so that a loop of allocate and free does not
// map and unmap).  The class lock is held: regions die rarely, and the
// lock keeps every path that frees simple (a cache spill may empty several).
void unmap_if_empty(PriceClass::State& st, Region* r)
{
	const auto ordinary = std::count_if(st.regions.begin(), st.regions.end(),
					    [](auto& x) { return !x->dedicated; });
	if (r->live != 0 || (!r->dedicated && ordinary <= 1))
		return;
	auto it = std::find_if(st.regions.begin(), st.regions.end(),
			       [r](auto& x) { return x.get() == r; });
	page_map().set(*r, nullptr);
	st.unmapped_committed += committed_bytes(*r);
	::munmap(r->base, r->reserved);
	st.regions.erase(it);
}

// ---------------------------------------------------------------------------
// Small slots, under the class lock
// ---------------------------------------------------------------------------

// Makes the free span s serve size class sc, every slot free.
void init_small_span(Span& s, std::size_t sc)
{
	const std::size_t slots = kSpan / kSizeClasses[sc];

	s.size_class.store(static_cast<std::uint8_t>(sc), std::memory_order_relaxed);
	s.free_slots = static_cast<std::uint16_t>(slots);
	s.hint = 0;
	for (std::size_t w = 0; w < kBitmapWords; w++) {
		const std::size_t n = std::min<std::size_t>(slots - std::min(slots, w * 64), 64);
		s.free_bits[w].store(n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1,
				     std::memory_order_relaxed);
	}
	s.kind.store(SpanKind::small, std::memory_order_relaxed);
}

// The slot of the small span s that starts at p, or -1 if none does.  Needs
// no lock for a slot the span handed out: its span cannot change while it
// is out.  For another pointer the answer may be stale (a bad free racing
// with the span's reuse); put_slot() asks again under the lock.
long slot_of(const Span& s, const std::byte* p)
{
	const std::uint32_t size = kSizeClasses[s.size_class.load(std::memory_order_relaxed)];
	const auto off = static_cast<std::uint32_t>(p - s.addr);  // < kSpan
	const std::uint32_t slot = off / size;

	if (slot * size != off || (slot + 1) * size > kSpan)
		return -1;
	return slot;
}

bool slot_is_free(const Span& s, std::size_t slot)
{
	return (s.free_bits[slot / 64].load(std::memory_order_relaxed) >> (slot % 64)) & 1;
}

// A slot of size class sc taken from its span: the first span with room,
// else a new one; nullptr if no region can be mapped.  The class lock is
// held.
std::byte* take_slot(PriceClass::State& st, std::size_t sc)
{
	Span* s = st.partial[sc];

	if (s == nullptr) {
		std::pair<Region*, std::size_t> got;
		try {
			got = take_spans(st, 1);
		} catch (const std::bad_alloc&) {
			return nullptr;
		}
		if (got.first == nullptr)
			return nullptr;
		s = &got.first->spans[got.second];
		s->committed = true;
		init_small_span(*s, sc);
		got.first->live++;
		partial_push(st.partial, s);
	}
	while (s->free_bits[s->hint].load(std::memory_order_relaxed) == 0)
		s->hint++;
	auto& word = s->free_bits[s->hint];
	const std::uint64_t bits = word.load(std::memory_order_relaxed);
	const std::size_t slot = s->hint * 64U + static_cast<std::size_t>(std::countr_zero(bits));
	word.store(bits & (bits - 1), std::memory_order_relaxed);
	if (--s->free_slots == 0)
		partial_remove(st.partial, s);
	st.allocated += kSizeClasses[sc];
	st.allocations++;
	return s->addr + slot * kSizeClasses[sc];
}

// Gives the slot at p back to its span; a span left empty goes back to its
// region, a region left empty is unmapped.  False if p is not a slot of
// this class that its span handed out.  The class lock is held.
bool put_slot(PriceClass::State& st, std::byte* p)
{
	Region* r = page_map().find(p);
	if (r == nullptr || r->owner != &st.cls || r->dedicated)
		return false;
	const auto off = static_cast<std::size_t>(p - r->base);
	if (off >= r->size)
		return false;
	const std::size_t idx = off / kSpan;
	Span& s = r->spans[idx];
	if (s.kind.load(std::memory_order_relaxed) != SpanKind::small)
		return false;
	const long slot = slot_of(s, p);
	if (slot < 0 || slot_is_free(s, static_cast<std::size_t>(slot)))
		return false;

	auto& word = s.free_bits[static_cast<std::size_t>(slot) / 64];
	word.store(word.load(std::memory_order_relaxed) | std::uint64_t{1} << (slot % 64),
		   std::memory_order_relaxed);
	s.hint = std::min(s.hint, static_cast<std::uint16_t>(slot / 64));
	st.allocated -= kSizeClasses[s.size_class];
	st.allocations--;
	if (++s.free_slots < kSpan / kSizeClasses[s.size_class]) {
		if (!s.in_partial)
			partial_push(st.partial, &s);
		return true;
	}
	if (s.in_partial)
		partial_remove(st.partial, &s);
	s.kind.store(SpanKind::free, std::memory_order_relaxed);
	r->free_spans |= std::uint64_t{1} << idx;
	r->live--;
	unmap_if_empty(st, r);
	return true;
}

void report_invalid_free(PriceClass::State& st, const void* p)
{
	st.invalid_frees.fetch_add(1, std::memory_order_relaxed);
	fmt::print(stderr, "ramm: Arena::deallocate({}): not a live allocation "
		   "(double free?)\n", fmt::ptr(p));
}

// ---------------------------------------------------------------------------
// Thread caches
// ---------------------------------------------------------------------------
//
// A ThreadCache is one thread's free slots of one price class.  Its owner
// uses it without a lock.  Another thread that needs the slots back
// (drain_caches(): release(), stats(), a suspected double free) takes them
// with a handshake on two flags:
//
//   owner: enter() ... leave()         drainer: drain_caches()
//     busy = true                        draining = true
//     if draining: busy = false,         membarrier()
//       and use the class lock instead   wait while busy
//     ... pop or push slots ...          take the slots back
//     busy = false                       draining = false
//
// Either the owner sees draining or the drainer sees busy: membarrier()
// makes every running thread of the process execute a full memory barrier,
// which the owner's side would otherwise need between its store and its
// load.  The owner's fast path is thus two plain stores and a load; a lock
// would cost two locked instructions per call, as much again as the rest
// of the fast path.  Without membarrier() (kernels before 4.14, seccomp)
// threads get no cache and every call takes the class lock.
//
// release() drains rather than accounts for the caches: a cached slot pins
// its whole span, and spans are what release() gives back.
//
// Lifetimes: a cache belongs to its thread, which hands its slots back and
// frees it when it exits.  A dying class only marks its caches dead (cls =
// nullptr, their slots die with its regions); their threads free them later.
// The registry lock orders these against drains and guards each class's
// list of caches.  It is taken before a class lock and never while busy.

struct ThreadCache {
	std::atomic<PriceClass::State*> cls{nullptr};  // nullptr: the class is gone
	ThreadCache* next = nullptr;                   // the owner's other caches
	std::atomic<bool> busy{false};                 // the owner is at its slots
	std::atomic<bool> draining{false};             // another thread wants them
	// Per size class, count[sc] free slots; the last is the next one out.
	std::array<std::uint8_t, kSizeClasses.size()> count{};
	std::array<std::array<std::byte*, kCacheSlots>, kSizeClasses.size()> slots;
};

std::mutex& cache_registry()
{
	// Never destroyed: threads may exit after the static destructors.
	static auto* mutex = new std::mutex;
	return *mutex;
}

long membarrier(int command)
{
	return ::syscall(SYS_membarrier, command, 0U, 0);
}

// Whether drain_caches() can work, hence whether threads may cache.
bool caches_possible()
{
	static const bool ok = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
	return ok;
}

// False if a drain is under way: then use the class lock.
bool enter(ThreadCache& c)
{
	c.busy.store(true, std::memory_order_relaxed);
	// For the compiler only: membarrier() orders the two for the CPU.
	std::atomic_signal_fence(std::memory_order_seq_cst);
	if (!c.draining.load(std::memory_order_acquire))
		return true;
	c.busy.store(false, std::memory_order_release);
	return false;
}

void leave(ThreadCache& c)
{
	c.busy.store(false, std::memory_order_release);
}

// Gives n cached slots back to their spans.  The class lock is not held.
void spill(PriceClass::State& st, std::byte* const* slots, std::size_t n)
{
	const std::lock_guard lock(st.mutex);

	for (std::size_t i = 0; i < n; i++)
		if (!put_slot(st, slots[i]))  // freed twice past the checks
			report_invalid_free(st, slots[i]);
}

// Spills every slot of c.  Its owner is not at them (exiting, or drained).
void empty_cache(PriceClass::State& st, ThreadCache& c)
{
	for (std::size_t sc = 0; sc < kSizeClasses.size(); sc++) {
		spill(st, c.slots[sc].data(), c.count[sc]);
		c.count[sc] = 0;
	}
}

// Takes every cached slot of st back to its span (the handshake above).
void drain_caches(PriceClass::State& st)
{
	const std::lock_guard registry(cache_registry());

	if (st.caches.empty())
		return;
	for (ThreadCache* c : st.caches)
		c->draining.store(true, std::memory_order_seq_cst);
	membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	for (ThreadCache* c : st.caches) {
		while (c->busy.load(std::memory_order_acquire))
			std::this_thread::yield();
		empty_cache(st, *c);
		c->draining.store(false, std::memory_order_release);
	}
}

// The calling thread's caches.  last is the fast path's guess, a plain
// thread_local (no guard to check); the list has a destructor, so it is
// touched only to make a cache.
struct CacheList {
	ThreadCache* head = nullptr;
	~CacheList();
};
constinit thread_local ThreadCache* tls_last = nullptr;
constinit thread_local bool tls_exited = false;
thread_local CacheList tls_caches;

CacheList::~CacheList()
{
	const std::lock_guard registry(cache_registry());

	// A free from a later thread_local destructor takes the class lock.
	tls_exited = true;
	tls_last = nullptr;
	while (head != nullptr) {
		ThreadCache* c = head;
		head = c->next;
		if (PriceClass::State* st = c->cls.load(std::memory_order_relaxed)) {
			empty_cache(*st, *c);
			std::erase(st->caches, c);
		}
		delete c;
	}
}

// The slow path of cache_for(): another class than last time, or a first.
ThreadCache* find_cache(PriceClass::State& st)
{
	if (tls_exited || !caches_possible())
		return nullptr;
	for (ThreadCache* c = tls_caches.head; c != nullptr; c = c->next) {
		if (c->cls.load(std::memory_order_relaxed) == &st) {
			tls_last = c;
			return c;
		}
	}

	auto* fresh = new (std::nothrow) ThreadCache;
	if (fresh == nullptr)
		return nullptr;
	const std::lock_guard registry(cache_registry());
	try {
		st.caches.push_back(fresh);
	} catch (const std::bad_alloc&) {
		delete fresh;
		return nullptr;
	}
	// The caches of classes gone since are freed here.
	for (ThreadCache** link = &tls_caches.head; *link != nullptr;) {
		ThreadCache* c = *link;
		if (c->cls.load(std::memory_order_relaxed) != nullptr) {
			link = &c->next;
			continue;
		}
		*link = c->next;
		delete c;
	}
	fresh->cls.store(&st, std::memory_order_relaxed);
	fresh->next = tls_caches.head;
	tls_caches.head = fresh;
	tls_last = fresh;
	return fresh;
}

// The calling thread's cache for st; nullptr if it has none (no
// membarrier(), the thread is exiting, no memory).
ThreadCache* cache_for(PriceClass::State& st)
{
	ThreadCache* c = tls_last;

	if (c != nullptr && c->cls.load(std::memory_order_relaxed) == &st) [[likely]]
		return c;
	return find_cache(st);
}

// Fills the empty size class sc of c, as far as memory allows.  The owner
// is at its slots.
void refill(PriceClass::State& st, ThreadCache& c, std::size_t sc)
{
	const std::lock_guard lock(st.mutex);

	while (c.count[sc] < cache_batch(sc)) {
		std::byte* p = take_slot(st, sc);
		if (p == nullptr)
			break;
		c.slots[sc][c.count[sc]++] = p;
	}
}

// The free key: the first word of a slot in a cache (slots are at least
// 16 bytes) is set to a value derived from its address and a secret, so
// that a second free of it is noticed without searching the caches.  A hint
// only, for the span's bitmap stays the truth: program data may match it by
// chance (which costs a drain, see free_small()), and a purge erases it
// (a double free then goes unnoticed: ramm.hpp says so).
std::uint64_t free_key(const std::byte* p)
{
	static const std::uint64_t secret = [] {
		std::uint64_t s = 0x9e3779b97f4a7c15;
		if (const auto at_random = ::getauxval(AT_RANDOM))
			std::memcpy(&s, reinterpret_cast<const void*>(at_random), sizeof(s));
		return s;
	}();
	return reinterpret_cast<std::uintptr_t>(p) ^ secret;
}

void mark_free(std::byte* p)
{
	const std::uint64_t key = free_key(p);
	std::memcpy(p, &key, sizeof(key));
}

bool marked_free(const std::byte* p)
{
	std::uint64_t word;
	std::memcpy(&word, p, sizeof(word));
	return word == free_key(p);
}

// A slot of size class sc from the thread's cache (refilled from the spans
// when empty), or from the spans under the class lock when the thread has
// no cache or it is being drained.
void* allocate_small(PriceClass::State& st, std::size_t sc)
{
	ThreadCache* c = cache_for(st);
	std::byte* p = nullptr;

	if (c != nullptr && enter(*c)) {
		if (c->count[sc] == 0)
			refill(st, *c, sc);
		if (c->count[sc] != 0)
			p = c->slots[sc][--c->count[sc]];
		leave(*c);
	} else {
		const std::lock_guard lock(st.mutex);
		p = take_slot(st, sc);
	}
	if (p != nullptr)
		std::memset(p, 0, sizeof(std::uint64_t));  // no stale free key
	return p;
}

// Frees the slot at p of the small span s.  First the checks that need no
// lock: p starts a slot the span handed out, and does not bear the free key.
// A slot that does may be in a cache already: every cache is drained and
// the span decides (a double free, or data that looked like the key).
// Otherwise the slot goes to the thread's cache, or if there is none to
// its span under the class lock.  False if p is not a live allocation.
bool free_small(PriceClass::State& st, Span& s, std::byte* p)
{
	const std::size_t sc = s.size_class.load(std::memory_order_relaxed);
	const long slot = slot_of(s, p);

	if (slot < 0 || slot_is_free(s, static_cast<std::size_t>(slot)))
		return false;
	if (marked_free(p)) {
		drain_caches(st);
		const std::lock_guard lock(st.mutex);
		return put_slot(st, p);
	}

	ThreadCache* c = cache_for(st);
	// Before the slot is the cache's: a drain may hand it out at once.
	mark_free(p);
	if (c != nullptr && enter(*c)) {
		if (c->count[sc] == kCacheLimit[sc]) {
			// Spill the oldest, keep the recently freed (still cached
			// by the CPU).
			auto& slots = c->slots[sc];
			const std::size_t n = cache_batch(sc);
			spill(st, slots.data(), n);
			std::copy(slots.begin() + n, slots.begin() + c->count[sc], slots.begin());
			c->count[sc] = static_cast<std::uint8_t>(c->count[sc] - n);
		}
		c->slots[sc][c->count[sc]++] = p;
		leave(*c);
		return true;
	}
	const std::lock_guard lock(st.mutex);
	return put_slot(st, p);
}

}  // namespace

PriceClass::PriceClass(Arena& arena, std::uint64_t price, Flags flags)
	: arena_(arena), price_(price), flags_(flags), state_(std::make_unique<State>(*this))
{
}

PriceClass::~PriceClass()
{
	{
		// The threads free their caches of this class; the slots in
		// them die with the regions.
		const std::lock_guard registry(cache_registry());
		for (ThreadCache* c : state_->caches)
			c->cls.store(nullptr, std::memory_order_relaxed);
	}
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

void* PriceClass::allocate(std::size_t size, std::size_t align) noexcept
{
	State& st = *state_;

	// Not std::has_single_bit(): without -mpopcnt it is a libgcc call.
	if (align == 0 || (align & (align - 1)) != 0 || align > kMaxAlign)
		return nullptr;
	if (size == 0)
		size = 1;
	if (size <= kMaxSmall) {
		const std::size_t sc = align <= 16 ? small_class(size) : size_class_of(size, align);
		if (sc < kSizeClasses.size())
			return allocate_small(st, sc);
	}
	if (size > (std::size_t{1} << 46))
		return nullptr;

	try {
		const std::lock_guard lock(st.mutex);
		if (size <= kMaxRun) {
			const auto count = static_cast<unsigned>(round_up(size, kSpan) / kSpan);
			auto [region, first] = take_spans(st, count);
			if (region == nullptr)
				return nullptr;
			for (unsigned i = 0; i < count; i++) {
				Span& s = region->spans[first + i];
				s.kind = i == 0 ? SpanKind::run_head : SpanKind::run_tail;
				s.committed = true;
				s.run_len = static_cast<std::uint16_t>(count);
			}
			region->live++;
			st.allocated += count * kSpan;
			st.allocations++;
			return region->span_addr(first);
		}

		auto fresh = new_region(*this, round_up(size, kSpan), true);
		if (!fresh)
			return nullptr;
		fresh->live = 1;
		fresh->committed = true;
		fresh->free_spans = 0;
		st.allocated += fresh->size;
		st.allocations++;
		std::byte* p = fresh->base;
		st.regions.push_back(std::move(fresh));
		return p;
	} catch (const std::bad_alloc&) {
		return nullptr;
	}
}

namespace {

// Frees the run or dedicated allocation at p of region r (owned by the
// class of st, whose lock is held).  False if p is not one.
bool free_large_locked(PriceClass::State& st, Region& r, std::byte* p)
{
	const auto off = static_cast<std::size_t>(p - r.base);

	if (r.dedicated) {
		if (off != 0 || r.live == 0)
			return false;
		r.live = 0;
		st.allocated -= r.size;
		st.allocations--;
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
	st.allocated -= s.run_len * kSpan;
	st.allocations--;
	r.live--;
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
	bool ok;
	const std::size_t off = static_cast<std::size_t>(bp - r->base);
	if (!r->dedicated && bp >= r->base && off < r->size &&
	    r->spans[off / kSpan].kind.load(std::memory_order_relaxed) == SpanKind::small) {
		ok = free_small(st, r->spans[off / kSpan], bp);
	} else {
		const std::lock_guard lock(st.mutex);
		ok = free_large_locked(st, *r, bp);
		if (ok)
			unmap_if_empty(st, r);
	}
	if (!ok)
		report_invalid_free(st, p);
}

std::size_t Arena::release(std::uintptr_t start, std::size_t len, std::size_t amount)
{
	const auto classes = impl_->snapshot();
	std::size_t released = 0;

	// Free memory first: giving it back costs nobody anything.  What the
	// threads keep cached is free too, and pins its spans: drain it.
	for (PriceClass* cls : classes) {
		drain_caches(*cls->state_);
		released += decommit_free(*cls->state_, start, len);
	}

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
			// Its frees went to this thread's cache.
			drain_caches(st);
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
	s.allocated = st.allocated;
	s.allocations = st.allocations;
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
		drain_caches(*cls->state_);
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
		drain_caches(*cls->state_);
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
