// SPDX-License-Identifier: GPL-2.0
//
// ramm::Error and ramm::Result: the error style every call uses.

#include <ramm/ramm.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace {

using ::testing::HasSubstr;

std::string errno_text(int errnum)
{
	return std::generic_category().message(errnum);
}

TEST(Error, NamesOperationErrnoTextAndSymbol)
{
	const ramm::Error error(EINVAL, "mmap_priced(len=0)");

	EXPECT_EQ(error.errnum(), EINVAL);
	EXPECT_EQ(error.code(), std::errc::invalid_argument);
	EXPECT_EQ(error.operation(), "mmap_priced(len=0)");
	EXPECT_EQ(std::string(error.what()),
		  "mmap_priced(len=0) failed: " + errno_text(EINVAL) + " (EINVAL)");
}

TEST(Error, DetailGoesBetweenOperationAndErrno)
{
	const ramm::Error error(ENOMEM, "PricedMapping::create()", "no room");

	EXPECT_EQ(std::string(error.what()),
		  "PricedMapping::create() failed: no room: " + errno_text(ENOMEM) +
			  " (ENOMEM)");
}

TEST(Error, UnknownErrnoIsPrintedAsNumber)
{
	const ramm::Error error(4000, "op");

	EXPECT_THAT(error.what(), HasSubstr("errno 4000"));
	EXPECT_THAT(error.what(), HasSubstr(errno_text(4000)));
}

TEST(Result, HoldsValue)
{
	ramm::Result<int> result(42);

	ASSERT_TRUE(result.has_value());
	EXPECT_TRUE(static_cast<bool>(result));
	EXPECT_EQ(result.value(), 42);
	EXPECT_EQ(*result, 42);
}

TEST(Result, HoldsErrorAndValueThrowsIt)
{
	const ramm::Result<int> result(ramm::Error(EBADF, "read()"));

	ASSERT_FALSE(result.has_value());
	EXPECT_EQ(result.error().errnum(), EBADF);
	try {
		(void)result.value();
		FAIL() << "value() of an error did not throw";
	} catch (const ramm::Error& thrown) {
		EXPECT_EQ(thrown.errnum(), EBADF);
		EXPECT_EQ(thrown.operation(), "read()");
	}
}

TEST(Result, VoidSuccessAndError)
{
	const ramm::Result<void> ok;
	const ramm::Result<void> failed(ramm::Error(EPERM, "prctl()"));

	EXPECT_TRUE(ok.has_value());
	EXPECT_NO_THROW(ok.value());
	EXPECT_FALSE(failed.has_value());
	EXPECT_EQ(failed.error().errnum(), EPERM);
	EXPECT_THROW(failed.value(), ramm::Error);
}

}  // namespace
