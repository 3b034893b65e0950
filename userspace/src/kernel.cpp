// SPDX-License-Identifier: GPL-2.0
//
// The RAMM probe and the raw mmap_priced()/prctl(PR_RAMM) wrappers.

#include "sys.hpp"

#include <fmt/format.h>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

// Until a libc knows RAMM its headers do not name mmap_priced().  451 is its
// number in the 6.1-based RAMM kernel on x86_64 (not x32) and in
// asm-generic (arm64).  On mainline >= 6.5, 451 is cachestat: it is only ever
// called after PR_RAMM_PROBE succeeded.  Other architectures get ENOSYS.
#if !defined(__NR_mmap_priced) && \
	((defined(__x86_64__) && !defined(__ILP32__)) || defined(__aarch64__))
#define __NR_mmap_priced 451
#endif

namespace ramm {
namespace {

// prctl() is variadic: pass every argument as unsigned long, as the kernel
// reads them, so no garbage reaches the "unused arguments must be 0" check.
int prctl_ramm(unsigned long command, const void* arg3, unsigned long arg4)
{
	return ::prctl(PR_RAMM, command, reinterpret_cast<unsigned long>(arg3),
		       arg4, 0UL);
}

// The kernel's answer, asked once per process.
struct ProbeAnswer {
	int errnum = 0;
	ramm_probe probe{};
};

ProbeAnswer ask_kernel()
{
	ProbeAnswer answer;
	const int version = prctl_ramm(PR_RAMM_PROBE, &answer.probe,
				       sizeof(answer.probe));

	if (version < 0) {
		answer.errnum = errno;
		answer.probe = {};
	} else if (version == 0) {
		// Not a RAMM answer: a RAMM kernel returns its version > 0.
		answer.errnum = EPROTO;
		answer.probe = {};
	} else {
		// The return value is the documented version; the struct
		// adds the flags and sub-commands.
		answer.probe.version = static_cast<std::uint64_t>(version);
	}
	return answer;
}

bool disabled_by_env()
{
	const char* value = std::getenv("RAMM_DISABLE");

	return value != nullptr && *value != '\0' && std::string_view(value) != "0";
}

// The error of a raw call made where RAMM is not available.
Error unavailable(std::string_view operation)
{
	const KernelSupport support = kernel_support();

	if (support.disabled_by_env)
		return Error(ENOSYS, operation, "RAMM disabled by RAMM_DISABLE");
	return Error(ENOSYS, operation,
		     fmt::format("this kernel has no RAMM (PR_RAMM_PROBE: {})",
				 std::generic_category().message(support.probe_errno)));
}

std::string describe(const ramm_mmap_args& a)
{
	return fmt::format("mmap_priced(addr={:#x}, len={}, prot={:#x}, flags={:#x}, "
			   "price={}, ramm_flags={:#x})",
			   a.addr, a.len, a.prot, a.flags, a.price, a.ramm_flags);
}

std::string describe(std::string_view command, const ramm_range& r)
{
	return fmt::format("prctl({}, addr={:#x}, len={}, price={}, ramm_flags={:#x})",
			   command, r.addr, r.len, r.price, r.ramm_flags);
}

}  // namespace

KernelSupport kernel_support()
{
	// A function-local static: initialized once, thread-safe.
	static const ProbeAnswer answer = ask_kernel();
	KernelSupport support;

	support.disabled_by_env = disabled_by_env();
	support.probe_errno = answer.errnum;
	support.version = answer.probe.version;
	support.ramm_flags = answer.probe.ramm_flags;
	support.commands = answer.probe.commands;
	support.present = answer.errnum == 0 && !support.disabled_by_env;
	return support;
}

namespace sys {

Result<void*> mmap_priced(const ramm_mmap_args& args)
{
#ifdef __NR_mmap_priced
	const long ret = ::syscall(__NR_mmap_priced, &args, sizeof(args));

	if (ret == -1) {
		const int errnum = errno;
		return Error(errnum, describe(args));
	}
	return reinterpret_cast<void*>(static_cast<std::uintptr_t>(ret));
#else
	return Error(ENOSYS, describe(args),
		     "no mmap_priced() syscall number for this architecture");
#endif
}

Result<void> set_price(const ramm_range& range)
{
	if (prctl_ramm(PR_RAMM_SET_PRICE, &range, sizeof(range)) < 0) {
		const int errnum = errno;
		return Error(errnum, describe("PR_RAMM_SET_PRICE", range));
	}
	return {};
}

Result<ramm_range> get_price(const void* addr)
{
	ramm_range range{};

	range.addr = reinterpret_cast<std::uintptr_t>(addr);
	if (prctl_ramm(PR_RAMM_GET_PRICE, &range, sizeof(range)) < 0) {
		const int errnum = errno;
		return Error(errnum, fmt::format("prctl(PR_RAMM_GET_PRICE, addr={})",
						 fmt::ptr(addr)));
	}
	return range;
}

Result<ramm_stats> get_stats()
{
	ramm_stats stats{};

	if (prctl_ramm(PR_RAMM_GET_STATS, &stats, sizeof(stats)) < 0) {
		const int errnum = errno;
		return Error(errnum, "prctl(PR_RAMM_GET_STATS)");
	}
	return stats;
}

}  // namespace sys

Result<void*> mmap_priced(const ramm_mmap_args& args)
{
	if (!kernel_support().present)
		return unavailable(describe(args));
	return sys::mmap_priced(args);
}

Result<void> set_price(const ramm_range& range)
{
	if (!kernel_support().present)
		return unavailable(describe("PR_RAMM_SET_PRICE", range));
	return sys::set_price(range);
}

Result<ramm_range> get_price(const void* addr)
{
	if (!kernel_support().present)
		return unavailable(fmt::format("prctl(PR_RAMM_GET_PRICE, addr={})",
					       fmt::ptr(addr)));
	return sys::get_price(addr);
}

Result<ramm_stats> get_stats()
{
	if (!kernel_support().present)
		return unavailable("prctl(PR_RAMM_GET_STATS)");
	return sys::get_stats();
}

}  // namespace ramm
