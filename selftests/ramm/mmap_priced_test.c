// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_priced(2): what it maps, the price it attaches, and every error.
 *
 * The values are checked through PR_RAMM_GET_PRICE and /proc/self/smaps,
 * not only through return codes.  Every test skips on a kernel without
 * RAMM (PR_RAMM_PROBE fails with EINVAL).
 */
#define _GNU_SOURCE
#include "ramm_helpers.h"

#define RW	(PROT_READ | PROT_WRITE)
#define PA	(MAP_PRIVATE | MAP_ANONYMOUS)

FIXTURE(mmap_priced) {
	struct ramm_env env;
	struct ramm_maps maps;
};

FIXTURE_SETUP(mmap_priced)
{
	ramm_env_probe(&self->env);
}

FIXTURE_TEARDOWN(mmap_priced)
{
	ramm_unmap_all(&self->maps);
}

/* A private anonymous RW mapping: zero filled, usable, priced. */
TEST_F(mmap_priced, basic)
{
	size_t len = 3 * page_size;
	struct smaps_vma v;
	char *p;
	size_t i;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, len, RW, PA, 1000, 0);
	ASSERT_NE(MAP_FAILED, p) {
		TH_LOG("mmap_priced: %s", strerror(errno));
	}
	ramm_track(&self->maps, p, len);
	ASSERT_EQ(0, (uintptr_t)p % page_size);

	for (i = 0; i < len && !p[i]; i++)
		;
	ASSERT_EQ(len, i);
	memset(p, 0x5a, len);
	ASSERT_EQ(0x5a, p[len - 1]);

	/* Any address inside, aligned or not, reports the whole VMA. */
	ASSERT_PRICE(p, p, len, 1000, 0);
	ASSERT_PRICE(p + page_size + 123, p, len, 1000, 0);
	ASSERT_PRICE(p + len - 1, p, len, 1000, 0);

	ASSERT_SMAPS(p, p, len, 1000, 0);
	ASSERT_EQ(0, smaps_find((unsigned long)p, &v));
	ASSERT_STREQ("rw-p", v.perms);

	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(-1, smaps_find((unsigned long)p, &v));
}

TEST_F(mmap_priced, discardable)
{
	size_t len = 2 * page_size;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, len, RW, PA, 5, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, p) {
		TH_LOG("mmap_priced: %s", strerror(errno));
	}
	ramm_track(&self->maps, p, len);
	p[0] = 1;

	ASSERT_PRICE(p + 1, p, len, 5, RAMM_DISCARDABLE);
	ASSERT_SMAPS(p, p, len, 5, 1);
}

/* len is rounded up to a whole page. */
TEST_F(mmap_priced, len_rounded_up)
{
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, page_size + 1, RW, PA, 11, 0);
	ASSERT_NE(MAP_FAILED, p);
	ramm_track(&self->maps, p, 2 * page_size);
	p[2 * page_size - 1] = 1;
	ASSERT_PRICE(p, p, 2 * page_size, 11, 0);
	ASSERT_SMAPS(p, p, 2 * page_size, 11, 0);

	p = mmap_priced(NULL, 1, RW, PA, 12, 0);
	ASSERT_NE(MAP_FAILED, p);
	ramm_track(&self->maps, p, page_size);
	ASSERT_PRICE(p, p, page_size, 12, 0);
	ASSERT_SMAPS(p, p, page_size, 12, 0);
}

/* Every allowed protection, PROT_NONE included. */
TEST_F(mmap_priced, prot_variants)
{
	static const struct {
		int prot;
		const char *perms;
	} cases[] = {
		{ PROT_NONE, "---p" },
		{ PROT_READ, "r--p" },
		{ PROT_READ | PROT_WRITE, "rw-p" },
		{ PROT_READ | PROT_EXEC, "r-xp" },
	};
	size_t len = 2 * page_size;
	unsigned int i;

	if (ramm_skip(_metadata, &self->env))
		return;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct smaps_vma v;
		char *p;

		p = mmap_priced(NULL, len, cases[i].prot, PA, 100 + i, 0);
		ASSERT_NE(MAP_FAILED, p) {
			TH_LOG("prot %#x: %s", cases[i].prot, strerror(errno));
		}
		ramm_track(&self->maps, p, len);
		ASSERT_PRICE(p, p, len, 100 + i, 0);
		ASSERT_SMAPS(p, p, len, 100 + i, 0);
		ASSERT_EQ(0, smaps_find((unsigned long)p, &v));
		ASSERT_STREQ(cases[i].perms, v.perms);
	}
}

/* The price is a full __u64. */
TEST_F(mmap_priced, max_price)
{
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, page_size, RW, PA, UINT64_MAX, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, p);
	ramm_track(&self->maps, p, page_size);
	ASSERT_PRICE(p, p, page_size, UINT64_MAX, RAMM_DISCARDABLE);
	ASSERT_SMAPS(p, p, page_size, UINT64_MAX, 1);
}

/* MAP_POPULATE faults the pages in (Rss), without it nothing is resident. */
TEST_F(mmap_priced, populate)
{
	size_t len = 4 * page_size;
	struct smaps_vma v;
	char *p, *q;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, len, RW, PA, 3, 0);
	ASSERT_NE(MAP_FAILED, p);
	ramm_track(&self->maps, p, len);
	ASSERT_EQ(0, smaps_find((unsigned long)p, &v));
	ASSERT_EQ(0, v.rss_kb);

	q = mmap_priced(NULL, len, RW, PA | MAP_POPULATE, 4, 0);
	ASSERT_NE(MAP_FAILED, q) {
		TH_LOG("MAP_POPULATE: %s", strerror(errno));
	}
	ramm_track(&self->maps, q, len);
	ASSERT_EQ(0, smaps_find((unsigned long)q, &v));
	ASSERT_EQ(len / 1024, v.rss_kb);
	ASSERT_PRICE(q, q, len, 4, 0);
	ASSERT_SMAPS(q, q, len, 4, 0);
}

static int overcommit_mode(void)
{
	int mode = -1;
	FILE *f;

	f = fopen("/proc/sys/vm/overcommit_memory", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &mode) != 1)
		mode = -1;
	fclose(f);
	return mode;
}

TEST_F(mmap_priced, noreserve)
{
	size_t len = 2 * page_size;
	struct smaps_vma v;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = mmap_priced(NULL, len, RW, PA | MAP_NORESERVE, 9, 0);
	ASSERT_NE(MAP_FAILED, p) {
		TH_LOG("MAP_NORESERVE: %s", strerror(errno));
	}
	ramm_track(&self->maps, p, len);
	p[0] = 1;
	ASSERT_PRICE(p, p, len, 9, 0);
	ASSERT_SMAPS(p, p, len, 9, 0);
	/* With overcommit_memory=2 the kernel ignores MAP_NORESERVE. */
	ASSERT_EQ(0, smaps_find((unsigned long)p, &v));
	ASSERT_TRUE(v.has_vmflag_nr || overcommit_mode() == 2);
}

/* MAP_FIXED replaces part of an ordinary mapping and splits it. */
TEST_F(mmap_priced, fixed_replaces)
{
	char *p, *q;

	if (ramm_skip(_metadata, &self->env))
		return;

	p = ramm_map_plain(&self->maps, 4, RW);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x33, 4 * page_size);

	q = mmap_priced(p + page_size, 2 * page_size, RW, PA | MAP_FIXED, 77,
			0);
	ASSERT_EQ(p + page_size, q) {
		TH_LOG("MAP_FIXED: %s", strerror(errno));
	}
	/* The new pages are fresh, the neighbours kept their content. */
	ASSERT_EQ(0, q[0]);
	ASSERT_EQ(0, q[2 * page_size - 1]);
	ASSERT_EQ(0x33, p[page_size - 1]);
	ASSERT_EQ(0x33, p[3 * page_size]);

	ASSERT_PRICE(p, p, page_size, 0, 0);
	ASSERT_PRICE(q, q, 2 * page_size, 77, 0);
	ASSERT_PRICE(p + 3 * page_size, p + 3 * page_size, page_size, 0, 0);
	ASSERT_SMAPS(p, p, page_size, 0, 0);
	ASSERT_SMAPS(q, q, 2 * page_size, 77, 0);
	ASSERT_SMAPS(p + 3 * page_size, p + 3 * page_size, page_size, 0, 0);

	/* MAP_FIXED over a priced range replaces its price too. */
	q = mmap_priced(p + page_size, page_size, RW, PA | MAP_FIXED, 78,
			RAMM_DISCARDABLE);
	ASSERT_EQ(p + page_size, q);
	ASSERT_PRICE(q, q, page_size, 78, RAMM_DISCARDABLE);
	ASSERT_PRICE(q + page_size, q + page_size, page_size, 77, 0);
}

TEST_F(mmap_priced, fixed_noreplace)
{
	struct ramm_range r;
	char *hole, *p, *q;

	if (ramm_skip(_metadata, &self->env))
		return;

	/* Free space: mapped exactly there. */
	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	p = mmap_priced(hole, page_size, RW, PA | MAP_FIXED_NOREPLACE, 21, 0);
	ASSERT_EQ(hole, p) {
		TH_LOG("MAP_FIXED_NOREPLACE: %s", strerror(errno));
	}
	p[0] = 7;
	ASSERT_PRICE(p, p, page_size, 21, 0);

	/* Over the priced page just made: EEXIST, the page is untouched. */
	q = mmap_priced(hole, page_size, RW, PA | MAP_FIXED_NOREPLACE, 22,
			RAMM_DISCARDABLE);
	ASSERT_EQ(MAP_FAILED, q);
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(7, p[0]);
	ASSERT_PRICE(p, p, page_size, 21, 0);
	ASSERT_SMAPS(p, p, page_size, 21, 0);

	/* Over an ordinary mapping: EEXIST, it stays unpriced. */
	p = ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, p);
	p[page_size] = 9;
	q = mmap_priced(p + page_size, page_size, RW,
			PA | MAP_FIXED_NOREPLACE, 23, 0);
	ASSERT_EQ(MAP_FAILED, q);
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(9, p[page_size]);
	ASSERT_EQ(0, ramm_get_price((unsigned long)p + page_size, &r));
	ASSERT_EQ((uintptr_t)p, r.addr);
	ASSERT_EQ(2 * page_size, r.len);
	ASSERT_EQ(0, r.price);
}

/* A two-page, zeroed buffer to hold the struct at various sizes. */
static char *args_buffer(struct ramm_maps *maps)
{
	return ramm_map_plain(maps, 2, RW);
}

static void fill_args(void *buf, void *addr, size_t len, __u64 price)
{
	struct ramm_mmap_args args = {
		.addr = (uintptr_t)addr,
		.len = len,
		.prot = RW,
		.flags = PA,
		.price = price,
		.ramm_flags = 0,
	};

	memcpy(buf, &args, sizeof(args));
}

/*
 * The struct is extensible: a larger size is accepted when the bytes the
 * kernel does not know are zero.
 */
TEST_F(mmap_priced, size_extensible)
{
	char *buf;
	long ret;

	if (ramm_skip(_metadata, &self->env))
		return;
	buf = args_buffer(&self->maps);
	ASSERT_NE(MAP_FAILED, buf);

	fill_args(buf, NULL, page_size, 31);
	ret = sys_mmap_priced(buf, sizeof(struct ramm_mmap_args) + 8);
	ASSERT_NE(-1, ret) {
		TH_LOG("size 56, zero tail: %s", strerror(errno));
	}
	ramm_track(&self->maps, (void *)ret, page_size);
	ASSERT_PRICE(ret, ret, page_size, 31, 0);

	fill_args(buf, NULL, page_size, 32);
	ret = sys_mmap_priced(buf, page_size);
	ASSERT_NE(-1, ret) {
		TH_LOG("size = page size, zero tail: %s", strerror(errno));
	}
	ramm_track(&self->maps, (void *)ret, page_size);
	ASSERT_PRICE(ret, ret, page_size, 32, 0);

	/* The first published size is enough. */
	fill_args(buf, NULL, page_size, 33);
	ret = sys_mmap_priced(buf, RAMM_MMAP_ARGS_SIZE_VER0);
	ASSERT_NE(-1, ret);
	ramm_track(&self->maps, (void *)ret, page_size);
	ASSERT_PRICE(ret, ret, page_size, 33, 0);
}

/* Unknown non-zero trailing bytes, or a size over a page: E2BIG. */
TEST_F(mmap_priced, size_e2big)
{
	struct ramm_stats before, after;
	char *buf;
	long ret;

	if (ramm_skip(_metadata, &self->env))
		return;
	buf = args_buffer(&self->maps);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, ramm_get_stats(&before));

	fill_args(buf, NULL, page_size, 41);
	buf[sizeof(struct ramm_mmap_args) + 3] = 1;
	ret = sys_mmap_priced(buf, sizeof(struct ramm_mmap_args) + 8);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(E2BIG, errno);
	buf[sizeof(struct ramm_mmap_args) + 3] = 0;

	buf[page_size - 1] = 1;
	ret = sys_mmap_priced(buf, page_size);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(E2BIG, errno);
	buf[page_size - 1] = 0;

	ret = sys_mmap_priced(buf, page_size + 1);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(E2BIG, errno);

	ret = sys_mmap_priced(buf, 2 * page_size);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(E2BIG, errno);

	/* Nothing was mapped. */
	ASSERT_EQ(0, ramm_get_stats(&after));
	ASSERT_EQ(before.priced_bytes, after.priced_bytes);
	ASSERT_EQ(before.priced_ranges, after.priced_ranges);
}

/* The struct cannot be read: EFAULT. */
TEST_F(mmap_priced, efault)
{
	struct ramm_stats before, after;
	char buf[sizeof(struct ramm_mmap_args)];
	char *hole, *none, *p;
	long ret;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&before));

	ret = sys_mmap_priced(NULL, sizeof(struct ramm_mmap_args));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, errno);

	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	ret = sys_mmap_priced(hole, sizeof(struct ramm_mmap_args));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, errno);

	none = ramm_map_plain(&self->maps, 1, PROT_NONE);
	ASSERT_NE(MAP_FAILED, none);
	ret = sys_mmap_priced(none, sizeof(struct ramm_mmap_args));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, errno);

	/* The struct runs from a readable page into the guard page. */
	p = ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, p);
	fill_args(buf, NULL, page_size, 1);
	memcpy(p + page_size - 16, buf, 16);
	ret = sys_mmap_priced(p + page_size - 16,
			      sizeof(struct ramm_mmap_args));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, errno);

	ASSERT_EQ(0, ramm_get_stats(&after));
	ASSERT_EQ(before.priced_bytes, after.priced_bytes);
}

/* What mmap_priced() maps shows up in GET_STATS and /proc/self/status. */
TEST_F(mmap_priced, stats_and_status)
{
	struct ramm_stats st0, st1, st2;
	__u64 kb_priced0, kb_disc0, kb;
	char *a, *b;

	if (ramm_skip(_metadata, &self->env))
		return;

	ASSERT_EQ(0, ramm_get_stats(&st0));
	ASSERT_EQ(0, status_kb("RammPriced", &kb_priced0));
	ASSERT_EQ(0, status_kb("RammDiscardable", &kb_disc0));

	a = mmap_priced(NULL, 3 * page_size, RW, PA, 10, 0);
	ASSERT_NE(MAP_FAILED, a);
	ramm_track(&self->maps, a, 3 * page_size);
	b = mmap_priced(NULL, 2 * page_size, RW, PA, 20, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, b);
	ramm_track(&self->maps, b, 2 * page_size);

	ASSERT_EQ(0, ramm_get_stats(&st1));
	ASSERT_EQ(st0.priced_bytes + 5 * page_size, st1.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes + 2 * page_size,
		  st1.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges + 2, st1.priced_ranges);

	ASSERT_EQ(0, status_kb("RammPriced", &kb));
	ASSERT_EQ(kb_priced0 + 5 * page_size / 1024, kb);
	ASSERT_EQ(0, status_kb("RammDiscardable", &kb));
	ASSERT_EQ(kb_disc0 + 2 * page_size / 1024, kb);

	ASSERT_EQ(0, munmap(a, 3 * page_size));
	ASSERT_EQ(0, munmap(b, 2 * page_size));
	ASSERT_EQ(0, ramm_get_stats(&st2));
	ASSERT_EQ(st0.priced_bytes, st2.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes, st2.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges, st2.priced_ranges);
	ASSERT_EQ(0, status_kb("RammPriced", &kb));
	ASSERT_EQ(kb_priced0, kb);
}

/*
 * Argument errors, one variant each.  Every variant starts from valid
 * arguments (one page, RW, MAP_PRIVATE | MAP_ANONYMOUS, price 1, size 48)
 * and overrides up to three fields.
 */
enum {
	F_END = 0,
	F_ADDR_OFF,	/* addr = a reserved (PROT_NONE) page + value */
	F_LEN,
	F_PROT,
	F_FLAGS,
	F_PRICE,
	F_RAMM_FLAGS,
	F_SIZE,		/* SIZE_PAGE_PLUS_1 for one more than a page */
};

#define SIZE_PAGE_PLUS_1	UINT64_MAX

FIXTURE(mmap_priced_bad) {
	struct ramm_env env;
	struct ramm_maps maps;
	char *reserved;
	char *buf;
};

FIXTURE_VARIANT(mmap_priced_bad) {
	struct {
		int field;
		__u64 value;
	} set[3];
	int expected_errno;
};

FIXTURE_SETUP(mmap_priced_bad)
{
	ramm_env_probe(&self->env);
	self->reserved = ramm_reserve(&self->maps, 1);
	ASSERT_NE(MAP_FAILED, self->reserved);
	self->buf = ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(mmap_priced_bad)
{
	ramm_unmap_all(&self->maps);
}

FIXTURE_VARIANT_ADD(mmap_priced_bad, size_0) {
	.set = {
		{ F_SIZE, 0 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, size_40) {
	.set = {
		{ F_SIZE, 40 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, size_47) {
	.set = {
		{ F_SIZE, RAMM_MMAP_ARGS_SIZE_VER0 - 1 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, size_over_page) {
	.set = {
		{ F_SIZE, SIZE_PAGE_PLUS_1 },
	},
	.expected_errno = E2BIG,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, addr_unaligned) {
	.set = {
		{ F_ADDR_OFF, 1 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, addr_unaligned_fixed) {
	.set = {
		{ F_ADDR_OFF, 1 },
		{ F_FLAGS, PA | MAP_FIXED },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, addr_unaligned_fixed_noreplace) {
	.set = {
		{ F_ADDR_OFF, 1 },
		{ F_FLAGS, PA | MAP_FIXED_NOREPLACE },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, len_0) {
	.set = {
		{ F_LEN, 0 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, price_0) {
	.set = {
		{ F_PRICE, 0 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, price_0_discardable) {
	.set = {
		{ F_PRICE, 0 },
		{ F_RAMM_FLAGS, RAMM_DISCARDABLE },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, prot_0x100) {
	.set = {
		{ F_PROT, PROT_READ | 0x100 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, prot_growsdown) {
	.set = {
		{ F_PROT, PROT_READ | PROT_GROWSDOWN },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, prot_growsup) {
	.set = {
		{ F_PROT, PROT_READ | PROT_GROWSUP },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, prot_bit32) {
	.set = {
		{ F_PROT, PROT_READ | (1ULL << 32) },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_no_anonymous) {
	.set = {
		{ F_FLAGS, MAP_PRIVATE },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_no_private) {
	.set = {
		{ F_FLAGS, MAP_ANONYMOUS },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_shared) {
	.set = {
		{ F_FLAGS, MAP_SHARED | MAP_ANONYMOUS },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_shared_validate) {
	.set = {
		{ F_FLAGS, MAP_SHARED_VALIDATE | MAP_ANONYMOUS },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_hugetlb) {
	.set = {
		{ F_FLAGS, PA | MAP_HUGETLB },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_locked) {
	.set = {
		{ F_FLAGS, PA | MAP_LOCKED },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_growsdown) {
	.set = {
		{ F_FLAGS, PA | MAP_GROWSDOWN },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_stack) {
	.set = {
		{ F_FLAGS, PA | MAP_STACK },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_sync) {
	.set = {
		{ F_FLAGS, PA | MAP_SYNC },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_bit30) {
	.set = {
		{ F_FLAGS, PA | (1ULL << 30) },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, flags_bit32) {
	.set = {
		{ F_FLAGS, PA | (1ULL << 32) },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, ramm_flags_bit1) {
	.set = {
		{ F_RAMM_FLAGS, 1ULL << 1 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, ramm_flags_bit63) {
	.set = {
		{ F_RAMM_FLAGS, 1ULL << 63 },
	},
	.expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, len_max) {
	.set = {
		{ F_LEN, UINT64_MAX },
	},
	.expected_errno = ENOMEM,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, len_max_minus_100) {
	.set = {
		{ F_LEN, UINT64_MAX - 100 },
	},
	.expected_errno = ENOMEM,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, len_2_pow_60) {
	.set = {
		{ F_LEN, 1ULL << 60 },
	},
	.expected_errno = ENOMEM,
};

FIXTURE_VARIANT_ADD(mmap_priced_bad, fixed_noreplace_exists) {
	.set = {
		{ F_ADDR_OFF, 0 },
		{ F_FLAGS, PA | MAP_FIXED_NOREPLACE },
	},
	.expected_errno = EEXIST,
};

TEST_F(mmap_priced_bad, fails)
{
	struct ramm_mmap_args args = {
		.addr = 0,
		.len = page_size,
		.prot = RW,
		.flags = PA,
		.price = 1,
		.ramm_flags = 0,
	};
	struct ramm_stats before, after;
	size_t size = sizeof(args);
	struct ramm_range r;
	unsigned int i;
	long ret;

	if (ramm_skip(_metadata, &self->env))
		return;

	for (i = 0; i < 3 && variant->set[i].field != F_END; i++) {
		__u64 v = variant->set[i].value;

		switch (variant->set[i].field) {
		case F_ADDR_OFF:
			args.addr = (uintptr_t)self->reserved + v;
			break;
		case F_LEN:
			args.len = v;
			break;
		case F_PROT:
			args.prot = v;
			break;
		case F_FLAGS:
			args.flags = v;
			break;
		case F_PRICE:
			args.price = v;
			break;
		case F_RAMM_FLAGS:
			args.ramm_flags = v;
			break;
		case F_SIZE:
			size = v == SIZE_PAGE_PLUS_1 ? page_size + 1 : v;
			break;
		}
	}
	memcpy(self->buf, &args, sizeof(args));

	ASSERT_EQ(0, ramm_get_stats(&before));
	ret = sys_mmap_priced(self->buf, size);
	if (ret != -1)
		munmap((void *)ret, page_size);
	ASSERT_EQ(-1, ret) {
		TH_LOG("mmap_priced succeeded at %#lx", ret);
	}
	ASSERT_EQ(variant->expected_errno, errno) {
		TH_LOG("got %s", strerror(errno));
	}

	/* Nothing was priced, the reserved page is untouched. */
	ASSERT_EQ(0, ramm_get_stats(&after));
	ASSERT_EQ(before.priced_bytes, after.priced_bytes);
	ASSERT_EQ(before.priced_ranges, after.priced_ranges);
	ASSERT_EQ(0, ramm_get_price((unsigned long)self->reserved, &r));
	ASSERT_EQ(0, r.price);
	ASSERT_EQ(0, r.ramm_flags);
	ASSERT_GE((uintptr_t)self->reserved, r.addr);
	ASSERT_LE((uintptr_t)self->reserved + page_size, r.addr + r.len);
}

TEST_HARNESS_MAIN
