#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ramm_run=numa: the per-node market (numa_test), in a guest booted with
# numa=fake=2 so that it has two memory nodes.  The main boot has one, and
# its run leaves numa_test out (check.sh).
RAMM_SUITES="/ramm/kselftest/numa_test" exec /ramm/check.sh
