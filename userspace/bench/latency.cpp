// SPDX-License-Identifier: GPL-2.0
//
// ramm-latency: how soon a process hears that memory is short, from RAMM and
// from a PSI trigger, in the same boot and the same burst.
//
// The process owns a discardable priced range (price 10), registers with
// RAMM (the participant fd) and arms the PSI trigger today's best practice
// uses ("some 10000 500000" on /proc/pressure/memory).  A child then
// allocates, as fast as it can, more than is available (the OOM killer ends
// it); the time from the burst's start to each wake-up is recorded.  Between
// rounds the burst is freed and the range refilled.  Asks are answered (the
// range is given back), as a real participant would; this is also what lets
// PSI fire at all: with the asks left unanswered and a preserved range (so
// that nothing is purged either), the OOM killer ended each of 12 bursts
// before 10 ms of stall had built up, and PSI never fired.
//
//   ramm-latency [--rounds N] [--start roomy|tight] [--above KIB] [--json FILE]
//
// Where the burst starts decides most of what is measured:
//   roomy  (default) on an idle machine: the burst first uses up the free
//          memory, which no notification can shorten;
//   tight  on a machine already full to just above krammmd's mark (--above,
//          default 1024 KiB, above it), as a memory-tight machine runs: an
//          unkillable filler takes the rest first.  RAMM's latency is then
//          the time the burst takes to allocate that much, plus its own.
//
// The JSON holds every round's two latencies in milliseconds (null: that
// channel never woke within the round), for RAMM also the time from the
// kernel's detection of the shortfall (the record's detected_ns) to the
// wake-up, whether krammmd was woken ahead of kswapd (its wakes_ahead
// counter moved) or only by pressure, and whether the round is void
// ("early": krammmd saw the shortfall before the burst began, when free
// memory drifted below the mark after the filler stopped).

#include <ramm/ramm.hpp>

#include "bench_support.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace ramm::bench;

// The burst: writes its start time where the parent can read it, then
// allocates `bytes` as fast as it can and waits to be killed.
[[noreturn]] void burst(std::atomic<std::uint64_t>* started, std::size_t bytes)
{
	started->store(now_ns());
	for (std::size_t have = 0; have < bytes; have += 4 * MiB) {
		void* p = ::mmap(nullptr, 4 * MiB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		fill_noise(static_cast<std::byte*>(p), 4 * MiB, have + 3);
	}
	::pause();
	std::_Exit(0);
}

std::string ms_or_null(std::optional<double> ms)
{
	return ms ? fmt::format("{:.2f}", *ms) : std::string("null");
}

void set_oom_score_adj(int adj)
{
	std::ofstream("/proc/self/oom_score_adj") << adj;
}

// krammmd's ahead mark in bytes, computed as ramm_ahead_mark() in
// mm/ramm/krammmd.c does with nothing asked for: the populated zones' high
// watermarks plus three quarters of the headroom share of RAM.  Free memory
// below it wakes krammmd ahead of kswapd.
std::uint64_t krammmd_mark_bytes()
{
	constexpr std::uint64_t page = 4096;
	std::ifstream zoneinfo("/proc/zoneinfo");
	std::string word;
	std::uint64_t high_pages = 0, zone_high = 0, n;
	while (zoneinfo >> word) {
		// "high" alone is the zone's watermark; per-CPU lists print "high:".
		if (word == "high" && zoneinfo >> n)
			zone_high = n;
		else if (word == "present" && zoneinfo >> n && n != 0)
			high_pages += zone_high;
	}
	const std::uint64_t headroom = meminfo_bytes("MemTotal") / page / 1000 *
				       market_value("headroom_permille");
	return (high_pages + headroom - headroom / 4) * page;
}

// The tight start: a child that takes free memory down to just above
// `floor` bytes, in steps small enough near the end not to cross it, and
// then holds it.  It is never the OOM killer's choice.  Returns its pid
// once it holds the memory, or -1.
pid_t fill_to(std::uint64_t floor, std::atomic<std::uint64_t>* ready)
{
	ready->store(0);
	const pid_t filler = ::fork();
	if (filler != 0)
		return filler;
	set_oom_score_adj(-1000);
	for (;;) {
		const std::uint64_t free = meminfo_bytes("MemFree");
		if (free <= floor)
			break;
		const std::size_t step = free - floor > 8 * MiB ? 4 * MiB : 64 * 1024;
		void* p = ::mmap(nullptr, step, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		fill_noise(static_cast<std::byte*>(p), step, free);
	}
	ready->store(1);
	::pause();
	std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv)
{
	constexpr const char* usage =
		"usage: ramm-latency [--rounds N] [--start roomy|tight] [--above KIB] [--json FILE]\n";
	unsigned rounds = 10, above_kib = 1024;
	std::string json, start = "roomy";
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string_view arg = argv[i], value = argv[i + 1];
		if (arg == "--rounds" &&
		    std::from_chars(value.data(), value.data() + value.size(), rounds).ec == std::errc{} &&
		    rounds > 0)
			continue;
		if (arg == "--above" &&
		    std::from_chars(value.data(), value.data() + value.size(), above_kib).ec == std::errc{})
			continue;
		if (arg == "--start" && (value == "roomy" || value == "tight")) {
			start = value;
			continue;
		}
		if (arg == "--json") {
			json = value;
			continue;
		}
		fmt::print(stderr, "{}", usage);
		return 2;
	}
	if (argc % 2 == 0) {
		fmt::print(stderr, "{}", usage);
		return 2;
	}
	const bool tight = start == "tight";
	if (!ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-latency: needs a RAMM kernel\n");
		return 1;
	}

	// A clock that ticks in jiffies would round every latency to the
	// 4 ms tick: no result at all is better than that one.
	std::string clock;
	std::ifstream("/sys/devices/system/clocksource/clocksource0/current_clocksource") >> clock;
	if (clock.find("jiffies") != std::string::npos) {
		fmt::print(stderr, "ramm-latency: the clocksource is {}, which counts in timer ticks; "
			   "boot with a TSC rate (tsc_early_khz=) or a timer to calibrate it\n", clock);
		return 1;
	}

	const std::size_t range_len = 32 * MiB;
	auto range = ramm::PricedMapping::create(range_len, 10, ramm::Flags::discardable);
	if (!range) {
		fmt::print(stderr, "ramm-latency: {}\n", range.error().what());
		return 1;
	}
	// The burst and the filler are forked: they must not share the range's
	// pages, or giving them back would free nothing.
	if (::madvise(range->data(), range_len, MADV_DONTFORK) != 0) {
		fmt::print(stderr, "ramm-latency: MADV_DONTFORK: {}\n", std::strerror(errno));
		return 1;
	}
	const ramm_register reg{0, 0};	// no signal: the fd is the channel
	if (::prctl(PR_RAMM, PR_RAMM_REGISTER, reinterpret_cast<unsigned long>(&reg),
		    sizeof(reg), 0UL) != 0) {
		fmt::print(stderr, "ramm-latency: PR_RAMM_REGISTER: {}\n", std::strerror(errno));
		return 1;
	}
	const int ramm_fd = ::prctl(PR_RAMM, PR_RAMM_GET_FD, static_cast<unsigned long>(O_NONBLOCK),
				   0UL, 0UL);
	if (ramm_fd < 0) {
		fmt::print(stderr, "ramm-latency: PR_RAMM_GET_FD: {}\n", std::strerror(errno));
		return 1;
	}
	const char trigger[] = "some 10000 500000";
	const int psi_fd = ::open("/proc/pressure/memory", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (psi_fd < 0 || ::write(psi_fd, trigger, sizeof(trigger)) < 0) {
		fmt::print(stderr, "ramm-latency: PSI trigger '{}': {}\n", trigger, std::strerror(errno));
		return 1;
	}

	// Two words shared with the children: the burst's start, the filler's
	// readiness.
	auto* shared = static_cast<std::atomic<std::uint64_t>*>(
		::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	std::atomic<std::uint64_t>* started = &shared[0];
	std::atomic<std::uint64_t>* filled = &shared[1];
	std::vector<std::optional<double>> ramm_ms, psi_ms, detect_ms;
	std::vector<bool> woken_ahead, early_rounds;

	for (unsigned round = 0; round < rounds; round++) {
		fill_noise(range->data(), range_len, round + 1);
		::sleep(1);	// let PSI's averages and the market calm down
		// Drain what a previous round left.
		ramm_request rec[16];
		while (::read(ramm_fd, rec, sizeof(rec)) > 0) {
		}
		pollfd drain = {psi_fd, POLLPRI, 0};
		while (::poll(&drain, 1, 0) > 0 && (drain.revents & POLLPRI))
			::usleep(500000);
		// Filled last, so that free memory has little time to drift
		// below the mark before the burst (filling stalls nothing: it
		// stops above every mark).
		pid_t filler = -1;
		if (tight) {
			filler = fill_to(krammmd_mark_bytes() + above_kib * 1024ull, filled);
			while (filler > 0 && !filled->load())
				::usleep(1000);
		}

		started->store(0);
		// More than RAMM can find: reclaim must stall (what PSI sees)
		// and the OOM killer ends the burst if nothing else does.
		const std::size_t bytes = meminfo_bytes("MemAvailable") + 2 * range_len;
		const std::uint64_t wakes_ahead = market_value("wakes_ahead");
		const pid_t child = ::fork();
		if (child == 0) {
			set_oom_score_adj(1000);
			burst(started, bytes);
		}
		std::optional<double> ramm_wake, psi_wake, detected;
		bool early = false;
		const std::uint64_t deadline = now_ns() + 20ull * 1000000000u;
		std::uint64_t burst_over = 0;	// its end, plus 2 s for PSI
		while ((!ramm_wake || !psi_wake) && now_ns() < deadline &&
		       (burst_over == 0 || now_ns() < burst_over)) {
			if (burst_over == 0 && ::waitpid(child, nullptr, WNOHANG) == child)
				burst_over = now_ns() + 2000000000u;
			pollfd pfds[2] = {{ramm_fd, POLLIN, 0}, {psi_fd, POLLPRI, 0}};
			if (::poll(pfds, 2, 100) <= 0)
				continue;
			const std::uint64_t t = now_ns();
			const std::uint64_t t0 = started->load();
			if (pfds[0].revents & POLLIN) {
				const ssize_t n = ::read(ramm_fd, rec, sizeof(rec));
				const std::uint64_t seen =
					n >= ssize_t(sizeof(rec[0])) ? rec[0].detected_ns : 0;
				// Krammmd saw the shortfall before the burst began:
				// free memory drifted below the mark after the filler
				// stopped.  The round says nothing of latency.
				if (!ramm_wake && (t0 == 0 || (seen && seen < t0)))
					early = true;
				if (!ramm_wake && !early) {
					ramm_wake = double(t - t0) / 1e6;
					woken_ahead.push_back(market_value("wakes_ahead") !=
							      wakes_ahead);
					if (seen)
						detected = double(t - seen) / 1e6;
				}
				// Answer like a participant: give back what is asked.
				for (ssize_t i = 0; i < n / ssize_t(sizeof(rec[0])); i++)
					if (rec[i].reason == RAMM_REASON_ASK)
						::madvise(range->data(), std::min<std::size_t>(rec[i].amount, range_len),
							  MADV_DONTNEED);
			}
			if ((pfds[1].revents & POLLPRI) && !psi_wake && t0 != 0)
				psi_wake = double(t - t0) / 1e6;
		}
		if (burst_over == 0) {
			::kill(child, SIGKILL);
			::waitpid(child, nullptr, 0);
		}
		if (filler > 0) {
			::kill(filler, SIGKILL);
			::waitpid(filler, nullptr, 0);
		}
		if (!ramm_wake)
			woken_ahead.push_back(false);
		ramm_ms.push_back(ramm_wake);
		psi_ms.push_back(psi_wake);
		detect_ms.push_back(detected);
		early_rounds.push_back(early);
		if (early) {
			fmt::print("round {} ({} start): krammmd saw the shortfall before the burst "
				   "began; not counted\n", round + 1, start);
			continue;
		}
		fmt::print("round {} ({} start): burst of {} MiB; RAMM woke after {} ms ({} ms after "
			   "the kernel saw the shortfall, {}), PSI after {} ms\n",
			   round + 1, start, bytes / MiB, ms_or_null(ramm_wake), ms_or_null(detected),
			   woken_ahead.back() ? "woken ahead of kswapd" : "not woken ahead",
			   ms_or_null(psi_wake));
	}

	if (!json.empty()) {
		std::string r, p, d, a, e;
		for (std::size_t i = 0; i < ramm_ms.size(); i++) {
			r += (i ? "," : "") + ms_or_null(ramm_ms[i]);
			p += (i ? "," : "") + ms_or_null(psi_ms[i]);
			d += (i ? "," : "") + ms_or_null(detect_ms[i]);
			a += (i ? "," : "") + std::string(woken_ahead[i] ? "true" : "false");
			e += (i ? "," : "") + std::string(early_rounds[i] ? "true" : "false");
		}
		std::ofstream out(json);
		const std::string above = tight ? std::to_string(above_kib) : "null";
		out << fmt::format("{{\"kind\":\"latency\",\"start\":\"{}\",\"above_kib\":{},"
				   "\"psi_trigger\":\"{}\","
				   "\"ramm_ms\":[{}],\"psi_ms\":[{}],\"ramm_after_detection_ms\":[{}],"
				   "\"ramm_woken_ahead\":[{}],\"early\":[{}]}}\n",
				   start, above, trigger, r, p, d, a, e);
		if (!out) {
			fmt::print(stderr, "ramm-latency: cannot write {}\n", json);
			return 1;
		}
	}
	return 0;
}
