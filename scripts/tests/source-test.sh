#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for scripts/source.sh on a small synthetic "kernel" and repository:
# patches apply, a re-run changes nothing, an edit updates only its file,
# dropped patches and overlay files are undone, a patch that does not apply
# is named with its failed hunk, and interrupted runs recover.  Prints
# "PASS|FAIL source:<case>" per case; exits 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_sh=$here/../source.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
export RAMM_BUILD=$tmp/build RAMM_REPO=$tmp/repo RAMM_TARBALL=$tmp/linux.tar.xz
tree=$RAMM_BUILD/linux

check() {	# check NAME CONDITION...
	local name=$1; shift
	if "$@"; then echo "PASS source:$name"
	else echo "FAIL source:$name"; failed=1; fi
}
run() { "$source_sh" >"$tmp/out" 2>&1; }
mtime() { stat -c %Y.%y "$tree/$1"; }

# The pristine "kernel".
mkdir -p "$tmp/k/linux-source-6.1/mm" "$tmp/k/linux-source-6.1/kernel"
printf 'line 1\nline 2\nline 3\n' >"$tmp/k/linux-source-6.1/kernel/sys.c"
printf 'obj-y += mmap.o\n' >"$tmp/k/linux-source-6.1/mm/Makefile"
tar -C "$tmp/k" -cJf "$RAMM_TARBALL" linux-source-6.1

# The repository: one patch and a file in each overlay directory.
mkdir -p "$RAMM_REPO/patches" "$RAMM_REPO/mm-ramm/include/linux" \
	"$RAMM_REPO/uapi/linux" "$RAMM_REPO/selftests/ramm"
cat >"$RAMM_REPO/patches/0001-sys.patch" <<'PATCH'
--- a/kernel/sys.c
+++ b/kernel/sys.c
@@ -1,3 +1,4 @@
 line 1
 line 2
+ramm
 line 3
PATCH
echo 0001-sys.patch >"$RAMM_REPO/patches/series"
echo 'int price;' >"$RAMM_REPO/mm-ramm/price.c"
echo '/* internal */' >"$RAMM_REPO/mm-ramm/include/linux/ramm.h"
echo '/* uapi */' >"$RAMM_REPO/uapi/linux/ramm.h"
echo 'int main(void) {}' >"$RAMM_REPO/selftests/ramm/t.c"
echo 'config RAMM' >"$RAMM_REPO/Kconfig.ramm"

run
check first-run-succeeds test -f "$tree/.ramm-tree"
check patch-applied grep -qx ramm "$tree/kernel/sys.c"
check overlay-mm-ramm test -f "$tree/mm/ramm/price.c"
check overlay-include test -f "$tree/include/linux/ramm.h"
check overlay-not-in-mm-ramm-include test ! -e "$tree/mm/ramm/include"
check overlay-uapi test -f "$tree/include/uapi/linux/ramm.h"
check overlay-selftests test -f "$tree/tools/testing/selftests/ramm/t.c"
check overlay-kconfig test -f "$tree/mm/ramm/Kconfig"

before=$(mtime kernel/sys.c)
sleep 1.1
run
check rerun-applies-nothing-twice test "$(grep -c ramm "$tree/kernel/sys.c")" = 1
check rerun-keeps-timestamps test "$(mtime kernel/sys.c)" = "$before"

echo 'int price = 1;' >"$RAMM_REPO/mm-ramm/price.c"
run
check edit-reaches-tree grep -q 'price = 1' "$tree/mm/ramm/price.c"
check edit-touches-only-its-file test "$(mtime kernel/sys.c)" = "$before"

: >"$RAMM_REPO/patches/series"
rm "$RAMM_REPO/mm-ramm/price.c"
run
check dropped-patch-restores-pristine cmp -s "$tree/kernel/sys.c" \
	"$RAMM_BUILD/src/linux-source-6.1/kernel/sys.c"
check dropped-overlay-file-removed test ! -e "$tree/mm/ramm/price.c"

sed 's/^ line 2$/ line two/' "$RAMM_REPO/patches/0001-sys.patch" \
	>"$RAMM_REPO/patches/0002-stale.patch"
echo 0002-stale.patch >"$RAMM_REPO/patches/series"
run; rc=$?; cp "$tmp/out" "$tmp/bad-patch.out"
check bad-patch-fails test "$rc" != 0
check bad-patch-named grep -q "0002-stale.patch" "$tmp/bad-patch.out"
check bad-hunk-named grep -q "Hunk #1 FAILED" "$tmp/bad-patch.out"
[[ -n ${VERBOSE:-} ]] && cat "$tmp/bad-patch.out"
check bad-patch-leaves-tree-alone test "$(grep -c ramm "$tree/kernel/sys.c")" = 0

echo 0001-sys.patch >"$RAMM_REPO/patches/series"
# Interrupted copy of the tree: a half-made build/linux.tmp, no tree.
rm -rf "$tree"; mkdir -p "$tree.tmp/junk"
run
check interrupted-copy-recovers grep -qx ramm "$tree/kernel/sys.c"
check interrupted-copy-cleaned test ! -e "$tree/junk" -a ! -e "$tree.tmp"
# Interrupted extraction: sources without the completion stamp.
rm -f "$RAMM_BUILD/src/.extracted"
rm "$RAMM_BUILD/src/linux-source-6.1/mm/Makefile"
run
check interrupted-extraction-recovers test -f "$RAMM_BUILD/src/linux-source-6.1/mm/Makefile"
check after-recovery-patched grep -qx ramm "$tree/kernel/sys.c"

exit $failed
