#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: everything from a fresh machine to a tested RAMM kernel.
#
# Every test case of every suite becomes one line "PASS|FAIL|SKIP name" in
# build/results.txt; the run ends with one line "N passed, M failed, K
# skipped" and exits non-zero on any failure, a guest timeout or crash, any
# kernel report in the console log, or any test skipped on the RAMM kernel
# (a skipped test is not a pass).
. "$(dirname "$0")/lib.sh"

RAMM_STEPS=15
results=$BUILD/results.txt
: >"$results"
# What explains a failure, printed with the summary (not inside a step line).
diag=$LOGS/check-diagnostics.log
: >"$diag"
S=$RAMM_TOP/scripts
t_start=$SECONDS

record() { echo "$1 $2" >>"$results"; }

summary() {
	local pass fail skip
	pass=$(grep -c '^PASS ' "$results" || true)
	fail=$(grep -c '^FAIL ' "$results" || true)
	skip=$(grep -c '^SKIP ' "$results" || true)
	if [[ -s $diag ]]; then
		cat "$diag"
	fi
	if ((fail)); then
		echo "failed:"
		grep '^FAIL ' "$results" | sed 's/^FAIL /    /'
	fi
	if ((skip)); then
		echo "skipped:"
		grep '^SKIP ' "$results" | sed 's/^SKIP /    /'
	fi
	echo "results: $results; logs: $LOGS; total $(ramm_fmt_time $((SECONDS - t_start)))"
	echo "$pass passed, $fail failed, $skip skipped"
}

# A step that cannot go on (a build that failed) ends the run here.
must() {
	local name=$1; shift
	if ! step "$name" "$@"; then
		record FAIL "step:$name"
		summary
		exit 1
	fi
}

# ctest's per-test lines ("  3/12 Test  #3: Suite.Case ....   Passed", or
# "....***Failed") become result lines.
ctest_results() {	# ctest_results PREFIX LOG
	local total parsed
	sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*[.]+ *(\*\*\*)?([A-Za-z]+).*/\3 \1/p' "$2" |
	while read -r verdict name; do
		case $verdict in
		Passed) record PASS "$1:$name";;
		Skipped) record SKIP "$1:$name";;
		*) record FAIL "$1:$name";;
		esac
	done
	# Every test ctest ran must have been read.
	total=$(sed -nE 's/.* tests failed out of ([0-9]+)$/\1/p' "$2" | tail -n 1)
	parsed=$(grep -cE "^(PASS|FAIL|SKIP) $1:" "$results" || true)
	if [[ -z $total || $total != "$parsed" ]]; then
		record FAIL "$1:ctest-results-read(ctest ran ${total:-?}, read $parsed)"
	fi
}

host_tests() {
	local b=$BUILD/userspace-host log=$LOGS/userspace-host.log
	: >"$log"
	run_logged "$log" cmake -S "$RAMM_TOP/userspace" -B "$b" \
		-DCMAKE_BUILD_TYPE=Debug -DRAMM_SANITIZE=ON \
		-DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)"
	run_logged "$log" cmake --build "$b" -j"$JOBS"
	local rc=0
	(cd "$b" && ctest --output-on-failure -j"$JOBS") >>"$log" 2>&1 || rc=$?
	ctest_results host "$log"
	((rc == 0)) || { echo "--- ctest failed; the end of $log ---"; tail -n 30 "$log"; } >>"$diag"
	# The pipeline's own tests (scripts/tests/*-test.sh): the console
	# scanner catches each kind of report, source.sh re-applies cleanly.
	local t out
	for t in "$S"/tests/*-test.sh; do
		out=$LOGS/$(basename "$t" .sh).log
		if ! "$t" >"$out" 2>&1 && ! grep -q '^FAIL ' "$out"; then
			record FAIL "$(basename "$t"):exit-status"
		fi
		grep -E '^(PASS|FAIL) ' "$out" >>"$results" || true
	done
	return 0
}

# The RFC series (scripts/series.sh --check): generated from the manifest,
# applied to the pristine source, it must give exactly the tree source.sh
# made and the kernels below are built from.  No checkpatch, no builds:
# make series does those.
series_check() {
	local log=$LOGS/series-check.log name="series:applied-to-pristine-is-the-tested-tree"
	if "$S/series.sh" --check >"$log" 2>&1; then
		record PASS "$name"
	else
		record FAIL "$name"
		{ echo "--- the RFC series check failed; the end of $log ---"
		  tail -n 30 "$log"; } >>"$diag"
	fi
}

noramm_kernel() {
	if "$S/kernel.sh" noramm; then
		record PASS "kernel:builds-with-CONFIG_RAMM=n"
	else
		record FAIL "kernel:builds-with-CONFIG_RAMM=n"
	fi
}

# guest_results CONSOLE: the result block the guest printed at the end (see
# scripts/guest/ramm/check.sh), as "PASS|FAIL|SKIP name" lines; a missing
# or garbled block is itself a failure.
guest_results() {
	local block want got
	block=$(sed -n '/^RAMM-RESULTS-BEGIN/,/^RAMM-RESULTS-END/p' "$1")
	want=$(sed -n 's/^RAMM-RESULTS-BEGIN \([0-9]*\).*/\1/p' <<<"$block")
	got=$(grep -cE '^(PASS|FAIL|SKIP) ' <<<"$block" || true)
	if [[ -z $want ]]; then
		echo "FAIL results-reported"
	elif [[ $want != "$got" ]]; then
		echo "FAIL results-intact(expected $want lines, read $got)"
	fi
	grep -E '^(PASS|FAIL|SKIP) ' <<<"$block" || true
}

# guest_tests PREFIX ARCH MODE CONSOLE [TIMEOUT]: boot the ARCH debug
# kernel, run /ramm/MODE.sh in it and record its results as
# PREFIX<suite>:<case>, and the console scanner's verdict on CONSOLE.
guest_tests() {
	local p=$1 arch=$2 mode=$3 console=$4 rc=0 scan
	local tmo=${5:-${RAMM_TIMEOUT:-900}}
	scan=$LOGS/scan-console-$mode$([[ $arch == x86_64 ]] || echo "-$arch").log
	RAMM_ARCH=$arch RAMM_TIMEOUT=$tmo RAMM_CONSOLE=$console \
		"$S/qemu.sh" "$mode" 2>>"$diag" || rc=$?
	((rc == 0)) || record FAIL "${p}boot-and-finish(qemu.sh exit $rc)"
	guest_results "$console" | sed "s/ / $p/" >>"$results"
	# The kernel's own vm selftests, run at the end of the main x86 boot:
	# every one that passes on stock 6.1 (scripts/regress/vm-baseline.txt)
	# must pass here.
	if [[ $arch == x86_64 && $mode == check ]]; then
		"$S/regress.sh" check "$console" >>"$results" 2>>"$diag" || true
	fi
	if "$S/scan-console.sh" --debug-kernel "$console" >"$scan"; then
		record PASS "${p}console-free-of-kernel-reports"
	else
		cat "$scan" >>"$diag"
		record FAIL "${p}console-free-of-kernel-reports"
	fi
	# A skip on the RAMM kernel means a test did not run: not a pass.
	if grep -q "^SKIP $p" "$results"; then
		record FAIL "${p}no-test-skipped-on-the-RAMM-kernel"
	fi
	failed_tests_said "$results" "$p" "$console" >>"$diag"
	# The x86 guest's KUnit verdicts are kunit:..., the others' ARCH:kunit:...
	kunit_results "$console" "$([[ $arch == x86_64 ]] || echo "$arch:")kunit:"
	return 0
}

# kunit_results CONSOLE PREFIX: the verdict of each case of RAMM's KUnit
# suites, which the debug kernel runs at boot (mm-ramm/ramm_kunit.c), as
# "PASS|FAIL|SKIP PREFIXsuite.case" lines; a suite of that file whose
# results are not in the log fails, as does a skipped case.
kunit_results() {
	local suite lines p=$2
	for suite in $(sed -n 's/^[[:space:]]*\.name = "\(.*\)",$/\1/p' \
			"$RAMM_TOP/mm-ramm/ramm_kunit.c"); do
		lines=$(sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$1" | awk -v suite="$suite" -v p="$p" '
		$0 == "    # Subtest: " suite { on = 1; next }
		!on { next }
		/^    (not )?ok [0-9]+ / {
			verdict = /^    not ok/ ? "FAIL" : / # SKIP/ ? "SKIP" : "PASS"
			sub(/^    (not )?ok [0-9]+ (- )?/, ""); sub(/ # SKIP.*/, "")
			print verdict " " p suite "." $0
		}
		/^(not )?ok [0-9]+ / { exit }')
		if [[ -z $lines ]]; then
			record FAIL "$p$suite(no results in the console log)"
			continue
		fi
		echo "$lines" >>"$results"
		if grep -q '^SKIP ' <<<"$lines"; then
			record FAIL "$p$suite.no-case-skipped"
		fi
		if grep -q '^FAIL ' <<<"$lines"; then
			{ echo "--- KUnit suite $p$suite failed; its lines from $1 ---"
			  sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$1" |
			  sed -n "/^    # Subtest: $suite\$/,/^\(not \)\?ok [0-9]* /p" |
			  tail -n 40; } >>"$diag"
		fi
	done
}

# failed_tests_said RESULTS PREFIX CONSOLE: for each "FAIL PREFIXsuite:name"
# line of RESULTS, what that test printed (failed_test_lines).
failed_tests_said() {
	local suite name
	sed -n "s/^FAIL $2\([^:]*\):\(.*\)/\1 \2/p" "$1" |
	while read -r suite name; do
		echo "--- $2$suite:$name failed; its lines from $3 ---"
		failed_test_lines "$3" "$suite" "$name" | tail -n 40
	done
}

# failed_test_lines CONSOLE SUITE NAME: what test NAME of SUITE printed,
# from "RUN NAME" (kselftest "#  RUN  f.t ...", gtest "[ RUN  ] S.C") to
# its verdict, without the kernel's own lines; the whole suite's output
# when NAME has no such block (a crash, a timeout).
failed_test_lines() {
	awk -v suite="$2" -v name="$3" '
	$0 == "RAMM-SUITE: " suite { in_suite = 1; next }
	in_suite && /^RAMM-(SUITE|RESULTS-BEGIN)/ { in_suite = 0 }
	!in_suite || /^\[ *[0-9]+\.[0-9]+\]/ { next }
	{ all[++n] = $0 }
	/RUN / && index($0, " " name) { on = 1; found = 1 }
	on { print }
	on && /(FAIL|FAILED|OK) / && index($0, name) { on = 0 }
	END { if (!found) for (i = n > 40 ? n - 39 : 1; i <= n; i++) print all[i] }
	' "$1"
}

# The CONFIG_RAMM=n kernel, booted: the probe must say EINVAL and
# mmap_priced() ENOSYS, as on any kernel without RAMM, and libramm's
# fallback must shed the cheapest memory when a real PSI trigger fires.
noramm_guest() {
	local rc=0 console=$BUILD/console-noramm.log res=$LOGS/noramm-results.txt
	local probe="kernel:CONFIG_RAMM=n-probe-EINVAL-and-mmap_priced-ENOSYS"
	local fallback="kernel:CONFIG_RAMM=n-libramm-sheds-cheapest-on-real-PSI"
	RAMM_KERNEL_IMAGE=$BUILD/kernel-noramm/arch/x86/boot/bzImage \
		RAMM_CONSOLE=$console "$S/qemu.sh" noramm 2>>"$diag" || rc=$?
	guest_results "$console" >"$res"
	if ((rc == 0)) && ! grep -q '^FAIL ' "$res" &&
	   "$S/scan-console.sh" "$console" >>"$LOGS/scan-console.log"; then
		if grep -qx 'PASS prctl_test:global.probe_and_syscall_agree' "$res"; then
			record PASS "$probe"
		else
			record FAIL "$probe (did not run; see $console)"
		fi
		if grep -qx 'PASS ramm_integration_tests:Fallback.RealPsiPressureShedsTheCheapestMemoryFirst' "$res"; then
			record PASS "$fallback"
		else
			record FAIL "$fallback (did not run; see $console)"
		fi
	else
		record FAIL "$probe (see $console)"
		record FAIL "$fallback (see $console)"
		failed_tests_said "$res" "" "$console" >>"$diag"
	fi
}

# The host takes memory back (issue 8): the debug kernel booted with a
# virtio balloon and a QMP socket, scripts/balloon.py beside it asking for
# $RAMM_CHECK_BALLOON once the guest's caches and preserved data are in
# place (scripts/guest/ramm/balloon.sh says what is asserted, from RAMM's
# counters and the guest's view; the host adds what query-balloon saw).
# x86_64 only: the arm64 guest's tests are a subset already.
balloon_guest() {
	local p=guest: console=$BUILD/console-balloon.log rc=0
	local take=${RAMM_CHECK_BALLOON:-160M} host=$LOGS/balloon-host.json
	rm -f "$host"
	python3 "$S/balloon.py" --console "$console" --qmp "$BUILD/balloon-check.qmp" \
		--take "$take" --timeout 300 --json "$host" --label check -- \
		env RAMM_CONSOLE="$console" RAMM_APPEND="ramm_balloon=$take" \
		RAMM_TIMEOUT="${RAMM_TIMEOUT:-900}" "$S/qemu.sh" balloon \
		>"$LOGS/balloon-host.log" 2>>"$diag" || rc=$?
	((rc == 0)) || record FAIL "${p}balloon:boot-and-finish(exit $rc)"
	# The guest's cases are balloon:<case>; a missing or garbled block is
	# guest:balloon:results-...
	if grep -q '^RAMM-RESULTS-BEGIN' "$console" 2>/dev/null; then
		guest_results "$console" | sed "s/ / $p/; s/ ${p}results-/ ${p}balloon:results-/" >>"$results"
	else
		record FAIL "${p}balloon:results-reported"
	fi
	if python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["reached"])' \
		"$host" 2>/dev/null; then
		record PASS "${p}balloon:query-balloon-saw-the-target-reached"
	else
		record FAIL "${p}balloon:query-balloon-saw-the-target-reached"
		{ echo "--- the host's balloon log ($LOGS/balloon-host.log) ---"
		  cat "$LOGS/balloon-host.log"; } >>"$diag"
	fi
	if "$S/scan-console.sh" --debug-kernel "$console" >"$LOGS/scan-console-balloon.log"; then
		record PASS "${p}balloon:console-free-of-kernel-reports"
	else
		cat "$LOGS/scan-console-balloon.log" >>"$diag"
		record FAIL "${p}balloon:console-free-of-kernel-reports"
	fi
	# What a failed case printed: the guest's balloon suite, from this console.
	failed_tests_said <(grep "^FAIL ${p}balloon:" "$results") "$p" "$console" >>"$diag"
	return 0
}

must "dependencies (Debian packages)" "$S/deps.sh"
must "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "host tests: libramm (ctest, ASan + UBSan), the pipeline's own tests" host_tests
step "RFC series: generated, applied to pristine 6.1, same as the tree" series_check
must "kernel build (x86_64, RAMM + DEBUG_VM, lockdep, KASAN)" \
	"$S/kernel.sh" debug
step "kernel build (CONFIG_RAMM=n, no debugging)" noramm_kernel
must "initramfs: selftests, libramm tests, BusyBox" "$S/initramfs.sh"
step "boot in QEMU and run the tests in the guest, and the vm selftests" \
	guest_tests guest: x86_64 check "$BUILD/console.log"
# The per-node market needs two memory nodes: NUMA emulation splits the
# guest's RAM in two (CONFIG_NUMA_EMU, scripts/configs/x86_64.config).
numa_guest() {
	RAMM_APPEND="numa=fake=2 ${RAMM_APPEND:-}" \
		guest_tests numa: x86_64 numa "$BUILD/console-numa.log" 600
}
step "boot with two NUMA nodes (numa=fake=2): the other node is spared" numa_guest
if grep -qx 'PASS kernel:builds-with-CONFIG_RAMM=n' "$results"; then
	step "boot the CONFIG_RAMM=n kernel: probe and syscall say no, PSI fallback sheds" noramm_guest
fi
step "boot with a virtio balloon: the host takes memory back, RAMM asks" balloon_guest

# arm64: the debug kernel cross-built for arm64, where mmap_priced() comes
# from the asm-generic syscall table, booted under qemu-system-aarch64 (virt,
# cortex-a57, TCG); the selftests, built for arm64 against that kernel's
# headers, run there (scripts/guest/ramm/arm64.sh says which).  A build
# that fails is a failed test, and the steps after it are not run; the x86
# results stand.  libramm's C++ tests stay on x86_64 (README).
arm64_built() {	# arm64_built NAME CMD...: record whether a build step worked
	local name=$1; shift
	if "$@" 2>>"$diag"; then
		record PASS "arm64:$name"
	else
		record FAIL "arm64:$name"
		return 1
	fi
}
if step "arm64: kernel build (cross, RAMM + DEBUG_VM, lockdep, KASAN)" \
	arm64_built kernel-builds "$S/kernel.sh" arm64 &&
   step "arm64: initramfs: selftests (aarch64-linux-gnu-gcc -static), BusyBox" \
	arm64_built initramfs-builds env RAMM_ARCH=arm64 "$S/initramfs.sh"; then
	step "arm64: boot in QEMU (virt, cortex-a57, TCG) and run the selftests" \
		guest_tests arm64: arm64 arm64 "$BUILD/console-arm64.log" \
		"${RAMM_ARM64_TIMEOUT:-1500}"
fi
# The benchmark harness, with tiny sizes, so it cannot rot: it builds the
# release and stock kernels and boots both.  Its numbers are not judged.
bench_smoke() {
	if RAMM_BENCH_SMOKE=1 "$S/bench.sh" >"$LOGS/bench-smoke.log" 2>&1; then
		record PASS "bench:smoke-run"
	else
		record FAIL "bench:smoke-run"
		{ echo "--- the benchmark smoke run failed; the end of $LOGS/bench-smoke.log ---"
		  tail -n 30 "$LOGS/bench-smoke.log"; } >>"$diag"
	fi
}
step "benchmark smoke run (release and stock kernels)" bench_smoke
summary
! grep -q '^FAIL ' "$results"
