#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run every test binary in the initramfs and report one sentinel line per
# test case:  "RAMM-RESULT: PASS|FAIL|SKIP <suite>:<case>".
#   /ramm/kselftest/*  kselftest harness programs (TAP output)
#   /ramm/gtest/*      GoogleTest programs
# and after them the kernel's own vm selftests (/ramm/vm.sh).
# Adding a test is adding a binary to one of those directories.  At the end
# the results are printed again as one block (RAMM-RESULTS-BEGIN/END) with a
# count, so the host can tell a complete report from one garbled by kernel
# messages interleaved on the console.
results=/tmp/ramm-results
: >"$results"
timeout_s=${RAMM_TEST_TIMEOUT:-600}

record() {	# record PASS|FAIL|SKIP name
	echo "RAMM-RESULT: $1 $2"
	echo "$1 $2" >>"$results"
}

# parse KIND SUITE LOG: turn a program's output into result lines.
parse() {
	awk -v kind="$1" -v suite="$2" '
	# "#  RUN           fixture.test ..." names the test; the 6.1
	# harness leaves the name out of "ok N # SKIP reason".
	kind == "tap" && /^# +RUN / { run = $3 }
	kind == "tap" && /^(not )?ok [0-9]+( |$)/ {
		res = ($1 == "not") ? "FAIL" : "PASS"
		line = $0
		sub(/^(not )?ok [0-9]+ */, "", line)
		if (line ~ /# *SKIP/) res = "SKIP"
		sub(/ *#.*$/, "", line)
		if (line == "") line = run
		gsub(/ /, "_", line)
		print res, suite ":" line
	}
	kind == "gtest" && /^\[ +(OK|FAILED|SKIPPED) +\] .* \([0-9]+ ms\)$/ {
		res = ($2 == "OK") ? "PASS" : ($2 == "FAILED") ? "FAIL" : "SKIP"
		line = $0
		sub(/^\[[^]]*\] /, "", line)
		sub(/ \([0-9]+ ms\)$/, "", line)
		print res, suite ":" line
	}' "$3"
}

run_suite() {	# run_suite KIND PROGRAM
	local kind=$1 prog=$2 suite log rc before t0
	suite=$(basename "$prog")
	log=/tmp/$suite.out
	echo "RAMM-SUITE: $suite"
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout "$timeout_s" "$prog" >"$log" 2>&1
	rc=$?
	cat "$log"
	echo "RAMM-SUITE-END: $suite exit $rc after $(awk -v t0="$t0" \
		'{ printf "%d", $1 - t0 }' /proc/uptime)s"
	before=$(wc -l <"$results")
	parse "$kind" "$suite" "$log" | while read -r res name; do
		record "$res" "$name"
	done
	if [ "$rc" -ne 0 ] && ! grep -q "^FAIL $suite:" "$results"; then
		# A crash, a timeout (rc 143) or an error outside any test case.
		record FAIL "$suite:exit-status-$rc"
	elif [ "$(wc -l <"$results")" -eq "$before" ]; then
		record FAIL "$suite:reported-no-tests"
	fi
}

# The guest itself: zram swap must be on for "preserved" to mean anything.
if grep -q zram0 /proc/swaps; then record PASS guest:zram-swap
else record FAIL guest:zram-swap; fi
# And every CPU QEMU was given must be online, or races go untested.
if [ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ]; then record PASS guest:smp
else record FAIL guest:smp; fi

# RAMM_SUITES (from a mode script such as noramm.sh) narrows the run.
for prog in ${RAMM_SUITES:-/ramm/kselftest/* /ramm/gtest/*}; do
	[ -x "$prog" ] || continue
	case ${RAMM_SUITES:-all}:$prog in
	# Needs two memory nodes: its own boot, with numa=fake=2 (numa.sh).
	all:*/numa_test) continue;;
	esac
	case $prog in
	/ramm/kselftest/*) run_suite tap "$prog";;
	/ramm/gtest/*) run_suite gtest "$prog";;
	esac
done

echo "RAMM-RESULTS-BEGIN $(wc -l <"$results")"
cat "$results"
echo "RAMM-RESULTS-END"

# Then the kernel's own vm selftests, in the same boot (make check; not in
# modes that narrow the run): they report in a block of their own, which
# the host compares with the stock kernel's baseline (scripts/regress.sh).
if [ -z "${RAMM_SUITES:-}" ] && [ -x /ramm/vm.sh ] && [ -d /ramm/vm ]; then
	/ramm/vm.sh
fi
