// SPDX-License-Identifier: GPL-2.0
//
// The /proc readers: parsers on text in the format a RAMM kernel prints, and
// the readers on this process's real files.

#include <ramm/ramm.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cerrno>
#include <filesystem>
#include <string_view>

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Three VMAs: priced discardable, unpriced, priced preserved (tab-separated,
// with a Ramm* field this library does not know).
constexpr std::string_view smaps_text =
	"7f0000000000-7f0001000000 rw-p 00000000 00:00 0 \n"
	"Size:              16384 kB\n"
	"Rss:               16384 kB\n"
	"RammPrice:             2000\n"
	"RammDiscardable:          1\n"
	"VmFlags: rd wr mr mw me ac \n"
	"7f0001000000-7f0001800000 rw-p 00000000 00:00 0 \n"
	"Size:               8192 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	"7f0002000000-7f0002800000 rw-p 00000000 00:00 0 \n"
	"Size:               8192 kB\n"
	"RammPrice:\t90000\n"
	"RammDiscardable:\t0\n"
	"RammFuture:   whatever\n"
	"VmFlags: rd wr mr mw me ac \n";

TEST(ParseSmaps, FindsThePricedVma)
{
	const auto entry = ramm::parse_smaps_ramm(smaps_text, 0x7f0000800000).value();

	EXPECT_EQ(entry.start, 0x7f0000000000U);
	EXPECT_EQ(entry.end, 0x7f0001000000U);
	EXPECT_EQ(entry.price, 2000U);
	EXPECT_EQ(entry.discardable, true);
	EXPECT_THAT(entry.lines, ElementsAre("RammPrice:             2000",
					     "RammDiscardable:          1"));
}

TEST(ParseSmaps, EndIsExclusiveAndUnpricedVmaHasNoPrice)
{
	const auto entry = ramm::parse_smaps_ramm(smaps_text, 0x7f0001000000).value();

	EXPECT_EQ(entry.start, 0x7f0001000000U);
	EXPECT_EQ(entry.end, 0x7f0001800000U);
	EXPECT_FALSE(entry.price.has_value());
	EXPECT_FALSE(entry.discardable.has_value());
	EXPECT_TRUE(entry.lines.empty());
}

TEST(ParseSmaps, AcceptsTabsAndKeepsUnknownRammLines)
{
	const auto entry = ramm::parse_smaps_ramm(smaps_text, 0x7f00027fffff).value();

	EXPECT_EQ(entry.start, 0x7f0002000000U);
	EXPECT_EQ(entry.price, 90000U);
	EXPECT_EQ(entry.discardable, false);
	EXPECT_EQ(entry.lines.size(), 3U);
}

TEST(ParseSmaps, AddressInNoVmaIsEnoent)
{
	const auto entry = ramm::parse_smaps_ramm(smaps_text, 0x7f0001800000);

	ASSERT_FALSE(entry.has_value());
	EXPECT_EQ(entry.error().errnum(), ENOENT);
	EXPECT_THAT(entry.error().what(), HasSubstr("parse_smaps_ramm(addr=0x7f0001800000)"));
}

TEST(ParseSmaps, MalformedRammLinesAreEbadmsg)
{
	for (const std::string_view bad :
	     {"RammPrice:   12x", "RammPrice:", "RammDiscardable: 2", "RammPrice -5"}) {
		const std::string text =
			"1000-2000 rw-p 00000000 00:00 0\n" + std::string(bad) + "\n";
		const auto entry = ramm::parse_smaps_ramm(text, 0x1000);

		ASSERT_FALSE(entry.has_value()) << bad;
		EXPECT_EQ(entry.error().errnum(), EBADMSG) << bad;
		EXPECT_THAT(entry.error().what(), HasSubstr(bad));
	}
}

TEST(ParseStatus, ReadsTotalsInKilobytes)
{
	const auto totals = ramm::parse_status_ramm("Name:\tdemo\n"
						   "VmRSS:\t    1234 kB\n"
						   "RammPriced:\t   24576 kB\n"
						   "RammDiscardable:\t   16384 kB\n"
						   "Threads:\t1\n")
				    .value();

	EXPECT_EQ(totals.priced_kb, 24576U);
	EXPECT_EQ(totals.discardable_kb, 16384U);
	EXPECT_THAT(totals.lines, ElementsAre("RammPriced:\t   24576 kB",
					      "RammDiscardable:\t   16384 kB"));
}

TEST(ParseStatus, NoRammLinesMeansNoTotals)
{
	const auto totals = ramm::parse_status_ramm("Name:\tdemo\nVmRSS:\t 1 kB\n").value();

	EXPECT_FALSE(totals.priced_kb.has_value());
	EXPECT_FALSE(totals.discardable_kb.has_value());
	EXPECT_TRUE(totals.lines.empty());
}

TEST(ParseStatus, MissingUnitIsEbadmsg)
{
	const auto totals = ramm::parse_status_ramm("RammPriced:\t24576\n");

	ASSERT_FALSE(totals.has_value());
	EXPECT_EQ(totals.error().errnum(), EBADMSG);
}

TEST(ProcSelf, SmapsOfAnOrdinaryMappingHasNoPrice)
{
	const std::size_t len = 4 * ramm_test::page_size();
	void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(addr, MAP_FAILED);

	const auto entry = ramm::smaps_ramm(static_cast<char*>(addr) + 1);
	::munmap(addr, len);

	ASSERT_TRUE(entry.has_value()) << entry.error().what();
	EXPECT_LE(entry->start, reinterpret_cast<std::uintptr_t>(addr));
	EXPECT_GE(entry->end, reinterpret_cast<std::uintptr_t>(addr) + len);
	EXPECT_FALSE(entry->price.has_value());
}

TEST(ProcSelf, SmapsOfAnUnmappedAddressIsEnoent)
{
	// Below mmap_min_addr: never mapped.
	const auto entry = ramm::smaps_ramm(reinterpret_cast<void*>(0x1000));

	ASSERT_FALSE(entry.has_value());
	EXPECT_EQ(entry.error().errnum(), ENOENT);
}

TEST(ProcSelf, StatusHasNoTotalsWithoutRamm)
{
	const auto totals = ramm::status_ramm();
	ASSERT_TRUE(totals.has_value()) << totals.error().what();

	const ramm_test::EnvGuard no_disable("RAMM_DISABLE", nullptr);
	if (ramm::kernel_support().present || std::filesystem::exists("/sys/kernel/mm/ramm"))
		GTEST_SKIP() << "this kernel may have RAMM";
	EXPECT_FALSE(totals->priced_kb.has_value());
	EXPECT_FALSE(totals->discardable_kb.has_value());
}

}  // namespace
