// SPDX-License-Identifier: GPL-2.0
//
// ramm-scenario: the scenario make demo shows and make bench measures.
//
// Four processes share a memory-tight machine:
//   cache   a cache service: 3/4 of its data is cold (price 10), 1/4 warm
//           (price 1000), all of it discardable: it can be refetched
//   keeper  a service whose data is valuable (price 1000000, preserved)
//   plain   an unmodified program that never heard of RAMM
//   hog     a program that grows until it has what it needs
// and the hog needs more than is free: someone must give memory back.  How
// the cache cooperates is the variant:
//   ramm      the cache's tiers are mmap_priced(); libramm's Dispatcher hands
//             the kernel's asks to it, and it drops what it is asked for
//   stock     no cooperation: plain memory, pressure ignored
//   psi       today's best practice: the cache frees its data, cheapest tier
//             first, on a PSI trigger "some 10000 500000"
//   madvfree  the cache marks its data MADV_FREE, so the kernel may drop it
//             when it needs the memory
//
// The driver prints a timeline (who was asked for what at what price, what
// was released or purged, free memory over time) and, once the hog has its
// memory or died, every process checks its data page by page.  The outcome:
// OOM kills, valuable bytes lost, the time until the hog had its memory,
// processes disturbed, cheapest-first accuracy and value retained against
// the offline optimum (evicting exactly the cheapest bytes).  --json writes
// the same as one JSON object.
//
// Exit status: 0 when the scenario ran (whatever its outcome), 1 when it
// could not be run (bad arguments, a process that could not start).

#include <ramm/ramm.hpp>

#include "bench_support.hpp"
#include "scenario_support.hpp"

#include <fmt/format.h>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ramm::bench;
using namespace ramm::demo;

constexpr std::size_t page_size = data_page_size;

constexpr std::uint64_t cold_price = 10;
constexpr std::uint64_t warm_price = 1000;
constexpr std::uint64_t valuable_price = 1000000;

enum class Variant { ramm, stock, psi, madvfree };

// What children tell the driver (scenario_support.hpp), here with asks as
//   A <ns> <role> <source> <tier> <price> <asked> <released>
//                                 an ask answered (source: kernel or psi;
//                                 bytes), merged with the asks that follow
//                                 it closely into one timeline line

// --- the cache -----------------------------------------------------------------

[[noreturn]] void run_cache(Variant variant, std::size_t size, int control_fd)
{
	std::array<Tier, 2> tiers = {{
		{"cold", cold_price, 11, size / 4 * 3 / page_size * page_size, {}},
		{"warm", warm_price, 12, size / 4 / page_size * page_size, {}},
	}};
	const bool priced = variant == Variant::ramm || variant == Variant::psi;
	// The PSI variant is libramm's fallback, whatever the kernel.
	if (variant == Variant::psi)
		::setenv("RAMM_DISABLE", "1", 1);

	for (Tier& tier : tiers)
		map_tier(tier, priced);

	std::vector<ramm::MappingListener> listeners;
	std::unique_ptr<ramm::Dispatcher> dispatcher;
	std::vector<ramm::Dispatcher::Subscription> subscriptions;
	if (priced) {
		ramm::Options options;
		if (variant == Variant::psi) {
			// "Free the caches on memory pressure": all of them,
			// cheapest first, at the first event.
			options.psi_trigger = "some 10000 500000";
			options.shed_permille = 1000;
		}
		dispatcher = start_dispatcher(options);
		listeners.reserve(tiers.size());
		for (Tier& tier : tiers) {
			listeners.emplace_back(
				tier.priced,
				[&tier](const ramm::Request& r) {
					const bool psi = r.seq == 0;
					const std::size_t given = drop_from_top(tier, r.amount);
					if (r.detected_ns != 0)
						result("notified_ns", r.detected_ns);
					send_line(fmt::format("A {} {} {} {} {} {} {}", now_ns(), g_role,
							      psi ? "psi" : "kernel", tier.name,
							      tier.price, r.amount, given));
					result("first_notice_ns", now_ns());
					return given;
				},
				[&tier](const ramm::Request& r) {
					event("kernel purged {:.1f} MiB of {} (price {}, discardable)",
					      mib(r.amount), tier.name, tier.price);
					result("purged_bytes", r.amount);
				});
			subscriptions.push_back(dispatcher->subscribe(listeners.back()));
		}
	} else if (variant == Variant::madvfree) {
		for (Tier& tier : tiers)
			::madvise(tier.data(), tier.len, MADV_FREE);
	}
	event("holds {:.0f} MiB: {:.0f} MiB {} at price {} and {:.0f} MiB {} at price {} ({})",
	      mib(tiers[0].len + tiers[1].len), mib(tiers[0].len), tiers[0].name,
	      tiers[0].price, mib(tiers[1].len), tiers[1].name, tiers[1].price,
	      variant == Variant::madvfree ? "MADV_FREE"
	      : priced ? (dispatcher->mode() == ramm::DispatchMode::kernel
			  ? "discardable, kernel-priced" : "PSI-triggered shedding")
		       : "plain memory");
	result("ready", 1);

	wait_for_driver(control_fd);
	if (dispatcher) {
		// From the kernel's detection of the shortfall to the memory
		// given back, as libramm's Dispatcher measured it.
		const ramm::DispatcherStats st = dispatcher->stats();
		result("release_samples", st.latency_samples);
		result("release_p50_ns", st.latency_p50_ns);
		result("release_p99_ns", st.latency_p99_ns);
	}
	subscriptions.clear();
	dispatcher.reset();
	for (Tier& tier : tiers) {
		const std::size_t intact = intact_pages(tier.data(), tier.len, tier.seed);
		result(fmt::format("{}_bytes", tier.name), tier.len);
		result(fmt::format("{}_intact", tier.name), intact * page_size);
	}
	std::_Exit(0);
}

// --- the keeper: valuable, preserved -------------------------------------------

[[noreturn]] void run_keeper(Variant variant, std::size_t size, int control_fd)
{
	const std::uint64_t seed = 21;
	size = size / page_size * page_size;
	ramm::PricedMapping priced;
	std::byte* data;
	if (variant == Variant::ramm) {
		priced = map_priced(size, valuable_price, ramm::Flags::preserved);
		data = priced.data();
	} else {
		data = map_plain(size);
	}
	fill(data, size, seed);

	// It listens, but has nothing it could give: everything it holds is
	// worth more than anyone else's memory.
	std::unique_ptr<ramm::Dispatcher> dispatcher;
	std::optional<ramm::MappingListener> listener;
	ramm::Dispatcher::Subscription subscription;
	if (variant == Variant::ramm) {
		auto started = ramm::Dispatcher::start();
		if (started) {
			dispatcher = std::move(*started);
			listener.emplace(
				priced,
				[](const ramm::Request& r) {
					event("kernel asks for {:.1f} MiB (price {}): keeps it, too valuable",
					      mib(r.amount), r.price);
					result("asked", 1);
					return std::size_t{0};
				},
				[](const ramm::Request& r) {
					event("kernel purged {:.1f} MiB: cannot happen to preserved memory",
					      mib(r.amount));
				});
			subscription = dispatcher->subscribe(*listener);
		}
	}
	event("holds {:.0f} MiB of valuable data (price {}, {})", mib(size),
	      valuable_price, variant == Variant::ramm ? "preserved" : "plain memory");
	result("ready", 1);

	wait_for_driver(control_fd);
	subscription = {};
	dispatcher.reset();
	result("valuable_bytes", size);
	result("valuable_intact", intact_pages(data, size, seed) * page_size);
	std::_Exit(0);
}

// --- the unmodified program ------------------------------------------------------

[[noreturn]] void run_plain(std::size_t size, int control_fd)
{
	const std::uint64_t seed = 31;
	size = size / page_size * page_size;
	std::byte* data = map_plain(size);
	fill(data, size, seed);
	event("holds {:.0f} MiB of ordinary memory (never heard of RAMM)", mib(size));
	result("ready", 1);
	wait_for_driver(control_fd);
	result("plain_bytes", size);
	result("plain_intact", intact_pages(data, size, seed) * page_size);
	std::_Exit(0);
}

// --- the hog ------------------------------------------------------------------

[[noreturn]] void run_hog(std::size_t size, int control_fd)
{
	constexpr std::size_t step = 4 * MiB;
	const std::uint64_t t0 = now_ns();
	std::size_t have = 0, next_report = 32 * MiB;

	event("starts growing to {:.0f} MiB", mib(size));
	result("start_ns", t0);
	while (have < size) {
		const std::size_t len = std::min(step, size - have);
		std::byte* chunk = map_plain(len);
		fill(chunk, len, 41 + have);
		have += len;
		if (have >= next_report && have < size) {
			event("has {:.0f} of {:.0f} MiB", mib(have), mib(size));
			next_report += 32 * MiB;
		}
	}
	const std::uint64_t took = now_ns() - t0;
	event("has all {:.0f} MiB after {:.2f} s", mib(size), double(took) / 1e9);
	result("satisfied_ns", took);
	wait_for_driver(control_fd);
	std::_Exit(0);
}

// --- the driver -------------------------------------------------------------

struct Options {
	Variant variant = Variant::ramm;
	std::size_t cache = 64 * MiB;
	std::size_t keeper = 72 * MiB;
	std::size_t plain = 16 * MiB;
	// 0: what the others leave of what was available, plus half the cache.
	std::size_t hog = 0;
	unsigned timeout_s = 120;
	std::string json;
	bool quiet = false;
};

const char* variant_name(Variant v)
{
	switch (v) {
	case Variant::ramm: return "ramm";
	case Variant::stock: return "stock";
	case Variant::psi: return "psi";
	case Variant::madvfree: return "madvfree";
	}
	return "?";
}

class Driver final : public DriverBase {
public:
	explicit Driver(Options options) : DriverBase("ramm-scenario"), o_(std::move(options)) {}
	int run();

private:
	void print(std::uint64_t t, std::string_view who, std::string_view what) override;
	void handle(std::string_view line) override;
	void flush_asks() override;
	void sample();

	Options o_;
	std::vector<std::pair<double, double>> free_mib_;  // (s, MiB) samples
	std::uint64_t last_print_free_kib_ = 0;
	double last_print_t_ = -10;
};

void Driver::print(std::uint64_t t, std::string_view who, std::string_view what)
{
	if (o_.quiet)
		return;
	const double s = t > t0_ ? double(t - t0_) / 1e9 : 0.0;
	fmt::print("  {:7.2f}s  {:>5} MiB free  {:<7} {}\n", s,
		   meminfo_bytes("MemFree") / MiB, who, what);
	std::fflush(stdout);
}

void Driver::flush_asks()
{
	if (!asks_)
		return;
	const AskRun& a = *asks_;
	const std::string what = a.source == "psi" ? "PSI event: shed" : "kernel asked for";
	print(a.first_ns, a.role,
	      a.asks == 1 ? fmt::format("{} {:.1f} MiB of {} (price {}): released {:.1f} MiB",
					what, mib(a.asked), a.tier, a.price, mib(a.given))
			  : fmt::format("{} {:.1f} MiB of {} (price {}) in {} asks over {:.0f} ms: "
					"released {:.1f} MiB",
					what, mib(a.asked), a.tier, a.price, a.asks,
					double(a.last_ns - a.first_ns) / 1e6, mib(a.given)));
	asks_.reset();
}

void Driver::handle(std::string_view line)
{
	std::istringstream in{std::string(line)};
	std::string kind, role;
	in >> kind;
	if (kind == "A") {
		std::uint64_t t, price, asked, released;
		std::string source, tier;
		in >> t >> role >> source >> tier >> price >> asked >> released;
		if (Child* c = find(role))
			c->events++;
		note_ask(t, role, source, tier, price, asked, released);
		return;
	}
	if (kind == "E") {
		flush_asks();	// the timeline stays in order
		std::uint64_t t;
		in >> t >> role;
		const std::string text = event_text(in);
		if (Child* c = find(role); c && text.starts_with("kernel"))
			c->events++;
		print(t, role, text);
	} else if (kind == "R") {
		std::string key;
		std::uint64_t value = 0;
		in >> role >> key >> value;
		Child* c = find(role);
		if (c == nullptr)
			return;
		// Sums for amounts, the first time for moments.
		if (key == "first_notice_ns" || key == "notified_ns")
			c->results.try_emplace(key, value);
		else
			c->results[key] += value;
	}
}

void Driver::sample()
{
	const std::uint64_t free_kib = meminfo_bytes("MemFree") / 1024;
	const double t = double(now_ns() - t0_) / 1e9;
	free_mib_.emplace_back(t, double(free_kib) / 1024);
	// A memory line when free memory moved by 8 MiB, at most one a second.
	const auto moved = free_kib > last_print_free_kib_ ? free_kib - last_print_free_kib_
							    : last_print_free_kib_ - free_kib;
	if (moved >= 8 * 1024 && t - last_print_t_ >= 1.0) {
		print(now_ns(), "memory",
		      fmt::format("MemAvailable {} MiB", meminfo_bytes("MemAvailable") / MiB));
		last_print_free_kib_ = free_kib;
		last_print_t_ = t;
	}
}

int Driver::run()
{
	if (!open_report())
		return 1;
	const std::uint64_t oom_before = vmstat("oom_kill");
	const std::size_t available_at_start = meminfo_bytes("MemAvailable");

	if (!o_.quiet)
		fmt::print("variant {}: cache {:.0f} MiB, keeper {:.0f} MiB, plain {:.0f} MiB; "
			   "{} MiB free, {} MiB available\n",
			   variant_name(o_.variant), mib(o_.cache), mib(o_.keeper), mib(o_.plain),
			   meminfo_bytes("MemFree") / MiB, meminfo_bytes("MemAvailable") / MiB);

	const Variant v = o_.variant;
	children_.reserve(4);
	children_.push_back(spawn("cache", report_wr_, [&](int fd) { run_cache(v, o_.cache, fd); }));
	if (!wait_ready(children_.back()))
		return 1;
	children_.push_back(spawn("keeper", report_wr_, [&](int fd) { run_keeper(v, o_.keeper, fd); }));
	if (!wait_ready(children_.back()))
		return 1;
	children_.push_back(spawn("plain", report_wr_, [&](int fd) { run_plain(o_.plain, fd); }));
	if (!wait_ready(children_.back()))
		return 1;

	// Sized from what was available before anyone started, so every
	// variant's hog needs the same (MADV_FREE pages count as available).
	std::size_t hog = o_.hog;
	if (hog == 0 && available_at_start > o_.cache + o_.keeper + o_.plain)
		hog = (available_at_start - o_.cache - o_.keeper - o_.plain + o_.cache / 2) / MiB * MiB;
	if (hog == 0) {
		fmt::print(stderr, "ramm-scenario: cache, keeper and plain need more than the "
			   "{} MiB available\n", available_at_start / MiB);
		return 1;
	}
	const std::uint64_t hog_start = now_ns();
	children_.push_back(spawn("hog", report_wr_, [&](int fd) { run_hog(hog, fd); }));
	Child* hog_child = &children_.back();

	// Until the hog has its memory or died, and a second more for the
	// market to settle.
	const std::uint64_t deadline = hog_start + std::uint64_t(o_.timeout_s) * 1000000000u;
	std::uint64_t settle = 0;
	bool timed_out = false;
	while (settle == 0 || now_ns() < settle) {
		pump(100);
		reap();
		sample();
		if (settle == 0 && (hog_child->exited || hog_child->results.contains("satisfied_ns")))
			settle = now_ns() + 1000000000u;
		if (now_ns() > deadline) {
			timed_out = true;
			print(now_ns(), "driver", "timed out: the hog never got its memory");
			break;
		}
	}

	// Everyone still alive checks its data.
	check_all();
	pump(0);
	drain();

	// --- the outcome ---
	// /proc/vmstat counts OOM kills only with CONFIG_VM_EVENT_COUNTERS;
	// a SIGKILL nobody here sent is one too.
	std::uint64_t oom_kills = vmstat("oom_kill") - oom_before;
	oom_kills = std::max<std::uint64_t>(
		oom_kills, std::count_if(children_.begin(), children_.end(),
					 [](const Child& c) { return c.killed_early; }));
	Child& cache = children_[0];
	Child& keeper = children_[1];
	Child& plain = children_[2];

	// Bytes of each price class, and how many were lost.  A killed
	// process lost everything it held.
	const std::uint64_t cold_total = o_.cache / 4 * 3 / page_size * page_size;
	const std::uint64_t warm_total = o_.cache / 4 / page_size * page_size;
	const std::uint64_t valuable_total = o_.keeper / page_size * page_size;
	const std::uint64_t cold_lost = cache.killed() ? cold_total
					: cold_total - cache.value("cold_intact");
	const std::uint64_t warm_lost = cache.killed() ? warm_total
					: warm_total - cache.value("warm_intact");
	const std::uint64_t valuable_lost = keeper.killed() ? valuable_total
					    : valuable_total - keeper.value("valuable_intact");
	const std::uint64_t plain_total = o_.plain / page_size * page_size;
	const std::uint64_t plain_lost = plain.killed() ? plain_total
					 : plain_total - plain.value("plain_intact");

	// The offline optimum gives up the same number of priced bytes,
	// cheapest first.
	struct Class { std::uint64_t price, total, lost; };
	const std::array<Class, 3> classes = {{{cold_price, cold_total, cold_lost},
					       {warm_price, warm_total, warm_lost},
					       {valuable_price, valuable_total, valuable_lost}}};
	std::uint64_t evicted = 0;
	for (const Class& c : classes)
		evicted += c.lost;
	std::uint64_t left = evicted, overlap = 0;
	double value_kept = 0, value_opt = 0;
	for (const Class& c : classes) {
		const std::uint64_t opt_lost = std::min(left, c.total);
		left -= opt_lost;
		overlap += std::min(opt_lost, c.lost);
		value_kept += double(c.price) * double(c.total - c.lost) / page_size;
		value_opt += double(c.price) * double(c.total - opt_lost) / page_size;
	}
	const double accuracy = evicted ? double(overlap) / double(evicted) : 1.0;
	const double value_ratio = value_opt > 0 ? value_kept / value_opt : 1.0;

	const bool hog_ok = hog_child->results.contains("satisfied_ns") && !hog_child->killed();
	const double hog_s = hog_ok ? double(hog_child->results["satisfied_ns"]) / 1e9 : -1;
	unsigned disturbed = 0;
	for (Child* c : {&cache, &keeper, &plain})
		disturbed += c->killed() || c->events > 0 ||
			     (c == &plain && plain_lost > 0) || (c == &keeper && keeper.value("asked"));
	// From the hog's start to the first notice the cache acted on.
	const std::uint64_t first = cache.value("first_notice_ns");
	const std::uint64_t hog_t0 = hog_child->value("start_ns") ? hog_child->value("start_ns")
								   : hog_start;
	const double notice_ms = first > hog_t0 ? double(first - hog_t0) / 1e6 : -1;

	std::string killed_names;
	for (const Child& c : children_)
		if (c.killed())
			killed_names += (killed_names.empty() ? "" : ",") + c.role;

	if (!o_.quiet) {
		fmt::print("outcome {}: {} OOM kill(s){}; valuable bytes lost {:.1f} MiB; "
			   "hog {}; {} process(es) disturbed; cheapest-first accuracy {:.3f}; "
			   "value retained {:.3f} of the optimum\n",
			   variant_name(v), oom_kills,
			   killed_names.empty() ? "" : fmt::format(" ({} killed)", killed_names),
			   mib(valuable_lost),
			   hog_ok ? fmt::format("had its {:.0f} MiB after {:.2f} s", mib(hog), hog_s)
				  : std::string(timed_out ? "never got its memory (timeout)" : "was killed"),
			   disturbed, accuracy, value_ratio);
	}
	if (!o_.json.empty()) {
		std::FILE* f = std::fopen(o_.json.c_str(), "w");
		if (f == nullptr) {
			fmt::print(stderr, "ramm-scenario: {}: {}\n", o_.json, std::strerror(errno));
			return 1;
		}
		std::string samples;
		for (auto [t, m] : free_mib_)
			samples += fmt::format("{}[{:.2f},{:.1f}]", samples.empty() ? "" : ",", t, m);
		fmt::print(f,
			   "{{\"kind\":\"scenario\",\"variant\":\"{}\",\"cache_bytes\":{},\"keeper_bytes\":{},\"plain_bytes\":{},"
			   "\"hog_bytes\":{},\"oom_kills\":{},\"killed\":\"{}\",\"valuable_lost_bytes\":{},"
			   "\"cold_lost_bytes\":{},\"warm_lost_bytes\":{},\"plain_lost_bytes\":{},"
			   "\"hog_satisfied\":{},\"hog_seconds\":{:.3f},\"timed_out\":{},"
			   "\"disturbed\":{},\"accuracy\":{:.4f},\"value_retained\":{:.4f},"
			   "\"notice_ms\":{:.1f},\"release_samples\":{},\"release_p50_ms\":{:.3f},"
			   "\"release_p99_ms\":{:.3f},\"free_mib\":[{}]}}\n",
			   variant_name(v), o_.cache, o_.keeper, o_.plain, hog, oom_kills,
			   killed_names, valuable_lost, cold_lost, warm_lost, plain_lost,
			   hog_ok, hog_s, timed_out, disturbed, accuracy, value_ratio,
			   notice_ms, cache.value("release_samples"),
			   double(cache.value("release_p50_ns")) / 1e6,
			   double(cache.value("release_p99_ns")) / 1e6, samples);
		std::fclose(f);
	}
	return 0;
}

std::optional<std::size_t> size_arg(const char* text)
{
	auto size = ramm::parse_size(text);
	if (!size)
		return std::nullopt;
	return *size;
}

[[noreturn]] void usage(int status)
{
	fmt::print(status ? stderr : stdout,
		   "usage: ramm-scenario [--variant ramm|stock|psi|madvfree] [--cache SIZE]\n"
		   "                     [--keeper SIZE] [--plain SIZE] [--hog SIZE]\n"
		   "                     [--timeout SECONDS] [--json FILE] [--quiet]\n"
		   "SIZE: bytes with an optional K, M or G suffix.  --hog defaults to what cache,\n"
		   "keeper and plain leave of the memory available at the start, plus half the\n"
		   "cache: someone must give memory back.\n");
	std::exit(status);
}

}  // namespace

int main(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		const std::string_view arg = argv[i];
		if (arg == "-h" || arg == "--help")
			usage(0);
		if (arg == "--quiet") {
			o.quiet = true;
			continue;
		}
		if (i + 1 >= argc)
			usage(2);
		const char* value = argv[++i];
		std::optional<std::size_t> size;
		if (arg == "--variant") {
			const std::string_view v = value;
			if (v == "ramm") o.variant = Variant::ramm;
			else if (v == "stock") o.variant = Variant::stock;
			else if (v == "psi") o.variant = Variant::psi;
			else if (v == "madvfree") o.variant = Variant::madvfree;
			else {
				fmt::print(stderr, "ramm-scenario: unknown variant '{}'\n", v);
				usage(2);
			}
		} else if (arg == "--json") {
			o.json = value;
		} else if (arg == "--timeout") {
			unsigned t = 0;
			const std::string_view v = value;
			if (std::from_chars(v.data(), v.data() + v.size(), t).ec != std::errc{} || t == 0) {
				fmt::print(stderr, "ramm-scenario: bad --timeout '{}'\n", v);
				usage(2);
			}
			o.timeout_s = t;
		} else if ((size = size_arg(value)) && *size >= 4 * MiB) {
			if (arg == "--cache") o.cache = *size;
			else if (arg == "--keeper") o.keeper = *size;
			else if (arg == "--plain") o.plain = *size;
			else if (arg == "--hog") o.hog = *size;
			else usage(2);
		} else {
			fmt::print(stderr, "ramm-scenario: {} needs a size of at least 4M, not '{}'\n",
				   arg, value);
			usage(2);
		}
	}
	if (o.variant == Variant::ramm && !ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-scenario: variant ramm needs a RAMM kernel\n");
		return 1;
	}
	return Driver(std::move(o)).run();
}
