// SPDX-License-Identifier: GPL-2.0
//
// ramm-scale: what it costs krammmd to choose the next range to ask, against
// the number of priced ranges participants hold.
//
//   ramm-scale --ranges N --procs P [--unpriced U] [--json FILE]
//
// P participant processes map N priced ranges between them (one page each,
// every one a VMA of its own: neighbours get different prices so they never
// merge) and never touch them; with --unpriced they also map U unpriced
// one-page VMAs between them, which a search must not visit.  This process owns the cheapest range, a
// resident discardable bait, and answers asks for it; a child then
// allocates more than is available so krammmd must ask.  Every search for
// a candidate walks all participants' priced VMAs (each mm's list of them);
// /sys/kernel/mm/ramm/select_ns and selections, read before and after, give
// the cost of one search.

#include <ramm/market.hpp>
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
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace ramm::bench;

bool register_participant()
{
	const ramm_register reg{0, 0};
	return ::prctl(PR_RAMM, PR_RAMM_REGISTER, reinterpret_cast<unsigned long>(&reg),
		       sizeof(reg), 0UL) == 0;
}

// A participant holding `count` one-page priced ranges and `unpriced`
// one-page unpriced VMAs; writes one byte to `ready` when they exist, then
// waits to be killed.
[[noreturn]] void holder(unsigned count, unsigned unpriced, int ready)
{
	if (!register_participant())
		std::_Exit(1);
	for (unsigned i = 0; i < unpriced; i++) {
		// Neighbours differ in protection: no merging.
		const int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		if (::mmap(nullptr, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			std::_Exit(4);
	}
	for (unsigned i = 0; i < count; i++) {
		ramm_mmap_args args{};
		args.len = 4096;
		args.prot = PROT_READ | PROT_WRITE;
		args.flags = MAP_PRIVATE | MAP_ANONYMOUS;
		args.price = 1000 + (i % 2);	// neighbours differ: no merging
		if (!ramm::mmap_priced(args))
			std::_Exit(2);
	}
	if (::write(ready, "r", 1) != 1)
		std::_Exit(3);
	for (;;)
		::pause();
}

[[noreturn]] void hog(std::size_t bytes)
{
	for (std::size_t have = 0; have < bytes; have += MiB) {
		void* p = ::mmap(nullptr, MiB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		std::memset(p, 0x5a, MiB);
	}
	for (;;)
		::pause();
}

}  // namespace

int main(int argc, char** argv)
{
	unsigned ranges = 0, procs = 0, unpriced = 0;
	std::string json;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string_view arg = argv[i], v = argv[i + 1];
		unsigned* target = arg == "--ranges"     ? &ranges
				   : arg == "--procs"    ? &procs
				   : arg == "--unpriced" ? &unpriced
							 : nullptr;
		if (target && std::from_chars(v.data(), v.data() + v.size(), *target).ec == std::errc{})
			continue;
		if (arg == "--json") {
			json = v;
			continue;
		}
		ranges = 0;
		break;
	}
	if (ranges == 0 || procs == 0 || argc % 2 == 0) {
		fmt::print(stderr, "usage: ramm-scale --ranges N --procs P [--unpriced U] [--json FILE] (N, P > 0)\n");
		return 2;
	}
	if (!ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-scale: needs a RAMM kernel\n");
		return 1;
	}

	// The holders, each with its share of the ranges.
	int ready[2];
	if (::pipe(ready) != 0)
		return 1;
	std::vector<pid_t> children;
	for (unsigned p = 0; p < procs; p++) {
		const unsigned count = ranges / procs + (p < ranges % procs);
		const unsigned plain = unpriced / procs + (p < unpriced % procs);
		const pid_t pid = ::fork();
		if (pid == 0) {
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			holder(count, plain, ready[1]);
		}
		children.push_back(pid);
	}
	const std::uint64_t t_map = now_ns();
	for (unsigned p = 0; p < procs; p++) {
		char c;
		if (::read(ready[0], &c, 1) != 1) {
			fmt::print(stderr, "ramm-scale: a holder failed to map its ranges\n");
			return 1;
		}
	}
	const double map_s = double(now_ns() - t_map) / 1e9;

	// The bait: the cheapest range, resident, so asks find it first.
	const std::size_t bait_len = 32 * MiB;
	auto bait = ramm::PricedMapping::create(bait_len, 1, ramm::Flags::discardable);
	if (!bait || !register_participant()) {
		fmt::print(stderr, "ramm-scale: bait or registration failed\n");
		return 1;
	}
	std::memset(bait->data(), 1, bait_len);
	const int fd = ::prctl(PR_RAMM, PR_RAMM_GET_FD, static_cast<unsigned long>(O_NONBLOCK), 0UL, 0UL);

	const std::uint64_t sel0 = market_value("selections");
	const std::uint64_t ns0 = market_value("select_ns");
	const std::size_t hog_bytes = meminfo_bytes("MemAvailable") + bait_len / 2;
	const pid_t hog_pid = ::fork();
	if (hog_pid == 0)
		hog(hog_bytes);

	// Answer asks until a few searches were made, for at most 20 s.
	const std::uint64_t deadline = now_ns() + 20ull * 1000000000u;
	unsigned asks = 0;
	fmt::print("hog of {} MiB started; {} MiB available\n", hog_bytes / MiB, meminfo_bytes("MemAvailable") / MiB);
	while (now_ns() < deadline && (asks < 4 || market_value("selections") - sel0 < 8)) {
		pollfd pfd = {fd, POLLIN, 0};
		if (::poll(&pfd, 1, 100) <= 0)
			continue;
		ramm_request rec[8];
		const ssize_t n = ::read(fd, rec, sizeof(rec));
		for (ssize_t i = 0; i < n / ssize_t(sizeof(rec[0])); i++) {
			if (rec[i].reason != RAMM_REASON_ASK)
				continue;
			asks++;
			::madvise(bait->data(), std::min<std::size_t>(rec[i].amount, bait_len),
				  MADV_DONTNEED);
		}
	}
	fmt::print("{} MiB available, {} wakes\n", meminfo_bytes("MemAvailable") / MiB, market_value("wakes"));
	const std::uint64_t selections = market_value("selections") - sel0;
	const std::uint64_t select_ns = market_value("select_ns") - ns0;
	::kill(hog_pid, SIGKILL);
	for (pid_t pid : children)
		::kill(pid, SIGKILL);
	while (::wait(nullptr) > 0) {
	}

	const double per_us = selections ? double(select_ns) / double(selections) / 1e3 : -1;
	fmt::print("{} ranges and {} unpriced VMAs over {} processes (mapped in {:.1f} s): "
		   "{} searches, {:.1f} us each, {} asks answered\n",
		   ranges, unpriced, procs, map_s, selections, per_us, asks);
	if (!json.empty()) {
		std::ofstream out(json);
		out << fmt::format("{{\"kind\":\"scale\",\"ranges\":{},\"procs\":{},"
				   "\"unpriced\":{},\"selections\":{},\"select_ns\":{},"
				   "\"per_search_us\":{:.2f},\"asks\":{}}}\n",
				   ranges, procs, unpriced, selections, select_ns, per_us, asks);
		if (!out)
			return 1;
	}
	return selections ? 0 : 1;
}
