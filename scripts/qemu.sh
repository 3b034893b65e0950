#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# qemu.sh MODE: boot build/bzImage with build/initramfs.cpio.gz and run
# /ramm/MODE.sh in the guest (MODE "shell": an interactive BusyBox shell).  The serial console goes to build/console.log
# (RAMM_CONSOLE), without the serial line's carriage returns; with
# RAMM_LIVE=1 it is also shown as it happens.
#
# TCG by default: nested KVM hangs on the machines this was written on.  KVM
# is used only when RAMM_KVM=1, or RAMM_KVM=auto and a short probe boot
# under KVM finished (the verdict is cached per host boot).
#
# RAMM_QEMU_ARGS adds QEMU options (run-in-guest.sh's -icount).
#
# RAMM_QMP=PATH adds a virtio balloon (virtio-balloon-pci) and a QMP
# socket at PATH, for a host script to take memory back from the running
# guest (scripts/balloon.py).  Opt-in: every other boot keeps the machine
# it had.  The human monitor stays off (-monitor none); QMP is the
# machine-readable one.
#
# RAMM_ARCH=arm64: qemu-system-aarch64 -M virt -cpu cortex-a57 boots
# build/Image-arm64 with build/initramfs-arm64.cpio.gz, console on ttyAMA0
# into build/console-arm64.log; always TCG (the build machine is x86_64).
#
# Exit status: 0 when the guest reached "RAMM-DONE"; 2 on a timeout
# (RAMM_TIMEOUT seconds); 3 when QEMU ended without it (panic, crash).  Both
# failures print the last 50 console lines.
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: qemu.sh MODE}
mem=${RAMM_MEM:-512M}
smp=${RAMM_SMP:-2}
tmo=${RAMM_TIMEOUT:-900}
case $RAMM_ARCH in
x86_64)
	kernel=${RAMM_KERNEL_IMAGE:-$BUILD/bzImage}
	initrd=${RAMM_INITRAMFS:-$BUILD/initramfs.cpio.gz}
	console=${RAMM_CONSOLE:-$BUILD/console.log}
	qemu=(qemu-system-x86_64)
	# tsc=reliable: TCG's virtual CPUs fail the kernel's TSC
	# synchronization check, and the fallback clocksource (jiffies)
	# would make every time the guest measures a multiple of 4 ms
	# (tsc_early_khz, below, is the other half).
	append="console=ttyS0 tsc=reliable";;
arm64)
	kernel=${RAMM_KERNEL_IMAGE:-$BUILD/Image-arm64}
	initrd=${RAMM_INITRAMFS:-$BUILD/initramfs-arm64.cpio.gz}
	console=${RAMM_CONSOLE:-$BUILD/console-arm64.log}
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57)
	append="console=ttyAMA0";;
*)	die "RAMM_ARCH=$RAMM_ARCH: x86_64 or arm64";;
esac
append="$append panic=-1 ramm_run=$mode ${RAMM_APPEND:-}"
[[ -f $kernel ]] || die "$kernel missing: run make kernel (arm64: scripts/kernel.sh arm64)"
[[ -f $initrd ]] || die "$initrd missing: run make initramfs (arm64: RAMM_ARCH=arm64 scripts/initramfs.sh)"

# Not part of qemu_cmd: the KVM probe boot below must not take the socket.
balloon=()
if [[ -n ${RAMM_QMP:-} ]]; then
	[[ -d $(dirname "$RAMM_QMP") ]] ||
		die "RAMM_QMP=$RAMM_QMP: the directory for the QMP socket does not exist"
	# A socket left by an earlier run would make QEMU fail to bind.
	rm -f "$RAMM_QMP"
	balloon=(-qmp "unix:$RAMM_QMP,server=on,wait=off" -device virtio-balloon-pci)
fi

qemu_cmd() {	# qemu_cmd ACCEL-ARGS...
	echo "${qemu[@]}" "$@" -m "$mem" -smp "cpus=$smp,sockets=$smp" -display none \
		-monitor none -serial stdio -no-reboot -kernel "$kernel" \
		-initrd "$initrd" ${RAMM_QEMU_ARGS:-}
}

kvm_works() {
	[[ $RAMM_ARCH == x86_64 ]] || return 1
	case ${RAMM_KVM:-auto} in
	0|no) return 1;;
	1|yes) return 0;;
	esac
	[[ -r /dev/kvm && -w /dev/kvm ]] || return 1
	local cache=$BUILD/kvm-probe.$(cat /proc/sys/kernel/random/boot_id)
	if [[ ! -f $cache ]]; then
		rm -f "$BUILD"/kvm-probe.*
		if timeout -k 2 20 $(qemu_cmd -enable-kvm -cpu host) \
			-append "console=ttyS0 panic=-1 ramm_run=kvm-probe" \
			</dev/null 2>&1 | grep -q 'RAMM-DONE'; then
			echo yes >"$cache"
		else
			echo no >"$cache"
		fi
	fi
	[[ $(cat "$cache") == yes ]]
}

# TCG runs single-threaded: with one host thread per vCPU (MTTCG), a vCPU
# can go on executing a translation of kernel text another vCPU has just
# patched.  Enabling a static key (RAMM's ramm_in_use, on the first price)
# then traps on a stale int3 after text_poke_bp() is done ("int3: 0000
# [#1]" in copy_process), or runs the old NOP for a while.  arm64 patches
# its static keys differently (one instruction, no int3 dance); it runs
# single-threaded too, untested with MTTCG, and one host core stays free
# for the builds beside it.
if kvm_works; then accel=(-enable-kvm -cpu host); else accel=(-accel tcg,thread=single); fi

# Under TCG the guest's TSC is the host's: give the guest its rate, which it
# has no timer to calibrate against (scripts/tsc-khz.c says why).  Not under
# -icount, where the TSC counts instructions and calibration is exact.  The
# rate is measured once per host boot (0.6 s), as the KVM probe is cached.
host_tsc_khz() {
	local tool=$BUILD/tools/tsc-khz src=$RAMM_TOP/scripts/tsc-khz.c
	local cache=$BUILD/tsc-khz.$(cat /proc/sys/kernel/random/boot_id)
	if [[ ! -x $tool || $src -nt $tool ]]; then
		mkdir -p "$BUILD/tools"
		cc -O2 -o "$tool" "$src" || die "cannot build $tool"
		rm -f "$BUILD"/tsc-khz.*
	fi
	if [[ ! -s $cache ]]; then
		rm -f "$BUILD"/tsc-khz.*
		"$tool" >"$cache.tmp" || die "cannot measure the host's TSC rate"
		mv "$cache.tmp" "$cache"
	fi
	cat "$cache"
}
if [[ $RAMM_ARCH == x86_64 && $(uname -m) == x86_64 && ${accel[0]} != -enable-kvm &&
      ${RAMM_QEMU_ARGS:-} != *-icount* ]]; then
	khz=$(host_tsc_khz) || exit 1
	append="$append tsc_early_khz=$khz"
fi

# A person at the console: no timeout, the terminal is the serial line
# (Ctrl-A X quits QEMU).
if [[ $mode == shell ]]; then
	exec $(qemu_cmd "${accel[@]}" | sed 's/-monitor none -serial stdio/-serial mon:stdio/') \
		"${balloon[@]}" -append "$append"
fi
sfx=
[[ $RAMM_ARCH == x86_64 ]] || sfx=-$RAMM_ARCH
echo "$(qemu_cmd "${accel[@]}") ${balloon[*]} -append \"$append\"" >"$LOGS/qemu$sfx-$mode.cmd"

set +e
timeout -k 10 "$tmo" $(qemu_cmd "${accel[@]}") "${balloon[@]}" -append "$append" \
	</dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$console" |
	if [[ ${RAMM_LIVE:-0} == 1 ]]; then cat; else cat >/dev/null; fi
rc=${PIPESTATUS[0]}
set -e

tail50() {
	echo "--- last 50 lines of $console ---" >&2
	tail -n 50 "$console" >&2
}
if ((rc == 124 || rc == 137)); then
	echo "error: guest timed out after ${tmo}s (RAMM_TIMEOUT)" >&2
	tail50
	exit 2
fi
if ! grep -q '^RAMM-DONE:' "$console"; then
	echo "error: the guest stopped before finishing (QEMU exit $rc): kernel panic or crash?" >&2
	tail50
	exit 3
fi
exit 0
