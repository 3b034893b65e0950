#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages RAMM needs, only those that are missing.
# Not root: name the missing packages and the command that installs them.
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	# kernel source and build
	linux-source-6.1 gcc make bc flex bison libelf-dev libssl-dev
	xz-utils cpio ccache perl rsync
	# guest
	qemu-system-x86 busybox-static
	# the arm64 kernel and guest (cross compiler, static libc for the
	# selftests, QEMU); the arm64 BusyBox is fetched below
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
	# make bench and make demo reports
	python3 gnuplot-nox
	# the kernel's vm selftests, linked static (ksm_tests, mlock-random-test)
	libnuma-dev libcap-dev
	# userspace library and its tests
	g++ cmake libfmt-dev libgtest-dev liblz4-dev libxxhash-dev
	# make series (a git tree of the source, patch) and the man page test
	git patch man-db groff-base
)
# For scripts/tests/deps-test.sh: pretend more packages are needed.
read -ra extra <<<"${RAMM_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")

# The arm64 guest's BusyBox: Debian's busybox-static:arm64, downloaded
# through multiarch and unpacked into build/ (installing it would replace
# the host's /bin/busybox).  scripts/initramfs.sh takes it from here.
BUSYBOX_ARM64=$BUILD/busybox-arm64
arm64_busybox() {
	local deb d=$BUILD/debs
	[[ -x $BUSYBOX_ARM64/bin/busybox ]] && return 0
	mkdir -p "$d"
	rm -f "$d"/busybox-static_*_arm64.deb
	(cd "$d" && apt-get download busybox-static:arm64) >>"$log" 2>&1 ||
		die "apt-get download busybox-static:arm64 failed" "$log"
	deb=$(ls "$d"/busybox-static_*_arm64.deb)
	rm -rf "$BUSYBOX_ARM64.tmp"
	run_logged "$log" dpkg -x "$deb" "$BUSYBOX_ARM64.tmp"
	rm -rf "$BUSYBOX_ARM64"
	mv "$BUSYBOX_ARM64.tmp" "$BUSYBOX_ARM64"
}
has_arm64() { dpkg --print-foreign-architectures | grep -qx arm64; }

log=$LOGS/deps.log
missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)) && has_arm64; then
	arm64_busybox
	exit 0
fi

if [[ $(id -u) != 0 ]]; then
	add=
	has_arm64 || add="sudo dpkg --add-architecture arm64 && "
	cat >&2 <<MSG
error: missing Debian packages: ${missing[*]:-none}${add:+ (and the arm64 architecture, for busybox-static:arm64)}
Install them as root, then run this again:
    ${add}sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}
MSG
	exit 1
fi

echo "installing: ${missing[*]}" >>"$log"
export DEBIAN_FRONTEND=noninteractive
has_arm64 || run_logged "$log" dpkg --add-architecture arm64
run_logged "$log" apt-get update
if ((${#missing[@]})); then
	# Another apt-get (a second checkout on the same machine) holds the
	# lock for a while: wait for it rather than fail.
	run_logged "$log" apt-get install -y --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
arm64_busybox
