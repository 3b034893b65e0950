// SPDX-License-Identifier: GPL-2.0
/*
 * The price lives in the VMA: splits, merges, mprotect, munmap, mremap,
 * fork and exec keep it coherent, and /proc/self/smaps shows it.
 *
 * Run with "--ramm-exec-check <hex address>" the binary does not start the
 * harness: it checks that it has no priced memory (exec dropped the prices
 * of the image it replaced) and exits 0 if so.
 */
#define _GNU_SOURCE
#include "ramm_helpers.h"

#define RW	(PROT_READ | PROT_WRITE)
#define PA	(MAP_PRIVATE | MAP_ANONYMOUS)

#define EXEC_CHECK_ARG	"--ramm-exec-check"

FIXTURE(vma) {
	struct ramm_env env;
	struct ramm_maps maps;
};

FIXTURE_SETUP(vma)
{
	ramm_env_probe(&self->env);
}

FIXTURE_TEARDOWN(vma)
{
	ramm_unmap_all(&self->maps);
}

/* Price the middle differently, then like its neighbours: one VMA again. */
TEST_F(vma, split_and_merge_back)
{
	size_t len = 3 * page_size;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_priced(&self->maps, 3, RW, 5, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    7, 0));
	ASSERT_EQ(3, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_PRICE(p, p, page_size, 5, 0);
	ASSERT_PRICE(p + page_size, p + page_size, page_size, 7, 0);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 5, 0);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    5, 0));
	ASSERT_EQ(1, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_PRICE(p + page_size, p, len, 5, 0);
	ASSERT_SMAPS(p, p, len, 5, 0);

	/* The same with the flags. */
	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    5, RAMM_DISCARDABLE));
	ASSERT_EQ(3, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_PRICE(p + page_size, p + page_size, page_size, 5,
		     RAMM_DISCARDABLE);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    5, 0));
	ASSERT_PRICE(p, p, len, 5, 0);
}

/* Two adjacent mmap_priced(MAP_FIXED) at an equal price: one VMA. */
TEST_F(vma, adjacent_equal_price_merges)
{
	size_t len = 4 * page_size;
	char *r, *a, *b;

	if (ramm_skip(_metadata, &self->env))
		return;
	r = ramm_reserve(&self->maps, 4);
	ASSERT_NE(MAP_FAILED, r);

	a = mmap_priced(r, 2 * page_size, RW, PA | MAP_FIXED, 9, 0);
	ASSERT_EQ(r, a);
	b = mmap_priced(r + 2 * page_size, 2 * page_size, RW, PA | MAP_FIXED,
			9, 0);
	ASSERT_EQ(r + 2 * page_size, b);

	ASSERT_PRICE(r, r, len, 9, 0);
	ASSERT_PRICE(b + 1, r, len, 9, 0);
	ASSERT_EQ(1, smaps_count((unsigned long)r, (unsigned long)r + len));
	ASSERT_SMAPS(r, r, len, 9, 0);
}

/* Adjacent ranges with different prices or flags never merge. */
TEST_F(vma, adjacent_different_no_merge)
{
	static const struct {
		__u64 price_a, flags_a, price_b, flags_b;
	} cases[] = {
		{ 9, 0, 10, 0 },
		{ 9, 0, 9, RAMM_DISCARDABLE },
		{ 9, RAMM_DISCARDABLE, 10, RAMM_DISCARDABLE },
	};
	unsigned int i;

	if (ramm_skip(_metadata, &self->env))
		return;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r, *a, *b;

		r = ramm_reserve(&self->maps, 4);
		ASSERT_NE(MAP_FAILED, r);
		a = mmap_priced(r, 2 * page_size, RW, PA | MAP_FIXED,
				cases[i].price_a, cases[i].flags_a);
		ASSERT_EQ(r, a);
		b = mmap_priced(r + 2 * page_size, 2 * page_size, RW,
				PA | MAP_FIXED, cases[i].price_b,
				cases[i].flags_b);
		ASSERT_EQ(r + 2 * page_size, b);

		ASSERT_PRICE(a, a, 2 * page_size, cases[i].price_a,
			     cases[i].flags_a);
		ASSERT_PRICE(b, b, 2 * page_size, cases[i].price_b,
			     cases[i].flags_b);
		ASSERT_EQ(2, smaps_count((unsigned long)r,
					 (unsigned long)r + 4 * page_size));
		ASSERT_SMAPS(a, a, 2 * page_size, cases[i].price_a,
			     !!cases[i].flags_a);
		ASSERT_SMAPS(b, b, 2 * page_size, cases[i].price_b,
			     !!cases[i].flags_b);

		/* Another price still keeps them apart ... */
		ASSERT_EQ(0, ramm_set_price((unsigned long)b, 2 * page_size,
					    cases[i].price_a + 100,
					    cases[i].flags_a));
		ASSERT_EQ(2, smaps_count((unsigned long)r,
					 (unsigned long)r + 4 * page_size));

		/* ... the same price and flags make them one VMA. */
		ASSERT_EQ(0, ramm_set_price((unsigned long)b, 2 * page_size,
					    cases[i].price_a,
					    cases[i].flags_a));
		ASSERT_EQ(1, smaps_count((unsigned long)r,
					 (unsigned long)r + 4 * page_size));
		ASSERT_PRICE(b, a, 4 * page_size, cases[i].price_a,
			     cases[i].flags_a);
	}
}

/* mprotect() of part of a priced range: both parts keep the price. */
TEST_F(vma, mprotect_keeps_price)
{
	size_t len = 4 * page_size;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_priced(&self->maps, 4, RW, 300, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 3, len);

	ASSERT_EQ(0, mprotect(p + page_size, page_size, PROT_READ));
	ASSERT_EQ(3, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_PRICE(p, p, page_size, 300, RAMM_DISCARDABLE);
	ASSERT_PRICE(p + page_size, p + page_size, page_size, 300,
		     RAMM_DISCARDABLE);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, 2 * page_size, 300,
		     RAMM_DISCARDABLE);
	ASSERT_SMAPS(p + page_size, p + page_size, page_size, 300, 1);
	ASSERT_EQ(3, p[page_size]);

	ASSERT_EQ(0, mprotect(p + page_size, page_size, RW));
	ASSERT_EQ(1, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_PRICE(p + page_size, p, len, 300, RAMM_DISCARDABLE);
	ASSERT_SMAPS(p, p, len, 300, 1);
}

/* munmap() of the middle: both sides stay priced. */
TEST_F(vma, munmap_middle_keeps_sides)
{
	struct ramm_stats st0, st;
	struct ramm_range r;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));
	p = ramm_map_priced(&self->maps, 3, RW, 40, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 4, 3 * page_size);

	ASSERT_EQ(0, munmap(p + page_size, page_size));
	ASSERT_PRICE(p, p, page_size, 40, 0);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 40, 0);
	ASSERT_SMAPS(p, p, page_size, 40, 0);
	ASSERT_SMAPS(p + 2 * page_size, p + 2 * page_size, page_size, 40, 0);
	errno = 0;
	ASSERT_EQ(-1, ramm_get_price((unsigned long)p + page_size, &r));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_EQ(4, p[0]);
	ASSERT_EQ(4, p[2 * page_size]);

	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 2 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.priced_ranges + 2, st.priced_ranges);
}

/* mremap() moving a priced range keeps its price and its content. */
TEST_F(vma, mremap_move_keeps_price)
{
	size_t len = 2 * page_size;
	struct ramm_stats st0, st;
	struct ramm_range r;
	char *src, *dst, *q;

	if (ramm_skip(_metadata, &self->env))
		return;
	src = ramm_map_priced(&self->maps, 2, RW, 600, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, src);
	memset(src, 0x42, len);
	dst = ramm_reserve(&self->maps, 2);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(0, ramm_get_stats(&st0));

	q = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q) {
		TH_LOG("mremap: %s", strerror(errno));
	}
	ASSERT_PRICE(dst, dst, len, 600, RAMM_DISCARDABLE);
	ASSERT_SMAPS(dst, dst, len, 600, 1);
	ASSERT_EQ(0x42, dst[0]);
	ASSERT_EQ(0x42, dst[len - 1]);
	errno = 0;
	ASSERT_EQ(-1, ramm_get_price((unsigned long)src, &r));
	ASSERT_EQ(ENOMEM, errno);

	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes, st.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes, st.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges, st.priced_ranges);
}

/* mremap() growing in place, then shrinking, keeps the price. */
TEST_F(vma, mremap_resize_keeps_price)
{
	struct ramm_stats st0, st;
	char *r, *p, *q;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));

	/* guard, 2 priced pages, 2 free pages, guard */
	r = ramm_reserve(&self->maps, 4);
	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, munmap(r + 2 * page_size, 2 * page_size));
	p = mmap_priced(r, 2 * page_size, RW, PA | MAP_FIXED, 800, 0);
	ASSERT_EQ(r, p);
	memset(p, 0x24, 2 * page_size);

	q = mremap(p, 2 * page_size, 4 * page_size, 0);
	ASSERT_EQ(p, q) {
		TH_LOG("mremap grow in place: %s", strerror(errno));
	}
	ASSERT_PRICE(p + 3 * page_size, p, 4 * page_size, 800, 0);
	ASSERT_SMAPS(p, p, 4 * page_size, 800, 0);
	ASSERT_EQ(0x24, p[2 * page_size - 1]);
	ASSERT_EQ(0, p[2 * page_size]);
	p[4 * page_size - 1] = 1;
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 4 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.priced_ranges + 1, st.priced_ranges);

	q = mremap(p, 4 * page_size, page_size, 0);
	ASSERT_EQ(p, q);
	ASSERT_PRICE(p, p, page_size, 800, 0);
	ASSERT_SMAPS(p, p, page_size, 800, 0);
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + page_size, st.priced_bytes);
}

static int child_check_price(char *addr, __u64 len, __u64 price,
			     __u64 flags)
{
	struct ramm_range r;

	if (ramm_get_price((unsigned long)addr, &r))
		return 1;
	if (r.addr != (uintptr_t)addr || r.len != len)
		return 2;
	if (r.price != price || r.ramm_flags != flags)
		return 3;
	return 0;
}

/*
 * fork(): the child sees the same prices and totals; what it changes in its
 * copy does not change the parent.
 */
TEST_F(vma, fork_keeps_prices)
{
	struct ramm_stats st0;
	char *a, *b;
	int status;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	a = ramm_map_priced(&self->maps, 2, RW, 1000, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = ramm_map_priced(&self->maps, 3, RW, 2000, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, b);
	memset(a, 1, 2 * page_size);
	ASSERT_EQ(0, ramm_get_stats(&st0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ramm_stats st;
		int ret;

		ret = child_check_price(a, 2 * page_size, 1000, 0);
		if (ret)
			_exit(10 + ret);
		ret = child_check_price(b, 3 * page_size, 2000,
					RAMM_DISCARDABLE);
		if (ret)
			_exit(20 + ret);
		if (ramm_get_stats(&st))
			_exit(30);
		if (st.priced_bytes != st0.priced_bytes ||
		    st.discardable_bytes != st0.discardable_bytes ||
		    st.priced_ranges != st0.priced_ranges)
			_exit(31);
		if (a[0] != 1)
			_exit(32);
		/* Change the child's copy. */
		if (ramm_set_price((unsigned long)a, 2 * page_size, 0, 0))
			_exit(40);
		if (ramm_set_price((unsigned long)b, page_size, 3, 0))
			_exit(41);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child failed check %d (1x: a, 2x: b, 3x: stats, 4x: SET_PRICE)",
		       WEXITSTATUS(status));
	}

	ASSERT_PRICE(a, a, 2 * page_size, 1000, 0);
	ASSERT_PRICE(b, b, 3 * page_size, 2000, RAMM_DISCARDABLE);
	ASSERT_SMAPS(b, b, 3 * page_size, 2000, 1);
}

/*
 * The exec check mode: this process image replaced one that had priced
 * memory at @arg; now nothing of it may be priced.
 */
static int exec_check(const char *arg)
{
	unsigned long addr = strtoul(arg, NULL, 16);
	struct ramm_stats st;
	struct ramm_range r;
	__u64 kb;

	if (ramm_get_stats(&st)) {
		fprintf(stderr, "# exec check: GET_STATS: %s\n",
			strerror(errno));
		return 1;
	}
	if (st.priced_bytes || st.discardable_bytes || st.priced_ranges) {
		fprintf(stderr, "# exec check: %llu priced bytes in %llu ranges after exec\n",
			(unsigned long long)st.priced_bytes,
			(unsigned long long)st.priced_ranges);
		return 2;
	}
	if (!ramm_get_price(addr, &r) && (r.price || r.ramm_flags)) {
		fprintf(stderr, "# exec check: %#lx still priced %llu\n",
			addr, (unsigned long long)r.price);
		return 3;
	}
	if (status_kb("RammPriced", &kb) || kb) {
		fprintf(stderr, "# exec check: RammPriced not 0 kB\n");
		return 4;
	}
	return 0;
}

/* exec drops the prices: the new image starts with none. */
TEST_F(vma, exec_drops_prices)
{
	struct ramm_stats st;
	char arg[32];
	int status;
	char *p;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_priced(&self->maps, 2, RW, 4000, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_LE(2 * page_size, st.priced_bytes);
	snprintf(arg, sizeof(arg), "%lx", (unsigned long)p);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execl("/proc/self/exe", "vma_test", EXEC_CHECK_ARG, arg,
		      (char *)NULL);
		_exit(100);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) {
		TH_LOG("exec of /proc/self/exe failed");
	}
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("exec check failed (%d)", WEXITSTATUS(status));
	}
	/* The parent keeps its price. */
	ASSERT_PRICE(p, p, 2 * page_size, 4000, RAMM_DISCARDABLE);
}

/*
 * Every VMA of smaps agrees with GET_PRICE: RAMM lines exactly on priced
 * VMAs, with the same price and flag.
 */
TEST_F(vma, smaps_matches_get_price)
{
	static struct smaps_vma vmas[512];
	int n, i, priced = 0;
	char *a, *b, *c;

	if (ramm_skip(_metadata, &self->env))
		return;
	a = ramm_map_priced(&self->maps, 1, RW, 17, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = ramm_map_priced(&self->maps, 2, PROT_READ, 18, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, b);
	c = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, c);
	ASSERT_EQ(0, ramm_set_price((unsigned long)c + page_size, page_size,
				    19, 0));

	n = smaps_read_all(vmas, 512);
	ASSERT_LT(0, n);
	ASSERT_GT(512, n);
	for (i = 0; i < n; i++) {
		struct smaps_vma *v = &vmas[i];
		struct ramm_range r;

		ASSERT_EQ(0, v->nr_bad_lines) {
			TH_LOG("malformed Ramm* line at %#lx", v->start);
		}
		if (ramm_get_price(v->start, &r)) {
			/* Only the gate VMA ([vsyscall]) is not in the mm. */
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_EQ(0, v->nr_price_lines);
			continue;
		}
		ASSERT_EQ(v->start, r.addr);
		ASSERT_EQ(v->end - v->start, r.len);
		if (!r.price) {
			ASSERT_EQ(0, r.ramm_flags);
			ASSERT_EQ(0, v->nr_price_lines) {
				TH_LOG("unpriced VMA %#lx has RammPrice:",
				       v->start);
			}
			ASSERT_EQ(0, v->nr_discard_lines);
			continue;
		}
		priced++;
		ASSERT_EQ(1, v->nr_price_lines);
		ASSERT_EQ(1, v->nr_discard_lines);
		ASSERT_EQ(r.price, v->price);
		ASSERT_EQ(!!(r.ramm_flags & RAMM_DISCARDABLE), v->discardable);
	}
	ASSERT_EQ(3, priced);
}

/* The priced totals of /proc/self/smaps: what GET_STATS must report. */
static int smaps_priced_totals(struct ramm_stats *st)
{
	static struct smaps_vma vmas[1024];
	int n, i;

	memset(st, 0, sizeof(*st));
	n = smaps_read_all(vmas, 1024);
	if (n < 0 || n == 1024)
		return -1;
	for (i = 0; i < n; i++) {
		__u64 size = vmas[i].end - vmas[i].start;

		if (!vmas[i].nr_price_lines)
			continue;
		st->priced_ranges++;
		st->priced_bytes += size;
		if (vmas[i].discardable)
			st->discardable_bytes += size;
	}
	return 0;
}

/* 0 when GET_STATS and smaps agree; otherwise which total differs. */
static int stats_match_smaps(void)
{
	struct ramm_stats st, want;

	if (ramm_get_stats(&st) || smaps_priced_totals(&want))
		return 1;
	if (st.priced_ranges != want.priced_ranges)
		return 2;
	if (st.priced_bytes != want.priced_bytes)
		return 3;
	if (st.discardable_bytes != want.discardable_bytes)
		return 4;
	return 0;
}

#define ASSERT_STATS_MATCH_SMAPS(_step) do {				\
	int _r = stats_match_smaps();					\
									\
	ASSERT_EQ(0, _r) {						\
		TH_LOG("after %s: GET_STATS and smaps disagree (%d)",	\
		       _step, _r);					\
	}								\
} while (0)

/*
 * GET_STATS sums the kernel's list of priced VMAs, smaps walks the VMA
 * tree: after every kind of change to the address space, in the parent
 * and in a forked child, they must agree.
 */
TEST_F(vma, stats_follow_every_vma_change)
{
	char *a, *b, *c, *moved, *plain;
	int status, i;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	/* 64 unpriced VMAs besides the priced ones: the list must skip them. */
	plain = ramm_map_plain(&self->maps, 128, RW);
	ASSERT_NE(MAP_FAILED, plain);
	for (i = 0; i < 128; i += 2)
		ASSERT_EQ(0, mprotect(plain + i * page_size, page_size,
				      PROT_READ));
	a = ramm_map_priced(&self->maps, 8, RW, 100, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = ramm_map_priced(&self->maps, 4, RW, 200, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, b);
	c = ramm_map_plain(&self->maps, 6, RW);
	ASSERT_NE(MAP_FAILED, c);
	memset(a, 1, 8 * page_size);
	ASSERT_STATS_MATCH_SMAPS("mapping");

	ASSERT_EQ(0, mprotect(a + 2 * page_size, 2 * page_size, PROT_READ));
	ASSERT_STATS_MATCH_SMAPS("a split by mprotect");
	ASSERT_EQ(0, mprotect(a + 2 * page_size, 2 * page_size, RW));
	ASSERT_STATS_MATCH_SMAPS("a merged back by mprotect");

	ASSERT_EQ(0, munmap(a + 6 * page_size, page_size));
	ASSERT_STATS_MATCH_SMAPS("munmap of a page of a");

	moved = mremap(a, 2 * page_size, 2 * page_size,
		       MREMAP_MAYMOVE | MREMAP_FIXED, c + 2 * page_size);
	ASSERT_EQ(c + 2 * page_size, moved);
	ASSERT_STATS_MATCH_SMAPS("mremap of a piece of a over c");

	ASSERT_EQ(0, ramm_set_price((unsigned long)c, 6 * page_size, 300, 0));
	ASSERT_STATS_MATCH_SMAPS("pricing c, merging the moved piece");
	ASSERT_EQ(0, ramm_set_price((unsigned long)b + page_size, page_size,
				    0, 0));
	ASSERT_STATS_MATCH_SMAPS("unpricing a page of b");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int r = stats_match_smaps();

		if (r)
			_exit(10 + r);
		if (munmap(b, 4 * page_size))
			_exit(20);
		r = stats_match_smaps();
		if (r)
			_exit(20 + r);
		if (ramm_set_price((unsigned long)c, 6 * page_size, 0, 0))
			_exit(30);
		r = stats_match_smaps();
		_exit(r ? 30 + r : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child: check %d failed (1x: at fork, 2x: munmap, 3x: unpricing)",
		       WEXITSTATUS(status));
	}
	ASSERT_STATS_MATCH_SMAPS("the child's changes");

	ASSERT_EQ(0, munmap(c, 6 * page_size));
	ASSERT_STATS_MATCH_SMAPS("munmap of c");
}

int ramm_harness_main(int argc, char **argv);

#define main ramm_harness_main
TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], EXEC_CHECK_ARG))
		return exec_check(argv[2]);
	return ramm_harness_main(argc, argv);
}
