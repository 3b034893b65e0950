// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM in reclaim: counting a range's resident pages, dropping them, and
 * the direct-reclaim hook.
 *
 * Direct reclaim cannot wait for userspace, so try_to_free_pages() calls
 * ramm_direct_reclaim() to drop participants' *discardable* memory itself,
 * cheapest effective price first: ranges priced below the reserve price
 * before ordinary reclaim touches page cache, the others only when
 * ordinary reclaim fell short of its target.  It never blocks:
 *
 *  - every mmap_lock is only tried, the current process's included, since
 *    reclaim often runs inside a page fault that holds it;
 *  - pages are zapped as the OOM reaper does (__oom_reap_task_mm()), with
 *    non-blocking MMU notifiers, skipping VM_LOCKED, VM_HUGETLB and
 *    VM_PFNMAP as MADV_DONTNEED does;
 *  - it allocates nothing itself: the purge record goes into a queue slot
 *    reserved before zapping, and a range whose owner's queue is full is
 *    not purged, so no purge is ever silent (the mmu_gather may try a
 *    GFP_NOWAIT batch page, as it does for the reaper);
 *  - the locks it takes (RCU, a participant's spinlock, page table locks)
 *    are never held across an allocation; signals and poll wake-ups are
 *    left to krammmd, which it wakes.
 *
 * Allocations that may fail (__GFP_NORETRY, costly orders such as THP or
 * a balloon) are served by asking, never by purging.
 *
 * Before the OOM killer chooses a victim, its notifier chain calls
 * ramm_oom_notify() (for a cgroup at its memory.max,
 * mem_cgroup_out_of_memory() calls ramm_memcg_oom(), for the participants
 * in that cgroup), which purges all of participants' discardable memory,
 * whatever its price, cheapest first: no process is OOM-killed while
 * memory it offered is still resident.  That is the incentive to offer
 * memory.  There, a full queue does not stop a purge: it is counted as an
 * overflow, and the owner's purged_bytes still shows it; and a purge of
 * krammmd's in flight is waited for, not skipped.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/mmu_notifier.h>
#include <linux/oom.h>
#include <linux/pagewalk.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/wait_bit.h>
#include <asm/tlb.h>

#include "../internal.h"
#include "ramm.h"
#include <trace/events/ramm.h>

/* @pages resident from @pfn on; their node is looked up only if asked. */
static void ramm_count_resident(struct ramm_usage *usage, unsigned long pfn,
				unsigned long pages)
{
	usage->resident += pages;
	if (usage->nodes && pfn_valid(pfn) &&
	    node_isset(pfn_to_nid(pfn), *usage->nodes))
		usage->on_nodes += pages;
}

static int ramm_count_pmd(pmd_t *pmd, unsigned long addr, unsigned long end,
			  struct mm_walk *walk)
{
	struct ramm_usage *usage = walk->private;
	pte_t *pte, *orig;
	spinlock_t *ptl;	/* the page table's */

	/* As smaps_pte_range() counts. */
	ptl = pmd_trans_huge_lock(pmd, walk->vma);
	if (ptl) {
		if (pmd_present(*pmd) && !is_huge_zero_pmd(*pmd))
			ramm_count_resident(usage, pmd_pfn(*pmd),
					    (end - addr) >> PAGE_SHIFT);
		spin_unlock(ptl);
		return 0;
	}
	if (pmd_trans_unstable(pmd))
		return 0;
	orig = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	for (pte = orig; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = *pte;

		if (pte_present(ptent)) {
			if (!is_zero_pfn(pte_pfn(ptent)))
				ramm_count_resident(usage, pte_pfn(ptent), 1);
		} else if (is_swap_pte(ptent) &&
			   !non_swap_entry(pte_to_swp_entry(ptent))) {
			usage->swapped++;
		}
	}
	pte_unmap_unlock(orig, ptl);
	return 0;
}

static const struct mm_walk_ops ramm_count_ops = {
	.pmd_entry = ramm_count_pmd,
};

/**
 * ramm_usage - the pages [start, end) holds, in RAM and in swap
 * @mm:    the address space, mmap_lock held
 * @start: first byte
 * @end:   end of the range
 * @usage: filled in
 *
 * The shared zero page does not count: it costs no memory.  Swapped pages
 * are counted apart because swap-out is ordinary reclaim's doing, not the
 * owner's: only a fall of the two together is an answer to an ask.
 */
void ramm_usage(struct mm_struct *mm, unsigned long start, unsigned long end,
		struct ramm_usage *usage)
{
	ramm_usage_on(mm, start, end, NULL, usage);
}

/**
 * ramm_usage_on - ramm_usage(), also counting the resident pages on @nodes
 * @mm:    the address space, mmap_lock held
 * @start: first byte
 * @end:   end of the range
 * @nodes: the nodes whose pages usage->on_nodes counts; NULL: none
 * @usage: filled in
 */
void ramm_usage_on(struct mm_struct *mm, unsigned long start,
		   unsigned long end, const nodemask_t *nodes,
		   struct ramm_usage *usage)
{
	*usage = (struct ramm_usage) { .nodes = nodes };
	mmap_assert_locked(mm);
	walk_page_range(mm, start, end, &ramm_count_ops, usage);
}

/* Whether RAMM may drop the pages of @vma: discardable, zappable memory. */
static bool ramm_vma_purgeable(struct vm_area_struct *vma)
{
	return ramm_vma_priced(vma) &&
	       (vma->ramm_price.flags & RAMM_DISCARDABLE) &&
	       vma_is_anonymous(vma) &&
	       !(vma->vm_flags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP |
				  VM_SHARED));
}

/* Zap [start, end) of @vma; false if a notifier would have to block. */
static bool ramm_zap_chunk(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end, bool nonblock)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma, vma->vm_mm,
				start, end);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	if (nonblock) {
		if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
			tlb_finish_mmu(&tlb);
			return false;
		}
	} else {
		mmu_notifier_invalidate_range_start(&range);
	}
	unmap_page_range(&tlb, vma, range.start, range.end, NULL);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
	return true;
}

/**
 * ramm_zap - drop up to @pages resident pages of the discardable [start, end)
 * @mm:         the address space, mmap_lock held (read is enough, as for
 *              MADV_DONTNEED)
 * @start:      first byte
 * @end:        end of the range
 * @pages:      how many pages to free
 * @nonblock:   from reclaim: MMU notifiers must not block
 * @nodes:      count only pages on these nodes, and skip the steps that
 *              have none there (NULL: any node)
 * @zapped_end: set to the end of what was zapped
 *
 * Zaps from @start in steps of at most one page table (PMD_SIZE), so that
 * only as much as needed is dropped, and counts what each step freed as
 * the step's resident pages before and after (exact for the range, unlike
 * the mm's RSS counter, which moves with everything else the mm does).
 * Later reads of a zapped page see zeros.  With @nodes, a step that is
 * zapped may also free pages on other nodes, which are not counted, and
 * a step skipped lies inside the extent [@start, @zapped_end) all the
 * same: the extent is what may have been dropped.
 *
 * Return: the number of pages freed.
 */
u64 ramm_zap(struct mm_struct *mm, unsigned long start, unsigned long end,
	     u64 pages, bool nonblock, const nodemask_t *nodes,
	     unsigned long *zapped_end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	u64 freed = 0;

	mmap_assert_locked(mm);
	*zapped_end = start;
	lru_add_drain();	/* pages in LRU caches are not freed by a zap */
	update_hiwater_rss(mm);
	for_each_vma_range(vmi, vma, end) {
		unsigned long addr = max(start, vma->vm_start);
		unsigned long stop = min(end, vma->vm_end);

		if (!ramm_vma_purgeable(vma))
			continue;
		while (addr < stop && freed < pages) {
			unsigned long next = min(pmd_addr_end(addr, stop), stop);
			struct ramm_usage before, after;
			u64 had, has;

			ramm_usage_on(mm, addr, next, nodes, &before);
			had = nodes ? before.on_nodes : before.resident;
			if (had) {
				if (!ramm_zap_chunk(vma, addr, next, nonblock))
					return freed;
				ramm_usage_on(mm, addr, next, nodes, &after);
				has = nodes ? after.on_nodes : after.resident;
				freed += had - min(had, has);
			}
			*zapped_end = next;
			addr = next;
		}
		if (freed >= pages)
			break;
	}
	return freed;
}

/*
 * The cheapest purgeable range found by one scan: participants compared
 * by (effective price, registration order, address), strictly after the
 * previous pick, so every scan makes progress.
 */
struct ramm_pick {
	struct ramm_key key;
	struct ramm_participant *p;	/* referenced, and its mm's users */
};

static void ramm_pick_release(struct ramm_pick *pick)
{
	if (!pick->p)
		return;
	mmput_async(pick->p->mm);
	ramm_put(pick->p);
	pick->p = NULL;
}

/*
 * Find the cheapest purgeable range after @after.  Under RCU, holding no
 * sleeping lock: each participant is pinned with refcount_inc_not_zero()
 * and mmget_not_zero(), its mmap_lock only tried.
 */
static bool ramm_pick_next(struct mem_cgroup *memcg,
			   const struct ramm_pick *after, bool last_resort,
			   struct ramm_pick *best)
{
	u64 reserve = READ_ONCE(ramm_tun.reserve_price);
	struct ramm_participant *p;

	best->key = RAMM_KEY_MAX;
	best->p = NULL;
	rcu_read_lock();
	list_for_each_entry_rcu(p, &ramm_participants, node) {
		struct ramm_participant *prev = best->p;
		unsigned int credit = READ_ONCE(p->credit);
		struct vm_area_struct *vma;

		if (!ramm_in_memcg(p, memcg))
			continue;
		if (!refcount_inc_not_zero(&p->ref))
			continue;
		if (!mmget_not_zero(p->mm)) {
			ramm_put(p);
			continue;
		}
		if (mmap_read_trylock(p->mm)) {
			list_for_each_entry(vma, &p->mm->ramm_priced,
					    ramm_link) {
				u64 price = vma->ramm_price.price;
				bool above = price >= reserve;
				struct ramm_key key;

				if (!ramm_vma_purgeable(vma) ||
				    above != last_resort)
					continue;
				key = ramm_key_of(price, credit, p->id,
						  vma->vm_start);
				if (ramm_key_better(&after->key, &key,
						    &best->key)) {
					best->key = key;
					best->p = p;
				}
			}
			mmap_read_unlock(p->mm);
		}
		if (best->p == p) {
			/* The new pick keeps p's references; drop prev's. */
			if (prev) {
				mmput_async(prev->mm);
				ramm_put(prev);
			}
			continue;
		}
		mmput_async(p->mm);
		ramm_put(p);
	}
	rcu_read_unlock();
	return best->p;
}

/*
 * Purge up to @pages of the picked range; returns the pages freed.  With
 * @oom, also when its owner's queue has no room for the record.
 */
static u64 ramm_purge_pick(struct ramm_pick *pick, u64 pages, u64 detected,
			   bool oom, const nodemask_t *nodes)
{
	struct ramm_participant *p = pick->p;
	struct mm_struct *mm = p->mm;
	struct vm_area_struct *vma;
	unsigned long zapped_end;
	struct ramm_price price;
	u64 freed = 0;
	int slot;

	/*
	 * Direct reclaim never waits.  The OOM notifier waits for a purge in
	 * flight (krammmd dropping an ignored ask's memory, a bounded zap):
	 * skipping the participant would let the OOM killer choose a victim
	 * while memory it offered is still resident.
	 */
	if (oom)
		wait_on_bit_lock(&p->purging, 0, TASK_UNINTERRUPTIBLE);
	else if (test_and_set_bit_lock(0, &p->purging))
		return 0;
	if (!mmap_read_trylock(mm))
		goto unlock;
	vma = vma_lookup(mm, pick->key.start);
	if (!vma || vma->vm_start != pick->key.start || !ramm_vma_purgeable(vma))
		goto out;
	price = vma->ramm_price;

	spin_lock(&p->lock);
	slot = __ramm_reserve_slot(p, vma->vm_start, vma->vm_end);
	spin_unlock(&p->lock);
	if (slot < 0) {
		ramm_count(RAMM_QUEUE_OVERFLOWS, 1);
		ramm_credit_count(p, 0, 0, 1);
		if (!oom)
			goto out;
	}
	freed = ramm_zap(mm, vma->vm_start, vma->vm_end, pages, true, nodes,
			 &zapped_end);
	spin_lock(&p->lock);
	if (slot >= 0)
		__ramm_fill_purge(p, slot, vma->vm_start, zapped_end, price,
				  freed, detected);
	else
		__ramm_note_purged(p, -1, vma->vm_start, zapped_end, freed);
	spin_unlock(&p->lock);
	if (freed) {
		ramm_count(oom ? RAMM_PAGES_PURGED_OOM :
				 RAMM_PAGES_PURGED_DIRECT, freed);
		ramm_credit_count(p, 0, freed << PAGE_SHIFT, 0);
		trace_ramm_purge(pid_nr(p->pid), vma->vm_start,
				 zapped_end - vma->vm_start,
				 freed << PAGE_SHIFT, true);
	}
out:
	mmap_read_unlock(mm);
unlock:
	clear_and_wake_up_bit(0, &p->purging);
	return freed;
}

/*
 * Purge up to @pages on @nodes (NULL: any node) of the ranges priced at or
 * above the reserve price (@above) or below it, of participants in @memcg
 * (NULL: all), cheapest first; returns the pages freed.
 */
static u64 ramm_purge_cheapest(struct mem_cgroup *memcg, bool above,
			       u64 pages, u64 detected, bool oom,
			       const nodemask_t *nodes)
{
	struct ramm_pick after = { .key = RAMM_KEY_MIN };	/* the cursor */
	struct ramm_pick pick;
	u64 freed = 0;

	while (freed < pages && !fatal_signal_pending(current) &&
	       ramm_pick_next(memcg, &after, above, &pick)) {
		freed += ramm_purge_pick(&pick, pages - freed, detected, oom,
					 nodes);
		after = pick;
		ramm_pick_release(&pick);
	}
	return freed;
}

/*
 * The nodes whose memory an allocation with @zonelist, @nodemask and
 * @gfp_mask may use, in @nodes; NULL when that is every node with memory
 * (always, on a machine with one): purging anywhere helps it then.
 */
static const nodemask_t *ramm_reclaim_nodes(struct zonelist *zonelist,
					    nodemask_t *nodemask,
					    gfp_t gfp_mask, nodemask_t *nodes)
{
	struct zoneref *z;
	struct zone *zone;

	if (num_node_state(N_MEMORY) < 2)
		return NULL;
	nodes_clear(*nodes);
	for_each_zone_zonelist_nodemask(zone, z, zonelist, gfp_zone(gfp_mask),
					nodemask)
		node_set(zone_to_nid(zone), *nodes);
	return nodes_subset(node_states[N_MEMORY], *nodes) ? NULL : nodes;
}

unsigned long __ramm_direct_reclaim(struct zonelist *zonelist,
				    nodemask_t *nodemask, gfp_t gfp_mask,
				    int order, unsigned long nr_to_reclaim,
				    bool last_resort)
{
	unsigned long freed;
	nodemask_t nodes;

	if (!ramm_market_open())
		return 0;
	ramm_wake_krammmd(last_resort ? RAMM_WAKE_ESCALATE :
					 RAMM_WAKE_PRESSURE);
	if (gfp_mask & __GFP_NORETRY || order > PAGE_ALLOC_COSTLY_ORDER) {
		/* Asked for, not purged: the trace shows it as such. */
		trace_ramm_direct_reclaim(order, gfp_mask, nr_to_reclaim, 0,
					  last_resort);
		return 0;
	}

	freed = ramm_purge_cheapest(NULL, last_resort, nr_to_reclaim,
				    ktime_get_ns(), false,
				    ramm_reclaim_nodes(zonelist, nodemask,
						       gfp_mask, &nodes));
	if (freed)
		/* deliver the purge records */
		ramm_wake_krammmd(RAMM_WAKE_PRESSURE);
	trace_ramm_direct_reclaim(order, gfp_mask, nr_to_reclaim, freed,
				  last_resort);
	return freed;
}

/*
 * try_to_free_mem_cgroup_pages(): @memcg is over its memory.high or
 * memory.max.  As direct reclaim, but only participants in @memcg (or
 * below it) are purged, and krammmd is woken to ask them, not the
 * machine's cheapest.
 */
unsigned long __ramm_memcg_reclaim(struct mem_cgroup *memcg, gfp_t gfp_mask,
				   unsigned long nr_to_reclaim,
				   bool last_resort)
{
	unsigned long freed;

	if (!ramm_market_open())
		return 0;
	ramm_memcg_wake(memcg, last_resort);
	if (gfp_mask & __GFP_NORETRY)
		return 0;

	freed = ramm_purge_cheapest(memcg, last_resort, nr_to_reclaim,
				    ktime_get_ns(), false, NULL);
	if (freed)
		ramm_wake_krammmd(RAMM_WAKE_CHECK);	/* deliver the records */
	trace_ramm_direct_reclaim(0, gfp_mask, nr_to_reclaim, freed,
				  last_resort);
	return freed;
}

/*
 * Purge all discardable memory of participants in @memcg (NULL: all),
 * below the reserve price first, then the rest: see the comment at the top.
 */
static unsigned long ramm_purge_all(struct mem_cgroup *memcg)
{
	u64 detected = ktime_get_ns();
	unsigned long freed;

	if (!ramm_market_open())
		return 0;
	freed = ramm_purge_cheapest(memcg, false, U64_MAX, detected, true,
				    NULL);
	freed += ramm_purge_cheapest(memcg, true, U64_MAX, detected, true,
				     NULL);
	if (freed)
		ramm_wake_krammmd(RAMM_WAKE_PRESSURE);	/* deliver the records */
	return freed;
}

/* out_of_memory()'s notifier, for the machine. */
static int ramm_oom_notify(struct notifier_block *nb, unsigned long unused,
			   void *arg)
{
	unsigned long *oom_freed = arg;

	if (static_branch_unlikely(&ramm_in_use))
		*oom_freed += ramm_purge_all(NULL);
	return NOTIFY_OK;
}

/*
 * mem_cgroup_out_of_memory(): a cgroup at its memory.max.  Its OOM killer
 * would choose among the cgroup's tasks, so only their offered memory
 * matters, and purging it is the only way to be in time: an ask is
 * answered after the charge that hit the limit has failed.
 */
unsigned long __ramm_memcg_oom(struct mem_cgroup *memcg)
{
	return ramm_purge_all(memcg);
}

static struct notifier_block ramm_oom_nb = {
	.notifier_call = ramm_oom_notify,
};

/**
 * ramm_reclaim_init - hook RAMM into the OOM killer (at boot)
 *
 * Return: 0, or the error of register_oom_notifier().
 */
int ramm_reclaim_init(void)
{
	return register_oom_notifier(&ramm_oom_nb);
}
