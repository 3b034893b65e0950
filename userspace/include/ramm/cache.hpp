// SPDX-License-Identifier: GPL-2.0
//
// ramm::Cache<K, V>: a cache whose values live in priced, discardable memory
// and degrade through tiers instead of vanishing at once:
//
//   hot    the values as stored, in the hot price class;
//   cold   LZ4-compressed, in a cheaper price class;
//   gone   a lookup misses and the caller refills it (from its store).
//
// When the kernel asks for hot memory, the coldest hot entries in the named
// range are compressed into the cold tier (or dropped, if they do not
// compress); when it asks for cold memory, the coldest cold entries in the
// range are dropped.  A lookup of a dropped entry is a miss, never garbage:
// every stored value carries a 64-bit XXH3 hash that is checked on each
// read, so data the kernel purged (zero-filled) is detected even before its
// purge record is read.
//
// Keys are kept in ordinary memory; only the values are priced.  Thread-safe
// (one lock).  Values are serialized by Codec<V>: trivially copyable types,
// std::string and std::vector of trivially copyable types work out of the
// box; specialize ramm::Codec for others.

#ifndef RAMM_CACHE_HPP
#define RAMM_CACHE_HPP

#include <ramm/ramm.hpp>

#include <cstring>
#include <span>
#include <type_traits>

namespace ramm {

struct CacheOptions {
	// The price of a hot page: the work, in ns, to refill a page's worth
	// of entries from the caller's store (measure it: refill time / size).
	std::uint64_t hot_price = 20000;
	// The compressed tier's price; 0 means hot_price / 4.
	std::uint64_t cold_price = 0;
	// Most bytes stored (both tiers); 0: only the kernel limits the cache.
	std::size_t max_bytes = 0;
	// Compress on demotion (else demotion drops).
	bool compress = true;
};

struct CacheStats {
	std::uint64_t hits = 0;          // lookups that found the value
	std::uint64_t cold_hits = 0;     // ... of them, in the cold tier
	std::uint64_t misses = 0;
	std::uint64_t inserts = 0;
	std::uint64_t demotions = 0;     // hot entries compressed into the cold tier
	std::uint64_t promotions = 0;    // cold entries brought back on a hit
	std::uint64_t evictions = 0;     // entries dropped because memory was asked for
	std::uint64_t capacity_drops = 0;  // dropped for max_bytes
	std::uint64_t purged_drops = 0;  // found purged by the kernel (hash mismatch)
	std::uint64_t failed_inserts = 0;  // no memory for the value
	std::size_t hot_entries = 0;
	std::size_t cold_entries = 0;
	std::size_t hot_bytes = 0;       // stored bytes per tier
	std::size_t cold_bytes = 0;
	std::size_t cold_raw_bytes = 0;  // what the cold tier holds, uncompressed

	double hit_rate() const noexcept
	{
		const auto n = hits + misses;
		return n == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(n);
	}
};

// The untyped cache: byte-string keys and values.  Owns its Arena (an
// Arena's price class has one evictor, so two caches cannot share one).
class ByteCache {
public:
	// With a Dispatcher, the cache subscribes itself to its requests.
	// EINVAL for a price of 0 or a cold price above the hot one.
	static Result<std::unique_ptr<ByteCache>> create(CacheOptions options = {},
							 Dispatcher* dispatcher = nullptr);
	~ByteCache();
	ByteCache(const ByteCache&) = delete;
	ByteCache& operator=(const ByteCache&) = delete;

	// Stores a copy of value under key (replacing any).  False if no
	// memory could be had for it (the key is then absent).
	bool put(std::string_view key, std::span<const std::byte> value);
	// The value, if present and intact.
	std::optional<std::vector<std::byte>> get(std::string_view key);
	bool erase(std::string_view key);
	bool contains(std::string_view key) const;

	CacheStats stats() const;
	void print_stats(const StatsSink& sink = stderr_sink) const;
	// For subscribing by hand, or to give to another dispatcher.
	Listener& listener() noexcept;
	const Arena& arena() const noexcept;

	struct Impl;

private:
	explicit ByteCache(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

// How a value becomes bytes and back.
template <typename T, typename = void>
struct Codec;

template <typename T>
struct Codec<T, std::enable_if_t<std::is_trivially_copyable_v<T>>> {
	static std::vector<std::byte> encode(const T& v)
	{
		std::vector<std::byte> out(sizeof(T));
		std::memcpy(out.data(), &v, sizeof(T));
		return out;
	}
	static std::optional<T> decode(std::span<const std::byte> b)
	{
		if (b.size() != sizeof(T))
			return std::nullopt;
		T v;
		std::memcpy(&v, b.data(), sizeof(T));
		return v;
	}
};

template <>
struct Codec<std::string> {
	static std::vector<std::byte> encode(const std::string& v)
	{
		const auto* p = reinterpret_cast<const std::byte*>(v.data());
		return {p, p + v.size()};
	}
	static std::optional<std::string> decode(std::span<const std::byte> b)
	{
		return std::string(reinterpret_cast<const char*>(b.data()), b.size());
	}
};

template <typename E>
struct Codec<std::vector<E>, std::enable_if_t<std::is_trivially_copyable_v<E>>> {
	static std::vector<std::byte> encode(const std::vector<E>& v)
	{
		const auto* p = reinterpret_cast<const std::byte*>(v.data());
		return {p, p + v.size() * sizeof(E)};
	}
	static std::optional<std::vector<E>> decode(std::span<const std::byte> b)
	{
		if (b.size() % sizeof(E) != 0)
			return std::nullopt;
		std::vector<E> v(b.size() / sizeof(E));
		std::memcpy(v.data(), b.data(), b.size());
		return v;
	}
};

// The typed cache.  Keys are encoded with Codec<K> (so they must be
// encodable too); get() returns a copy of the value.
template <typename K, typename V>
class Cache {
public:
	static Result<Cache> create(CacheOptions options = {},
				    Dispatcher* dispatcher = nullptr)
	{
		auto core = ByteCache::create(options, dispatcher);
		if (!core)
			return core.error();
		return Cache(std::move(*core));
	}

	bool put(const K& key, const V& value)
	{
		const auto v = Codec<V>::encode(value);
		return core_->put(key_bytes(key), v);
	}
	std::optional<V> get(const K& key)
	{
		auto bytes = core_->get(key_bytes(key));
		if (!bytes)
			return std::nullopt;
		return Codec<V>::decode(*bytes);
	}
	bool erase(const K& key) { return core_->erase(key_bytes(key)); }
	bool contains(const K& key) const { return core_->contains(key_bytes(key)); }

	CacheStats stats() const { return core_->stats(); }
	void print_stats(const StatsSink& sink = stderr_sink) const { core_->print_stats(sink); }
	Listener& listener() noexcept { return core_->listener(); }
	const Arena& arena() const noexcept { return core_->arena(); }

private:
	explicit Cache(std::unique_ptr<ByteCache> core) : core_(std::move(core)) {}
	static std::string key_bytes(const K& key)
	{
		const auto b = Codec<K>::encode(key);
		return {reinterpret_cast<const char*>(b.data()), b.size()};
	}

	std::unique_ptr<ByteCache> core_;
};

}  // namespace ramm

#endif  // RAMM_CACHE_HPP
