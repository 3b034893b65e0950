#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# series-build.sh GITDIR BASE N: build every commit of BASE..HEAD in GITDIR
# (the N RFC patches series.sh made), in order: the series is bisectable.
#
# Every patch with CONFIG_RAMM=y, from the same fragments as the release
# kernel (scripts/configs/{guest,x86_64}.config and selftests/ramm/config, no
# debugging); the first (the wire-up) and the last also with CONFIG_RAMM=n
# (scripts/configs/ramm-off.config).  Before mm/ramm/Kconfig exists
# CONFIG_RAMM cannot be set, and the =y build is a build without RAMM.
# A patch that changes only Documentation/, tools/ or MAINTAINERS changes
# nothing the kernel build reads, and is not built again.
#
# One build at a time, under nice -n 19 (other builds share the machine),
# with ccache, out of tree in build/series-build/; kbuild rebuilds only what
# each patch touched.  A build fails on an error, and on a compiler warning
# in a file the series touches.
#
# ccache finds an object only when the compiler's command line is the same,
# and that holds the source tree's path.  So each build runs in a private
# mount namespace in which the series tree is mounted where the kernels of
# scripts/kernel.sh were built from: build/linux for patches with RAMM in
# Kconfig (the release and noramm kernels), the pristine source before
# (the stock kernel).  Nobody else sees the mount, and every file that
# differs is compiled.  Without unshare(1) privileges the builds run in
# place, and take longer.
. "$(dirname "$0")/lib.sh"

(($# == 3)) || die "usage: series-build.sh GITDIR BASE N"
G=$1 base=$2 npatch=$3
C=$RAMM_TOP/scripts/configs
out=$BUILD/series-build
mkdir -p "$out"
rm -f "$LOGS"/series-build-*.log
mapfile -t commits < <(git -C "$G" rev-list --reverse "$base..HEAD")
((${#commits[@]} == npatch)) ||
	die "$G has ${#commits[@]} commits after the base, not $npatch"

y_frags=("$C/guest.config" "$C/x86_64.config" "$RAMM_TOP/selftests/ramm/config")
n_frags=("$C/guest.config" "$C/x86_64.config" "$C/ramm-off.config")
for f in "${y_frags[@]}" "${n_frags[@]}"; do
	[[ -f $f ]] || die "config fragment $f does not exist"
done

# in_tree PATH CMD...: run CMD with the series tree at PATH (see above).
ns_ok=0
if unshare -m --propagation private true 2>/dev/null; then
	ns_ok=1
else
	echo "    note: unshare -m is not permitted: building in $G, without the other kernels' ccache objects"
fi
in_tree() {
	local path=$1; shift
	if ((ns_ok)); then
		unshare -m --propagation private bash -c \
			'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ "$G" "$path" "$@"
	else
		"$@"
	fi
}
bmake() {	# bmake SRC OBJ TARGET...
	local src=$1 obj=$2; shift 2
	in_tree "$src" nice -n 19 make -C "$src" O="$obj" ARCH=x86_64 CC="$(ramm_cc)" \
		KBUILD_BUILD_USER=ramm KBUILD_BUILD_HOST=ramm \
		KBUILD_BUILD_TIMESTAMP="RAMM" -j"$JOBS" "$@"
}

# configure SRC OBJ LOG FRAGMENT...: as scripts/kernel.sh does, when a
# fragment or a Kconfig file changed since OBJ was last configured.
configure() {
	local src=$1 obj=$2 log=$3; shift 3
	local want missing
	want=$( (cat "$@"; git -C "$G" ls-tree -r HEAD | grep -P '\t(.*/)?Kconfig[^/]*$') | sha256sum)
	[[ -f $obj/.config && $(cat "$obj/.ramm-config" 2>/dev/null) == "$want" ]] && return 0
	mkdir -p "$obj"
	bmake "$src" "$obj" tinyconfig >>"$log" 2>&1 || return 1
	in_tree "$src" nice -n 19 "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "$@" >>"$log" 2>&1 || return 1
	bmake "$src" "$obj" olddefconfig >>"$log" 2>&1 || return 1
	mapfile -t missing < <(config_missing "$obj/.config" "$@")
	if ((${#missing[@]})); then
		echo "options not in $obj/.config (unmet dependencies): ${missing[*]}" | tee -a "$log" >&2
		return 1
	fi
	echo "$want" >"$obj/.ramm-config"
}

# The plan: CONFIG_RAMM=y for every patch from the one that adds it to
# Kconfig; CONFIG_RAMM=n for the first patch, the last, and every patch
# before RAMM is in Kconfig (where =y cannot be asked for: those are built
# once, with the =n config).
failed=0 nbuilds=0
declare -A built=()	# object directory -> commit built there
t_all=$SECONDS
echo "bisect builds (nice -n 19, ccache, -j$JOBS, in $out/):"
prev=$base
for ((i = 1; i <= npatch; i++)); do
	c=${commits[i - 1]}
	subj=$(git -C "$G" log -1 --format=%s "$c")
	git -C "$G" -c advice.detachedHead=false checkout -q "$c" ||
		die "cannot check out $c in $G"
	mapfile -t touched < <(git -C "$G" diff --name-only "$base" "$c")
	mapfile -t changed < <(git -C "$G" diff --name-only "$prev" "$c")
	prev=$c
	src_changed=0
	for f in "${changed[@]}"; do
		case $f in
		Documentation/*|tools/*|MAINTAINERS) ;;
		*) src_changed=1;;
		esac
	done
	if [[ -f $G/mm/ramm/Kconfig ]]; then
		kinds=(y)
		((i == 1 || i == npatch)) && kinds+=(n)
		src=$TREE
	else
		kinds=(n)
		src=$PRISTINE
	fi
	for k in "${kinds[@]}"; do
		label="CONFIG_RAMM=$k"
		[[ -f $G/mm/ramm/Kconfig ]] || label="no RAMM yet"
		printf '    %02d %-13s %-50s ' "$i" "$label" "${subj:0:50}"
		log=$LOGS/series-build-$(printf %02d "$i")-$k.log
		: >"$log"
		if [[ $k == y ]]; then
			frags=("${y_frags[@]}") obj=$out/y
		elif [[ $src == "$PRISTINE" ]]; then
			frags=("${n_frags[@]}") obj=$out/n-early
		else
			frags=("${n_frags[@]}") obj=$out/n
		fi
		if ((!src_changed)) && [[ ${built[$obj]:-} == "${commits[i - 2]:-none}" ]]; then
			echo "no kernel source changed: same as $(printf %02d $((i - 1)))"
			built[$obj]=$c
			continue
		fi
		t0=$SECONDS
		if ! configure "$src" "$obj" "$log" "${frags[@]}"; then
			echo "FAILED to configure ($log)"
			failed=1; continue
		fi
		nbuilds=$((nbuilds + 1))
		if ! bmake "$src" "$obj" bzImage >>"$log" 2>&1; then
			echo "FAILED after $(ramm_fmt_time $((SECONDS - t0)))"
			{ grep -E 'error:|Error [0-9]|undefined reference' "$log" || true; } |
				head -n 10 | sed 's/^/        /'
			echo "        (log: $log)"
			failed=1; continue
		fi
		# Warnings in the files the series touches are bugs here.
		warns=$({ grep -E '^[^ :]+:[0-9]+:[0-9]+: warning:' "$log" || true; } | while IFS=: read -r wf rest; do
			wf=${wf#"$src"/}; wf=${wf#"$G"/}
			for t in "${touched[@]}"; do
				if [[ $wf == "$t" ]]; then echo "$wf:$rest"; break; fi
			done
		done | sort -u)
		if [[ -n $warns ]]; then
			echo "WARNINGS after $(ramm_fmt_time $((SECONDS - t0)))"
			sed 's/^/        /' <<<"$warns" | head -n 20
			failed=1; continue
		fi
		built[$obj]=$c
		echo "ok $(ramm_fmt_time $((SECONDS - t0)))"
	done
done
git -C "$G" -c advice.detachedHead=false checkout -q ramm-series
echo "    $nbuilds builds, $(ramm_fmt_time $((SECONDS - t_all)))"
((failed == 0)) || die "a patch of the series does not build: fix the grouping in patches/rfc-split"
