#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: the market at work, and what stock Linux does in its place.
#
# Builds the RAMM kernel and a stock 6.1 kernel from the same config without
# the series (both without debugging), then boots each in a 256 MiB guest
# and runs the same scenario (userspace/demo/ramm_scenario.cpp): a cache
# with cheap discardable data, a service with valuable preserved data, an
# unmodified program, and a hog that grows.  Prints both timelines, then
# the outcomes side by side and a verdict.  Sizes can be changed with
# RAMM_DEMO_ARGS (ramm-scenario options, e.g. "--cache 96M --keeper 48M").
#
# Then a second act, "the host wants 200 MiB back": each kernel boots in a
# 512 MiB guest with a virtio balloon (userspace/demo/ramm_balloon.cpp in
# the guest: two caches of cheap discardable data, 250 MiB between them,
# and 60 MiB of preserved data; scripts/balloon.py on the host inflates
# the balloon by 200 MiB through QMP), and the guest allocates once more
# when the balloon stopped growing.  RAMM_DEMO_BALLOON_ARGS changes the
# guest's sizes, RAMM_DEMO_BALLOON the amount taken.  RAMM_DEMO_ONLY=balloon
# runs only this act.
. "$(dirname "$0")/lib.sh"

S=$RAMM_TOP/scripts
args=${RAMM_DEMO_ARGS:-}
only=${RAMM_DEMO_ONLY:-}
case $only in
""|balloon) ;;
*) die "RAMM_DEMO_ONLY=$only: only 'balloon' (the second act) can run alone";;
esac
take=${RAMM_DEMO_BALLOON:-200M}
# ramm-balloon's defaults are the issue's sizes.
balloon_args=${RAMM_DEMO_BALLOON_ARGS:-}
out=$BUILD/out
mkdir -p "$out"
if [[ -z $only ]]; then RAMM_STEPS=9; else RAMM_STEPS=7; fi
step "dependencies (Debian packages)" "$S/deps.sh"
step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "kernel build (x86_64, RAMM, no debugging)" "$S/kernel.sh" release
step "kernel build (stock 6.1: same config, without the series)" "$S/kernel.sh" stock
step "initramfs: demo programs, BusyBox" "$S/initramfs.sh"

balloon_act() {	# balloon_act KERNEL VARIANT
	balloon_boot "$1" "demo-balloon-$2" "$2" "$take" "$balloon_args" >/dev/null
}
balloon_show() {
	local k
	for k in ramm stock; do
		echo
		if [[ $k == ramm ]]; then echo "==== RAMM kernel: the host wants $take back ====";
		else echo "==== stock 6.1: the host wants $take back ===="; fi
		sed -n '/^RAMM-CMD: ramm-balloon/,/^RAMM-CMD-EXIT:/p' "$out/demo-balloon-$k.console" |
			grep -v '^RAMM-CMD'
		grep -h '^balloon ' "$LOGS/demo-balloon-$k.log" | sed 's/^/host: /' || true
	done
	echo
	echo "==== side by side: the host wants $take back ===="
	python3 "$S/bench/report.py" balloon "$out/demo-balloon-ramm.jsonl" \
		"$out/demo-balloon-stock.jsonl"
	echo "(consoles: $out/demo-balloon-ramm.console, $out/demo-balloon-stock.console)"
}
if [[ $only == balloon ]]; then
	step "boot the RAMM kernel with a balloon; the host takes $take" balloon_act release ramm
	step "boot stock 6.1 with a balloon; the host takes $take" balloon_act stock stock
	balloon_show
	exit 0
fi

step "boot the RAMM kernel and run the scenario" \
	"$S/run-in-guest.sh" release demo-ramm \
	"ramm-scenario --variant ramm --json /tmp/out/scenario.json $args"
step "boot stock 6.1 and run the same scenario" \
	"$S/run-in-guest.sh" stock demo-stock \
	"ramm-scenario --variant stock --json /tmp/out/scenario.json $args"
step "boot the RAMM kernel with a balloon; the host takes $take" balloon_act release ramm
step "boot stock 6.1 with a balloon; the host takes $take" balloon_act stock stock

for k in ramm stock; do
	echo
	if [[ $k == ramm ]]; then echo "==== RAMM kernel ===="; else echo "==== stock 6.1 ===="; fi
	sed -n '/^RAMM-CMD: ramm-scenario/,/^RAMM-CMD-EXIT:/p' "$out/demo-$k.console" |
		grep -v '^RAMM-CMD'
done
echo
echo "==== side by side ===="
python3 "$S/bench/report.py" demo "$out/demo-ramm.jsonl" "$out/demo-stock.jsonl"
echo "(consoles: $out/demo-ramm.console, $out/demo-stock.console)"
balloon_show
