#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The scenario make demo shows: every program in /ramm/demo/, in name order.
for prog in /ramm/demo/*; do
	[ -x "$prog" ] || continue
	echo "RAMM-DEMO: running $(basename "$prog")"
	"$prog"
done
