#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's programs and pack build/initramfs.cpio.gz, or with
# RAMM_ARCH=arm64 build/initramfs-arm64.cpio.gz for the arm64 guest.
#
# The image is BusyBox plus the contents of these directories, copied in
# order (a later one wins):
#   scripts/guest/          /init and the guest-side scripts (checked in)
#   build/guest/            programs built here (selftests, libramm tests)
#   $RAMM_GUEST_EXTRA       colon-separated directories of your own
# so adding a program to the guest needs no script change.
#
# arm64: the selftests are cross-compiled (aarch64-linux-gnu-gcc -static)
# against the arm64 kernel's exported headers, BusyBox is Debian's
# busybox-static:arm64 (scripts/deps.sh unpacks it into build/), and
# libramm's C++ tests and the kernel's vm selftests are not built: they
# stay x86_64-only (README).
#
# initramfs.sh --vm-only: only the kernel's own vm selftests, against the
# headers of build/kernel-$RAMM_KERNEL, into build/initramfs-vm.cpio.gz:
# what make regress-baseline boots on the stock kernel, which has no RAMM
# headers to build the rest against.  RAMM_INITRAMFS names another output.
. "$(dirname "$0")/lib.sh"

vm_only=0
case ${1:-} in
--vm-only) vm_only=1;;
"") ;;
*) die "usage: initramfs.sh [--vm-only]";;
esac
if [[ $RAMM_ARCH == arm64 ]]; then
	((!vm_only)) || die "--vm-only: the vm selftests are x86_64-only"
	sfx=-arm64
	obj=$BUILD/kernel-${RAMM_KERNEL:-arm64}
	busybox=$BUILD/busybox-arm64/bin/busybox
	GUEST=$BUILD/guest-arm64
else
	sfx=
	obj=$BUILD/kernel-${RAMM_KERNEL:-debug}
	busybox=/bin/busybox
fi
if ((vm_only)); then
	sfx=-vm
	GUEST=$BUILD/guest-vm
fi
image=${RAMM_INITRAMFS:-$BUILD/initramfs$sfx.cpio.gz}
log=$LOGS/initramfs$sfx.log
: >"$log"
[[ -d $obj/usr/include/linux ]] || die "no exported headers in $obj: build the kernel first"
[[ -x $busybox ]] || die "$busybox missing: install busybox-static (scripts/deps.sh)"

# The selftests must get the syscall's number from the kernel's own
# headers (ramm_helpers.h falls back to 451): on arm64 that is the
# asm-generic table, the one the kernel's sys_call_table is built from.
if ((!vm_only)); then
	printf '#include <asm/unistd.h>\n#ifndef __NR_mmap_priced\n#error no __NR_mmap_priced\n#endif\n' |
		"$(ramm_cross)gcc" -E -isystem "$obj/usr/include" - >/dev/null 2>>"$log" ||
		die "$obj/usr/include/asm/unistd.h does not define __NR_mmap_priced" "$log"
fi

# --- the guest's programs ----------------------------------------------------
rm -rf "$GUEST"
mkdir -p "$GUEST/ramm/kselftest" "$GUEST/ramm/gtest" "$GUEST/ramm/bin" \
	"$GUEST/ramm/vm"

# The kernel's own tools/testing/selftests/vm (6.1 calls it vm, later
# kernels mm), all its programs, for the regression run against the stock
# kernel's baseline (scripts/guest/ramm/vm.sh says which run and why the
# others do not).  -static goes in EXTRA_CFLAGS, not LDFLAGS: the Makefile's
# own link rule for protection_keys_64 ignores LDFLAGS.  Static -lnuma
# (ksm_tests, migration) and -lcap (mlock-random-test, memfd_secret) come
# from libnuma-dev and libcap-dev; protection_keys_32 is not built (it
# would need gcc-multilib and a 32-bit libc).
if [[ $RAMM_ARCH == x86_64 ]]; then
	out=$BUILD/selftests/vm
	rm -rf "$out"
	mkdir -p "$out"
	run_logged "$log" make -C "$TREE/tools/testing/selftests/vm" OUTPUT="$out" \
		CC="$(ramm_cc)" KHDR_INCLUDES="-isystem $obj/usr/include" \
		EXTRA_CFLAGS=-static
	find "$out" -maxdepth 1 -type f -perm -u+x -exec cp {} "$GUEST/ramm/vm/" \;
fi

if ((!vm_only)); then
	# kselftests, built with the kselftest Makefile as upstream would, but
	# static (the initramfs has no libc) and against this kernel's headers.
	for dir in "$TREE"/tools/testing/selftests/ramm; do
		out=$BUILD/selftests$sfx/$(basename "$dir")
		rm -rf "$out"
		mkdir -p "$out"
		run_logged "$log" make -C "$dir" OUTPUT="$out" CC="$(ramm_cc)" \
			KHDR_INCLUDES="-isystem $obj/usr/include" LDFLAGS=-static
		find "$out" -maxdepth 1 -type f -perm -u+x \
			-exec cp {} "$GUEST/ramm/kselftest/" \;
	done
fi

# libramm's integration tests and demo programs, fully static (x86_64).
if ((!vm_only)) && [[ $RAMM_ARCH == x86_64 ]]; then
	ub=$BUILD/userspace-static
	run_logged "$log" cmake -S "$RAMM_TOP/userspace" -B "$ub" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAMM_STATIC=ON -DRAMM_BUILD_TESTS=OFF \
		-DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)"
	run_logged "$log" cmake --build "$ub" -j"$JOBS"
	run_logged "$log" cmake --install "$ub" --prefix "$GUEST/ramm" --strip
fi

# --- the image ---------------------------------------------------------------
root=$BUILD/initramfs-root$sfx
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}
cp "$busybox" "$root/bin/busybox"
# The applets' links: the host's BusyBox names them (an arm64 one cannot
# run here); both are Debian's busybox-static of the same release.
/bin/busybox --list-full | while read -r applet; do
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done
IFS=: read -ra extra <<<"${RAMM_GUEST_EXTRA:-}"
for dir in "$RAMM_TOP/scripts/guest" "$GUEST" "${extra[@]}"; do
	[[ -n $dir ]] || continue
	[[ -d $dir ]] || die "RAMM_GUEST_EXTRA: $dir is not a directory"
	cp -a "$dir/." "$root/"
done

# gen_init_cpio (from the kernel tree) writes device nodes without root.
gen=$BUILD/tools/gen_init_cpio
if [[ ! -x $gen || $TREE/usr/gen_init_cpio.c -nt $gen ]]; then
	mkdir -p "$(dirname "$gen")"
	run_logged "$log" gcc -O2 -o "$gen" "$TREE/usr/gen_init_cpio.c"
fi
spec=$BUILD/initramfs$sfx.spec
{
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	(cd "$root" && find . -mindepth 1 | sort) | while read -r p; do
		p=${p#.}
		src=$root$p
		mode=$(stat -c %a "$src")
		if [[ -L $src ]]; then
			echo "slink $p $(readlink "$src") 0777 0 0"
		elif [[ -d $src ]]; then
			echo "dir $p $mode 0 0"
		elif [[ $p != /dev/console && $p != /dev/null ]]; then
			echo "file $p $src $mode 0 0"
		fi
	done
} >"$spec"
"$gen" "$spec" 2>>"$log" | gzip -1 >"$image.tmp" ||
	die "packing the initramfs failed" "$log"
mv "$image.tmp" "$image"
