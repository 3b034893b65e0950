// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM credit: how reliably a process gives memory back when asked.
 *
 * Credit c is kept in thousandths (RAMM_CREDIT_FULL = 1000 is full credit)
 * as a deficit d = 1000 - c in signal_struct, so that a new process starts
 * with full credit.  The kernel ranks priced ranges by their effective
 * price, price * c / 1000: memory of a process that does not answer is
 * asked for, and purged, sooner than its nominal price says.
 *
 * Each verdict on an ask moves the credit:
 *   answered by the deadline:            c += (1000 - c) / 4   (recovery)
 *   late, or partly answered:            c -= c / 4
 *   ignored (nothing given back):        c -= c / 2
 * and the deficit halves for every credit_halflife_s seconds that pass
 * (decay: old failures are forgotten).  c never falls below 1, so the
 * ranking by price survives among processes that all ignore.  Three
 * ignored asks take c from 1000 to 125: a range priced 4000 then ranks
 * below one priced 1000 whose owner answers.  Answers alone bring c back
 * to 997 (a quarter of a deficit under 4 rounds to 0); decay forgives the
 * rest.
 *
 * The credit survives re-registration and exec and is inherited on fork,
 * so it cannot be laundered.  Only krammmd writes it.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/math64.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>

#include "ramm.h"

/**
 * ramm_deficit_decayed - a deficit after @elapsed_ns of decay
 * @deficit:     the deficit, 1000 - credit
 * @elapsed_ns:  time since the deficit was last decayed
 * @halflife_ns: credit_halflife_s in nanoseconds; 0: no decay
 * @used_ns:     set to the time the whole half-lives in @elapsed_ns took,
 *               by which the caller advances its stamp
 *
 * Return: @deficit halved once per whole half-life.
 */
unsigned int ramm_deficit_decayed(unsigned int deficit, u64 elapsed_ns,
				  u64 halflife_ns, u64 *used_ns)
{
	u64 n;

	*used_ns = 0;
	if (!deficit || !halflife_ns)
		return deficit;
	n = div64_u64(elapsed_ns, halflife_ns);
	*used_ns = n * halflife_ns;
	return n >= 32 ? 0 : deficit >> n;
}

/* Apply the decay due at @now_ns; krammmd only. */
static unsigned int ramm_credit_decay(struct ramm_credit *cr, u64 now_ns)
{
	u64 halflife = (u64)READ_ONCE(ramm_tun.credit_halflife_s) *
		       NSEC_PER_SEC;
	unsigned int deficit = READ_ONCE(cr->deficit);
	u64 used;

	deficit = ramm_deficit_decayed(deficit, now_ns - cr->stamp_ns,
				       halflife, &used);
	if (!used)
		return deficit;
	WRITE_ONCE(cr->deficit, deficit);
	cr->stamp_ns += used;
	return deficit;
}

/* The credit of @cr without changing it (readers outside krammmd). */
static unsigned int ramm_credit_peek(const struct ramm_credit *cr)
{
	return RAMM_CREDIT_FULL - READ_ONCE(cr->deficit);
}

/*
 * The credit of @p's process, or NULL if it has exited; call under
 * rcu_read_lock() (signal_struct is freed with the task, after RCU).
 */
static struct ramm_credit *ramm_credit_rcu(struct ramm_participant *p)
{
	struct task_struct *t = pid_task(p->pid, PIDTYPE_TGID);

	return t ? &t->signal->ramm_credit : NULL;
}

/**
 * ramm_credit_of - the current credit of @p's process, decay applied
 * @p: the participant
 *
 * Return: credit in thousandths, 1..RAMM_CREDIT_FULL.
 */
unsigned int ramm_credit_of(struct ramm_participant *p)
{
	unsigned int credit = RAMM_CREDIT_FULL;
	struct ramm_credit *cr;

	rcu_read_lock();
	cr = ramm_credit_rcu(p);
	if (cr) {
		ramm_credit_decay(cr, ktime_get_ns());
		credit = ramm_credit_peek(cr);
	}
	rcu_read_unlock();
	return credit;
}

/**
 * ramm_credit_after - a credit moved by a verdict
 * @credit: the credit, in thousandths, 1..RAMM_CREDIT_FULL
 * @v:      what became of an ask
 *
 * Return: the new credit, never below 1, so that the ranking by price
 * survives among processes that all ignore.
 */
unsigned int ramm_credit_after(unsigned int credit, enum ramm_verdict v)
{
	switch (v) {
	case RAMM_ANSWERED:
		credit += (RAMM_CREDIT_FULL - credit) / 4;
		break;
	case RAMM_LATE:
		credit -= credit / 4;
		break;
	case RAMM_IGNORED:
		credit -= credit / 2;
		break;
	}
	return max(credit, 1U);
}

/**
 * ramm_credit_record - move the credit of @p's process by a verdict
 * @p: the participant
 * @v: what became of an ask
 */
void ramm_credit_record(struct ramm_participant *p, enum ramm_verdict v)
{
	u64 now = ktime_get_ns();
	struct ramm_credit *cr;
	unsigned int c;

	rcu_read_lock();
	cr = ramm_credit_rcu(p);
	if (!cr)
		goto out;
	if (!ramm_credit_decay(cr, now))
		cr->stamp_ns = now;
	c = ramm_credit_after(ramm_credit_peek(cr), v);
	WRITE_ONCE(cr->deficit, RAMM_CREDIT_FULL - c);
	atomic64_inc(v == RAMM_ANSWERED ? &cr->answered :
		     v == RAMM_LATE ? &cr->late : &cr->ignored);
out:
	rcu_read_unlock();
}

/**
 * ramm_credit_count - add to the history of @p's process
 * @p:            the participant
 * @asked:        asks queued
 * @purged_bytes: bytes of its memory dropped
 * @overflows:    records that did not fit in its queue
 *
 * Any context: only atomics, under RCU.
 */
void ramm_credit_count(struct ramm_participant *p, u64 asked,
		       u64 purged_bytes, u64 overflows)
{
	struct ramm_credit *cr;

	rcu_read_lock();
	cr = ramm_credit_rcu(p);
	if (cr) {
		atomic64_add(asked, &cr->asked);
		atomic64_add(purged_bytes, &cr->purged_bytes);
		atomic64_add(overflows, &cr->overflows);
	}
	rcu_read_unlock();
}

/**
 * ramm_effective_price - price scaled by credit
 * @price:  a range's price
 * @credit: its owner's credit, in thousandths
 *
 * Return: @price * @credit / 1000, without overflow.
 */
u64 ramm_effective_price(u64 price, unsigned int credit)
{
	return mul_u64_u32_div(price, credit, RAMM_CREDIT_FULL);
}

/**
 * ramm_key_of - where a range ranks
 * @price:  its price
 * @credit: its owner's credit, in thousandths
 * @id:     its owner's registration number (older first)
 * @start:  its start address
 */
struct ramm_key ramm_key_of(u64 price, unsigned int credit, u64 id,
			    unsigned long start)
{
	return (struct ramm_key) {
		.eff = ramm_effective_price(price, credit),
		.id = id,
		.start = start,
	};
}

/* copy_signal(): the child keeps its parent's credit, not its history. */
void __ramm_fork(struct signal_struct *sig)
{
	const struct ramm_credit *parent = &current->signal->ramm_credit;

	sig->ramm_credit.deficit = READ_ONCE(parent->deficit);
	sig->ramm_credit.stamp_ns = READ_ONCE(parent->stamp_ns);
}

/**
 * ramm_task_credit - the RammCredit: line of /proc/PID/status
 * @m:    the seq_file
 * @task: the task
 */
void ramm_task_credit(struct seq_file *m, struct task_struct *task)
{
	seq_put_decimal_ull(m, "RammCredit:\t",
			    ramm_credit_peek(&task->signal->ramm_credit));
	seq_putc(m, '\n');
}
