/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * RAMM: a RAM market.  A process attaches a price to its private anonymous
 * memory; when RAM runs short the kernel asks the owners of the cheapest
 * memory to give it back, and may drop cheap *discardable* memory itself.
 *
 * The price is a __u64 on one machine-wide scale: the work, in nanoseconds,
 * needed to recreate one page of the content.  0 means "unpriced" (ordinary
 * memory).  Only private anonymous mappings can be priced.
 *
 * Detect RAMM with prctl(PR_RAMM, PR_RAMM_PROBE, 0, 0, 0): it returns the API
 * version (> 0) on a RAMM kernel and fails with EINVAL on any other kernel.
 * Do not probe by calling __NR_mmap_priced and waiting for ENOSYS: the number
 * is assigned per kernel version (on mainline 451 is cachestat).
 *
 * Documentation/userspace-api/ramm.rst has the full contract.
 */
#ifndef _UAPI_LINUX_RAMM_H
#define _UAPI_LINUX_RAMM_H

#include <linux/const.h>
#include <linux/types.h>

/* The API version PR_RAMM_PROBE returns. */
#define RAMM_API_VERSION	1

/*
 * ramm_flags: properties of a priced range.
 *
 * RAMM_DISCARDABLE: the owner can recreate the content.  If the owner does
 * not give the memory back when asked, or RAM is needed at once, the kernel
 * may drop it; later reads see zero-filled pages and the owner is told.
 * Without it a priced range is *preserved*: RAMM asks, but never drops it.
 */
#define RAMM_DISCARDABLE	_BITULL(0)

/**
 * struct ramm_mmap_args - arguments of mmap_priced(2)
 * @addr:       as mmap(2)'s addr; must be page aligned (0: kernel chooses).
 * @len:        length in bytes, > 0; rounded up to a whole page.
 * @prot:       PROT_READ, PROT_WRITE, PROT_EXEC or PROT_NONE.
 * @flags:      MAP_PRIVATE | MAP_ANONYMOUS, plus optionally MAP_FIXED,
 *              MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_POPULATE.  Nothing
 *              else: shared and file-backed memory cannot be priced.
 * @price:      the price of every page of the mapping, > 0.
 * @ramm_flags: RAMM_* flags.
 *
 * Pass the struct and sizeof(it): mmap_priced(&args, sizeof(args)).  Newer
 * kernels may grow the struct; fields a kernel does not know must be zero
 * (else E2BIG), and fields an older program does not pass read as zero.
 */
struct ramm_mmap_args {
	__u64 addr;
	__u64 len;
	__u64 prot;
	__u64 flags;
	__u64 price;
	__u64 ramm_flags;
};

#define RAMM_MMAP_ARGS_SIZE_VER0	48	/* sizeof first published struct */

/*
 * prctl(PR_RAMM, sub-command, arg3, arg4, arg5).  One option with a magic
 * number, in the style of PR_SET_VMA: small option numbers are handed out by
 * later kernels (65 is PR_SET_MDWE from 6.3 on).  Every argument a
 * sub-command does not use must be 0, else EINVAL.
 */
#define PR_RAMM				0x52414d4d	/* "RAMM" */

/*
 * PR_RAMM_PROBE: arg3 = struct ramm_probe * or NULL, arg4 = its size (0 with
 * NULL), arg5 = 0.  Returns RAMM_API_VERSION and, if arg3 is set, fills it.
 */
# define PR_RAMM_PROBE			1
/*
 * PR_RAMM_SET_PRICE: arg3 = const struct ramm_range *, arg4 = its size,
 * arg5 = 0.  Prices [addr, addr + len) (addr page aligned, len > 0, rounded
 * up to a page), splitting and merging VMAs as madvise(2) does.  price 0
 * with ramm_flags 0 makes the range ordinary memory again.  The whole range
 * must be mapped private anonymous memory; nothing is changed otherwise.
 */
# define PR_RAMM_SET_PRICE		2
/*
 * PR_RAMM_GET_PRICE: arg3 = struct ramm_range *, arg4 = its size, arg5 = 0.
 * Reads .addr (any address); writes back the extent of the mapping that
 * contains it in .addr and .len, with its .price and .ramm_flags (0 and 0
 * for unpriced memory).
 */
# define PR_RAMM_GET_PRICE		3
/*
 * PR_RAMM_GET_STATS: arg3 = struct ramm_stats *, arg4 = its size, arg5 = 0.
 * The calling process's priced totals.
 */
# define PR_RAMM_GET_STATS		4
/*
 * Sub-commands 5 to 8 are reserved for registering as a participant and
 * reading eviction requests; until then they fail with EINVAL.
 */

/**
 * struct ramm_probe - what this kernel's RAMM supports (PR_RAMM_PROBE)
 * @version:    RAMM_API_VERSION of the running kernel.
 * @ramm_flags: the RAMM_* flags it accepts.
 * @commands:   bit N set when PR_RAMM sub-command N is implemented.
 */
struct ramm_probe {
	__u64 version;
	__u64 ramm_flags;
	__u64 commands;
};

#define RAMM_PROBE_SIZE_VER0		24

/**
 * struct ramm_range - a range and its price (PR_RAMM_SET/GET_PRICE)
 * @addr:       start address.
 * @len:        length in bytes.
 * @price:      price per page; 0 = unpriced.
 * @ramm_flags: RAMM_* flags.
 */
struct ramm_range {
	__u64 addr;
	__u64 len;
	__u64 price;
	__u64 ramm_flags;
};

#define RAMM_RANGE_SIZE_VER0		32

/**
 * struct ramm_stats - a process's priced memory (PR_RAMM_GET_STATS)
 * @priced_bytes:      bytes mapped with a non-zero price.
 * @discardable_bytes: the part of them marked RAMM_DISCARDABLE.
 * @priced_ranges:     number of priced VMAs.
 */
struct ramm_stats {
	__u64 priced_bytes;
	__u64 discardable_bytes;
	__u64 priced_ranges;
};

#define RAMM_STATS_SIZE_VER0		24

#endif /* _UAPI_LINUX_RAMM_H */
