#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Turn Debian's linux-source-6.1 into the RAMM tree at build/linux.
#
#  1. Extract the pristine source once (build/src/, marked complete only
#     after tar succeeds, so an interrupted extraction is redone).
#  2. Compose every file RAMM manages in a scratch directory: the pristine
#     version of each file a patch touches, patches/series applied in order,
#     then the new files (the overlay rule below).
#  3. Copy into build/linux only the files whose content changed, and
#     restore files RAMM no longer manages.  Unchanged files keep their
#     timestamps, so an incremental kernel build recompiles only what a
#     change really touched; nothing is ever applied twice.
#
# Overlay rule (new kernel files live in the repo, not in patches):
#   mm-ramm/*                   -> mm/ramm/
#   mm-ramm/include/...         -> include/...      (e.g. include/linux/ramm.h)
#   mm-ramm/Documentation/...   -> Documentation/...
#   Kconfig.ramm                -> mm/ramm/Kconfig
#   uapi/...                    -> include/uapi/...
#   selftests/ramm/...          -> tools/testing/selftests/ramm/...
. "$(dirname "$0")/lib.sh"

# RAMM_TARBALL and RAMM_REPO exist for scripts/tests/source-test.sh, which
# runs this script on a small synthetic tree.
TARBALL=${RAMM_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
REPO=${RAMM_REPO:-$RAMM_TOP}
log=$LOGS/source.log
: >"$log"

[[ -f $TARBALL ]] || die "$TARBALL is missing: run scripts/deps.sh (package linux-source-6.1)"

# --- 1. pristine source, once per tarball -----------------------------------
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
want_stamp="$TARBALL ${pkgver:-?} $(stat -c '%s %Y' "$TARBALL")"
stamp=$BUILD/src/.extracted
if [[ ! -f $stamp || $(cat "$stamp") != "$want_stamp" ]]; then
	echo "extracting $TARBALL (${pkgver:-?})" >>"$log"
	rm -rf "$BUILD/src" "$TREE"
	mkdir -p "$BUILD/src"
	run_logged "$log" tar -C "$BUILD/src" -xf "$TARBALL"
	echo "$want_stamp" >"$stamp"
fi
if [[ ! -f $TREE/.ramm-tree ]]; then
	rm -rf "$TREE" "$TREE.tmp"
	run_logged "$log" cp -a "$PRISTINE" "$TREE.tmp"
	touch "$TREE.tmp/.ramm-tree"
	mv "$TREE.tmp" "$TREE"
fi

# --- 2. compose the managed files in a scratch directory --------------------
stage=$BUILD/stage
rm -rf "$stage"
mkdir -p "$stage"

mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
	"$REPO/patches/series")

patched=()
for p in "${series[@]}"; do
	[[ -f $REPO/patches/$p ]] || die "patches/series names $p, which does not exist"
	while read -r f; do patched+=("$f"); done < <(
		sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "$REPO/patches/$p")
done
for f in "${patched[@]}"; do
	if [[ -f $PRISTINE/$f && ! -e $stage/$f ]]; then
		mkdir -p "$stage/$(dirname "$f")"
		cp -p "$PRISTINE/$f" "$stage/$f"
	fi
done
for p in "${series[@]}"; do
	if ! out=$(patch -d "$stage" -p1 -F0 -f --no-backup-if-mismatch \
			-r - <"$REPO/patches/$p" 2>&1); then
		echo "$out" >>"$log"
		echo "error: patches/$p does not apply to $(basename "$TARBALL") ${pkgver:-}:" >&2
		sed 's/^/    /' <<<"$out" >&2
		exit 1
	fi
	echo "applied $p" >>"$log"
done

overlay() {	# overlay SRC_DIR DEST_PREFIX [find args]
	local src=$1 dest=$2; shift 2
	[[ -d $src ]] || return 0
	(cd "$src" && find . -type f "$@" -print) | while read -r f; do
		f=${f#./}
		if [[ -e $stage/$dest/$f ]]; then
			die "$dest/$f is both patched and an overlay file: one home per file"
		fi
		mkdir -p "$stage/$dest/$(dirname "$f")"
		cp -p "$src/$f" "$stage/$dest/$f"
	done
}
overlay "$REPO/mm-ramm" mm/ramm -not -path './include/*' \
	-not -path './Documentation/*'
overlay "$REPO/mm-ramm/include" include
overlay "$REPO/mm-ramm/Documentation" Documentation
overlay "$REPO/uapi" include/uapi
overlay "$REPO/selftests/ramm" tools/testing/selftests/ramm \
	-not -name '*.o' -not -name '.*.swp'
if [[ -f $REPO/Kconfig.ramm ]]; then
	mkdir -p "$stage/mm/ramm"
	cp -p "$REPO/Kconfig.ramm" "$stage/mm/ramm/Kconfig"
fi

# --- 3. sync into the tree ---------------------------------------------------
manifest=$TREE/.ramm-managed
mapfile -t now < <(cd "$stage" && find . -type f | sed 's#^\./##' | sort)
touch "$manifest"
# Record the union first: if we are interrupted mid-copy, the next run still
# knows every file it may have touched.
sort -u <(printf '%s\n' "${now[@]}") "$manifest" 2>/dev/null >"$manifest.new" || true
mv "$manifest.new" "$manifest"

changed=0
while read -r f; do
	[[ -n $f ]] || continue
	if [[ -f $stage/$f ]]; then
		want=$stage/$f
	elif [[ -f $PRISTINE/$f ]]; then
		want=$PRISTINE/$f	# no longer patched: back to pristine
	else
		want=		# no longer an overlay file: remove
	fi
	if [[ -z $want ]]; then
		if [[ -e $TREE/$f ]]; then
			rm -f "$TREE/$f"; changed=$((changed + 1))
		fi
	elif ! cmp -s "$want" "$TREE/$f"; then
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$want" "$TREE/$f.ramm-tmp" && mv "$TREE/$f.ramm-tmp" "$TREE/$f"
		changed=$((changed + 1))
		echo "updated $f" >>"$log"
	fi
done <"$manifest"
printf '%s\n' "${now[@]}" >"$manifest"
echo "$changed file(s) changed in $TREE" >>"$log"
