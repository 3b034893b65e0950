// SPDX-License-Identifier: GPL-2.0
//
// The RAMM probe and the raw wrappers, on whatever kernel runs the tests.

#include <ramm/ramm.hpp>

#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/prctl.h>

#include <cerrno>
#include <filesystem>

namespace {

using ::testing::HasSubstr;
using ramm_test::EnvGuard;

bool ramm_sysfs_exists()
{
	return std::filesystem::exists("/sys/kernel/mm/ramm");
}

// A mapping request the kernel would accept: only the library's refusal can
// make the raw wrapper fail.
ramm_mmap_args valid_args()
{
	ramm_mmap_args args{};

	args.len = ramm_test::page_size();
	args.prot = PROT_READ | PROT_WRITE;
	args.flags = MAP_PRIVATE | MAP_ANONYMOUS;
	args.price = 2000;
	args.ramm_flags = RAMM_DISCARDABLE;
	return args;
}

TEST(KernelSupport, AgreesWithThePrctlProbe)
{
	const EnvGuard no_disable("RAMM_DISABLE", nullptr);

	errno = 0;
	const int ret = ::prctl(PR_RAMM, PR_RAMM_PROBE, 0UL, 0UL, 0UL);
	const int probe_errno = errno;
	const ramm::KernelSupport support = ramm::kernel_support();

	EXPECT_FALSE(support.disabled_by_env);
	if (ret > 0) {
		EXPECT_TRUE(support.present);
		EXPECT_EQ(support.probe_errno, 0);
		EXPECT_EQ(support.version, static_cast<std::uint64_t>(ret));
	} else {
		// Any kernel without RAMM rejects the unknown prctl option.
		EXPECT_EQ(ret, -1);
		EXPECT_EQ(probe_errno, EINVAL);
		EXPECT_FALSE(support.present);
		EXPECT_EQ(support.probe_errno, probe_errno);
		EXPECT_EQ(support.version, 0U);
		EXPECT_EQ(support.ramm_flags, 0U);
		EXPECT_EQ(support.commands, 0U);
	}
}

TEST(KernelSupport, AbsentWithoutRammSysfs)
{
	if (ramm_sysfs_exists())
		GTEST_SKIP() << "/sys/kernel/mm/ramm exists: this kernel may have RAMM";

	const EnvGuard no_disable("RAMM_DISABLE", nullptr);
	const ramm::KernelSupport support = ramm::kernel_support();

	EXPECT_FALSE(support.present);
	EXPECT_EQ(support.probe_errno, EINVAL);
}

TEST(KernelSupport, RammDisableForcesAbsent)
{
	const bool kernel_answered = ramm::kernel_support().probe_errno == 0;

	for (const char* value : {"1", "yes"}) {
		const EnvGuard disable("RAMM_DISABLE", value);
		const ramm::KernelSupport support = ramm::kernel_support();

		EXPECT_TRUE(support.disabled_by_env) << "RAMM_DISABLE=" << value;
		EXPECT_FALSE(support.present) << "RAMM_DISABLE=" << value;
	}
	for (const char* value : {"0", "", static_cast<const char*>(nullptr)}) {
		const EnvGuard disable("RAMM_DISABLE", value);
		const ramm::KernelSupport support = ramm::kernel_support();

		EXPECT_FALSE(support.disabled_by_env)
			<< "RAMM_DISABLE=" << (value ? value : "(unset)");
		EXPECT_EQ(support.present, kernel_answered)
			<< "RAMM_DISABLE=" << (value ? value : "(unset)");
	}
}

TEST(KernelSupport, HasCommandReadsTheBitmask)
{
	ramm::KernelSupport support;
	support.commands = (1U << PR_RAMM_PROBE) | (1U << PR_RAMM_GET_STATS);

	EXPECT_TRUE(support.has_command(PR_RAMM_PROBE));
	EXPECT_TRUE(support.has_command(PR_RAMM_GET_STATS));
	EXPECT_FALSE(support.has_command(PR_RAMM_SET_PRICE));
	EXPECT_FALSE(support.has_command(0));
	EXPECT_FALSE(support.has_command(64));
}

// If a wrapper entered the kernel on a non-RAMM host, 451 (cachestat on
// Linux >= 6.5) would answer EBADF, not ENOSYS.
TEST(RawWrappers, RefuseWithoutEnteringTheKernelWhenDisabled)
{
	const EnvGuard disable("RAMM_DISABLE", "1");
	int local = 0;

	const auto mapped = ramm::mmap_priced(valid_args());
	ASSERT_FALSE(mapped.has_value());
	EXPECT_EQ(mapped.error().errnum(), ENOSYS);
	EXPECT_THAT(mapped.error().what(), HasSubstr("mmap_priced("));
	EXPECT_THAT(mapped.error().what(), HasSubstr("RAMM_DISABLE"));

	const ramm_range range{reinterpret_cast<std::uintptr_t>(&local), 1, 5, 0};
	const auto set = ramm::set_price(range);
	ASSERT_FALSE(set.has_value());
	EXPECT_EQ(set.error().errnum(), ENOSYS);
	EXPECT_THAT(set.error().what(), HasSubstr("PR_RAMM_SET_PRICE"));

	const auto got = ramm::get_price(&local);
	ASSERT_FALSE(got.has_value());
	EXPECT_EQ(got.error().errnum(), ENOSYS);
	EXPECT_THAT(got.error().what(), HasSubstr("PR_RAMM_GET_PRICE"));

	const auto stats = ramm::get_stats();
	ASSERT_FALSE(stats.has_value());
	EXPECT_EQ(stats.error().errnum(), ENOSYS);
	EXPECT_THAT(stats.error().what(), HasSubstr("PR_RAMM_GET_STATS"));
}

TEST(RawWrappers, SayTheKernelHasNoRamm)
{
	const EnvGuard no_disable("RAMM_DISABLE", nullptr);
	if (ramm::kernel_support().present)
		GTEST_SKIP() << "this kernel has RAMM";

	const auto mapped = ramm::mmap_priced(valid_args());
	ASSERT_FALSE(mapped.has_value());
	EXPECT_EQ(mapped.error().errnum(), ENOSYS);
	EXPECT_THAT(mapped.error().what(), HasSubstr("this kernel has no RAMM"));
	EXPECT_THAT(mapped.error().what(),
		    HasSubstr(std::generic_category().message(
			    ramm::kernel_support().probe_errno)));
}

}  // namespace
