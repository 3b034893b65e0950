/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAMM: priced memory.  The user ABI is <uapi/linux/ramm.h>; this is what
 * the rest of the kernel calls.
 */
#ifndef _LINUX_RAMM_H
#define _LINUX_RAMM_H

#include <linux/mm_types.h>
#include <uapi/linux/ramm.h>

struct seq_file;

#ifdef CONFIG_RAMM

/* Whether two ranges may share a VMA: same price, same flags. */
static inline bool ramm_price_eq(struct ramm_price a, struct ramm_price b)
{
	return a.price == b.price && a.flags == b.flags;
}

static inline bool ramm_vma_priced(struct vm_area_struct *vma)
{
	return vma->ramm_price.price != 0;
}

int ramm_prctl(unsigned long cmd, unsigned long arg3, unsigned long arg4,
	       unsigned long arg5);
void ramm_show_smap(struct seq_file *m, struct vm_area_struct *vma);
void ramm_task_mem(struct seq_file *m, struct mm_struct *mm);

#else /* CONFIG_RAMM */

static inline bool ramm_price_eq(struct ramm_price a, struct ramm_price b)
{
	return true;
}

static inline bool ramm_vma_priced(struct vm_area_struct *vma)
{
	return false;
}

static inline int ramm_prctl(unsigned long cmd, unsigned long arg3,
			     unsigned long arg4, unsigned long arg5)
{
	return -EINVAL;
}

static inline void ramm_show_smap(struct seq_file *m,
				  struct vm_area_struct *vma)
{
}

static inline void ramm_task_mem(struct seq_file *m, struct mm_struct *mm)
{
}

#endif /* CONFIG_RAMM */

#endif /* _LINUX_RAMM_H */
