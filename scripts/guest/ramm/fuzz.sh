#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make fuzz: only the syscall fuzzer, for ramm_fuzz_calls= calls (from the
# kernel command line; scripts/fuzz.sh sets it), with a timeout to match.
calls=$(sed -n 's/.*ramm_fuzz_calls=\([0-9]*\).*/\1/p' /proc/cmdline)
export RAMM_FUZZ_CALLS=${calls:-1000000}
export RAMM_TEST_TIMEOUT=7200
RAMM_SUITES=/ramm/kselftest/fuzz_test exec /ramm/check.sh
