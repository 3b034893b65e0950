/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the files of mm/ramm/. */
#ifndef _MM_RAMM_RAMM_H
#define _MM_RAMM_RAMM_H

#include <linux/jump_label.h>
#include <linux/list.h>
#include <linux/memcontrol.h>
#include <linux/mm_types.h>
#include <linux/ramm.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* The RAMM_* flags this kernel accepts. */
#define RAMM_VALID_FLAGS	RAMM_DISCARDABLE

/* Credit is kept in thousandths; full credit is RAMM_CREDIT_FULL. */
#define RAMM_CREDIT_FULL	1000U

void ramm_enable(void);

/* price.c */
int ramm_set_price(struct mm_struct *mm, u64 start, u64 len,
		   struct ramm_price price);
int ramm_get_price(struct mm_struct *mm, struct ramm_range *range);
int ramm_get_stats(struct mm_struct *mm, struct ramm_stats *stats);
bool ramm_vma_priceable(struct vm_area_struct *vma);

/*
 * One record of a participant's queue, and what the kernel needs to judge
 * the answer to an ask.  Slots are allocated with the participant, so
 * queueing a record never allocates (direct reclaim relies on that).
 */
enum ramm_slot_state {
	RAMM_SLOT_FREE,
	RAMM_SLOT_RESERVED,	/* held by a purge in progress */
	RAMM_SLOT_ASK,		/* an ask awaiting its verdict */
	RAMM_SLOT_PURGE,	/* a purge record not yet read */
};

struct ramm_slot {
	struct ramm_request rec;
	enum ramm_slot_state state;
	bool unread;		/* still to be read by the participant */
	bool overdue;		/* preserved ask past its deadline, in grace */
	u64 held_at_ask;	/* pages the range held (in RAM or swap) */
	u64 asked_pages;	/* rec.amount in pages */
	u64 purged_pages;	/* dropped by the kernel since the ask */
};

/**
 * struct ramm_participant - a process registered to be asked for memory
 * @node:      entry in ramm_participants (RCU for the reclaim hook)
 * @ref:       the registration, each open fd and each temporary user
 * @mm:        the address space whose priced memory is offered; mmgrab()ed
 * @pid:       the thread group to signal
 * @signal:    the signal to send when records are queued, 0 for none
 * @id:        registration order: ties in price go to the older participant
 * @lock:      protects everything below it; never held across an
 *             allocation, so the reclaim hook may take it
 * @dead:      unregistered: fds read end-of-file
 * @notify:    records were queued since krammmd last woke the participant
 * @check:     the participant polled or read: check its answers now
 * @next_seq:  sequence number of the next record
 * @purging:   bit 0 held while one of krammmd, a direct reclaimer or the
 *             OOM notifier purges its memory, so one page is never counted
 *             by two; direct reclaim only tries it, the OOM notifier waits
 *             for it (wait_on_bit_lock(), released with
 *             clear_and_wake_up_bit())
 * @credit:    credit at the start of krammmd's current pass (ranking)
 * @nr_slots:  queue capacity (/sys/kernel/mm/ramm/queue_len at registration)
 * @wait:      pollers and blocking readers of the fd
 * @free_work: drops @mm and @pid from process context
 * @rcu:       frees the participant after RCU readers are done with it
 * @slots:     the queue
 */
struct ramm_participant {
	struct list_head node;
	refcount_t ref;
	struct mm_struct *mm;
	struct pid *pid;
	int signal;
	u64 id;
	spinlock_t lock;	/* see above */
	bool dead;
	bool notify;
	bool check;
	u64 next_seq;
	unsigned long purging;
	unsigned int credit;
	unsigned int nr_slots;
	wait_queue_head_t wait;
	struct work_struct free_work;
	struct rcu_head rcu;
	struct ramm_slot slots[];
};

/* participant.c */
extern struct list_head ramm_participants;
extern struct mutex ramm_participants_mutex;
int ramm_register(const struct ramm_register *reg);
int ramm_unregister(struct mm_struct *mm);
int ramm_get_fd(unsigned long flags);
long ramm_get_requests(void __user *buf, size_t size);
void ramm_put(struct ramm_participant *p);
struct ramm_participant *ramm_participant_get(struct mm_struct *mm);
bool ramm_queue_ask(struct ramm_participant *p, unsigned long start,
		    unsigned long end, struct ramm_price price, u64 pages,
		    u64 held, u64 detected_ns);
int __ramm_reserve_slot(struct ramm_participant *p, unsigned long start,
			unsigned long end);
void __ramm_note_purged(struct ramm_participant *p, int slot,
			unsigned long start, unsigned long end, u64 pages);
void __ramm_fill_purge(struct ramm_participant *p, int slot,
		       unsigned long start, unsigned long end,
		       struct ramm_price price, u64 pages, u64 detected_ns);
void ramm_deliver(struct ramm_participant *p);
void ramm_fill_stats(struct mm_struct *mm, struct ramm_stats *stats);

/*
 * Ranges are ranked by effective price, then registration order (older
 * first), then address.  A pass walks them in that order by asking each
 * time for the first one after the last: no allocation, no sorting.
 * These helpers are the whole ranking; ramm_kunit.c tests them.
 */
struct ramm_key {
	u64 eff;
	u64 id;
	unsigned long start;
};

static inline bool ramm_key_before(const struct ramm_key *a,
				   const struct ramm_key *b)
{
	if (a->eff != b->eff)
		return a->eff < b->eff;
	if (a->id != b->id)
		return a->id < b->id;
	return a->start < b->start;
}

/*
 * Whether a scan for the first range after @after should take @key over
 * @best, the first it has found so far.
 */
static inline bool ramm_key_better(const struct ramm_key *after,
				   const struct ramm_key *key,
				   const struct ramm_key *best)
{
	return ramm_key_before(after, key) && ramm_key_before(key, best);
}

#define RAMM_KEY_MAX ((struct ramm_key) { U64_MAX, U64_MAX, ULONG_MAX })
/* Before every range: participant ids start at 1. */
#define RAMM_KEY_MIN ((struct ramm_key) { 0, 0, 0 })

/*
 * Whether @p's address space belongs to @memcg or a cgroup below it (its
 * owner task's cgroup, as mm_match_cgroup() says); any, for a NULL @memcg.
 * Pages charged before a move to another cgroup stay charged where they
 * were, as cgroup v2 does not move charges.
 */
static inline bool ramm_in_memcg(struct ramm_participant *p,
				 struct mem_cgroup *memcg)
{
	return !memcg || mm_match_cgroup(p->mm, memcg);
}

/* credit.c */
enum ramm_verdict { RAMM_ANSWERED, RAMM_LATE, RAMM_IGNORED };

unsigned int ramm_credit_after(unsigned int credit, enum ramm_verdict v);
unsigned int ramm_deficit_decayed(unsigned int deficit, u64 elapsed_ns,
				  u64 halflife_ns, u64 *used_ns);
unsigned int ramm_credit_of(struct ramm_participant *p);
void ramm_credit_record(struct ramm_participant *p, enum ramm_verdict v);
void ramm_credit_count(struct ramm_participant *p, u64 asked,
		       u64 purged_bytes, u64 overflows);
u64 ramm_effective_price(u64 price, unsigned int credit);
struct ramm_key ramm_key_of(u64 price, unsigned int credit, u64 id,
			    unsigned long start);

/* krammmd.c */
enum ramm_wake_why {
	RAMM_WAKE_CHECK,	/* an owner read its queue: judge its asks */
	RAMM_WAKE_AHEAD,	/* free memory fell below krammmd's target */
	RAMM_WAKE_PRESSURE,	/* kswapd was woken, or direct reclaim ran */
	RAMM_WAKE_ESCALATE,	/* ordinary reclaim fell short */
};

void ramm_wake_krammmd(enum ramm_wake_why why);
void ramm_memcg_wake(struct mem_cgroup *memcg, bool escalate);
void ramm_arm_ahead(void);
int ramm_krammmd_start(void);
bool ramm_askable(u64 price, u64 reserve, bool above_reserve);
u64 ramm_ask_pages(u64 resident, u64 outstanding, long shortfall);
long ramm_node_gap(unsigned long target, unsigned long free,
		   unsigned long file, bool pressure);
long ramm_over_limit(unsigned long usage, unsigned long limit,
		     unsigned int headroom_permille, u64 outstanding);

/* reclaim.c */
int ramm_reclaim_init(void);
struct ramm_usage {
	u64 resident;	/* pages in RAM */
	u64 swapped;	/* pages in swap */
	u64 on_nodes;	/* of the resident, those on ramm_usage_on()'s nodes */
	const nodemask_t *nodes;
};

void ramm_usage(struct mm_struct *mm, unsigned long start, unsigned long end,
		struct ramm_usage *usage);
void ramm_usage_on(struct mm_struct *mm, unsigned long start,
		   unsigned long end, const nodemask_t *nodes,
		   struct ramm_usage *usage);
u64 ramm_zap(struct mm_struct *mm, unsigned long start, unsigned long end,
	     u64 pages, bool nonblock, const nodemask_t *nodes,
	     unsigned long *zapped_end);

/* sysfs.c: tunables (documented there) and counters */
struct ramm_tunables {
	bool enabled;
	u64 reserve_price;
	unsigned int deadline_ms;
	unsigned int queue_len;
	unsigned int headroom_permille;
	unsigned int credit_halflife_s;
	unsigned int pass_budget_ms;
};

extern struct ramm_tunables ramm_tun;

enum ramm_counter {
	RAMM_WAKES,
	RAMM_WAKES_AHEAD,
	RAMM_REQUESTS,
	RAMM_PAGES_ASKED,
	RAMM_PAGES_RELEASED,
	RAMM_PAGES_PURGED_KRAMMMD,
	RAMM_PAGES_PURGED_DIRECT,
	RAMM_PAGES_PURGED_OOM,
	RAMM_ANSWERED_COUNT,
	RAMM_LATE_COUNT,
	RAMM_IGNORED_COUNT,
	RAMM_SIGNALS_SENT,
	RAMM_SIGNALS_SKIPPED,
	RAMM_SIGNALS_COALESCED,
	RAMM_QUEUE_OVERFLOWS,
	RAMM_SELECTIONS,
	RAMM_SELECT_NS,
	RAMM_PASSES,
	RAMM_PASSES_OVER_BUDGET,
	RAMM_NR_COUNTERS
};

extern atomic_long_t ramm_counters[RAMM_NR_COUNTERS];
extern atomic_t ramm_nr_participants;

/* Enabled, and somebody to ask or purge. */
static inline bool ramm_market_open(void)
{
	return READ_ONCE(ramm_tun.enabled) &&
	       atomic_read(&ramm_nr_participants);
}

static inline void ramm_count(enum ramm_counter c, long n)
{
	atomic_long_add(n, &ramm_counters[c]);
}

#endif /* _MM_RAMM_RAMM_H */
