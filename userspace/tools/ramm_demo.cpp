// SPDX-License-Identifier: GPL-2.0
//
// ramm-demo: a guided tour of RAMM for a newcomer.  It probes the kernel, maps
// memory with a price, and shows every place the kernel reports that price:
// PR_RAMM_GET_PRICE, /proc/self/smaps, /proc/self/status, PR_RAMM_GET_STATS.
// On a kernel without RAMM it shows the fallback instead.
//
// Exit status: 0 when everything the kernel reported matched what was asked
// (or the fallback worked), 1 on any mismatch or unexpected error.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <string>

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

std::string size_text(std::uint64_t bytes)
{
	if (bytes % MiB == 0)
		return fmt::format("{} MiB", bytes / MiB);
	return fmt::format("{} KiB", bytes / KiB);
}

std::string flags_text(std::uint64_t ramm_flags)
{
	return std::string(ramm::to_string(static_cast<ramm::Flags>(ramm_flags)));
}

std::string commands_text(const ramm::KernelSupport& support)
{
	static const char* const names[] = {nullptr,	 "probe",
					    "set-price", "get-price",
					    "get-stats", "register",
					    "unregister", "get-fd",
					    "get-requests"};
	std::string text;

	for (unsigned command = 0; command < 64; command++) {
		if (!support.has_command(command))
			continue;
		const bool named = command < std::size(names) && names[command];
		text += fmt::format(" {}", named ? names[command]
						 : fmt::format("#{}", command).c_str());
	}
	return text;
}

// Counts the places where the kernel did not say what was expected.
class Checks {
public:
	void expect(bool ok, std::string_view what)
	{
		if (!ok) {
			failed_++;
			fmt::print("    MISMATCH: {}\n", what);
		}
	}
	int failed() const { return failed_; }

private:
	int failed_ = 0;
};

// Writes every byte, so every page is really allocated.
void touch(ramm::PricedMapping& mapping)
{
	std::memset(mapping.data(), 0x5a, mapping.size());
}

void print_range(std::string_view label, const ramm_range& r)
{
	fmt::print("    {:<22} [{:#x}, {:#x}) {}, price {} ns/page, {}\n", label,
		   r.addr, r.addr + r.len, size_text(r.len), r.price,
		   flags_text(r.ramm_flags));
}

// Maps one priced region on the RAMM kernel and shows what the kernel says.
ramm::PricedMapping show_priced(std::size_t len, std::uint64_t price,
				ramm::Flags flags, Checks& checks)
{
	fmt::print("\nmmap_priced(): {} at {} ns/page, {}\n", size_text(len), price,
		   ramm::to_string(flags));
	auto mapping = ramm::PricedMapping::create(len, price, flags).value();
	touch(mapping);
	fmt::print("    mapped at {}, kernel-priced: {}, {} pages touched\n",
		   fmt::ptr(mapping.data()), mapping.is_kernel_priced() ? "yes" : "NO",
		   len / static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
	checks.expect(mapping.is_kernel_priced(), "the mapping is not kernel-priced");

	const ramm_range range = mapping.kernel_price().value();
	print_range("PR_RAMM_GET_PRICE:", range);
	checks.expect(range.price == price, "GET_PRICE returned another price");
	checks.expect(range.ramm_flags == static_cast<std::uint64_t>(flags),
		      "GET_PRICE returned other flags");

	const auto smaps = ramm::smaps_ramm(mapping.data()).value();
	for (const auto& line : smaps.lines)
		fmt::print("    /proc/self/smaps:      {}\n", line);
	checks.expect(smaps.price == price, "smaps shows another RammPrice");
	checks.expect(smaps.discardable == (flags == ramm::Flags::discardable),
		      "smaps shows another RammDiscardable");
	return mapping;
}

void show_totals(std::string_view when)
{
	const auto status = ramm::status_ramm().value();
	const auto stats = ramm::get_stats().value();

	fmt::print("\ntotals {}:\n", when);
	for (const auto& line : status.lines)
		fmt::print("    /proc/self/status:     {}\n", line);
	fmt::print("    PR_RAMM_GET_STATS:     priced {}, discardable {}, {} priced VMAs\n",
		   size_text(stats.priced_bytes), size_text(stats.discardable_bytes),
		   stats.priced_ranges);
}

int run_on_ramm()
{
	Checks checks;
	const auto status_before = ramm::status_ramm().value();
	const auto stats_before = ramm::get_stats().value();

	// A cache the program can rebuild cheaply, and state it cannot lose.
	auto cache = show_priced(16 * MiB, 2000, ramm::Flags::discardable, checks);
	auto state = show_priced(8 * MiB, 90000, ramm::Flags::preserved, checks);

	show_totals("with both mappings");
	const auto status = ramm::status_ramm().value();
	checks.expect(status.priced_kb.value_or(0) - status_before.priced_kb.value_or(0) ==
			      24 * MiB / KiB,
		      "RammPriced did not grow by 24 MiB");
	checks.expect(status.discardable_kb.value_or(0) -
				      status_before.discardable_kb.value_or(0) ==
			      16 * MiB / KiB,
		      "RammDiscardable did not grow by 16 MiB");

	// Re-price the first half of the cache: the kernel splits the VMA,
	// as madvise() does, and GET_PRICE reports each part's extent.
	const auto start = reinterpret_cast<std::uintptr_t>(cache.data());
	fmt::print("\nPR_RAMM_SET_PRICE: first half of the 16 MiB cache to 500 ns/page\n");
	ramm::set_price({start, 8 * MiB, 500, RAMM_DISCARDABLE}).value();
	const ramm_range low = ramm::get_price(cache.data()).value();
	const ramm_range high = ramm::get_price(cache.data() + 8 * MiB).value();
	print_range("GET_PRICE(start):", low);
	print_range("GET_PRICE(start+8MiB):", high);
	checks.expect(low.addr == start && low.len == 8 * MiB && low.price == 500,
		      "the first half is not its own VMA at 500");
	checks.expect(high.addr == start + 8 * MiB && high.len == 8 * MiB &&
			      high.price == 2000,
		      "the second half is not its own VMA at 2000");

	const auto stats = ramm::get_stats().value();
	fmt::print("    PR_RAMM_GET_STATS:     {} priced VMAs (was {}): the VMA was split\n",
		   stats.priced_ranges, stats_before.priced_ranges + 2);
	checks.expect(stats.priced_ranges == stats_before.priced_ranges + 3,
		      "GET_STATS does not count the split");

	if (checks.failed() != 0) {
		fmt::print("\nramm-demo: RAMM kernel answered mmap_priced(), but {} "
			   "check(s) failed: FAILED\n", checks.failed());
		return 1;
	}
	fmt::print("\nramm-demo: RAMM kernel answered mmap_priced(): OK\n");
	return 0;
}

int run_fallback(const ramm::KernelSupport& support)
{
	if (support.disabled_by_env && support.probe_errno == 0)
		fmt::print("RAMM:   disabled by RAMM_DISABLE (this kernel has RAMM "
			   "API version {})\n", support.version);
	else if (support.disabled_by_env)
		fmt::print("RAMM:   disabled by RAMM_DISABLE (and not in this kernel)\n");
	else
		fmt::print("RAMM:   not in this kernel: {}\n",
			   ramm::Error(support.probe_errno,
				       "prctl(PR_RAMM, PR_RAMM_PROBE)").what());
	fmt::print("        PricedMapping falls back to plain "
		   "mmap(MAP_PRIVATE | MAP_ANONYMOUS);\n"
		   "        prices are recorded but nothing enforces them.\n");

	Checks checks;
	auto cache = ramm::PricedMapping::create(16 * MiB, 2000,
						 ramm::Flags::discardable).value();
	auto state = ramm::PricedMapping::create(8 * MiB, 90000,
						 ramm::Flags::preserved).value();
	for (auto* mapping : {&cache, &state}) {
		touch(*mapping);
		fmt::print("\n{} at {} ns/page, {}: mapped at {}, kernel-priced: {}\n",
			   size_text(mapping->size()), mapping->price(),
			   ramm::to_string(mapping->flags()), fmt::ptr(mapping->data()),
			   mapping->is_kernel_priced() ? "YES" : "no");
		checks.expect(!mapping->is_kernel_priced(), "kernel-priced without RAMM");
		checks.expect(mapping->data()[mapping->size() - 1] == std::byte{0x5a},
			      "the memory does not hold what was written");

		const auto smaps = ramm::smaps_ramm(mapping->data()).value();
		fmt::print("    /proc/self/smaps: {}\n",
			   smaps.lines.empty() ? "no Ramm lines (unpriced to the kernel)"
					       : smaps.lines.front());
		checks.expect(smaps.lines.empty(), "smaps shows a price");
	}

	cache.set_price(500, ramm::Flags::discardable).value();
	fmt::print("\nset_price(500): recorded price now {} ns/page\n", cache.price());
	const auto kernel = cache.kernel_price();
	fmt::print("kernel_price(): {}\n",
		   kernel ? "answered?!" : kernel.error().what());
	checks.expect(!kernel && kernel.error().errnum() == ENOSYS,
		      "kernel_price() did not report ENOSYS");

	if (checks.failed() != 0) {
		fmt::print("\nramm-demo: no RAMM, and the fallback misbehaved: FAILED\n");
		return 1;
	}
	fmt::print("\nramm-demo: no RAMM {}; the fallback (plain mmap) works: OK\n",
		   support.disabled_by_env ? "(disabled by RAMM_DISABLE)"
					   : "in this kernel");
	return 0;
}

int run()
{
	struct utsname uts {};
	::uname(&uts);
	fmt::print("ramm-demo: RAMM, a RAM market for Linux\n");
	fmt::print("kernel: {} {}\n\n", uts.sysname, uts.release);

	const ramm::KernelSupport support = ramm::kernel_support();
	if (!support.present)
		return run_fallback(support);

	fmt::print("RAMM:   prctl(PR_RAMM, PR_RAMM_PROBE) answered API version {}\n",
		   support.version);
	fmt::print("        ramm_flags {:#x} (discardable: {}), sub-commands {:#x}:{}\n",
		   support.ramm_flags,
		   (support.ramm_flags & RAMM_DISCARDABLE) ? "yes" : "no",
		   support.commands, commands_text(support));
	fmt::print("        prices are in ns of work to recreate one page\n");
	return run_on_ramm();
}

}  // namespace

int main()
{
	try {
		return run();
	} catch (const ramm::Error& error) {
		fmt::print(stderr, "ramm-demo: unexpected error: {}\n", error.what());
	} catch (const std::exception& error) {
		fmt::print(stderr, "ramm-demo: unexpected exception: {}\n", error.what());
	}
	return 1;
}
