#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make check's arm64 guest: qemu-system-aarch64 under TCG with KASAN and
# lockdep runs the selftests several times slower than the x86_64 guest,
# so it runs the API, VMA and participant tests and the market's pressure
# scenarios (market_test), each suite with twice the x86 timeout.
# stress_test (60 s of churn) and fuzz_test (50,000 calls: over 3 minutes
# here) exercise the same arch-independent code and run on x86_64 only.
export RAMM_TEST_TIMEOUT=1200
RAMM_SUITES="/ramm/kselftest/mmap_priced_test /ramm/kselftest/prctl_test
	/ramm/kselftest/vma_test /ramm/kselftest/participant_test
	/ramm/kselftest/market_test" exec /ramm/check.sh
