#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernel.sh VARIANT: configure and build build/linux into build/kernel-VARIANT
# (out of tree), from tinyconfig plus the variant's config fragments:
#   debug   RAMM with DEBUG_VM, lockdep and KASAN: the kernel make check
#           boots; its image is copied to build/bzImage
#   noramm  CONFIG_RAMM=n, no debugging: proves the series builds without
#           RAMM; booted to check the probe says no
#   release RAMM, no debugging: what make demo and make bench measure
#   stock   Debian's 6.1 *without* the series (the pristine tree), same base
#           config as release: the baseline make demo and make bench compare
#           against
#   arm64   the debug kernel for arm64 (cross-compiled, RAMM_ARCH=arm64):
#           make check boots it under qemu-system-aarch64; its image is
#           copied to build/Image-arm64
#
# Every kernel is tinyconfig + guest.config (what any RAMM guest needs) +
# <arch>.config (the boot essentials of that architecture's QEMU machine)
# + the variant's fragments.
#
# olddefconfig silently drops options whose dependencies are unmet, so after
# configuring, every option a fragment asks for is checked in the final
# .config and the build stops naming the ones that fell out.
. "$(dirname "$0")/lib.sh"

C=$RAMM_TOP/scripts/configs
# arm64 is the one arm64 kernel; the others are x86_64 whatever
# RAMM_ARCH says in the environment.
if [[ ${1:-} == arm64 ]]; then RAMM_ARCH=arm64; else RAMM_ARCH=x86_64; fi
base=("$C/guest.config" "$C/$RAMM_ARCH.config")
case ${1:-} in
debug|arm64)
	fragments=("${base[@]}" "$C/debug.config" "$RAMM_TOP/selftests/ramm/config");;
noramm)	fragments=("${base[@]}" "$C/ramm-off.config");;
release) fragments=("${base[@]}" "$RAMM_TOP/selftests/ramm/config");;
stock)	fragments=("${base[@]}");;
*)	die "usage: kernel.sh debug|noramm|release|stock|arm64";;
esac
# The stock kernel is built from the pristine source, out of tree like the
# others, so nothing of the series can leak into the baseline.
if [[ $1 == stock ]]; then
	export KSRC=$PRISTINE
	managed=$BUILD/src/.extracted
else
	export KSRC=$TREE
	managed=$TREE/.ramm-managed
fi
name=$1
obj=$BUILD/kernel-$name
log=$LOGS/kernel-$name.log
: >"$log"
mkdir -p "$obj"
[[ -f $TREE/.ramm-tree && -f $managed ]] || die "no kernel tree: run scripts/source.sh first"

frags=()
for f in "${fragments[@]}"; do
	[[ -f $f ]] || die "config fragment $f does not exist"
	frags+=("$f")
done

# Reconfigure only when a fragment or a Kconfig file changed; kbuild then
# rebuilds only what the changed options touch.
want=$(cat "${frags[@]}" "$managed" | sha256sum | cut -d' ' -f1)
if [[ ! -f $obj/.config || $(cat "$obj/.ramm-config" 2>/dev/null) != "$want" ]]; then
	run_logged "$log" kmake "$obj" tinyconfig
	run_logged "$log" "$KSRC/scripts/kconfig/merge_config.sh" -m \
		-O "$obj" "$obj/.config" "${frags[@]}"
	run_logged "$log" kmake "$obj" olddefconfig
	mapfile -t missing < <(config_missing "$obj/.config" "${frags[@]}")
	if ((${#missing[@]})); then
		{
			echo "error: these options from the config fragments are not in"
			echo "$obj/.config (unmet dependencies; see 'make menuconfig'):"
			printf '    %s\n' "${missing[@]}"
		} | tee -a "$log" >&2
		rm -f "$obj/.ramm-config"
		exit 1
	fi
	echo "$want" >"$obj/.ramm-config"
fi

image=$(ramm_kimage)
run_logged "$log" kmake "$obj" "$(basename "$image")"
# Exported uapi headers (linux/ramm.h; asm/unistd_64.h on x86_64, the
# asm-generic table's asm/unistd.h on arm64) for the selftests.
run_logged "$log" kmake "$obj" headers_install
case $name in
debug)	cp "$obj/$image" "$BUILD/bzImage";;
arm64)	cp "$obj/$image" "$BUILD/Image-arm64";;
esac
