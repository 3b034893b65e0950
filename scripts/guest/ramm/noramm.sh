#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# For the CONFIG_RAMM=n kernel: the probe must fail with EINVAL and
# mmap_priced() with ENOSYS (prctl_test's probe_and_syscall_agree; every
# other RAMM test skips there).
RAMM_SUITES=/ramm/kselftest/prctl_test exec /ramm/check.sh
