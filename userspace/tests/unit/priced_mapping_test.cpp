// SPDX-License-Identifier: GPL-2.0
//
// PricedMapping.  Every test runs twice: on the path the kernel chooses
// ("auto": the fallback on a plain kernel, mmap_priced() on RAMM) and with
// RAMM_DISABLE=1 (always the fallback), so both paths must behave alike.

#include <ramm/ramm.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>

namespace {

using ::testing::HasSubstr;
using ramm::Flags;
using ramm::PricedMapping;
using ramm_test::is_mapped;
using ramm_test::msync_errno;

constexpr std::size_t MiB = 1024 * 1024;

class PricedMappingTest : public ::testing::TestWithParam<bool> {
protected:
	void SetUp() override
	{
		if (force_fallback())
			disable_.emplace("RAMM_DISABLE", "1");
		else
			disable_.emplace("RAMM_DISABLE", nullptr);
	}

	bool force_fallback() const { return GetParam(); }

	bool expect_kernel_priced() const
	{
		return !force_fallback() && ramm::kernel_support().present;
	}

	// The errno of a create() that must fail, checking the message.
	static void expect_einval(const ramm::Result<PricedMapping>& result,
				  const std::string& reason)
	{
		ASSERT_FALSE(result.has_value());
		EXPECT_EQ(result.error().errnum(), EINVAL);
		EXPECT_THAT(result.error().what(), HasSubstr("PricedMapping::create("));
		EXPECT_THAT(result.error().what(), HasSubstr(reason));
		EXPECT_THAT(result.error().what(),
			    HasSubstr(std::generic_category().message(EINVAL)));
	}

private:
	std::optional<ramm_test::EnvGuard> disable_;
};

INSTANTIATE_TEST_SUITE_P(BothPaths, PricedMappingTest, ::testing::Bool(),
			 [](const auto& info) {
				 return info.param ? "fallback" : "auto";
			 });

// Byte i of a test pattern.
std::byte pattern(std::size_t i)
{
	return static_cast<std::byte>((i * 131 + i / 4096) & 0xff);
}

void fill(PricedMapping& mapping)
{
	for (std::size_t i = 0; i < mapping.size(); i++)
		mapping.data()[i] = pattern(i);
}

// The index of the first byte that does not hold the pattern, or size().
std::size_t first_mismatch(const PricedMapping& mapping)
{
	for (std::size_t i = 0; i < mapping.size(); i++)
		if (mapping.data()[i] != pattern(i))
			return i;
	return mapping.size();
}

TEST_P(PricedMappingTest, CreateGivesUsableMemory)
{
	// Not a whole number of pages: the last page is partly used.
	const std::size_t len = MiB + 123;
	auto mapping = PricedMapping::create(len, 2000, Flags::discardable).value();

	ASSERT_NE(mapping.data(), nullptr);
	EXPECT_FALSE(mapping.empty());
	EXPECT_EQ(mapping.size(), len);
	EXPECT_EQ(mapping.bytes().size(), len);
	EXPECT_EQ(mapping.price(), 2000U);
	EXPECT_EQ(mapping.flags(), Flags::discardable);
	EXPECT_EQ(mapping.is_kernel_priced(), expect_kernel_priced());

	fill(mapping);
	EXPECT_EQ(first_mismatch(mapping), len);

	const auto line = ramm_test::maps_line(mapping.data());
	ASSERT_TRUE(line.has_value());
	EXPECT_THAT(*line, HasSubstr(" rw-p "));
}

TEST_P(PricedMappingTest, HonoursProtAndPopulate)
{
	const ramm::MapOptions options{PROT_READ, MAP_POPULATE};
	auto mapping = PricedMapping::create(4 * ramm_test::page_size(), 77,
					     Flags::preserved, options).value();

	const auto line = ramm_test::maps_line(mapping.data());
	ASSERT_TRUE(line.has_value());
	EXPECT_THAT(*line, HasSubstr(" r--p "));
	EXPECT_EQ(mapping.data()[0], std::byte{0});
}

TEST_P(PricedMappingTest, RejectsZeroLength)
{
	expect_einval(PricedMapping::create(0, 2000, Flags::discardable),
		      "len must be > 0");
}

TEST_P(PricedMappingTest, RejectsZeroPrice)
{
	expect_einval(PricedMapping::create(MiB, 0, Flags::preserved),
		      "price must be > 0");
}

TEST_P(PricedMappingTest, RejectsUnknownFlags)
{
	expect_einval(PricedMapping::create(MiB, 2000, static_cast<Flags>(2)),
		      "unknown ramm flags");
}

TEST_P(PricedMappingTest, RejectsUnknownProt)
{
	expect_einval(PricedMapping::create(MiB, 2000, Flags::preserved,
					    {PROT_READ | 0x100, 0}),
		      "unknown prot bits");
}

TEST_P(PricedMappingTest, RejectsFixedAndSharedMapFlags)
{
	for (const int bad : {MAP_FIXED, MAP_SHARED, MAP_FIXED_NOREPLACE, MAP_STACK})
		expect_einval(PricedMapping::create(MiB, 2000, Flags::preserved,
						    {PROT_READ, bad}),
			      "map_flags may hold only");
}

TEST_P(PricedMappingTest, TooLargeFailsWithEnomemNamingTheCall)
{
	// Larger than any user address space.
	const auto result = PricedMapping::create(std::size_t{1} << 60, 2000,
						  Flags::preserved);

	ASSERT_FALSE(result.has_value());
	EXPECT_EQ(result.error().errnum(), ENOMEM);
	EXPECT_THAT(result.error().what(),
		    HasSubstr(expect_kernel_priced() ? "mmap_priced(" : "mmap("));
	EXPECT_THAT(result.error().what(),
		    HasSubstr(std::generic_category().message(ENOMEM)));
	EXPECT_THAT(result.error().what(), HasSubstr("(ENOMEM)"));
}

TEST_P(PricedMappingTest, ValueThrowsTheError)
{
	try {
		(void)PricedMapping::create(0, 2000, Flags::preserved).value();
		FAIL() << "create(len=0).value() did not throw";
	} catch (const ramm::Error& error) {
		EXPECT_EQ(error.errnum(), EINVAL);
		EXPECT_THAT(error.operation(), HasSubstr("PricedMapping::create("));
	}
}

TEST_P(PricedMappingTest, SetPriceUpdatesPriceAndFlags)
{
	auto mapping = PricedMapping::create(MiB, 2000, Flags::discardable).value();

	ASSERT_TRUE(mapping.set_price(5000, Flags::preserved).has_value());
	EXPECT_EQ(mapping.price(), 5000U);
	EXPECT_EQ(mapping.flags(), Flags::preserved);

	if (mapping.is_kernel_priced()) {
		const auto range = mapping.kernel_price().value();
		EXPECT_EQ(range.price, 5000U);
		EXPECT_EQ(range.ramm_flags, 0U);
	}
}

TEST_P(PricedMappingTest, SetPriceRejectsBadInputAndKeepsThePrice)
{
	auto mapping = PricedMapping::create(MiB, 2000, Flags::discardable).value();

	const auto zero = mapping.set_price(0, Flags::preserved);
	ASSERT_FALSE(zero.has_value());
	EXPECT_EQ(zero.error().errnum(), EINVAL);
	EXPECT_THAT(zero.error().what(), HasSubstr("PricedMapping::set_price("));

	const auto bad_flags = mapping.set_price(10, static_cast<Flags>(6));
	ASSERT_FALSE(bad_flags.has_value());
	EXPECT_EQ(bad_flags.error().errnum(), EINVAL);

	EXPECT_EQ(mapping.price(), 2000U);
	EXPECT_EQ(mapping.flags(), Flags::discardable);
}

TEST_P(PricedMappingTest, KernelPriceNeedsAKernelPricedMapping)
{
	auto mapping = PricedMapping::create(MiB, 2000, Flags::discardable).value();
	const auto range = mapping.kernel_price();

	if (mapping.is_kernel_priced()) {
		ASSERT_TRUE(range.has_value()) << range.error().what();
		EXPECT_EQ(range->addr, reinterpret_cast<std::uintptr_t>(mapping.data()));
		EXPECT_EQ(range->price, 2000U);
		EXPECT_EQ(range->ramm_flags, RAMM_DISCARDABLE);
	} else {
		ASSERT_FALSE(range.has_value());
		EXPECT_EQ(range.error().errnum(), ENOSYS);
		EXPECT_THAT(range.error().what(), HasSubstr("kernel_price()"));
	}
}

TEST_P(PricedMappingTest, MoveConstructionTransfersOwnership)
{
	auto source = PricedMapping::create(MiB, 3000, Flags::discardable).value();
	fill(source);
	const std::byte* const addr = source.data();
	const bool kernel_priced = source.is_kernel_priced();

	{
		PricedMapping target(std::move(source));

		EXPECT_EQ(target.data(), addr);
		EXPECT_EQ(target.size(), MiB);
		EXPECT_EQ(target.price(), 3000U);
		EXPECT_EQ(target.flags(), Flags::discardable);
		EXPECT_EQ(target.is_kernel_priced(), kernel_priced);
		EXPECT_EQ(first_mismatch(target), MiB);

		EXPECT_TRUE(source.empty());
		EXPECT_EQ(source.data(), nullptr);
		EXPECT_EQ(source.size(), 0U);
		EXPECT_EQ(source.price(), 0U);
		EXPECT_FALSE(source.is_kernel_priced());
		EXPECT_EQ(source.set_price(10, Flags::preserved).error().errnum(), EINVAL);
		EXPECT_EQ(source.kernel_price().error().errnum(), EINVAL);
	}
	// The target owned it: its destruction unmapped it.
	EXPECT_EQ(msync_errno(addr, MiB), ENOMEM);
}

TEST_P(PricedMappingTest, MoveAssignmentUnmapsTheOldMapping)
{
	auto source = PricedMapping::create(MiB, 3000, Flags::discardable).value();
	auto target = PricedMapping::create(2 * MiB, 4000, Flags::preserved).value();
	fill(source);
	const std::byte* const source_addr = source.data();
	const std::byte* const old_target_addr = target.data();
	ASSERT_TRUE(is_mapped(old_target_addr, 2 * MiB));

	target = std::move(source);

	EXPECT_EQ(msync_errno(old_target_addr, 2 * MiB), ENOMEM);
	EXPECT_EQ(target.data(), source_addr);
	EXPECT_EQ(target.size(), MiB);
	EXPECT_EQ(target.price(), 3000U);
	EXPECT_EQ(target.flags(), Flags::discardable);
	EXPECT_EQ(first_mismatch(target), MiB);
	EXPECT_TRUE(source.empty());
	EXPECT_TRUE(is_mapped(source_addr, MiB));
}

TEST_P(PricedMappingTest, DestructorUnmaps)
{
	const std::byte* addr = nullptr;
	{
		auto mapping = PricedMapping::create(MiB, 2000, Flags::preserved).value();
		addr = mapping.data();
		ASSERT_TRUE(is_mapped(addr, MiB));
		ASSERT_TRUE(ramm_test::maps_line(addr).has_value());
	}
	EXPECT_EQ(msync_errno(addr, MiB), ENOMEM);
}

TEST_P(PricedMappingTest, ResultCanBeMovedOutOf)
{
	auto result = PricedMapping::create(MiB, 2000, Flags::preserved);
	ASSERT_TRUE(result.has_value());
	const std::byte* const addr = result->data();

	PricedMapping mapping = std::move(result).value();
	EXPECT_EQ(mapping.data(), addr);
	EXPECT_TRUE(is_mapped(addr, MiB));
}

TEST(PricedMapping, DefaultConstructedIsEmpty)
{
	const PricedMapping mapping;

	EXPECT_TRUE(mapping.empty());
	EXPECT_EQ(mapping.data(), nullptr);
	EXPECT_EQ(mapping.size(), 0U);
}

TEST(PricedMapping, FlagsHaveNames)
{
	EXPECT_EQ(ramm::to_string(Flags::preserved), "preserved");
	EXPECT_EQ(ramm::to_string(Flags::discardable), "discardable");
	EXPECT_EQ(ramm::to_string(static_cast<Flags>(4)), "invalid");
	EXPECT_EQ(static_cast<std::uint64_t>(Flags::discardable), RAMM_DISCARDABLE);
}

}  // namespace
