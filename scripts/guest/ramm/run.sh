#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of scripts/run-in-guest.sh (make demo, make bench): run the
# commands named on the kernel command line, one after another, and report
# what they wrote.
#
#   ramm_cmds=CMD,CMD,...   each CMD a program and its arguments with '+'
#                           for spaces: ramm-scenario+--variant+ramm
#
# A command writes its machine-readable results as files in /tmp/out/; each
# file is printed afterwards as one "RAMM-JSON: <contents>" line.  The
# console log level is lowered while they run, so no kernel message (an OOM
# report, say) can split a line; the kernel log is printed whole at the end
# (RAMM-DMESG-BEGIN/END) for the host to scan.
cmds=$(sed -n 's/.*ramm_cmds=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /tmp/out
# Swap off: zram cannot shrink incompressible data, and 6.1 then livelocks
# in reclaim instead of OOM-killing (see the issue 4 notes).  Without swap
# every kernel, stock or RAMM, has only what owners give back.
swapoff -a 2>/dev/null
echo 1 >/proc/sys/kernel/printk
echo "RAMM-RUN: $(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo) MiB available"

IFS=,
for cmd in $cmds; do
	unset IFS
	line=$(echo "$cmd" | tr + ' ')
	echo "RAMM-CMD: $line"
	# shellcheck disable=SC2086 # word splitting is the point
	$line
	echo "RAMM-CMD-EXIT: $?"
	for f in /tmp/out/*.json; do
		[ -f "$f" ] || continue
		echo "RAMM-JSON: $(tr -d '\n' <"$f")"
		rm -f "$f"
	done
	IFS=,
done
unset IFS

echo 7 >/proc/sys/kernel/printk
echo "RAMM-DMESG-BEGIN"
dmesg
echo "RAMM-DMESG-END"
