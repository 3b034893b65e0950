// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for RAMM's ranking and credit arithmetic: the pure functions
 * behind which memory is asked for first, how much of it, and how an
 * owner's answers move its credit.  The selftests check the same policy
 * end to end under real memory pressure; these check it exhaustively and
 * at the edges (ties, overflow, credit 1) where pressure tests cannot aim.
 */

#include <kunit/test.h>
#include <linux/prandom.h>
#include <linux/sort.h>

#include "ramm.h"

/* --- credit ------------------------------------------------------------- */

/* The example in credit.c: three ignored asks take full credit to 125. */
static void ramm_credit_three_ignored_asks(struct kunit *test)
{
	unsigned int c = RAMM_CREDIT_FULL;
	struct ramm_key ignorer, answerer;

	c = ramm_credit_after(c, RAMM_IGNORED);
	KUNIT_EXPECT_EQ(test, c, 500U);
	c = ramm_credit_after(c, RAMM_IGNORED);
	KUNIT_EXPECT_EQ(test, c, 250U);
	c = ramm_credit_after(c, RAMM_IGNORED);
	KUNIT_EXPECT_EQ(test, c, 125U);

	/* A range priced 4000 then ranks below one priced 1000. */
	ignorer = ramm_key_of(4000, c, 1, 0x10000);
	answerer = ramm_key_of(1000, RAMM_CREDIT_FULL, 2, 0x10000);
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&ignorer, &answerer));
}

/* Every verdict from every credit: direction, bounds, relative cost. */
static void ramm_credit_verdicts_move_it_the_right_way(struct kunit *test)
{
	unsigned int c, answered, late, ignored;

	for (c = 1; c <= RAMM_CREDIT_FULL; c++) {
		answered = ramm_credit_after(c, RAMM_ANSWERED);
		late = ramm_credit_after(c, RAMM_LATE);
		ignored = ramm_credit_after(c, RAMM_IGNORED);

		KUNIT_ASSERT_GE_MSG(test, answered, c, "credit %u", c);
		KUNIT_ASSERT_LE_MSG(test, answered, RAMM_CREDIT_FULL,
				    "credit %u", c);
		KUNIT_ASSERT_LE_MSG(test, late, c, "credit %u", c);
		KUNIT_ASSERT_LE_MSG(test, ignored, late, "credit %u", c);
		KUNIT_ASSERT_GE_MSG(test, ignored, 1U, "credit %u", c);
		/* Answering always beats being late. */
		KUNIT_ASSERT_GT_MSG(test, answered, late, "credit %u", c);
	}
}

/* Ignoring forever ends at 1, where the ranking by price survives. */
static void ramm_credit_floor_keeps_prices_ranked(struct kunit *test)
{
	unsigned int c = RAMM_CREDIT_FULL;
	struct ramm_key cheap, dear;
	int i;

	for (i = 0; i < 64; i++)
		c = ramm_credit_after(c, RAMM_IGNORED);
	KUNIT_EXPECT_EQ(test, c, 1U);
	KUNIT_EXPECT_EQ(test, ramm_credit_after(c, RAMM_LATE), 1U);

	cheap = ramm_key_of(1000, c, 2, 0x10000);
	dear = ramm_key_of(2000, c, 1, 0x10000);
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&cheap, &dear));
}

/*
 * Answering recovers a quarter of the deficit each time, rounded down: a
 * deficit d becomes ceil(3d / 4), which stops at 3.  Answers alone bring
 * an owner back to 997 in a few dozen asks; decay forgives the rest.
 */
static void ramm_credit_answers_recover_it(struct kunit *test)
{
	unsigned int c = 1, prev = 0;
	int asks = 0;

	KUNIT_EXPECT_EQ(test, ramm_credit_after(RAMM_CREDIT_FULL,
						RAMM_ANSWERED),
			RAMM_CREDIT_FULL);
	while (c != prev && asks < 100) {
		prev = c;
		c = ramm_credit_after(c, RAMM_ANSWERED);
		KUNIT_ASSERT_GE(test, c, prev);
		asks++;
	}
	KUNIT_EXPECT_EQ(test, c, RAMM_CREDIT_FULL - 3);
	/* d_n <= (3/4)^n * 999 + 4: under 7 after 25 answers. */
	KUNIT_EXPECT_LE(test, asks, 25);
}

static void ramm_credit_deficit_decays_by_halflives(struct kunit *test)
{
	const u64 hl = 600 * NSEC_PER_SEC;
	u64 used;

	/* No decay when the tunable is 0, or nothing to forgive. */
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(800, U64_MAX, 0, &used),
			800U);
	KUNIT_EXPECT_EQ(test, used, 0ULL);
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(0, 10 * hl, hl, &used),
			0U);
	KUNIT_EXPECT_EQ(test, used, 0ULL);

	/* Less than a half-life: unchanged, and the stamp must not move. */
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(800, hl - 1, hl, &used),
			800U);
	KUNIT_EXPECT_EQ(test, used, 0ULL);

	/* Whole half-lives only; the remainder is kept for next time. */
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(800, 2 * hl + hl / 2, hl,
						   &used), 200U);
	KUNIT_EXPECT_EQ(test, used, 2 * hl);

	/* Long ago: all forgiven, without an undefined shift. */
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(999, 40 * hl, hl, &used),
			0U);
	KUNIT_EXPECT_EQ(test, ramm_deficit_decayed(999, U64_MAX, 1, &used),
			0U);
	KUNIT_EXPECT_EQ(test, used, U64_MAX);
}

static void ramm_credit_effective_price_never_overflows(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ramm_effective_price(U64_MAX, RAMM_CREDIT_FULL),
			U64_MAX);
	KUNIT_EXPECT_EQ(test, ramm_effective_price(U64_MAX, 500), U64_MAX / 2);
	KUNIT_EXPECT_EQ(test, ramm_effective_price(U64_MAX, 1),
			U64_MAX / 1000);
	KUNIT_EXPECT_EQ(test, ramm_effective_price(4000, 125), 500ULL);
	/* Below 1000 / credit a price rounds to 0; the cursor still works. */
	KUNIT_EXPECT_EQ(test, ramm_effective_price(999, 1), 0ULL);
}

static struct kunit_case ramm_credit_cases[] = {
	KUNIT_CASE(ramm_credit_three_ignored_asks),
	KUNIT_CASE(ramm_credit_verdicts_move_it_the_right_way),
	KUNIT_CASE(ramm_credit_floor_keeps_prices_ranked),
	KUNIT_CASE(ramm_credit_answers_recover_it),
	KUNIT_CASE(ramm_credit_deficit_decays_by_halflives),
	KUNIT_CASE(ramm_credit_effective_price_never_overflows),
	{}
};

static struct kunit_suite ramm_credit_suite = {
	.name = "ramm-credit",
	.test_cases = ramm_credit_cases,
};

/* --- selection ---------------------------------------------------------- */

struct ramm_test_range {
	u64 price;
	unsigned int credit;
	u64 id;
	unsigned long start;
};

static int ramm_test_key_cmp(const void *a, const void *b)
{
	const struct ramm_key *ka = a, *kb = b;

	if (ramm_key_before(ka, kb))
		return -1;
	return ramm_key_before(kb, ka);
}

/*
 * Walk @n ranges the way a krammmd pass and direct reclaim do (one scan
 * per pick, each for the first range after the previous pick) and check
 * the walk against sort(): every range exactly once, in ranking order.
 */
static void ramm_test_walk(struct kunit *test,
			   const struct ramm_test_range *r, int n)
{
	struct ramm_key *sorted, after = RAMM_KEY_MIN, best;
	int i, picks = 0;

	sorted = kunit_kcalloc(test, n, sizeof(*sorted), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sorted);
	for (i = 0; i < n; i++)
		sorted[i] = ramm_key_of(r[i].price, r[i].credit, r[i].id,
					r[i].start);
	sort(sorted, n, sizeof(*sorted), ramm_test_key_cmp, NULL);

	for (;;) {
		bool found = false;

		best = RAMM_KEY_MAX;
		for (i = 0; i < n; i++) {
			struct ramm_key key = ramm_key_of(r[i].price,
							  r[i].credit,
							  r[i].id,
							  r[i].start);

			if (ramm_key_better(&after, &key, &best)) {
				best = key;
				found = true;
			}
		}
		if (!found)
			break;
		KUNIT_ASSERT_LT(test, picks, n);
		KUNIT_EXPECT_EQ_MSG(test, best.eff, sorted[picks].eff,
				    "pick %d", picks);
		KUNIT_EXPECT_EQ_MSG(test, best.id, sorted[picks].id,
				    "pick %d", picks);
		KUNIT_EXPECT_EQ_MSG(test, best.start, sorted[picks].start,
				    "pick %d", picks);
		after = best;
		picks++;
	}
	KUNIT_EXPECT_EQ(test, picks, n);
}

static void ramm_selection_key_order(struct kunit *test)
{
	struct ramm_key a = { 10, 2, 0x2000 }, b = { 10, 2, 0x3000 };
	struct ramm_key c = { 10, 3, 0x1000 }, d = { 11, 1, 0x1000 };
	struct ramm_key min = RAMM_KEY_MIN, max = RAMM_KEY_MAX;

	/* Effective price first, then the older owner, then the address. */
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&a, &b));
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&b, &c));
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&c, &d));
	/* Strict: a key is not before itself, so no range is picked twice. */
	KUNIT_EXPECT_FALSE(test, ramm_key_before(&a, &a));
	KUNIT_EXPECT_FALSE(test, ramm_key_better(&a, &a, &max));
	/* The cursor's start precedes any range, even one of price 0. */
	a = ramm_key_of(0, 1, 1, PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&min, &a));
	KUNIT_EXPECT_TRUE(test, ramm_key_before(&a, &max));
}

/* Ties on effective price, one owner's several ranges, the extremes. */
static void ramm_selection_walk_breaks_ties(struct kunit *test)
{
	static const struct ramm_test_range r[] = {
		{ 2000,    500,  3, 0x7000 },	/* eff 1000, like the next */
		{ 1000,   1000,  2, 0x9000 },
		{ 1000,   1000,  2, 0x4000 },	/* same owner, lower address */
		{ U64_MAX, 1000, 1, 0x1000 },
		{ U64_MAX, 1000, 4, 0x1000 },
		{ 5,         1,  5, 0x1000 },	/* eff 0 */
		{ 4000,    125,  6, 0x2000 },	/* eff 500 */
		{ 1,      1000,  7, 0x3000 },
	};

	ramm_test_walk(test, r, ARRAY_SIZE(r));
}

/* Many ranges with few distinct prices, credits and owners. */
static void ramm_selection_walk_random(struct kunit *test)
{
	static const unsigned int credits[] = { 1, 125, 500, 999, 1000 };
	struct ramm_test_range *r;
	struct rnd_state rnd;
	const int n = 500;
	int i;

	r = kunit_kcalloc(test, n, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	prandom_seed_state(&rnd, 0x52414d4d);	/* "RAMM": reproducible */
	for (i = 0; i < n; i++) {
		r[i].price = 1000 * (prandom_u32_state(&rnd) % 8);
		r[i].credit = credits[prandom_u32_state(&rnd) %
				      ARRAY_SIZE(credits)];
		r[i].id = 1 + prandom_u32_state(&rnd) % 10;
		/* Unique per owner, as VMAs of one mm do not overlap. */
		r[i].start = (unsigned long)(i + 1) * PAGE_SIZE;
	}
	ramm_test_walk(test, r, n);
}

/* Ranges at or above the reserve price wait until page cache runs out. */
static void ramm_selection_reserve_price(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, ramm_askable(999, 1000, false));
	KUNIT_EXPECT_FALSE(test, ramm_askable(1000, 1000, false));
	KUNIT_EXPECT_TRUE(test, ramm_askable(1000, 1000, true));
	KUNIT_EXPECT_TRUE(test, ramm_askable(U64_MAX, 1000, true));
	/* reserve_price 0: everything is valuable. */
	KUNIT_EXPECT_FALSE(test, ramm_askable(1, 0, false));
	/* reserve_price at its maximum: nothing is. */
	KUNIT_EXPECT_TRUE(test, ramm_askable(U64_MAX - 1, U64_MAX, false));
}

/* A range is asked for what it holds and was not asked yet, no more. */
static void ramm_selection_ask_amount(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 30, 50), 50ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 30, 100), 70ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 30, LONG_MAX), 70ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 100, 50), 0ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 150, 50), 0ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 0, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, ramm_ask_pages(100, 0, -5), 0ULL);
}

/* A cgroup is asked for what it is over its limit, plus headroom. */
static void ramm_selection_memcg_shortfall(struct kunit *test)
{
	/* 20 permille of 1000 pages is 20 pages of headroom. */
	KUNIT_EXPECT_EQ(test, ramm_over_limit(900, 1000, 20, 0), 0L);
	KUNIT_EXPECT_EQ(test, ramm_over_limit(980, 1000, 20, 0), 0L);
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1000, 1000, 20, 0), 20L);
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1100, 1000, 20, 0), 120L);
	/* What was asked and not yet answered is not asked again... */
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1100, 1000, 20, 100), 20L);
	/* ...and never turns the shortfall negative. */
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1100, 1000, 20, 500), 0L);
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1100, 1000, 20, U64_MAX), 0L);
	/* Headroom 0, and a limit too small for one page of headroom. */
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1001, 1000, 0, 0), 1L);
	KUNIT_EXPECT_EQ(test, ramm_over_limit(1000, 999, 20, 0), 1L);
}

/* A node is short by its gap below target; page cache counts only ahead. */
static void ramm_selection_node_gap(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 400, 0, true), 600L);
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 1000, 0, true), 0L);
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 5000, 0, true), 0L);
	/* Under pressure, page cache is reclaim's to drop alongside. */
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 400, 300, true), 600L);
	/* Ahead of pressure, it is left out, never below 0. */
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 400, 300, false), 300L);
	KUNIT_EXPECT_EQ(test, ramm_node_gap(1000, 400, 900, false), 0L);
	KUNIT_EXPECT_EQ(test, ramm_node_gap(ULONG_MAX, 0, 0, true), LONG_MAX);
}

static struct kunit_case ramm_selection_cases[] = {
	KUNIT_CASE(ramm_selection_key_order),
	KUNIT_CASE(ramm_selection_walk_breaks_ties),
	KUNIT_CASE(ramm_selection_walk_random),
	KUNIT_CASE(ramm_selection_reserve_price),
	KUNIT_CASE(ramm_selection_ask_amount),
	KUNIT_CASE(ramm_selection_memcg_shortfall),
	KUNIT_CASE(ramm_selection_node_gap),
	{}
};

static struct kunit_suite ramm_selection_suite = {
	.name = "ramm-selection",
	.test_cases = ramm_selection_cases,
};

kunit_test_suites(&ramm_credit_suite, &ramm_selection_suite);
