// SPDX-License-Identifier: GPL-2.0
//
// ramm-order: does krammmd ask for the cheapest memory first, across
// processes?  Measured as issue 4 puts it: of the pages participants were
// asked for, the share that came from ranges no dearer than the cheapest
// range left unasked, computed from the asks the participants received and
// the prices they set.
//
//   ramm-order [--procs P] [--ranges R] [--range-mib M] [--need-mib N]
//              [--seed S] [--json FILE]
//
// P participants (default 4) each map R (8) discardable priced ranges of
// M MiB (2) and fill them.  The P * R prices are distinct and dealt out at
// random (--seed), so that the cheapest ranges are spread over all the
// participants: the order can only come out right across processes.  Each
// participant answers every ask at once, giving back what it names from the
// range's top, as libramm's cache tiers do.  An unpriced hog then takes
// what is available plus N MiB (default: a quarter of the priced memory)
// and holds it; once it has it, or after 60 s, every participant reports
// what it was asked for, range by range.
//
// Exit status: 0 when the measurement ran, whatever it found; 1 when it
// could not run (no RAMM kernel, a process that could not start, nothing
// asked at all).

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
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ramm::bench;

// What a participant says of one of its ranges when the run is over.
struct RangeReport {
	std::uint64_t price = 0;
	std::uint64_t asked = 0;	// bytes, summed over its asks
	std::uint64_t purged = 0;	// bytes the kernel dropped
};

struct Range {
	ramm::PricedMapping map;
	std::size_t kept;		// bytes not yet given back, from the bottom
	RangeReport report;
};

// Hands one record to the range it names and answers an ask at once.
void take(std::vector<Range>& ranges, const ramm_request& rec)
{
	for (Range& r : ranges) {
		const auto base = reinterpret_cast<std::uintptr_t>(r.map.data());
		if (rec.start < base || rec.start >= base + r.map.size())
			continue;
		if (rec.reason == RAMM_REASON_PURGED) {
			r.report.purged += rec.amount;
			return;
		}
		if (rec.reason != RAMM_REASON_ASK)
			return;
		r.report.asked += rec.amount;
		const std::size_t give = std::min<std::size_t>(rec.amount, r.kept);
		r.kept -= give;
		::madvise(r.map.data() + r.kept, give, MADV_DONTNEED);
		return;
	}
}

// A participant: maps and fills its ranges at `prices`, says "r" on
// `report_fd` when ready, answers asks until a byte arrives on
// `control_fd`, then writes one RangeReport per range there and exits.
[[noreturn]] void participant(const std::vector<std::uint64_t>& prices, std::size_t range_len,
			      int control_fd, int report_fd)
{
	std::vector<Range> ranges;
	for (std::uint64_t price : prices) {
		auto map = ramm::PricedMapping::create(range_len, price, ramm::Flags::discardable);
		if (!map || !map->is_kernel_priced())
			std::_Exit(2);
		fill_noise(map->data(), range_len, price);
		ranges.push_back({std::move(*map), range_len, {price, 0, 0}});
	}
	const ramm_register reg{0, 0};	// no signal: the fd is the channel
	if (::prctl(PR_RAMM, PR_RAMM_REGISTER, reinterpret_cast<unsigned long>(&reg),
		    sizeof(reg), 0UL) != 0)
		std::_Exit(3);
	const int fd = ::prctl(PR_RAMM, PR_RAMM_GET_FD, static_cast<unsigned long>(O_NONBLOCK),
			       0UL, 0UL);
	if (fd < 0 || ::write(report_fd, "r", 1) != 1)
		std::_Exit(4);
	for (;;) {
		pollfd pfds[2] = {{fd, POLLIN, 0}, {control_fd, POLLIN, 0}};
		if (::poll(pfds, 2, -1) < 0 && errno != EINTR)
			std::_Exit(5);
		ramm_request recs[16];
		ssize_t n;
		while ((n = ::read(fd, recs, sizeof(recs))) > 0)
			for (ssize_t i = 0; i < n / ssize_t(sizeof(recs[0])); i++)
				take(ranges, recs[i]);
		if (pfds[1].revents) {
			for (const Range& r : ranges)
				if (::write(report_fd, &r.report, sizeof(r.report)) != sizeof(r.report))
					std::_Exit(6);
			std::_Exit(0);
		}
	}
}

// The hog: takes `bytes` in 4 MiB steps, says "h" on `report_fd`, holds.
[[noreturn]] void hog(std::size_t bytes, int report_fd)
{
	std::ofstream("/proc/self/oom_score_adj") << 1000;
	for (std::size_t have = 0; have < bytes; have += 4 * MiB) {
		void* p = ::mmap(nullptr, 4 * MiB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			std::_Exit(2);
		fill_noise(static_cast<std::byte*>(p), 4 * MiB, have + 1);
	}
	if (::write(report_fd, "h", 1) != 1)
		std::_Exit(3);
	for (;;)
		::pause();
}

bool parse(std::string_view value, unsigned& out)
{
	return std::from_chars(value.data(), value.data() + value.size(), out).ec == std::errc{} &&
	       out > 0;
}

}  // namespace

int main(int argc, char** argv)
{
	const char* usage = "usage: ramm-order [--procs P] [--ranges R] [--range-mib M] "
			    "[--need-mib N] [--seed S] [--json FILE]\n";
	unsigned procs = 4, per_proc = 8, range_mib = 2, need_mib = 0, seed = 1;
	std::string json;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string_view arg = argv[i], value = argv[i + 1];
		const bool ok = arg == "--procs"       ? parse(value, procs)
			      : arg == "--ranges"    ? parse(value, per_proc)
			      : arg == "--range-mib" ? parse(value, range_mib)
			      : arg == "--need-mib"  ? parse(value, need_mib)
			      : arg == "--seed"      ? parse(value, seed)
			      : arg == "--json"      ? (json = value, true)
						     : false;
		if (!ok) {
			fmt::print(stderr, "ramm-order: bad argument {} {}\n{}", arg, value, usage);
			return 1;
		}
	}
	if (argc % 2 == 0) {
		fmt::print(stderr, "{}", usage);
		return 1;
	}
	if (!ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-order: needs a RAMM kernel\n");
		return 1;
	}
	const std::size_t range_len = std::size_t{range_mib} * MiB;
	const unsigned total = procs * per_proc;
	if (need_mib == 0)
		need_mib = std::max(1u, total * range_mib / 4);

	// Distinct prices, dealt at random.
	std::vector<std::uint64_t> prices(total);
	std::iota(prices.begin(), prices.end(), 0);
	for (auto& p : prices)
		p = 100 + 10 * p;
	std::shuffle(prices.begin(), prices.end(), std::mt19937_64(seed));

	std::vector<pid_t> pids;
	std::vector<int> controls, reports;
	for (unsigned i = 0; i < procs; i++) {
		int control[2], report[2];
		if (::pipe2(control, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) {
			fmt::print(stderr, "ramm-order: pipe: {}\n", std::strerror(errno));
			return 1;
		}
		const std::vector<std::uint64_t> mine(prices.begin() + i * per_proc,
						      prices.begin() + (i + 1) * per_proc);
		const pid_t pid = ::fork();
		if (pid == 0)
			participant(mine, range_len, control[0], report[1]);
		::close(control[0]);
		::close(report[1]);
		pids.push_back(pid);
		controls.push_back(control[1]);
		reports.push_back(report[0]);
	}
	auto stop_all = [&] {
		for (pid_t pid : pids) {
			::kill(pid, SIGKILL);
			::waitpid(pid, nullptr, 0);
		}
	};
	for (unsigned i = 0; i < procs; i++) {
		char c = 0;
		if (::read(reports[i], &c, 1) != 1 || c != 'r') {
			fmt::print(stderr, "ramm-order: participant {} did not start\n", i + 1);
			stop_all();
			return 1;
		}
	}

	const std::uint64_t oom_before = vmstat("oom_kill");
	const std::size_t hog_bytes = meminfo_bytes("MemAvailable") + std::size_t{need_mib} * MiB;
	int hog_pipe[2];
	if (::pipe2(hog_pipe, O_CLOEXEC) != 0) {
		stop_all();
		return 1;
	}
	const pid_t hog_pid = ::fork();
	if (hog_pid == 0)
		hog(hog_bytes, hog_pipe[1]);
	::close(hog_pipe[1]);
	pollfd wait_hog = {hog_pipe[0], POLLIN, 0};
	char c = 0;
	const bool hog_ok = ::poll(&wait_hog, 1, 60000) == 1 && ::read(hog_pipe[0], &c, 1) == 1 &&
			    c == 'h';
	::sleep(1);	// asks made as the hog finished reach their owners

	std::vector<RangeReport> ranges;
	for (unsigned i = 0; i < procs; i++) {
		if (::write(controls[i], "s", 1) != 1) {
			fmt::print(stderr, "ramm-order: participant {} is gone\n", i + 1);
			continue;
		}
		for (unsigned j = 0; j < per_proc; j++) {
			RangeReport r;
			if (::read(reports[i], &r, sizeof(r)) != sizeof(r)) {
				fmt::print(stderr, "ramm-order: participant {} did not report\n", i + 1);
				break;
			}
			ranges.push_back(r);
		}
	}
	::kill(hog_pid, SIGKILL);
	::waitpid(hog_pid, nullptr, 0);
	stop_all();
	const std::uint64_t oom_kills = vmstat("oom_kill") - oom_before;
	if (ranges.size() != total) {
		fmt::print(stderr, "ramm-order: {} of {} ranges reported\n", ranges.size(), total);
		return 1;
	}

	// The cheapest range never asked, and the asked pages no dearer.
	std::uint64_t cheapest_unasked = std::numeric_limits<std::uint64_t>::max();
	std::uint64_t dearest_asked = 0, asked = 0, purged = 0;
	unsigned ranges_asked = 0;
	for (const RangeReport& r : ranges) {
		purged += r.purged;
		if (r.asked == 0) {
			cheapest_unasked = std::min(cheapest_unasked, r.price);
			continue;
		}
		ranges_asked++;
		asked += r.asked;
		dearest_asked = std::max(dearest_asked, r.price);
	}
	if (asked == 0) {
		fmt::print(stderr, "ramm-order: no participant was asked for anything (hog {})\n",
			   hog_ok ? "got its memory" : "did not get its memory");
		return 1;
	}
	std::uint64_t in_order = 0;
	for (const RangeReport& r : ranges)
		if (r.asked && r.price <= cheapest_unasked)
			in_order += r.asked;
	const double share = double(in_order) / double(asked);
	const bool none_left = cheapest_unasked == std::numeric_limits<std::uint64_t>::max();
	const std::string unasked = none_left ? "none" : std::to_string(cheapest_unasked);

	fmt::print("order: {} participants x {} ranges of {} MiB, prices 100..{}; the hog {} "
		   "(available + {} MiB); {} OOM kill(s)\n",
		   procs, per_proc, range_mib, 100 + 10 * (total - 1),
		   hog_ok ? "got its memory" : "did NOT get its memory", need_mib, oom_kills);
	fmt::print("order: asked for {:.1f} MiB from {} ranges (dearest price {}); cheapest range "
		   "left unasked: price {}; share of asked pages no dearer than it: {:.4f}\n",
		   double(asked) / MiB, ranges_asked, dearest_asked, unasked, share);
	if (!json.empty()) {
		std::ofstream out(json);
		out << fmt::format("{{\"kind\":\"order\",\"procs\":{},\"ranges\":{},\"range_mib\":{},"
				   "\"need_mib\":{},\"seed\":{},\"hog_ok\":{},\"oom_kills\":{},"
				   "\"asked_bytes\":{},\"purged_bytes\":{},\"ranges_asked\":{},"
				   "\"dearest_asked_price\":{},\"cheapest_unasked_price\":{},"
				   "\"share_no_dearer\":{:.6f}}}\n",
				   procs, per_proc, range_mib, need_mib, seed, hog_ok, oom_kills,
				   asked, purged, ranges_asked, dearest_asked,
				   none_left ? "null" : unasked, share);
		if (!out) {
			fmt::print(stderr, "ramm-order: cannot write {}\n", json);
			return 1;
		}
	}
	return 0;
}
