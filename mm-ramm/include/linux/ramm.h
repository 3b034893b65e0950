/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAMM: priced memory.  The user ABI is <uapi/linux/ramm.h>; this is what
 * the rest of the kernel calls.
 */
#ifndef _LINUX_RAMM_H
#define _LINUX_RAMM_H

#include <linux/jump_label.h>
#include <linux/mm.h>		/* and vmstat.h, which needs it first */
#include <uapi/linux/ramm.h>

struct mem_cgroup;
struct seq_file;
struct signal_struct;
struct task_struct;

#ifdef CONFIG_RAMM

DECLARE_STATIC_KEY_FALSE(ramm_in_use);

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
void ramm_task_credit(struct seq_file *m, struct task_struct *task);
void __ramm_fork(struct signal_struct *sig);
void __ramm_mm_exit(struct mm_struct *mm);
void __ramm_wakeup_kswapd(void);
void __ramm_free_below_target(void);
void __ramm_free_at_mark(void);
extern unsigned long ramm_wake_below;
extern unsigned long ramm_rearm_above;
unsigned long __ramm_direct_reclaim(struct zonelist *zonelist,
				    nodemask_t *nodemask, gfp_t gfp_mask,
				    int order, unsigned long nr_to_reclaim,
				    bool last_resort);
unsigned long __ramm_memcg_reclaim(struct mem_cgroup *memcg, gfp_t gfp_mask,
				   unsigned long nr_to_reclaim,
				   bool last_resort);
unsigned long __ramm_memcg_oom(struct mem_cgroup *memcg);

/* A new mm (fork, exec) is not a participant, whatever it was copied from. */
static inline void ramm_mm_init(struct mm_struct *mm)
{
	mm->ramm_participant = NULL;
	INIT_LIST_HEAD(&mm->ramm_priced);
}

/*
 * Each mm keeps its priced VMAs on mm->ramm_priced, so that krammmd and
 * direct reclaim search priced memory only, however many other VMAs the
 * process has.  A VMA joins the list when it is priced or copied from a
 * priced VMA, and leaves it when it is unpriced, unmapped or freed; all
 * under mmap_lock held for writing.  ramm_link is meaningful only while
 * the VMA is priced: vm_area_alloc() leaves it zeroed.
 */

/* vm_area_dup(): a split, mremap or fork copy of a priced VMA. */
static inline void ramm_vma_dup(struct vm_area_struct *orig,
				struct vm_area_struct *new)
{
	if (static_branch_unlikely(&ramm_in_use) && ramm_vma_priced(orig))
		list_add(&new->ramm_link, &orig->vm_mm->ramm_priced);
}

/* dup_mmap(): the copy now belongs to the child's mm. */
static inline void ramm_vma_moved(struct vm_area_struct *vma)
{
	if (static_branch_unlikely(&ramm_in_use) && ramm_vma_priced(vma))
		list_move(&vma->ramm_link, &vma->vm_mm->ramm_priced);
}

/* vm_area_free(), and unmapping: may be called twice for one VMA. */
static inline void ramm_vma_unlink(struct vm_area_struct *vma)
{
	if (static_branch_unlikely(&ramm_in_use) && ramm_vma_priced(vma))
		list_del_init(&vma->ramm_link);
}

void __ramm_vmas_detached(struct maple_tree *mt);

/*
 * do_mas_align_munmap(): the VMAs in @mt have left @mm.  They are freed
 * only after mmap_lock may have been downgraded, when krammmd may be
 * walking the list, so they leave it now.  An mm with no priced VMA, the
 * common case, pays one test.
 */
static inline void ramm_vmas_detached(struct mm_struct *mm,
				      struct maple_tree *mt)
{
	if (static_branch_unlikely(&ramm_in_use) &&
	    !list_empty(&mm->ramm_priced))
		__ramm_vmas_detached(mt);
}

/* __mmput(): the address space is going away; so is its registration. */
static inline void ramm_mm_exit(struct mm_struct *mm)
{
	if (static_branch_unlikely(&ramm_in_use) &&
	    READ_ONCE(mm->ramm_participant))
		__ramm_mm_exit(mm);
}

/* copy_signal(): a child keeps its parent's credit (no laundering). */
static inline void ramm_fork(struct signal_struct *sig)
{
	if (static_branch_unlikely(&ramm_in_use))
		__ramm_fork(sig);
}

/* wakeup_kswapd(): RAM is short; krammmd may have asks to make. */
static inline void ramm_wakeup_kswapd(void)
{
	if (static_branch_unlikely(&ramm_in_use))
		__ramm_wakeup_kswapd();
}

/*
 * get_page_from_freelist(): after an allocation that may reclaim, wake
 * krammmd if free memory is below its mark (near the zones' high
 * watermarks plus the headroom), which is well above the low watermark
 * that wakes kswapd: owners can then answer before a burst reaches it.
 * Once a pass has turned that wake off (nothing left to ask), arm it
 * again when free memory is back at the mark.
 */
static inline void ramm_page_allocated(gfp_t gfp_mask)
{
	unsigned long free;

	if (!static_branch_unlikely(&ramm_in_use) ||
	    !(gfp_mask & __GFP_DIRECT_RECLAIM))
		return;
	free = global_zone_page_state(NR_FREE_PAGES);
	if (free < READ_ONCE(ramm_wake_below))
		__ramm_free_below_target();
	else if (unlikely(READ_ONCE(ramm_rearm_above)) &&
		 free >= READ_ONCE(ramm_rearm_above))
		/* back at the mark after a pass turned the wake off */
		__ramm_free_at_mark();
}

/**
 * ramm_direct_reclaim - purge participants' discardable memory now
 * @zonelist:      the allocation's zonelist
 * @nodemask:      and its nodemask (NULL: any node)
 * @gfp_mask:      the allocation's flags
 * @order:         its order
 * @nr_to_reclaim: the reclaim target, in pages
 * @last_resort:   ordinary reclaim could not meet the target
 *
 * Called from try_to_free_pages(): first (@last_resort false) for memory
 * priced below the reserve price, then, if ordinary reclaim fell short,
 * for the rest.  Only pages on the nodes the allocation may use count
 * toward @nr_to_reclaim.  Never waits and never blocks.
 *
 * Return: the number of pages freed.
 */
static inline unsigned long ramm_direct_reclaim(struct zonelist *zonelist,
						nodemask_t *nodemask,
						gfp_t gfp_mask, int order,
						unsigned long nr_to_reclaim,
						bool last_resort)
{
	if (!static_branch_unlikely(&ramm_in_use))
		return 0;
	return __ramm_direct_reclaim(zonelist, nodemask, gfp_mask, order,
				     nr_to_reclaim, last_resort);
}

/**
 * ramm_memcg_reclaim - purge and ask within a memory cgroup
 * @memcg:         the cgroup over its memory.high or memory.max
 * @gfp_mask:      the charge's flags
 * @nr_to_reclaim: the reclaim target, in pages
 * @last_resort:   ordinary reclaim could not meet the target
 *
 * Called from try_to_free_mem_cgroup_pages() as ramm_direct_reclaim() is
 * from try_to_free_pages(), but only participants in @memcg are purged,
 * and krammmd asks them (and only them) for what the cgroup is over.
 *
 * Return: the number of pages freed.
 */
static inline unsigned long ramm_memcg_reclaim(struct mem_cgroup *memcg,
					       gfp_t gfp_mask,
					       unsigned long nr_to_reclaim,
					       bool last_resort)
{
	if (!static_branch_unlikely(&ramm_in_use))
		return 0;
	return __ramm_memcg_reclaim(memcg, gfp_mask, nr_to_reclaim,
				    last_resort);
}

/**
 * ramm_memcg_oom - purge what a cgroup's participants offered, before its
 *                  OOM killer chooses a victim
 * @memcg: the cgroup at its memory.max that reclaim could not bring below
 *
 * Called from mem_cgroup_out_of_memory() with oom_lock held, as the OOM
 * notifier chain is called from out_of_memory() for the whole machine
 * (that chain is not called for a cgroup).  Purges all discardable memory
 * of participants in @memcg or below it, cheapest first.
 *
 * Return: the number of pages freed; the charge is retried when nonzero.
 */
static inline unsigned long ramm_memcg_oom(struct mem_cgroup *memcg)
{
	if (!static_branch_unlikely(&ramm_in_use))
		return 0;
	return __ramm_memcg_oom(memcg);
}

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

static inline void ramm_task_credit(struct seq_file *m,
				    struct task_struct *task)
{
}

static inline void ramm_mm_init(struct mm_struct *mm)
{
}

static inline void ramm_vma_dup(struct vm_area_struct *orig,
				struct vm_area_struct *new)
{
}

static inline void ramm_vma_moved(struct vm_area_struct *vma)
{
}

static inline void ramm_vma_unlink(struct vm_area_struct *vma)
{
}

static inline void ramm_vmas_detached(struct mm_struct *mm,
				      struct maple_tree *mt)
{
}

static inline void ramm_mm_exit(struct mm_struct *mm)
{
}

static inline void ramm_fork(struct signal_struct *sig)
{
}

static inline void ramm_wakeup_kswapd(void)
{
}

static inline void ramm_page_allocated(gfp_t gfp_mask)
{
}

static inline unsigned long ramm_direct_reclaim(struct zonelist *zonelist,
						nodemask_t *nodemask,
						gfp_t gfp_mask, int order,
						unsigned long nr_to_reclaim,
						bool last_resort)
{
	return 0;
}

static inline unsigned long ramm_memcg_reclaim(struct mem_cgroup *memcg,
					       gfp_t gfp_mask,
					       unsigned long nr_to_reclaim,
					       bool last_resort)
{
	return 0;
}

static inline unsigned long ramm_memcg_oom(struct mem_cgroup *memcg)
{
	return 0;
}

#endif /* CONFIG_RAMM */

#endif /* _LINUX_RAMM_H */
