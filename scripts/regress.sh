#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's own vm selftests (tools/testing/selftests/vm of 6.1, run by
# scripts/guest/ramm/vm.sh) as a regression check: whatever passes on stock
# 6.1 must pass on the RAMM kernel.
#
#   regress.sh baseline        make regress-baseline: boot the stock kernel
#                              (built if missing) with only the vm selftests
#                              and rewrite scripts/regress/vm-baseline.txt
#                              with the tests that passed
#   regress.sh check CONSOLE   make check: from CONSOLE (the RAMM kernel's
#                              guest run) print one "PASS|FAIL regress:vm:NAME"
#                              line per test on the list; what explains a
#                              failure, and the tests not on the list (run,
#                              but only reported), go to stderr
#
# The baseline is taken on the stock kernel of make bench and make demo:
# pristine 6.1 with the project's base config (scripts/configs/x86_64.config),
# no debugging.  The tested kernel's config is that plus debug.config and
# selftests/ramm/config, which only add options, so every listed test has
# what it needs there too; a listed test that fails on the RAMM debug kernel
# is a regression of the series or a bug the debug options found, and both
# must fail make check.  Tests that pass only with the added options
# (PROC_PAGE_MONITOR, DEBUG_FS) are not on the list: they run and are
# reported, but cannot fail make check.
. "$(dirname "$0")/lib.sh"

S=$RAMM_TOP/scripts
list=${RAMM_VM_BASELINE:-$RAMM_TOP/scripts/regress/vm-baseline.txt}

# vm_results CONSOLE: the guest's RAMM-VM-BEGIN/END block as "VERDICT NAME"
# lines; nothing, and status 1, when the block is missing or garbled.
vm_results() {
	local block want got
	block=$(sed -n '/^RAMM-VM-BEGIN/,/^RAMM-VM-END/p' "$1")
	want=$(sed -n 's/^RAMM-VM-BEGIN \([0-9]*\).*/\1/p' <<<"$block")
	got=$(grep -cE '^(PASS|FAIL|SKIP) ' <<<"$block" || true)
	[[ -n $want && $want == "$got" && $want -gt 0 ]] || return 1
	grep -E '^(PASS|FAIL|SKIP) ' <<<"$block"
}

# listed: the test names of the baseline list (no comments, no blanks).
listed() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$list" | grep -v '^$' || true
}

# what_test_said CONSOLE NAME: the lines test NAME printed in the guest.
what_test_said() {
	awk -v name="$2" '
	$0 == "RAMM-SUITE: vm:" name { on = 1; next }
	on && /^RAMM-VM-RESULT: / { exit }
	on && !/^\[ *[0-9]+\.[0-9]+\]/ { print }' "$1" | tail -n 30
}

check() {
	local console=${1:?usage: regress.sh check CONSOLE} results name v
	local -a names
	mapfile -t names < <([[ -f $list ]] && listed)
	if ((${#names[@]} == 0)); then
		echo "FAIL regress:vm:baseline-list"
		echo "error: the stock baseline $list is missing or lists no test;" \
			"make regress-baseline writes it" >&2
		return 1
	fi
	if ! results=$(vm_results "$console"); then
		echo "error: no complete RAMM-VM block in $console: the vm" \
			"selftests did not run or did not finish" >&2
		results=
	fi
	for name in "${names[@]}"; do
		v=$(awk -v n="$name" '$2 == n { print $1; exit }' <<<"$results")
		if [[ $v == PASS ]]; then
			echo "PASS regress:vm:$name"
			continue
		fi
		echo "FAIL regress:vm:$name"
		{
			echo "--- regress:vm:$name passes on stock 6.1 but ${v:-did not run} here; its lines from $console ---"
			what_test_said "$console" "$name"
		} >&2
	done
	# Reported only: the tests that are not on the list.
	local others
	others=$(awk 'NR == FNR { l[$0] = 1; next } !($2 in l) { print $1 " " $2 }' \
		<(listed) <(echo "$results") | sort | awk '
		{ v[$1] = v[$1] " " $2 }
		END { for (k in v) printf "%s:%s; ", k, v[k] }')
	if [[ -n $others ]]; then
		echo "note: vm selftests not on the stock baseline (run, not judged): ${others%; }" >&2
	fi
}

baseline() {
	local t0=$SECONDS console=$BUILD/console-vm-stock.log rc=0 results
	local stock=$BUILD/kernel-stock
	RAMM_STEPS=5
	step "dependencies (Debian packages)" "$S/deps.sh"
	step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
	# kernel.sh rebuilds only what changed; an up-to-date stock kernel
	# costs seconds.
	step "kernel build (stock 6.1, base config, no debugging)" \
		nice -n 19 "$S/kernel.sh" stock
	step "initramfs: the kernel's vm selftests, BusyBox" \
		env RAMM_KERNEL=stock "$S/initramfs.sh" --vm-only
	vm_boot() {
		RAMM_KERNEL_IMAGE=$stock/arch/x86/boot/bzImage \
			RAMM_INITRAMFS=$BUILD/initramfs-vm.cpio.gz \
			RAMM_CONSOLE=$console RAMM_TIMEOUT=${RAMM_TIMEOUT:-600} \
			"$S/qemu.sh" vm
	}
	step "boot stock 6.1 and run the vm selftests" vm_boot || rc=$?
	((rc == 0)) || die "the stock guest did not finish; see $console"
	"$S/scan-console.sh" "$console" >"$LOGS/scan-console-vm-stock.log" ||
		die "a kernel report in the stock kernel's console: not a baseline" \
			"$LOGS/scan-console-vm-stock.log"
	results=$(vm_results "$console") ||
		die "no complete RAMM-VM block in $console"
	grep -q '^PASS ' <<<"$results" || die "no vm selftest passed on stock 6.1"
	mkdir -p "$(dirname "$list")"
	{
		echo "# The kernel's own vm selftests (scripts/guest/ramm/vm.sh) that pass"
		echo "# on stock 6.1 ($(sed -n 's/^RAMM-BOOT: //p' "$console" | head -n 1))"
		echo "# with scripts/configs/x86_64.config: make check fails if one of these"
		echo "# fails on the RAMM kernel.  Written by make regress-baseline"
		echo "# (scripts/regress.sh baseline).  Not passing there (why: the top of"
		echo "# scripts/guest/ramm/vm.sh):"
		grep -v '^PASS ' <<<"$results" | sed 's/^/#   /'
		grep '^PASS ' <<<"$results" | cut -d' ' -f2
	} >"$list.tmp"
	mv "$list.tmp" "$list"
	echo "vm selftests on stock 6.1: $(grep -c '^PASS ' <<<"$results") passed," \
		"$(grep -c '^FAIL ' <<<"$results" || true) failed," \
		"$(grep -c '^SKIP ' <<<"$results" || true) skipped;" \
		"in the guest $(sed -n 's/^RAMM-VM-TIME: //p' "$console");" \
		"wrote $list; total $(ramm_fmt_time $((SECONDS - t0)))"
}

case ${1:-} in
baseline) baseline;;
check) shift; check "$@";;
*) die "usage: regress.sh baseline | regress.sh check CONSOLE";;
esac
