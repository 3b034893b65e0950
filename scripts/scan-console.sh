#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scan-console.sh [--debug-kernel] LOG: fail (exit 1) when the guest console
# log holds a kernel report: BUG:, WARNING:, Oops, a KASAN or lockdep report,
# a panic, a general protection fault, a hung task or an RCU stall.
#
# Only kernel lines are judged (they carry the printk timestamp, CONFIG_
# PRINTK_TIME), so a test that prints "WARNING:" itself is not mistaken for
# the kernel.  With --debug-kernel a silent log must also prove the
# debuggers were on: the KASAN and lockdep start-up lines must be present.
set -euo pipefail

debug=0
if [[ ${1:-} == --debug-kernel ]]; then debug=1; shift; fi
log=${1:?usage: scan-console.sh [--debug-kernel] LOG}
[[ -f $log ]] || { echo "error: $log does not exist" >&2; exit 2; }

# A kernel line: "[    1.234567] ..." anywhere on the line (userspace output
# can precede it on the same console line).
ts='\[ *[0-9]+\.[0-9]{6}\] '
reports=(
	'BUG:'				# KASAN, sleeping in atomic, bad page, ...
	'WARNING:'			# WARN_ON, lockdep, RCU lockdep
	'Oops'
	'kernel BUG at'
	'general protection fault'
	'Kernel panic'
	'INFO: task .* blocked for more than'
	'rcu: INFO: .*detected stall'
	'UBSAN:'
	'Unable to handle kernel'
)
pattern="$ts.*($(IFS='|'; echo "${reports[*]}"))"

status=0
hits=$(grep -En "$pattern" "$log" || true)
if [[ -n $hits ]]; then
	echo "kernel reports in $log:"
	sed 's/^/    /' <<<"$hits" | head -n 20
	status=1
fi

if ((debug)); then
	if ! grep -Eq "$ts.*KernelAddressSanitizer initialized" "$log"; then
		echo "KASAN start-up line missing from $log: is CONFIG_KASAN on?"
		status=1
	fi
	if ! grep -Eq "$ts.*Lock dependency validator: Copyright" "$log"; then
		echo "lockdep start-up line missing from $log: is CONFIG_PROVE_LOCKING on?"
		status=1
	fi
fi
exit $status
