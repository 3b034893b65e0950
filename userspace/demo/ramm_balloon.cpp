// SPDX-License-Identifier: GPL-2.0
//
// ramm-balloon: the guest's side of "the host wants memory back".
//
// The host takes memory from a running guest with a virtio balloon
// (scripts/balloon.py drives QEMU's; the guest's driver allocates the pages
// it hands back with __GFP_NORETRY, so it never OOM-kills: on stock 6.1 it
// logs "Out of puff!" and retries every 200 ms).  In the guest:
//   cache-a, cache-b, ...  caches of data they can refetch: 3/4 cold (price
//            10, 20, ...), 1/4 warm (price 1000, 2000, ...), discardable;
//            on RAMM they answer the kernel's asks by dropping what they
//            were asked for (libramm's Dispatcher)
//   keeper   valuable data (price 1000000, preserved), checked byte by byte
//            at the end
//   next     once the balloon has settled, a program that needs --then
//            bytes of ordinary memory: the guest's next allocation
// The driver prints "RAMM-BALLOON-READY" when everyone holds its data (the
// host inflates then), follows the balloon through MemTotal (the 6.1
// driver takes each page it holds out of it, unless the host offered
// deflate-on-OOM), and prints "RAMM-BALLOON-SETTLED" when the balloon
// holds --balloon bytes or has not grown for --stall seconds.  The RAMM
// counters (/sys/kernel/mm/ramm/) are read at both lines.
//
// Variants: ramm (priced memory, participants) and stock (the same data in
// plain memory; nobody is asked).  The outcome (--json): what the balloon
// got and how fast, OOM kills, who was killed, preserved bytes lost, what
// each cache tier gave, cheapest-first accuracy, the counters' change
// during inflation, and whether the next allocation got its memory.
//
// Exit status: 0 when the scenario ran (whatever its outcome), 1 when it
// could not be run.

#include <ramm/ramm.hpp>

#include "bench_support.hpp"
#include "scenario_support.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ramm::bench;
using namespace ramm::demo;

constexpr std::size_t page_size = data_page_size;
constexpr std::uint64_t valuable_price = 1000000;

// What children tell the driver (scenario_support.hpp), here with asks as
//   A <ns> <role> <tier> <price> <asked> <given>  an ask answered (bytes)

// --- a cache -------------------------------------------------------------------

// The tiers of cache number i: cheaper the lower i, so that the market's
// order runs across processes (a's cold, b's cold, ..., a's warm, ...).
std::uint64_t cold_price(unsigned i) { return 10 * (i + 1); }
std::uint64_t warm_price(unsigned i) { return 1000 * (i + 1); }
std::size_t cold_len(std::size_t size) { return size / 4 * 3 / page_size * page_size; }
std::size_t warm_len(std::size_t size) { return size / 4 / page_size * page_size; }

[[noreturn]] void run_cache(bool priced, unsigned index, std::size_t size, int control_fd)
{
	std::array<Tier, 2> tiers = {{
		{"cold", cold_price(index), 100 + 2 * index, cold_len(size), {}},
		{"warm", warm_price(index), 101 + 2 * index, warm_len(size), {}},
	}};
	for (Tier& tier : tiers)
		map_tier(tier, priced);

	std::vector<ramm::MappingListener> listeners;
	std::unique_ptr<ramm::Dispatcher> dispatcher;
	std::vector<ramm::Dispatcher::Subscription> subscriptions;
	if (priced) {
		dispatcher = start_dispatcher();
		listeners.reserve(tiers.size());
		for (Tier& tier : tiers) {
			listeners.emplace_back(
				tier.priced,
				[&tier](const ramm::Request& r) {
					const std::size_t given = drop_from_top(tier, r.amount);
					send_line(fmt::format("A {} {} {} {} {} {}", now_ns(), g_role,
							      tier.name, tier.price, r.amount, given));
					return given;
				},
				[&tier](const ramm::Request& r) {
					event("kernel purged {:.1f} MiB of {} (price {}, discardable)",
					      mib(r.amount), tier.name, tier.price);
					result(tier.name + "_purged", r.amount);
				});
			subscriptions.push_back(dispatcher->subscribe(listeners.back()));
		}
	}
	event("holds {:.0f} MiB: {:.0f} MiB cold at price {}, {:.0f} MiB warm at price {} ({})",
	      mib(tiers[0].len + tiers[1].len), mib(tiers[0].len), tiers[0].price,
	      mib(tiers[1].len), tiers[1].price,
	      priced ? "discardable, kernel-priced" : "plain memory");
	result("ready", 1);

	wait_for_driver(control_fd);
	subscriptions.clear();
	dispatcher.reset();
	for (Tier& tier : tiers) {
		// What it still keeps must be what it wrote; the rest it gave.
		const std::size_t kept = tier.kept.load();
		result(tier.name + "_given", tier.len - kept);
		result(tier.name + "_kept_intact",
		       intact_pages(tier.data(), kept, tier.seed) * page_size);
	}
	std::_Exit(0);
}

// --- the keeper: valuable, preserved -------------------------------------------

[[noreturn]] void run_keeper(bool priced, std::size_t size, int control_fd)
{
	const std::uint64_t seed = 21;
	ramm::PricedMapping mapping;
	std::byte* data;
	if (priced) {
		mapping = map_priced(size, valuable_price, ramm::Flags::preserved);
		data = mapping.data();
	} else {
		data = map_plain(size);
	}
	fill(data, size, seed);
	event("holds {:.0f} MiB of valuable data (price {}, {})", mib(size), valuable_price,
	      priced ? "preserved" : "plain memory");
	result("ready", 1);
	wait_for_driver(control_fd);
	result("valuable_identical", identical_pages(data, size, seed) * page_size);
	std::_Exit(0);
}

// --- the guest's next allocation -------------------------------------------------

[[noreturn]] void run_next(std::size_t size, int control_fd)
{
	const std::uint64_t t0 = now_ns();
	std::byte* data = map_plain(size);
	fill(data, size, 41);
	const std::uint64_t took = now_ns() - t0;
	event("has its {:.0f} MiB after {:.2f} s", mib(size), double(took) / 1e9);
	result("satisfied_ns", took);
	wait_for_driver(control_fd);
	std::_Exit(0);
}

// --- the driver -------------------------------------------------------------

// The defaults are issue 8's sizes for a 512 MiB guest on a kernel without
// debugging (make demo, make bench): about 250 MiB of cheap discardable
// cache in two processes, 60 MiB preserved, the host taking 200 MiB.
struct Options {
	bool priced = true;
	unsigned caches = 2;
	std::size_t cache = 125 * MiB;	// each
	std::size_t keeper = 60 * MiB;
	std::size_t balloon = 200 * MiB;
	std::size_t then = 32 * MiB;
	unsigned stall_s = 5;
	unsigned timeout_s = 120;
	std::string json;
};

// The RAMM counters the balloon's pressure should move (none on stock).
constexpr std::array<const char*, 8> counter_names = {
	"wakes", "wakes_ahead", "requests", "pages_asked", "pages_released",
	"pages_purged_krammmd", "pages_purged_direct", "pages_purged_oom"};

std::map<std::string, std::int64_t> ramm_counters()
{
	std::map<std::string, std::int64_t> c;
	for (const char* name : counter_names) {
		std::ifstream in(std::string("/sys/kernel/mm/ramm/") + name);
		std::int64_t v;
		if (in >> v)
			c[name] = v;
	}
	return c;
}

// The direct-reclaim hook's passes during inflation, from the ramm_direct_reclaim
// tracepoint when tracefs is mounted (the debug kernel has event tracing).
// The hook returns before purging for __GFP_NORETRY allocations such as
// the balloon's; the trace tells which allocations the pages that
// pages_purged_direct counts were purged for.
struct HookTrace {
	bool traced = false;
	std::uint64_t passes = 0, passes_noretry = 0, purged_noretry = 0, purged_other = 0;
	std::string purgers;	// "comm order gfp pages" of the passes that purged
};

const std::string tracing = "/sys/kernel/tracing";

bool write_file(const std::string& path, const char* text)
{
	std::ofstream f(path, std::ios::trunc);
	return f && (f << text) && f.flush();
}

bool trace_hook(bool on)
{
	const std::string enable = tracing + "/events/ramm/ramm_direct_reclaim/enable";
	if (::access(enable.c_str(), W_OK) != 0)
		return false;	// no tracefs, or no RAMM
	if (on && !write_file(tracing + "/trace", ""))
		return false;
	return write_file(enable, on ? "1" : "0");
}

HookTrace read_hook_trace()
{
	HookTrace t;
	std::ifstream in(tracing + "/trace");
	if (!in)
		return t;
	t.traced = true;
	std::string line;
	while (std::getline(in, line)) {
		const auto at = line.find("ramm_direct_reclaim: ");
		if (line.starts_with("#") || at == std::string::npos)
			continue;
		t.passes++;
		auto field = [&](std::string_view key) {
			const auto p = line.find(key, at);
			if (p == std::string::npos)
				return std::string();
			const auto end = line.find(' ', p);
			return line.substr(p + key.size(), end == std::string::npos ? end : end - p - key.size());
		};
		const std::uint64_t purged = std::strtoull(field("nr_purged=").c_str(), nullptr, 10);
		const std::string gfp = field("gfp_flags=");
		if (gfp.find("__GFP_NORETRY") != std::string::npos) {
			t.passes_noretry++;
			t.purged_noretry += purged;
		} else
			t.purged_other += purged;
		if (purged && t.purgers.size() < 300) {
			// "<comm>-<pid> [cpu] ...": comm may hold '-' itself.
			std::string task = line.substr(0, line.find(" ["));
			task.erase(0, task.find_first_not_of(' '));
			const std::string comm = task.substr(0, task.rfind('-'));
			t.purgers += fmt::format("{}{} order {} {} {} pages", t.purgers.empty() ? "" : "; ",
						 comm, field("order="), gfp, purged);
		}
	}
	return t;
}

class Driver final : public DriverBase {
public:
	explicit Driver(Options o) : DriverBase("ramm-balloon"), o_(std::move(o)) {}
	int run();

private:
	void print(std::uint64_t t, std::string_view who, std::string_view what) override;
	void handle(std::string_view line) override;
	void flush_asks() override;

	Options o_;
	// Every ask in order: (role, tier, price), for the order the market kept.
	std::vector<std::string> ask_order_;
};

void Driver::print(std::uint64_t t, std::string_view who, std::string_view what)
{
	const double s = t > t0_ ? double(t - t0_) / 1e9 : 0.0;
	fmt::print("  {:7.2f}s  {:>5} MiB free  {:<8} {}\n", s, meminfo_bytes("MemFree") / MiB,
		   who, what);
	std::fflush(stdout);
}

void Driver::flush_asks()
{
	if (!asks_)
		return;
	const AskRun& a = *asks_;
	print(a.first_ns, a.role,
	      a.asks == 1 ? fmt::format("kernel asked for {:.1f} MiB of {} (price {}): gave {:.1f} MiB",
					mib(a.asked), a.tier, a.price, mib(a.given))
			  : fmt::format("kernel asked for {:.1f} MiB of {} (price {}) in {} asks over "
					"{:.0f} ms: gave {:.1f} MiB",
					mib(a.asked), a.tier, a.price, a.asks,
					double(a.last_ns - a.first_ns) / 1e6, mib(a.given)));
	asks_.reset();
}

void Driver::handle(std::string_view line)
{
	std::istringstream in{std::string(line)};
	std::string kind, role;
	in >> kind;
	if (kind == "A") {
		std::uint64_t t, price, asked, given;
		std::string tier;
		in >> t >> role >> tier >> price >> asked >> given;
		if (Child* c = find(role))
			c->results["asks"]++;
		const std::string what = fmt::format("{}:{}", role, tier);
		if (ask_order_.empty() || ask_order_.back() != what)
			ask_order_.push_back(what);
		note_ask(t, role, "", tier, price, asked, given);
	} else if (kind == "E") {
		flush_asks();
		std::uint64_t t;
		in >> t >> role;
		const std::string text = event_text(in);
		print(t, role, text);
	} else if (kind == "R") {
		std::string key;
		std::uint64_t value = 0;
		in >> role >> key >> value;
		if (Child* c = find(role))
			c->results[key] += value;
	}
}

int Driver::run()
{
	if (!open_report())
		return 1;
	const std::uint64_t oom_before = vmstat("oom_kill");
	const char* variant = o_.priced ? "ramm" : "stock";
	fmt::print("variant {}: {} caches of {:.0f} MiB, keeper {:.0f} MiB; the host takes "
		   "{:.0f} MiB, then the guest allocates {:.0f} MiB; {} MiB free\n",
		   variant, o_.caches, mib(o_.cache), mib(o_.keeper), mib(o_.balloon),
		   mib(o_.then), meminfo_bytes("MemFree") / MiB);

	for (unsigned i = 0; i < o_.caches; i++) {
		const std::string role = fmt::format("cache-{}", char('a' + i));
		children_.push_back(spawn(role, report_wr_, [&, i](int fd) {
			run_cache(o_.priced, i, o_.cache, fd);
		}));
		if (!wait_ready(children_.back()))
			return 1;
	}
	children_.push_back(spawn("keeper", report_wr_, [&](int fd) {
		run_keeper(o_.priced, o_.keeper, fd);
	}));
	if (!wait_ready(children_.back()))
		return 1;

	// --- the balloon ---
	const std::uint64_t total0 = meminfo_bytes("MemTotal");
	const std::uint64_t available0 = meminfo_bytes("MemAvailable");
	const bool tracing_hook = trace_hook(true);
	const auto counters0 = ramm_counters();
	fmt::print("RAMM-BALLOON-READY memtotal={} available={} free={}\n", total0, available0,
		   meminfo_bytes("MemFree"));
	std::fflush(stdout);
	const std::uint64_t ready_ns = now_ns();
	std::uint64_t first_ns = 0, reached_ns = 0, last_change_ns = ready_ns;
	std::uint64_t taken = 0, next_report = 16 * MiB;
	bool timed_out = false;
	while (true) {
		pump(20);
		reap();
		const std::uint64_t total = meminfo_bytes("MemTotal");
		const std::uint64_t now = now_ns();
		const std::uint64_t t = total0 > total ? total0 - total : 0;
		if (t != taken) {
			if (first_ns == 0)
				first_ns = now;
			last_change_ns = now;
			taken = t;
			if (taken >= next_report || taken >= o_.balloon) {
				flush_asks();
				print(now, "balloon", fmt::format("holds {:.0f} of {:.0f} MiB",
								  mib(taken), mib(o_.balloon)));
				next_report = (taken / (16 * MiB) + 1) * 16 * MiB;
			}
		}
		if (taken >= o_.balloon) {
			reached_ns = now;
			break;
		}
		// Started and stuck (on stock: "Out of puff!" every 200 ms).
		if (first_ns != 0 && now - last_change_ns > std::uint64_t(o_.stall_s) * 1000000000u)
			break;
		if (now - ready_ns > std::uint64_t(o_.timeout_s) * 1000000000u) {
			timed_out = true;
			break;
		}
	}
	flush_asks();
	const auto counters1 = ramm_counters();
	if (tracing_hook)
		trace_hook(false);
	const HookTrace hook = tracing_hook ? read_hook_trace() : HookTrace{};
	const double inflate_s = reached_ns ? double(reached_ns - first_ns) / 1e9 : -1;
	if (reached_ns)
		print(reached_ns, "balloon", fmt::format("reached {:.0f} MiB after {:.2f} s",
							 mib(taken), inflate_s));
	else
		print(now_ns(), "balloon",
		      timed_out && first_ns == 0
			      ? std::string("never started: did the host inflate it?")
			      : fmt::format("stuck at {:.0f} of {:.0f} MiB for {} s", mib(taken),
					    mib(o_.balloon), o_.stall_s));
	fmt::print("RAMM-BALLOON-SETTLED taken={} reached={}\n", taken, reached_ns ? 1 : 0);
	std::fflush(stdout);

	// --- the guest goes on: its next allocation ---
	children_.push_back(spawn("next", report_wr_, [&](int fd) { run_next(o_.then, fd); }));
	const std::uint64_t next_deadline = now_ns() + 60ull * 1000000000u;
	while (!children_.back().exited && !children_.back().results.contains("satisfied_ns") &&
	       now_ns() < next_deadline) {
		pump(100);
		reap();
	}
	// A second for the market to settle.
	for (const std::uint64_t settle = now_ns() + 1000000000u; now_ns() < settle;) {
		pump(100);
		reap();
	}

	// Everyone still alive checks its data.
	check_all();
	drain();

	// --- the outcome ---
	std::uint64_t oom_kills = vmstat("oom_kill") - oom_before;
	std::string killed_names;
	unsigned nkilled = 0;
	std::uint64_t killed_bytes = 0;	// what the killed caches and keeper held
	for (std::size_t i = 0; i < children_.size(); i++)
		if (children_[i].killed()) {
			killed_names += (killed_names.empty() ? "" : ",") + children_[i].role;
			nkilled++;
			if (i < o_.caches)
				killed_bytes += cold_len(o_.cache) + warm_len(o_.cache);
			else if (i == o_.caches)
				killed_bytes += o_.keeper;
		}
	oom_kills = std::max<std::uint64_t>(oom_kills, nkilled);

	const Child& keeper = children_[o_.caches];
	const Child& next = children_.back();
	const std::uint64_t keeper_bytes = o_.keeper;
	const std::uint64_t preserved_lost =
		keeper.killed() ? keeper_bytes : keeper_bytes - keeper.value("valuable_identical");
	const bool next_ok = next.results.contains("satisfied_ns") && !next.killed();

	// The cache tiers, and what each gave up: a killed cache lost all it
	// held, and a page it kept that does not read back is lost too.
	struct TierOutcome { std::string name; std::uint64_t price, len, lost; };
	std::vector<TierOutcome> tiers;
	std::uint64_t cache_lost = 0, corrupted = 0;
	for (unsigned i = 0; i < o_.caches; i++) {
		const Child& c = children_[i];
		for (const char* t : {"cold", "warm"}) {
			const std::string tier = t;
			const std::uint64_t len = tier == "cold" ? cold_len(o_.cache) : warm_len(o_.cache);
			const std::uint64_t given = c.value(tier + "_given");
			const std::uint64_t kept_intact = c.value(tier + "_kept_intact");
			const std::uint64_t purged = c.value(tier + "_purged");
			const std::uint64_t lost = c.killed() ? len : len - kept_intact;
			// Pages it kept that read back wrong, less those the
			// kernel said it purged (a purge record, never silent).
			if (!c.killed())
				corrupted += len - given - kept_intact - std::min(purged, len - given - kept_intact);
			tiers.push_back({c.role + ":" + tier,
					 tier == "cold" ? cold_price(i) : warm_price(i), len, lost});
			cache_lost += lost;
		}
	}
	// The offline optimum gives up the same bytes, cheapest first.
	std::vector<TierOutcome> by_price = tiers;
	std::sort(by_price.begin(), by_price.end(),
		  [](const TierOutcome& a, const TierOutcome& b) { return a.price < b.price; });
	std::uint64_t left = cache_lost, overlap = 0;
	for (const TierOutcome& t : by_price) {
		const std::uint64_t opt = std::min(left, t.len);
		left -= opt;
		overlap += std::min(opt, t.lost);
	}
	const double accuracy = cache_lost ? double(overlap) / double(cache_lost) : 1.0;

	std::string deltas, order, tier_json;
	for (const auto& [name, v1] : counters1) {
		const auto it = counters0.find(name);
		deltas += fmt::format("{}\"{}\":{}", deltas.empty() ? "" : ",", name,
				      v1 - (it == counters0.end() ? 0 : it->second));
	}
	for (const std::string& o : ask_order_)
		order += (order.empty() ? "" : " ") + o;
	for (const TierOutcome& t : tiers)
		tier_json += fmt::format("{}{{\"tier\":\"{}\",\"price\":{},\"bytes\":{},\"lost\":{}}}",
					 tier_json.empty() ? "" : ",", t.name, t.price, t.len, t.lost);

	fmt::print("outcome {}: the balloon got {:.0f} of {:.0f} MiB{}; {} OOM kill(s){}; "
		   "preserved bytes lost {:.1f} MiB; cache given up {:.1f} MiB, cheapest-first "
		   "accuracy {:.3f}; the next {:.0f} MiB {}\n",
		   variant, mib(taken), mib(o_.balloon),
		   reached_ns ? fmt::format(" in {:.2f} s", inflate_s) : std::string(),
		   oom_kills, killed_names.empty() ? "" : fmt::format(" ({} killed)", killed_names),
		   mib(preserved_lost), mib(cache_lost), accuracy, mib(o_.then),
		   next_ok ? "allocated" : "not allocated");
	if (!counters1.empty())
		fmt::print("counters during inflation: {}\n", deltas);
	if (hook.traced)
		fmt::print("direct-reclaim hook during inflation: {} passes ({} for __GFP_NORETRY "
			   "allocations), {} pages purged for those, {} for others{}{}\n",
			   hook.passes, hook.passes_noretry, hook.purged_noretry, hook.purged_other,
			   hook.purgers.empty() ? "" : ": ", hook.purgers);
	if (!o_.json.empty()) {
		std::FILE* f = std::fopen(o_.json.c_str(), "w");
		if (f == nullptr) {
			fmt::print(stderr, "ramm-balloon: {}: {}\n", o_.json, std::strerror(errno));
			return 1;
		}
		fmt::print(f,
			   "{{\"kind\":\"balloon\",\"variant\":\"{}\",\"caches\":{},\"cache_bytes\":{},"
			   "\"keeper_bytes\":{},\"balloon_bytes\":{},\"then_bytes\":{},"
			   "\"available_at_ready\":{},\"taken_bytes\":{},\"reached\":{},"
			   "\"inflate_seconds\":{:.3f},\"timed_out\":{},\"oom_kills\":{},"
			   "\"killed\":\"{}\",\"processes_killed\":{},\"killed_bytes\":{},"
			   "\"preserved_lost_bytes\":{},"
			   "\"cache_lost_bytes\":{},\"cache_corrupted_bytes\":{},\"accuracy\":{:.4f},"
			   "\"next_allocated\":{},\"ask_order\":\"{}\",\"tiers\":[{}],"
			   "\"hook_traced\":{},\"hook_passes\":{},\"hook_passes_noretry\":{},"
			   "\"hook_purged_noretry\":{},"
			   "\"hook_purged_other\":{},\"hook_purgers\":\"{}\",\"counters\":{{{}}}}}\n",
			   variant, o_.caches, o_.cache, o_.keeper, o_.balloon, o_.then, available0,
			   taken, reached_ns != 0, inflate_s, timed_out, oom_kills, killed_names,
			   nkilled, killed_bytes, preserved_lost, cache_lost, corrupted, accuracy, next_ok, order,
			   tier_json, hook.traced, hook.passes, hook.passes_noretry, hook.purged_noretry,
			   hook.purged_other,
			   hook.purgers, deltas);
		std::fclose(f);
	}
	return 0;
}

[[noreturn]] void usage(int status)
{
	fmt::print(status ? stderr : stdout,
		   "usage: ramm-balloon [--variant ramm|stock] [--caches N] [--cache SIZE]\n"
		   "                    [--keeper SIZE] [--balloon SIZE] [--then SIZE]\n"
		   "                    [--stall SECONDS] [--timeout SECONDS] [--json FILE]\n"
		   "--cache is each cache's size; --balloon what the host takes (the guest\n"
		   "only watches: scripts/balloon.py inflates); --then what the guest\n"
		   "allocates once the balloon settled.  SIZE: bytes with a K, M or G suffix.\n");
	std::exit(status);
}

bool number_arg(std::string_view v, unsigned& out)
{
	return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc{} && out > 0;
}

}  // namespace

int main(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		const std::string_view arg = argv[i];
		if (arg == "-h" || arg == "--help")
			usage(0);
		if (i + 1 >= argc)
			usage(2);
		const std::string_view value = argv[++i];
		if (arg == "--variant") {
			if (value != "ramm" && value != "stock") {
				fmt::print(stderr, "ramm-balloon: unknown variant '{}'\n", value);
				usage(2);
			}
			o.priced = value == "ramm";
		} else if (arg == "--json") {
			o.json = value;
		} else if (arg == "--caches" || arg == "--stall" || arg == "--timeout") {
			unsigned n = 0;
			if (!number_arg(value, n) || (arg == "--caches" && n > 26)) {
				fmt::print(stderr, "ramm-balloon: bad {} '{}'\n", arg, value);
				usage(2);
			}
			(arg == "--caches" ? o.caches : arg == "--stall" ? o.stall_s : o.timeout_s) = n;
		} else {
			auto size = ramm::parse_size(value);
			if (!size || *size < 4 * MiB) {
				fmt::print(stderr, "ramm-balloon: {} needs a size of at least 4M, not '{}'\n",
					   arg, value);
				usage(2);
			}
			const std::size_t s = *size / page_size * page_size;
			if (arg == "--cache") o.cache = s;
			else if (arg == "--keeper") o.keeper = s;
			else if (arg == "--balloon") o.balloon = s;
			else if (arg == "--then") o.then = s;
			else usage(2);
		}
	}
	if (o.priced && !ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-balloon: variant ramm needs a RAMM kernel\n");
		return 1;
	}
	return Driver(std::move(o)).run();
}
