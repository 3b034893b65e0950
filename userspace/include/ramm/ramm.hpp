// SPDX-License-Identifier: GPL-2.0
//
// libramm: the C++ side of RAMM, a RAM market for Linux.
//
// A process attaches a price to its private anonymous memory: the work, in
// nanoseconds, needed to recreate one page of it.  When RAM runs short the
// kernel asks the owners of the cheapest memory to give it back, and may drop
// cheap *discardable* memory by itself.  <linux/ramm.h> (the repository's
// uapi/ directory) is the kernel ABI; this is the only public header of the
// library.
//
// Error style: every call returns its errors as values (ramm::Result<T>, which
// holds either a T or a ramm::Error).  Result::value() throws the ramm::Error,
// so `auto m = ramm::PricedMapping::create(...).value();` is the throwing
// convenience.  No call throws otherwise, except std::bad_alloc.
//
// Runs on any kernel: without RAMM, PricedMapping falls back to plain mmap()
// and keeps the price as bookkeeping only (is_kernel_priced() says which).
//
// Test seam: setting the environment variable RAMM_DISABLE to a non-empty
// value other than "0" makes kernel_support() report RAMM as absent, so the
// fallback path runs (and can be tested) even on a RAMM kernel.  It is read
// on every call; a mapping keeps the path chosen when it was created.

#ifndef RAMM_RAMM_HPP
#define RAMM_RAMM_HPP

#include <linux/ramm.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace ramm {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

// An errno plus the operation that failed.  what() reads, for example:
//   "mmap_priced(len=0, price=2000, ramm_flags=0x1) failed: Invalid argument (EINVAL)"
// and with a detail:
//   "PricedMapping::create(len=0, ...) failed: len must be > 0: Invalid argument (EINVAL)"
class Error : public std::runtime_error {
public:
	Error(int errnum, std::string_view operation, std::string_view detail = {});

	int errnum() const noexcept { return errnum_; }
	std::error_code code() const noexcept { return {errnum_, std::generic_category()}; }
	const std::string& operation() const noexcept { return operation_; }

private:
	int errnum_;
	std::string operation_;
};

// Either a T or the Error that prevented it.
template <typename T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
	Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

	bool has_value() const noexcept { return v_.index() == 0; }
	explicit operator bool() const noexcept { return has_value(); }

	// The value; throws the Error if there is none.
	T& value() & { throw_if_error(); return std::get<0>(v_); }
	const T& value() const& { throw_if_error(); return std::get<0>(v_); }
	T value() && { throw_if_error(); return std::get<0>(std::move(v_)); }

	T& operator*() & { return value(); }
	const T& operator*() const& { return value(); }
	T* operator->() { return &value(); }
	const T* operator->() const { return &value(); }

	// Precondition: !has_value() (else std::bad_variant_access).
	const Error& error() const { return std::get<1>(v_); }

private:
	void throw_if_error() const
	{
		if (!has_value())
			throw std::get<1>(v_);
	}

	std::variant<T, Error> v_;
};

// Success or the Error of a call that returns nothing.
template <>
class [[nodiscard]] Result<void> {
public:
	Result() = default;
	Result(Error error) : error_(std::move(error)) {}

	bool has_value() const noexcept { return !error_; }
	explicit operator bool() const noexcept { return has_value(); }

	// Throws the Error, if any.
	void value() const
	{
		if (error_)
			throw *error_;
	}

	// Precondition: !has_value() (else std::bad_optional_access).
	const Error& error() const { return error_.value(); }

private:
	std::optional<Error> error_;
};

// ---------------------------------------------------------------------------
// Kernel support
// ---------------------------------------------------------------------------

// What PR_RAMM_PROBE said.  RAMM is detected with the prctl probe only: the
// syscall number of mmap_priced() means something else on other kernels (451
// is cachestat from Linux 6.5 on), so it is never called to find out.
struct KernelSupport {
	// RAMM usable: the kernel answered the probe and RAMM_DISABLE is not set.
	bool present = false;
	// RAMM_DISABLE is set (present is then false whatever the kernel is).
	bool disabled_by_env = false;
	// errno of the failed probe (EINVAL on a kernel without RAMM); 0 if the
	// kernel answered.
	int probe_errno = 0;
	// The kernel's answer (all 0 when it did not answer), kept even when
	// RAMM_DISABLE is set so tools can show what is being ignored.
	std::uint64_t version = 0;     // RAMM_API_VERSION of the running kernel
	std::uint64_t ramm_flags = 0;  // the RAMM_* flags it accepts
	std::uint64_t commands = 0;    // bit N: PR_RAMM sub-command N implemented

	bool has_command(unsigned command) const noexcept
	{
		return command < 64 && ((commands >> command) & 1U) != 0;
	}
};

// The probe result.  The prctl runs once per process (thread-safe); the
// RAMM_DISABLE variable is read on every call.
KernelSupport kernel_support();

// ---------------------------------------------------------------------------
// Raw kernel calls
// ---------------------------------------------------------------------------
//
// Thin wrappers: the kernel validates the arguments.  When kernel_support()
// reports RAMM absent they fail with ENOSYS without entering the kernel.

// mmap_priced(&args, sizeof(args)).  The caller owns the mapping returned
// (munmap() it, or use PricedMapping).
Result<void*> mmap_priced(const ramm_mmap_args& args);

// prctl(PR_RAMM, PR_RAMM_SET_PRICE, &range, sizeof(range), 0): prices
// [addr, addr + len), splitting VMAs; price 0 with ramm_flags 0 unprices it.
Result<void> set_price(const ramm_range& range);

// prctl(PR_RAMM, PR_RAMM_GET_PRICE, ...): the extent, price and ramm_flags of
// the mapping that contains addr (price 0 for unpriced memory).
Result<ramm_range> get_price(const void* addr);

// prctl(PR_RAMM, PR_RAMM_GET_STATS, ...): this process's priced totals.
Result<ramm_stats> get_stats();

// ---------------------------------------------------------------------------
// PricedMapping
// ---------------------------------------------------------------------------

// How the owner treats a priced mapping's content.
enum class Flags : std::uint64_t {
	// The kernel asks for it back but never drops it.
	preserved = 0,
	// The owner can recreate it: the kernel may drop it (reads then see
	// zero-filled pages, and the owner is told).
	discardable = RAMM_DISCARDABLE,
};

// "preserved", "discardable", or "invalid" for any other value.
std::string_view to_string(Flags flags) noexcept;

// Optional mmap() details of PricedMapping::create().
struct MapOptions {
	int prot = PROT_READ | PROT_WRITE;  // PROT_READ/WRITE/EXEC, or PROT_NONE
	int map_flags = 0;                  // MAP_POPULATE and/or MAP_NORESERVE
};

// A private anonymous mapping with a price; munmap()s it when destroyed.
// Move-only.  A moved-from PricedMapping is empty (data() == nullptr).
class PricedMapping {
public:
	// Maps len bytes (> 0) at price (> 0) per page.  On a RAMM kernel this
	// is mmap_priced() and the kernel enforces the price; otherwise a plain
	// mmap(MAP_PRIVATE | MAP_ANONYMOUS) and the price is only recorded.
	// Bad arguments fail with EINVAL on both paths alike, before any call.
	static Result<PricedMapping> create(std::size_t len, std::uint64_t price,
					    Flags flags, MapOptions options = {});

	PricedMapping() = default;
	~PricedMapping();
	PricedMapping(PricedMapping&& other) noexcept;
	PricedMapping& operator=(PricedMapping&& other) noexcept;
	PricedMapping(const PricedMapping&) = delete;
	PricedMapping& operator=(const PricedMapping&) = delete;

	std::byte* data() noexcept { return addr_; }
	const std::byte* data() const noexcept { return addr_; }
	// The length asked for (the kernel maps whole pages).
	std::size_t size() const noexcept { return len_; }
	std::span<std::byte> bytes() noexcept { return {addr_, len_}; }
	bool empty() const noexcept { return addr_ == nullptr; }

	// The price and flags last set through this object.
	std::uint64_t price() const noexcept { return price_; }
	Flags flags() const noexcept { return flags_; }
	// True when the kernel holds the price (created by mmap_priced()).
	bool is_kernel_priced() const noexcept { return kernel_priced_; }

	// Re-prices the whole mapping (price > 0): PR_RAMM_SET_PRICE when
	// kernel-priced, bookkeeping only otherwise.  Unchanged on error.
	Result<void> set_price(std::uint64_t price, Flags flags);

	// What the kernel says about the mapping that contains data()
	// (PR_RAMM_GET_PRICE).  ENOSYS when not kernel-priced.
	Result<ramm_range> kernel_price() const;

private:
	PricedMapping(std::byte* addr, std::size_t len, std::uint64_t price,
		      Flags flags, bool kernel_priced) noexcept
		: addr_(addr), len_(len), price_(price), flags_(flags),
		  kernel_priced_(kernel_priced)
	{
	}

	void unmap() noexcept;

	// Owned by this object; released by unmap().
	std::byte* addr_ = nullptr;
	std::size_t len_ = 0;
	std::uint64_t price_ = 0;
	Flags flags_ = Flags::preserved;
	bool kernel_priced_ = false;
};

// ---------------------------------------------------------------------------
// What /proc says (diagnostics and tests)
// ---------------------------------------------------------------------------
//
// A RAMM kernel prints, in /proc/PID/smaps, for priced VMAs only:
//   RammPrice:           2000
//   RammDiscardable:        1
// and in /proc/PID/status the process's totals:
//   RammPriced:       24576 kB
//   RammDiscardable:  16384 kB

// The smaps entry of one VMA.
struct SmapsRamm {
	std::uintptr_t start = 0;  // the VMA is [start, end)
	std::uintptr_t end = 0;
	std::optional<std::uint64_t> price;  // RammPrice:, if printed
	std::optional<bool> discardable;     // RammDiscardable:, if printed
	std::vector<std::string> lines;      // the Ramm* lines, verbatim
};

// The RAMM lines of /proc/self/smaps for the VMA containing addr.
// ENOENT if no VMA contains it; EBADMSG for a malformed Ramm* line.
Result<SmapsRamm> smaps_ramm(const void* addr);
// The same from smaps text (testable without a RAMM kernel).
Result<SmapsRamm> parse_smaps_ramm(std::string_view smaps, std::uintptr_t addr);

// The RAMM totals of /proc/self/status.
struct StatusRamm {
	std::optional<std::uint64_t> priced_kb;       // RammPriced:, if printed
	std::optional<std::uint64_t> discardable_kb;  // RammDiscardable:, if printed
	std::vector<std::string> lines;               // the Ramm* lines, verbatim
};

Result<StatusRamm> status_ramm();
// EBADMSG for a malformed Ramm* line.
Result<StatusRamm> parse_status_ramm(std::string_view status);

// ---------------------------------------------------------------------------
// Options and statistics
// ---------------------------------------------------------------------------

// Where statistics go, a line at a time (no '\n'), the mimalloc way: the
// caller decides (a logger, a string, stderr).
using StatsSink = std::function<void(std::string_view line)>;
// Writes each line to stderr.
void stderr_sink(std::string_view line);

// Library settings.  Options::from_env() reads them from the environment:
//   RAMM_PSI_FILE        PSI file of the fallback   (/proc/pressure/memory)
//   RAMM_PSI_TRIGGER     its trigger                (some 150000 1000000)
//   RAMM_SHED_PERMILLE   share of the priced bytes released per PSI event (100)
//   RAMM_SHED_MIN        the least released per PSI event, bytes, K/M/G
//                        suffixes allowed (4M)
//   RAMM_SHOW_STATS      non-empty, not "0": print statistics to stderr when
//                        the Dispatcher stops
//   RAMM_VERBOSE         non-empty, not "0": log every request to stderr
// (RAMM_DISABLE is read by kernel_support(), see above.)
struct Options {
	std::string psi_file = "/proc/pressure/memory";
	std::string psi_trigger = "some 150000 1000000";
	unsigned shed_permille = 100;
	std::size_t shed_min_bytes = std::size_t{4} << 20;
	bool show_stats = false;
	bool verbose = false;

	// The defaults overridden by the RAMM_* variables; EINVAL naming the
	// variable for a malformed value.
	static Result<Options> from_env();
};

// "4M" -> 4194304: a byte count with an optional K, M or G suffix (powers
// of 1024).  EINVAL for anything else, ERANGE on overflow.
Result<std::size_t> parse_size(std::string_view text);

// ---------------------------------------------------------------------------
// Arena: priced memory for many small allocations
// ---------------------------------------------------------------------------
//
// An Arena co-locates allocations of similar price in 4 MiB priced regions,
// one set of regions per *price class*, so that giving memory back frees
// whole pages instead of scattering holes.  Prices are grouped four classes
// per power of two (price_class_floor()); a region is priced at its class's
// floor, so no byte is declared dearer than its owner said.
//
// Within a region, 64 KiB spans serve one size class each (16 B .. 16 KiB,
// four classes per power of two); 16 KiB .. 2 MiB allocations take runs of
// whole spans; larger ones get a region of their own.  All bookkeeping lives
// outside the priced memory, so a purge of discardable memory (which zero-
// fills it) can lose data but never corrupt the allocator.
//
// Freed spans stay mapped for reuse until someone asks for memory back:
// release() (the Dispatcher calls it for the kernel's asks) returns the
// free spans of a range to the kernel first, and only then asks the class's
// evictor to free allocations.  A region left empty is unmapped at once.
//
// Thread-safe: one lock per price class, and in front of it a small cache
// of free slots per thread and class (up to 16 KiB of each size class),
// used without a lock.  What a thread has cached is taken back whenever
// the spans must be exact: release(), stats(), print_stats() and a
// suspected double free drain every thread's cache of the class, through
// membarrier(2); where that call is missing (Linux < 4.14, seccomp) there
// are no caches and every call takes the class lock.  A thread's cache is
// handed back when it exits.  Allocation is never attempted inside a
// signal handler.

// The lowest price of price's class: the top three significant bits of it
// (prices below 8 are classes of their own).  0 for 0.
std::uint64_t price_class_floor(std::uint64_t price) noexcept;

class Arena;

// What an evictor is asked: free allocations of yours that lie in
// [start, start + len), about `amount` bytes, coldest first.
struct EvictRequest {
	std::uintptr_t start = 0;
	std::size_t len = 0;
	std::size_t amount = 0;
};

// A price class of an Arena: allocations of one price floor and one Flags.
// Owned by its Arena; references stay valid for the Arena's lifetime.
class PriceClass {
public:
	// size bytes aligned to align (a power of two up to 64 KiB); nullptr
	// when no memory can be mapped or align is invalid.  size 0 is 1.
	void* allocate(std::size_t size,
		       std::size_t align = alignof(std::max_align_t)) noexcept;
	// Any pointer allocate() returned (of this or another class of the
	// same Arena), from any thread.  nullptr is ignored; a pointer that
	// is not a live allocation is reported to stderr and ignored.  Two
	// double frees escape the lock-free checks: two threads freeing one
	// pointer at the same moment, and a second free of discardable
	// memory the kernel purged after the first (a free slot in a thread's
	// cache is known by a key in its first word, which a purge zeroes).
	// Either may hand the slot out twice.
	void deallocate(void* p) noexcept;

	std::uint64_t price() const noexcept { return price_; }
	Flags flags() const noexcept { return flags_; }
	Arena& arena() const noexcept { return arena_; }

	// Who frees this class's allocations when memory is asked back.  The
	// evictor runs on the caller of Arena::release() (the Dispatcher's
	// thread), without the class lock held, so it may deallocate.  It
	// returns the bytes it freed; 0 means it has nothing more to give.
	using Evictor = std::function<std::size_t(const EvictRequest&)>;
	// Who is told that the kernel purged part of [start, start + len):
	// every allocation overlapping it may now read as zeros.
	using PurgeHandler = std::function<void(std::uintptr_t start, std::size_t len)>;
	void set_evictor(Evictor evictor);
	void set_purge_handler(PurgeHandler handler);

	PriceClass(const PriceClass&) = delete;
	PriceClass& operator=(const PriceClass&) = delete;
	~PriceClass();

	struct State;  // the implementation's (src/arena.cpp)

private:
	friend class Arena;
	PriceClass(Arena& arena, std::uint64_t price, Flags flags);

	Arena& arena_;
	const std::uint64_t price_;
	const Flags flags_;
	std::unique_ptr<State> state_;
};

// Counters of an Arena (or of one class), in bytes unless named otherwise.
// Exact when no other thread uses the Arena meanwhile (stats() drains the
// threads' caches first, see above); a snapshot otherwise.
struct ArenaStats {
	std::size_t regions = 0;          // priced regions mapped
	std::size_t mapped = 0;           // bytes of them
	std::size_t allocated = 0;        // bytes handed out (slot sizes)
	std::size_t allocations = 0;      // live allocations
	std::size_t free_committed = 0;   // free spans not yet given back
	std::size_t released = 0;         // bytes given back by release()
	std::size_t purged_notices = 0;   // purge notices passed on
	std::size_t invalid_frees = 0;    // deallocate() of a non-allocation
};

class Arena {
public:
	Arena();
	// Unmaps every region: live allocations die with the Arena.
	~Arena();
	Arena(const Arena&) = delete;
	Arena& operator=(const Arena&) = delete;

	// The class for price (> 0) and flags, created on first use.
	// EINVAL for price 0 or unknown flags.
	Result<std::reference_wrapper<PriceClass>> price_class(std::uint64_t price,
							       Flags flags);
	// Shorthands: price_class(price, flags)->allocate(size, align), and
	// the deallocation that finds the class itself.
	void* allocate(std::size_t size, std::uint64_t price, Flags flags,
		       std::size_t align = alignof(std::max_align_t)) noexcept;
	void deallocate(void* p) noexcept;

	// True if [start, start + len) overlaps memory of this Arena.
	bool overlaps(std::uintptr_t start, std::size_t len) const;
	// Every region: its extent, price and flags (ramm_range's layout).
	std::vector<ramm_range> ranges() const;

	// Gives back at least `amount` bytes of [start, start + len) if it
	// can: free spans first (MADV_DONTNEED), then the classes' evictors.
	// Returns the bytes returned to the kernel.
	std::size_t release(std::uintptr_t start, std::size_t len,
			    std::size_t amount);
	// The kernel purged part of [start, start + len): tells the purge
	// handlers of the classes whose regions it overlaps.
	void purged(std::uintptr_t start, std::size_t len);

	ArenaStats stats() const;
	void print_stats(const StatsSink& sink = stderr_sink) const;

private:
	friend class PriceClass;
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// A std::pmr::memory_resource over one PriceClass, so standard containers
// can live in priced memory:
//   ramm::PricedResource res(arena.price_class(2000, ramm::Flags::preserved).value());
//   std::pmr::vector<int> v(&res);
class PricedResource final : public std::pmr::memory_resource {
public:
	explicit PricedResource(PriceClass& price_class) noexcept
		: class_(price_class)
	{
	}
	PriceClass& price_class() const noexcept { return class_; }

private:
	void* do_allocate(std::size_t bytes, std::size_t align) override;
	void do_deallocate(void* p, std::size_t bytes, std::size_t align) override;
	bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override;

	PriceClass& class_;
};

// ---------------------------------------------------------------------------
// Dispatcher: the kernel's requests, delivered to their owners
// ---------------------------------------------------------------------------

// One request of the kernel (struct ramm_request), or one the fallback made.
struct Request {
	enum class Reason : std::uint32_t {
		ask = RAMM_REASON_ASK,        // please free `amount` bytes of the range
		purged = RAMM_REASON_PURGED,  // the kernel dropped `amount` bytes of it
	};
	Reason reason = Reason::ask;
	std::uint64_t seq = 0;       // the kernel's sequence number; 0 for the fallback's
	std::uintptr_t start = 0;
	std::size_t len = 0;
	std::uint64_t price = 0;
	Flags flags = Flags::preserved;
	std::size_t amount = 0;
	std::uint64_t detected_ns = 0;  // CLOCK_MONOTONIC
	std::uint64_t deadline_ns = 0;  // 0: none (purges, the fallback's asks)

	static Request from_kernel(const ramm_request& r) noexcept;
};

// What the Dispatcher delivers requests to.
class Listener {
public:
	virtual ~Listener() = default;
	// The priced ranges this listener answers for (routing, and the order
	// of the fallback's cheapest-first shedding).
	virtual std::vector<ramm_range> ranges() const = 0;
	// Give back about request.amount bytes of the range; return the bytes
	// given back to the kernel (munmap or MADV_DONTNEED).
	virtual std::size_t on_ask(const Request& request) = 0;
	// The kernel dropped part of the range: never silent.
	virtual void on_purge(const Request& request) = 0;
};

// An Arena as a Listener: asks go to Arena::release(), purges to
// Arena::purged().
class ArenaListener final : public Listener {
public:
	explicit ArenaListener(Arena& arena) noexcept : arena_(arena) {}
	std::vector<ramm_range> ranges() const override;
	std::size_t on_ask(const Request& request) override;
	void on_purge(const Request& request) override;

private:
	Arena& arena_;
};

// A PricedMapping as a Listener: its owner's callbacks get the requests.
// on_ask returns the bytes it gave back (it must munmap or MADV_DONTNEED
// them itself).
class MappingListener final : public Listener {
public:
	using AskFn = std::function<std::size_t(const Request&)>;
	using PurgeFn = std::function<void(const Request&)>;
	MappingListener(const PricedMapping& mapping, AskFn on_ask, PurgeFn on_purge)
		: mapping_(mapping), on_ask_(std::move(on_ask)), on_purge_(std::move(on_purge))
	{
	}
	std::vector<ramm_range> ranges() const override;
	std::size_t on_ask(const Request& request) override { return on_ask_(request); }
	void on_purge(const Request& request) override { on_purge_(request); }

private:
	const PricedMapping& mapping_;
	AskFn on_ask_;
	PurgeFn on_purge_;
};

// How the Dispatcher hears of pressure.
enum class DispatchMode {
	kernel,  // RAMM: the participant fd; the kernel names range and amount
	psi,     // no RAMM: a PSI trigger; shed cheapest-first in this process
	none,    // neither (no RAMM, PSI unavailable): only shed() releases
};
std::string_view to_string(DispatchMode mode) noexcept;

struct DispatcherStats {
	std::uint64_t asks = 0;            // asks delivered (kernel's and fallback's)
	std::uint64_t purges = 0;          // purge records delivered
	std::uint64_t bytes_asked = 0;
	std::uint64_t bytes_released = 0;  // what listeners gave back
	std::uint64_t bytes_purged = 0;
	std::uint64_t unrouted = 0;        // requests no listener claimed
	std::uint64_t psi_events = 0;
	std::uint64_t sheds = 0;           // shed() calls and PSI events handled
	// From the kernel's detection of a shortfall to the listeners having
	// released the memory (kernel asks only), in nanoseconds: over the
	// last 4096 asks.
	std::uint64_t latency_p50_ns = 0;
	std::uint64_t latency_p99_ns = 0;
	std::uint64_t latency_samples = 0;
};

// Registers the process with the kernel (PR_RAMM_REGISTER, no signal: the
// fd is the channel) and runs one thread that reads requests and hands
// each to the listeners whose ranges it overlaps.  On a kernel without RAMM
// it listens to a PSI trigger instead and sheds the process's cheapest
// ranges first.  One per process (the registration belongs to the address
// space): a second start() fails with EBUSY.
class Dispatcher {
public:
	static Result<std::unique_ptr<Dispatcher>> start(Options options = {});
	// Stops the thread and unregisters.
	~Dispatcher();
	Dispatcher(const Dispatcher&) = delete;
	Dispatcher& operator=(const Dispatcher&) = delete;

	// Delivers requests to listener until the Subscription is destroyed.
	// The listener must outlive the Subscription.
	class Subscription {
	public:
		Subscription() = default;
		~Subscription();
		Subscription(Subscription&& other) noexcept;
		Subscription& operator=(Subscription&& other) noexcept;

	private:
		friend class Dispatcher;
		Subscription(Dispatcher* dispatcher, Listener* listener) noexcept
			: dispatcher_(dispatcher), listener_(listener)
		{
		}
		void reset() noexcept;
		Dispatcher* dispatcher_ = nullptr;
		Listener* listener_ = nullptr;
	};
	[[nodiscard]] Subscription subscribe(Listener& listener);

	// Releases about `bytes` of the subscribed ranges, cheapest first, as
	// a PSI event does, and returns what was released.  Works in every
	// mode; runs in the caller's thread, never at the same time as a
	// delivery.
	std::size_t shed(std::size_t bytes);

	DispatchMode mode() const noexcept { return mode_; }
	// The PSI trigger in use ("" unless mode() is psi): the configured
	// one, or with its window rounded up to whole 2 s when the kernel
	// only allows that to unprivileged processes.
	const std::string& psi_trigger() const noexcept { return psi_trigger_; }
	DispatcherStats stats() const;
	void print_stats(const StatsSink& sink = stderr_sink) const;

private:
	struct Impl;
	Dispatcher(Options options, DispatchMode mode, std::string psi_trigger,
		   std::unique_ptr<Impl> impl);
	void unsubscribe(Listener* listener) noexcept;
	void run();
	void read_kernel_requests();
	std::size_t deliver(const Request& request);

	Options options_;
	DispatchMode mode_;
	std::string psi_trigger_;
	std::unique_ptr<Impl> impl_;
};

}  // namespace ramm

#endif  // RAMM_RAMM_HPP
