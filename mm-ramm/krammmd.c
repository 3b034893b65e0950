// SPDX-License-Identifier: GPL-2.0
/*
 * krammmd: the market's kernel thread.
 *
 * It sleeps until the allocator wakes kswapd or enters direct reclaim, an
 * allocation takes free memory below krammmd's target (see 2.), or an
 * ask's deadline comes; then, holding ramm_participants_mutex for one
 * pass:
 *
 *  1. judges the asks that are due: an ask is answered when the pages its
 *     range holds (in RAM or in swap, so that swap-out is not taken for
 *     an answer; less what the kernel purged) fell by the amount asked
 *     since it was made (so munmap() and MADV_DONTNEED count at once,
 *     MADV_FREE only for pages reclaim really freed).  At the deadline an unanswered discardable
 *     range is purged (the ask's slot becomes the purge record); a
 *     preserved range is never dropped: it gets one more deadline period
 *     to be answered late, and is left to ordinary reclaim either way;
 *  2. computes the shortfall, node by node, as kswapd balances nodes: a
 *     node's zones' high watermarks plus a headroom share of its memory
 *     (a burst is far larger than the watermark gap, which is about
 *     0.5 MiB in a 256 MiB machine), minus its free pages (which already
 *     include what ordinary reclaim freed); the gaps of the nodes that are
 *     short, summed, minus pages asked for and not yet judged (so a gap is
 *     not asked for twice).
 *     Ahead of pressure (kswapd not woken since the last pass), the page
 *     cache that reclaim will drop first is left out of the shortfall:
 *     asking ahead is for the part of a burst reclaim cannot absorb;
 *  3. asks for the shortfall: participants' priced ranges in order of
 *     effective price (price * credit), ties to the older participant and
 *     lower address, each asked for at most its resident pages not
 *     already asked for (with more than one node, its pages on the nodes
 *     that are short), until the shortfall is covered.  Finding them
 *     allocates nothing, so the market works when memory is exhausted.  Ranges priced at
 *     or above the reserve price are considered only when ordinary
 *     reclaim could not meet its target (direct reclaim says so), and
 *     even then not while reclaimable page cache alone exceeds the
 *     shortfall;
 *  4. delivers: wakes each participant's pollers and sends its signal.
 *
 * Asking stops when it has taken pass_budget_ms, so one pass costs at
 * most that plus one search, judging and delivering; the next pass goes
 * on from the range where it stopped, so that ranges that cannot give do
 * not take every pass's budget.
 *
 * A memory cgroup's reclaim (memory.high, memory.max) also wakes it (5.):
 * for each such cgroup it asks, as in 3., only participants in that
 * cgroup, for what the cgroup is over its limit plus the headroom share
 * of that limit.
 *
 * There is no periodic polling: it sleeps until woken or until the
 * earliest deadline.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/freezer.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/vmstat.h>
#include <linux/wait_bit.h>

#include "ramm.h"

#define CREATE_TRACE_POINTS
#include <trace/events/ramm.h>

static DECLARE_WAIT_QUEUE_HEAD(ramm_krammmd_wait);
static struct task_struct *ramm_krammmd;

/* ramm_wake_flags bits */
#define RAMM_WOKEN	0	/* a pass is wanted */
#define RAMM_PRESSURE	1	/* kswapd was woken or direct reclaim ran */
#define RAMM_ESCALATE	2	/* ordinary reclaim fell short */
static unsigned long ramm_wake_flags;

/*
 * Free pages below which an allocation that may reclaim wakes krammmd
 * (ramm_page_allocated()), or 0 while no such wake is wanted.  Each pass
 * re-arms it (ramm_rearm_ahead()) when free memory is above the mark, or
 * when the pass asked (more may be askable by the time answers come).  A
 * pass that found nothing to ask, with free memory below the mark, leaves
 * it at 0, so that a market with nothing to give does not spin, and sets
 * ramm_rearm_above to the mark instead: the first allocation that finds
 * free memory back at the mark arms it again (__ramm_free_at_mark()).
 * Without that, the wake stayed off after such an episode until kswapd
 * or a deadline ran a pass, and the next burst was first heard at the
 * low watermark.
 */
unsigned long ramm_wake_below;
unsigned long ramm_rearm_above;

/**
 * ramm_wake_krammmd - ask for a pass of krammmd
 * @why: what calls for it
 *
 * Any context: it only sets bits and wakes a wait queue, as
 * wakeup_kswapd() does.
 */
void ramm_wake_krammmd(enum ramm_wake_why why)
{
	if (why >= RAMM_WAKE_PRESSURE)
		set_bit(RAMM_PRESSURE, &ramm_wake_flags);
	if (why == RAMM_WAKE_ESCALATE)
		set_bit(RAMM_ESCALATE, &ramm_wake_flags);
	if (test_and_set_bit(RAMM_WOKEN, &ramm_wake_flags))
		return;
	ramm_count(why == RAMM_WAKE_AHEAD ? RAMM_WAKES_AHEAD : RAMM_WAKES, 1);
	wake_up_interruptible(&ramm_krammmd_wait);
}

void __ramm_wakeup_kswapd(void)
{
	if (ramm_market_open())
		ramm_wake_krammmd(RAMM_WAKE_PRESSURE);
}

void __ramm_free_below_target(void)
{
	/* One wake per arming: the pass decides whether to arm again. */
	if (ramm_market_open() && xchg(&ramm_wake_below, 0))
		ramm_wake_krammmd(RAMM_WAKE_AHEAD);
}

void __ramm_free_at_mark(void)
{
	unsigned long mark = xchg(&ramm_rearm_above, 0);

	if (mark)
		WRITE_ONCE(ramm_wake_below, mark);
}

/*
 * krammmd holds ramm_participants_mutex whenever it pins a participant's
 * mm, and the last mmput() of an exited process unregisters it, which
 * takes that mutex: so krammmd always lets go with mmput_async().
 */

/* Pages asked of @p in [start, end) and not yet judged; p->lock held. */
static u64 __ramm_outstanding(struct ramm_participant *p, u64 start, u64 end)
{
	u64 pages = 0;
	unsigned int i;

	for (i = 0; i < p->nr_slots; i++) {
		struct ramm_slot *s = &p->slots[i];

		if (s->state == RAMM_SLOT_ASK &&
		    s->rec.start < end && start < s->rec.start + s->rec.len)
			pages += s->asked_pages;
	}
	return pages;
}

static u64 ramm_outstanding(struct ramm_participant *p, u64 start, u64 end)
{
	u64 pages;

	spin_lock(&p->lock);
	pages = __ramm_outstanding(p, start, end);
	spin_unlock(&p->lock);
	return pages;
}

/* --- 1. judging asks ----------------------------------------------------- */

static void ramm_verdict(struct ramm_participant *p, struct ramm_slot *s,
			 enum ramm_verdict v, u64 released, u64 now)
{
	ramm_credit_record(p, v);
	ramm_count(v == RAMM_ANSWERED ? RAMM_ANSWERED_COUNT :
		   v == RAMM_LATE ? RAMM_LATE_COUNT : RAMM_IGNORED_COUNT, 1);
	ramm_count(RAMM_PAGES_RELEASED, min(released, s->asked_pages));
	trace_ramm_response(pid_nr(p->pid), s->rec.seq, v,
			    s->asked_pages << PAGE_SHIFT,
			    released << PAGE_SHIFT, now - s->rec.detected_ns);
}

/*
 * Judge one ask, a copy of which is in @ask: its slot @i cannot change
 * under us except for ->unread (krammmd alone judges, and unregistering
 * needs the mutex we hold).  With p->mm's mmap_lock held for reading, and
 * p->purging held, so that no purge is half done: pages it zapped but has
 * not yet charged to the ask would pass for the owner's answer.
 */
static void ramm_judge_ask(struct ramm_participant *p, unsigned int i,
			   const struct ramm_slot *ask, u64 now)
{
	struct ramm_slot *s = &p->slots[i];
	u64 start = ask->rec.start, end = start + ask->rec.len;
	u64 gone, released;
	struct ramm_usage now_held;
	u64 grace = (u64)READ_ONCE(ramm_tun.deadline_ms) * NSEC_PER_MSEC;
	bool due = now >= ask->rec.deadline_ns + (ask->overdue ? grace : 0);
	unsigned long zapped_end;
	u64 purged;

	ramm_usage(p->mm, start, end, &now_held);
	gone = ask->held_at_ask -
	       min(ask->held_at_ask, now_held.resident + now_held.swapped);
	released = gone - min(gone, ask->purged_pages);
	if (released >= ask->asked_pages) {
		ramm_verdict(p, s, ask->overdue ? RAMM_LATE : RAMM_ANSWERED,
			     released, now);
		goto free;
	}
	if (!due)
		return;
	if (!(ask->rec.ramm_flags & RAMM_DISCARDABLE)) {
		if (!ask->overdue) {
			spin_lock(&p->lock);
			s->overdue = true;
			spin_unlock(&p->lock);
			return;
		}
		ramm_verdict(p, s, RAMM_IGNORED, released, now);
		goto free;
	}

	/* Discardable and not given back in time: take what is missing. */
	ramm_verdict(p, s, released ? RAMM_LATE : RAMM_IGNORED, released, now);
	purged = 0;
	zapped_end = start;
	if (READ_ONCE(ramm_tun.enabled))
		purged = ramm_zap(p->mm, start, end,
				  ask->asked_pages - released, false, NULL,
				  &zapped_end);
	if (purged) {
		ramm_count(RAMM_PAGES_PURGED_KRAMMMD, purged);
		ramm_credit_count(p, 0, purged << PAGE_SHIFT, 0);
		trace_ramm_purge(pid_nr(p->pid), start, zapped_end - start,
				 purged << PAGE_SHIFT, false);
	}
	spin_lock(&p->lock);
	__ramm_fill_purge(p, i, start, zapped_end,
			  (struct ramm_price) {
				.price = ask->rec.price,
				.flags = ask->rec.ramm_flags,
			  }, purged, ask->rec.detected_ns);
	spin_unlock(&p->lock);
	return;
free:
	spin_lock(&p->lock);
	memset(s, 0, sizeof(*s));
	spin_unlock(&p->lock);
}

/*
 * Judge @p's asks that are due, or all of them if it asked for a check.
 * While direct reclaim or the OOM notifier is purging @p, judge on the
 * next pass (the purger wakes krammmd when it is done).
 */
static void ramm_judge(struct ramm_participant *p, u64 now)
{
	u64 grace = (u64)READ_ONCE(ramm_tun.deadline_ms) * NSEC_PER_MSEC;
	bool check, due = false;
	unsigned int i;

	spin_lock(&p->lock);
	check = p->check;
	for (i = 0; i < p->nr_slots && !due; i++) {
		struct ramm_slot *s = &p->slots[i];

		due = s->state == RAMM_SLOT_ASK &&
		      (check || now >= s->rec.deadline_ns +
					(s->overdue ? grace : 0));
	}
	spin_unlock(&p->lock);
	if (!due || !mmget_not_zero(p->mm))
		return;
	mmap_read_lock(p->mm);
	if (test_and_set_bit_lock(0, &p->purging))
		goto unlock;
	spin_lock(&p->lock);
	check = p->check;
	p->check = false;
	spin_unlock(&p->lock);

	for (i = 0; i < p->nr_slots; i++) {
		struct ramm_slot ask;

		spin_lock(&p->lock);
		ask = p->slots[i];
		spin_unlock(&p->lock);
		if (ask.state != RAMM_SLOT_ASK)
			continue;
		if (!check &&
		    now < ask.rec.deadline_ns + (ask.overdue ? grace : 0))
			continue;
		ramm_judge_ask(p, i, &ask, now);
	}
	clear_and_wake_up_bit(0, &p->purging);
unlock:
	mmap_read_unlock(p->mm);
	mmput_async(p->mm);
}

/* Nanoseconds until the earliest deadline of @p, or U64_MAX. */
static u64 ramm_next_deadline(struct ramm_participant *p, u64 now)
{
	u64 grace = (u64)READ_ONCE(ramm_tun.deadline_ms) * NSEC_PER_MSEC;
	u64 next = U64_MAX;
	unsigned int i;

	spin_lock(&p->lock);
	for (i = 0; i < p->nr_slots; i++) {
		struct ramm_slot *s = &p->slots[i];
		u64 due;

		if (s->state != RAMM_SLOT_ASK)
			continue;
		due = s->rec.deadline_ns + (s->overdue ? grace : 0);
		next = min(next, due > now ? due - now : 0);
	}
	spin_unlock(&p->lock);
	return next;
}

/* --- 2. the shortfall ----------------------------------------------------- */

static unsigned long ramm_headroom_pages(void)
{
	return totalram_pages() / 1000 * READ_ONCE(ramm_tun.headroom_permille);
}

/**
 * ramm_node_gap - how far one node is below krammmd's target for it
 * @target:   its zones' high watermarks plus the headroom share of its
 *            memory
 * @free:     its free pages
 * @file:     its page cache on the file LRU lists
 * @pressure: kswapd or direct reclaim ran since the last pass
 *
 * Ahead of pressure, the page cache reclaim drops first is left out.
 *
 * Return: the gap in pages; 0 when the node is not short.
 */
long ramm_node_gap(unsigned long target, unsigned long free,
		   unsigned long file, bool pressure)
{
	unsigned long have = free + (pressure ? 0 : file);

	return have < target ? min_t(unsigned long, target - have, LONG_MAX) :
			       0;
}

/* Free pages krammmd balances toward; see the comment at the top. */
static unsigned long ramm_target_free(void)
{
	unsigned long target = ramm_headroom_pages();
	struct zone *zone;

	for_each_populated_zone(zone)
		target += high_wmark_pages(zone);
	return target;
}

/*
 * The free pages below which an allocation wakes krammmd ahead of kswapd,
 * with @outstanding pages asked for: a quarter of the headroom below what
 * those answers will restore, so that a burst is asked for in a few asks
 * of at least that size rather than one per allocation.
 */
static long ramm_ahead_mark(u64 outstanding)
{
	return ramm_target_free() - outstanding - ramm_headroom_pages() / 4;
}

/**
 * ramm_arm_ahead - let an allocation below the mark wake krammmd
 *
 * For a new participant: until a pass has run, only kswapd would wake one.
 */
void ramm_arm_ahead(void)
{
	WRITE_ONCE(ramm_rearm_above, 0);
	WRITE_ONCE(ramm_wake_below, max(ramm_ahead_mark(0), 0L));
}

/* After a pass that left @outstanding pages asked for; @asked: any now. */
static void ramm_rearm_ahead(u64 outstanding, bool asked)
{
	long below = ramm_ahead_mark(outstanding);

	if (below > 0 &&
	    (asked || global_zone_page_state(NR_FREE_PAGES) >= below)) {
		WRITE_ONCE(ramm_rearm_above, 0);
		WRITE_ONCE(ramm_wake_below, below);
	} else {
		/* Off until free memory is back at the mark. */
		WRITE_ONCE(ramm_wake_below, 0);
		WRITE_ONCE(ramm_rearm_above, max(below, 0L));
	}
}

/*
 * Page cache on the file LRU lists, of @memcg or of the machine: what
 * reclaim drops first.
 */
static long ramm_file_pages(struct mem_cgroup *memcg)
{
	if (memcg)
		return memcg_page_state(memcg, NR_ACTIVE_FILE) +
		       memcg_page_state(memcg, NR_INACTIVE_FILE);
	return global_node_page_state(NR_ACTIVE_FILE) +
	       global_node_page_state(NR_INACTIVE_FILE);
}

/* Pages asked for and not yet judged, of participants in @memcg. */
static u64 ramm_outstanding_in(struct mem_cgroup *memcg)
{
	struct ramm_participant *p;
	u64 pages = 0;

	list_for_each_entry(p, &ramm_participants, node)
		if (ramm_in_memcg(p, memcg))
			pages += ramm_outstanding(p, 0, TASK_SIZE);
	return pages;
}

/**
 * ramm_over_limit - what a memory cgroup's participants are asked for
 * @usage:             pages charged to it
 * @limit:             the lower of its memory.high and memory.max
 * @headroom_permille: the headroom tunable
 * @outstanding:       pages its participants were asked for and have not
 *                     answered yet
 *
 * Return: how far @usage plus the headroom share of @limit is over
 * @limit, less @outstanding; 0 when that is nothing.
 */
long ramm_over_limit(unsigned long usage, unsigned long limit,
		     unsigned int headroom_permille, u64 outstanding)
{
	unsigned long want = usage + limit / 1000 * headroom_permille;

	if (want <= limit || want - limit <= outstanding)
		return 0;
	return min_t(u64, want - limit - outstanding, LONG_MAX);
}

/* The nodes short in this pass (krammmd's own, under the mutex). */
static nodemask_t ramm_short_nodes;

/*
 * The machine's shortfall: the gaps of the nodes below their target,
 * summed, less @outstanding.  Fills @nodes with those nodes.
 */
static long ramm_shortfall(bool pressure, u64 outstanding, nodemask_t *nodes)
{
	unsigned int permille = READ_ONCE(ramm_tun.headroom_permille);
	long shortfall = 0;
	int nid;

	nodes_clear(*nodes);
	for_each_node_state(nid, N_MEMORY) {
		pg_data_t *pgdat = NODE_DATA(nid);
		unsigned long target = 0, free = 0, managed = 0;
		struct zone *zone;
		long gap;

		for (zone = pgdat->node_zones;
		     zone < pgdat->node_zones + MAX_NR_ZONES; zone++) {
			if (!populated_zone(zone))
				continue;
			target += high_wmark_pages(zone);
			free += zone_page_state(zone, NR_FREE_PAGES);
			managed += zone_managed_pages(zone);
		}
		target += managed / 1000 * permille;
		gap = ramm_node_gap(target, free,
				    node_page_state(pgdat, NR_ACTIVE_FILE) +
				    node_page_state(pgdat, NR_INACTIVE_FILE),
				    pressure);
		if (gap > 0) {
			shortfall += gap;
			node_set(nid, *nodes);
		}
	}
	return shortfall - min_t(u64, outstanding, LONG_MAX);
}

/* --- 3. asking ----------------------------------------------------------- */

struct ramm_candidate {
	struct ramm_key key;
	struct ramm_participant *p;
	unsigned long end;
	struct ramm_price price;
};

/*
 * The first askable range after @after in ranking order.  A scan of the
 * participants' priced VMAs (mm->ramm_priced) that allocates nothing:
 * krammmd runs when memory is short, and asking must not depend on getting
 * any.  A pass needs one scan per range it asks, usually a few.
 */
static bool ramm_next_candidate(struct mem_cgroup *memcg,
				const struct ramm_key *after,
				bool above_reserve, struct ramm_candidate *best)
{
	u64 reserve = READ_ONCE(ramm_tun.reserve_price);
	u64 t0 = ktime_get_ns();
	struct ramm_participant *p;

	best->key = RAMM_KEY_MAX;
	best->p = NULL;
	list_for_each_entry(p, &ramm_participants, node) {
		struct vm_area_struct *vma;

		if (!ramm_in_memcg(p, memcg) || !mmget_not_zero(p->mm))
			continue;
		mmap_read_lock(p->mm);
		list_for_each_entry(vma, &p->mm->ramm_priced, ramm_link) {
			u64 price = vma->ramm_price.price;
			struct ramm_key key;

			/*
			 * No anon_vma: never faulted, nothing to give.
			 * Skipping it keeps a pass from visiting every
			 * untouched range in turn.
			 */
			if (!ramm_vma_priceable(vma) || !vma->anon_vma)
				continue;
			if (!ramm_askable(price, reserve, above_reserve))
				continue;
			key = ramm_key_of(price, p->credit, p->id,
					  vma->vm_start);
			if (!ramm_key_better(after, &key, &best->key))
				continue;
			*best = (struct ramm_candidate) {
				.key = key,
				.p = p,
				.end = vma->vm_end,
				.price = vma->ramm_price,
			};
		}
		mmap_read_unlock(p->mm);
		mmput_async(p->mm);
	}
	/* What selection costs, for make bench's scale test. */
	ramm_count(RAMM_SELECTIONS, 1);
	ramm_count(RAMM_SELECT_NS, ktime_get_ns() - t0);
	return best->p;
}

/**
 * ramm_askable - whether a range may be asked for in this pass
 * @price:         its price
 * @reserve:       the reserve price
 * @above_reserve: the pass escalated: reclaimable page cache no longer
 *                 covers the shortfall
 *
 * Ranges priced at or above the reserve are worth more than page cache:
 * they are asked for only once page cache cannot cover the shortfall.
 */
bool ramm_askable(u64 price, u64 reserve, bool above_reserve)
{
	return price < reserve || above_reserve;
}

/**
 * ramm_ask_pages - how much to ask of one range
 * @resident:    its pages in RAM
 * @outstanding: its pages already asked for and not yet judged
 * @shortfall:   what the pass still needs
 *
 * Return: its resident pages not yet asked for, at most @shortfall.
 */
u64 ramm_ask_pages(u64 resident, u64 outstanding, long shortfall)
{
	if (shortfall <= 0 || resident <= outstanding)
		return 0;
	return min_t(u64, resident - outstanding, shortfall);
}

/*
 * The CPU a pass may spend asking.  A search walks every participant's
 * priced VMAs, and a pass searches once per range it tries: with many
 * small ranges whose owners' queues are full, unbounded, that is the
 * square of the number of ranges.  Once it has spent pass_budget_ms asking
 * (machine-wide and for the cgroups together), a pass stops asking
 * (delivering still runs), and the next pass goes on from the range where
 * it stopped (ramm_resume_after).
 */
static u64 ramm_pass_end;	/* when the current pass must stop asking */
static bool ramm_pass_cut;	/* and whether it has */

/* Whether the current pass may search for another range to ask. */
static bool ramm_pass_budget_left(void)
{
	if (ramm_pass_cut)
		return false;
	if (ktime_get_ns() < ramm_pass_end)
		return true;
	ramm_pass_cut = true;
	ramm_count(RAMM_PASSES_OVER_BUDGET, 1);
	return false;
}

/*
 * Ask @c's owner for up to @shortfall pages, of those it has on @nodes
 * (NULL: anywhere); returns the pages asked.
 */
static u64 ramm_ask_one(struct ramm_candidate *c, long shortfall,
			const nodemask_t *nodes, u64 now)
{
	struct ramm_participant *p = c->p;
	struct ramm_usage usage;
	u64 asked, pages = 0;

	if (!mmget_not_zero(p->mm))
		return 0;
	mmap_read_lock(p->mm);
	ramm_usage_on(p->mm, c->key.start, c->end, nodes, &usage);
	mmap_read_unlock(p->mm);
	mmput_async(p->mm);

	asked = ramm_outstanding(p, c->key.start, c->end);
	pages = ramm_ask_pages(nodes ? usage.on_nodes : usage.resident, asked,
			       shortfall);
	if (!pages)
		return 0;
	if (!ramm_queue_ask(p, c->key.start, c->end, c->price, pages,
			    usage.resident + usage.swapped, now))
		return 0;
	trace_ramm_request(pid_nr(p->pid), c->key.start,
			   c->end - c->key.start, c->price.price,
			   pages << PAGE_SHIFT, p->credit);
	return pages;
}

/*
 * Where the next asking goes on from: the last range tried by a pass that
 * ran out of budget while asking for ramm_resume_memcg (NULL: for the
 * machine), or RAMM_KEY_MIN once asking there got through.  Starting every
 * pass from the cheapest range would spend each pass's budget on the same
 * ranges that cannot give (owners whose queues are full, pages on nodes
 * that are not short) and never reach those that can.  One cursor is
 * enough: a pass asks for nothing after its budget runs out, so at most
 * one asking per pass is cut.  The cgroup is only compared, never
 * dereferenced; should its memory become another cgroup's, that one
 * merely starts from a later range and wraps.
 */
static struct mem_cgroup *ramm_resume_memcg;
static struct ramm_key ramm_resume_after = RAMM_KEY_MIN;

/* Asking for @memcg (NULL: the machine) has nothing left to go on with. */
static void ramm_resume_reset(struct mem_cgroup *memcg)
{
	if (memcg == ramm_resume_memcg)
		ramm_resume_after = RAMM_KEY_MIN;
}

/*
 * Ask the cheapest ranges of participants in @memcg (NULL: all) for
 * @shortfall pages of memory on @nodes (NULL: anywhere); returns the pages
 * asked.  After a pass that ran out of budget asking for the same @memcg,
 * it goes on from where that one stopped, and then once more from the
 * cheapest range up to there.
 */
static u64 ramm_ask(struct mem_cgroup *memcg, long shortfall, bool escalate,
		    const nodemask_t *nodes, u64 now)
{
	const struct ramm_key first = RAMM_KEY_MIN;
	struct ramm_key start, after;
	struct ramm_candidate c;
	bool above_reserve, wrapped = false;
	u64 asked = 0, pages;

	/* Cut already: leave the cursor to the asking that was. */
	if (!ramm_pass_budget_left())
		return 0;
	start = memcg == ramm_resume_memcg ? ramm_resume_after : first;
	after = start;

	/* Page cache that reclaim can drop is cheaper than valuable memory. */
	above_reserve = escalate && ramm_file_pages(memcg) < shortfall;

	while (shortfall > 0 && !kthread_should_stop()) {
		if (!ramm_pass_budget_left()) {
			ramm_resume_memcg = memcg;
			ramm_resume_after = after;
			return asked;
		}
		/*
		 * Once wrapped, up to and with the range the cut pass tried
		 * last: the shortfall may have grown since.
		 */
		if (!ramm_next_candidate(memcg, &after, above_reserve, &c) ||
		    (wrapped && ramm_key_before(&start, &c.key))) {
			if (wrapped || !ramm_key_before(&first, &start))
				break;
			wrapped = true;
			after = first;
			continue;
		}
		pages = ramm_ask_one(&c, shortfall, nodes, now);
		shortfall -= pages;
		asked += pages;
		after = c.key;
		/* Each search walks every participant's priced VMAs. */
		cond_resched();
	}
	ramm_resume_reset(memcg);
	return asked;
}

/* --- 5. memory cgroups -------------------------------------------------- */

/*
 * Cgroups whose reclaim ran since the last pass (ramm_memcg_wake()), each
 * with a reference on its css.  A fixed set, so that reclaim allocates
 * nothing to record one; when it is full, a cgroup waits for its next
 * reclaim, which comes as long as it stays over its limit.
 */
#ifdef CONFIG_MEMCG
#define RAMM_MEMCG_PENDING	8

struct ramm_memcg_wake {
	struct mem_cgroup *memcg;
	bool escalate;
};

static DEFINE_SPINLOCK(ramm_memcg_lock);
static struct ramm_memcg_wake ramm_memcg_pending[RAMM_MEMCG_PENDING];

/**
 * ramm_memcg_wake - ask for a pass for a cgroup over its limit
 * @memcg:    the cgroup being reclaimed
 * @escalate: its ordinary reclaim fell short
 *
 * From try_to_free_mem_cgroup_pages(), in process context.
 */
void ramm_memcg_wake(struct mem_cgroup *memcg, bool escalate)
{
	struct ramm_memcg_wake *w, *slot = NULL;

	spin_lock(&ramm_memcg_lock);
	for (w = ramm_memcg_pending;
	     w < ramm_memcg_pending + RAMM_MEMCG_PENDING; w++) {
		if (w->memcg == memcg) {
			slot = w;
			break;
		}
		if (!w->memcg && !slot)
			slot = w;
	}
	if (slot && !slot->memcg && css_tryget(&memcg->css))
		slot->memcg = memcg;
	if (slot && slot->memcg == memcg)
		slot->escalate |= escalate;
	spin_unlock(&ramm_memcg_lock);
	ramm_wake_krammmd(RAMM_WAKE_CHECK);
}

/* What @memcg's participants are asked for; see ramm_over_limit(). */
static long ramm_memcg_shortfall(struct mem_cgroup *memcg)
{
	unsigned long limit = min(READ_ONCE(memcg->memory.high),
				  READ_ONCE(memcg->memory.max));

	if (limit == PAGE_COUNTER_MAX)
		return 0;
	return ramm_over_limit(page_counter_read(&memcg->memory), limit,
			       READ_ONCE(ramm_tun.headroom_permille),
			       ramm_outstanding_in(memcg));
}

/* Ask, in each cgroup reclaimed since the last pass, for its shortfall. */
static void ramm_balance_memcgs(u64 now)
{
	struct ramm_memcg_wake w;
	unsigned int i;
	long shortfall;

	for (i = 0; i < RAMM_MEMCG_PENDING; i++) {
		spin_lock(&ramm_memcg_lock);
		w = ramm_memcg_pending[i];
		ramm_memcg_pending[i] = (struct ramm_memcg_wake) {};
		spin_unlock(&ramm_memcg_lock);
		if (!w.memcg)
			continue;
		if (READ_ONCE(ramm_tun.enabled)) {
			shortfall = ramm_memcg_shortfall(w.memcg);
			if (shortfall > 0)
				ramm_ask(w.memcg, shortfall, w.escalate, NULL,
					 now);
			else
				ramm_resume_reset(w.memcg);
		}
		css_put(&w.memcg->css);
	}
}
#else /* CONFIG_MEMCG */
void ramm_memcg_wake(struct mem_cgroup *memcg, bool escalate)
{
}

static void ramm_balance_memcgs(u64 now)
{
}
#endif /* CONFIG_MEMCG */

/* --- the thread ---------------------------------------------------------- */

/* One pass; returns how long to sleep (jiffies) if nothing wakes us. */
static long ramm_balance(void)
{
	struct ramm_participant *p;
	u64 now, next = U64_MAX, outstanding, asked = 0;
	bool pressure, escalate;
	long shortfall;

	clear_bit(RAMM_WOKEN, &ramm_wake_flags);
	pressure = test_and_clear_bit(RAMM_PRESSURE, &ramm_wake_flags);
	escalate = test_and_clear_bit(RAMM_ESCALATE, &ramm_wake_flags);

	mutex_lock(&ramm_participants_mutex);
	now = ktime_get_ns();
	ramm_count(RAMM_PASSES, 1);
	list_for_each_entry(p, &ramm_participants, node) {
		WRITE_ONCE(p->credit, ramm_credit_of(p));
		ramm_judge(p, now);
	}
	outstanding = ramm_outstanding_in(NULL);
	ramm_pass_end = ktime_get_ns() +
		       (u64)READ_ONCE(ramm_tun.pass_budget_ms) * NSEC_PER_MSEC;
	ramm_pass_cut = false;
	if (READ_ONCE(ramm_tun.enabled)) {
		shortfall = ramm_shortfall(pressure, outstanding,
					   &ramm_short_nodes);
		/*
		 * With one node, every resident page is on it: the page
		 * walk need not look up each page's node.
		 */
		if (shortfall > 0)
			asked = ramm_ask(NULL, shortfall, escalate,
					 num_node_state(N_MEMORY) > 1 ?
					 &ramm_short_nodes : NULL, now);
		else
			ramm_resume_reset(NULL);
		trace_ramm_pass(shortfall, &ramm_short_nodes, outstanding,
				asked, pressure, escalate);
	}
	ramm_rearm_ahead(outstanding + asked, asked);
	ramm_balance_memcgs(now);
	now = ktime_get_ns();
	list_for_each_entry(p, &ramm_participants, node) {
		ramm_deliver(p);
		next = min(next, ramm_next_deadline(p, now));
	}
	mutex_unlock(&ramm_participants_mutex);

	if (next == U64_MAX)
		return MAX_SCHEDULE_TIMEOUT;
	return nsecs_to_jiffies(next) + 1;
}

static int krammmd(void *unused)
{
	long timeout = MAX_SCHEDULE_TIMEOUT;

	/*
	 * As kswapd: krammmd works to free memory and must not wait in
	 * reclaim for it (it allocates nothing itself; the mmu_gather may
	 * try a page without waiting).
	 */
	current->flags |= PF_MEMALLOC;
	set_freezable();
	while (!kthread_should_stop()) {
		wait_event_freezable_timeout(ramm_krammmd_wait,
					     test_bit(RAMM_WOKEN,
						      &ramm_wake_flags) ||
					     kthread_should_stop(), timeout);
		timeout = ramm_balance();
	}
	return 0;
}

/**
 * ramm_krammmd_start - start krammmd (at boot)
 *
 * Return: 0, or the error of kthread_run().
 */
int ramm_krammmd_start(void)
{
	ramm_krammmd = kthread_run(krammmd, NULL, "krammmd");
	if (IS_ERR(ramm_krammmd)) {
		int error = PTR_ERR(ramm_krammmd);

		ramm_krammmd = NULL;
		return error;
	}
	return 0;
}
