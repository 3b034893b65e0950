// SPDX-License-Identifier: GPL-2.0
/*
 * A syscall fuzzer for RAMM's two entry points: mmap_priced() and every
 * prctl(PR_RAMM, ...) sub-command, with random and boundary arguments
 * (sizes around each struct's published size, bad pointers, unaligned and
 * wrapping ranges, invalid signals and flags), interleaved with mmap,
 * munmap, mremap, mprotect, madvise, mlock, fork and exit, while a hog
 * keeps memory short so that krammmd asks and purges the fuzzer's own
 * priced memory.
 *
 * Every call's errno must be one its contract documents (else the test
 * fails), and every documented errno of every call must have been produced
 * at least once: calls alone prove little.  RAMM_FUZZ_CALLS sets the number
 * of calls (default 50000; make fuzz runs 1,000,000).  At the end, with
 * CONFIG_DEBUG_KMEMLEAK, a kmemleak scan must find nothing allocated by
 * RAMM.  KASAN, lockdep and DEBUG_VM reports are caught by the console
 * scanner on the host.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <setjmp.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "market_helpers.h"

#define PA	(MAP_PRIVATE | MAP_ANONYMOUS)

#define DEFAULT_CALLS	50000
#define NR_MAPS		16
#define MAX_ERRNO	256

/* The calls the fuzzer makes, each with its own errno contract. */
enum fz_call {
	FZ_MMAP_PRICED,
	FZ_PROBE,
	FZ_SET_PRICE,
	FZ_GET_PRICE,
	FZ_GET_STATS,
	FZ_REGISTER,
	FZ_UNREGISTER,
	FZ_GET_FD,
	FZ_GET_REQUESTS,
	FZ_FD_READ,
	FZ_UNKNOWN_SUB,
	FZ_NR_CALLS
};

static const char *const fz_name[FZ_NR_CALLS] = {
	"mmap_priced", "PR_RAMM_PROBE", "PR_RAMM_SET_PRICE",
	"PR_RAMM_GET_PRICE", "PR_RAMM_GET_STATS", "PR_RAMM_REGISTER",
	"PR_RAMM_UNREGISTER", "PR_RAMM_GET_FD", "PR_RAMM_GET_REQUESTS",
	"read(request fd)", "unknown sub-command",
};

/*
 * What each call may fail with (uapi/linux/ramm.h and the kernel-doc of
 * each sub-command), and what the fuzzer must see at least once.  Not
 * required: EINTR (a fatal signal, which ends the caller) and EACCES (a
 * security module; the guest has none).  ENOMEM is allowed everywhere a
 * struct is copied, since memory is short on purpose.
 */
static const int fz_required[FZ_NR_CALLS][8] = {
	[FZ_MMAP_PRICED]  = { EINVAL, ENOMEM, EEXIST, EPERM, E2BIG, EFAULT },
	[FZ_PROBE]	  = { EINVAL, E2BIG, EFAULT },
	[FZ_SET_PRICE]	  = { EINVAL, ENOMEM, E2BIG, EFAULT },
	[FZ_GET_PRICE]	  = { EINVAL, ENOMEM, E2BIG, EFAULT },
	[FZ_GET_STATS]	  = { EINVAL, E2BIG, EFAULT },
	[FZ_REGISTER]	  = { EINVAL, EBUSY, E2BIG, EFAULT },
	[FZ_UNREGISTER]	  = { EINVAL, ENOENT },
	[FZ_GET_FD]	  = { EINVAL, ENOENT },
	[FZ_GET_REQUESTS] = { EINVAL, ENOENT, EFAULT },
	[FZ_FD_READ]	  = { EINVAL, EAGAIN, EFAULT },
	[FZ_UNKNOWN_SUB]  = { EINVAL },
};

static const int fz_also_allowed[FZ_NR_CALLS][4] = {
	[FZ_MMAP_PRICED]  = { EACCES, EINTR },
	[FZ_PROBE]	  = { 0 },
	[FZ_SET_PRICE]	  = { EINTR },
	[FZ_GET_PRICE]	  = { EINTR },
	[FZ_GET_STATS]	  = { ENOMEM, EINTR },
	[FZ_REGISTER]	  = { ENOMEM },
	[FZ_UNREGISTER]	  = { 0 },
	[FZ_GET_FD]	  = { EMFILE, ENFILE, ENOMEM },
	[FZ_GET_REQUESTS] = { 0 },
	[FZ_FD_READ]	  = { EINTR },
	[FZ_UNKNOWN_SUB]  = { 0 },
};

struct fz_map {
	char *addr;
	size_t len;
};

struct fz_state {
	__u64 rng;
	__u64 calls;
	__u64 seen[FZ_NR_CALLS][MAX_ERRNO / 64];
	__u64 ok[FZ_NR_CALLS];
	struct fz_map m[NR_MAPS];
	int fd;			/* the request fd, or -1 */
	char *ro_page;		/* PROT_READ: copying out to it faults */
	char *guard;		/* PROT_NONE: any access faults */
	char *buf;		/* a page to copy from and to */
	__u64 max_addr;		/* end of the user address space, about */
	char bad[200];		/* the first undocumented errno */
};

static __u64 rnd(struct fz_state *s)
{
	/* xorshift64*: deterministic for a seed, so a failure can be rerun */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 rnd_below(struct fz_state *s, __u64 n)
{
	return n ? rnd(s) % n : 0;
}

static bool one_in(struct fz_state *s, unsigned int n)
{
	return rnd_below(s, n) == 0;
}

/* A struct size: around @ver0, zero, huge, or a page and beyond. */
static __u64 fz_size(struct fz_state *s, __u64 ver0)
{
	static const __s64 delta[] = { 0, 0, 0, 0, -1, -8, 8, 64 };

	switch (rnd_below(s, 12)) {
	case 0:
		return 0;
	case 1:
		return page_size;
	case 2:
		return page_size + 8;
	case 3:
		return rnd(s);
	default:
		return ver0 + delta[rnd_below(s, ARRAY_SIZE(delta))];
	}
}

/*
 * A user pointer for a struct of @size: the scratch page (bytes past the
 * struct zeroed, or not, which E2BIG must catch), NULL, a low address, the
 * guard page, the read-only page, or a kernel address.
 */
static unsigned long fz_ptr(struct fz_state *s, size_t ver0, bool out)
{
	switch (rnd_below(s, 16)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return (unsigned long)s->guard;
	case 3:
		return out ? (unsigned long)s->ro_page :
			     (unsigned long)s->guard + 7;
	case 4:
		return 0xffff800000000000UL;
	case 5:
		/* A non-zero byte past the published struct: E2BIG. */
		memset(s->buf + ver0, 0, page_size - ver0);
		s->buf[ver0 + rnd_below(s, 64)] = 1;
		return (unsigned long)s->buf;
	default:
		memset(s->buf + ver0, 0, page_size - ver0);
		return (unsigned long)s->buf;
	}
}

static struct fz_map *fz_pick(struct fz_state *s)
{
	struct fz_map *m = &s->m[rnd_below(s, NR_MAPS)];

	return m->addr ? m : NULL;
}

/*
 * A page of one of our mappings, for MAP_FIXED: never beyond them, where
 * the fuzzer's own heap, stack and scratch pages are.  0 if none.
 */
static __u64 fz_addr_inside(struct fz_state *s)
{
	struct fz_map *m = fz_pick(s);

	if (!m)
		return 0;
	return (__u64)(uintptr_t)m->addr +
	       page_size * rnd_below(s, m->len / page_size);
}

/* Whether [addr, addr + len) lies within one of our mappings. */
static bool fz_inside(struct fz_state *s, __u64 addr, __u64 len)
{
	unsigned int i;

	for (i = 0; i < NR_MAPS; i++) {
		__u64 start = (__u64)(uintptr_t)s->m[i].addr;

		if (s->m[i].addr && addr >= start && len <= s->m[i].len &&
		    addr - start <= s->m[i].len - len)
			return true;
	}
	return false;
}

/* An address: in or around one of our mappings, unaligned, or far off. */
static __u64 fz_addr(struct fz_state *s)
{
	struct fz_map *m = fz_pick(s);

	switch (rnd_below(s, 10)) {
	case 0:
		return 0;
	case 1:
		return page_size;	/* below mmap_min_addr */
	case 2:
		return s->max_addr - page_size * rnd_below(s, 4);
	case 3:
		return rnd(s);
	case 4:
		return m ? (__u64)(uintptr_t)m->addr + 1 : 1;
	default:
		if (!m)
			return 0;
		return (__u64)(uintptr_t)m->addr +
		       page_size * rnd_below(s, m->len / page_size + 2);
	}
}

static __u64 fz_len(struct fz_state *s)
{
	switch (rnd_below(s, 10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return -page_size;
	case 3:
		return 1ULL << (32 + rnd_below(s, 30));
	case 4:
		return rnd(s);
	default:
		return page_size * (1 + rnd_below(s, 32));
	}
}

static __u64 fz_price(struct fz_state *s)
{
	static const __u64 prices[] = { 0, 1, 10, 1000, 50000, 1000000,
					~0ULL };

	return one_in(s, 4) ? rnd(s) : prices[rnd_below(s, ARRAY_SIZE(prices))];
}

static __u64 fz_ramm_flags(struct fz_state *s)
{
	switch (rnd_below(s, 8)) {
	case 0:
		return rnd(s);
	case 1:
		return 1ULL << rnd_below(s, 64);
	case 2:
	case 3:
		return RAMM_DISCARDABLE;
	default:
		return 0;
	}
}

static bool fz_allowed(enum fz_call c, int e)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fz_required[c]) && fz_required[c][i]; i++)
		if (fz_required[c][i] == e)
			return true;
	for (i = 0; i < ARRAY_SIZE(fz_also_allowed[c]) &&
	     fz_also_allowed[c][i]; i++)
		if (fz_also_allowed[c][i] == e)
			return true;
	return false;
}

/* Record the outcome of one call; @ret < 0 means it failed with errno. */
static void fz_note(struct fz_state *s, enum fz_call c, long ret, int e)
{
	s->calls++;
	if (ret >= 0) {
		s->ok[c]++;
		return;
	}
	if (e > 0 && e < MAX_ERRNO)
		s->seen[c][e / 64] |= 1ULL << (e % 64);
	if (!fz_allowed(c, e) && !s->bad[0])
		snprintf(s->bad, sizeof(s->bad),
			 "%s failed with %s (%d), which it does not document, after %llu calls",
			 fz_name[c], strerror(e), e,
			 (unsigned long long)s->calls);
}

static bool fz_seen(const struct fz_state *s, enum fz_call c, int e)
{
	return s->seen[c][e / 64] & (1ULL << (e % 64));
}

#define FZ_SYSCALL(_s, _c, _expr) do {					\
	long __ret;							\
									\
	errno = 0;							\
	__ret = (_expr);						\
	fz_note(_s, _c, __ret, errno);					\
} while (0)

/* ---- the RAMM calls ----------------------------------------------------- */

/*
 * Most calls start from valid arguments and break one or two of them, so
 * that each error is reached from a call that is otherwise right; the
 * rest are wholly random.
 */
static void fz_mmap_priced(struct fz_state *s)
{
	static const int bad_flags[] = {
		MAP_SHARED, MAP_LOCKED, MAP_GROWSDOWN, MAP_HUGETLB, MAP_STACK,
		MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_POPULATE,
#ifdef MAP_32BIT	/* x86 only */
		MAP_32BIT,
#endif
		0x40000000,
	};
	struct ramm_mmap_args a = {
		.len = page_size * (1 + rnd_below(s, 16)),
		.prot = PROT_READ | PROT_WRITE,
		.flags = MAP_PRIVATE | MAP_ANONYMOUS,
		.price = 1 + rnd_below(s, 100000),
		.ramm_flags = one_in(s, 2) ? RAMM_DISCARDABLE : 0,
	};
	unsigned int i, slot = rnd_below(s, NR_MAPS);
	__u64 size = sizeof(a);
	unsigned long ptr = (unsigned long)s->buf;
	long ret;

	for (i = rnd_below(s, 3); i > 0; i--) {
		switch (rnd_below(s, 11)) {
		case 0:
			a.addr = fz_addr_inside(s);
			a.flags |= MAP_FIXED_NOREPLACE;
			break;
		case 1:
			/* 0 is below mmap_min_addr: EPERM. */
			a.addr = one_in(s, 2) ? 0 : fz_addr_inside(s);
			a.flags |= MAP_FIXED;
			break;
		case 2:
			a.addr = fz_addr(s);	/* a hint only */
			break;
		case 3:
			a.len = fz_len(s);
			break;
		case 4:
			a.prot = one_in(s, 2) ? rnd(s) : rnd_below(s, 16);
			break;
		case 5:
			a.flags |= bad_flags[rnd_below(s, ARRAY_SIZE(bad_flags))];
			break;
		case 6:
			a.flags = one_in(s, 2) ? rnd(s) : MAP_ANONYMOUS;
			break;
		case 7:
			a.price = one_in(s, 2) ? 0 : fz_price(s);
			break;
		case 8:
			a.ramm_flags = fz_ramm_flags(s);
			break;
		case 9:
			size = fz_size(s, sizeof(a));
			break;
		default:
			ptr = fz_ptr(s, sizeof(a), false);
			break;
		}
	}
	/* MAP_FIXED only where the fuzzer's own mappings are, or at 0. */
	if (a.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) && a.addr &&
	    !fz_inside(s, a.addr, a.len))
		a.addr = 0;
	/* Populating a huge range would OOM the machine, not test RAMM. */
	if (a.flags & MAP_POPULATE && a.len > 64 * page_size)
		a.len = 64 * page_size;
	if (ptr == (unsigned long)s->buf) {
		memset(s->buf, 0, page_size);
		memcpy(s->buf, &a, sizeof(a));
	}

	errno = 0;
	ret = sys_mmap_priced((const void *)ptr, size);
	fz_note(s, FZ_MMAP_PRICED, ret, errno);
	if (ret == -1)
		return;
	if (s->m[slot].addr)
		munmap(s->m[slot].addr, s->m[slot].len);
	s->m[slot].addr = (char *)ret;
	s->m[slot].len = (a.len + page_size - 1) & ~(page_size - 1);
	if (a.prot & PROT_WRITE && s->m[slot].len <= 64 * page_size)
		memset(s->m[slot].addr, 0x5a, s->m[slot].len);
}

static void fz_set_price(struct fz_state *s)
{
	struct fz_map *m = fz_pick(s);
	struct ramm_range r = {
		.addr = m ? (__u64)(uintptr_t)m->addr : fz_addr(s),
		.len = m ? m->len : page_size,
		.price = fz_price(s) | 1,
		.ramm_flags = one_in(s, 2) ? RAMM_DISCARDABLE : 0,
	};
	__u64 size = sizeof(r);
	unsigned long ptr = (unsigned long)s->buf;
	unsigned int i;

	for (i = rnd_below(s, 3); i > 0; i--) {
		switch (rnd_below(s, 7)) {
		case 0:
			r.addr = fz_addr(s);
			break;
		case 1:
			r.len = fz_len(s);
			break;
		case 2:
			r.price = 0;	/* unpricing; with flags: EINVAL */
			break;
		case 3:
			r.price = fz_price(s);
			break;
		case 4:
			r.ramm_flags = fz_ramm_flags(s);
			break;
		case 5:
			size = fz_size(s, sizeof(r));
			break;
		default:
			ptr = fz_ptr(s, sizeof(r), false);
			break;
		}
	}
	if (ptr == (unsigned long)s->buf) {
		memset(s->buf, 0, page_size);
		memcpy(s->buf, &r, sizeof(r));
	}
	FZ_SYSCALL(s, FZ_SET_PRICE,
		   ramm_prctl(PR_RAMM_SET_PRICE, ptr, size, 0));
}

static void fz_get_price(struct fz_state *s)
{
	struct ramm_range r = { .addr = fz_addr(s) };
	__u64 size = fz_size(s, sizeof(r));
	unsigned long ptr = fz_ptr(s, sizeof(r), true);

	if (ptr == (unsigned long)s->buf)
		memcpy(s->buf, &r, sizeof(r));
	FZ_SYSCALL(s, FZ_GET_PRICE,
		   ramm_prctl(PR_RAMM_GET_PRICE, ptr, size, 0));
}

static void fz_out_struct(struct fz_state *s, enum fz_call c, int sub,
			  size_t ver0)
{
	__u64 size = fz_size(s, ver0);
	unsigned long ptr = fz_ptr(s, ver0, true);

	if (c == FZ_PROBE && one_in(s, 4)) {
		/* No struct; with a size: EINVAL. */
		ptr = 0;
		size = one_in(s, 2) ? 0 : ver0;
	}
	FZ_SYSCALL(s, c, ramm_prctl(sub, ptr, size, 0));
}

static void fz_register(struct fz_state *s)
{
	static const __u64 signals[] = { 0, SIGUSR1, SIGUSR2, SIGKILL, SIGSTOP,
					 SIGSEGV, 64, 65, 1000 };
	struct ramm_register reg = {
		.signal = signals[rnd_below(s, ARRAY_SIZE(signals))],
		.flags = one_in(s, 6) ? rnd(s) : 0,
	};
	__u64 size = fz_size(s, sizeof(reg));
	unsigned long ptr = fz_ptr(s, sizeof(reg), false);

	if (reg.signal == SIGSEGV)	/* the fuzzer ignores it: see main */
		reg.signal = SIGUSR2;
	if (one_in(s, 4)) {
		ptr = 0;		/* the default: SIGUSR1 */
		size = one_in(s, 4) ? sizeof(reg) : 0;
	}
	if (ptr == (unsigned long)s->buf)
		memcpy(s->buf, &reg, sizeof(reg));
	FZ_SYSCALL(s, FZ_REGISTER, ramm_prctl(PR_RAMM_REGISTER, ptr, size, 0));
}

static void fz_unregister(struct fz_state *s)
{
	unsigned long a3 = one_in(s, 6) ? 1 : 0, a4 = one_in(s, 6) ? 8 : 0;

	FZ_SYSCALL(s, FZ_UNREGISTER,
		   ramm_prctl(PR_RAMM_UNREGISTER, a3, a4, 0));
}

static void fz_get_fd(struct fz_state *s)
{
	unsigned long flags = O_NONBLOCK;
	long ret;

	if (one_in(s, 5))
		flags = one_in(s, 2) ? rnd(s) : O_CLOEXEC;
	errno = 0;
	ret = ramm_prctl(PR_RAMM_GET_FD, flags, one_in(s, 8) ? 8 : 0, 0);
	fz_note(s, FZ_GET_FD, ret, errno);
	if (ret < 0)
		return;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = ret;
	if (!(flags & O_NONBLOCK))
		fcntl(s->fd, F_SETFL, O_NONBLOCK);
}

/* Whether the request fd has a record to read (false without an fd). */
static bool fz_pending(struct fz_state *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	return s->fd >= 0 && poll(&pfd, 1, 0) == 1 && pfd.revents & POLLIN;
}

static void fz_get_requests(struct fz_state *s)
{
	__u64 size = rnd_below(s, 4) ? sizeof(struct ramm_request) *
				       (1 + rnd_below(s, 8)) :
				       rnd_below(s, sizeof(struct ramm_request));
	unsigned long ptr = fz_ptr(s, 0, true);

	if (size > page_size)
		size = page_size;
	/* A bad buffer only faults when there is a record to copy. */
	if (ptr != (unsigned long)s->buf && !fz_pending(s))
		ptr = (unsigned long)s->buf;
	FZ_SYSCALL(s, FZ_GET_REQUESTS,
		   ramm_prctl(PR_RAMM_GET_REQUESTS, ptr, size, 0));
}

static void fz_fd_read(struct fz_state *s)
{
	size_t rec = sizeof(struct ramm_request);
	size_t size = rnd_below(s, 4) ? rec * (1 + rnd_below(s, 8)) :
					rnd_below(s, rec);
	void *dst = s->buf;

	if (s->fd < 0)
		return;
	if (one_in(s, 4))
		dst = one_in(s, 2) ? s->ro_page : s->guard;
	/* A bad buffer only faults when there is a record to copy. */
	if (dst != s->buf && !fz_pending(s))
		dst = s->buf;
	FZ_SYSCALL(s, FZ_FD_READ, read(s->fd, dst, size));
	if (one_in(s, 50)) {
		close(s->fd);
		s->fd = -1;
	}
}

static void fz_unknown(struct fz_state *s)
{
	unsigned long sub = one_in(s, 2) ? PR_RAMM_GET_REQUESTS + 1 +
					   rnd_below(s, 100) : rnd(s);
	unsigned long a5 = 0;

	if (one_in(s, 3)) {
		sub = rnd_below(s, PR_RAMM_GET_REQUESTS + 1);
		a5 = 1 + rnd_below(s, 1000);	/* arg5 must be 0 */
	}
	FZ_SYSCALL(s, FZ_UNKNOWN_SUB,
		   prctl(PR_RAMM, sub, 0UL, 0UL, a5));
}

/* ---- the rest of mm ----------------------------------------------------- */

static void fz_mm_op(struct fz_state *s)
{
	/* Nothing that populates: a huge mapping would OOM the machine. */
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTNEED,
		MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_DONTFORK, MADV_DOFORK,
		MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_MERGEABLE,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	};
	struct fz_map *m = fz_pick(s);
	size_t pages, off, len, grow;
	void *p;

	if (!m)
		return;
	pages = m->len / page_size;
	off = page_size * rnd_below(s, pages);
	len = page_size * (1 + rnd_below(s, (m->len - off) / page_size));
	if (len > 64 * page_size)
		len = 64 * page_size;
	switch (rnd_below(s, 9)) {
	case 0:
		mprotect(m->addr + off, len, rnd_below(s, 8));
		break;
	case 1:
		madvise(m->addr + off, len, MADV_DONTNEED);
		break;
	case 2:
		madvise(m->addr + off, len,
			advice[rnd_below(s, ARRAY_SIZE(advice))]);
		break;
	case 3:
		if (!mlock(m->addr + off, len))
			munlock(m->addr + off, len);
		break;
	case 4:
		grow = page_size * rnd_below(s, 8);
		p = mremap(m->addr, m->len, m->len + grow, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			m->addr = p;
			m->len += grow;
		}
		break;
	case 5:
		/* Punch a hole: the mapping stays tracked as a whole. */
		munmap(m->addr + off, page_size);
		break;
	case 6:
		*(volatile char *)(m->addr + off) = 1;	/* may fault */
		break;
	case 7:
		memset(m->addr + off, 0x33, len);	/* may fault */
		break;
	default:
		munmap(m->addr, m->len);
		m->addr = NULL;
		break;
	}
}

static volatile sig_atomic_t fz_faults;
static sigjmp_buf fz_jmp;

static void fz_on_segv(int sig)
{
	(void)sig;
	fz_faults++;
	siglongjmp(fz_jmp, 1);
}

/* A child that inherits everything, makes a few calls and exits. */
static void fz_fork(struct fz_state *s)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		struct ramm_stats st;

		/* A fault here must end the child, not resume the fuzzing. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		ramm_get_stats(&st);
		if (one_in(s, 2))
			ramm_register_default();
		fz_set_price(s);
		_exit(0);
	}
	waitpid(pid, &status, 0);
}

static void fz_one(struct fz_state *s)
{
	switch (rnd_below(s, 20)) {
	case 0:
	case 1:
	case 2:
		fz_mmap_priced(s);
		break;
	case 3:
	case 4:
		fz_set_price(s);
		break;
	case 5:
		fz_get_price(s);
		break;
	case 6:
		fz_out_struct(s, FZ_PROBE, PR_RAMM_PROBE,
			      sizeof(struct ramm_probe));
		break;
	case 7:
		fz_out_struct(s, FZ_GET_STATS, PR_RAMM_GET_STATS,
			      RAMM_STATS_SIZE_VER0);
		break;
	case 8:
		fz_register(s);
		break;
	case 9:
		fz_unregister(s);
		break;
	case 10:
		fz_get_fd(s);
		break;
	case 11:
		fz_get_requests(s);
		break;
	case 12:
	case 13:
		fz_fd_read(s);
		break;
	case 14:
		fz_unknown(s);
		break;
	default:
		if (one_in(s, 2000))
			fz_fork(s);
		else
			fz_mm_op(s);
		s->calls++;
		break;
	}
}

/*
 * Random calls rarely find a record queued at the moment they pass a bad
 * buffer: the fuzzer's ranges are small, and it unregisters often.  So
 * that EFAULT is reached, the fuzzer ends by registering, touching a
 * cheap discardable bait under a large headroom, and passing bad buffers
 * to read() and PR_RAMM_GET_REQUESTS as soon as a record is queued.
 */
static void fz_finale(struct fz_state *s)
{
	size_t len = 16 * MK_MIB, rec = sizeof(struct ramm_request);
	__u64 end = ramm_now_ns() + 30 * 1000000000ULL;
	char *bait;
	int round = 0;

	bait = mmap_priced(NULL, len, PROT_READ | PROT_WRITE, PA, 1,
			   RAMM_DISCARDABLE);
	if (bait == MAP_FAILED)
		return;
	/*
	 * A headroom of half of RAM makes krammmd ask at once, whatever the
	 * hog holds (the fixture restores it); registering anew arms its
	 * wake-up with it.  An fd of an earlier registration only reads
	 * end-of-file.
	 */
	ramm_sysfs_write("headroom_permille", "500\n");
	ramm_unregister();
	ramm_register(0, 0);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = ramm_get_fd(O_NONBLOCK);
	if (s->fd < 0)
		goto out;
	while ((!fz_seen(s, FZ_FD_READ, EFAULT) ||
		!fz_seen(s, FZ_GET_REQUESTS, EFAULT)) && ramm_now_ns() < end) {
		memset(bait, round++, len);
		if (!fz_pending(s)) {
			ramm_sleep_ms(10);
			continue;
		}
		if (!fz_seen(s, FZ_FD_READ, EFAULT))
			FZ_SYSCALL(s, FZ_FD_READ, read(s->fd, s->guard, rec));
		else
			FZ_SYSCALL(s, FZ_GET_REQUESTS,
				   ramm_prctl(PR_RAMM_GET_REQUESTS,
					      (unsigned long)s->ro_page, rec, 0));
	}
out:
	munmap(bait, len);
}

/*
 * Drop CAP_SYS_RAWIO, so that mmap_min_addr applies (EPERM) to root too,
 * and CAP_IPC_LOCK, so that RLIMIT_MEMLOCK bounds what mlock() pins.
 */
static int fz_drop_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_RAWIO / 32].effective &= ~(1U << (CAP_SYS_RAWIO % 32));
	data[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &hdr, data);
}

/*
 * The kmemleak report's suspects allocated by RAMM; -1 when there is no
 * kmemleak (CONFIG_DEBUG_KMEMLEAK=n): nothing to scan.
 */
static int fz_kmemleak_ramm(char *first, size_t size)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	char line[512], obj[512] = "";
	int leaks = 0, i;
	FILE *f;

	if (access(path, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(path, F_OK))
		return -1;
	/* Two scans: an object must look unreferenced twice to count. */
	for (i = 0; i < 2; i++) {
		f = fopen(path, "w");
		if (!f)
			return -1;
		fputs("scan", f);
		fclose(f);
	}
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "unreferenced object", 19)) {
			snprintf(obj, sizeof(obj), "%s", line);
		} else if (strstr(line, "ramm") && obj[0]) {
			if (!leaks++)
				snprintf(first, size, "%s  %s", obj, line);
			obj[0] = 0;
		}
	}
	fclose(f);
	return leaks;
}

FIXTURE(fuzz) {
	struct ramm_env env;
	struct ramm_tunables_saved saved;
	struct mk_kids kids;
};

FIXTURE_SETUP(fuzz)
{
	ramm_env_probe(&self->env);
	if (self->env.version > 0)
		mk_children_setup(&self->saved);
}

FIXTURE_TEARDOWN(fuzz)
{
	mk_children_teardown(&self->env, &self->kids, &self->saved);
}

/* A hog that keeps most of memory touched, so that krammmd asks. */
static void fz_hog(int ctrl, int rep, const void *arg)
{
	__u64 target = mk_page_align(mk_meminfo("MemAvailable") / 10 * 8);
	struct pollfd pfd = { .fd = ctrl, .events = POLLIN };
	char *mem;
	__u64 p;

	(void)rep;
	(void)arg;
	ramm_init_page_size();
	mem = mmap(NULL, target, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		_exit(5);
	for (;;) {
		for (p = 0; p < target; p += page_size)
			*(volatile __u64 *)(mem + p) = p | 1;
		if (poll(&pfd, 1, 100) > 0)
			_exit(0);
		madvise(mem, target / 2, MADV_DONTNEED);
	}
}

TEST_F_TIMEOUT(fuzz, calls, 7200)
{
	const char *env = getenv("RAMM_FUZZ_CALLS");
	__u64 want = env ? strtoull(env, NULL, 0) : DEFAULT_CALLS;
	struct fz_state *s;
	struct mk_child *hog;
	char leak[1100];
	int c, i, missing = 0, leaks;

	if (ramm_skip(_metadata, &self->env))
		return;
	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	s->rng = getenv("RAMM_FUZZ_SEED") ?
		 strtoull(getenv("RAMM_FUZZ_SEED"), NULL, 0) : 0x52414d4dULL;
	s->fd = -1;
	s->max_addr = 1ULL << 47;
	s->buf = mmap(NULL, page_size, PROT_READ | PROT_WRITE, PA, -1, 0);
	s->ro_page = mmap(NULL, page_size, PROT_READ, PA, -1, 0);
	s->guard = mmap(NULL, page_size, PROT_NONE, PA, -1, 0);
	ASSERT_NE(MAP_FAILED, s->buf);
	ASSERT_NE(MAP_FAILED, s->ro_page);
	ASSERT_NE(MAP_FAILED, s->guard);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ 65536, 65536 }));
	ASSERT_EQ(0, fz_drop_caps());
	ASSERT_EQ(0, ramm_sysfs_write("deadline_ms", "20\n"));
	/* Signals RAMM may send: counted by handlers, never fatal. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGSEGV, fz_on_segv);
	signal(SIGBUS, fz_on_segv);

	hog = mk_spawn(&self->kids, "hog", 0, fz_hog, NULL);
	ASSERT_NE(NULL, hog);

	sigsetjmp(fz_jmp, 1);
	while (s->calls < want && !s->bad[0])
		fz_one(s);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	if (!s->bad[0])
		fz_finale(s);
	mk_cmd(hog, MK_CMD_STOP);
	mk_reap(hog, 10000);
	ramm_unregister();
	for (i = 0; i < NR_MAPS; i++)
		if (s->m[i].addr)
			munmap(s->m[i].addr, s->m[i].len);
	if (s->fd >= 0)
		close(s->fd);

	TH_LOG("%llu calls, %d faults on purposely bad accesses",
	       (unsigned long long)s->calls, (int)fz_faults);
	for (c = 0; c < FZ_NR_CALLS; c++) {
		char list[200] = "";

		for (i = 1; i < MAX_ERRNO; i++)
			if (fz_seen(s, c, i))
				snprintf(list + strlen(list),
					 sizeof(list) - strlen(list), " %s",
					 strerrorname_np(i) ?: "?");
		TH_LOG("%-22s %8llu ok, errors:%s", fz_name[c],
		       (unsigned long long)s->ok[c], list);
		for (i = 0; i < (int)ARRAY_SIZE(fz_required[c]) &&
		     fz_required[c][i]; i++) {
			if (fz_seen(s, c, fz_required[c][i]))
				continue;
			TH_LOG("%s never failed with %s", fz_name[c],
			       strerrorname_np(fz_required[c][i]));
			missing++;
		}
	}
	ASSERT_EQ(0, s->bad[0]) {
		TH_LOG("%s", s->bad);
	}
	ASSERT_LE(want, s->calls);
	ASSERT_EQ(0, missing);

	leaks = fz_kmemleak_ramm(leak, sizeof(leak));
	if (leaks < 0)
		TH_LOG("no kmemleak in this kernel: leak scan skipped");
	ASSERT_GE(0, leaks) {
		TH_LOG("kmemleak: %d suspects allocated by RAMM, the first:\n%s",
		       leaks, leak);
	}
	free(s);
}

TEST_HARNESS_MAIN
