// SPDX-License-Identifier: GPL-2.0
//
// ramm-micro: what RAMM costs a process that never uses it.  Times the
// paths RAMM hooks: mmap + munmap of one page, an anonymous page fault, and
// fork + exit + wait, in nanoseconds per operation.
//
//   ramm-micro [--label TEXT] [--priced] [--scale N] [--json FILE]
//
// --priced first maps one priced page (on a RAMM kernel), so the hooks'
// static key is on and the numbers show what a non-participant pays once
// anyone uses RAMM.  make bench runs it in guests booted with QEMU's
// -icount, where the guest clock follows executed instructions: the same
// binary on the same kernel gives the same numbers run after run, so stock
// and RAMM kernels can be compared to well under 1%.  Each number is the
// best of five repetitions.

#include <ramm/ramm.hpp>

#include "bench_support.hpp"

#include <fmt/format.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

namespace {

using namespace ramm::bench;

// Best of five runs of `ops` operations, in ns per operation.
template <typename Fn>
double best_of_five(unsigned ops, Fn body)
{
	double best = 1e300;
	for (int rep = 0; rep < 5; rep++) {
		const std::uint64_t t0 = now_ns();
		body(ops);
		best = std::min(best, double(now_ns() - t0) / ops);
	}
	return best;
}

void die(const char* what)
{
	std::perror(what);
	std::exit(1);
}

void mmap_munmap(unsigned ops)
{
	for (unsigned i = 0; i < ops; i++) {
		void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		::munmap(p, 4096);
	}
}

void page_faults(unsigned ops)
{
	const std::size_t len = std::size_t(ops) * 4096;
	auto* p = static_cast<volatile char*>(::mmap(nullptr, len, PROT_READ | PROT_WRITE,
						      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (p == MAP_FAILED)
		die("mmap");
	for (std::size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	::munmap(const_cast<char*>(p), len);
}

void forks(unsigned ops)
{
	for (unsigned i = 0; i < ops; i++) {
		const pid_t pid = ::fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			std::_Exit(0);
		::waitpid(pid, nullptr, 0);
	}
}

}  // namespace

int main(int argc, char** argv)
{
	std::string label = "kernel", json;
	bool priced = false;
	unsigned scale = 1;
	for (int i = 1; i < argc; i++) {
		const std::string_view arg = argv[i];
		if (arg == "--priced") {
			priced = true;
		} else if (arg == "--label" && i + 1 < argc) {
			label = argv[++i];
		} else if (arg == "--json" && i + 1 < argc) {
			json = argv[++i];
		} else if (arg == "--scale" && i + 1 < argc) {
			const std::string_view v = argv[++i];
			if (std::from_chars(v.data(), v.data() + v.size(), scale).ec != std::errc{} ||
			    scale == 0) {
				fmt::print(stderr, "ramm-micro: bad --scale '{}'\n", v);
				return 2;
			}
		} else {
			fmt::print(stderr, "usage: ramm-micro [--label TEXT] [--priced] "
					   "[--scale N] [--json FILE]\n");
			return 2;
		}
	}

	ramm::PricedMapping keep;
	if (priced) {
		auto m = ramm::PricedMapping::create(4096, 1000, ramm::Flags::preserved);
		if (!m || !m->is_kernel_priced()) {
			fmt::print(stderr, "ramm-micro: --priced needs a RAMM kernel\n");
			return 1;
		}
		keep = std::move(*m);
	}

	// A fork copies a parent of some size: give it a few MiB like a
	// small real program.
	std::string ballast(4 << 20, 'x');

	const double mm = best_of_five(2000 * scale, mmap_munmap);
	const double pf = best_of_five(4096 * scale, page_faults);
	const double fk = best_of_five(40 * scale, forks);
	fmt::print("{}: mmap+munmap {:.0f} ns, page fault {:.0f} ns, fork+exit+wait {:.0f} ns\n",
		   label, mm, pf, fk);
	if (!json.empty()) {
		std::ofstream out(json);
		out << fmt::format("{{\"kind\":\"micro\",\"label\":\"{}\",\"priced\":{},"
				   "\"mmap_munmap_ns\":{:.1f},\"page_fault_ns\":{:.1f},"
				   "\"fork_ns\":{:.1f},\"ballast\":{}}}\n",
				   label, priced, mm, pf, fk, ballast.size());
		if (!out) {
			fmt::print(stderr, "ramm-micro: cannot write {}\n", json);
			return 1;
		}
	}
	return 0;
}
