#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make fuzz: the long run of the RAMM syscall fuzzer (selftests/ramm/
# fuzz_test.c), RAMM_FUZZ_CALLS calls (default 1,000,000; make check runs
# 50,000) on the debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak), under
# memory pressure.  Fails if a call fails with an errno its contract does
# not document, if a documented errno was never produced, if kmemleak finds
# a leak allocated by RAMM, or if the console has any kernel report.  About
# 25 minutes for 1,000,000 calls under TCG.
. "$(dirname "$0")/lib.sh"

RAMM_STEPS=5
S=$RAMM_TOP/scripts
calls=${RAMM_FUZZ_CALLS:-1000000}
[[ $calls =~ ^[0-9]+$ ]] && ((calls > 0)) ||
	die "RAMM_FUZZ_CALLS must be a positive number, not '$calls'"
console=$BUILD/console-fuzz.log

step "dependencies (Debian packages)" "$S/deps.sh"
step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "kernel build (x86_64, RAMM + DEBUG_VM, lockdep, KASAN, kmemleak)" \
	"$S/kernel.sh" debug
step "initramfs: selftests, BusyBox" "$S/initramfs.sh"

fuzz() {
	local rc=0
	# 1,000,000 calls take about 25 minutes; allow four times as long.
	RAMM_APPEND="ramm_fuzz_calls=$calls" RAMM_CONSOLE=$console \
		RAMM_TIMEOUT=$((600 + calls / 250)) "$S/qemu.sh" fuzz || rc=$?
	grep -a 'fuzz_test.c:.*calls:' "$console" | sed 's/^# *//' || true
	((rc == 0)) || { echo "error: the guest did not finish (qemu.sh exit $rc)" >&2; return 1; }
	grep -aqx 'RAMM-RESULT: PASS fuzz_test:fuzz.calls' "$console" ||
		{ echo "error: fuzz.calls did not pass; see $console" >&2; return 1; }
	"$S/scan-console.sh" --debug-kernel "$console"
}
step "boot the debug kernel and make $calls calls" fuzz
echo "make fuzz: $calls calls, every documented errno produced, none other; console clean"
