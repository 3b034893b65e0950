#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernel.sh VARIANT: configure and build build/linux into build/kernel-VARIANT
# (out of tree), from tinyconfig plus the variant's config fragments:
#   debug   RAMM with DEBUG_VM, lockdep and KASAN: the kernel make check
#           boots; its image is copied to build/bzImage
#   noramm  CONFIG_RAMM=n, no debugging: proves the series builds without
#           RAMM (not booted)
#
# olddefconfig silently drops options whose dependencies are unmet, so after
# configuring, every option a fragment asks for is checked in the final
# .config and the build stops naming the ones that fell out.
. "$(dirname "$0")/lib.sh"

C=$RAMM_TOP/scripts/configs
case ${1:-} in
debug)	fragments=("$C/x86_64.config" "$C/debug.config"
		   "$RAMM_TOP/selftests/ramm/config");;
noramm)	fragments=("$C/x86_64.config" "$C/ramm-off.config");;
*)	die "usage: kernel.sh debug|noramm";;
esac
name=$1
obj=$BUILD/kernel-$name
log=$LOGS/kernel-$name.log
: >"$log"
mkdir -p "$obj"
[[ -f $TREE/.ramm-tree ]] || die "no kernel tree: run scripts/source.sh first"

frags=()
for f in "${fragments[@]}"; do
	[[ -f $f ]] || die "config fragment $f does not exist"
	frags+=("$f")
done

# Reconfigure only when a fragment or a Kconfig file changed; kbuild then
# rebuilds only what the changed options touch.
want=$(cat "${frags[@]}" "$TREE/.ramm-managed" | sha256sum | cut -d' ' -f1)
if [[ ! -f $obj/.config || $(cat "$obj/.ramm-config" 2>/dev/null) != "$want" ]]; then
	run_logged "$log" kmake "$obj" tinyconfig
	run_logged "$log" "$TREE/scripts/kconfig/merge_config.sh" -m \
		-O "$obj" "$obj/.config" "${frags[@]}"
	run_logged "$log" kmake "$obj" olddefconfig
	missing=()
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$obj/.config" || missing+=("$line");;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			! grep -q "^$opt=" "$obj/.config" || missing+=("$line");;
		esac
	done < <(cat "${frags[@]}")
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

run_logged "$log" kmake "$obj" bzImage
# Exported uapi headers (linux/ramm.h, asm/unistd_64.h) for the selftests.
run_logged "$log" kmake "$obj" headers_install
if [[ $name == debug ]]; then
	cp "$obj/arch/x86/boot/bzImage" "$BUILD/bzImage"
fi
