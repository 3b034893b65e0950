#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# For the CONFIG_RAMM=n kernel: the probe must fail with EINVAL and
# mmap_priced() with ENOSYS (prctl_test's probe_and_syscall_agree; every
# other RAMM test skips there), and libramm's fallback must shed memory
# when a real PSI trigger fires (the integration tests' Fallback.*; the
# others need the RAMM kernel).
export GTEST_FILTER='Fallback.*'
RAMM_SUITES="/ramm/kselftest/prctl_test /ramm/gtest/ramm_integration_tests" \
	exec /ramm/check.sh
