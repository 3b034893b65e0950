#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests for the documentation that is not built with the kernel: the draft
# man pages in man/ render with man -l without a warning, and the example
# in Documentation/userspace-api/ramm.rst compiles against the RAMM uapi
# header.  Prints "PASS|FAIL docs:<case>"; exits 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {
	local name=$1; shift
	if "$@"; then echo "PASS docs:$name"
	else echo "FAIL docs:$name"; failed=1; fi
}

# man -l: rendered, with a NAME section, and groff said nothing.
renders() {
	local page=$1 out
	out=$tmp/$(basename "$1")
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" >"$out" 2>"$out.err" || {
		cat "$out.err"; return 1; }
	[[ ! -s $out.err ]] || { cat "$out.err"; return 1; }
	grep -q '^NAME' "$out" && grep -q '^ERRORS' "$out"
}
pages=("$top"/man/*.[0-9]*)
check man-pages-exist test -e "${pages[0]}"
for page in "${pages[@]}"; do
	[[ -e $page ]] || continue
	check "man-l-$(basename "$page")" renders "$page"
done

# The example: every indented line of the "Example" section up to the
# paragraph after it, compiled with the repository's uapi header.  The
# host's headers do not have the RAMM system call number; 451 is the one
# patch 0001 reserves.
rst=$top/mm-ramm/Documentation/userspace-api/ramm.rst
awk '/^Example$/ { f = 1 } f && /^    / { sub(/^    /, ""); print } /^Build it/ { exit }' \
	"$rst" >"$tmp/example.c"
mkdir -p "$tmp/include/linux"
cp "$top/uapi/linux/ramm.h" "$tmp/include/linux/ramm.h"
example_compiles() {
	grep -q 'int main' "$tmp/example.c" &&
	gcc -Wall -Wextra -Werror -D__NR_mmap_priced=451 -I"$tmp/include" \
		-o "$tmp/example" "$tmp/example.c"
}
check userspace-api-example-compiles example_compiles
exit $failed
