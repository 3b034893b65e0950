// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM: prctl(PR_RAMM, sub-command, arg3, arg4, arg5).
 *
 * Sub-commands that take or return more than one value (a 64-bit price does
 * not fit prctl's unsigned long arguments on compat tasks, nor its int
 * return value) pass a pointer to a struct in arg3 and its size in arg4,
 * read with copy_struct_from_user(): a size below the first published
 * struct is -EINVAL, above PAGE_SIZE -E2BIG, and unknown trailing bytes
 * must be zero (-E2BIG).  Output structs are written up to the size the
 * caller gave, and any tail beyond what this kernel knows is zeroed.
 *
 * Every argument a sub-command does not use must be 0 (-EINVAL), so that
 * the interface can grow.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "ramm.h"

/* The sub-commands this kernel implements, as PR_RAMM_PROBE reports them. */
#define RAMM_COMMANDS	(BIT_ULL(PR_RAMM_PROBE) | BIT_ULL(PR_RAMM_SET_PRICE) | \
			 BIT_ULL(PR_RAMM_GET_PRICE) | BIT_ULL(PR_RAMM_GET_STATS) | \
			 BIT_ULL(PR_RAMM_REGISTER) | \
			 BIT_ULL(PR_RAMM_UNREGISTER) | BIT_ULL(PR_RAMM_GET_FD) | \
			 BIT_ULL(PR_RAMM_GET_REQUESTS))

static int ramm_copy_in(void *dst, size_t ksize, size_t min_size,
			unsigned long uptr, unsigned long usize)
{
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, (void __user *)uptr, usize);
}

static int ramm_copy_out(unsigned long uptr, unsigned long usize,
			 const void *src, size_t ksize, size_t min_size)
{
	void __user *dst = (void __user *)uptr;

	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	if (copy_to_user(dst, src, min_t(size_t, usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(dst + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

/*
 * PR_RAMM_PROBE: arg3 = struct ramm_probe __user * or 0, arg4 = its size
 * (0 with no struct).  Returns RAMM_API_VERSION.  -EINVAL for a size
 * without a struct or a struct without a size, -EFAULT for a bad pointer.
 */
static int ramm_prctl_probe(unsigned long uptr, unsigned long usize)
{
	struct ramm_probe probe = {
		.version = RAMM_API_VERSION,
		.ramm_flags = RAMM_VALID_FLAGS,
		.commands = RAMM_COMMANDS,
	};
	int error;

	BUILD_BUG_ON(sizeof(probe) != RAMM_PROBE_SIZE_VER0);
	if (!uptr)
		return usize ? -EINVAL : RAMM_API_VERSION;
	error = ramm_copy_out(uptr, usize, &probe, sizeof(probe),
			      RAMM_PROBE_SIZE_VER0);
	return error ?: RAMM_API_VERSION;
}

/*
 * PR_RAMM_SET_PRICE: arg3 = const struct ramm_range __user *, arg4 = its
 * size.  The errno list is at ramm_set_price().
 */
static int ramm_prctl_set_price(unsigned long uptr, unsigned long usize)
{
	struct ramm_range range;
	int error;

	BUILD_BUG_ON(sizeof(range) != RAMM_RANGE_SIZE_VER0);
	error = ramm_copy_in(&range, sizeof(range), RAMM_RANGE_SIZE_VER0,
			     uptr, usize);
	if (error)
		return error;
	return ramm_set_price(current->mm, range.addr, range.len,
			      (struct ramm_price) {
				      .price = range.price,
				      .flags = range.ramm_flags,
			      });
}

/*
 * PR_RAMM_GET_PRICE: arg3 = struct ramm_range __user *, arg4 = its size.
 * Reads .addr, writes back the containing VMA's extent, price and flags.
 * -ENOMEM if nothing is mapped there.
 */
static int ramm_prctl_get_price(unsigned long uptr, unsigned long usize)
{
	struct ramm_range range;
	int error;

	error = ramm_copy_in(&range, sizeof(range), RAMM_RANGE_SIZE_VER0,
			     uptr, usize);
	if (error)
		return error;
	error = ramm_get_price(current->mm, &range);
	if (error)
		return error;
	return ramm_copy_out(uptr, usize, &range, sizeof(range),
			     RAMM_RANGE_SIZE_VER0);
}

/*
 * PR_RAMM_GET_STATS: arg3 = struct ramm_stats __user *, arg4 = its size
 * (RAMM_STATS_SIZE_VER0 or more: older programs get the fields they know).
 */
static int ramm_prctl_get_stats(unsigned long uptr, unsigned long usize)
{
	struct ramm_stats stats;
	int error;

	BUILD_BUG_ON(sizeof(stats) != RAMM_STATS_SIZE_VER1);
	error = ramm_get_stats(current->mm, &stats);
	if (error)
		return error;
	return ramm_copy_out(uptr, usize, &stats, sizeof(stats),
			     RAMM_STATS_SIZE_VER0);
}

/*
 * PR_RAMM_REGISTER: arg3 = const struct ramm_register __user * or 0 for the
 * defaults (SIGUSR1, no flags), arg4 = its size (0 with no struct).  The
 * errno list is at ramm_register().
 */
static int ramm_prctl_register(unsigned long uptr, unsigned long usize)
{
	struct ramm_register reg = { .signal = SIGUSR1 };
	int error;

	BUILD_BUG_ON(sizeof(reg) != RAMM_REGISTER_SIZE_VER0);
	if (!uptr) {
		if (usize)
			return -EINVAL;
	} else {
		error = ramm_copy_in(&reg, sizeof(reg), RAMM_REGISTER_SIZE_VER0,
				     uptr, usize);
		if (error)
			return error;
	}
	return ramm_register(&reg);
}

/**
 * ramm_prctl - prctl(PR_RAMM, @cmd, @arg3, @arg4, @arg5)
 * @cmd:  a PR_RAMM_* sub-command
 * @arg3: its struct pointer
 * @arg4: that struct's size
 * @arg5: unused, must be 0
 *
 * Return: what the sub-command returns (see each above), or -EINVAL for an
 * unknown sub-command or a non-zero @arg5.
 */
int ramm_prctl(unsigned long cmd, unsigned long arg3, unsigned long arg4,
	       unsigned long arg5)
{
	if (arg5)
		return -EINVAL;

	switch (cmd) {
	case PR_RAMM_PROBE:
		return ramm_prctl_probe(arg3, arg4);
	case PR_RAMM_SET_PRICE:
		return ramm_prctl_set_price(arg3, arg4);
	case PR_RAMM_GET_PRICE:
		return ramm_prctl_get_price(arg3, arg4);
	case PR_RAMM_GET_STATS:
		return ramm_prctl_get_stats(arg3, arg4);
	case PR_RAMM_REGISTER:
		return ramm_prctl_register(arg3, arg4);
	case PR_RAMM_UNREGISTER:
		if (arg3 || arg4)
			return -EINVAL;
		return ramm_unregister(current->mm);
	case PR_RAMM_GET_FD:
		if (arg4)
			return -EINVAL;
		return ramm_get_fd(arg3);
	case PR_RAMM_GET_REQUESTS:
		return ramm_get_requests((void __user *)arg3, arg4);
	}
	return -EINVAL;
}
