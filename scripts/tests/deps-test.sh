#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for scripts/deps.sh: as a normal user, a missing package is named
# with the command that installs it, and nothing is attempted.  Prints
# "PASS|FAIL deps:<case>"; exits 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0777 "$tmp"
failed=0
check() {
	local name=$1; shift
	if "$@"; then echo "PASS deps:$name"
	else echo "FAIL deps:$name"; failed=1; fi
}

user=nobody
if [[ $(id -u) == 0 ]]; then
	as_user=(setpriv --reuid="$user" --regid=nogroup --clear-groups)
else
	as_user=()
fi
RAMM_BUILD=$tmp/build RAMM_EXTRA_PACKAGES=ramm-no-such-package \
	"${as_user[@]}" bash "$here/../deps.sh" >"$tmp/out" 2>&1
rc=$?
check missing-package-fails test "$rc" != 0
check missing-package-named grep -q 'missing Debian packages:.*ramm-no-such-package' "$tmp/out"
check install-command-shown grep -q 'apt-get install.*ramm-no-such-package' "$tmp/out"
[[ -n ${VERBOSE:-} ]] && cat "$tmp/out"
exit $failed
