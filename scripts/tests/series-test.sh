#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for the accounting of scripts/series.sh (series.sh --lint, on a
# copy of the repository's homes): the manifest accounts for every file and
# hunk, and a new file, a hunk in no RFC patch, a hunk in two, or a patch
# whose hunks changed in number each stop it, naming the culprit, as does a
# 'tail' that cannot be split off its file.
# Prints "PASS|FAIL series:<case>"; exits 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {
	local name=$1; shift
	if "$@"; then echo "PASS series:$name"
	else echo "FAIL series:$name"; failed=1; fi
}

# fresh: a copy of what series.sh reads, in $tmp/repo.
fresh() {
	rm -rf "$tmp/repo"
	mkdir -p "$tmp/repo"
	(cd "$top" && cp -a scripts patches mm-ramm uapi selftests "$tmp/repo/" &&
		if [[ -f Kconfig.ramm ]]; then cp -a Kconfig.ramm "$tmp/repo/"; fi)
}
lint() { RAMM_BUILD=$tmp/build bash "$tmp/repo/scripts/series.sh" --lint >"$tmp/out" 2>&1; }

fresh
check real-manifest-accounts-for-everything lint

fresh
echo '// new' >"$tmp/repo/mm-ramm/newfile.c"
lint
check new-file-fails test $? != 0
check new-file-named grep -q 'mm-ramm/newfile.c is in no RFC patch' "$tmp/out"

fresh
# Drop the first "hunks NNNN" line that takes a whole patch.
line=$(grep -n -m1 -E '^hunks [0-9]{4}$' "$tmp/repo/patches/rfc-split" | cut -d: -f1)
num=$(sed -n "${line}s/^hunks //p" "$tmp/repo/patches/rfc-split")
sed -i "${line}d" "$tmp/repo/patches/rfc-split"
lint
check unassigned-hunk-fails test $? != 0
check unassigned-hunk-named grep -q "in patches/$num-.* is in no RFC patch" "$tmp/out"

fresh
printf 'hunks %s\n' "$num" >>"$tmp/repo/patches/rfc-split"
lint
check hunk-in-two-patches-fails test $? != 0
check hunk-in-two-patches-named grep -q 'is in RFC patches [0-9]* and [0-9]*' "$tmp/out"

fresh
sed -i -E "/^hunks [0-9]+ .*@/s#/[0-9]+\$#/99#" "$tmp/repo/patches/rfc-split"
lint
check changed-hunk-count-fails test $? != 0
check changed-hunk-count-named grep -q 'hunks now, not 99' "$tmp/out"

fresh
p=$(ls "$tmp/repo/patches/"0001-*.patch)
cp "$p" "$tmp/repo/patches/0099-unlisted.patch"
lint
check patch-not-in-series-fails test $? != 0
check patch-not-in-series-named grep -q '0099-unlisted.patch is not in patches/series' "$tmp/out"

# A 'tail' whose line is not in its file, or whose file no earlier
# 'files' brings.
fresh
sed -i -E 's/^(tail Kconfig.ramm ).*/\1config NO_SUCH_OPTION/' "$tmp/repo/patches/rfc-split"
lint
check tail-line-missing-fails test $? != 0
check tail-line-missing-named grep -q "'tail Kconfig.ramm': the line 'config NO_SUCH_OPTION' must be in Kconfig.ramm exactly once" "$tmp/out"

fresh
line=$(grep -m1 '^tail ' "$tmp/repo/patches/rfc-split")
sed -i -e "/^$line\$/d" -e "/^patch mm\/ramm: wire up/a $line" "$tmp/repo/patches/rfc-split"
lint
check tail-before-files-fails test $? != 0
check tail-before-files-named grep -q "no earlier RFC patch brings" "$tmp/out"

[[ -n ${VERBOSE:-} ]] && cat "$tmp/out"
exit $failed
