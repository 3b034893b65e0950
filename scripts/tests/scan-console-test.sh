#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for scripts/scan-console.sh: a real clean boot log must pass, and
# the same log with each kind of kernel report spliced into its middle must
# fail.  Prints "PASS|FAIL scan-console:<case>" per case; exits 1 on any
# failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scan=$here/../scan-console.sh
clean=$here/console/clean-boot.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

expect() {	# expect pass|fail NAME LOG [scanner args]
	local want=$1 name=$2 log=$3 got; shift 3
	if "$scan" "$@" "$log" >"$tmp/out" 2>&1; then got=pass; else got=fail; fi
	if [[ $got == "$want" ]]; then
		echo "PASS scan-console:$name"
	else
		echo "FAIL scan-console:$name (scanner said $got, expected $want)"
		sed 's/^/    /' "$tmp/out"
		failed=1
	fi
}

# splice FILE: the clean log with FILE's lines in its middle.
splice() {
	local n
	n=$(($(wc -l <"$clean") / 2))
	{ head -n "$n" "$clean"; cat "$1"; tail -n +"$((n + 1))" "$clean"; } \
		>"$tmp/$(basename "$1" .txt).log"
	echo "$tmp/$(basename "$1" .txt).log"
}

expect pass clean-boot "$clean" --debug-kernel
for report in kasan lockdep warn-on oops gpf sleep-in-atomic panic \
		hung-task rcu-stall report-mid-line; do
	expect fail "$report" "$(splice "$here/console/$report.txt")" --debug-kernel
done
expect pass userspace-says-warning \
	"$(splice "$here/console/userspace-says-warning.txt")" --debug-kernel

grep -v 'KernelAddressSanitizer initialized' "$clean" >"$tmp/no-kasan.log"
expect fail kasan-start-up-line-missing "$tmp/no-kasan.log" --debug-kernel
expect pass kasan-line-not-needed-without-debug "$tmp/no-kasan.log"
grep -v 'Lock dependency validator' "$clean" >"$tmp/no-lockdep.log"
expect fail lockdep-start-up-line-missing "$tmp/no-lockdep.log" --debug-kernel

exit $failed
