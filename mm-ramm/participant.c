// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM participants: processes that registered to be asked for memory.
 *
 * A participant belongs to an address space (mm->ramm_participant): exec
 * and exit drop it with everything queued, and a forked child starts
 * unregistered.  Its queue is a fixed array of slots allocated at
 * registration, so that krammmd and the direct-reclaim hook can queue
 * records without allocating; when it is full, the record is not queued
 * and the overflow is counted, and a purge that could not be recorded is
 * not done at all, so data loss is never silent.
 *
 * Lifetime: the registration, each open fd and each temporary user hold a
 * reference.  The list is changed under ramm_participants_mutex, which
 * krammmd holds for a whole pass; the reclaim hook, which may not sleep,
 * walks it under RCU and takes references with refcount_inc_not_zero().
 * The last reference schedules free_work, which drops the mm and pid from
 * process context and frees the participant after a grace period.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/anon_inodes.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ramm.h"

LIST_HEAD(ramm_participants);
/* Serializes changes to ramm_participants and krammmd's passes over it. */
DEFINE_MUTEX(ramm_participants_mutex);
static atomic64_t ramm_next_id = ATOMIC64_INIT(0);

static void ramm_free_work(struct work_struct *work)
{
	struct ramm_participant *p =
		container_of(work, struct ramm_participant, free_work);

	mmdrop(p->mm);
	put_pid(p->pid);
	kvfree_rcu(p, rcu);
}

/* Drop a reference; safe in any context (the free is deferred). */
void ramm_put(struct ramm_participant *p)
{
	if (refcount_dec_and_test(&p->ref))
		schedule_work(&p->free_work);
}

/**
 * ramm_participant_get - the participant of @mm, with a reference
 * @mm: an address space
 *
 * Return: the participant, or NULL if @mm is not registered.
 */
struct ramm_participant *ramm_participant_get(struct mm_struct *mm)
{
	struct ramm_participant *p;

	mutex_lock(&ramm_participants_mutex);
	p = mm->ramm_participant;
	if (p)
		refcount_inc(&p->ref);
	mutex_unlock(&ramm_participants_mutex);
	return p;
}

/**
 * ramm_register - make the current process a participant (PR_RAMM_REGISTER)
 * @reg: the signal and flags
 *
 * Return: 0, -EINVAL for SIGKILL, SIGSTOP, a signal above _NSIG or unknown
 * flags, -EBUSY if already registered, -ENOMEM.
 */
int ramm_register(const struct ramm_register *reg)
{
	struct mm_struct *mm = current->mm;
	struct ramm_participant *p;
	unsigned int nr_slots;

	if (reg->flags || reg->signal > _NSIG ||
	    (reg->signal && sig_kernel_only(reg->signal)))
		return -EINVAL;

	nr_slots = READ_ONCE(ramm_tun.queue_len);
	p = kvzalloc(struct_size(p, slots, nr_slots), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	refcount_set(&p->ref, 1);
	spin_lock_init(&p->lock);
	init_waitqueue_head(&p->wait);
	INIT_WORK(&p->free_work, ramm_free_work);
	p->signal = reg->signal;
	p->nr_slots = nr_slots;
	p->next_seq = 1;
	p->credit = RAMM_CREDIT_FULL;

	/* Outside mmap_lock and every RAMM lock: it takes cpus_read_lock(). */
	ramm_enable();

	mutex_lock(&ramm_participants_mutex);
	if (mm->ramm_participant) {
		mutex_unlock(&ramm_participants_mutex);
		kvfree(p);
		return -EBUSY;
	}
	mmgrab(mm);
	p->mm = mm;
	p->pid = get_task_pid(current, PIDTYPE_TGID);
	p->id = atomic64_inc_return(&ramm_next_id);
	p->credit = ramm_credit_of(p);	/* re-registering resets nothing */
	WRITE_ONCE(mm->ramm_participant, p);
	list_add_tail_rcu(&p->node, &ramm_participants);
	atomic_inc(&ramm_nr_participants);
	mutex_unlock(&ramm_participants_mutex);
	ramm_arm_ahead();
	return 0;
}

/*
 * Unlink @p and drop its queue; with ramm_participants_mutex held (which
 * also keeps krammmd, the credit's other writer, out).  Asks still
 * pending count as ignored: leaving must not be a way around the penalty.
 */
static void __ramm_unregister(struct ramm_participant *p)
{
	unsigned int i;

	lockdep_assert_held(&ramm_participants_mutex);
	for (i = 0; i < p->nr_slots; i++) {
		if (p->slots[i].state == RAMM_SLOT_ASK) {
			ramm_credit_record(p, RAMM_IGNORED);
			ramm_count(RAMM_IGNORED_COUNT, 1);
		}
	}
	list_del_rcu(&p->node);
	WRITE_ONCE(p->mm->ramm_participant, NULL);
	atomic_dec(&ramm_nr_participants);

	spin_lock(&p->lock);
	p->dead = true;
	memset(p->slots, 0, p->nr_slots * sizeof(p->slots[0]));
	spin_unlock(&p->lock);
	wake_up_interruptible_poll(&p->wait, EPOLLHUP);
	ramm_put(p);
}

/**
 * ramm_unregister - stop being a participant (PR_RAMM_UNREGISTER)
 * @mm: the caller's address space
 *
 * Return: 0, or -ENOENT if @mm is not registered.
 */
int ramm_unregister(struct mm_struct *mm)
{
	int error = -ENOENT;

	mutex_lock(&ramm_participants_mutex);
	if (mm->ramm_participant) {
		__ramm_unregister(mm->ramm_participant);
		error = 0;
	}
	mutex_unlock(&ramm_participants_mutex);
	return error;
}

/* __mmput(): the last user of @mm is gone. */
void __ramm_mm_exit(struct mm_struct *mm)
{
	ramm_unregister(mm);
}

/* Whether [a, a + alen) and [b, b + blen) overlap. */
static bool ramm_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* A free slot, or -1; with p->lock held. */
static int __ramm_free_slot(struct ramm_participant *p)
{
	unsigned int i;

	for (i = 0; i < p->nr_slots; i++)
		if (p->slots[i].state == RAMM_SLOT_FREE)
			return i;
	return -1;
}

/*
 * Make slot @s a new unread record of @reason for [start, end), for an
 * amount of @pages; with p->lock held.  The one place a record is born: it
 * takes the next sequence number and marks the participant to be woken.
 */
static struct ramm_request *
__ramm_new_record(struct ramm_participant *p, struct ramm_slot *s, u32 reason,
		  unsigned long start, unsigned long end,
		  struct ramm_price price, u64 pages, u64 detected_ns)
{
	*s = (struct ramm_slot) {
		.rec = {
			.seq = p->next_seq++,
			.start = start,
			.len = end - start,
			.price = price.price,
			.ramm_flags = price.flags,
			.amount = pages << PAGE_SHIFT,
			.reason = reason,
			.detected_ns = detected_ns,
		},
		.state = reason == RAMM_REASON_ASK ? RAMM_SLOT_ASK :
						     RAMM_SLOT_PURGE,
		.unread = true,
	};
	p->notify = true;
	return &s->rec;
}

static void ramm_overflow(struct ramm_participant *p)
{
	ramm_count(RAMM_QUEUE_OVERFLOWS, 1);
	ramm_credit_count(p, 0, 0, 1);
}

/**
 * ramm_queue_ask - queue an ask for @pages of the range [start, end)
 * @p:           the participant
 * @start:       the range: first byte ...
 * @end:         ... and its end
 * @price:       its price
 * @pages:       how many pages the kernel wants back
 * @held:        the pages the range holds now (in RAM or swap), to judge
 *               the answer by
 * @detected_ns: when the shortfall was found
 *
 * An unread ask for an overlapping range is extended instead: the union of
 * the ranges, the sum of the amounts.
 *
 * Return: true if queued or coalesced, false if the queue is full.
 */
bool ramm_queue_ask(struct ramm_participant *p, unsigned long start,
		    unsigned long end, struct ramm_price price, u64 pages,
		    u64 held, u64 detected_ns)
{
	/* The owner's time runs from when it can see the ask. */
	u64 deadline = ktime_get_ns() +
		(u64)READ_ONCE(ramm_tun.deadline_ms) * NSEC_PER_MSEC;
	u64 len = end - start;
	struct ramm_slot *s;
	unsigned int i;
	int free;

	spin_lock(&p->lock);
	if (p->dead)
		goto full;
	for (i = 0; i < p->nr_slots; i++) {
		s = &p->slots[i];
		if (s->state != RAMM_SLOT_ASK || !s->unread ||
		    !ramm_overlap(s->rec.start, s->rec.len, start, len))
			continue;
		/* Same range or its remains after a split: one ask. */
		if (s->rec.start != start || s->rec.len != len) {
			u64 rec_end = max(s->rec.start + s->rec.len, start + len);

			s->rec.start = min(s->rec.start, start);
			s->rec.len = rec_end - s->rec.start;
		}
		s->asked_pages += pages;
		s->held_at_ask = max(s->held_at_ask, held);
		s->rec.amount = s->asked_pages << PAGE_SHIFT;
		s->rec.deadline_ns = max(s->rec.deadline_ns, deadline);
		goto queued;
	}
	free = __ramm_free_slot(p);
	if (free < 0)
		goto full;
	s = &p->slots[free];
	__ramm_new_record(p, s, RAMM_REASON_ASK, start, end, price, pages,
			  detected_ns)->deadline_ns = deadline;
	s->held_at_ask = held;
	s->asked_pages = pages;
	ramm_count(RAMM_REQUESTS, 1);
	ramm_credit_count(p, 1, 0, 0);
queued:
	p->notify = true;
	spin_unlock(&p->lock);
	ramm_count(RAMM_PAGES_ASKED, pages);
	return true;
full:
	spin_unlock(&p->lock);
	ramm_overflow(p);
	return false;
}

/**
 * __ramm_reserve_slot - hold a slot for the purge record of a purge to come
 * @p:     the participant, p->lock held
 * @start: the range to be purged ...
 * @end:   ... and its end
 *
 * An unread purge record of an overlapping range is held to be extended,
 * so that however often a participant that does not read is purged, its
 * queue holds one record per range.  Readers skip a held slot.
 *
 * Return: the slot, or -1 when the queue is full (and the purge must not
 * be done: nobody could be told).
 */
int __ramm_reserve_slot(struct ramm_participant *p, unsigned long start,
			unsigned long end)
{
	unsigned int i;
	int slot;

	lockdep_assert_held(&p->lock);
	if (p->dead)
		return -1;
	for (i = 0; i < p->nr_slots; i++) {
		struct ramm_slot *s = &p->slots[i];

		if (s->state == RAMM_SLOT_PURGE && s->unread &&
		    ramm_overlap(s->rec.start, s->rec.len, start, end - start)) {
			s->state = RAMM_SLOT_RESERVED;
			return i;
		}
	}
	slot = __ramm_free_slot(p);
	if (slot < 0)
		return -1;
	p->slots[slot].state = RAMM_SLOT_RESERVED;
	return slot;
}

/**
 * __ramm_note_purged - charge pages the kernel dropped to overlapping asks
 * @p:     the participant, p->lock held
 * @slot:  a slot not to charge (the one becoming the purge record), or -1
 * @start: first byte of the range that was zapped ...
 * @end:   ... and its end
 * @pages: pages dropped
 *
 * What the kernel dropped is not the owner's answer to an ask.
 */
void __ramm_note_purged(struct ramm_participant *p, int slot,
			unsigned long start, unsigned long end, u64 pages)
{
	unsigned int i;

	lockdep_assert_held(&p->lock);
	for (i = 0; i < p->nr_slots; i++) {
		struct ramm_slot *a = &p->slots[i];

		if (i != slot && a->state == RAMM_SLOT_ASK &&
		    ramm_overlap(a->rec.start, a->rec.len, start, end - start))
			a->purged_pages += pages;
	}
}

/**
 * __ramm_fill_purge - write the purge record into a slot
 * @p:           the participant, p->lock held
 * @slot:        a slot from __ramm_reserve_slot() or an ask being converted
 * @start:       first byte of the range that was zapped ...
 * @end:         ... and its end
 * @price:       the range's price
 * @pages:       pages dropped; 0 frees the slot instead
 * @detected_ns: when the shortfall that caused it was found
 */
void __ramm_fill_purge(struct ramm_participant *p, int slot,
		       unsigned long start, unsigned long end,
		       struct ramm_price price, u64 pages, u64 detected_ns)
{
	struct ramm_slot *s = &p->slots[slot];
	bool extend = s->unread && s->rec.reason == RAMM_REASON_PURGED;

	__ramm_note_purged(p, slot, start, end, pages);
	if (p->dead) {
		memset(s, 0, sizeof(*s));
		return;
	}
	if (extend) {
		/*
		 * A held unread purge record of this range: one record.  It
		 * takes the next sequence number, as news does: readers skip
		 * a held slot, so later records may have been read meanwhile.
		 */
		u64 rec_end = max_t(u64, s->rec.start + s->rec.len, end);

		s->rec.seq = p->next_seq++;
		s->rec.start = min_t(u64, s->rec.start, start);
		s->rec.len = rec_end - s->rec.start;
		s->rec.amount += pages << PAGE_SHIFT;
		s->state = RAMM_SLOT_PURGE;
		p->notify |= pages != 0;
		return;
	}
	if (!pages) {
		memset(s, 0, sizeof(*s));
		return;
	}
	__ramm_new_record(p, s, RAMM_REASON_PURGED, start, end, price, pages,
			  detected_ns);
}

/*
 * Tell the participant that records are queued: wake its pollers and send
 * its signal.  The signal goes only to a handler: a disposition of default
 * or ignore is skipped and counted, so RAMM never kills by signal.  Nor is
 * it sent while the last one is still pending (blocked, or not yet
 * handled): the pending one already says "read your queue", and a
 * real-time signal would otherwise queue one entry per pass.  So a
 * participant has at most one RAMM signal pending, and gets at most one
 * per pass of krammmd.  The disposition and the pending set are read
 * under siglock, the lock sigaction() and dequeueing change them under,
 * and the signal is sent under the same hold.  Process context (krammmd).
 */
void ramm_deliver(struct ramm_participant *p)
{
	struct task_struct *task;
	unsigned long flags;
	bool notify;

	spin_lock(&p->lock);
	notify = p->notify && !p->dead;
	p->notify = false;
	spin_unlock(&p->lock);
	if (!notify)
		return;

	wake_up_interruptible_poll(&p->wait, EPOLLIN | EPOLLRDNORM);
	if (!p->signal)
		return;

	rcu_read_lock();
	task = pid_task(p->pid, PIDTYPE_TGID);
	if (task && lock_task_sighand(task, &flags)) {
		__sighandler_t h = task->sighand->action[p->signal - 1].sa.sa_handler;

		if (h == SIG_DFL || h == SIG_IGN) {
			ramm_count(RAMM_SIGNALS_SKIPPED, 1);
		} else if (sigismember(&task->signal->shared_pending.signal,
				       p->signal)) {
			ramm_count(RAMM_SIGNALS_COALESCED, 1);
		} else {
			send_signal_locked(p->signal, SEND_SIG_PRIV, task,
					   PIDTYPE_TGID);
			ramm_count(RAMM_SIGNALS_SENT, 1);
		}
		unlock_task_sighand(task, &flags);
	}
	rcu_read_unlock();
}

/* Whether there is anything to read; with p->lock held. */
static bool __ramm_has_unread(struct ramm_participant *p)
{
	unsigned int i;

	for (i = 0; i < p->nr_slots; i++)
		if (p->slots[i].unread &&
		    p->slots[i].state != RAMM_SLOT_RESERVED)
			return true;
	return false;
}

/*
 * A participant that reads or polls has probably just given memory back:
 * have krammmd check its outstanding asks now, so the answer is timed when
 * it happened rather than at the deadline.
 */
static void ramm_request_check(struct ramm_participant *p)
{
	bool wake = false;
	unsigned int i;

	spin_lock(&p->lock);
	for (i = 0; i < p->nr_slots && !p->check; i++) {
		if (p->slots[i].state == RAMM_SLOT_ASK && !p->slots[i].unread) {
			p->check = true;
			wake = true;
		}
	}
	spin_unlock(&p->lock);
	if (wake)
		ramm_wake_krammmd(RAMM_WAKE_CHECK);
}

/*
 * Move up to @max unread records, oldest first, into @out; with p->lock
 * held.  An ask stays in its slot (unread cleared) until krammmd judges
 * the answer; a purge record's slot is freed.
 */
static size_t __ramm_take(struct ramm_participant *p, struct ramm_request *out,
			  size_t max)
{
	size_t n = 0;

	while (n < max) {
		struct ramm_slot *oldest = NULL;
		unsigned int i;

		for (i = 0; i < p->nr_slots; i++) {
			struct ramm_slot *s = &p->slots[i];

			if (s->unread && s->state != RAMM_SLOT_RESERVED &&
			    (!oldest || s->rec.seq < oldest->rec.seq))
				oldest = s;
		}
		if (!oldest)
			break;
		out[n++] = oldest->rec;
		oldest->unread = false;
		if (oldest->state == RAMM_SLOT_PURGE)
			memset(oldest, 0, sizeof(*oldest));
	}
	return n;
}

/*
 * Copy queued records to @buf (@size bytes); the same queue for read() and
 * PR_RAMM_GET_REQUESTS.
 *
 * Return: bytes copied, 0 with nothing queued, -EINVAL for a buffer
 * smaller than a record, -EFAULT when not even the first record could be
 * copied.  The record whose copy faulted is lost to the caller, as with
 * any read() into a bad buffer; those copied before it are returned.
 */
static ssize_t ramm_copy_requests(struct ramm_participant *p,
				  void __user *buf, size_t size)
{
	size_t max = size / sizeof(struct ramm_request);
	struct ramm_request rec;
	size_t n;

	if (!max)
		return -EINVAL;
	/*
	 * One record at a time through the stack: a participant reads when
	 * memory is short, so reading must not allocate.
	 */
	for (n = 0; n < max; n++) {
		spin_lock(&p->lock);
		if (!__ramm_take(p, &rec, 1)) {
			spin_unlock(&p->lock);
			break;
		}
		spin_unlock(&p->lock);
		if (copy_to_user(buf + n * sizeof(rec), &rec, sizeof(rec))) {
			if (!n)
				return -EFAULT;
			break;
		}
	}
	ramm_request_check(p);
	return n * sizeof(rec);
}

/**
 * ramm_get_requests - PR_RAMM_GET_REQUESTS
 * @buf:  an array of struct ramm_request
 * @size: its size in bytes
 *
 * Return: the number of records copied, or -ENOENT when not registered,
 * -EINVAL or -EFAULT as ramm_copy_requests().
 */
long ramm_get_requests(void __user *buf, size_t size)
{
	struct ramm_participant *p;
	ssize_t ret;

	BUILD_BUG_ON(sizeof(struct ramm_request) != RAMM_REQUEST_SIZE_VER0);
	p = ramm_participant_get(current->mm);
	if (!p)
		return -ENOENT;
	ret = ramm_copy_requests(p, buf, size);
	ramm_put(p);
	return ret < 0 ? ret : ret / sizeof(struct ramm_request);
}

static ssize_t ramm_fd_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct ramm_participant *p = file->private_data;
	ssize_t ret;

	if (count < sizeof(struct ramm_request))
		return -EINVAL;
	for (;;) {
		ret = ramm_copy_requests(p, buf, count);
		if (ret || READ_ONCE(p->dead))
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(p->wait, ({
			bool ready;

			spin_lock(&p->lock);
			ready = p->dead || __ramm_has_unread(p);
			spin_unlock(&p->lock);
			ready; }));
		if (ret)
			return ret;
	}
}

static __poll_t ramm_fd_poll(struct file *file, poll_table *wait)
{
	struct ramm_participant *p = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &p->wait, wait);
	spin_lock(&p->lock);
	if (p->dead)
		mask = EPOLLHUP;
	else if (__ramm_has_unread(p))
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock(&p->lock);
	if (!mask)
		ramm_request_check(p);
	return mask;
}

static int ramm_fd_release(struct inode *inode, struct file *file)
{
	ramm_put(file->private_data);
	return 0;
}

static const struct file_operations ramm_fd_fops = {
	.owner = THIS_MODULE,
	.read = ramm_fd_read,
	.poll = ramm_fd_poll,
	.release = ramm_fd_release,
	.llseek = noop_llseek,
};

/**
 * ramm_get_fd - PR_RAMM_GET_FD
 * @flags: O_NONBLOCK or 0
 *
 * Return: a new close-on-exec fd, -EINVAL for other flags, -ENOENT when
 * not registered, or what anon_inode_getfd() returns.
 */
int ramm_get_fd(unsigned long flags)
{
	struct ramm_participant *p;
	int fd;

	if (flags & ~O_NONBLOCK)
		return -EINVAL;
	p = ramm_participant_get(current->mm);
	if (!p)
		return -ENOENT;
	fd = anon_inode_getfd("[ramm]", &ramm_fd_fops, p,
			      O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0)
		ramm_put(p);
	return fd;
}

/**
 * ramm_fill_stats - the participant fields of struct ramm_stats
 * @mm:    the caller's address space
 * @stats: filled in from the registration and the process's credit
 */
void ramm_fill_stats(struct mm_struct *mm, struct ramm_stats *stats)
{
	struct ramm_credit *cr = &current->signal->ramm_credit;

	stats->registered = !!READ_ONCE(mm->ramm_participant);
	stats->credit = RAMM_CREDIT_FULL - READ_ONCE(cr->deficit);
	stats->asked = atomic64_read(&cr->asked);
	stats->answered = atomic64_read(&cr->answered);
	stats->late = atomic64_read(&cr->late);
	stats->ignored = atomic64_read(&cr->ignored);
	stats->purged_bytes = atomic64_read(&cr->purged_bytes);
	stats->queue_overflows = atomic64_read(&cr->overflows);
}
