#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for scripts/regress.sh check, the comparison of the vm selftests'
# results with the stock baseline: a console where every listed test passed
# passes; a listed test that failed, skipped or never ran, a missing or
# garbled result block and a missing or empty list each fail; a test not on
# the list cannot fail the run.  Prints "PASS|FAIL regress:<case>" per case;
# exits 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
regress=$here/../regress.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

printf '# a comment\nmap_populate\n\nmremap_test  # why\n' >"$tmp/list"
printf '# only comments\n\n' >"$tmp/empty-list"

console() {	# console NAME "VERDICT TEST"...: a console with that result block
	local f=$tmp/$1.log; shift
	{
		echo "[    1.000000] Linux version 6.1.192"
		echo "RAMM-SUITE: vm:mremap_test"
		echo "mremap_test says what went wrong"
		echo "RAMM-VM-RESULT: X mremap_test"
		echo "RAMM-VM-BEGIN $#"
		printf '%s\n' "$@"
		echo "RAMM-VM-END"
	} >"$f"
	echo "$f"
}

expect() {	# expect pass|fail NAME CONSOLE [LIST]
	local want=$1 name=$2 log=$3 got=pass
	RAMM_VM_BASELINE=${4:-$tmp/list} "$regress" check "$log" \
		>"$tmp/out" 2>"$tmp/err" || got=fail
	grep -q '^FAIL ' "$tmp/out" && got=fail
	if [[ $got == "$want" ]]; then
		echo "PASS regress:$name"
	else
		echo "FAIL regress:$name (check said $got, expected $want)"
		sed 's/^/    /' "$tmp/out" "$tmp/err"
		failed=1
	fi
}

ok=$(console ok "PASS map_populate" "PASS mremap_test" "FAIL soft-dirty")
expect pass listed-tests-pass-others-only-reported "$ok"
if [[ $(grep -c '^PASS regress:vm:' "$tmp/out") == 2 ]] &&
   grep -q 'FAIL: soft-dirty' "$tmp/err"; then
	echo "PASS regress:one-line-per-listed-test-and-a-note-for-others"
else
	echo "FAIL regress:one-line-per-listed-test-and-a-note-for-others"
	failed=1
fi
expect fail listed-test-fails \
	"$(console fails "PASS map_populate" "FAIL mremap_test")"
if grep -q 'mremap_test says what went wrong' "$tmp/err"; then
	echo "PASS regress:failure-shows-what-the-test-said"
else
	echo "FAIL regress:failure-shows-what-the-test-said"
	failed=1
fi
expect fail listed-test-skips \
	"$(console skips "PASS map_populate" "SKIP mremap_test")"
expect fail listed-test-missing "$(console missing "PASS map_populate")"
printf 'RAMM-VM-BEGIN 2\nPASS map_populate\n' >"$tmp/garbled.log"
expect fail block-cut-short "$tmp/garbled.log"
echo "[    1.000000] no block at all" >"$tmp/none.log"
expect fail block-missing "$tmp/none.log"
expect fail list-missing "$ok" "$tmp/no-such-list"
expect fail list-empty "$ok" "$tmp/empty-list"

exit $failed
