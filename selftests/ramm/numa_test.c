// SPDX-License-Identifier: GPL-2.0
/*
 * The market on a machine with more than one memory node: krammmd
 * balances each node toward its own target, as kswapd does, and asks for
 * memory on the node that is short.
 *
 * Needs two memory nodes; make check boots the debug kernel with
 * numa=fake=2 for it (scripts/guest/ramm/numa.sh).  On one node it skips,
 * which make check counts as a failure.
 */
#define _GNU_SOURCE

#include "market_helpers.h"

#define BUDGET_S	150

FIXTURE(numa) {
	struct ramm_env env;
	char swap_dev[MK_SWAP_DEV_LEN];	/* swapped off for the test, or "" */
	struct ramm_tunables_saved saved;
	struct mk_kids kids;
	__u64 deadline_ms;
};

FIXTURE_SETUP(numa)
{
	ramm_env_probe(&self->env);
	if (self->env.version <= 0)
		return;
	mk_scenario_setup(&self->saved, &self->deadline_ms, self->swap_dev);
}

FIXTURE_TEARDOWN(numa)
{
	mk_scenario_teardown(&self->env, &self->kids, self->swap_dev,
			     &self->saved);
}

/* The "Node N @key:" value of /sys/devices/system/node/nodeN/meminfo. */
static __u64 node_meminfo(int node, const char *key)
{
	char path[64], line[160], name[64];
	unsigned long long kb;
	__u64 bytes = 0;
	int n;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 node);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %d %63[^:]: %llu kB", &n, name, &kb) == 3 &&
		    !strcmp(name, key)) {
			bytes = kb * 1024;
			break;
		}
	fclose(f);
	return bytes;
}

/* How many nodes have memory (a node list: "0-1" counts 2, "0,2" too). */
static int memory_nodes(void)
{
	char buf[64] = "", *p = buf, *end;
	long a, b;
	int n = 0;
	FILE *f = fopen("/sys/devices/system/node/has_memory", "r");

	if (!f)
		return 1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (;;) {
		a = strtol(p, &end, 10);
		if (end == p)
			break;
		b = *end == '-' ? strtol(end + 1, &end, 10) : a;
		n += b - a + 1;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return n ? n : 1;
}

static void start_part(struct __test_metadata *_metadata,
		       FIXTURE_DATA(numa) *self, struct mk_part *p,
		       const char *name)
{
	ASSERT_EQ(0, mk_part_start(&self->kids, p, name)) {
		TH_LOG("fork %s: %s", name, strerror(errno));
	}
	ASSERT_EQ(0, mk_part_wait_ready(p, 120000)) {
		TH_LOG("%s not ready: %s (%s)", name, p->ready.msg,
		       strerror(errno));
	}
}

static void collect(struct __test_metadata *_metadata, struct mk_part *p)
{
	char how[48];

	ASSERT_EQ(0, mk_part_collect(p, 60000)) {
		TH_LOG("%s sent no report: %s (%s)", p->c->name,
		       mk_how(p->c, how, sizeof(how)), strerror(errno));
	}
	ASSERT_EQ(0, p->rep.err) {
		TH_LOG("%s: %s", p->c->name, p->rep.msg);
	}
	ASSERT_EQ(0, mk_check_records(_metadata, p));
}

/*
 * Node 0 runs short while node 1 has plenty free.  A participant whose
 * memory is on node 0 gives it back, though it is dearer; the cheaper one
 * whose memory is on node 1 is neither asked nor purged, since giving
 * that back would leave node 0 as short as it was.  The hog is bound to
 * node 0, so only what node 0's participant gives back (or direct reclaim
 * purges of it) lets it finish.
 *
 * With a machine-wide shortfall, node 1's free memory hides node 0's gap:
 * nobody is asked, and direct reclaim purges the cheapest range machine
 * wide, the one on node 1, first.
 */
TEST_F_TIMEOUT(numa, the_other_node_is_spared, BUDGET_S + 60)
{
	struct mk_part near, far;
	struct mk_hog_report hr;
	struct mk_child *hog;
	struct mk_hog_spec h;
	__u64 len, free0, free1;
	char how[48];
	bool reported;

	if (ramm_skip(_metadata, &self->env))
		return;
	if (memory_nodes() < 2)
		SKIP(return, "one memory node: boot with numa=fake=2");

	free0 = node_meminfo(0, "MemFree");
	free1 = node_meminfo(1, "MemFree");
	len = mk_page_align(free0 / 4);
	TH_LOG("free: node 0 %llu MiB, node 1 %llu MiB; %llu MiB each",
	       (unsigned long long)(free0 / MK_MIB),
	       (unsigned long long)(free1 / MK_MIB),
	       (unsigned long long)(len / MK_MIB));
	ASSERT_LT(2 * len, free1) {
		TH_LOG("node 1 is too small for the far participant");
	}

	memset(&near, 0, sizeof(near));
	near.spec = (struct mk_part_spec){
		.tag = 201, .nr_ranges = 1, .r = { { len, 100, RAMM_DISCARDABLE } },
		.reg = true, .signal = 0, .behaviour = MK_ANSWER, .node = 1,
	};
	far = near;
	far.spec.tag = 202;
	far.spec.r[0].price = 10;
	far.spec.node = 2;
	start_part(_metadata, self, &far, "far-10-node1");
	start_part(_metadata, self, &near, "near-100-node0");

	/*
	 * All of node 0's free memory: the rest must come from the near
	 * participant.  Paced, so that its answers can keep up.
	 */
	free0 = node_meminfo(0, "MemFree");
	h = (struct mk_hog_spec){
		.target = mk_page_align(free0), .step = MK_MIB,
		.sleep_us = 20000, .prng = true, .max_ms = 90000, .node = 1,
	};
	hog = mk_hog_start(&self->kids, &h, 0);
	ASSERT_NE(NULL, hog);
	reported = !mk_hog_wait(hog, &hr, (h.max_ms + 30) * 1000);
	ramm_sleep_ms(3 * self->deadline_ms + 200);
	mk_hog_release(hog, 30000);
	collect(_metadata, &near);
	collect(_metadata, &far);

	TH_LOG("hog: %llu of %llu MiB in %llu ms",
	       (unsigned long long)(hr.bytes / MK_MIB),
	       (unsigned long long)(h.target / MK_MIB),
	       (unsigned long long)(hr.elapsed_ns / 1000000));
	TH_LOG("near: asked %llu times (%llu ask records for %llu MiB, %llu purge records); far: asked %llu times, %llu records",
	       (unsigned long long)near.rep.stats.asked,
	       (unsigned long long)mk_count(&near, RAMM_REASON_ASK, -1, 0),
	       (unsigned long long)(mk_sum(&near, RAMM_REASON_ASK, -1, 0) /
				    MK_MIB),
	       (unsigned long long)mk_count(&near, RAMM_REASON_PURGED, -1, 0),
	       (unsigned long long)far.rep.stats.asked,
	       (unsigned long long)far.rep.nrec);
	ASSERT_TRUE(reported && hr.why == MK_HOG_TARGET) {
		TH_LOG("the hog did not get its memory: %s",
		       mk_how(hog, how, sizeof(how)));
	}
	/*
	 * krammmd asks the near participant, not only direct reclaim purging
	 * it.  Walking the far range's pages, which are all on node 1, can
	 * take a whole pass's budget on a debug kernel under TCG; that the
	 * next pass goes on from there is what lets the ask through.
	 */
	ASSERT_LT(0, mk_count(&near, RAMM_REASON_ASK, -1, 0)) {
		TH_LOG("krammmd never asked node 0's participant");
	}
	ASSERT_EQ(0, far.rep.stats.asked) {
		TH_LOG("the cheaper participant on the other node was asked");
	}
	ASSERT_EQ(0, mk_count(&far, RAMM_REASON_ASK, -1, 0));
	ASSERT_EQ(0, mk_count(&far, RAMM_REASON_PURGED, -1, 0)) {
		TH_LOG("the cheaper participant on the other node was purged");
	}
	ASSERT_EQ(0, far.rep.rr[0].zeroed);
}

TEST_HARNESS_MAIN
