#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run-in-guest.sh KERNEL NAME CMD [CMD...]: boot build/kernel-KERNEL (release,
# stock, debug, noramm) with the initramfs, run each CMD in the guest (a
# program of /ramm/bin and its arguments, as one word each: "ramm-scenario
# --variant ramm"), and leave behind
#   build/out/NAME.console   the whole serial console
#   build/out/NAME.jsonl     the JSON results the commands wrote, one a line
# It fails when the guest did not finish, a command exited non-zero, or the
# kernel log holds a report (BUG:, WARNING:, Oops, ...).
#
# Environment: RAMM_MEM (guest RAM, default 256M), RAMM_ICOUNT=1 (guest time
# follows executed instructions: -icount shift=0,sleep=off, one CPU;
# repeatable microbenchmarks, TCG only), RAMM_TIMEOUT (seconds).
. "$(dirname "$0")/lib.sh"

kernel=${1:?usage: run-in-guest.sh KERNEL NAME CMD...}
name=${2:?usage: run-in-guest.sh KERNEL NAME CMD...}
shift 2
(($# > 0)) || die "run-in-guest.sh: no command to run"
image=$BUILD/kernel-$kernel/arch/x86/boot/bzImage
[[ -f $image ]] || die "$image missing: run scripts/kernel.sh $kernel"

cmds=
for c in "$@"; do
	[[ $c != *[,+]* ]] || die "run-in-guest.sh: '$c': commands cannot hold ',' or '+'"
	cmds+=${cmds:+,}${c// /+}
done

out=$BUILD/out
mkdir -p "$out"
console=$out/$name.console
export RAMM_KERNEL_IMAGE=$image RAMM_CONSOLE=$console
export RAMM_MEM=${RAMM_MEM:-256M}
export RAMM_APPEND="ramm_cmds=$cmds"
if [[ ${RAMM_ICOUNT:-0} == 1 ]]; then
	# One CPU: a 6.1 guest with two hangs at boot under -icount.
	export RAMM_KVM=0 RAMM_SMP=1 RAMM_QEMU_ARGS="-icount shift=0,sleep=off"
fi
"$RAMM_TOP/scripts/qemu.sh" run

sed -n 's/^RAMM-JSON: //p' "$console" >"$out/$name.jsonl"
status=0
if grep -q '^RAMM-CMD-EXIT: [1-9]' "$console"; then
	echo "error: a command failed in the guest (see $console):" >&2
	grep -B1 '^RAMM-CMD-EXIT: [1-9]' "$console" | grep '^RAMM-CMD:' | sed 's/^/    /' >&2
	status=1
fi
if ! "$RAMM_TOP/scripts/scan-console.sh" "$console" >&2; then
	status=1
fi
exit $status
