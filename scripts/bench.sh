#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: RAMM against stock 6.1, every ratio from kernels booted in this
# one run.  Builds the RAMM and stock kernels (same config, no debugging),
# then measures
#   1. the outcome scenario on stock (no cooperation, PSI-triggered freeing,
#      an MADV_FREE cache) and on RAMM, RAMM_BENCH_REPEATS times each
#   1b. the host taking memory back with a virtio balloon (scripts/balloon.py
#      beside ramm-balloon in the guest), stock and RAMM, once each
#   2. notification latency, RAMM's fd against a PSI trigger, same boot,
#      from an idle machine and from tight starts near krammmd's mark,
#      under -icount (one CPU)
#   2b. who is asked: participants' ranges at prices dealt at random, and
#      the share of asked pages no dearer than the cheapest range left
#      unasked
#   3. mmap/munmap, page fault and fork on both kernels under -icount, and
#      the hook sites in the RAMM vmlinux
#   4. krammmd's selection cost against 1k..100k priced ranges, under
#      -icount
#   5. libramm's allocator against glibc malloc (on the host)
# and writes bench/results.md, bench/results.json and bench/*.png.
#
# RAMM_BENCH_SMOKE=1 (make check): the same harness with tiny sizes, in
# seconds, written to build/out/bench-smoke/ instead; its numbers mean
# nothing and are not kept.
#
# RAMM_BENCH_ONLY=balloon or latency: only 1b or 2 (and the builds),
# reported to build/out/bench-ONLY/ so that bench/results.md keeps a whole
# run.
. "$(dirname "$0")/lib.sh"

S=$RAMM_TOP/scripts
smoke=${RAMM_BENCH_SMOKE:-0}
if ((smoke)); then
	repeats=1 rounds=2 micro_scale=1 alloc_ops=200000
	mem=256M scenario_args=${RAMM_BENCH_ARGS:-"--cache 32M --keeper 96M --plain 8M"}
	scale_cases=("1000 10" "1000 10 10000")
	# "start [KiB above krammmd's mark]"
	latency_starts=("roomy" "tight 1024")
	# ramm-order's arguments, one run each
	order_runs=("--procs 4 --ranges 8 --range-mib 1")
	# About 106 MiB are available once the caches and keeper hold their
	# data: the caches must give about 30 MiB of their 64.
	balloon_mem=256M balloon_take=128M
	balloon_args="--caches 2 --cache 32M --keeper 8M --then 8M"
	results=$BUILD/out/bench-smoke
else
	repeats=${RAMM_BENCH_REPEATS:-5} rounds=20 micro_scale=4 alloc_ops=4000000
	mem=512M scenario_args=${RAMM_BENCH_ARGS:-"--cache 128M --keeper 192M --plain 32M"}
	# "ranges processes [unpriced VMAs]"
	scale_cases=("1000 10" "10000 10" "100000 10" "1000 100" "10000 100" "100000 100"
		"1000 10 100000")
	latency_starts=("roomy" "tight 4096" "tight 1024" "tight 256")
	order_runs=("--seed 1" "--seed 2" "--seed 3"
		"--procs 10 --ranges 10 --range-mib 1 --seed 1"
		"--procs 10 --ranges 10 --range-mib 1 --seed 2")
	# ramm-balloon's defaults are issue 8's sizes: 2 caches of 125 MiB,
	# 60 MiB preserved, then a 32 MiB allocation; the host takes 200 MiB.
	balloon_mem=512M balloon_take=200M balloon_args=
	results=$RAMM_TOP/bench
fi
only=${RAMM_BENCH_ONLY:-}
case $only in
"") ;;
balloon|latency)
	((!smoke)) || die "RAMM_BENCH_ONLY and RAMM_BENCH_SMOKE do not go together"
	results=$BUILD/out/bench-$only;;
*) die "RAMM_BENCH_ONLY=$only: only 'balloon' or 'latency' can run alone";;
esac
raw=$BUILD/out/bench-raw
rm -rf "$raw"
mkdir -p "$raw" "$results"

case $only in
"") RAMM_STEPS=17;;
balloon) RAMM_STEPS=8;;
latency) RAMM_STEPS=7;;
esac
step "dependencies (Debian packages)" "$S/deps.sh"
step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "kernel build (x86_64, RAMM, no debugging)" "$S/kernel.sh" release
step "kernel build (stock 6.1: same config, without the series)" "$S/kernel.sh" stock
step "initramfs: bench programs, BusyBox" "$S/initramfs.sh"

balloon() {	# balloon KERNEL VARIANT: one boot, the host takes $balloon_take
	RAMM_MEM=$balloon_mem balloon_boot "$1" "bench-balloon-$2" "$2" "$balloon_take" \
		"$balloon_args" >/dev/null || return 1
	cp "$BUILD/out/bench-balloon-$2.jsonl" "$raw/balloon-$2.jsonl"
}
balloon_steps() {
	step "1b. the host takes $balloon_take back (virtio balloon) on stock 6.1" \
		balloon stock stock
	step "1b. the host takes $balloon_take back (virtio balloon) on RAMM" \
		balloon release ramm
}

# guest KERNEL NAME CMD...: run-in-guest.sh, keeping the results.
guest() {
	local kernel=$1 name=$2; shift 2
	"$S/run-in-guest.sh" "$kernel" "bench-$name" "$@" || return 1
	cp "$BUILD/out/bench-$name.jsonl" "$raw/$name.jsonl"
}

scenarios() {	# scenarios VARIANT...: each variant $repeats times
	local v i
	for v in "$@"; do
		for ((i = 1; i <= repeats; i++)); do
			echo "ramm-scenario --variant $v --quiet --json /tmp/out/$v-$i.json $scenario_args"
		done
	done
}

machine="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), \
$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), host kernel $(uname -r); \
guests under QEMU TCG"
command="make bench"
if [[ -n $only ]]; then
	command="RAMM_BENCH_ONLY=$only scripts/bench.sh"
elif ((smoke)); then
	machine+=" (smoke run)"
	command="RAMM_BENCH_SMOKE=1 scripts/bench.sh"
fi
report() {
	python3 "$S/bench/report.py" bench "$raw" "$results" --machine "$machine" \
		--command "$command" >"$LOGS/bench-report.log"
}
# Under -icount the guest's clock counts instructions (1 ns each): the
# burst's page faults take what they cost in instructions, not what
# emulating them costs on this host, and a run repeats.  Under plain TCG
# the same bursts gave PSI/RAMM ratios that moved 2x from run to run.
latency_steps() {
	local s start above cmds=()
	for s in "${latency_starts[@]}"; do
		read -r start above <<<"$s"
		cmds+=("ramm-latency --rounds $rounds --start $start${above:+ --above $above} \
--json /tmp/out/latency-$start${above:+-$above}.json")
	done
	RAMM_ICOUNT=1 RAMM_MEM=$mem \
		step "2. notification latency (-icount; ${#latency_starts[@]} starts x $rounds bursts)" \
		guest release latency "${cmds[@]}"
}
if [[ -n $only ]]; then
	${only}_steps
	step "report: $results/results.md" report
	echo
	cat "$results/results.md"
	exit 0
fi

mapfile -t stock_runs < <(scenarios stock psi madvfree)
mapfile -t ramm_runs < <(scenarios ramm)
RAMM_MEM=$mem step "1. outcome on stock 6.1 (3 variants x $repeats)" \
	guest stock outcome-stock "${stock_runs[@]}"
RAMM_MEM=$mem step "1. outcome on RAMM (x $repeats)" \
	guest release outcome-ramm "${ramm_runs[@]}"
balloon_steps

latency_steps
order_cmds=()
for a in "${order_runs[@]}"; do
	order_cmds+=("ramm-order $a --json /tmp/out/order-${#order_cmds[@]}.json")
done
RAMM_ICOUNT=1 RAMM_MEM=$mem step "2b. who is asked first (-icount; ${#order_runs[@]} runs)" \
	guest release order "${order_cmds[@]}"

micro="ramm-micro --scale $micro_scale --json /tmp/out/micro.json"
# Each kernel runs the set twice: the second run of a boot differs from the
# first (the address space and caches the first left behind), so first runs
# are compared with first runs and second with second.  The priced run is
# last: once on, the static key stays on.
RAMM_ICOUNT=1 step "3. microbenchmarks on stock 6.1 (-icount)" \
	guest stock micro-stock "$micro --label stock" "$micro --label stock-again"
RAMM_ICOUNT=1 step "3. microbenchmarks on RAMM (-icount)" \
	guest release micro-ramm "$micro --label ramm" "$micro --label ramm-again" \
	"$micro --label ramm-priced --priced"
hook_sites() {
	python3 "$S/bench/hook_sites.py" "$BUILD/kernel-release/vmlinux" ramm_in_use \
		"$raw/nops.txt" >"$LOGS/bench-hook-sites.log" 2>&1 ||
		{ cat "$LOGS/bench-hook-sites.log" >&2; return 1; }
}
step "3. the hook sites in vmlinux: NOPs until a price is set" hook_sites

scale_cmds=()
for c in "${scale_cases[@]}"; do
	read -r n p u <<<"$c"
	scale_cmds+=("ramm-scale --ranges $n --procs $p --unpriced ${u:-0} --json /tmp/out/scale-$n-$p-${u:-0}.json")
done
# The ranges are never touched: the guest needs no more memory for 100k.
# Under -icount, as step 2: a search's time is its instructions, so a case
# repeats and measures the search's work; under plain TCG the same case
# moved 3x between runs.
RAMM_ICOUNT=1 RAMM_MEM=512M step "4. krammmd selection cost (-icount; ${#scale_cases[@]} cases)" \
	guest release scale "${scale_cmds[@]}"

alloc() {
	local b=$BUILD/userspace-bench log=$LOGS/bench-alloc.log t
	: >"$log"
	run_logged "$log" cmake -S "$RAMM_TOP/userspace" -B "$b" -DCMAKE_BUILD_TYPE=Release \
		-DRAMM_BUILD_TESTS=OFF -DRAMM_BUILD_INTEGRATION=OFF \
		-DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)"
	run_logged "$log" cmake --build "$b" -j"$JOBS" --target ramm-allocbench
	for t in 1 2; do
		run_logged "$log" "$b/ramm-allocbench" --threads "$t" --ops "$alloc_ops" \
			--json "$raw/alloc-$t.json"
		cat "$raw/alloc-$t.json" >>"$raw/alloc.jsonl"
	done
	rm -f "$raw"/alloc-*.json
}
step "5. allocator: libramm against glibc malloc (host)" alloc

step "report: $results/results.md" report
if ((!smoke)); then
	echo
	cat "$results/results.md"
fi
