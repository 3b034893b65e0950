#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ramm_run=balloon: the host takes memory back with the virtio balloon, and
# RAMM must turn that pressure into asks (make check; the host's side is
# scripts/balloon.py, which inflates the balloon by ramm_balloon=SIZE from
# the kernel command line once ramm-balloon prints RAMM-BALLOON-READY).
#
# Two caches of cheap discardable data (participants), preserved data
# checked byte by byte, and a balloon larger than the memory available:
# it can only reach its target if the caches give memory back.  The
# balloon driver allocates with __GFP_NORETRY, which wakes kswapd and runs
# one direct-reclaim pass; RAMM must serve that by asking, never by
# purging in direct reclaim.  So, from the RAMM counters read when the
# balloon starts and when it settled: krammmd was woken and participants
# were asked, and pages_purged_direct did not move, or, if it did, the
# ramm_direct_reclaim tracepoint shows every page of it purged for some
# other allocation, none for a __GFP_NORETRY one.  (While the balloon
# holds free memory at the min watermark, an ordinary allocation of
# anyone else's may need a page at once, and purging for it is the hook's
# job: in one release-kernel run of four, 270 pages went so, for an
# allocation without __GFP_NORETRY.)  And the balloon reached its target,
# nobody was OOM-killed, the preserved data is intact, the guest's next
# allocation got its memory.
#
# ramm_balloon_market=off on the kernel command line (by hand:
# RAMM_APPEND="ramm_balloon=160M ramm_balloon_market=off") runs the same
# with RAMM's market closed (/sys/kernel/mm/ramm/enabled 0): the control
# that shows these cases can fail.
#
# Sized for the debug kernel (KASAN's shadow takes 1/8 of the RAM) in a
# 512 MiB guest.  Results are "RAMM-RESULT: PASS|FAIL balloon:<case>" and
# the RAMM-RESULTS-BEGIN/END block scripts/check.sh reads; any case whose
# value is missing fails.
results=/tmp/ramm-results
out=/tmp/balloon.json
: >"$results"
take=$(sed -n 's/.*ramm_balloon=\([^ ]*\).*/\1/p' /proc/cmdline)

record() {	# record PASS|FAIL name
	echo "RAMM-RESULT: $1 $2"
	echo "$1 $2" >>"$results"
}
# The outcome's numbers as "key value" lines (true/false as 1/0); the
# counters' changes during inflation are among them, by their sysfs names.
values() {
	awk 'BEGIN { RS = "[,{}]"; FS = ":" }
	{ gsub(/[" \n]/, "") }
	NF == 2 {
		v = $2; if (v == "true") v = 1; if (v == "false") v = 0
		if (v ~ /^-?[0-9.]+$/) print $1, v
	}' "$out"
}
# verdict NAME CONDITION: PASS when the awk CONDITION, over the outcome's
# keys as variables, holds; FAIL when it does not or a key it names is
# missing (a counter this kernel does not have).
verdict() {
	local vals set key
	vals=$(values)
	set=
	for key in $(echo "$2" | grep -oE '[a-z_]+'); do
		echo "$vals" | grep -q "^$key " || { record FAIL "balloon:$1(no $key)"; return; }
		set="$set $key = $(echo "$vals" | sed -n "s/^$key //p");"
	done
	if awk "BEGIN { $set exit !($2) }"; then
		record PASS "balloon:$1"
	else
		record FAIL "balloon:$1"
	fi
}

# Swap off: zram would take the caches' pages in the participants' place
# (the data is incompressible, so slowly, and 6.1 can livelock in reclaim
# on it; see scripts/guest/ramm/run.sh).  Without swap, only what owners
# give back can fill the balloon.  The console log level is lowered so no
# kernel line splits a result line; the log is printed whole at the end.
swapoff -a 2>/dev/null
echo 1 >/proc/sys/kernel/printk
# ramm-balloon traces the direct-reclaim hook when tracefs is there.
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
if grep -q 'ramm_balloon_market=off' /proc/cmdline; then
	echo "balloon.sh: RAMM's market closed (ramm_balloon_market=off): expect failures"
	echo 0 >/sys/kernel/mm/ramm/enabled
fi
echo "RAMM-SUITE: balloon"
if [ -z "$take" ]; then
	echo "balloon.sh: no ramm_balloon=SIZE on the kernel command line"
	record FAIL balloon:ran
elif ! ramm-balloon --variant ramm --caches 2 --cache 96M --keeper 40M \
	--balloon "$take" --then 16M --stall 10 --timeout 300 --json "$out"; then
	record FAIL balloon:ran
else
	record PASS balloon:ran
	# The pressure is real: the balloon wants more than was available.
	verdict balloon-wants-more-than-available "balloon_bytes > available_at_ready"
	verdict target-reached "reached == 1"
	verdict no-oom-kill "oom_kills == 0"
	verdict preserved-data-intact "preserved_lost_bytes == 0"
	verdict data-the-caches-kept-intact "cache_corrupted_bytes == 0"
	verdict krammmd-woken-during-inflation "wakes > 0"
	verdict participants-asked-during-inflation "requests > 0 && pages_released > 0"
	verdict no-direct-reclaim-purge-for-the-balloon "hook_purged_noretry == 0 && \
(pages_purged_direct == 0 || (hook_traced == 1 && pages_purged_direct <= hook_purged_other))"
	# The balloon's own passes through the hook are in the trace, each
	# with nothing purged: the pressure it makes is served by asking.
	verdict balloon-reclaim-passes-traced "hook_traced == 1 && hook_passes_noretry > 0"
	verdict cheapest-first-across-caches "accuracy >= 0.95"
	verdict next-allocation-served "next_allocated == 1"
fi
echo "RAMM-SUITE-END: balloon"

echo "RAMM-RESULTS-BEGIN $(wc -l <"$results")"
cat "$results"
echo "RAMM-RESULTS-END"
echo 7 >/proc/sys/kernel/printk
echo "RAMM-DMESG-BEGIN"
dmesg
echo "RAMM-DMESG-END"
