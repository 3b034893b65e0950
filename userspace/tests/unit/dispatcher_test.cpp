// SPDX-License-Identifier: GPL-2.0
//
// The Dispatcher on a kernel without RAMM (the host's): the PSI fallback's
// trigger, and shedding cheapest-first within the process.  The kernel path
// is tested in the guest (tests/integration).

#include "test_support.hpp"

#include <ramm/ramm.hpp>

#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>

namespace {

using ramm::Dispatcher;
using ramm::Flags;
using ramm::Request;

class DispatcherTest : public ::testing::Test {
protected:
	// The fallback on any kernel, even a RAMM one.
	ramm_test::EnvGuard no_ramm{"RAMM_DISABLE", "1"};
};

TEST_F(DispatcherTest, FallsBackToAPsiTriggerWithoutRamm)
{
	auto d = Dispatcher::start().value();

	if (ramm_test::slurp("/proc/pressure/memory").empty()) {
		EXPECT_EQ(d->mode(), ramm::DispatchMode::none);
		return;
	}
	ASSERT_EQ(d->mode(), ramm::DispatchMode::psi);
	// The configured trigger, or the same with its window in whole 2 s
	// (the rule for processes without CAP_SYS_RESOURCE since Linux 6.5).
	const auto& t = d->psi_trigger();
	EXPECT_TRUE(t == "some 150000 1000000" || t == "some 150000 2000000") << t;
}

TEST_F(DispatcherTest, WithoutPsiOnlyShedReleases)
{
	ramm::Options o;
	o.psi_file = "/nonexistent/pressure";
	auto d = Dispatcher::start(o).value();
	EXPECT_EQ(d->mode(), ramm::DispatchMode::none);
	EXPECT_TRUE(d->psi_trigger().empty());
}

TEST_F(DispatcherTest, AMalformedTriggerIsNotFatal)
{
	ramm::Options o;
	o.psi_trigger = "sometimes 1 2";
	auto d = Dispatcher::start(o).value();
	EXPECT_EQ(d->mode(), ramm::DispatchMode::none);
}

TEST_F(DispatcherTest, OnePerProcess)
{
	auto first = Dispatcher::start().value();
	auto second = Dispatcher::start();
	ASSERT_FALSE(second);
	EXPECT_EQ(second.error().errnum(), EBUSY);
	first.reset();
	EXPECT_TRUE(Dispatcher::start());
}

// A listener that records what it was asked and gives back what it can.
struct Recorder final : ramm::Listener {
	Recorder(std::uint64_t price, std::size_t len) : price(price), len(len) {}
	std::vector<ramm_range> ranges() const override
	{
		return {{start, len, price, RAMM_DISCARDABLE}};
	}
	std::size_t on_ask(const Request& r) override
	{
		asks.push_back(r);
		return std::min(r.amount, len);
	}
	void on_purge(const Request& r) override { purges.push_back(r); }

	std::uint64_t start = 0;
	std::uint64_t price;
	std::size_t len;
	std::vector<Request> asks;
	std::vector<Request> purges;
};

TEST_F(DispatcherTest, ShedAsksTheCheapestRangesFirst)
{
	auto d = Dispatcher::start().value();
	Recorder dear(5000, 1 << 20), cheap(100, 1 << 20), middle(1000, 1 << 20);
	dear.start = 0x10000000;
	cheap.start = 0x20000000;
	middle.start = 0x30000000;
	auto s1 = d->subscribe(dear);
	auto s2 = d->subscribe(cheap);
	auto s3 = d->subscribe(middle);

	EXPECT_EQ(d->shed(std::size_t{3} << 19), std::size_t{3} << 19);  // 1.5 MiB
	ASSERT_EQ(cheap.asks.size(), 1U);
	EXPECT_EQ(cheap.asks[0].start, cheap.start);
	EXPECT_EQ(cheap.asks[0].len, cheap.len);
	EXPECT_EQ(cheap.asks[0].amount, std::size_t{1} << 20);
	EXPECT_EQ(cheap.asks[0].reason, Request::Reason::ask);
	ASSERT_EQ(middle.asks.size(), 1U);
	EXPECT_EQ(middle.asks[0].amount, std::size_t{1} << 19);
	EXPECT_TRUE(dear.asks.empty());

	const auto s = d->stats();
	EXPECT_EQ(s.asks, 2U);
	EXPECT_EQ(s.sheds, 1U);
	EXPECT_EQ(s.bytes_asked, std::size_t{3} << 19);
	EXPECT_EQ(s.bytes_released, std::size_t{3} << 19);
}

TEST_F(DispatcherTest, AnUnsubscribedListenerIsNeverCalled)
{
	auto d = Dispatcher::start().value();
	Recorder gone(100, 4096), stays(200, 4096);
	gone.start = 0x1000;
	stays.start = 0x100000;
	{
		auto sub = d->subscribe(gone);
	}
	auto keep = d->subscribe(stays);
	d->shed(8192);
	EXPECT_TRUE(gone.asks.empty());
	EXPECT_EQ(stays.asks.size(), 1U);
}

TEST_F(DispatcherTest, ShedReleasesAnArenasFreeMemory)
{
	auto d = Dispatcher::start().value();
	ramm::Arena arena;
	ramm::ArenaListener listener(arena);
	auto sub = d->subscribe(listener);
	auto& cls = arena.price_class(100, Flags::discardable).value().get();
	std::vector<void*> v;
	for (int i = 0; i < 1024; i++) {
		v.push_back(cls.allocate(1024));
		std::memset(v.back(), 1, 1024);
	}
	for (void* p : v)
		cls.deallocate(p);
	ASSERT_EQ(arena.stats().free_committed, std::size_t{1} << 20);
	EXPECT_EQ(d->shed(std::size_t{1} << 20), std::size_t{1} << 20);
	EXPECT_EQ(arena.stats().free_committed, 0U);
}

TEST(Options, FromTheEnvironment)
{
	ramm_test::EnvGuard a("RAMM_SHED_MIN", "64K");
	ramm_test::EnvGuard b("RAMM_SHED_PERMILLE", "250");
	ramm_test::EnvGuard c("RAMM_PSI_TRIGGER", "full 100000 1000000");
	ramm_test::EnvGuard e("RAMM_VERBOSE", "0");
	auto o = ramm::Options::from_env().value();
	EXPECT_EQ(o.shed_min_bytes, 65536U);
	EXPECT_EQ(o.shed_permille, 250U);
	EXPECT_EQ(o.psi_trigger, "full 100000 1000000");
	EXPECT_FALSE(o.verbose);
	{
		ramm_test::EnvGuard bad("RAMM_SHED_PERMILLE", "1001");
		auto r = ramm::Options::from_env();
		ASSERT_FALSE(r);
		EXPECT_NE(std::string(r.error().what()).find("RAMM_SHED_PERMILLE=1001"),
			  std::string::npos);
	}
	{
		ramm_test::EnvGuard bad("RAMM_SHED_MIN", "4X");
		EXPECT_EQ(ramm::Options::from_env().error().errnum(), EINVAL);
	}
}

TEST(Options, ParseSize)
{
	EXPECT_EQ(ramm::parse_size("4096").value(), 4096U);
	EXPECT_EQ(ramm::parse_size("4k").value(), 4096U);
	EXPECT_EQ(ramm::parse_size("3M").value(), std::size_t{3} << 20);
	EXPECT_EQ(ramm::parse_size("2G").value(), std::size_t{2} << 30);
	EXPECT_EQ(ramm::parse_size("").error().errnum(), EINVAL);
	EXPECT_EQ(ramm::parse_size("M").error().errnum(), EINVAL);
	EXPECT_EQ(ramm::parse_size("-1").error().errnum(), EINVAL);
	EXPECT_EQ(ramm::parse_size("99999999999999999999").error().errnum(), ERANGE);
	EXPECT_EQ(ramm::parse_size("17179869184G").error().errnum(), ERANGE);
}

}  // namespace
