#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make series: the RFC patch series, generated from the files' one home.
#
#   series.sh           generate out/series/, check it applies to the
#                       pristine source as exactly the tree source.sh makes,
#                       run checkpatch.pl --strict on every patch, and build
#                       every patch in order (RAMM_SERIES_BUILD=0 skips the
#                       builds)
#   series.sh --check   generate into build/series-check/ and compare only:
#                       the cheap step make check runs
#   series.sh --lint    only check that patches/rfc-split accounts for every
#                       file and hunk (no source tree needed)
#
# How: patches/rfc-split (the manifest) says which hunks of patches/series
# and which new files make up each RFC patch.  A throwaway git tree
# (build/series-git) holds the pristine source as one commit, made once per
# tarball; each run resets it there, commits one RFC patch per stanza and
# runs git format-patch --cover-letter --base.  The cover letter is
# patches/cover-letter.txt with the API, the numbers (bench/results.json)
# and the rest spliced in.
#
# Environment:
#   RAMM_SERIES_AUTHOR  "Name <mail>" for From: and Signed-off-by: (default:
#                       the From: line of the first patch in patches/series)
#   RAMM_SERIES_BUILD   0: no bisect builds
#   RAMM_SERIES_OUT     where the patches go (default out/series)
. "$(dirname "$0")/lib.sh"

mode=series
case ${1:-} in
"") ;;
--check) mode=check;;
--lint) mode=lint;;	# the manifest's accounting only (scripts/tests/series-test.sh)
*) die "usage: series.sh [--check|--lint]";;
esac

P=$RAMM_TOP/patches
MANIFEST=$P/rfc-split
GITDIR=$BUILD/series-git
if [[ $mode == check ]]; then
	OUT=${RAMM_SERIES_OUT:-$BUILD/series-check}
else
	OUT=${RAMM_SERIES_OUT:-$RAMM_TOP/out/series}
fi
log=$LOGS/series.log
: >"$log"

[[ -f $MANIFEST ]] || die "$MANIFEST is missing"

# --- the homes, exactly as scripts/source.sh overlays them ------------------
# home_files: every new-file home, as repository paths.
home_files() {
	(cd "$RAMM_TOP" && {
		find mm-ramm uapi -type f
		find selftests/ramm -type f -not -name '*.o' -not -name '.*.swp'
		[[ ! -f Kconfig.ramm ]] || echo Kconfig.ramm
		[[ ! -f patches/MAINTAINERS.entry ]] || echo patches/MAINTAINERS.entry
	} | LC_ALL=C sort)
}
# tree_path REPO_PATH: where a home file goes in the kernel tree.
tree_path() {
	case $1 in
	mm-ramm/include/*) echo "include/${1#mm-ramm/include/}";;
	mm-ramm/Documentation/*) echo "Documentation/${1#mm-ramm/Documentation/}";;
	mm-ramm/*) echo "mm/ramm/${1#mm-ramm/}";;
	uapi/*) echo "include/uapi/${1#uapi/}";;
	selftests/ramm/*) echo "tools/testing/selftests/ramm/${1#selftests/ramm/}";;
	Kconfig.ramm) echo mm/ramm/Kconfig;;
	patches/MAINTAINERS.entry) echo MAINTAINERS;;
	*) die "internal: $1 has no home";;
	esac
}

# --- patch files: sections and hunks -----------------------------------------
# patch_units PATCH: "FILE NHUNKS" for each file the patch touches.
# patch_piece PATCH FILE [HUNKS]: that file's section (header and the listed
# hunks, comma-separated; all without HUNKS), ready for patch -p1.
# Hunks are read by their line counts, so a removed line that looks like a
# header cannot end one early.
patch_awk='
/^--- / && !in_hunk {
	pending = $0; next
}
/^\+\+\+ b\// && pending != "" && !in_hunk {
	file = substr($2, 3); sub(/\t.*/, "", file)
	nh[file] = 0; order[++nf] = file
	hdr[file] = pending "\n" $0
	pending = ""; next
}
/^@@ / && file != "" && !in_hunk {
	split($2, o, ","); split($3, n, ",")
	old = (o[2] == "" ? 1 : o[2]); new = (n[2] == "" ? 1 : n[2])
	nh[file]++; h = nh[file]
	text[file, h] = $0
	in_hunk = (old + new > 0); next
}
in_hunk {
	text[file, h] = text[file, h] "\n" $0
	c = substr($0, 1, 1)
	if (c == " ") { old--; new-- }
	else if (c == "-") old--
	else if (c == "+") new--
	if (old <= 0 && new <= 0) {
		in_hunk = 0
		# "\ No newline at end of file" may follow the last line.
	}
	next
}
/^\\ / && file != "" {
	text[file, h] = text[file, h] "\n" $0; next
}
{ pending = "" }
END {
	if (in_hunk) { print "truncated hunk in " file > "/dev/stderr"; exit 1 }
	if (mode == "units") {
		for (i = 1; i <= nf; i++) print order[i], nh[order[i]]
		exit 0
	}
	if (!(want in nh)) { print "no section for " want > "/dev/stderr"; exit 1 }
	print hdr[want]
	if (hunks == "") for (i = 1; i <= nh[want]; i++) sel[i] = 1
	else { k = split(hunks, hl, ","); for (i = 1; i <= k; i++) sel[hl[i]] = 1 }
	for (i = 1; i <= nh[want]; i++) if (sel[i]) print text[want, i]
}'
patch_units() { awk -v mode=units "$patch_awk" "$1"; }
patch_piece() { awk -v mode=piece -v want="$2" -v hunks="${3:-}" "$patch_awk" "$1"; }

# patch_body PATCH: the commit message body of a patches/ file (between the
# Subject: header and the Signed-off-by: trailer).
patch_body() {
	awk '
	/^Subject:/ { hdr = 1; next }
	hdr && /^$/ { hdr = 0; body = 1; next }
	hdr { next }
	body && (/^Signed-off-by:/ || /^---$/) { exit }
	body { print }' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# file_head FILE LINE: FILE up to the line LINE, without the blank lines
# before it: what the RFC patch that brings FILE has of a file whose tail
# (from LINE) a later one adds.
file_head() {
	awk -v from="$2" '$0 == from { exit } { print }' "$1" |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# --- read patches/series and the manifest ------------------------------------
mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$P/series")
declare -A by_num=()	# NNNN -> patch file name
for p in "${series[@]}"; do
	[[ -f $P/$p ]] || die "patches/series names $p, which does not exist"
	by_num[${p%%-*}]=$p
done
for f in "$P"/[0-9]*.patch; do
	[[ -e $f ]] || continue
	b=$(basename "$f")
	[[ ${by_num[${b%%-*}]:-} == "$b" ]] ||
		die "patches/$b is not in patches/series: add it there (and to patches/rfc-split) or remove it"
done

n=0
subjects=() bodies=() actions=()	# actions: "hunks NNNN FILE[@..]", "files PATH" or "tail PATH", one per line
declare -A tail_from=()	# home -> the line its tail starts at
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
	lineno=$((lineno + 1))
	where="patches/rfc-split:$lineno"
	case $line in
	''|'#'*) continue;;
	'patch '*)
		n=$((n + 1))
		subjects[n]=${line#patch }
		bodies[n]=""
		actions[n]=""
		continue;;
	esac
	((n > 0)) || die "$where: '$line' before the first 'patch' line"
	read -r kw rest <<<"$line"
	case $kw in
	hunks)
		read -ra w <<<"$rest"
		((${#w[@]} >= 1)) || die "$where: 'hunks' needs a patch number"
		num=${w[0]}
		[[ -n ${by_num[$num]:-} ]] ||
			die "$where: no patch $num in patches/series"
		if ((${#w[@]} == 1)); then
			while read -r f _; do
				actions[n]+="hunks $num $f"$'\n'
			done < <(patch_units "$P/${by_num[$num]}")
		else
			for f in "${w[@]:1}"; do actions[n]+="hunks $num $f"$'\n'; done
		fi;;
	files)
		read -ra w <<<"$rest"
		for f in "${w[@]}"; do actions[n]+="files $f"$'\n'; done;;
	tail)
		read -r f from <<<"$rest"
		[[ -n $from ]] || die "$where: write 'tail FILE LINE'"
		[[ -z ${tail_from[$f]:-} ]] || die "$where: $f has a tail already"
		tail_from[$f]=$from
		actions[n]+="tail $f"$'\n';;
	body-from)
		num=${rest%% *}
		[[ -n ${by_num[$num]:-} ]] || die "$where: no patch $num in patches/series"
		bodies[n]+="$(patch_body "$P/${by_num[$num]}")"$'\n';;
	'|'*)
		if [[ $line == '|' ]]; then bodies[n]+=$'\n'
		elif [[ $line == '| '* ]]; then bodies[n]+="${line#| }"$'\n'
		else die "$where: body lines start with '| '"; fi;;
	*) die "$where: unknown keyword '$kw' (patch, hunks, files, tail, body-from, |)";;
	esac
done <"$MANIFEST"
((n > 0)) || die "patches/rfc-split has no 'patch' stanza"
NPATCH=$n

# --- every file and every hunk in exactly one RFC patch -----------------------
errors=()
declare -A owner=()	# unit -> RFC patch number
mapfile -t homes < <(home_files)
declare -A want_hunks=()	# "NNNN FILE" -> hunk count
for p in "${series[@]}"; do
	while read -r f nh; do
		want_hunks["${p%%-*} $f"]=$nh
	done < <(patch_units "$P/$p")
done
for ((i = 1; i <= NPATCH; i++)); do
	[[ -n ${bodies[i]//[[:space:]]/} ]] || errors+=("patch $i (${subjects[i]}) has no body")
	[[ -n ${actions[i]} ]] || errors+=("patch $i (${subjects[i]}) brings nothing")
	while read -r kind a b; do
		[[ -n $kind ]] || continue
		if [[ $kind == files ]]; then
			matched=0
			for h in "${homes[@]}"; do
				# shellcheck disable=SC2053
				[[ $h == $a ]] || continue
				matched=1
				if [[ -n ${owner[file:$h]:-} ]]; then
					errors+=("$h is in RFC patches ${owner[file:$h]} and $i")
				else
					owner[file:$h]=$i
				fi
			done
			((matched)) || errors+=("patch $i: 'files $a' matches no file")
			continue
		fi
		if [[ $kind == tail ]]; then
			if [[ -z ${owner[file:$a]:-} ]]; then
				errors+=("patch $i: 'tail $a': no earlier RFC patch brings $a with 'files'")
			elif [[ $(grep -cxF -- "${tail_from[$a]}" "$RAMM_TOP/$a") != 1 ]]; then
				errors+=("patch $i: 'tail $a': the line '${tail_from[$a]}' must be in $a exactly once")
			fi
			continue
		fi
		f=${b%@*} sel=""
		[[ $b == *@* ]] && sel=${b#*@}
		key="$a $f"
		if [[ -z ${want_hunks[$key]:-} ]]; then
			errors+=("patch $i: patches/${by_num[$a]} has no section for $f")
			continue
		fi
		total=${want_hunks[$key]}
		if [[ -z $sel ]]; then
			hl=$(seq -s, 1 "$total")
		else
			[[ $sel =~ ^([0-9]+(,[0-9]+)*)/([0-9]+)$ ]] ||
				{ errors+=("patch $i: '$b': write FILE@H,H/TOTAL"); continue; }
			hl=${BASH_REMATCH[1]}
			if [[ ${BASH_REMATCH[3]} != "$total" ]]; then
				errors+=("patch $i: $f in patches/${by_num[$a]} has $total hunks now, not ${BASH_REMATCH[3]}: check which hunks go where")
				continue
			fi
		fi
		IFS=, read -ra hs <<<"$hl"
		for h in "${hs[@]}"; do
			if ((h < 1 || h > total)); then
				errors+=("patch $i: $f has no hunk $h in patches/${by_num[$a]}")
			elif [[ -n ${owner[hunk:$key@$h]:-} ]]; then
				errors+=("hunk $h of $f in patches/${by_num[$a]} is in RFC patches ${owner[hunk:$key@$h]} and $i")
			else
				owner[hunk:$key@$h]=$i
			fi
		done
	done <<<"${actions[i]}"
	# Bodies are wrapped at 75 columns.
	while IFS= read -r bl; do
		((${#bl} <= 75)) || errors+=("patch $i: body line longer than 75 columns: $bl")
	done <<<"${bodies[i]}"
done
for h in "${homes[@]}"; do
	[[ -n ${owner[file:$h]:-} ]] || errors+=("$h is in no RFC patch: add it to a 'files' line")
done
for key in "${!want_hunks[@]}"; do
	for ((h = 1; h <= want_hunks[$key]; h++)); do
		num=${key%% *}
		[[ -n ${owner[hunk:$key@$h]:-} ]] ||
			errors+=("hunk $h of ${key#* } in patches/${by_num[$num]} is in no RFC patch: add it to a 'hunks' line")
	done
done
if ((${#errors[@]})); then
	echo "error: patches/rfc-split does not account for the series exactly:" >&2
	printf '    %s\n' "${errors[@]}" | LC_ALL=C sort >&2
	exit 1
fi

[[ $mode != lint ]] || { echo "patches/rfc-split: $NPATCH RFC patches, every file and hunk in exactly one"; exit 0; }

[[ -d $PRISTINE && -f $BUILD/src/.extracted ]] ||
	die "no pristine source in $PRISTINE: run scripts/source.sh (make source) first"

# One run at a time owns build/series-git (make series and make check may
# overlap).
exec 9>"$BUILD/series.lock"
flock -n 9 || { echo "waiting for another series.sh to finish" >&2; flock 9; }

# --- identity ------------------------------------------------------------------
if [[ -n ${RAMM_SERIES_AUTHOR:-} ]]; then
	ident=$RAMM_SERIES_AUTHOR
else
	ident=$(sed -n 's/^From: //p' "$P/${series[0]}" | head -n 1)
fi
[[ $ident =~ ^([^<]*[^<[:space:]])[[:space:]]*\<([^>]+@[^>]+)\>$ ]] ||
	die "the author must be \"Name <mail>\", not \"$ident\" (RAMM_SERIES_AUTHOR)"
author_name=${BASH_REMATCH[1]} author_mail=${BASH_REMATCH[2]}
# Commits are dated by the repository's last commit, so that a given
# checkout always gives the same series.
if ! series_date=$(git -C "$RAMM_TOP" log -1 --format=%cI 2>/dev/null); then
	series_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	echo "note: $RAMM_TOP is not a git checkout: dating the series now" >&2
fi

# --- the throwaway git tree: pristine, once per tarball ------------------------
g() { git -C "$GITDIR" -c core.autocrlf=false -c advice.detachedHead=false "$@"; }
base_stamp=$(cat "$BUILD/src/.extracted")
ver=$(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p;s/^SUBLEVEL = //p' "$PRISTINE/Makefile" | paste -sd.)
base_msg="Linux $ver (Debian linux-source-6.1)"
if [[ ! -f $GITDIR/.git/ramm-base || $(cat "$GITDIR/.git/ramm-base") != "$base_stamp" ]]; then
	echo "making the pristine commit in $GITDIR (once per tarball, about a minute)" >&2
	rm -rf "$GITDIR"
	run_logged "$log" cp -a "$PRISTINE" "$GITDIR"
	run_logged "$log" git -C "$GITDIR" init -q -b ramm-series
	# No background gc: it would outlive this script and hold its lock.
	git -C "$GITDIR" config gc.auto 0
	git -C "$GITDIR" config maintenance.auto false
	run_logged "$log" g -c core.compression=1 -c core.looseCompression=1 add -A -f
	base_date="@$(stat -c %Y "$PRISTINE/Makefile") +0000"
	GIT_AUTHOR_NAME="linux-source-6.1" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org" \
	GIT_COMMITTER_NAME="linux-source-6.1" GIT_COMMITTER_EMAIL="debian-kernel@lists.debian.org" \
	GIT_AUTHOR_DATE=$base_date GIT_COMMITTER_DATE=$base_date \
		run_logged "$log" g commit -q --no-verify -m "$base_msg"
	g tag -f ramm-pristine >>"$log"
	echo "$base_stamp" >"$GITDIR/.git/ramm-base"
fi
base=$(g rev-parse ramm-pristine)
run_logged "$log" g checkout -q -f -B ramm-series ramm-pristine
run_logged "$log" g clean -q -f -d -x

# MAINTAINERS with the entry in its alphabetical place.
maintainers_with_entry() {	# maintainers_with_entry MAINTAINERS ENTRY
	local title
	title=$(head -n 1 "$2")
	LC_ALL=C awk -v title="$title" -v entry="$2" '
	function flush_entry(  l) {
		while ((getline l < entry) > 0) print l
		print ""
		done = 1
	}
	/^3C59X NETWORK DRIVER$/ { list = 1 }
	list && !done && prev == "" && $0 ~ /^[A-Z0-9]/ && toupper($0) > toupper(title) {
		flush_entry()
	}
	{ print; prev = $0 }
	END { if (!done) exit 1 }' "$1"
}

# --- one commit per RFC patch ---------------------------------------------------
W=$GITDIR
piece=$BUILD/series-piece.patch
for ((i = 1; i <= NPATCH; i++)); do
	while read -r kind a b; do
		[[ -n $kind ]] || continue
		if [[ $kind == files ]]; then
			for h in "${homes[@]}"; do
				# shellcheck disable=SC2053
				[[ $h == $a ]] || continue
				t=$(tree_path "$h")
				if [[ $t == MAINTAINERS ]]; then
					maintainers_with_entry "$W/MAINTAINERS" "$RAMM_TOP/$h" >"$W/MAINTAINERS.new" ||
						die "no place for patches/MAINTAINERS.entry in MAINTAINERS"
					mv "$W/MAINTAINERS.new" "$W/MAINTAINERS"
					continue
				fi
				if [[ -e $W/$t ]] && g ls-files --error-unmatch "$t" >/dev/null 2>&1; then
					die "$h would overwrite $t, which the pristine source has: change it with a patch in patches/ instead"
				fi
				mkdir -p "$W/$(dirname "$t")"
				if [[ -n ${tail_from[$h]:-} ]]; then
					file_head "$RAMM_TOP/$h" "${tail_from[$h]}" >"$W/$t"
				else
					cp -p "$RAMM_TOP/$h" "$W/$t"
				fi
			done
			continue
		fi
		if [[ $kind == tail ]]; then
			cp "$RAMM_TOP/$a" "$W/$(tree_path "$a")"
			continue
		fi
		f=${b%@*} sel=""
		[[ $b == *@* ]] && { sel=${b#*@}; sel=${sel%/*}; }
		patch_piece "$P/${by_num[$a]}" "$f" "$sel" >"$piece"
		if ! out=$(patch -d "$W" -p1 -F0 -f --no-backup-if-mismatch -r - <"$piece" 2>&1); then
			echo "$out" >>"$log"
			die "RFC patch $i (${subjects[i]}): $f from patches/${by_num[$a]}${sel:+ (hunks $sel)} does not apply at this point of the series:
$(sed 's/^/    /' <<<"$out")
    reorder the stanzas of patches/rfc-split, or the hunks"
		fi
	done <<<"${actions[i]}"
	run_logged "$log" g add -A -f
	if g diff --cached --quiet; then
		die "RFC patch $i (${subjects[i]}) changes nothing"
	fi
	{
		echo "${subjects[i]}"
		echo
		printf '%s' "${bodies[i]}" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
		echo
		echo "Signed-off-by: $author_name <$author_mail>"
	} >"$BUILD/series-msg.txt"
	GIT_AUTHOR_NAME=$author_name GIT_AUTHOR_EMAIL=$author_mail \
	GIT_COMMITTER_NAME=$author_name GIT_COMMITTER_EMAIL=$author_mail \
	GIT_AUTHOR_DATE=$series_date GIT_COMMITTER_DATE=$series_date \
		run_logged "$log" g commit -q --no-verify --cleanup=verbatim \
			-F "$BUILD/series-msg.txt"
done
rm -f "$piece" "$BUILD/series-msg.txt"

# --- format-patch and the cover letter --------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
GIT_COMMITTER_DATE=$series_date run_logged "$log" g -c diff.renames=false \
	-c user.name="$author_name" -c user.email="$author_mail" \
	format-patch -q --cover-letter \
	--subject-prefix="RFC PATCH" --base="$base" --zero-commit \
	--no-signature -o "$OUT" "$base..HEAD"
cover=$(ls "$OUT"/0000-cover-letter.patch)
python3 "$RAMM_TOP/scripts/series-cover.py" "$cover" "$P/cover-letter.txt" \
	"$RAMM_TOP/uapi/linux/ramm.h" "$RAMM_TOP/bench/results.json" \
	"$RAMM_TOP/bench/results.md" >>"$log" 2>"$BUILD/series-cover.err" ||
	die "could not write the cover letter: $(cat "$BUILD/series-cover.err")"
rm -f "$BUILD/series-cover.err"
echo "$NPATCH patches and a cover letter in $OUT"

# --- the series, applied to the pristine source, is the tree source.sh made ------
# Every file the series touches is taken from the pristine source (or is
# new), the series is applied with patch -p1 as a maintainer would, and the
# result must equal build/stage, the files source.sh composed (its
# MAINTAINERS being the pristine one plus the entry): same files, same
# content, same executable bits.
verify() {
	local v=$BUILD/series-verify want=$BUILD/series-verify-want stage=$BUILD/stage
	[[ -d $stage ]] || { echo "no $stage: run scripts/source.sh first" >&2; return 1; }
	rm -rf "$v" "$want"
	mkdir -p "$v" "$want"
	local f
	while read -r f; do
		[[ -f $PRISTINE/$f ]] || continue
		mkdir -p "$v/$(dirname "$f")"
		cp -p "$PRISTINE/$f" "$v/$f"
	done < <(sed -n 's#^+++ b/##p' "$OUT"/[0-9]*.patch | sort -u)
	local p out
	for p in "$OUT"/[0-9]*.patch; do
		[[ $(basename "$p") != 0000-cover-letter.patch ]] || continue
		if ! out=$(patch -d "$v" -p1 -F0 -f --no-backup-if-mismatch -r - <"$p" 2>&1); then
			echo "$(basename "$p") does not apply to the pristine source plus the patches before it:" >&2
			sed 's/^/    /' <<<"$out" >&2
			return 1
		fi
	done
	cp -a "$stage/." "$want/"
	if [[ -f $RAMM_TOP/patches/MAINTAINERS.entry ]]; then
		maintainers_with_entry "$PRISTINE/MAINTAINERS" \
			"$RAMM_TOP/patches/MAINTAINERS.entry" >"$want/MAINTAINERS"
	fi
	if ! diff -r "$want" "$v" >"$LOGS/series-verify.diff" 2>&1; then
		echo "the series applied to the pristine source differs from $stage (+MAINTAINERS):" >&2
		head -n 40 "$LOGS/series-verify.diff" | sed 's/^/    /' >&2
		echo "    (all of it: $LOGS/series-verify.diff; if a file changed since scripts/source.sh ran, run it again)" >&2
		return 1
	fi
	if ! diff <(cd "$want" && find . -type f -perm -u+x | sort) \
		  <(cd "$v" && find . -type f -perm -u+x | sort) >>"$LOGS/series-verify.diff"; then
		echo "executable bits differ between the series and $stage: see $LOGS/series-verify.diff" >&2
		return 1
	fi
	rm -rf "$v" "$want"
}
if verify; then
	echo "applied to pristine $ver, the series is exactly the tree source.sh made ($(find "$BUILD/stage" -type f | wc -l) files)"
else
	exit 1
fi
[[ $mode == series ]] || exit 0

# --- checkpatch.pl --strict ---------------------------------------------------------
# Run from the tree at the tip (it reads MAINTAINERS, the spelling list and
# the source the patches are against).
cp_dir=$LOGS/series-checkpatch
rm -rf "$cp_dir"
mkdir -p "$cp_dir"
cp_errors=0
echo "checkpatch.pl --strict:"
for p in "$OUT"/*.patch; do
	[[ $(basename "$p") != 0000-cover-letter.patch ]] || continue
	r=$cp_dir/$(basename "$p" .patch).txt
	(cd "$W" && perl scripts/checkpatch.pl --strict --show-types --no-summary-file \
		--color=never "$p") >"$r" 2>&1 || true
	sum=$({ grep -E '^total: [0-9]+ errors' "$r" || true; } | tail -n 1)
	[[ -n $sum ]] || { cat "$r" >&2; die "checkpatch.pl printed no summary for $(basename "$p")"; }
	e=$(sed -E 's/^total: ([0-9]+) errors, ([0-9]+) warnings, ([0-9]+) checks.*/\1/' <<<"$sum")
	wn=$(sed -E 's/^total: ([0-9]+) errors, ([0-9]+) warnings, ([0-9]+) checks.*/\2/' <<<"$sum")
	c=$(sed -E 's/^total: ([0-9]+) errors, ([0-9]+) warnings, ([0-9]+) checks.*/\3/' <<<"$sum")
	types=$(sed -nE 's/^(ERROR|WARNING|CHECK):([A-Z_]+):.*/\2/p' "$r" | sort | uniq -c |
		awk '{printf "%s%s x%d", sep, $2, $1; sep=", "}')
	printf '    %-62s %2d errors %2d warnings %2d checks%s\n' \
		"$(basename "$p" .patch | cut -c1-62)" "$e" "$wn" "$c" "${types:+  ($types)}"
	cp_errors=$((cp_errors + e))
done
echo "    reports: $cp_dir/"
((cp_errors == 0)) || die "checkpatch.pl found $cp_errors error(s): see $cp_dir/"

# --- bisect builds ------------------------------------------------------------------
if [[ ${RAMM_SERIES_BUILD:-1} == 0 ]]; then
	echo "bisect builds skipped (RAMM_SERIES_BUILD=0)"
	exit 0
fi
"$RAMM_TOP/scripts/series-build.sh" "$GITDIR" "$base" "$NPATCH"
