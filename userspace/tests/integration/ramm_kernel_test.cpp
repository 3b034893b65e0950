// SPDX-License-Identifier: GPL-2.0
//
// Integration tests: run inside the RAMM kernel (the QEMU guest).  They need
// RAMM and fail, not skip, without it.
//
// Each test uses prices no other test uses, so a new priced VMA never merges
// with a neighbour left by another test and its extent is exactly its own.

#include <ramm/ramm.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

using ::testing::HasSubstr;
using ramm::Flags;
using ramm::PricedMapping;

constexpr std::size_t MiB = 1024 * 1024;

std::uintptr_t address(const void* p)
{
	return reinterpret_cast<std::uintptr_t>(p);
}

// Writes one byte per page so every page is resident.
void touch(PricedMapping& mapping)
{
	for (std::size_t i = 0; i < mapping.size(); i += ramm_test::page_size())
		mapping.data()[i] = std::byte{0x5a};
}

// The process's totals from both sources the kernel offers.
struct Totals {
	ramm_stats stats;
	std::uint64_t status_priced_kb;
	std::uint64_t status_discardable_kb;
};

Totals totals()
{
	const auto stats = ramm::get_stats().value();
	const auto status = ramm::status_ramm().value();

	// A RAMM kernel prints both lines, even with nothing priced.
	EXPECT_TRUE(status.priced_kb.has_value()) << "no RammPriced: in /proc/self/status";
	EXPECT_TRUE(status.discardable_kb.has_value())
		<< "no RammDiscardable: in /proc/self/status";
	return {stats, status.priced_kb.value_or(0), status.discardable_kb.value_or(0)};
}

class RammKernel : public ::testing::Test {
protected:
	void SetUp() override
	{
		const ramm::KernelSupport support = ramm::kernel_support();

		ASSERT_FALSE(support.disabled_by_env)
			<< "RAMM_DISABLE is set: unset it to run the integration tests";
		ASSERT_TRUE(support.present)
			<< "RAMM not detected: PR_RAMM_PROBE failed with "
			<< std::strerror(support.probe_errno)
			<< " (these tests must run on the RAMM kernel)";
	}
};

TEST_F(RammKernel, ProbeDescribesThisKernel)
{
	const ramm::KernelSupport support = ramm::kernel_support();

	EXPECT_GE(support.version, 1U);
	EXPECT_EQ(support.ramm_flags & RAMM_DISCARDABLE, RAMM_DISCARDABLE);
	for (const unsigned command : {PR_RAMM_PROBE, PR_RAMM_SET_PRICE,
				       PR_RAMM_GET_PRICE, PR_RAMM_GET_STATS})
		EXPECT_TRUE(support.has_command(command)) << "sub-command " << command;
	EXPECT_FALSE(support.has_command(0));
}

TEST_F(RammKernel, MappingIsKernelPricedDiscardable)
{
	auto mapping = PricedMapping::create(4 * MiB, 1101, Flags::discardable).value();
	touch(mapping);

	ASSERT_TRUE(mapping.is_kernel_priced());
	const ramm_range range = mapping.kernel_price().value();
	EXPECT_EQ(range.addr, address(mapping.data()));
	EXPECT_EQ(range.len, 4 * MiB);
	EXPECT_EQ(range.price, 1101U);
	EXPECT_EQ(range.ramm_flags, RAMM_DISCARDABLE);
}

TEST_F(RammKernel, MappingIsKernelPricedPreserved)
{
	auto mapping = PricedMapping::create(2 * MiB, 1102, Flags::preserved).value();

	ASSERT_TRUE(mapping.is_kernel_priced());
	const ramm_range range = mapping.kernel_price().value();
	EXPECT_EQ(range.len, 2 * MiB);
	EXPECT_EQ(range.price, 1102U);
	EXPECT_EQ(range.ramm_flags, 0U);
}

TEST_F(RammKernel, LengthIsRoundedUpToAPage)
{
	auto mapping = PricedMapping::create(ramm_test::page_size() + 1, 1103,
					     Flags::preserved).value();

	EXPECT_EQ(mapping.kernel_price().value().len, 2 * ramm_test::page_size());
}

TEST_F(RammKernel, UnpricedMemoryHasPriceZero)
{
	int on_stack = 0;
	const ramm_range range = ramm::get_price(&on_stack).value();

	EXPECT_EQ(range.price, 0U);
	EXPECT_EQ(range.ramm_flags, 0U);
	EXPECT_LE(range.addr, address(&on_stack));
	EXPECT_GT(range.addr + range.len, address(&on_stack));
}

TEST_F(RammKernel, SmapsShowsThePriceOfThatVma)
{
	auto discardable = PricedMapping::create(4 * MiB, 1201, Flags::discardable).value();
	auto preserved = PricedMapping::create(2 * MiB, 1202, Flags::preserved).value();

	const auto d = ramm::smaps_ramm(discardable.data()).value();
	EXPECT_EQ(d.start, address(discardable.data()));
	EXPECT_EQ(d.end, address(discardable.data()) + 4 * MiB);
	EXPECT_EQ(d.price, 1201U);
	EXPECT_EQ(d.discardable, true);

	const auto p = ramm::smaps_ramm(preserved.data()).value();
	EXPECT_EQ(p.price, 1202U);
	EXPECT_EQ(p.discardable, false);
}

TEST_F(RammKernel, SmapsPrintsNothingForUnpricedVmas)
{
	const std::size_t len = 4 * ramm_test::page_size();
	void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(addr, MAP_FAILED);

	const auto entry = ramm::smaps_ramm(addr);
	::munmap(addr, len);

	ASSERT_TRUE(entry.has_value()) << entry.error().what();
	EXPECT_TRUE(entry->lines.empty())
		<< "unpriced VMA shows " << entry->lines.front();
}

TEST_F(RammKernel, TotalsGrowByTheMappingAndShrinkOnDestruction)
{
	const Totals before = totals();
	{
		auto discardable = PricedMapping::create(4 * MiB, 1301,
							 Flags::discardable).value();
		auto preserved = PricedMapping::create(2 * MiB, 1302,
						       Flags::preserved).value();
		touch(discardable);

		const Totals during = totals();
		EXPECT_EQ(during.stats.priced_bytes - before.stats.priced_bytes, 6 * MiB);
		EXPECT_EQ(during.stats.discardable_bytes - before.stats.discardable_bytes,
			  4 * MiB);
		EXPECT_EQ(during.stats.priced_ranges - before.stats.priced_ranges, 2U);
		EXPECT_EQ(during.status_priced_kb - before.status_priced_kb, 6 * 1024U);
		EXPECT_EQ(during.status_discardable_kb - before.status_discardable_kb,
			  4 * 1024U);
	}
	const Totals after = totals();
	EXPECT_EQ(after.stats.priced_bytes, before.stats.priced_bytes);
	EXPECT_EQ(after.stats.discardable_bytes, before.stats.discardable_bytes);
	EXPECT_EQ(after.stats.priced_ranges, before.stats.priced_ranges);
	EXPECT_EQ(after.status_priced_kb, before.status_priced_kb);
	EXPECT_EQ(after.status_discardable_kb, before.status_discardable_kb);
}

TEST_F(RammKernel, SetPriceChangesPriceFlagsSmapsAndTotals)
{
	auto mapping = PricedMapping::create(4 * MiB, 1401, Flags::discardable).value();
	const Totals before = totals();

	ASSERT_TRUE(mapping.set_price(1402, Flags::preserved).has_value());

	const ramm_range range = mapping.kernel_price().value();
	EXPECT_EQ(range.price, 1402U);
	EXPECT_EQ(range.ramm_flags, 0U);
	EXPECT_EQ(range.len, 4 * MiB);

	const auto entry = ramm::smaps_ramm(mapping.data()).value();
	EXPECT_EQ(entry.price, 1402U);
	EXPECT_EQ(entry.discardable, false);

	const Totals after = totals();
	EXPECT_EQ(after.stats.priced_bytes, before.stats.priced_bytes);
	EXPECT_EQ(before.stats.discardable_bytes - after.stats.discardable_bytes, 4 * MiB);
	EXPECT_EQ(before.status_discardable_kb - after.status_discardable_kb, 4 * 1024U);
}

TEST_F(RammKernel, RepricingHalfSplitsTheVmaAndRestoringMergesIt)
{
	auto mapping = PricedMapping::create(4 * MiB, 1501, Flags::discardable).value();
	const std::uintptr_t start = address(mapping.data());
	const std::uintptr_t middle = start + 2 * MiB;
	const std::uint64_t ranges_before = ramm::get_stats().value().priced_ranges;

	ramm::set_price({start, 2 * MiB, 1502, RAMM_DISCARDABLE}).value();

	const ramm_range low = ramm::get_price(mapping.data()).value();
	EXPECT_EQ(low.addr, start);
	EXPECT_EQ(low.len, 2 * MiB);
	EXPECT_EQ(low.price, 1502U);
	const ramm_range high = ramm::get_price(mapping.data() + 2 * MiB).value();
	EXPECT_EQ(high.addr, middle);
	EXPECT_EQ(high.len, 2 * MiB);
	EXPECT_EQ(high.price, 1501U);
	EXPECT_EQ(ramm::get_stats().value().priced_ranges, ranges_before + 1);
	EXPECT_EQ(ramm::smaps_ramm(mapping.data()).value().price, 1502U);
	EXPECT_EQ(ramm::smaps_ramm(mapping.data() + 2 * MiB).value().price, 1501U);

	ramm::set_price({start, 2 * MiB, 1501, RAMM_DISCARDABLE}).value();

	const ramm_range whole = mapping.kernel_price().value();
	EXPECT_EQ(whole.addr, start);
	EXPECT_EQ(whole.len, 4 * MiB);
	EXPECT_EQ(ramm::get_stats().value().priced_ranges, ranges_before);
}

TEST_F(RammKernel, PriceZeroMakesARangeOrdinaryAgain)
{
	auto mapping = PricedMapping::create(2 * MiB, 1601, Flags::preserved).value();
	const std::uint64_t priced_before = ramm::get_stats().value().priced_bytes;

	ramm::set_price({address(mapping.data()), 2 * MiB, 0, 0}).value();

	EXPECT_EQ(ramm::get_price(mapping.data()).value().price, 0U);
	EXPECT_TRUE(ramm::smaps_ramm(mapping.data()).value().lines.empty());
	EXPECT_EQ(priced_before - ramm::get_stats().value().priced_bytes, 2 * MiB);
}

// The library refuses bad input itself (so both paths agree); the kernel
// must refuse the same input with the same errno.
TEST_F(RammKernel, LibraryAndKernelRejectBadInputAlike)
{
	struct Case {
		const char* what;
		std::uint64_t len;
		std::uint64_t price;
		std::uint64_t ramm_flags;
		int prot;
		int map_flags;
	};
	const Case cases[] = {
		{"len 0", 0, 2000, 0, PROT_READ, 0},
		{"price 0", MiB, 0, 0, PROT_READ, 0},
		{"unknown ramm flag", MiB, 2000, 2, PROT_READ, 0},
		{"unknown prot bit", MiB, 2000, 0, PROT_READ | 0x100, 0},
		{"MAP_SHARED", MiB, 2000, 0, PROT_READ, MAP_SHARED},
		{"MAP_STACK", MiB, 2000, 0, PROT_READ, MAP_STACK},
	};

	for (const Case& c : cases) {
		ramm_mmap_args args{};
		args.len = c.len;
		args.prot = static_cast<std::uint64_t>(c.prot);
		// MAP_SHARED | MAP_PRIVATE is MAP_SHARED_VALIDATE: also refused.
		args.flags = static_cast<std::uint64_t>(MAP_PRIVATE | MAP_ANONYMOUS |
							c.map_flags);
		args.price = c.price;
		args.ramm_flags = c.ramm_flags;

		const auto kernel = ramm::mmap_priced(args);
		if (kernel.has_value())
			::munmap(*kernel, c.len);
		const auto library = PricedMapping::create(
			c.len, c.price, static_cast<Flags>(c.ramm_flags),
			{c.prot, c.map_flags});

		ASSERT_FALSE(kernel.has_value()) << c.what << ": the kernel accepted it";
		ASSERT_FALSE(library.has_value()) << c.what << ": the library accepted it";
		EXPECT_EQ(kernel.error().errnum(), EINVAL) << kernel.error().what();
		EXPECT_EQ(library.error().errnum(), kernel.error().errnum()) << c.what;
	}
}

TEST_F(RammKernel, RammDisableForcesTheFallback)
{
	const Totals before = totals();
	{
		const ramm_test::EnvGuard disable("RAMM_DISABLE", "1");

		EXPECT_FALSE(ramm::kernel_support().present);
		auto mapping = PricedMapping::create(4 * MiB, 1701,
						     Flags::discardable).value();
		touch(mapping);

		EXPECT_FALSE(mapping.is_kernel_priced());
		EXPECT_EQ(mapping.kernel_price().error().errnum(), ENOSYS);
		// Refused by the library: the raw call does not reach RAMM.
		const auto raw = ramm::get_price(mapping.data());
		ASSERT_FALSE(raw.has_value());
		EXPECT_EQ(raw.error().errnum(), ENOSYS);
		EXPECT_THAT(raw.error().what(), HasSubstr("RAMM_DISABLE"));

		// The kernel (asked directly, through /proc) has no price for it.
		const auto entry = ramm::smaps_ramm(mapping.data()).value();
		EXPECT_FALSE(entry.price.has_value());
		const auto status = ramm::status_ramm().value();
		EXPECT_EQ(status.priced_kb, before.status_priced_kb);

		ASSERT_TRUE(mapping.set_price(1702, Flags::preserved).has_value());
		EXPECT_EQ(mapping.price(), 1702U);
		EXPECT_FALSE(ramm::smaps_ramm(mapping.data()).value().price.has_value());
	}
	EXPECT_TRUE(ramm::kernel_support().present);
}

TEST_F(RammKernel, KernelPricedMappingOutlivesRammDisable)
{
	auto mapping = PricedMapping::create(2 * MiB, 1801, Flags::preserved).value();
	const ramm_test::EnvGuard disable("RAMM_DISABLE", "1");

	// The path is chosen at creation: this mapping is still the kernel's.
	ASSERT_TRUE(mapping.set_price(1802, Flags::discardable).has_value());
	const ramm_range range = mapping.kernel_price().value();
	EXPECT_EQ(range.price, 1802U);
	EXPECT_EQ(range.ramm_flags, RAMM_DISCARDABLE);
}

// rammctl --watch on the live market: the guest installs the tools in
// bin/ next to gtest/.  Two frames, each drawn whole after a screen clear;
// the second has the rate column, and lists this process with its priced
// memory.
TEST_F(RammKernel, RammctlWatchRedrawsTheLiveMarket)
{
	auto mapping = PricedMapping::create(4 * MiB, 1901, Flags::discardable).value();
	touch(mapping);
	const auto rammctl =
		std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() /
		"bin" / "rammctl";
	ASSERT_TRUE(std::filesystem::exists(rammctl)) << rammctl;

	const std::string command = rammctl.string() + " --watch 1 --count 2";
	FILE* pipe = ::popen(command.c_str(), "r");
	ASSERT_NE(pipe, nullptr) << std::strerror(errno);
	std::string out;
	char buf[4096];
	for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;)
		out.append(buf, n);
	ASSERT_EQ(::pclose(pipe), 0) << out;

	const std::string clear = "\x1b[H\x1b[2J";
	std::size_t frames = 0;
	for (std::size_t at = out.find(clear); at != std::string::npos;
	     at = out.find(clear, at + clear.size()))
		frames++;
	EXPECT_EQ(frames, 2U) << out;
	const std::string last = out.substr(out.rfind(clear));
	EXPECT_THAT(last, HasSubstr("market: /sys/kernel/mm/ramm"));
	EXPECT_THAT(last, HasSubstr("RATE"));
	EXPECT_THAT(last, HasSubstr("wakes_ahead"));
	// A row of the process table starts with our pid, right-aligned.
	const std::string pid = std::to_string(::getpid()) + " ";
	bool listed = false;
	for (std::size_t at = 0; at < last.size() && !listed;) {
		const std::size_t end = std::min(last.find('\n', at), last.size());
		const std::size_t first = last.find_first_not_of(' ', at);
		listed = first < end && last.compare(first, pid.size(), pid) == 0;
		at = end + 1;
	}
	EXPECT_TRUE(listed) << "pid " << ::getpid() << " is not listed:\n" << last;
}

}  // namespace
