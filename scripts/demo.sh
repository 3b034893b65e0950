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
. "$(dirname "$0")/lib.sh"

RAMM_STEPS=7
S=$RAMM_TOP/scripts
args=${RAMM_DEMO_ARGS:-}
step "dependencies (Debian packages)" "$S/deps.sh"
step "kernel source: extract 6.1, apply patches/series" "$S/source.sh"
step "kernel build (x86_64, RAMM, no debugging)" "$S/kernel.sh" release
step "kernel build (stock 6.1: same config, without the series)" "$S/kernel.sh" stock
step "initramfs: demo programs, BusyBox" "$S/initramfs.sh"
step "boot the RAMM kernel and run the scenario" \
	"$S/run-in-guest.sh" release demo-ramm \
	"ramm-scenario --variant ramm --json /tmp/out/scenario.json $args"
step "boot stock 6.1 and run the same scenario" \
	"$S/run-in-guest.sh" stock demo-stock \
	"ramm-scenario --variant stock --json /tmp/out/scenario.json $args"

out=$BUILD/out
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
