// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM: prices on private anonymous memory.
 *
 * A price lives in the VMA (vm_area_struct.ramm_price).  mmap_priced()
 * creates priced memory; PR_RAMM_SET_PRICE prices memory that exists,
 * splitting and merging VMAs exactly as madvise_update_vma() does for
 * anonymous VMA names.  The rest of mm keeps the price right by itself:
 * vm_area_dup() copies it on split, fork and mremap, vma_merge() joins only
 * VMAs with equal prices, and exec starts with a new mm.
 *
 * Only private anonymous memory can be priced: it is the memory a process
 * can give back with munmap() or MADV_DONTNEED and that the kernel can drop
 * by zapping.  Shared anonymous memory is shmem, which zapping does not
 * free, and file pages have their own reclaim.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/jump_label.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/mman.h>
#include <linux/seq_file.h>
#include <linux/security.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include "ramm.h"

/*
 * Off until the first price is set, so that a system where nobody uses
 * RAMM pays nothing for it (today: no VMA walk when /proc/PID/status is
 * read; later: the reclaim hooks).  Never turned off again.
 */
DEFINE_STATIC_KEY_FALSE(ramm_in_use);

/*
 * static_branch_enable() takes cpus_read_lock() and jump_label_mutex: call
 * it from process context before taking mmap_lock.
 */
void ramm_enable(void)
{
	if (!static_branch_unlikely(&ramm_in_use))
		static_branch_enable(&ramm_in_use);
}

/* Memory a price can be put on (see the comment at the top). */
bool ramm_vma_priceable(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) &&
	       !(vma->vm_flags & (VM_SHARED | VM_LOCKED | VM_HUGETLB |
				  VM_SPECIAL));
}

/*
 * Return 0 when all of [start, end) is mapped memory that can be priced.
 * A hole anywhere is -ENOMEM even after a VMA that cannot be priced (as
 * mseal() checks): the answer must not depend on where in the range the
 * address space layout happened to put each.
 */
static int ramm_check_range(struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	unsigned long addr = start;
	bool priceable = true;

	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > addr)
			return -ENOMEM;
		priceable = priceable && ramm_vma_priceable(vma);
		addr = vma->vm_end;
	}
	if (addr < end)
		return -ENOMEM;
	return priceable ? 0 : -EINVAL;
}

/* Change @vma's price, keeping mm->ramm_priced to the priced VMAs. */
static void ramm_vma_reprice(struct vm_area_struct *vma,
			     struct ramm_price price)
{
	if (!ramm_vma_priced(vma) && price.price)
		list_add(&vma->ramm_link, &vma->vm_mm->ramm_priced);
	else if (ramm_vma_priced(vma) && !price.price)
		list_del_init(&vma->ramm_link);
	vma->ramm_price = price;
}

/* See ramm_vmas_detached() in <linux/ramm.h>; mmap_lock held for writing. */
void __ramm_vmas_detached(struct maple_tree *mt)
{
	MA_STATE(mas, mt, 0, 0);
	struct vm_area_struct *vma;

	mas_for_each(&mas, vma, ULONG_MAX)
		ramm_vma_unlink(vma);
}

/*
 * Give [start, end), which lies within @vma, the price @price, merging it
 * with a neighbour that has the same price or splitting @vma.  The
 * madvise_update_vma() pattern; called with mmap_lock held for writing.
 */
static int ramm_update_vma(struct vm_area_struct *vma,
			   struct vm_area_struct **prev, unsigned long start,
			   unsigned long end, struct ramm_price price)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *merged;
	pgoff_t pgoff;
	int error;

	if (ramm_price_eq(vma->ramm_price, price)) {
		*prev = vma;
		return 0;
	}

	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	merged = vma_merge(mm, *prev, start, end, vma->vm_flags,
			   vma->anon_vma, vma->vm_file, pgoff, vma_policy(vma),
			   vma->vm_userfaultfd_ctx, anon_vma_name(vma), price);
	if (merged) {
		*prev = merged;
		return 0;
	}

	*prev = vma;
	if (start != vma->vm_start) {
		if (unlikely(mm->map_count >= sysctl_max_map_count))
			return -ENOMEM;
		error = __split_vma(mm, vma, start, 1);
		if (error)
			return error;
	}
	if (end != vma->vm_end) {
		if (unlikely(mm->map_count >= sysctl_max_map_count))
			return -ENOMEM;
		error = __split_vma(mm, vma, end, 0);
		if (error)
			return error;
	}
	ramm_vma_reprice(vma, price);
	return 0;
}

/*
 * Price [start, end), which ramm_check_range() accepted.  With mmap_lock
 * held for writing.  Fails only when a split runs out of memory or of
 * vm.max_map_count; the part already done then stays done, as with
 * madvise().
 */
static int __ramm_price_range(struct mm_struct *mm, unsigned long start,
			      unsigned long end, struct ramm_price price)
{
	struct vm_area_struct *vma, *prev;
	unsigned long next;
	int error;

	vma = find_vma_prev(mm, start, &prev);
	if (vma && start > vma->vm_start)
		prev = vma;

	while (vma) {
		next = min(end, vma->vm_end);
		error = ramm_update_vma(vma, &prev, start, next, price);
		if (error)
			return error;
		start = max(next, prev->vm_end);
		if (start >= end)
			return 0;
		vma = find_vma(mm, start);
	}
	return 0;
}

/**
 * ramm_set_price - price an existing range (PR_RAMM_SET_PRICE)
 * @mm:    the caller's mm
 * @start: first byte, page aligned
 * @len:   length in bytes, rounded up to a page
 * @price: the new price; a zero price (with zero flags) unprices
 *
 * Nothing is changed unless the whole range is mapped and priceable.
 *
 * Return: 0, or
 * -EINVAL: @start not page aligned, @len zero, the range wraps, unknown
 *          flags, flags without a price, or part of the range is not
 *          private anonymous memory (shared, file-backed, hugetlb,
 *          mlock()ed, VM_IO/VM_PFNMAP and other special mappings);
 * -ENOMEM: part of the range is not mapped, or splitting a VMA failed;
 * -EINTR:  a fatal signal arrived while waiting for mmap_lock.
 */
int ramm_set_price(struct mm_struct *mm, u64 start, u64 len,
		   struct ramm_price price)
{
	u64 end;
	int error;

	if (start & ~PAGE_MASK || !len)
		return -EINVAL;
	if (price.flags & ~RAMM_VALID_FLAGS || (!price.price && price.flags))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len || check_add_overflow(start, len, &end))
		return -EINVAL;		/* the range wraps */
	if (end > TASK_SIZE)
		return -ENOMEM;

	if (price.price)
		ramm_enable();
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	error = ramm_check_range(mm, start, end);
	if (!error)
		error = __ramm_price_range(mm, start, end, price);
	mmap_write_unlock(mm);
	return error;
}

/**
 * ramm_get_price - the price of the VMA containing @range->addr
 * @mm:    the caller's mm
 * @range: in: .addr; out: the VMA's extent, price and flags
 *
 * Return: 0, -ENOMEM if nothing is mapped at .addr, -EINTR on a fatal
 * signal while waiting for mmap_lock.
 */
int ramm_get_price(struct mm_struct *mm, struct ramm_range *range)
{
	struct vm_area_struct *vma;
	int error = 0;

	if (range->addr >= TASK_SIZE)
		return -ENOMEM;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, range->addr);
	if (vma) {
		range->addr = vma->vm_start;
		range->len = vma->vm_end - vma->vm_start;
		range->price = vma->ramm_price.price;
		range->ramm_flags = vma->ramm_price.flags;
	} else {
		error = -ENOMEM;
	}
	mmap_read_unlock(mm);
	return error;
}

/* Sum the priced VMAs of @mm; with mmap_lock held. */
static void __ramm_mm_stats(struct mm_struct *mm, struct ramm_stats *stats)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	memset(stats, 0, sizeof(*stats));
	if (!static_branch_unlikely(&ramm_in_use))
		return;
	list_for_each_entry(vma, &mm->ramm_priced, ramm_link) {
		u64 size = vma->vm_end - vma->vm_start;

		stats->priced_ranges++;
		stats->priced_bytes += size;
		if (vma->ramm_price.flags & RAMM_DISCARDABLE)
			stats->discardable_bytes += size;
	}
	if (IS_ENABLED(CONFIG_DEBUG_VM)) {
		/* The list must hold exactly the priced VMAs of the tree. */
		u64 priced = 0;

		for_each_vma(vmi, vma)
			priced += ramm_vma_priced(vma);
		VM_WARN_ON_ONCE(priced != stats->priced_ranges);
	}
}

/**
 * ramm_get_stats - the priced totals of @mm (PR_RAMM_GET_STATS)
 * @mm:    the caller's mm
 * @stats: filled in
 *
 * Return: 0, or -EINTR on a fatal signal while waiting for mmap_lock.
 */
int ramm_get_stats(struct mm_struct *mm, struct ramm_stats *stats)
{
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	__ramm_mm_stats(mm, stats);
	mmap_read_unlock(mm);
	ramm_fill_stats(mm, stats);
	return 0;
}

/**
 * ramm_show_smap - the RAMM lines of one VMA in /proc/PID/smaps
 * @m:   the seq_file
 * @vma: the VMA; its mmap_lock is held by the smaps reader
 *
 * Unpriced VMAs print nothing, so the smaps of a process that does not use
 * RAMM look as they did before.
 */
void ramm_show_smap(struct seq_file *m, struct vm_area_struct *vma)
{
	if (!ramm_vma_priced(vma))
		return;
	seq_printf(m, "RammPrice:      %8llu\n", vma->ramm_price.price);
	seq_printf(m, "RammDiscardable:%8u\n",
		   !!(vma->ramm_price.flags & RAMM_DISCARDABLE));
}

/**
 * ramm_task_mem - the RAMM lines of /proc/PID/status
 * @m:  the seq_file
 * @mm: the task's mm (a reference is held; mmap_lock is not)
 *
 * The totals are summed over the VMAs here, under mmap_lock for reading,
 * and only once anything on the system has been priced.
 */
void ramm_task_mem(struct seq_file *m, struct mm_struct *mm)
{
	struct ramm_stats stats = {};

	if (static_branch_unlikely(&ramm_in_use) &&
	    !mmap_read_lock_killable(mm)) {
		__ramm_mm_stats(mm, &stats);
		mmap_read_unlock(mm);
	}
	seq_put_decimal_ull_width(m, "RammPriced:\t",
				  stats.priced_bytes >> 10, 8);
	seq_put_decimal_ull_width(m, " kB\nRammDiscardable:\t",
				  stats.discardable_bytes >> 10, 8);
	seq_puts(m, " kB\n");
}

/* The mmap() flags mmap_priced() accepts, and those it requires. */
#define RAMM_MAP_REQUIRED	(MAP_PRIVATE | MAP_ANONYMOUS)
#define RAMM_MAP_ALLOWED	(RAMM_MAP_REQUIRED | MAP_FIXED | \
				 MAP_FIXED_NOREPLACE | MAP_NORESERVE | \
				 MAP_POPULATE)
#define RAMM_PROT_ALLOWED	(PROT_READ | PROT_WRITE | PROT_EXEC)

/*
 * do_mmap_priced - map private anonymous memory with a price
 *
 * vm_mmap_pgoff() with the price applied before mmap_lock is dropped, so no
 * other thread ever sees the new mapping unpriced.  The new VMA may first
 * merge with an unpriced neighbour; pricing then splits it off again.
 *
 * Return: the address of the mapping, or
 * -EINVAL: @addr not page aligned, @len zero, @price zero, unknown @prot
 *          bits, unknown or missing @flags (MAP_PRIVATE | MAP_ANONYMOUS
 *          are required; MAP_SHARED, file, hugetlb, locked and grows-down
 *          mappings cannot be priced), unknown @ramm_flags, or
 *          mlockall(MCL_FUTURE) in effect (locked memory cannot be given
 *          back);
 * -ENOMEM: @len or @addr beyond the address space, no room for the mapping, too
 *          many mappings, or the commit limit reached (as mmap());
 * -EEXIST: MAP_FIXED_NOREPLACE and the range is in use;
 * -EPERM, -EACCES: refused by mmap_min_addr or a security module;
 * -EINTR:  a fatal signal arrived while waiting for mmap_lock.
 */
static unsigned long do_mmap_priced(const struct ramm_mmap_args *args)
{
	struct ramm_price price = {
		.price = args->price, .flags = args->ramm_flags
	};
	struct mm_struct *mm = current->mm;
	unsigned long addr, len, populate = 0;
	LIST_HEAD(uf);
	int error;

	if (args->addr & ~PAGE_MASK || !args->len || !args->price)
		return -EINVAL;
	if (args->prot & ~RAMM_PROT_ALLOWED)
		return -EINVAL;
	if ((args->flags & RAMM_MAP_REQUIRED) != RAMM_MAP_REQUIRED ||
	    args->flags & ~RAMM_MAP_ALLOWED)
		return -EINVAL;
	if (args->ramm_flags & ~RAMM_VALID_FLAGS)
		return -EINVAL;
	if (READ_ONCE(mm->def_flags) & VM_LOCKED)
		return -EINVAL;
	if (args->len > TASK_SIZE || args->addr > TASK_SIZE)
		return -ENOMEM;
	len = PAGE_ALIGN(args->len);

	error = security_mmap_file(NULL, args->prot, args->flags);
	if (error)
		return error;

	ramm_enable();
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	addr = do_mmap(NULL, args->addr, len, args->prot, args->flags, 0,
		       &populate, &uf);
	if (!IS_ERR_VALUE(addr)) {
		error = __ramm_price_range(mm, addr, addr + len, price);
		if (error) {
			/* Give back nothing half made. */
			do_munmap(mm, addr, len, &uf);
			addr = error;
			populate = 0;
		}
	}
	mmap_write_unlock(mm);
	userfaultfd_unmap_complete(mm, &uf);
	if (populate)
		mm_populate(addr, populate);
	return addr;
}

/*
 * mmap_priced(2): map private anonymous memory with a price.
 *
 * The arguments come as a struct and its size, the openat2() way: a size
 * below RAMM_MMAP_ARGS_SIZE_VER0 is -EINVAL; a larger struct than this
 * kernel knows is accepted when the extra bytes are zero, else -E2BIG (so
 * is a size above PAGE_SIZE); an unreadable @uargs is -EFAULT.  Every other
 * errno is listed at do_mmap_priced().
 */
SYSCALL_DEFINE2(mmap_priced, const struct ramm_mmap_args __user *, uargs,
		size_t, usize)
{
	struct ramm_mmap_args args;
	int error;

	BUILD_BUG_ON(sizeof(args) != RAMM_MMAP_ARGS_SIZE_VER0);
	if (usize < RAMM_MMAP_ARGS_SIZE_VER0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	error = copy_struct_from_user(&args, sizeof(args), uargs, usize);
	if (error)
		return error;
	return do_mmap_priced(&args);
}
