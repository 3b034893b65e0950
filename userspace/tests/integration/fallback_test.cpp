// SPDX-License-Identifier: GPL-2.0
//
// libramm's fallback against real memory pressure: without RAMM (the
// CONFIG_RAMM=n guest runs this alone; on the RAMM kernel RAMM_DISABLE=1
// makes libramm behave as there), a PSI trigger fires while a hog makes
// memory short, and the Dispatcher sheds this process's cheapest priced
// memory first.  The host tests arm a real trigger but cannot make the
// host short of memory.

#include <ramm/ramm.hpp>

#include "pressure.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace pressure;
using ramm::Flags;
using ramm_test::EnvGuard;

TEST(Fallback, RealPsiPressureShedsTheCheapestMemoryFirst)
{
	EnvGuard no_ramm("RAMM_DISABLE", "1");
	ASSERT_EQ(::access("/proc/pressure/memory", R_OK | W_OK), 0)
		<< "the guest kernels have CONFIG_PSI=y: /proc/pressure/memory: "
		<< std::strerror(errno);
	set_oom_score_adj(-1000);  // the hog is the one to die

	// 50 ms of stall in a second: reclaim pushing the hog's pages into
	// zram swap stalls far longer under TCG.  Its pages compress to
	// almost nothing, so zram always has room for them: incompressible
	// ones made the debug guest thrash for minutes once zram itself could
	// not get memory.  Shed a quarter of the priced memory
	// per event, so that one event is all it takes.
	ramm::Options o;
	o.psi_trigger = "some 50000 1000000";
	o.shed_permille = 250;
	auto dispatcher = ramm::Dispatcher::start(o).value();
	ASSERT_EQ(dispatcher->mode(), ramm::DispatchMode::psi);

	auto cheap = ramm::PricedMapping::create(16 * MiB, 10, Flags::discardable,
						 {PROT_READ | PROT_WRITE, MAP_POPULATE}).value();
	auto dear = ramm::PricedMapping::create(16 * MiB, 5000, Flags::preserved,
						{PROT_READ | PROT_WRITE, MAP_POPULATE}).value();
	ASSERT_FALSE(cheap.is_kernel_priced());
	std::memset(cheap.data(), 0x11, cheap.size());
	std::memset(dear.data(), 0x22, dear.size());

	std::mutex mutex;
	std::vector<ramm::Request> asks;
	const auto listener_for = [&](const ramm::PricedMapping& m) {
		return ramm::MappingListener(
			m,
			[&](const ramm::Request& r) {
				const std::size_t n = std::min(r.amount, r.len);
				EXPECT_EQ(::madvise(reinterpret_cast<void*>(r.start), n,
						    MADV_DONTNEED), 0);
				const std::lock_guard lock(mutex);
				asks.push_back(r);
				return n;
			},
			[](const ramm::Request&) { ADD_FAILURE() << "the fallback purges nothing"; });
	};
	auto cheap_listener = listener_for(cheap);
	auto dear_listener = listener_for(dear);
	auto cheap_sub = dispatcher->subscribe(cheap_listener);
	auto dear_sub = dispatcher->subscribe(dear_listener);

	{
		Hog hog(mem_available() + 64 * MiB, 0, Fill::compressible);
		ASSERT_TRUE(wait_for([&] {
			const std::lock_guard lock(mutex);
			return !asks.empty();
		}, 60s)) << "no PSI event reached the listeners in 60 s; PSI events "
			 << dispatcher->stats().psi_events << ", trigger \""
			 << dispatcher->psi_trigger() << "\"";
	}

	const std::lock_guard lock(mutex);
	const auto begin = reinterpret_cast<std::uintptr_t>(cheap.data());
	const ramm::Request& first = asks.front();
	// Cheapest first: the first ask is for the price-10 range.
	EXPECT_EQ(first.reason, ramm::Request::Reason::ask);
	EXPECT_EQ(first.price, 10U);
	EXPECT_GE(first.start, begin);
	EXPECT_LE(first.start + first.len, begin + cheap.size());
	EXPECT_GT(first.amount, 0U);
	EXPECT_EQ(first.seq, 0U) << "the fallback's asks carry no kernel sequence number";
	EXPECT_GT(dispatcher->stats().psi_events, 0U);
	// Each event sheds a quarter of the 32 MiB priced, which the 16 MiB
	// cheap range covers, and its owner gives all it is asked: the dear
	// range is never asked.
	for (const auto& r : asks)
		EXPECT_EQ(r.price, 10U) << "the price-5000 range was asked for " << r.amount;
}

}  // namespace
