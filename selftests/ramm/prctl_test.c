// SPDX-License-Identifier: GPL-2.0
/*
 * prctl(PR_RAMM, ...): PR_RAMM_PROBE, PR_RAMM_SET_PRICE, PR_RAMM_GET_PRICE,
 * PR_RAMM_GET_STATS, the /proc/self/status totals, and every error.  The
 * participant sub-commands (5 to 8) are tested in participant_test.c.
 *
 * Every test skips on a kernel without RAMM (PR_RAMM_PROBE fails with
 * EINVAL), except no_ramm_mmap_priced_enosys, which checks that a 6.1
 * kernel built without CONFIG_RAMM fails mmap_priced() with ENOSYS.
 */
#define _GNU_SOURCE
#include "ramm_helpers.h"

#define RW	(PROT_READ | PROT_WRITE)
#define PA	(MAP_PRIVATE | MAP_ANONYMOUS)

/* The sub-commands API version 1 advertises in ramm_probe.commands. */
#define RAMM_V1_COMMANDS	((1ULL << PR_RAMM_PROBE) |		\
				 (1ULL << PR_RAMM_SET_PRICE) |		\
				 (1ULL << PR_RAMM_GET_PRICE) |		\
				 (1ULL << PR_RAMM_GET_STATS) |		\
				 (1ULL << PR_RAMM_REGISTER) |		\
				 (1ULL << PR_RAMM_UNREGISTER) |		\
				 (1ULL << PR_RAMM_GET_FD) |		\
				 (1ULL << PR_RAMM_GET_REQUESTS))

FIXTURE(prctl) {
	struct ramm_env env;
	struct ramm_maps maps;
};

FIXTURE_SETUP(prctl)
{
	ramm_env_probe(&self->env);
}

FIXTURE_TEARDOWN(prctl)
{
	ramm_unmap_all(&self->maps);
}

/* Expect prctl(PR_RAMM, ...) to fail with @_errno. */
#define EXPECT_PRCTL_ERR(_errno, _sub, _a3, _a4, _a5) do {		\
	errno = 0;							\
	EXPECT_EQ(-1, ramm_prctl(_sub, (unsigned long)(_a3),		\
				 (unsigned long)(_a4),			\
				 (unsigned long)(_a5)));		\
	EXPECT_EQ(_errno, errno) {					\
		TH_LOG("prctl(PR_RAMM, %s, %s, %s, %s): %s",		\
		       #_sub, #_a3, #_a4, #_a5, strerror(errno));	\
	}								\
} while (0)

TEST_F(prctl, probe_returns_version)
{
	if (ramm_skip(_metadata, &self->env))
		return;

	ASSERT_EQ(RAMM_API_VERSION, ramm_prctl(PR_RAMM_PROBE, 0, 0, 0));
	ASSERT_EQ(RAMM_API_VERSION, self->env.version);
}

TEST_F(prctl, probe_fills_struct)
{
	struct ramm_probe pr;

	if (ramm_skip(_metadata, &self->env))
		return;

	memset(&pr, 0xff, sizeof(pr));
	ASSERT_EQ(RAMM_API_VERSION,
		  ramm_prctl(PR_RAMM_PROBE, (unsigned long)&pr, sizeof(pr), 0));
	ASSERT_EQ(RAMM_API_VERSION, pr.version);
	ASSERT_EQ(RAMM_DISCARDABLE, pr.ramm_flags);
	ASSERT_EQ(RAMM_V1_COMMANDS, pr.commands & RAMM_V1_COMMANDS) {
		TH_LOG("commands %#llx", (unsigned long long)pr.commands);
	}
	/* Sub-command 0 does not exist. */
	ASSERT_EQ(0, pr.commands & 1);

	/* The first published size is enough. */
	memset(&pr, 0, sizeof(pr));
	ASSERT_EQ(RAMM_API_VERSION,
		  ramm_prctl(PR_RAMM_PROBE, (unsigned long)&pr,
			     RAMM_PROBE_SIZE_VER0, 0));
	ASSERT_EQ(RAMM_API_VERSION, pr.version);
}

/* A larger buffer than the kernel's struct: the rest is zeroed. */
TEST_F(prctl, probe_zeroes_tail)
{
	struct ramm_probe *pr;
	unsigned char *buf;
	size_t i;

	if (ramm_skip(_metadata, &self->env))
		return;

	buf = (unsigned char *)ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, buf);
	pr = (struct ramm_probe *)buf;

	memset(buf, 0xff, page_size);
	ASSERT_EQ(RAMM_API_VERSION,
		  ramm_prctl(PR_RAMM_PROBE, (unsigned long)buf, 32, 0));
	ASSERT_EQ(RAMM_API_VERSION, pr->version);
	ASSERT_EQ(RAMM_DISCARDABLE, pr->ramm_flags);
	for (i = sizeof(*pr); i < 32; i++) {
		ASSERT_EQ(0, buf[i]) {
			TH_LOG("byte %zu not zeroed", i);
		}
	}
	/* Bytes past the size given are not touched. */
	ASSERT_EQ(0xff, buf[32]);

	memset(buf, 0xff, page_size);
	ASSERT_EQ(RAMM_API_VERSION,
		  ramm_prctl(PR_RAMM_PROBE, (unsigned long)buf, page_size, 0));
	ASSERT_EQ(RAMM_API_VERSION, pr->version);
	for (i = sizeof(*pr); i < page_size; i++) {
		ASSERT_EQ(0, buf[i]) {
			TH_LOG("byte %zu not zeroed", i);
		}
	}
}

TEST_F(prctl, probe_errors)
{
	struct ramm_probe pr;
	char *big, *hole;

	if (ramm_skip(_metadata, &self->env))
		return;

	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, 0, 0, 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, &pr, sizeof(pr), 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, 0, sizeof(pr), 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, &pr, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, &pr, 16, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_PROBE, &pr,
			 RAMM_PROBE_SIZE_VER0 - 1, 0);

	big = ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, big);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_PROBE, big, page_size + 1, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_PROBE, big, 2 * page_size, 0);

	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_PROBE, hole, sizeof(pr), 0);
}

/*
 * Unknown sub-commands, and every one the probe does not advertise.  5 to 8
 * exist (participants) and are not called here: 5 with zeros registers.
 */
TEST_F(prctl, unknown_subcommands)
{
	static const unsigned long subs[] = { 0, 9, 10, 63, 64, 1000,
					      0x52414d4d, ~0UL };
	struct ramm_probe pr;
	unsigned int i;

	if (ramm_skip(_metadata, &self->env))
		return;

	for (i = 0; i < ARRAY_SIZE(subs); i++)
		EXPECT_PRCTL_ERR(EINVAL, subs[i], 0, 0, 0);

	ASSERT_EQ(RAMM_API_VERSION,
		  ramm_prctl(PR_RAMM_PROBE, (unsigned long)&pr, sizeof(pr), 0));
	for (i = 0; i < 64; i++) {
		if (pr.commands & (1ULL << i))
			continue;
		errno = 0;
		EXPECT_EQ(-1, ramm_prctl(i, 0, 0, 0));
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("sub-command %u not advertised but gave %s", i,
			       strerror(errno));
		}
	}
}

/* Set the price of a whole ordinary mapping; its content is kept. */
TEST_F(prctl, set_price_whole)
{
	size_t len = 4 * page_size;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 4, RW);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x77, len);
	ASSERT_PRICE(p, p, len, 0, 0);
	ASSERT_SMAPS(p, p, len, 0, 0);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 42, 0)) {
		TH_LOG("SET_PRICE: %s", strerror(errno));
	}
	ASSERT_PRICE(p + 5, p, len, 42, 0);
	ASSERT_SMAPS(p, p, len, 42, 0);
	ASSERT_EQ(0x77, p[0]);
	ASSERT_EQ(0x77, p[len - 1]);
}

/* Pricing the middle splits the mapping in three. */
TEST_F(prctl, set_price_splits)
{
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;

	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    50, RAMM_DISCARDABLE));
	ASSERT_PRICE(p, p, page_size, 0, 0);
	ASSERT_PRICE(p + page_size, p + page_size, page_size, 50,
		     RAMM_DISCARDABLE);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);
	ASSERT_EQ(3, smaps_count((unsigned long)p,
				 (unsigned long)p + 3 * page_size));
	ASSERT_SMAPS(p, p, page_size, 0, 0);
	ASSERT_SMAPS(p + page_size, p + page_size, page_size, 50, 1);
	ASSERT_SMAPS(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);
}

/* price 0, ramm_flags 0 makes the range ordinary again, and it merges. */
TEST_F(prctl, set_price_unprice)
{
	size_t len = 3 * page_size;
	struct ramm_stats st0, st1;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;

	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    60, 0));
	ASSERT_PRICE(p + page_size, p + page_size, page_size, 60, 0);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size, page_size,
				    0, 0)) {
		TH_LOG("unprice: %s", strerror(errno));
	}
	ASSERT_PRICE(p + page_size, p, len, 0, 0);
	ASSERT_EQ(1, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_SMAPS(p, p, len, 0, 0);
	ASSERT_EQ(0, ramm_get_stats(&st1));
	ASSERT_EQ(st0.priced_bytes, st1.priced_bytes);
	ASSERT_EQ(st0.priced_ranges, st1.priced_ranges);

	/* Unpricing memory that has no price is fine. */
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 0, 0));
	ASSERT_PRICE(p, p, len, 0, 0);
}

/* Change the price and the flags of a priced range. */
TEST_F(prctl, set_price_change)
{
	size_t len = 2 * page_size;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_priced(&self->maps, 2, RW, 42, 0);
	ASSERT_NE(MAP_FAILED, p);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 43, 0));
	ASSERT_PRICE(p, p, len, 43, 0);
	ASSERT_SMAPS(p, p, len, 43, 0);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 43,
				    RAMM_DISCARDABLE));
	ASSERT_PRICE(p, p, len, 43, RAMM_DISCARDABLE);
	ASSERT_SMAPS(p, p, len, 43, 1);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 1, 0));
	ASSERT_PRICE(p, p, len, 1, 0);
	ASSERT_SMAPS(p, p, len, 1, 0);
}

/* len is rounded up to a whole page. */
TEST_F(prctl, set_price_len_rounded_up)
{
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 4, RW);
	ASSERT_NE(MAP_FAILED, p);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, 1, 70, 0));
	ASSERT_PRICE(p, p, page_size, 70, 0);
	ASSERT_PRICE(p + page_size, p + page_size, 3 * page_size, 0, 0);

	ASSERT_EQ(0, ramm_set_price((unsigned long)p + page_size,
				    page_size + 1, 71, 0));
	ASSERT_PRICE(p + page_size, p + page_size, 2 * page_size, 71, 0);
	ASSERT_PRICE(p + 3 * page_size, p + 3 * page_size, page_size, 0, 0);
}

/* One range over VMAs of different prices: one price, one VMA. */
TEST_F(prctl, set_price_spanning_merges)
{
	size_t len = 3 * page_size;
	struct ramm_stats st0, st1;
	char *p, *q;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap_priced(p + page_size, page_size, RW, PA | MAP_FIXED, 5,
			RAMM_DISCARDABLE);
	ASSERT_EQ(p + page_size, q);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 6, 0));
	ASSERT_EQ(3, smaps_count((unsigned long)p, (unsigned long)p + len));

	ASSERT_EQ(0, ramm_set_price((unsigned long)p, len, 8, 0));
	ASSERT_PRICE(p, p, len, 8, 0);
	ASSERT_EQ(1, smaps_count((unsigned long)p, (unsigned long)p + len));
	ASSERT_SMAPS(p + 2 * page_size, p, len, 8, 0);
	ASSERT_EQ(0, ramm_get_stats(&st1));
	ASSERT_EQ(st0.priced_bytes + len, st1.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes, st1.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges + 1, st1.priced_ranges);
}

/* Bad range arguments: EINVAL, nothing changes. */
TEST_F(prctl, set_price_bad_range)
{
	size_t len = 3 * page_size;
	const struct {
		const char *what;
		unsigned long off;	/* from the start of the mapping */
		__u64 len;
		__u64 price;
		__u64 ramm_flags;
	} cases[] = {
		{ "unaligned addr", 1, len, 9, 0 },
		{ "unaligned addr, last byte", page_size - 1, len, 9, 0 },
		{ "len 0", 0, 0, 9, 0 },
		{ "ramm_flags bit 1", 0, len, 9, 1ULL << 1 },
		{ "ramm_flags bit 63", 0, len, 9, 1ULL << 63 },
		{ "ramm_flags all", 0, len, 9, UINT64_MAX },
		{ "price 0 discardable", 0, len, 0, RAMM_DISCARDABLE },
		{ "addr + len wraps", 0, UINT64_MAX, 9, 0 },
		{ "addr + len wraps, aligned", 0, -(__u64)page_size, 9, 0 },
	};
	unsigned int i;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 5, 0));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		errno = 0;
		EXPECT_EQ(-1, ramm_set_price((unsigned long)p + cases[i].off,
					     cases[i].len, cases[i].price,
					     cases[i].ramm_flags)) {
			TH_LOG("%s: succeeded", cases[i].what);
		}
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("%s: %s", cases[i].what, strerror(errno));
		}
		ASSERT_PRICE(p, p, page_size, 5, 0);
		ASSERT_PRICE(p + page_size, p + page_size, 2 * page_size, 0,
			     0);
	}
}

/*
 * A range that is not entirely mapped: ENOMEM, and nothing changes, not
 * even on the mapped part.
 */
TEST_F(prctl, set_price_hole_enomem)
{
	char *p, *hole;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	p[2 * page_size] = 1;
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 5, 0));
	ASSERT_EQ(0, munmap(p + page_size, page_size));

	/* Mapped, hole, mapped. */
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)p, 3 * page_size, 9, 0));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_PRICE(p, p, page_size, 5, 0);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);
	ASSERT_SMAPS(p, p, page_size, 5, 0);
	ASSERT_SMAPS(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);

	/* Starting in the hole. */
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)p + page_size,
				     2 * page_size, 9, 0));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);

	/* Running past the end of the mapping (into the PROT_NONE guard,
	 * then off the reservation).
	 */
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)p + 2 * page_size,
				     1ULL << 40, 9, 0));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_PRICE(p + 2 * page_size, p + 2 * page_size, page_size, 0, 0);

	/* Nothing mapped at all. */
	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)hole, page_size, 9, 0));
	ASSERT_EQ(ENOMEM, errno);
}

/*
 * Mapped private anon memory around an unpriceable page at @p + page_size:
 * pricing the three pages fails with EINVAL and leaves page 0 at its old
 * price 5 and page 2 unpriced.
 */
#define ASSERT_SET_PRICE_EINVAL_UNCHANGED(_p) do {			\
	char *__p = (_p);						\
									\
	errno = 0;							\
	ASSERT_EQ(-1, ramm_set_price((unsigned long)__p,		\
				     3 * page_size, 9, 0));		\
	ASSERT_EQ(EINVAL, errno) {					\
		TH_LOG("got %s", strerror(errno));			\
	}								\
	ASSERT_PRICE(__p, __p, page_size, 5, 0);			\
	ASSERT_PRICE(__p + 2 * page_size, __p + 2 * page_size,		\
		     page_size, 0, 0);					\
	ASSERT_SMAPS(__p + page_size, __p + page_size, page_size, 0, 0); \
} while (0)

/* Shared anonymous memory (shmem) cannot be priced. */
TEST_F(prctl, set_price_shared_einval)
{
	char *p, *s;

	if (ramm_skip(_metadata, &self->env))
		return;

	s = mmap(NULL, 2 * page_size, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	ramm_track(&self->maps, s, 2 * page_size);
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)s, 2 * page_size, 9, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_PRICE(s, s, 2 * page_size, 0, 0);

	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 5, 0));
	s = mmap(p + page_size, page_size, RW,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p + page_size, s);
	ASSERT_SET_PRICE_EINVAL_UNCHANGED(p);
}

/* A private mapping of a memfd (shmem file) is file backed. */
TEST_F(prctl, set_price_memfd_einval)
{
	char *p, *f;
	int fd;

	if (ramm_skip(_metadata, &self->env))
		return;
	fd = ramm_backing_fd(2 * page_size);
	ASSERT_LE(0, fd) {
		TH_LOG("no memfd or /tmp file: %s", strerror(errno));
	}

	f = mmap(NULL, 2 * page_size, RW, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, f);
	ramm_track(&self->maps, f, 2 * page_size);
	f[0] = 1;	/* a private COW copy: still file backed */
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)f, 2 * page_size, 9, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_PRICE(f, f, 2 * page_size, 0, 0);
	ASSERT_SMAPS(f, f, 2 * page_size, 0, 0);

	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 5, 0));
	f = mmap(p + page_size, page_size, RW, MAP_PRIVATE | MAP_FIXED, fd, 0);
	ASSERT_EQ(p + page_size, f);
	close(fd);
	ASSERT_SET_PRICE_EINVAL_UNCHANGED(p);
}

/* The program's own file: its text, and a new private mapping of it. */
TEST_F(prctl, set_price_exe_einval)
{
	unsigned long text;
	char *f;
	int fd;

	if (ramm_skip(_metadata, &self->env))
		return;

	text = (unsigned long)&ramm_backing_fd & ~(page_size - 1);
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price(text, page_size, 9, 0));
	ASSERT_EQ(EINVAL, errno);

	fd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, fd);
	f = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, f);
	ramm_track(&self->maps, f, page_size);
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)f, page_size, 9, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_PRICE(f, f, page_size, 0, 0);
}

/* mlock()ed memory cannot be priced; after munlock() it can. */
TEST_F(prctl, set_price_mlocked_einval)
{
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 3, RW);
	ASSERT_NE(MAP_FAILED, p);
	/*
	 * Fault all three pages in first: on 6.1 a VMA with an anon_vma
	 * does not merge into a neighbour without one.
	 */
	memset(p, 1, 3 * page_size);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, page_size, 5, 0));
	if (mlock(p + page_size, page_size))
		SKIP(return, "mlock: %s", strerror(errno));

	ASSERT_SET_PRICE_EINVAL_UNCHANGED(p);
	errno = 0;
	ASSERT_EQ(-1, ramm_set_price((unsigned long)p + page_size, page_size,
				     9, 0));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, munlock(p + page_size, page_size));
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, 3 * page_size, 9, 0));
	ASSERT_PRICE(p + page_size, p, 3 * page_size, 9, 0);
}

/* arg4 (the struct size), arg5, and the pointer. */
TEST_F(prctl, set_price_struct_errors)
{
	struct ramm_range *r;
	char *buf, *p, *hole;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, p);
	buf = ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, buf);
	r = (struct ramm_range *)buf;
	r->addr = (uintptr_t)p;
	r->len = page_size;
	r->price = 9;

	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_SET_PRICE, r, sizeof(*r), 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_SET_PRICE, r, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_SET_PRICE, r, 24, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_SET_PRICE, r,
			 RAMM_RANGE_SIZE_VER0 - 1, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_SET_PRICE, r, page_size + 1, 0);
	buf[sizeof(*r) + 2] = 1;
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_SET_PRICE, r, sizeof(*r) + 8, 0);
	buf[sizeof(*r) + 2] = 0;
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_SET_PRICE, 0, sizeof(*r), 0);
	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_SET_PRICE, hole, sizeof(*r), 0);
	ASSERT_PRICE(p, p, page_size, 0, 0);

	/* A larger struct with a zero tail works. */
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_SET_PRICE, (unsigned long)r,
				sizeof(*r) + 8, 0)) {
		TH_LOG("size 40, zero tail: %s", strerror(errno));
	}
	ASSERT_PRICE(p, p, page_size, 9, 0);
}

/* GET_PRICE takes any address and reports the whole VMA. */
TEST_F(prctl, get_price_any_address)
{
	size_t len = 3 * page_size;
	struct ramm_range r;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_priced(&self->maps, 3, RW, 1234, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, p);

	ASSERT_PRICE(p, p, len, 1234, RAMM_DISCARDABLE);
	ASSERT_PRICE(p + 1, p, len, 1234, RAMM_DISCARDABLE);
	ASSERT_PRICE(p + page_size + 17, p, len, 1234, RAMM_DISCARDABLE);
	ASSERT_PRICE(p + len - 1, p, len, 1234, RAMM_DISCARDABLE);
	/* The guard page before it is ordinary memory, a VMA of its own. */
	ASSERT_EQ(0, ramm_get_price((unsigned long)p - 1, &r));
	ASSERT_EQ((uintptr_t)p, r.addr + r.len);
	ASSERT_EQ(0, r.price);
	ASSERT_EQ(0, r.ramm_flags);
}

TEST_F(prctl, get_price_unpriced)
{
	unsigned long text;
	struct smaps_vma v;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	p = ramm_map_plain(&self->maps, 2, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_PRICE(p + 100, p, 2 * page_size, 0, 0);
	ASSERT_SMAPS(p, p, 2 * page_size, 0, 0);

	/* File-backed memory (the program text) reads as unpriced too. */
	text = (unsigned long)&ramm_backing_fd;
	ASSERT_EQ(0, smaps_find(text, &v));
	ASSERT_PRICE(text, v.start, v.end - v.start, 0, 0);
	ASSERT_SMAPS(text, v.start, v.end - v.start, 0, 0);
}

TEST_F(prctl, get_price_errors)
{
	struct ramm_range r, *big;
	char *p, *hole;

	if (ramm_skip(_metadata, &self->env))
		return;

	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	errno = 0;
	ASSERT_EQ(-1, ramm_get_price((unsigned long)hole, &r));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(-1, ramm_get_price((unsigned long)hole + 5, &r));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(-1, ramm_get_price(~0UL, &r));
	ASSERT_EQ(ENOMEM, errno);

	p = ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, p);
	big = (struct ramm_range *)ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, big);
	big->addr = (uintptr_t)p;
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_PRICE, big, sizeof(*big), 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_PRICE, big, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_PRICE, big,
			 RAMM_RANGE_SIZE_VER0 - 8, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_GET_PRICE, big, page_size + 1, 0);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_GET_PRICE, 0, sizeof(*big), 0);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_GET_PRICE, hole, sizeof(*big), 0);

	/* The valid call on the same buffer works. */
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_GET_PRICE, (unsigned long)big,
				sizeof(*big), 0));
	ASSERT_EQ((uintptr_t)p, big->addr);
	ASSERT_EQ(page_size, big->len);
	ASSERT_EQ(0, big->price);
}

/* GET_STATS counts priced VMAs, their bytes and the discardable part. */
TEST_F(prctl, get_stats)
{
	struct ramm_stats st0, st;
	char *a, *b;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));

	a = ramm_map_plain(&self->maps, 4, RW);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes, st.priced_bytes);
	ASSERT_EQ(st0.priced_ranges, st.priced_ranges);

	ASSERT_EQ(0, ramm_set_price((unsigned long)a, 4 * page_size, 3, 0));
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 4 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes, st.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges + 1, st.priced_ranges);

	/* Splitting: same bytes, three priced VMAs. */
	ASSERT_EQ(0, ramm_set_price((unsigned long)a + page_size, page_size,
				    4, RAMM_DISCARDABLE));
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 4 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes + page_size, st.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges + 3, st.priced_ranges);

	b = ramm_map_priced(&self->maps, 2, RW, 8, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 6 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes + 3 * page_size,
		  st.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges + 4, st.priced_ranges);

	/* Unpricing a part: it leaves the totals. */
	ASSERT_EQ(0, ramm_set_price((unsigned long)a, page_size, 0, 0));
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes + 5 * page_size, st.priced_bytes);
	ASSERT_EQ(st0.priced_ranges + 3, st.priced_ranges);

	ASSERT_EQ(0, munmap(a, 4 * page_size));
	ASSERT_EQ(0, munmap(b, 2 * page_size));
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(st0.priced_bytes, st.priced_bytes);
	ASSERT_EQ(st0.discardable_bytes, st.discardable_bytes);
	ASSERT_EQ(st0.priced_ranges, st.priced_ranges);
}

/*
 * The first published struct (24 bytes) still works and only those bytes
 * are written; the full one (88) reports a process that never registered.
 */
TEST_F(prctl, get_stats_sizes)
{
	struct ramm_stats *st;
	unsigned char *buf;
	size_t i;
	char *a;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(RAMM_STATS_SIZE_VER1, sizeof(struct ramm_stats));
	a = ramm_map_priced(&self->maps, 3, RW, 7, RAMM_DISCARDABLE);
	ASSERT_NE(MAP_FAILED, a);
	buf = (unsigned char *)ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, buf);
	st = (struct ramm_stats *)buf;

	memset(buf, 0xff, page_size);
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_GET_STATS, (unsigned long)buf,
				RAMM_STATS_SIZE_VER0, 0)) {
		TH_LOG("GET_STATS size %d: %s", RAMM_STATS_SIZE_VER0,
		       strerror(errno));
	}
	ASSERT_LE(3 * page_size, st->priced_bytes);
	ASSERT_LE(3 * page_size, st->discardable_bytes);
	ASSERT_LE(1, st->priced_ranges);
	for (i = RAMM_STATS_SIZE_VER0; i < page_size; i++) {
		ASSERT_EQ(0xff, buf[i]) {
			TH_LOG("byte %zu written with a %d-byte struct", i,
			       RAMM_STATS_SIZE_VER0);
		}
	}

	memset(buf, 0xff, page_size);
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_GET_STATS, (unsigned long)buf,
				RAMM_STATS_SIZE_VER1, 0));
	ASSERT_LE(3 * page_size, st->priced_bytes);
	/* This test's process never registered and was never asked. */
	ASSERT_EQ(0, st->registered);
	ASSERT_EQ(1000, st->credit);
	ASSERT_EQ(0, st->asked);
	ASSERT_EQ(0, st->answered);
	ASSERT_EQ(0, st->late);
	ASSERT_EQ(0, st->ignored);
	ASSERT_EQ(0, st->purged_bytes);
	ASSERT_EQ(0, st->queue_overflows);
	ASSERT_EQ(0xff, buf[RAMM_STATS_SIZE_VER1]);

	/* A larger buffer: the tail is zeroed. */
	memset(buf, 0xff, page_size);
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_GET_STATS, (unsigned long)buf,
				page_size, 0));
	for (i = RAMM_STATS_SIZE_VER1; i < page_size; i++) {
		ASSERT_EQ(0, buf[i]) {
			TH_LOG("byte %zu not zeroed", i);
		}
	}
}

TEST_F(prctl, get_stats_errors)
{
	struct ramm_stats *big;
	char *hole;

	if (ramm_skip(_metadata, &self->env))
		return;
	big = (struct ramm_stats *)ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, big);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_STATS, big, sizeof(*big), 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_STATS, big, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_STATS, big,
			 RAMM_STATS_SIZE_VER0 - 8, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_GET_STATS, big, page_size + 1, 0);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_GET_STATS, 0, sizeof(*big), 0);
	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_GET_STATS, hole, sizeof(*big), 0);
}

/* /proc/self/status: both lines, in kB, following GET_STATS. */
TEST_F(prctl, status_lines)
{
	struct ramm_stats st0, st;
	__u64 priced0, disc0, kb;
	char *p;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_get_stats(&st0));
	ASSERT_EQ(0, status_kb("RammPriced", &priced0)) {
		TH_LOG("no well-formed RammPriced: line in /proc/self/status");
	}
	ASSERT_EQ(0, status_kb("RammDiscardable", &disc0)) {
		TH_LOG("no well-formed RammDiscardable: line");
	}
	ASSERT_EQ(st0.priced_bytes / 1024, priced0);
	ASSERT_EQ(st0.discardable_bytes / 1024, disc0);

	p = ramm_map_plain(&self->maps, 8, RW);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, 8 * page_size, 2, 0));
	ASSERT_EQ(0, ramm_set_price((unsigned long)p, 3 * page_size, 2,
				    RAMM_DISCARDABLE));
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(0, status_kb("RammPriced", &kb));
	ASSERT_EQ(priced0 + 8 * page_size / 1024, kb);
	ASSERT_EQ(st.priced_bytes / 1024, kb);
	ASSERT_EQ(0, status_kb("RammDiscardable", &kb));
	ASSERT_EQ(disc0 + 3 * page_size / 1024, kb);
	ASSERT_EQ(st.discardable_bytes / 1024, kb);
}

/*
 * The probe and the system call tell the same story: with RAMM, 451 is
 * mmap_priced() and a too-short struct is EINVAL; without it (a 6.1 kernel
 * with CONFIG_RAMM=n) the probe fails with EINVAL and 451 is ENOSYS.  This
 * is the test make check runs on the CONFIG_RAMM=n kernel.
 */
TEST(probe_and_syscall_agree)
{
	struct ramm_mmap_args args = {
		.prot = RW,
		.flags = PA,
		.price = 1,
	};
	struct utsname u;
	long version, ret;

	ramm_init_page_size();
	ASSERT_EQ(0, uname(&u));
	/* From 6.5 on, 451 is cachestat: only a 6.1 kernel can be checked. */
	if (strncmp(u.release, "6.1.", 4) && strcmp(u.release, "6.1"))
		SKIP(return, "kernel %s: syscall 451 is not mmap_priced",
		     u.release);

	errno = 0;
	version = ramm_prctl(PR_RAMM_PROBE, 0, 0, 0);
	if (version < 0) {
		ASSERT_EQ(EINVAL, errno);
		args.len = page_size;
		ret = sys_mmap_priced(&args, sizeof(args));
		if (ret != -1)
			munmap((void *)ret, page_size);
		ASSERT_EQ(-1, ret);
		ASSERT_EQ(ENOSYS, errno);
		TH_LOG("no RAMM: probe EINVAL, mmap_priced ENOSYS");
	} else {
		ASSERT_EQ(RAMM_API_VERSION, version);
		errno = 0;
		ASSERT_EQ(-1, sys_mmap_priced(&args, 0));
		ASSERT_EQ(EINVAL, errno);
	}
}

TEST_HARNESS_MAIN
