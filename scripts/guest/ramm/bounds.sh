#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ramm_run=bounds: only the abuse-bound and fault suites (limits_test,
# fault_test), for a quick run of them while working on either.
RAMM_SUITES="/ramm/kselftest/limits_test /ramm/kselftest/fault_test" \
	exec /ramm/check.sh
