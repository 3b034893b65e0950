// SPDX-License-Identifier: GPL-2.0
/*
 * The market: memory runs short and the kernel asks participants for
 * their cheapest memory, drops discardable memory that is not given back,
 * ranks by credit, signals, queues, and forgets participants that go.
 *
 * Each test forks participants (market_helpers.h: priced ranges filled
 * with incompressible data, answering, ignoring or not reading) and a hog
 * that makes memory short; sizes are shares of MemAvailable / MemTotal.
 * The participants record every record they get and report it at the end;
 * the verdicts come from those records, the children's wait statuses, the
 * data they read back, their PR_RAMM_GET_STATS and /sys/kernel/mm/ramm/.
 *
 * Every wait is bounded by the test's own budget (BUDGET_S), well inside
 * the harness timeout, so the teardown always runs: it kills what is left
 * and puts back the tunables a test changed.
 *
 * Run with "--ramm-exec-child <ctrl fd> <report fd>" the binary is the
 * idle image a participant exec'd into (exit_with_pending).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mount.h>

#include "bounds_helpers.h"
#include "market_helpers.h"

/* A test's own time budget, and the harness timeout around it. */
#define BUDGET_S	150
#define TIMEOUT_S	240

#define PRESERVED	0ULL
#define DISCARDABLE	((__u64)RAMM_DISCARDABLE)

FIXTURE(market) {
	struct ramm_env env;
	char swap_dev[MK_SWAP_DEV_LEN];	/* swapped off for the test, or "" */
	struct ramm_tunables_saved saved;
	struct mk_kids kids;
	__u64 deadline_ms;
	__u64 end_ns;
};

FIXTURE_SETUP(market)
{
	ramm_env_probe(&self->env);
	self->end_ns = ramm_now_ns() + BUDGET_S * 1000000000ULL;
	if (self->env.version <= 0)
		return;
	mk_scenario_setup(&self->saved, &self->deadline_ms, self->swap_dev);
}

FIXTURE_TEARDOWN(market)
{
	mk_scenario_teardown(&self->env, &self->kids, self->swap_dev,
			     &self->saved);
}

/* @want ms, or what is left of the budget (at least 100 ms). */
static int left_ms(FIXTURE_DATA(market) *self, int want)
{
	__u64 now = ramm_now_ns();
	__u64 left = now < self->end_ns ? (self->end_ns - now) / 1000000 : 0;

	if (left < 100)
		left = 100;
	return (__u64)want < left ? want : (int)left;
}

/* Long enough for every pending ask to reach its deadline and be judged. */
static void settle(FIXTURE_DATA(market) *self)
{
	ramm_sleep_ms(3 * self->deadline_ms + 200);
}

static __u64 counter(struct __test_metadata *_metadata, const char *name)
{
	__u64 v = 0;

	EXPECT_EQ(0, ramm_sysfs_read(name, &v)) {
		TH_LOG("cannot read " RAMM_SYSFS_DIR "%s", name);
	}
	return v;
}

/* Start participants and wait until each has filled its memory. */
static void start_parts(struct __test_metadata *_metadata,
			FIXTURE_DATA(market) *self, struct mk_part *parts,
			const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, mk_part_start(&self->kids, &parts[i], names[i])) {
			TH_LOG("fork %s: %s", names[i], strerror(errno));
		}
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, mk_part_wait_ready(&parts[i],
						left_ms(self, 120000))) {
			TH_LOG("%s not ready: %s (%s)", names[i],
			       parts[i].ready.msg, strerror(errno));
		}
	}
}

/*
 * Collect @p's report.  With @must, no report (the child died or hung) is
 * a failure; a step that failed inside the child always is.
 */
static void collect(struct __test_metadata *_metadata,
		    FIXTURE_DATA(market) *self, struct mk_part *p, bool must)
{
	char how[48];
	int ret;

	ret = mk_part_collect(p, left_ms(self, 60000));
	if (must) {
		ASSERT_EQ(0, ret) {
			TH_LOG("%s sent no report: %s (%s)", p->c->name,
			       mk_how(p->c, how, sizeof(how)),
			       strerror(errno));
		}
	}
	if (!ret) {
		ASSERT_EQ(0, p->rep.err) {
			TH_LOG("%s: %s", p->c->name, p->rep.msg);
		}
		ASSERT_EQ(0, p->rep.stats_err) {
			TH_LOG("%s: GET_STATS failed", p->c->name);
		}
	}
}

/*
 * Run the hog @h to its end, give the market three deadlines to settle,
 * then let the memory go.  True if the hog reported (it was not killed).
 */
static bool press(struct __test_metadata *_metadata,
		  FIXTURE_DATA(market) *self, const struct mk_hog_spec *h,
		  struct mk_hog_report *hr, struct mk_child **hogp)
{
	struct mk_child *hog;
	bool reported;

	hog = mk_hog_start(&self->kids, h, 0);
	ASSERT_NE(NULL, hog) {
		TH_LOG("fork hog: %s", strerror(errno));
	}
	reported = !mk_hog_wait(hog, hr, left_ms(self, h->max_ms + 30000));
	settle(self);
	mk_hog_release(hog, left_ms(self, 30000));
	*hogp = hog;
	return reported;
}

static void log_hog(struct __test_metadata *_metadata,
		    const struct mk_child *hog, bool reported,
		    const struct mk_hog_report *hr, __u64 target)
{
	static const char *const why[] = {
		"?", "reached its target", "saw the counter", "timed out",
		"mmap failed",
	};
	char how[48];

	if (reported)
		TH_LOG("hog: %llu of %llu MiB in %llu ms, %s; then %s",
		       (unsigned long long)(hr->bytes / MK_MIB),
		       (unsigned long long)(target / MK_MIB),
		       (unsigned long long)(hr->elapsed_ns / 1000000),
		       why[hr->why < ARRAY_SIZE(why) ? hr->why : 0],
		       mk_how(hog, how, sizeof(how)));
	else
		TH_LOG("hog: no report, %s", mk_how(hog, how, sizeof(how)));
}

static void log_part(struct __test_metadata *_metadata,
		     const struct mk_part *p)
{
	const struct ramm_stats *s = &p->rep.stats;
	char how[48];

	if (!p->reported) {
		TH_LOG("%s: no report, %s", p->c->name,
		       mk_how(p->c, how, sizeof(how)));
		return;
	}
	TH_LOG("%s: %llu records (%llu asks %llu MiB, %llu purges %llu MiB), asked %llu answered %llu late %llu ignored %llu purged %llu MiB overflows %llu credit %llu, signals %llu/%llu",
	       p->c->name, (unsigned long long)p->rep.nrec,
	       (unsigned long long)mk_count(p, RAMM_REASON_ASK, -1, 0),
	       (unsigned long long)(mk_sum(p, RAMM_REASON_ASK, -1, 0) / MK_MIB),
	       (unsigned long long)mk_count(p, RAMM_REASON_PURGED, -1, 0),
	       (unsigned long long)(mk_sum(p, RAMM_REASON_PURGED, -1, 0) /
				    MK_MIB),
	       (unsigned long long)s->asked, (unsigned long long)s->answered,
	       (unsigned long long)s->late, (unsigned long long)s->ignored,
	       (unsigned long long)(s->purged_bytes / MK_MIB),
	       (unsigned long long)s->queue_overflows,
	       (unsigned long long)s->credit,
	       (unsigned long long)p->rep.sig_usr1,
	       (unsigned long long)p->rep.sig_usr2);
}

/* A range whose every page must be as written: preserved, never released. */
#define ASSERT_INTACT(_p, _r) do {					\
	const struct mk_range_result *__rr = &(_p)->rep.rr[_r];	\
									\
	ASSERT_EQ(0, __rr->corrupt) {					\
		TH_LOG("%s range %d: %llu corrupt pages", (_p)->c->name, \
		       _r, (unsigned long long)__rr->corrupt);		\
	}								\
	ASSERT_EQ(0, __rr->zeroed) {					\
		TH_LOG("%s range %d: %llu pages read back as zeros",	\
		       (_p)->c->name, _r,				\
		       (unsigned long long)__rr->zeroed);		\
	}								\
	ASSERT_EQ(__rr->pages - __rr->released, __rr->intact);		\
} while (0)

/* A participant that must have been left alone entirely. */
#define ASSERT_UNTOUCHED(_p) do {					\
	ASSERT_EQ(0, (_p)->rep.nrec);					\
	ASSERT_EQ(0, (_p)->rep.sig_usr1) {				\
		TH_LOG("%s was sent SIGUSR1", (_p)->c->name);		\
	}								\
	ASSERT_EQ(0, (_p)->rep.sig_usr2) {				\
		TH_LOG("%s was sent SIGUSR2", (_p)->c->name);		\
	}								\
	ASSERT_EQ(0, (_p)->rep.stats.registered);			\
	ASSERT_EQ(0, (_p)->rep.stats.asked) {				\
		TH_LOG("%s (not registered) was asked", (_p)->c->name);	\
	}								\
	ASSERT_EQ(0, (_p)->rep.stats.purged_bytes) {			\
		TH_LOG("%s (not registered) was purged", (_p)->c->name); \
	}								\
	ASSERT_EQ(ENOENT, (_p)->rep.getreq_errno);			\
	ASSERT_EQ(0, (_p)->rep.rr[0].released);				\
	ASSERT_INTACT(_p, 0);						\
} while (0)

/*
 * Cheapest first: when a participant is first asked, every cheaper one
 * had been asked already (detected_ns no later) or had nothing resident.
 * Participants have one range each and full credit until first asked, so
 * the effective prices of the first asks are the prices themselves.
 */
static void check_cheapest_first(struct __test_metadata *_metadata,
				 struct mk_part *parts, int n)
{
	int e, c;

	for (e = 0; e < n; e++) {
		__u64 te = mk_first_ask(&parts[e], 0);

		if (te == ~0ULL)
			continue;
		for (c = 0; c < n; c++) {
			__u64 tc, res;

			if (parts[c].spec.r[0].price >= parts[e].spec.r[0].price)
				continue;
			tc = mk_first_ask(&parts[c], 0);
			if (tc <= te)
				continue;
			res = mk_resident_near(&parts[c], te);
			EXPECT_EQ(0, res) {
				TH_LOG("price %llu first asked at %llu ns, before price %llu (%s) which had %llu pages resident",
				       (unsigned long long)parts[e].spec.r[0].price,
				       (unsigned long long)te,
				       (unsigned long long)parts[c].spec.r[0].price,
				       tc == ~0ULL ? "never asked" : "asked later",
				       (unsigned long long)res);
			}
		}
	}
}

/*
 * Three registered participants at prices 1000, 2000 and 4000 (preserved:
 * only their answers can free them), an unregistered process with the
 * cheapest memory of all (discardable, price 100), an unpriced one, and a
 * hog that needs more than there is unless the participants give back.
 */
struct cheapest {
	struct mk_part part[3];
	struct mk_part unreg;
	struct mk_part plain;
	struct mk_child *hog;
	struct mk_hog_report hr;
	bool hog_reported;
	__u64 target;		/* what the hog touches */
	__u64 shortfall;	/* of it, what was not free */
	__u64 wakes_ahead;	/* krammmd woken ahead of kswapd meanwhile */
};

static void cheapest_scenario(struct __test_metadata *_metadata,
			      FIXTURE_DATA(market) *self, struct cheapest *s,
			      bool enabled)
{
	static const __u64 prices[3] = { 1000, 2000, 4000 };
	static const char *const names[3] = {
		"price-1000", "price-2000", "price-4000",
	};
	static const char *const others[2] = { "unregistered-100", "unpriced" };
	__u64 mt = mk_meminfo("MemTotal"), ma = mk_meminfo("MemAvailable");
	__u64 psize, small, children, free0, cap;
	/*
	 * Preserved memory can only be asked for, so the hog grows no faster
	 * than owners can answer in a TCG guest under KASAN (about 20 MiB/s);
	 * burst_direct_reclaim is the test of a faster burst.
	 */
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.sleep_us = 200000,
		.prng = true,
		.max_ms = 90000,
		.hold = true,
	};
	int i;

	ASSERT_LT(0, ma);
	ASSERT_LT(0, mt);
	psize = mk_page_align(ma / 5);
	small = mk_page_align(ma / 16);
	for (i = 0; i < 3; i++) {
		struct mk_part_spec *sp = &s->part[i].spec;

		sp->tag = 1 + i;
		sp->nr_ranges = 1;
		sp->r[0].len = psize;
		sp->r[0].price = prices[i];
		sp->r[0].ramm_flags = PRESERVED;
		sp->reg = true;
		sp->reg_default = true;	/* SIGUSR1 */
		sp->handle = MK_SIG_USR1;
		sp->behaviour = MK_ANSWER;
		sp->by_signal = i == 1;	/* one of them works by signal */
		sp->sample = true;
	}
	s->unreg.spec = (struct mk_part_spec){
		.tag = 10, .nr_ranges = 1,
		.r = { { small, 100, DISCARDABLE } },
		.handle = MK_SIG_USR1 | MK_SIG_USR2,
		.behaviour = MK_NO_READ,
	};
	s->plain.spec = (struct mk_part_spec){
		.tag = 11, .nr_ranges = 1,
		.r = { { small, 0, 0 } },
		.handle = MK_SIG_USR1 | MK_SIG_USR2,
		.behaviour = MK_NO_READ,
	};
	start_parts(_metadata, self, s->part, names, 3);
	start_parts(_metadata, self, &s->unreg, &others[0], 1);
	start_parts(_metadata, self, &s->plain, &others[1], 1);

	/*
	 * The hog and everything else together exceed MemTotal; what the
	 * hog needs beyond free memory, only the participants can give
	 * (their data and the hog's are incompressible: zram cannot help).
	 */
	free0 = mk_meminfo("MemFree");
	children = 3 * psize + 2 * small;
	s->target = mt + mt / 16 > children ? mt + mt / 16 - children : 0;
	if (s->target < free0 + mt / 16)
		s->target = free0 + mt / 16;
	cap = free0 + 3 * psize * 3 / 4;
	if (s->target > cap)
		s->target = cap;
	s->target = mk_page_align(s->target);
	s->shortfall = s->target - free0;
	TH_LOG("MemTotal %llu MiB, MemAvailable %llu, MemFree %llu; participants 3 x %llu MiB, others 2 x %llu; hog %llu MiB, %llu beyond free memory",
	       (unsigned long long)(mt / MK_MIB),
	       (unsigned long long)(ma / MK_MIB),
	       (unsigned long long)(free0 / MK_MIB),
	       (unsigned long long)(psize / MK_MIB),
	       (unsigned long long)(small / MK_MIB),
	       (unsigned long long)(s->target / MK_MIB),
	       (unsigned long long)(s->shortfall / MK_MIB));

	ASSERT_EQ(0, ramm_sysfs_write("enabled", enabled ? "1\n" : "0\n"));
	/*
	 * Preserved memory can only be asked for: ask 10% of RAM ahead of the
	 * burst (the tunable exists for bursty machines), so that owners who
	 * take 100 ms to answer in a TCG guest under KASAN stay ahead of it.
	 */
	ASSERT_EQ(0, ramm_sysfs_write("headroom_permille", "100\n"));
	/* Owners here may take longer than the default 100 ms to read. */
	ASSERT_EQ(0, ramm_sysfs_write("deadline_ms", "1000\n"));
	self->deadline_ms = 1000;	/* settle() waits three of them */
	h.target = s->target;
	s->wakes_ahead = counter(_metadata, "wakes_ahead");
	s->hog_reported = press(_metadata, self, &h, &s->hr, &s->hog);
	s->wakes_ahead = counter(_metadata, "wakes_ahead") - s->wakes_ahead;
	log_hog(_metadata, s->hog, s->hog_reported, &s->hr, s->target);
	TH_LOG("krammmd woken ahead of kswapd %llu times",
	       (unsigned long long)s->wakes_ahead);

	for (i = 0; i < 3; i++)
		collect(_metadata, self, &s->part[i], false);
	collect(_metadata, self, &s->unreg, false);
	collect(_metadata, self, &s->plain, false);
	for (i = 0; i < 3; i++)
		log_part(_metadata, &s->part[i]);
	log_part(_metadata, &s->unreg);
	log_part(_metadata, &s->plain);
}

/*
 * The market frees what the hog needs, cheapest first, from participants
 * only, and nobody is OOM killed.
 */
TEST_F_TIMEOUT(market, cheapest_first_no_oom, TIMEOUT_S)
{
	struct cheapest s;
	__u64 asked = 0;
	char how[48];
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	memset(&s, 0, sizeof(s));
	cheapest_scenario(_metadata, self, &s, true);

	ASSERT_TRUE(s.hog_reported) {
		TH_LOG("the hog did not finish in time or died: %s",
		       mk_how(s.hog, how, sizeof(how)));
	}
	ASSERT_EQ(MK_HOG_TARGET, s.hr.why);
	ASSERT_TRUE(mk_exited_ok(s.hog));
	for (i = 0; i < 3; i++) {
		struct mk_part *p = &s.part[i];

		ASSERT_TRUE(p->reported && mk_exited_ok(p->c)) {
			TH_LOG("%s: %s", p->c->name,
			       mk_how(p->c, how, sizeof(how)));
		}
		ASSERT_EQ(0, mk_check_records(_metadata, p));
		ASSERT_EQ(1, p->rep.stats.registered);
		ASSERT_EQ(0, p->rep.stray);
		/* Preserved: nothing purged, nothing lost but what it gave. */
		ASSERT_EQ(0, mk_count(p, RAMM_REASON_PURGED, -1, 0));
		ASSERT_EQ(0, p->rep.stats.purged_bytes);
		ASSERT_INTACT(p, 0);
		asked += mk_sum(p, RAMM_REASON_ASK, -1, 0);
	}
	ASSERT_TRUE(s.unreg.reported && mk_exited_ok(s.unreg.c));
	ASSERT_TRUE(s.plain.reported && mk_exited_ok(s.plain.c));
	ASSERT_UNTOUCHED(&s.unreg);
	ASSERT_UNTOUCHED(&s.plain);

	/*
	 * Asked ahead: kswapd's low watermark is far too late for owners
	 * that need a moment to answer.
	 */
	ASSERT_LT(0, s.wakes_ahead);
	/* The cheapest was asked; the asks add up to the need. */
	ASSERT_LT(0, mk_count(&s.part[0], RAMM_REASON_ASK, -1, 0)) {
		TH_LOG("the cheapest participant was never asked");
	}
	ASSERT_LE(s.shortfall / 2, asked) {
		TH_LOG("asked for %llu MiB in all; the hog needed %llu MiB beyond free memory",
		       (unsigned long long)(asked / MK_MIB),
		       (unsigned long long)(s.shortfall / MK_MIB));
	}
	/* The one that works by signal was woken by it. */
	if (s.part[1].rep.nrec) {
		ASSERT_LT(0, s.part[1].rep.sig_usr1) {
			TH_LOG("price-2000 got records but never SIGUSR1");
		}
	}
	check_cheapest_first(_metadata, s.part, 3);
}

/*
 * The same with the market switched off (enabled = 0): nobody is asked,
 * and the OOM killer has to end it -- the proof that the scenario needs
 * the market.
 */
TEST_F_TIMEOUT(market, disabled_market_ooms, TIMEOUT_S)
{
	struct mk_part *all[5];
	struct cheapest s;
	bool killed;
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	memset(&s, 0, sizeof(s));
	cheapest_scenario(_metadata, self, &s, false);

	for (i = 0; i < 3; i++)
		all[i] = &s.part[i];
	all[3] = &s.unreg;
	all[4] = &s.plain;
	killed = mk_killed(s.hog);
	for (i = 0; i < 5; i++) {
		killed |= mk_killed(all[i]->c);
		if (!all[i]->reported)
			continue;
		ASSERT_EQ(0, all[i]->rep.nrec) {
			TH_LOG("%s got records with RAMM disabled",
			       all[i]->c->name);
		}
		ASSERT_EQ(0, all[i]->rep.stats.asked);
		ASSERT_EQ(0, all[i]->rep.stats.purged_bytes);
		ASSERT_EQ(0, all[i]->rep.rr[0].corrupt);
		ASSERT_EQ(0, all[i]->rep.rr[0].zeroed);
	}
	ASSERT_TRUE(killed) {
		TH_LOG("no process was OOM killed although the hog needed %llu MiB beyond free memory and nobody gave any back",
		       (unsigned long long)(s.shortfall / MK_MIB));
	}
}

/*
 * A participant that ignores asks: its discardable range is dropped (purge
 * record, zeros), its preserved range never is, and its credit falls.
 */
TEST_F_TIMEOUT(market, ignored_discardable_is_purged, TIMEOUT_S)
{
	static const char *const names[] = { "ignorer" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.sleep_us = 10000,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	const struct mk_range_result *d;
	struct mk_hog_report hr;
	struct mk_child *hog;
	struct mk_part x;
	__u64 dlen, plen, purged;
	bool reported;

	if (ramm_skip(_metadata, &self->env))
		return;
	dlen = mk_page_align(ma / 4);
	plen = mk_page_align(ma / 8);
	memset(&x, 0, sizeof(x));
	x.spec = (struct mk_part_spec){
		.tag = 21, .nr_ranges = 2,
		.r = {
			{ dlen, 1000, DISCARDABLE },
			{ plen, 1500, PRESERVED },
		},
		.reg = true, .reg_default = true,
		.handle = MK_SIG_USR1,
		.behaviour = MK_IGNORE,
	};
	start_parts(_metadata, self, &x, names, 1);

	h.target = mk_page_align(mk_meminfo("MemFree") + dlen / 2);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	collect(_metadata, self, &x, true);
	log_part(_metadata, &x);

	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET && mk_exited_ok(hog)) {
		TH_LOG("dropping the discardable range should have made room");
	}
	ASSERT_TRUE(mk_exited_ok(x.c));
	ASSERT_EQ(0, mk_check_records(_metadata, &x));
	ASSERT_LT(0, mk_count(&x, RAMM_REASON_PURGED, 0, 0)) {
		TH_LOG("no purge record for the ignored discardable range");
	}
	ASSERT_EQ(0, mk_count(&x, RAMM_REASON_PURGED, 1, 0));

	/* What was dropped reads as zeros; nothing is corrupt. */
	d = &x.rep.rr[0];
	purged = mk_sum(&x, RAMM_REASON_PURGED, 0, 0);
	ASSERT_EQ(0, d->corrupt);
	ASSERT_LE(purged, d->zeroed * page_size) {
		TH_LOG("purge records say %llu bytes, %llu pages read zero",
		       (unsigned long long)purged,
		       (unsigned long long)d->zeroed);
	}
	ASSERT_LE(purged, x.rep.stats.purged_bytes);
	ASSERT_LE(x.rep.stats.purged_bytes, d->zeroed * page_size) {
		TH_LOG("purged_bytes %llu, but only %llu pages read zero",
		       (unsigned long long)x.rep.stats.purged_bytes,
		       (unsigned long long)d->zeroed);
	}
	/* The preserved range: every page as written. */
	ASSERT_INTACT(&x, 1);

	ASSERT_LT(0, x.rep.stats.ignored);
	ASSERT_GT(1000, x.rep.stats.credit);
	ASSERT_EQ((__s64)x.rep.stats.credit, x.rep.credit) {
		TH_LOG("RammCredit: and GET_STATS disagree");
	}
}

/*
 * A round's hog only makes the kernel ask: it stops once pages_asked
 * moves.  Nobody gives memory back in these rounds, so in a slow TCG guest
 * the OOM killer may take the hog before it sees the counter; that ends
 * the round just as well, and is logged.  What the test asserts is what
 * the participants were asked, and when.
 */
static void round_hog(struct __test_metadata *_metadata,
		      FIXTURE_DATA(market) *self, struct mk_child *rhog, int r)
{
	struct mk_hog_report hr;
	char how[48];

	if (mk_hog_wait(rhog, &hr, left_ms(self, 60000))) {
		mk_reap(rhog, left_ms(self, 10000));
		TH_LOG("round %d: the hog ended without a report: %s", r,
		       mk_how(rhog, how, sizeof(how)));
		return;
	}
	mk_reap(rhog, left_ms(self, 10000));
	if (hr.why != MK_HOG_COUNTER)
		TH_LOG("round %d: nobody was asked while %llu MiB were taken",
		       r, (unsigned long long)(hr.bytes / MK_MIB));
}

/*
 * Credit: A (price 4000) ignores, B (price 1000) answers.  Once A has
 * ignored enough that 4000 x credit / 1000 < 1000, A is asked before B.
 * First A alone is registered and made to ignore, round after round; then
 * B registers and one more round shows who is asked first.
 */
TEST_F_TIMEOUT(market, credit_ordering, TIMEOUT_S)
{
	static const char *const names[] = { "A-4000-ignores", "B-1000-answers" };
	__u64 mt = mk_meminfo("MemTotal"), ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec base = {
		.step = 8 * MK_MIB,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	struct mk_hog_spec round = {
		.step = MK_MIB,
		.sleep_us = 2000,
		.stop_counter = "pages_asked",
		.max_ms = 30000,
	};
	__u64 len, credit = 1000, free0, t_final, ta, tb;
	struct mk_part parts[2], *a = &parts[0], *b = &parts[1];
	struct mk_hog_report hr;
	struct mk_child *bhog, *rhog;
	struct mk_ack ack;
	char how[48];
	int r;

	if (ramm_skip(_metadata, &self->env))
		return;
	len = mk_page_align(ma / 8);
	memset(parts, 0, sizeof(parts));
	a->spec = (struct mk_part_spec){
		.tag = 31, .nr_ranges = 1, .r = { { len, 4000, PRESERVED } },
		.reg = true, .signal = 0, .behaviour = MK_IGNORE,
	};
	b->spec = (struct mk_part_spec){
		.tag = 32, .nr_ranges = 1, .r = { { len, 1000, PRESERVED } },
		.reg = false, .signal = 0, .behaviour = MK_ANSWER,
	};
	start_parts(_metadata, self, parts, names, 2);
	/* Credit should not come back while the test runs (if settable). */
	if (ramm_sysfs_write("credit_halflife_s", "3600\n"))
		TH_LOG("credit_halflife_s stays as it is");

	/* Most of free memory taken once, so each round is short. */
	free0 = mk_meminfo("MemFree");
	base.target = free0 > mt / 8 + 16 * MK_MIB ?
		      mk_page_align(free0 - mt / 8) : 0;
	bhog = NULL;
	if (base.target) {
		bhog = mk_hog_start(&self->kids, &base, 0);
		ASSERT_NE(NULL, bhog);
		ASSERT_EQ(0, mk_hog_wait(bhog, &hr, left_ms(self, 90000))) {
			TH_LOG("base hog: %s", mk_how(bhog, how, sizeof(how)));
		}
	}

	for (r = 0; r < 8; r++) {
		ASSERT_EQ(0, status_credit(a->c->pid, &credit));
		TH_LOG("round %d: A's credit %llu (effective price %llu)", r,
		       (unsigned long long)credit,
		       (unsigned long long)(4000 * credit / 1000));
		if (credit <= 200)
			break;
		round.stop_at = counter(_metadata, "pages_asked") + 1;
		round.target = mk_page_align(mk_meminfo("MemFree") + mt / 10);
		rhog = mk_hog_start(&self->kids, &round, 0);
		ASSERT_NE(NULL, rhog);
		round_hog(_metadata, self, rhog, r);
		settle(self);
	}
	ASSERT_GE(200, credit) {
		TH_LOG("A ignored asks for %d rounds and still has credit %llu",
		       r, (unsigned long long)credit);
	}

	/* B joins; the next ask must go to A (effective 4000 x credit). */
	ASSERT_EQ(0, mk_part_cmd(b, MK_CMD_REGISTER, &ack,
				 left_ms(self, 10000)));
	ASSERT_EQ(0, ack.ret) {
		TH_LOG("B: REGISTER: %s", strerror(ack.err));
	}
	t_final = ramm_now_ns();
	round.stop_at = counter(_metadata, "pages_asked") + 1;
	round.target = mk_page_align(mk_meminfo("MemFree") + mt / 10);
	rhog = mk_hog_start(&self->kids, &round, 0);
	ASSERT_NE(NULL, rhog);
	round_hog(_metadata, self, rhog, r);
	settle(self);
	if (bhog)
		mk_hog_release(bhog, left_ms(self, 30000));

	collect(_metadata, self, a, true);
	collect(_metadata, self, b, true);
	log_part(_metadata, a);
	log_part(_metadata, b);
	ASSERT_EQ(0, mk_check_records(_metadata, a));
	ASSERT_EQ(0, mk_check_records(_metadata, b));
	ASSERT_LT(0, a->rep.stats.ignored);
	ASSERT_INTACT(a, 0);
	ASSERT_INTACT(b, 0);

	ta = mk_first_ask(a, t_final);
	tb = mk_first_ask(b, t_final);
	ASSERT_NE(~0ULL, ta) {
		TH_LOG("A (credit %llu) was not asked in the last round%s",
		       (unsigned long long)credit,
		       tb != ~0ULL ? ", B was" : "");
	}
	ASSERT_LE(ta, tb) {
		TH_LOG("B (1000) was asked at %llu, A (4000 x %llu / 1000) only at %llu",
		       (unsigned long long)tb, (unsigned long long)credit,
		       (unsigned long long)ta);
	}
}

/*
 * A burst: a hog that allocates as fast as it can, far past free memory,
 * against participants whose discardable memory never answers (they do
 * not even read).  Direct reclaim drops their memory at once: the hog
 * completes, nobody is OOM killed, and they find purge records later.
 *
 * Every purge leaves a record, and memory is purged only while there is
 * room to tell its owner; participants that do not read keep what they
 * are told, so queue_len is at its largest (4096) for this test.
 */
TEST_F_TIMEOUT(market, burst_direct_reclaim, TIMEOUT_S)
{
	static const char *const names[] = { "deaf-1000", "deaf-2000" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	__u64 len, direct0, direct1, purges = 0, purged = 0;
	struct mk_part parts[2];
	struct mk_hog_report hr;
	struct mk_child *hog;
	bool reported;
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "4096\n"));
	len = mk_page_align(ma / 4);
	memset(parts, 0, sizeof(parts));
	for (i = 0; i < 2; i++)
		parts[i].spec = (struct mk_part_spec){
			.tag = 41 + i, .nr_ranges = 1,
			.r = { { len, 1000 * (i + 1), DISCARDABLE } },
			.reg = true, .signal = 0, .behaviour = MK_NO_READ,
		};
	start_parts(_metadata, self, parts, names, 2);

	direct0 = counter(_metadata, "pages_purged_direct");
	h.target = mk_page_align(mk_meminfo("MemFree") + 2 * len * 6 / 10);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	direct1 = counter(_metadata, "pages_purged_direct");
	TH_LOG("pages_purged_direct %llu -> %llu",
	       (unsigned long long)direct0, (unsigned long long)direct1);
	for (i = 0; i < 2; i++) {
		collect(_metadata, self, &parts[i], true);
		log_part(_metadata, &parts[i]);
	}

	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET && mk_exited_ok(hog));
	ASSERT_LT(direct0, direct1) {
		TH_LOG("direct reclaim purged nothing");
	}
	for (i = 0; i < 2; i++) {
		struct mk_part *p = &parts[i];

		ASSERT_TRUE(mk_exited_ok(p->c));
		ASSERT_EQ(0, mk_check_records(_metadata, p));
		ASSERT_EQ(0, p->rep.rr[0].corrupt);
		ASSERT_LE(p->rep.stats.purged_bytes,
			  p->rep.rr[0].zeroed * page_size);
		ASSERT_LE(mk_sum(p, RAMM_REASON_PURGED, 0, 0),
			  p->rep.stats.purged_bytes);
		purges += mk_count(p, RAMM_REASON_PURGED, 0, 0);
		purged += p->rep.stats.purged_bytes;
	}
	ASSERT_LT(0, purges) {
		TH_LOG("no purge record reached the participants");
	}
	ASSERT_LT(0, purged);
}

/*
 * queue_len 2: a participant with eight small priced ranges that does not
 * read is asked for more of them than its queue holds; two records are
 * kept, the rest counted as overflows.  The ranges are small (each well
 * below krammmd's headroom), so one shortfall spans several of them; the
 * hog stops at the first overflow, barely past free memory, because a
 * full queue also stops purges (nobody could be told).
 */
TEST_F_TIMEOUT(market, queue_overflow, TIMEOUT_S)
{
	static const char *const names[] = { "eight-ranges" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = MK_MIB,
		.sleep_us = 1000,
		.prng = true,
		.stop_counter = "queue_overflows",
		.max_ms = 60000,
		.hold = true,
	};
	__u64 len, ov0, ov1, ql;
	struct mk_hog_report hr;
	struct mk_child *hog;
	struct mk_part x;
	bool reported;
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "2\n"));
	ASSERT_EQ(0, ramm_sysfs_read("queue_len", &ql));
	ASSERT_EQ(2, ql);

	len = mk_page_align(ma / 128);
	memset(&x, 0, sizeof(x));
	x.spec.tag = 51;
	x.spec.nr_ranges = 8;
	for (i = 0; i < 8; i++) {
		x.spec.r[i].len = len;
		x.spec.r[i].price = 1000 * (i + 1);
		x.spec.r[i].ramm_flags = DISCARDABLE;
	}
	x.spec.reg = true;
	x.spec.signal = 0;
	x.spec.behaviour = MK_NO_READ;
	start_parts(_metadata, self, &x, names, 1);

	ov0 = counter(_metadata, "queue_overflows");
	h.stop_at = ov0 + 1;
	h.target = mk_page_align(mk_meminfo("MemFree") + len);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	collect(_metadata, self, &x, true);
	/* After its stats were taken: the global count includes them. */
	ov1 = counter(_metadata, "queue_overflows");
	log_part(_metadata, &x);
	TH_LOG("queue_overflows %llu -> %llu", (unsigned long long)ov0,
	       (unsigned long long)ov1);

	ASSERT_TRUE(mk_exited_ok(x.c));
	ASSERT_EQ(0, mk_check_records(_metadata, &x));
	ASSERT_LE(1, x.rep.final_reads) {
		TH_LOG("nothing was queued at all");
	}
	ASSERT_GE(2, x.rep.final_reads) {
		TH_LOG("%llu records read from a queue of 2",
		       (unsigned long long)x.rep.final_reads);
	}
	ASSERT_LE(1, x.rep.stats.queue_overflows);
	ASSERT_LE(ov0 + x.rep.stats.queue_overflows, ov1);
}

/*
 * A participant registered with SIGUSR2 but no handler (the default would
 * kill it), and one whose SIGUSR1 is SIG_IGN: asked, neither is sent the
 * signal nor dies; signals_skipped counts it.
 */
TEST_F_TIMEOUT(market, signal_default_disposition_skipped, TIMEOUT_S)
{
	static const char *const names[] = { "sigusr2-default", "sigusr1-ignored" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.sleep_us = 10000,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	__u64 len, skipped0, skipped1, sent0, sent1;
	struct mk_part parts[2];
	struct mk_hog_report hr;
	struct mk_child *hog;
	bool reported;
	char how[48];
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	len = mk_page_align(ma / 8);
	memset(parts, 0, sizeof(parts));
	parts[0].spec = (struct mk_part_spec){
		.tag = 61, .nr_ranges = 1, .r = { { len, 1000, DISCARDABLE } },
		.reg = true, .signal = SIGUSR2, .behaviour = MK_IGNORE,
	};
	parts[1].spec = (struct mk_part_spec){
		.tag = 62, .nr_ranges = 1, .r = { { len, 1100, DISCARDABLE } },
		.reg = true, .reg_default = true, .ignore = MK_SIG_USR1,
		.behaviour = MK_IGNORE,
	};
	start_parts(_metadata, self, parts, names, 2);

	skipped0 = counter(_metadata, "signals_skipped");
	sent0 = counter(_metadata, "signals_sent");
	h.target = mk_page_align(mk_meminfo("MemFree") + 2 * len * 6 / 10);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	skipped1 = counter(_metadata, "signals_skipped");
	sent1 = counter(_metadata, "signals_sent");
	TH_LOG("signals_skipped %llu -> %llu, signals_sent %llu -> %llu",
	       (unsigned long long)skipped0, (unsigned long long)skipped1,
	       (unsigned long long)sent0, (unsigned long long)sent1);

	for (i = 0; i < 2; i++) {
		collect(_metadata, self, &parts[i], false);
		log_part(_metadata, &parts[i]);
		ASSERT_TRUE(parts[i].reported && mk_exited_ok(parts[i].c)) {
			TH_LOG("%s: %s", names[i],
			       mk_how(parts[i].c, how, sizeof(how)));
		}
		ASSERT_EQ(0, mk_check_records(_metadata, &parts[i]));
	}
	ASSERT_LT(0, parts[0].rep.nrec) {
		TH_LOG("the cheapest participant was never asked");
	}
	ASSERT_LT(skipped0, skipped1);
	ASSERT_EQ(sent0, sent1) {
		TH_LOG("a signal was sent although no participant has a handler");
	}
}

/* Signal 0: records come through the fd only, no signal at all. */
TEST_F_TIMEOUT(market, signal_zero_fd_only, TIMEOUT_S)
{
	static const char *const names[] = { "fd-only" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.sleep_us = 10000,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	struct mk_hog_report hr;
	struct mk_child *hog;
	__u64 len, sent0, sent1;
	struct mk_part x;
	bool reported;

	if (ramm_skip(_metadata, &self->env))
		return;
	len = mk_page_align(ma / 8);
	memset(&x, 0, sizeof(x));
	x.spec = (struct mk_part_spec){
		.tag = 71, .nr_ranges = 1, .r = { { len, 1000, DISCARDABLE } },
		.reg = true, .signal = 0,
		.handle = MK_SIG_USR1 | MK_SIG_USR2,
		.behaviour = MK_ANSWER,
	};
	start_parts(_metadata, self, &x, names, 1);

	sent0 = counter(_metadata, "signals_sent");
	h.target = mk_page_align(mk_meminfo("MemFree") + len / 2);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	sent1 = counter(_metadata, "signals_sent");
	collect(_metadata, self, &x, true);
	log_part(_metadata, &x);

	ASSERT_TRUE(mk_exited_ok(x.c));
	ASSERT_EQ(0, mk_check_records(_metadata, &x));
	ASSERT_LT(0, mk_count(&x, RAMM_REASON_ASK, 0, 0)) {
		TH_LOG("no ask came through the fd");
	}
	ASSERT_EQ(0, x.rep.sig_usr1);
	ASSERT_EQ(0, x.rep.sig_usr2);
	ASSERT_EQ(sent0, sent1);
	ASSERT_EQ(0, x.rep.rr[0].corrupt);
}

/*
 * Offering memory protects the offerer: two processes hold as much memory
 * each, one of it offered (discardable, registered, never reading, with a
 * queue of one record, so that neither asks nor direct reclaim can purge
 * much of it), the other plain.  A hog the OOM killer may not take needs
 * more than the offered memory frees.  Before the OOM killer chooses,
 * RAMM drops all of the offered memory (the OOM notifier, or krammmd
 * before it), so the victim is the other one, and the offerer lives on
 * with its data zeroed, never corrupt.
 */
TEST_F_TIMEOUT(market, oom_spares_the_offerer, TIMEOUT_S)
{
	static const char *const names[] = { "offers", "holds" };
	__u64 ma = mk_meminfo("MemAvailable"), len, free0, oom0, oom1;
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.prng = true,
		.max_ms = 90000,
		.hold = true,
	};
	struct mk_part parts[2];
	struct mk_hog_report hr;
	struct mk_child *hog;
	bool reported;
	char how[48];

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "1\n"));
	len = mk_page_align(ma / 4);
	memset(parts, 0, sizeof(parts));
	parts[0].spec = (struct mk_part_spec){
		.tag = 95, .nr_ranges = 1,
		.r = { { len, 100, DISCARDABLE } },
		.reg = true, .signal = 0, .behaviour = MK_NO_READ,
	};
	parts[1].spec = (struct mk_part_spec){
		.tag = 96, .nr_ranges = 1,
		.r = { { len, 0, 0 } },
		.handle = MK_SIG_USR1 | MK_SIG_USR2,
		.behaviour = MK_NO_READ,
	};
	start_parts(_metadata, self, parts, names, 2);

	/*
	 * What is free and the offered memory are not enough; without the
	 * plain process's memory as well, the hog cannot finish.
	 */
	free0 = mk_meminfo("MemFree");
	h.target = mk_page_align(free0 + len + len / 2);
	oom0 = counter(_metadata, "pages_purged_oom");
	hog = mk_hog_start(&self->kids, &h, -1000);
	ASSERT_NE(NULL, hog);
	reported = !mk_hog_wait(hog, &hr, left_ms(self, h.max_ms + 30000));
	oom1 = counter(_metadata, "pages_purged_oom");
	log_hog(_metadata, hog, reported, &hr, h.target);
	TH_LOG("pages_purged_oom %llu -> %llu",
	       (unsigned long long)oom0, (unsigned long long)oom1);
	collect(_metadata, self, &parts[0], false);
	log_part(_metadata, &parts[0]);
	mk_hog_release(hog, left_ms(self, 30000));
	collect(_metadata, self, &parts[1], false);

	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET) {
		TH_LOG("the hog did not get its memory: %s",
		       mk_how(hog, how, sizeof(how)));
	}
	ASSERT_FALSE(mk_killed(parts[0].c)) {
		TH_LOG("the process that offered its memory was OOM killed");
	}
	ASSERT_TRUE(parts[0].reported && mk_exited_ok(parts[0].c)) {
		TH_LOG("offers: %s", mk_how(parts[0].c, how, sizeof(how)));
	}
	ASSERT_TRUE(mk_killed(parts[1].c)) {
		TH_LOG("holds was not the OOM victim: %s",
		       mk_how(parts[1].c, how, sizeof(how)));
	}
	/*
	 * Either the OOM notifier purged what was left of the offer, or
	 * krammmd had already purged all of it (an ignored ask's purge may
	 * take the whole range): nothing offered was resident at the kill.
	 */
	ASSERT_TRUE(oom0 < oom1 || !parts[0].rep.rr[0].intact) {
		TH_LOG("%llu offered pages were still resident at the kill",
		       (unsigned long long)parts[0].rep.rr[0].intact);
	}
	ASSERT_EQ(0, parts[0].rep.rr[0].corrupt);
	ASSERT_LT(0, parts[0].rep.stats.purged_bytes);
	/* It never read its queue: what the kernel dropped is no answer. */
	ASSERT_EQ(0, parts[0].rep.stats.answered);
}

/*
 * Participants go while asks are pending and their queues are full: one
 * exits, one execs, one unregisters.  Nothing breaks, their records are
 * dropped, the participants counter falls back, and the one that stayed
 * (unregistered) loses nothing more.
 */
TEST_F_TIMEOUT(market, exit_with_pending, TIMEOUT_S)
{
	static const char *const names[] = { "exits", "execs", "unregisters" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = MK_MIB,
		.sleep_us = 2000,
		.prng = true,
		.stop_counter = "pages_asked",
		.max_ms = 60000,
		.hold = true,
	};
	__u64 len, p0, p = 0;
	struct mk_part parts[3];
	struct mk_hog_report hr;
	struct mk_child *hog;
	struct mk_ack ack;
	char how[48];
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_participants_settled(&p0));
	len = mk_page_align(ma / 64);
	memset(parts, 0, sizeof(parts));
	for (i = 0; i < 3; i++)
		parts[i].spec = (struct mk_part_spec){
			.tag = 81 + i, .nr_ranges = 1,
			.r = { { len, 1000 + 100 * i, DISCARDABLE } },
			.reg = true, .signal = 0, .behaviour = MK_NO_READ,
		};
	start_parts(_metadata, self, parts, names, 3);
	ASSERT_EQ(p0 + 3, counter(_metadata, "participants"));

	/*
	 * Hold memory short once asks have gone past the first two
	 * participants' memory (or at the target: half of theirs beyond
	 * free memory, which dropping their memory covers).  A headroom
	 * whose quarter (the least krammmd asks for ahead of kswapd) is
	 * more than all three hold has them all asked at once, well before
	 * direct reclaim would purge them without asking.
	 */
	ASSERT_EQ(0, ramm_sysfs_write("headroom_permille", "200\n"));
	h.stop_at = counter(_metadata, "pages_asked") +
		    (2 * len + len / 2) / page_size;
	h.target = mk_page_align(mk_meminfo("MemFree") + 3 * len / 2);
	hog = mk_hog_start(&self->kids, &h, 0);
	ASSERT_NE(NULL, hog);
	ASSERT_EQ(0, mk_hog_wait(hog, &hr, left_ms(self, 90000))) {
		TH_LOG("hog: %s", mk_how(hog, how, sizeof(how)));
	}
	log_hog(_metadata, hog, true, &hr, h.target);

	/* Now, with asks queued and unread: */
	ASSERT_EQ(0, mk_cmd(parts[0].c, MK_CMD_QUIT));
	ASSERT_EQ(0, mk_part_cmd(&parts[1], MK_CMD_EXEC, &ack,
				 left_ms(self, 10000)));
	ASSERT_EQ(0, ack.ret) {
		TH_LOG("exec: %s", strerror(ack.err));
	}
	ASSERT_EQ(0, mk_part_cmd(&parts[2], MK_CMD_UNREGISTER, &ack,
				 left_ms(self, 10000)));
	ASSERT_EQ(0, ack.ret) {
		TH_LOG("UNREGISTER: %s", strerror(ack.err));
	}
	ASSERT_EQ(0, mk_reap(parts[0].c, left_ms(self, 10000)));
	ASSERT_TRUE(mk_exited_ok(parts[0].c));

	/* Their deadlines pass with their owners gone. */
	settle(self);
	for (i = 0; i < 200; i++) {
		p = counter(_metadata, "participants");
		if (p == p0)
			break;
		ramm_sleep_ms(10);
	}
	ASSERT_EQ(p0, p) {
		TH_LOG("participants stays at %llu (was %llu before)",
		       (unsigned long long)p, (unsigned long long)p0);
	}
	mk_hog_release(hog, left_ms(self, 30000));
	ASSERT_TRUE(mk_exited_ok(hog));

	collect(_metadata, self, &parts[1], true);
	ASSERT_TRUE(mk_exited_ok(parts[1].c));
	ASSERT_EQ(1, parts[1].rep.exec_image);
	ASSERT_EQ(0, parts[1].rep.stats.registered);
	ASSERT_EQ(ENOENT, parts[1].rep.getfd_errno);

	collect(_metadata, self, &parts[2], true);
	log_part(_metadata, &parts[2]);
	ASSERT_TRUE(mk_exited_ok(parts[2].c));
	ASSERT_EQ(0, parts[2].rep.stats.registered);
	ASSERT_EQ(ENOENT, parts[2].rep.getreq_errno);
	ASSERT_EQ(ENOENT, parts[2].rep.getfd_errno);
	ASSERT_EQ(0, parts[2].rep.old_read) {
		TH_LOG("old fd after UNREGISTER: read %d (%s), queued records not dropped?",
		       parts[2].rep.old_read,
		       strerror(parts[2].rep.old_read_errno));
	}
	ASSERT_EQ(POLLHUP, parts[2].rep.old_revents & POLLHUP);
	/* Nothing dropped after it unregistered. */
	ASSERT_EQ(0, parts[2].rep.rr[0].corrupt);
	ASSERT_LE(parts[2].rep.rr[0].zeroed * page_size,
		  parts[2].rep.purged_at_unreg) {
		TH_LOG("%llu pages read zero, %llu bytes were purged by the time it unregistered",
		       (unsigned long long)parts[2].rep.rr[0].zeroed,
		       (unsigned long long)parts[2].rep.purged_at_unreg);
	}
}

int ramm_harness_main(int argc, char **argv);

#define main ramm_harness_main
/* Reclaimable page cache, in bytes. */
static __u64 file_pages(void)
{
	return mk_meminfo("Active(file)") + mk_meminfo("Inactive(file)");
}

/*
 * Make @bytes of clean, reclaimable page cache: a new zram disk (the
 * guest's root is a ramfs, whose pages cannot be reclaimed) written
 * through the page cache with same-filled pages, which zram stores in no
 * memory of its own.  The device stays open in *@fd: the last close of a
 * block device drops its page cache.  Returns the device number, or -1.
 */
static int page_cache_fill(struct __test_metadata *_metadata, __u64 bytes,
			   int *fd_out)
{
	char path[64], buf[32];
	static char block[1 << 20];
	__u64 done;
	int id, fd;
	FILE *f;

	f = fopen("/sys/class/zram-control/hot_add", "r");
	if (!f || fscanf(f, "%d", &id) != 1) {
		TH_LOG("zram hot_add: %s", strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)bytes);
	if (ramm_write_file(path, buf)) {
		TH_LOG("%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/zram%d", id);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		TH_LOG("%s: %s", path, strerror(errno));
		return -1;
	}
	memset(block, 0x5a, sizeof(block));
	for (done = 0; done + sizeof(block) <= bytes; done += sizeof(block)) {
		if (write(fd, block, sizeof(block)) != sizeof(block)) {
			TH_LOG("%s: write: %s", path, strerror(errno));
			break;
		}
	}
	fsync(fd);	/* clean pages: reclaim drops them without I/O */
	*fd_out = fd;
	return id;
}

static void page_cache_remove(int id, int fd)
{
	char buf[16];

	if (id < 0)
		return;
	close(fd);
	snprintf(buf, sizeof(buf), "%d\n", id);
	ramm_write_file("/sys/class/zram-control/hot_remove", buf);
}

/*
 * The reserve price: memory priced above it is asked for only when
 * ordinary reclaim cannot meet its target.  A participant whose range is
 * priced at twice the reserve price is never asked while reclaimable page
 * cache exceeds the shortfall: a hog takes all free memory and half of the
 * page cache, which ordinary reclaim gives it.  The test can fail: a
 * market that ignored the reserve price would ask this participant, the
 * only one, as soon as free memory fell below krammmd's target.
 */
TEST_F_TIMEOUT(market, page_cache_before_valuable, TIMEOUT_S)
{
	static const char *const names[] = { "above-reserve" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.sleep_us = 10000,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	__u64 len, reserve, cache0, cache1, wakes0, wakes1;
	struct mk_hog_report hr;
	struct mk_child *hog;
	struct mk_part x;
	bool reported;
	int id, fd;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_sysfs_read("reserve_price", &reserve));
	id = page_cache_fill(_metadata, mk_page_align(ma / 3), &fd);
	ASSERT_LE(0, id);

	len = mk_page_align(ma / 5);
	memset(&x, 0, sizeof(x));
	x.spec = (struct mk_part_spec){
		.tag = 81, .nr_ranges = 1,
		.r = { { len, 2 * reserve, PRESERVED } },
		.reg = true, .signal = 0,
		.handle = MK_SIG_USR1 | MK_SIG_USR2,
		.behaviour = MK_ANSWER,
	};
	start_parts(_metadata, self, &x, names, 1);

	cache0 = file_pages();
	wakes0 = counter(_metadata, "wakes");
	h.target = mk_page_align(mk_meminfo("MemFree") + cache0 / 2);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	cache1 = file_pages();
	wakes1 = counter(_metadata, "wakes");
	collect(_metadata, self, &x, true);
	log_part(_metadata, &x);
	page_cache_remove(id, fd);
	TH_LOG("page cache %llu -> %llu MiB, krammmd woken %llu times",
	       (unsigned long long)(cache0 / MK_MIB),
	       (unsigned long long)(cache1 / MK_MIB),
	       (unsigned long long)(wakes1 - wakes0));

	ASSERT_TRUE(reported) {
		TH_LOG("the hog did not get its memory");
	}
	ASSERT_TRUE(mk_exited_ok(x.c));
	ASSERT_EQ(0, mk_check_records(_metadata, &x));
	/* There was pressure: page cache was reclaimed, krammmd woke. */
	ASSERT_GT(cache0 - cache0 / 4, cache1);
	ASSERT_LT(wakes0, wakes1);
	ASSERT_EQ(0, mk_count(&x, RAMM_REASON_ASK, 0, 0)) {
		TH_LOG("asked for memory priced above the reserve price while page cache could be reclaimed");
	}
	ASSERT_INTACT(&x, 0);
}

/* Write @text to /sys/kernel/tracing/@name (tracefs mounted on demand). */
static int tracefs_write(const char *name, const char *text)
{
	char path[128];

	if (access("/sys/kernel/tracing/trace", F_OK))
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", name);
	return ramm_write_file(path, text);
}

/*
 * krammmd's wake ahead of kswapd, in bytes of free memory: the populated
 * zones' high watermarks plus three quarters of the headroom share of RAM,
 * as ramm_ahead_mark() computes it with nothing asked for.
 */
static __u64 ahead_mark_bytes(void)
{
	unsigned long long n, zone_high = 0, high = 0;
	__u64 permille = 0, headroom;
	char word[64];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (fscanf(f, "%63s", word) == 1) {
		/* "high" alone is the watermark; per-CPU lists print "high:". */
		if (!strcmp(word, "high") && fscanf(f, "%llu", &n) == 1)
			zone_high = n;
		else if (!strcmp(word, "present") && fscanf(f, "%llu", &n) == 1 &&
			 n)
			high += zone_high;
	}
	fclose(f);
	ramm_sysfs_read("headroom_permille", &permille);
	headroom = mk_meminfo("MemTotal") / page_size / 1000 * permille;
	return (high + headroom - headroom / 4) * page_size;
}

/*
 * The wake ahead of kswapd comes back after an episode in which the market
 * had nothing to give.  Hog A takes free memory well below krammmd's mark
 * while the only participant has nothing resident: the pass that wakes
 * asks nothing and, so as not to spin, turns the wake off.  Once A has let
 * go, hog B takes free memory below the mark again, though not down to
 * kswapd's low watermark: krammmd must be woken ahead again.  It was not,
 * until the allocator learned to turn the wake back on when free memory
 * is at the mark again; a burst after such an episode was first heard
 * at the low watermark.
 */
TEST_F_TIMEOUT(market, ahead_wake_comes_back, TIMEOUT_S)
{
	struct mk_hog_spec h = {
		.step = MK_MIB, .max_ms = 60000, .hold = true,
	};
	__u64 mark, free, ahead[3];
	struct mk_hog_report hr;
	struct mk_child *hog;
	unsigned int i;
	char *range;

	if (ramm_skip(_metadata, &self->env))
		return;
	/* Room between the mark and the low watermark for both hogs. */
	ASSERT_EQ(0, ramm_sysfs_write("headroom_permille", "200\n"));
	range = mmap_priced(NULL, 8 * MK_MIB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, 10, DISCARDABLE);
	ASSERT_NE(MAP_FAILED, range);
	ASSERT_EQ(0, ramm_register(0, 0));
	mark = ahead_mark_bytes();
	ASSERT_LT(mark + 32 * MK_MIB, mk_meminfo("MemFree")) {
		TH_LOG("mark %llu MiB: too little free memory for the test",
		       (unsigned long long)(mark / MK_MIB));
	}
	ASSERT_EQ(0, ramm_sysfs_read("wakes_ahead", &ahead[0]));
	/* A: 16 MiB below the mark, then B: 8 MiB below it. */
	for (i = 1; i <= 2; i++) {
		free = mk_meminfo("MemFree");
		h.target = mk_page_align(free - (mark - (24 - 8 * i) * MK_MIB));
		hog = mk_hog_start(&self->kids, &h, 0);
		ASSERT_NE(NULL, hog);
		ASSERT_EQ(0, mk_hog_wait(hog, &hr, h.max_ms + 30000));
		ASSERT_EQ(MK_HOG_TARGET, hr.why);
		ramm_sleep_ms(200);	/* for the pass it woke */
		ASSERT_EQ(0, ramm_sysfs_read("wakes_ahead", &ahead[i]));
		mk_hog_release(hog, 30000);
	}
	ramm_unregister();
	munmap(range, 8 * MK_MIB);
	TH_LOG("mark %llu MiB; wakes ahead: %llu while A fell below it, %llu while B did",
	       (unsigned long long)(mark / MK_MIB),
	       (unsigned long long)(ahead[1] - ahead[0]),
	       (unsigned long long)(ahead[2] - ahead[1]));
	ASSERT_LT(ahead[1], ahead[2]) {
		TH_LOG("B's fall below the mark did not wake krammmd ahead");
	}
}

/*
 * The five tracepoints of TRACE_SYSTEM ramm fire in a booted kernel:
 * ramm_pass (krammmd's passes), ramm_request and ramm_response (an ask,
 * and the verdict on it), ramm_purge (the ignored discardable range is
 * dropped) and ramm_direct_reclaim (a burst too fast for userspace).
 */
TEST_F_TIMEOUT(market, tracepoints, TIMEOUT_S)
{
	static const char *const events[] = {
		"ramm_pass:", "ramm_request:", "ramm_response:", "ramm_purge:",
		"ramm_direct_reclaim:",
	};
	static const char *const names[] = { "traced-ignorer" };
	__u64 ma = mk_meminfo("MemAvailable");
	struct mk_hog_spec h = {
		.step = 4 * MK_MIB,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
	};
	static char trace[1 << 20];
	struct mk_hog_report hr;
	char size_kb[32];
	struct mk_child *hog;
	struct mk_part x;
	unsigned int i;
	bool reported;
	size_t len;
	ssize_t n;
	int fd;

	if (ramm_skip(_metadata, &self->env))
		return;
	/*
	 * Keep the first events (a full buffer drops the newest), in a
	 * buffer large enough for the run; of the direct-reclaim calls,
	 * which come by the thousand, only those that purged something.
	 */
	ASSERT_EQ(0, tracefs_write("tracing_on", "0\n"));
	ASSERT_EQ(0, tracefs_write("trace", "\n"));
	ASSERT_EQ(0, tracefs_write("options/overwrite", "0\n"));
	fd = open("/sys/kernel/tracing/buffer_size_kb", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, size_kb, sizeof(size_kb) - 1);
	close(fd);
	size_kb[n > 0 ? n : 0] = 0;
	ASSERT_EQ(0, tracefs_write("buffer_size_kb", "4096\n"));
	ASSERT_EQ(0, tracefs_write("events/ramm/ramm_direct_reclaim/filter",
				   "nr_purged > 0\n"));
	ASSERT_EQ(0, tracefs_write("events/ramm/enable", "1\n")) {
		TH_LOG("no events/ramm: are the tracepoints built?");
	}
	ASSERT_EQ(0, tracefs_write("tracing_on", "1\n"));

	memset(&x, 0, sizeof(x));
	x.spec = (struct mk_part_spec){
		.tag = 91, .nr_ranges = 1,
		.r = { { mk_page_align(ma / 3), 1000, DISCARDABLE } },
		.reg = true, .signal = 0, .behaviour = MK_IGNORE,
	};
	start_parts(_metadata, self, &x, names, 1);
	/*
	 * A burst well beyond free memory, as in burst_direct_reclaim, so
	 * that allocations reach direct reclaim before krammmd's deadline
	 * purges can keep up: no headroom for krammmd to ask ahead, and a
	 * deadline longer than the burst.
	 */
	ASSERT_EQ(0, ramm_sysfs_write("headroom_permille", "0\n"));
	ASSERT_EQ(0, ramm_sysfs_write("deadline_ms", "1000\n"));
	self->deadline_ms = 1000;	/* settle() waits three of them */
	h.target = mk_page_align(mk_meminfo("MemFree") + ma / 3 * 7 / 10);
	reported = press(_metadata, self, &h, &hr, &hog);
	log_hog(_metadata, hog, reported, &hr, h.target);
	settle(self);
	collect(_metadata, self, &x, true);

	tracefs_write("tracing_on", "0\n");
	tracefs_write("events/ramm/enable", "0\n");
	tracefs_write("events/ramm/ramm_direct_reclaim/filter", "0\n");
	tracefs_write("options/overwrite", "1\n");
	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	len = 0;
	while (len < sizeof(trace) - 1 &&
	       (n = read(fd, trace + len, sizeof(trace) - 1 - len)) > 0)
		len += n;
	close(fd);
	ASSERT_LT(0, len);
	trace[len] = 0;
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		EXPECT_NE(NULL, strstr(trace, events[i])) {
			TH_LOG("no %s event in the trace (%zu bytes)", events[i],
			       len);
		}
	}
	tracefs_write("trace", "\n");
	if (size_kb[0])
		tracefs_write("buffer_size_kb", size_kb);
	ASSERT_TRUE(reported);
}

#define CGROUP_TEST	BH_CGROUP_ROOT "/ramm-market"

/*
 * The cgroup scenarios' common part.  @outside, a participant in the root
 * cgroup, and @inside, one in CGROUP_TEST, each hold @len (an eighth of
 * what is available) at the prices and flags their specs give; a hog in
 * CGROUP_TEST then needs @len more, and the cgroup's @limit (memory.high
 * or memory.max) is 1.5 * @len: together they are half the participant's
 * memory over it.  Memory outside the cgroup stays plentiful.  Returns
 * the hog, whose report is in @hr and @reported; both participants are
 * collected and the cgroup removed.
 */
static struct mk_child *memcg_scenario(struct __test_metadata *_metadata,
				       FIXTURE_DATA(market) *self,
				       const char *limit,
				       struct mk_part *outside,
				       const char *const *out_name,
				       struct mk_part *inside,
				       const char *const *in_name,
				       struct mk_hog_report *hr, bool *reported)
{
	__u64 len = mk_page_align(mk_meminfo("MemAvailable") / 8);
	struct mk_hog_spec h = {
		.step = MK_MIB,
		.prng = true,
		.max_ms = 60000,
		.hold = true,
		.target = len,
	};
	char path[128], val[32];
	struct mk_child *hog;

	ASSERT_EQ(0, bh_cgroup_make(CGROUP_TEST, 0, false)) {
		TH_LOG("cgroup2 with the memory controller: %s",
		       strerror(errno));
	}
	outside->spec.r[0].len = len;
	inside->spec.r[0].len = len;
	start_parts(_metadata, self, outside, out_name, 1);

	/* Children inherit the cgroup: enter it to fork them, then leave. */
	snprintf(path, sizeof(path), CGROUP_TEST "/%s", limit);
	snprintf(val, sizeof(val), "%llu\n",
		 (unsigned long long)(len + len / 2));
	ASSERT_EQ(0, ramm_write_file(path, val));
	ASSERT_EQ(0, bh_cgroup_enter(CGROUP_TEST));
	start_parts(_metadata, self, inside, in_name, 1);
	hog = mk_hog_start(&self->kids, &h, 0);
	ASSERT_EQ(0, bh_cgroup_enter(BH_CGROUP_ROOT));
	ASSERT_NE(NULL, hog);
	*reported = !mk_hog_wait(hog, hr, left_ms(self, h.max_ms + 30000));
	settle(self);
	mk_hog_release(hog, left_ms(self, 30000));
	log_hog(_metadata, hog, *reported, hr, h.target);
	collect(_metadata, self, inside, true);
	collect(_metadata, self, outside, true);
	log_part(_metadata, inside);
	log_part(_metadata, outside);
	ramm_write_file(path, "max\n");
	rmdir(CGROUP_TEST);
	return hog;
}

/*
 * A container over its memory.high: the cheapest priced memory *inside*
 * it is asked for, never the machine's cheapest outside it, although
 * that is cheaper still.  Memory outside the cgroup is plentiful, so
 * without RAMM's cgroup hook nobody would be asked at all; without its
 * scoping, the outside participant (price 10) would be asked first.
 */
TEST_F_TIMEOUT(market, memcg_high_asks_only_inside, TIMEOUT_S)
{
	static const char *const out_name[] = { "outside-10" };
	static const char *const in_name[] = { "inside-500" };
	struct mk_part outside, inside;
	struct mk_hog_report hr;
	struct mk_child *hog;
	bool reported;
	char how[48];

	if (ramm_skip(_metadata, &self->env))
		return;
	memset(&outside, 0, sizeof(outside));
	outside.spec = (struct mk_part_spec){
		.tag = 121, .nr_ranges = 1, .r = { { 0, 10, PRESERVED } },
		.reg = true, .signal = 0, .behaviour = MK_ANSWER,
	};
	inside = outside;
	inside.spec.tag = 122;
	inside.spec.r[0].price = 500;
	hog = memcg_scenario(_metadata, self, "memory.high", &outside,
			     out_name, &inside, in_name, &hr, &reported);

	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET) {
		TH_LOG("the hog did not get its memory: %s",
		       mk_how(hog, how, sizeof(how)));
	}
	ASSERT_EQ(0, mk_check_records(_metadata, &inside));
	ASSERT_LT(0, mk_count(&inside, RAMM_REASON_ASK, 0, 0)) {
		TH_LOG("the participant inside the cgroup was never asked");
	}
	ASSERT_LT(0, inside.rep.rr[0].released);
	ASSERT_EQ(0, outside.rep.nrec) {
		TH_LOG("the participant outside the cgroup was asked");
	}
	ASSERT_EQ(0, outside.rep.stats.asked);
	ASSERT_INTACT(&outside, 0);
}

/*
 * A container at its memory.max, where a charge that reclaim cannot
 * satisfy goes to the cgroup's OOM killer: an ask usually comes too late
 * there, so the purge must not.  The cgroup's reclaim purges its own
 * participant's discardable memory (priced below the reserve price, so
 * before ordinary reclaim), and whatever is left of it is purged before
 * the cgroup's OOM killer may choose (ramm_memcg_oom()), so the hog gets
 * what it needs with no kill; the cheaper participant outside the cgroup
 * is neither purged nor asked.  Without the purge, the hog's
 * incompressible pages could only go to a kill: the inside participant
 * ignores every ask.
 */
TEST_F_TIMEOUT(market, memcg_max_purges_only_inside, TIMEOUT_S)
{
	static const char *const out_name[] = { "outside-10" };
	static const char *const in_name[] = { "inside-500-deaf" };
	struct mk_part outside, inside;
	struct mk_hog_report hr;
	struct mk_child *hog;
	bool reported;
	char how[48];

	if (ramm_skip(_metadata, &self->env))
		return;
	memset(&outside, 0, sizeof(outside));
	outside.spec = (struct mk_part_spec){
		.tag = 123, .nr_ranges = 1, .r = { { 0, 10, DISCARDABLE } },
		.reg = true, .signal = 0, .behaviour = MK_ANSWER,
	};
	inside = outside;
	inside.spec.tag = 124;
	inside.spec.r[0].price = 500;
	inside.spec.behaviour = MK_IGNORE;
	hog = memcg_scenario(_metadata, self, "memory.max", &outside,
			     out_name, &inside, in_name, &hr, &reported);

	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET) {
		TH_LOG("the hog did not get its memory: %s",
		       mk_how(hog, how, sizeof(how)));
	}
	ASSERT_FALSE(mk_killed(inside.c)) {
		TH_LOG("the cgroup's OOM killer took the participant");
	}
	ASSERT_EQ(0, mk_check_records(_metadata, &inside));
	ASSERT_LT(0, mk_count(&inside, RAMM_REASON_PURGED, 0, 0)) {
		TH_LOG("nothing of the participant inside was purged");
	}
	ASSERT_EQ(0, outside.rep.nrec) {
		TH_LOG("the participant outside the cgroup got records");
	}
	ASSERT_EQ(0, outside.rep.stats.asked);
	ASSERT_INTACT(&outside, 0);
}

TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], MK_EXEC_ARG))
		return mk_exec_child(argv[2], argv[3]);
	return ramm_harness_main(argc, argv);
}
