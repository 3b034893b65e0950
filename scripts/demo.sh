#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build and boot the RAMM kernel and run the demo programs in the
# guest (/ramm/demo/*), then print what they printed.  The whole console,
# kernel messages included, is in build/console.log.
. "$(dirname "$0")/lib.sh"

RAMM_STEPS=5
S=$RAMM_TOP/scripts
step "dependencies (Debian packages)" "$S/deps.sh"
step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "kernel build (x86_64, RAMM + DEBUG_VM, lockdep, KASAN)" "$S/kernel.sh" debug
step "initramfs: demo programs, BusyBox" "$S/initramfs.sh"
rc=0
step "boot in QEMU and run the demo" "$S/qemu.sh" demo || rc=$?

console=${RAMM_CONSOLE:-$BUILD/console.log}
echo
echo "---- what the guest printed (kernel messages left out; all of it is in $console) ----"
# Userspace lines only: kernel lines carry a "[    1.234567]" timestamp.
sed -n '/^RAMM-BOOT:/,/^RAMM-DONE:/p' "$console" | grep -Ev '\[ *[0-9]+\.[0-9]{6}\] '
if ! "$S/scan-console.sh" "$console" >/dev/null; then
	echo
	"$S/scan-console.sh" "$console" || true
	rc=1
fi
exit $rc
