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
 * must be mapped private anonymous memory; nothing is changed otherwise:
 * -ENOMEM if any of it is unmapped, else -EINVAL if any of it is not private
 * anonymous memory.
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
 * PR_RAMM_REGISTER: arg3 = const struct ramm_register * or NULL (the
 * defaults: SIGUSR1, no flags), arg4 = its size (0 with NULL), arg5 = 0.
 * Makes the calling process a *participant*: from now on the kernel may
 * queue eviction requests for its priced memory, and purge its discardable
 * memory (telling it with a purge record).  A process that never registers
 * is never asked, signalled or purged.  -EBUSY if already registered;
 * -EINVAL for SIGKILL, SIGSTOP, a number above _NSIG or unknown flags.
 * Registration belongs to the address space: exec and exit drop it, with
 * everything queued; a forked child starts unregistered.
 */
# define PR_RAMM_REGISTER		5
/*
 * PR_RAMM_UNREGISTER: arg3 = arg4 = arg5 = 0.  Drops the registration and
 * every queued request; open fds then read end-of-file and poll POLLHUP.
 * -ENOENT if not registered.
 */
# define PR_RAMM_UNREGISTER		6
/*
 * PR_RAMM_GET_FD: arg3 = O_NONBLOCK or 0, arg4 = arg5 = 0.  Returns a new
 * close-on-exec fd that polls POLLIN while records are queued and whose
 * read(2) returns whole struct ramm_request records (a buffer smaller than
 * one record: -EINVAL; nothing queued: blocks, or -EAGAIN with O_NONBLOCK).
 * -ENOENT if not registered.
 */
# define PR_RAMM_GET_FD			7
/*
 * PR_RAMM_GET_REQUESTS: arg3 = struct ramm_request * (an array), arg4 =
 * its size in bytes, arg5 = 0.  Moves as many queued records as fit into
 * the buffer, oldest first, and returns how many (0: none queued).  The
 * same queue the fd reads.  -EINVAL for a buffer smaller than one record,
 * -ENOENT if not registered.
 */
# define PR_RAMM_GET_REQUESTS		8

/**
 * struct ramm_register - how a participant wants to be told (PR_RAMM_REGISTER)
 * @signal: the signal sent when records are queued, 0 for none (fd only).
 *          It is sent only while the process has a handler installed for
 *          it: a signal whose disposition is default or ignore is skipped
 *          (and counted), so RAMM never terminates a process by signal.
 * @flags:  none defined yet; must be 0.
 */
struct ramm_register {
	__u64 signal;
	__u64 flags;
};

#define RAMM_REGISTER_SIZE_VER0		16

/* struct ramm_request.reason */
#define RAMM_REASON_ASK		1	/* please free @amount bytes of the range */
#define RAMM_REASON_PURGED	2	/* the kernel dropped @amount bytes of it */

/**
 * struct ramm_request - one record of a participant's queue
 * @seq:         sequence number, per participant, from 1; records are
 *               read in increasing order (a purge record that grew while
 *               unread takes a new one).
 * @start:       the range: first byte (page aligned) ...
 * @len:         ... and its length in bytes.
 * @price:       the range's price when the record was made.
 * @ramm_flags:  its RAMM_* flags.
 * @amount:      bytes: for RAMM_REASON_ASK how much the kernel wants back
 *               from this range; for RAMM_REASON_PURGED how much it dropped
 *               (those pages now read as zeros).
 * @reason:      RAMM_REASON_*.
 * @__reserved:  0.
 * @detected_ns: CLOCK_MONOTONIC time at which the kernel found the shortfall.
 * @deadline_ns: CLOCK_MONOTONIC time by which the memory should be given
 *               back (0 for purge records).
 *
 * An ask is *answered* when, at a check made no later than its deadline,
 * the pages [start, start + len) holds (in RAM or in swap, less any the
 * kernel purged meanwhile) have fallen by @amount since the ask was made:
 * munmap() and MADV_DONTNEED count at once; MADV_FREE counts only for the
 * pages reclaim has actually freed by then, because lazily freed pages
 * stay resident until memory is reclaimed; swap-out does not count.  The kernel
 * checks at the deadline, and earlier whenever the participant reads or
 * polls its fd or calls PR_RAMM_GET_REQUESTS, so a dispatcher that polls
 * again after releasing has its answer timed at once.  An ask not answered
 * at the deadline: for a discardable range the kernel drops what was asked
 * and queues a purge record (the ask is *late* if part was given back,
 * else *ignored*); a preserved range is never dropped, and the ask is *late*
 * if answered within one more deadline period, else *ignored*.
 * Overlapping asks that are still unread coalesce into one record, and so
 * do unread purge records of one range.
 */
struct ramm_request {
	__u64 seq;
	__u64 start;
	__u64 len;
	__u64 price;
	__u64 ramm_flags;
	__u64 amount;
	__u32 reason;
	__u32 __reserved;
	__u64 detected_ns;
	__u64 deadline_ns;
};

#define RAMM_REQUEST_SIZE_VER0		72

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
 * @registered:        1 while the process is a participant.
 * @credit:            how reliably the process answers, in thousandths:
 *                     1000 is full credit.  The kernel ranks ranges by
 *                     price x credit / 1000, so memory of a process that
 *                     ignores requests is asked for sooner.  Kept across
 *                     re-registration, fork (the child inherits it) and
 *                     exec; see Documentation/admin-guide/mm/ramm.rst.
 * @asked:             asks queued for the process (coalesced ones once).
 * @answered:          asks answered by their deadline.
 * @late:              asks answered after it, or only in part.
 * @ignored:           asks not answered.
 * @purged_bytes:      bytes of its discardable memory the kernel dropped.
 * @queue_overflows:   records that did not fit in its queue.
 */
struct ramm_stats {
	__u64 priced_bytes;
	__u64 discardable_bytes;
	__u64 priced_ranges;
	/* Since RAMM_STATS_SIZE_VER1: */
	__u64 registered;
	__u64 credit;
	__u64 asked;
	__u64 answered;
	__u64 late;
	__u64 ignored;
	__u64 purged_bytes;
	__u64 queue_overflows;
};

#define RAMM_STATS_SIZE_VER0		24
#define RAMM_STATS_SIZE_VER1		88

#endif /* _UAPI_LINUX_RAMM_H */
