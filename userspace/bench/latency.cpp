// SPDX-License-Identifier: GPL-2.0
//
// ramm-latency: how soon a process hears that memory is short, from RAMM and
// from a PSI trigger, in the same boot and the same burst.
//
// The process owns a discardable priced range (price 10), registers with
// RAMM (the participant fd) and arms the PSI trigger today's best practice
// uses ("some 10000 500000" on /proc/pressure/memory).  A child then
// allocates, as fast as it can, more than is available (the OOM killer ends
// it); the time from the burst's start to each wake-up is recorded.  Between rounds the burst is
// freed and the range refilled.  Asks are answered (the range is given
// back), as a real participant would.
//
//   ramm-latency [--rounds N] [--json FILE]
//
// The JSON holds every round's two latencies in milliseconds (null: that
// channel never woke within the round), and for RAMM also the time from
// the kernel's detection of the shortfall (the record's detected_ns) to
// the wake-up.

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

}  // namespace

int main(int argc, char** argv)
{
	unsigned rounds = 10;
	std::string json;
	for (int i = 1; i + 1 < argc; i += 2) {
		const std::string_view arg = argv[i], value = argv[i + 1];
		if (arg == "--rounds" &&
		    std::from_chars(value.data(), value.data() + value.size(), rounds).ec == std::errc{} &&
		    rounds > 0)
			continue;
		if (arg == "--json") {
			json = value;
			continue;
		}
		fmt::print(stderr, "usage: ramm-latency [--rounds N] [--json FILE]\n");
		return 2;
	}
	if (argc % 2 == 0) {
		fmt::print(stderr, "usage: ramm-latency [--rounds N] [--json FILE]\n");
		return 2;
	}
	if (!ramm::kernel_support().present) {
		fmt::print(stderr, "ramm-latency: needs a RAMM kernel\n");
		return 1;
	}

	const std::size_t range_len = 32 * MiB;
	auto range = ramm::PricedMapping::create(range_len, 10, ramm::Flags::discardable);
	if (!range) {
		fmt::print(stderr, "ramm-latency: {}\n", range.error().what());
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

	auto* started = static_cast<std::atomic<std::uint64_t>*>(
		::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	std::vector<std::optional<double>> ramm_ms, psi_ms, detect_ms;

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

		started->store(0);
		// More than RAMM can find: reclaim must stall (what PSI sees)
		// and the OOM killer ends the burst if nothing else does.
		const std::size_t bytes = meminfo_bytes("MemAvailable") + 2 * range_len;
		const pid_t child = ::fork();
		if (child == 0)
			burst(started, bytes);
		std::optional<double> ramm_wake, psi_wake, detected;
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
			if ((pfds[0].revents & POLLIN) && !ramm_wake) {
				ramm_wake = double(t - t0) / 1e6;
			}
			if (pfds[0].revents & POLLIN) {
				// Answer like a participant: give back what is asked.
				ssize_t n = ::read(ramm_fd, rec, sizeof(rec));
				if (n >= ssize_t(sizeof(rec[0])) && !detected && rec[0].detected_ns)
					detected = double(t - rec[0].detected_ns) / 1e6;
				for (ssize_t i = 0; i < n / ssize_t(sizeof(rec[0])); i++)
					if (rec[i].reason == RAMM_REASON_ASK)
						::madvise(range->data(), std::min<std::size_t>(rec[i].amount, range_len),
							  MADV_DONTNEED);
			}
			if ((pfds[1].revents & POLLPRI) && !psi_wake)
				psi_wake = double(t - t0) / 1e6;
		}
		if (burst_over == 0) {
			::kill(child, SIGKILL);
			::waitpid(child, nullptr, 0);
		}
		ramm_ms.push_back(ramm_wake);
		psi_ms.push_back(psi_wake);
		detect_ms.push_back(detected);
		fmt::print("round {}: burst of {} MiB; RAMM woke after {} ms ({} ms after the "
			   "kernel saw the shortfall), PSI after {} ms\n",
			   round + 1, bytes / MiB, ms_or_null(ramm_wake), ms_or_null(detected),
			   ms_or_null(psi_wake));
	}

	if (!json.empty()) {
		std::string r, p, d;
		for (std::size_t i = 0; i < ramm_ms.size(); i++) {
			r += (i ? "," : "") + ms_or_null(ramm_ms[i]);
			p += (i ? "," : "") + ms_or_null(psi_ms[i]);
			d += (i ? "," : "") + ms_or_null(detect_ms[i]);
		}
		std::ofstream out(json);
		out << fmt::format("{{\"kind\":\"latency\",\"psi_trigger\":\"{}\",\"ramm_ms\":[{}],"
				   "\"psi_ms\":[{}],\"ramm_after_detection_ms\":[{}]}}\n",
				   trigger, r, p, d);
		if (!out) {
			fmt::print(stderr, "ramm-latency: cannot write {}\n", json);
			return 1;
		}
	}
	return 0;
}
