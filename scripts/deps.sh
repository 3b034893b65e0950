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

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) != 0 ]]; then
	cat >&2 <<MSG
error: missing Debian packages: ${missing[*]}
Install them as root, then run this again:
    sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}
MSG
	exit 1
fi

log=$LOGS/deps.log
echo "installing: ${missing[*]}" >>"$log"
export DEBIAN_FRONTEND=noninteractive
run_logged "$log" apt-get update
run_logged "$log" apt-get install -y --no-install-recommends "${missing[@]}"
