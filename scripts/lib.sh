# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the RAMM build and test scripts.  Source it; it sets -eu.
#
# Layout (everything generated lives under build/, which git ignores):
#   build/src/linux-source-6.1/   pristine Debian source, extracted once
#   build/linux/                  the patched tree the kernels are built from
#   build/kernel-<variant>/       out-of-tree kernel objects (O=)
#   build/guest/                  binaries that go into the initramfs (/ramm)
#   build/guest-arm64/            the same for the arm64 guest
#   build/logs/                   one full log per step

set -euo pipefail

RAMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RAMM_BUILD:-$RAMM_TOP/build}
LOGS=$BUILD/logs
PRISTINE=$BUILD/src/linux-source-6.1
TREE=$BUILD/linux
GUEST=$BUILD/guest
JOBS=${RAMM_JOBS:-$(nproc)}
mkdir -p "$LOGS"

# Elapsed seconds as "2m41s".
ramm_fmt_time() {
	local s=$1
	if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60));
	else printf '%ds' "$s"; fi
}

# die MESSAGE [LOG]: print why we stop and, if given, the tail of the log
# that explains it.
die() {
	echo "error: $1" >&2
	if [[ $# -ge 2 && -f $2 ]]; then
		echo "--- last 40 lines of $2 ---" >&2
		tail -n 40 "$2" >&2
		echo "--- full log: $2 ---" >&2
	fi
	exit 1
}

# run_logged LOG CMD...: run CMD with all output appended to LOG; on failure
# show the log's tail and stop.
run_logged() {
	local log=$1; shift
	if ! "$@" >>"$log" 2>&1; then
		die "'$*' failed" "$log"
	fi
}

# step "kernel build" CMD...: one line when a long step starts, its elapsed
# time when it ends ("[3/7] kernel build ... 2m41s").  RAMM_STEP/RAMM_STEPS
# number the steps of the calling script.
RAMM_STEP=0
RAMM_STEPS=${RAMM_STEPS:-0}
step() {
	local what=$1; shift
	local t0=$SECONDS
	RAMM_STEP=$((RAMM_STEP + 1))
	if ((RAMM_STEPS > 0)); then
		printf '[%d/%d] %s ... ' "$RAMM_STEP" "$RAMM_STEPS" "$what"
	else
		printf '%s ... ' "$what"
	fi
	# Steps print their own failure details; keep the line readable.
	local rc=0
	"$@" || rc=$?
	if ((rc == 0)); then
		echo "$(ramm_fmt_time $((SECONDS - t0)))"
	else
		echo "FAILED after $(ramm_fmt_time $((SECONDS - t0)))"
		return $rc
	fi
}

# Prefer ccache for the kernel and userspace when it is installed.  Its
# cache lives under $HOME; without a home (some CI set-ups) keep it in build/.
if [[ -z ${CCACHE_DIR:-} && ( -z ${HOME:-} || ! -w ${HOME:-/nonexistent} ) ]]; then
	export CCACHE_DIR=$BUILD/ccache
fi
ramm_cc() {
	local cc
	cc=$(ramm_cross)gcc
	if command -v ccache >/dev/null 2>&1; then echo "ccache $cc"; else echo "$cc"; fi
}

# RAMM_ARCH: the architecture of the kernel and the guest: x86_64 (the
# default; the build machine's) or arm64 (cross-compiled, booted under
# qemu-system-aarch64).  Everything arch-specific the scripts need:
RAMM_ARCH=${RAMM_ARCH:-x86_64}
ramm_cross() {		# the cross-compiler prefix, empty for the host
	case $RAMM_ARCH in
	x86_64)	echo "";;
	arm64)	echo aarch64-linux-gnu-;;
	*)	die "RAMM_ARCH=$RAMM_ARCH: x86_64 or arm64";;
	esac
}
ramm_kimage() {		# the boot image, relative to the O= directory
	case $RAMM_ARCH in
	x86_64)	echo arch/x86/boot/bzImage;;
	arm64)	echo arch/arm64/boot/Image;;
	*)	die "RAMM_ARCH=$RAMM_ARCH: x86_64 or arm64";;
	esac
}

# The kernel's make, for one object directory; the source is build/linux
# unless KSRC names another tree (the stock kernel's pristine source).
kmake() {
	local obj=$1; shift
	make -C "${KSRC:-$TREE}" O="$obj" ARCH="$RAMM_ARCH" \
		CROSS_COMPILE="$(ramm_cross)" CC="$(ramm_cc)" \
		KBUILD_BUILD_USER=ramm KBUILD_BUILD_HOST=ramm \
		KBUILD_BUILD_TIMESTAMP="RAMM" -j"$JOBS" "$@"
}

# config_missing CONFIG FRAGMENT...: print each line of the config
# fragments that CONFIG does not honour (kconfig dropped the option for an
# unmet dependency): "CONFIG_X=v" not in CONFIG, or "# CONFIG_X is not set"
# while CONFIG sets it.
config_missing() {
	local config=$1 line opt; shift
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$config" || echo "$line";;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			! grep -q "^$opt=" "$config" || echo "$line";;
		esac
	done < <(cat "$@")
}

# balloon_boot KERNEL NAME VARIANT TAKE [ARGS]: boot build/kernel-KERNEL
# (RAMM_MEM, default 512M) with a virtio balloon and run ramm-balloon
# --variant VARIANT in it (ARGS: its size options) while scripts/balloon.py
# takes TAKE back through QMP (make demo, make bench).  Leaves
# build/out/NAME.console and build/out/NAME.jsonl (the guest's outcome, then
# the host's, labelled VARIANT); the host's one-line summary goes to stdout.
balloon_boot() {
	local kernel=$1 name=$2 variant=$3 take=$4 args=${5:-} out=$BUILD/out
	local log=$LOGS/$name.log
	mkdir -p "$out"
	if ! RAMM_MEM=${RAMM_MEM:-512M} python3 "$RAMM_TOP/scripts/balloon.py" \
		--console "$out/$name.console" --qmp "$out/$name.qmp" --take "$take" \
		--label "$variant" --json "$out/$name-host.json" -- \
		"$RAMM_TOP/scripts/run-in-guest.sh" "$kernel" "$name" \
		"ramm-balloon --variant $variant --balloon $take $args --json /tmp/out/balloon.json" \
		>"$log" 2>&1; then
		echo "error: the balloon run $name failed; the end of $log:" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
	cat "$out/$name-host.json" >>"$out/$name.jsonl"
	grep '^balloon ' "$log" || true
}
