// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/mm/ramm/: RAMM's tunables and counters, and its start-up.
 *
 * Tunables (root may write; Documentation/admin-guide/mm/ramm.rst):
 *
 * enabled            1: RAMM asks and purges.  0: it does neither (prices
 *                    are still kept, and asks already made are still
 *                    judged), which turns a machine back into plain Linux
 *                    for comparison.
 * reserve_price      50000 (ns per page): the cost of re-reading a page
 *                    from storage (a 4 KiB random read from a SATA SSD
 *                    takes about 50 us).  Memory priced below it is
 *                    cheaper to recreate than page cache is to re-read, so
 *                    it is asked for (and, if discardable, purged in
 *                    direct reclaim) before ordinary reclaim drops page
 *                    cache; memory priced at or above it only when
 *                    ordinary reclaim cannot meet its target.
 * deadline_ms        100: how long an owner has to answer an ask; a
 *                    preserved range gets as long again to answer late.
 * queue_len          64 (1..4096): records a participant's queue holds;
 *                    applies to registrations made after the change.
 * headroom_permille  50: krammmd balances free memory toward the zones'
 *                    high watermarks plus this share of RAM (5%: about
 *                    13 MiB in a 256 MiB machine), and is woken when an
 *                    allocation takes free memory below that, ahead of
 *                    kswapd.  Preserved memory can only be asked for, so
 *                    asks must stay ahead of a burst by the time owners
 *                    take to answer; the 0.5 MiB watermark gap is far
 *                    less than that.
 * credit_halflife_s  60: a credit deficit halves every this many seconds.
 * pass_budget_ms     10 (1..1000): a krammmd pass stops asking once it has
 *                    spent this long asking; the next pass goes on.
 *
 * participants is the number registered now.  Counters (read-only, since
 * boot): wakes, wakes_ahead, requests,
 * pages_asked, pages_released, pages_purged_krammmd, pages_purged_direct,
 * pages_purged_oom,
 * answered, late, ignored, signals_sent, signals_skipped, signals_coalesced,
 * queue_overflows, selections, select_ns, passes, passes_over_budget.
 */

#define pr_fmt(fmt) "ramm: " fmt

#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include "ramm.h"

struct ramm_tunables ramm_tun = {
	.enabled = true,
	.reserve_price = 50000,
	.deadline_ms = 100,
	.queue_len = 64,
	.headroom_permille = 50,
	.credit_halflife_s = 60,
	.pass_budget_ms = 10,
};

atomic_long_t ramm_counters[RAMM_NR_COUNTERS];
atomic_t ramm_nr_participants;

#define RAMM_QUEUE_LEN_MAX	4096

/* An unsigned int tunable with its bounds. */
#define RAMM_UINT_TUNABLE(name, lo, hi)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n", READ_ONCE(ramm_tun.name));	\
}									\
static ssize_t name##_store(struct kobject *kobj,			\
			    struct kobj_attribute *attr,		\
			    const char *buf, size_t count)		\
{									\
	unsigned int val;						\
	int err = kstrtouint(buf, 0, &val);				\
									\
	if (err)							\
		return err;						\
	if (val < (lo) || val > (hi))					\
		return -EINVAL;						\
	WRITE_ONCE(ramm_tun.name, val);					\
	return count;							\
}									\
static struct kobj_attribute ramm_##name##_attr = __ATTR_RW_MODE(name, 0644)

RAMM_UINT_TUNABLE(deadline_ms, 1, 60 * MSEC_PER_SEC);
RAMM_UINT_TUNABLE(queue_len, 1, RAMM_QUEUE_LEN_MAX);
RAMM_UINT_TUNABLE(headroom_permille, 0, 500);
RAMM_UINT_TUNABLE(credit_halflife_s, 0, 7 * 24 * 3600);
RAMM_UINT_TUNABLE(pass_budget_ms, 1, MSEC_PER_SEC);

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(ramm_tun.enabled));
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned int val;
	int err = kstrtouint(buf, 0, &val);

	if (err)
		return err;
	if (val > 1)
		return -EINVAL;
	WRITE_ONCE(ramm_tun.enabled, val);
	return count;
}

static struct kobj_attribute ramm_enabled_attr = __ATTR_RW_MODE(enabled, 0644);

static ssize_t reserve_price_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(ramm_tun.reserve_price));
}

static ssize_t reserve_price_store(struct kobject *kobj,
				   struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	u64 val;
	int err = kstrtou64(buf, 0, &val);

	if (err)
		return err;
	WRITE_ONCE(ramm_tun.reserve_price, val);
	return count;
}

static struct kobj_attribute ramm_reserve_price_attr =
	__ATTR_RW_MODE(reserve_price, 0644);

static ssize_t participants_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&ramm_nr_participants));
}

static struct kobj_attribute ramm_participants_attr = __ATTR_RO(participants);

/* A read-only counter. */
#define RAMM_COUNTER(name, idx)						\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n",					\
			  atomic_long_read(&ramm_counters[idx]));	\
}									\
static struct kobj_attribute ramm_##name##_attr = __ATTR_RO(name)

RAMM_COUNTER(wakes, RAMM_WAKES);
RAMM_COUNTER(wakes_ahead, RAMM_WAKES_AHEAD);
RAMM_COUNTER(requests, RAMM_REQUESTS);
RAMM_COUNTER(pages_asked, RAMM_PAGES_ASKED);
RAMM_COUNTER(pages_released, RAMM_PAGES_RELEASED);
RAMM_COUNTER(pages_purged_krammmd, RAMM_PAGES_PURGED_KRAMMMD);
RAMM_COUNTER(pages_purged_direct, RAMM_PAGES_PURGED_DIRECT);
RAMM_COUNTER(pages_purged_oom, RAMM_PAGES_PURGED_OOM);
RAMM_COUNTER(answered, RAMM_ANSWERED_COUNT);
RAMM_COUNTER(late, RAMM_LATE_COUNT);
RAMM_COUNTER(ignored, RAMM_IGNORED_COUNT);
RAMM_COUNTER(signals_sent, RAMM_SIGNALS_SENT);
RAMM_COUNTER(signals_skipped, RAMM_SIGNALS_SKIPPED);
RAMM_COUNTER(signals_coalesced, RAMM_SIGNALS_COALESCED);
RAMM_COUNTER(queue_overflows, RAMM_QUEUE_OVERFLOWS);
RAMM_COUNTER(selections, RAMM_SELECTIONS);
RAMM_COUNTER(select_ns, RAMM_SELECT_NS);
RAMM_COUNTER(passes, RAMM_PASSES);
RAMM_COUNTER(passes_over_budget, RAMM_PASSES_OVER_BUDGET);

static struct attribute *ramm_attrs[] = {
	&ramm_enabled_attr.attr,
	&ramm_reserve_price_attr.attr,
	&ramm_deadline_ms_attr.attr,
	&ramm_queue_len_attr.attr,
	&ramm_headroom_permille_attr.attr,
	&ramm_credit_halflife_s_attr.attr,
	&ramm_pass_budget_ms_attr.attr,
	&ramm_participants_attr.attr,
	&ramm_wakes_attr.attr,
	&ramm_wakes_ahead_attr.attr,
	&ramm_requests_attr.attr,
	&ramm_pages_asked_attr.attr,
	&ramm_pages_released_attr.attr,
	&ramm_pages_purged_krammmd_attr.attr,
	&ramm_pages_purged_direct_attr.attr,
	&ramm_pages_purged_oom_attr.attr,
	&ramm_answered_attr.attr,
	&ramm_late_attr.attr,
	&ramm_ignored_attr.attr,
	&ramm_signals_sent_attr.attr,
	&ramm_signals_skipped_attr.attr,
	&ramm_signals_coalesced_attr.attr,
	&ramm_queue_overflows_attr.attr,
	&ramm_selections_attr.attr,
	&ramm_select_ns_attr.attr,
	&ramm_passes_attr.attr,
	&ramm_passes_over_budget_attr.attr,
	NULL,
};

static const struct attribute_group ramm_attr_group = {
	.attrs = ramm_attrs,
};

static int __init ramm_init(void)
{
	struct kobject *kobj;
	int error;

	kobj = kobject_create_and_add("ramm", mm_kobj);
	if (!kobj)
		return -ENOMEM;
	error = sysfs_create_group(kobj, &ramm_attr_group);
	if (error)
		goto put;
	error = ramm_krammmd_start();
	if (error)
		goto put;
	error = ramm_reclaim_init();
	if (error)
		goto put;
	return 0;
put:
	pr_err("not started: %d\n", error);
	kobject_put(kobj);
	return error;
}
subsys_initcall(ramm_init);
