// SPDX-License-Identifier: GPL-2.0
//
// ByteCache: values in two priced tiers (hot, LZ4-compressed cold), checked
// by XXH3 on every read.  See include/ramm/cache.hpp for the behaviour.
//
// Locking: the cache's mutex is taken before any Arena lock (allocation and
// freeing happen under it).  The Arena calls the evictors and purge
// handlers without its own locks held, so they may take the cache's mutex.

#include <ramm/cache.hpp>

#include <fmt/format.h>

#include <lz4.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cerrno>
#include <limits>
#include <list>
#include <mutex>
#include <unordered_map>

namespace ramm {
namespace {

enum class Tier : std::uint8_t { hot, cold };

struct Entry {
	Tier tier = Tier::hot;
	std::byte* data = nullptr;   // in the tier's price class
	std::size_t stored = 0;      // bytes at data
	std::size_t raw = 0;         // bytes of the value
	std::uint64_t hash = 0;      // XXH3 of the stored bytes
	std::list<const std::string*>::iterator lru;  // in its tier's list
};

std::uint64_t hash_of(const std::byte* p, std::size_t n)
{
	return XXH3_64bits(p, n);
}

bool within(const Entry& e, std::uintptr_t start, std::size_t len)
{
	const auto a = reinterpret_cast<std::uintptr_t>(e.data);
	return a < start + len && start < a + std::max<std::size_t>(e.stored, 1);
}

}  // namespace

struct ByteCache::Impl {
	CacheOptions options;
	Arena arena;
	PriceClass* hot = nullptr;
	PriceClass* cold = nullptr;
	ArenaListener listener{arena};
	Dispatcher::Subscription subscription;

	mutable std::mutex mutex;
	std::unordered_map<std::string, Entry> entries;
	// Most recently used first; the coldest entry is at the back.
	std::list<const std::string*> hot_lru, cold_lru;
	CacheStats stats;

	std::list<const std::string*>& lru(Tier t) { return t == Tier::hot ? hot_lru : cold_lru; }
	PriceClass& cls(Tier t) { return t == Tier::hot ? *hot : *cold; }

	void account(const Entry& e, bool add)
	{
		auto& bytes = e.tier == Tier::hot ? stats.hot_bytes : stats.cold_bytes;
		auto& count = e.tier == Tier::hot ? stats.hot_entries : stats.cold_entries;
		if (add) {
			bytes += e.stored;
			count++;
			if (e.tier == Tier::cold)
				stats.cold_raw_bytes += e.raw;
		} else {
			bytes -= e.stored;
			count--;
			if (e.tier == Tier::cold)
				stats.cold_raw_bytes -= e.raw;
		}
	}

	// Removes an entry (its memory freed); returns the bytes it stored.
	std::size_t drop(std::unordered_map<std::string, Entry>::iterator it)
	{
		Entry& e = it->second;
		const std::size_t n = e.stored;
		account(e, false);
		lru(e.tier).erase(e.lru);
		cls(e.tier).deallocate(e.data);
		entries.erase(it);
		return n;
	}

	// The stored bytes, copied out and checked: nullopt if the kernel
	// purged them (the copy is what is checked, so a purge racing with
	// the read cannot slip through).
	std::optional<std::vector<std::byte>> read_stored(const Entry& e)
	{
		std::vector<std::byte> copy(e.data, e.data + e.stored);
		if (hash_of(copy.data(), copy.size()) != e.hash)
			return std::nullopt;
		return copy;
	}

	// A hot entry into the cold tier; false if it does not compress well
	// or no cold memory could be had (the caller drops it then).
	bool demote(Entry& e)
	{
		if (!options.compress || e.raw > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE))
			return false;
		auto raw = read_stored(e);
		if (!raw)
			return false;
		std::vector<char> packed(static_cast<std::size_t>(
			LZ4_compressBound(static_cast<int>(e.raw))));
		const int n = LZ4_compress_default(reinterpret_cast<const char*>(raw->data()),
						   packed.data(), static_cast<int>(e.raw),
						   static_cast<int>(packed.size()));
		// Keeping it costs memory: only worth it if it shrinks by 1/8.
		if (n <= 0 || static_cast<std::size_t>(n) > e.raw - e.raw / 8)
			return false;
		auto* dst = static_cast<std::byte*>(cold->allocate(static_cast<std::size_t>(n)));
		if (dst == nullptr)
			return false;
		std::memcpy(dst, packed.data(), static_cast<std::size_t>(n));

		const std::string* key = *e.lru;
		account(e, false);
		hot_lru.erase(e.lru);
		hot->deallocate(e.data);
		e.tier = Tier::cold;
		e.data = dst;
		e.stored = static_cast<std::size_t>(n);
		e.hash = hash_of(dst, e.stored);
		// Demoted entries are the coldest of the hot ones, but warmer
		// than anything already cold.
		cold_lru.push_front(key);
		e.lru = cold_lru.begin();
		account(e, true);
		stats.demotions++;
		return true;
	}

	// What the Arena's evictor for tier t does: the coldest entries in
	// the range leave the tier until `amount` bytes are freed.
	std::size_t evict(Tier t, const EvictRequest& r)
	{
		const std::lock_guard lock(mutex);
		auto& list = lru(t);
		std::size_t freed = 0;

		for (auto it = list.end(); it != list.begin() && freed < r.amount;) {
			--it;
			auto found = entries.find(**it);
			Entry& e = found->second;
			if (!within(e, r.start, r.len))
				continue;
			// Step off the node first: demote/drop unlink it.
			auto here = it;
			const bool last = here == list.begin();
			if (!last)
				--it;
			const std::size_t n = e.stored;
			if (t == Tier::hot && demote(e)) {
				freed += n;
			} else {
				freed += drop(found);
				stats.evictions++;
			}
			if (last)
				break;
			++it;
		}
		return freed;
	}

	// The kernel purged part of [start, start + len): entries there whose
	// bytes no longer match their hash are gone.
	void purged(std::uintptr_t start, std::size_t len)
	{
		const std::lock_guard lock(mutex);
		for (auto it = entries.begin(); it != entries.end();) {
			auto next = std::next(it);
			if (within(it->second, start, len) && !read_stored(it->second)) {
				drop(it);
				stats.purged_drops++;
			}
			it = next;
		}
	}

	void enforce_capacity()
	{
		if (options.max_bytes == 0)
			return;
		while (stats.hot_bytes + stats.cold_bytes > options.max_bytes) {
			auto& list = !cold_lru.empty() ? cold_lru : hot_lru;
			if (list.empty())
				return;
			drop(entries.find(*list.back()));
			stats.capacity_drops++;
		}
	}
};

Result<std::unique_ptr<ByteCache>> ByteCache::create(CacheOptions options,
						     Dispatcher* dispatcher)
{
	if (options.cold_price == 0)
		options.cold_price = std::max<std::uint64_t>(options.hot_price / 4, 1);
	const auto op = fmt::format("ByteCache::create(hot_price={}, cold_price={})",
				    options.hot_price, options.cold_price);
	if (options.hot_price == 0)
		return Error(EINVAL, op, "hot_price must be > 0");
	if (options.cold_price > options.hot_price)
		return Error(EINVAL, op, "the cold tier must not be dearer than the hot one");

	auto impl = std::make_unique<Impl>();
	Impl* im = impl.get();
	im->options = options;
	auto hot = im->arena.price_class(options.hot_price, Flags::discardable);
	auto cold = im->arena.price_class(options.cold_price, Flags::discardable);
	if (!hot)
		return hot.error();
	if (!cold)
		return cold.error();
	im->hot = &hot->get();
	im->cold = &cold->get();
	if (im->hot == im->cold)
		return Error(EINVAL, op, "the two prices fall in one price class");

	im->hot->set_evictor([im](const EvictRequest& r) { return im->evict(Tier::hot, r); });
	im->cold->set_evictor([im](const EvictRequest& r) { return im->evict(Tier::cold, r); });
	const auto on_purge = [im](std::uintptr_t s, std::size_t l) { im->purged(s, l); };
	im->hot->set_purge_handler(on_purge);
	im->cold->set_purge_handler(on_purge);
	if (dispatcher != nullptr)
		im->subscription = dispatcher->subscribe(im->listener);
	return std::unique_ptr<ByteCache>(new ByteCache(std::move(impl)));
}

ByteCache::ByteCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ByteCache::~ByteCache()
{
	// No delivery may reach the cache while it is taken apart.
	impl_->subscription = {};
	const std::lock_guard lock(impl_->mutex);
	while (!impl_->entries.empty())
		impl_->drop(impl_->entries.begin());
}

bool ByteCache::put(std::string_view key, std::span<const std::byte> value)
{
	Impl& im = *impl_;
	const std::lock_guard lock(im.mutex);
	std::string k(key);

	if (auto old = im.entries.find(k); old != im.entries.end())
		im.drop(old);
	auto* dst = static_cast<std::byte*>(im.hot->allocate(value.size()));
	if (dst == nullptr) {
		im.stats.failed_inserts++;
		return false;
	}
	std::memcpy(dst, value.data(), value.size());

	auto [it, inserted] = im.entries.emplace(std::move(k), Entry{});
	Entry& e = it->second;
	e.tier = Tier::hot;
	e.data = dst;
	e.stored = e.raw = value.size();
	e.hash = hash_of(dst, value.size());
	im.hot_lru.push_front(&it->first);
	e.lru = im.hot_lru.begin();
	im.account(e, true);
	im.stats.inserts++;
	im.enforce_capacity();
	return true;
}

std::optional<std::vector<std::byte>> ByteCache::get(std::string_view key)
{
	Impl& im = *impl_;
	const std::lock_guard lock(im.mutex);
	auto it = im.entries.find(std::string(key));

	if (it == im.entries.end()) {
		im.stats.misses++;
		return std::nullopt;
	}
	Entry& e = it->second;
	auto stored = im.read_stored(e);
	if (!stored) {
		im.drop(it);
		im.stats.purged_drops++;
		im.stats.misses++;
		return std::nullopt;
	}
	if (e.tier == Tier::hot) {
		im.hot_lru.splice(im.hot_lru.begin(), im.hot_lru, e.lru);
		im.stats.hits++;
		return stored;
	}

	std::vector<std::byte> raw(e.raw);
	const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(stored->data()),
					  reinterpret_cast<char*>(raw.data()),
					  static_cast<int>(stored->size()), static_cast<int>(e.raw));
	if (n < 0 || static_cast<std::size_t>(n) != e.raw) {
		// Cannot happen with an intact hash; never return garbage.
		im.drop(it);
		im.stats.purged_drops++;
		im.stats.misses++;
		return std::nullopt;
	}
	im.stats.hits++;
	im.stats.cold_hits++;
	// A hit makes it hot again, if memory allows; else it stays cold.
	if (auto* dst = static_cast<std::byte*>(im.hot->allocate(e.raw))) {
		std::memcpy(dst, raw.data(), e.raw);
		const std::string* k = *e.lru;
		im.account(e, false);
		im.cold_lru.erase(e.lru);
		im.cold->deallocate(e.data);
		e.tier = Tier::hot;
		e.data = dst;
		e.stored = e.raw;
		e.hash = hash_of(dst, e.raw);
		im.hot_lru.push_front(k);
		e.lru = im.hot_lru.begin();
		im.account(e, true);
		im.stats.promotions++;
	} else {
		im.cold_lru.splice(im.cold_lru.begin(), im.cold_lru, e.lru);
	}
	return raw;
}

bool ByteCache::erase(std::string_view key)
{
	const std::lock_guard lock(impl_->mutex);
	auto it = impl_->entries.find(std::string(key));
	if (it == impl_->entries.end())
		return false;
	impl_->drop(it);
	return true;
}

bool ByteCache::contains(std::string_view key) const
{
	const std::lock_guard lock(impl_->mutex);
	return impl_->entries.count(std::string(key)) != 0;
}

CacheStats ByteCache::stats() const
{
	const std::lock_guard lock(impl_->mutex);
	return impl_->stats;
}

void ByteCache::print_stats(const StatsSink& sink) const
{
	const CacheStats s = stats();

	sink(fmt::format("cache: hit rate {:.1f}% ({} hits, {} from the cold tier; "
			 "{} misses)", 100.0 * s.hit_rate(), s.hits, s.cold_hits, s.misses));
	sink(fmt::format("  hot  (price {:>6}): {:>8} entries {:>12} bytes", impl_->hot->price(),
			 s.hot_entries, s.hot_bytes));
	sink(fmt::format("  cold (price {:>6}): {:>8} entries {:>12} bytes ({} uncompressed)",
			 impl_->cold->price(), s.cold_entries, s.cold_bytes, s.cold_raw_bytes));
	sink(fmt::format("  demoted {}  promoted {}  evicted {}  dropped for size {}  "
			 "lost to purges {}  failed inserts {}", s.demotions, s.promotions,
			 s.evictions, s.capacity_drops, s.purged_drops, s.failed_inserts));
}

Listener& ByteCache::listener() noexcept
{
	return impl_->listener;
}

const Arena& ByteCache::arena() const noexcept
{
	return impl_->arena;
}

}  // namespace ramm
