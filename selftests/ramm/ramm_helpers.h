/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the RAMM selftests: the mmap_priced() wrapper, the
 * PR_RAMM prctl wrappers (prices and participants), the probe that decides
 * whether to skip, guarded mappings, parsers for /proc/self/smaps and
 * /proc/PID/status, and /sys/kernel/mm/ramm/.
 */
#ifndef __RAMM_HELPERS_H
#define __RAMM_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ramm.h>

#include "kselftest_harness.h"

#ifndef __NR_mmap_priced
# if defined(__x86_64__) || defined(__aarch64__)
#  define __NR_mmap_priced 451
# endif
#endif

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

/* Mappings a test made; the fixture teardown unmaps them. */
#define RAMM_MAX_TRACKED	32

struct ramm_tracked {
	void *addr;
	size_t len;
};

struct ramm_maps {
	struct ramm_tracked m[RAMM_MAX_TRACKED];
	int nr;
};

/* What PR_RAMM_PROBE said when the fixture was set up. */
struct ramm_env {
	long version;		/* > 0: RAMM is there */
	int probe_errno;	/* errno of a failed probe */
};

static size_t page_size;

static inline void ramm_init_page_size(void)
{
	if (!page_size)
		page_size = (size_t)sysconf(_SC_PAGESIZE);
}

static inline long ramm_prctl(unsigned long sub, unsigned long arg3,
			      unsigned long arg4, unsigned long arg5)
{
	return prctl(PR_RAMM, sub, arg3, arg4, arg5);
}

/*
 * Never call this before the probe succeeded: on mainline kernels 451 is
 * cachestat, not mmap_priced.
 */
static inline long sys_mmap_priced(const void *args, size_t size)
{
#ifdef __NR_mmap_priced
	return syscall(__NR_mmap_priced, args, size);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* mmap_priced() with a struct built from the arguments; MAP_FAILED on error. */
static inline void *mmap_priced(void *addr, size_t len, int prot, int flags,
				__u64 price, __u64 ramm_flags)
{
	struct ramm_mmap_args args = {
		.addr = (uintptr_t)addr,
		.len = len,
		.prot = (__u64)prot,
		.flags = (__u64)flags,
		.price = price,
		.ramm_flags = ramm_flags,
	};
	long ret = sys_mmap_priced(&args, sizeof(args));

	return ret == -1 ? MAP_FAILED : (void *)ret;
}

static inline long ramm_set_price(unsigned long addr, __u64 len, __u64 price,
				  __u64 ramm_flags)
{
	struct ramm_range r = {
		.addr = addr,
		.len = len,
		.price = price,
		.ramm_flags = ramm_flags,
	};

	return ramm_prctl(PR_RAMM_SET_PRICE, (unsigned long)&r, sizeof(r), 0);
}

static inline long ramm_get_price(unsigned long addr, struct ramm_range *r)
{
	memset(r, 0, sizeof(*r));
	r->addr = addr;
	return ramm_prctl(PR_RAMM_GET_PRICE, (unsigned long)r, sizeof(*r), 0);
}

static inline long ramm_get_stats(struct ramm_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ramm_prctl(PR_RAMM_GET_STATS, (unsigned long)st, sizeof(*st), 0);
}

/* PR_RAMM_REGISTER with an explicit struct ramm_register. */
static inline long ramm_register(__u64 signal, __u64 flags)
{
	struct ramm_register reg = {
		.signal = signal,
		.flags = flags,
	};

	return ramm_prctl(PR_RAMM_REGISTER, (unsigned long)&reg, sizeof(reg),
			  0);
}

/* PR_RAMM_REGISTER with NULL: the defaults, SIGUSR1 and no flags. */
static inline long ramm_register_default(void)
{
	return ramm_prctl(PR_RAMM_REGISTER, 0, 0, 0);
}

static inline long ramm_unregister(void)
{
	return ramm_prctl(PR_RAMM_UNREGISTER, 0, 0, 0);
}

/* PR_RAMM_GET_FD; @flags is 0 or O_NONBLOCK. */
static inline int ramm_get_fd(unsigned long flags)
{
	return (int)ramm_prctl(PR_RAMM_GET_FD, flags, 0, 0);
}

/* PR_RAMM_GET_REQUESTS into @bytes bytes at @reqs: the number moved. */
static inline long ramm_get_requests(struct ramm_request *reqs, size_t bytes)
{
	return ramm_prctl(PR_RAMM_GET_REQUESTS, (unsigned long)reqs, bytes, 0);
}

/* 1 if registered, 0 if not, -1 if GET_STATS failed. */
static inline int ramm_registered(void)
{
	struct ramm_stats st;

	if (ramm_get_stats(&st))
		return -1;
	return st.registered ? 1 : 0;
}

/* CLOCK_MONOTONIC in ns: the clock of detected_ns and deadline_ns. */
static inline __u64 ramm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static inline void ramm_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline void ramm_env_probe(struct ramm_env *env)
{
	ramm_init_page_size();
	errno = 0;
	env->version = ramm_prctl(PR_RAMM_PROBE, 0, 0, 0);
	env->probe_errno = env->version < 0 ? errno : 0;
}

/*
 * True (and the test is marked skipped) unless the kernel has RAMM.  EINVAL
 * is what any kernel without RAMM answers; any other error from the probe
 * is a failure.  Called at the top of each TEST_F as
 *	if (ramm_skip(_metadata, &self->env))
 *		return;
 * because on 6.1 a SKIP() in FIXTURE_SETUP still runs the test body.
 */
static inline bool ramm_skip(struct __test_metadata *_metadata,
			     const struct ramm_env *env)
{
	if (env->version > 0)
		return false;
	ASSERT_EQ(EINVAL, env->probe_errno) {
		TH_LOG("PR_RAMM_PROBE failed: %s", strerror(env->probe_errno));
	}
	SKIP(return true, "no RAMM: PR_RAMM_PROBE gave EINVAL (CONFIG_RAMM=n?)");
}

static inline void ramm_track(struct ramm_maps *t, void *addr, size_t len)
{
	if (addr == MAP_FAILED || t->nr >= RAMM_MAX_TRACKED)
		return;
	t->m[t->nr].addr = addr;
	t->m[t->nr].len = len;
	t->nr++;
}

static inline void ramm_unmap_all(struct ramm_maps *t)
{
	while (t->nr > 0) {
		t->nr--;
		munmap(t->m[t->nr].addr, t->m[t->nr].len);
	}
}

/*
 * Reserve @npages + 2 pages of PROT_NONE and return the address of the
 * second page: the caller maps what it tests there with MAP_FIXED, between
 * two PROT_NONE guard pages, so that its VMAs cannot merge with anything
 * the test did not create.  MAP_FAILED on error.
 */
static inline char *ramm_reserve(struct ramm_maps *t, size_t npages)
{
	size_t len = (npages + 2) * page_size;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return MAP_FAILED;
	ramm_track(t, p, len);
	return p + page_size;
}

/* Ordinary private anonymous memory, guarded. */
static inline char *ramm_map_plain(struct ramm_maps *t, size_t npages,
				   int prot)
{
	char *p = ramm_reserve(t, npages);

	if (p == MAP_FAILED)
		return MAP_FAILED;
	return mmap(p, npages * page_size, prot,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Priced private anonymous memory from mmap_priced(), guarded. */
static inline char *ramm_map_priced(struct ramm_maps *t, size_t npages,
				    int prot, __u64 price, __u64 ramm_flags)
{
	char *p = ramm_reserve(t, npages);

	if (p == MAP_FAILED)
		return MAP_FAILED;
	return mmap_priced(p, npages * page_size, prot,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			   price, ramm_flags);
}

/*
 * A page-aligned address nothing is mapped at: a reserved page, unmapped
 * again (the tests are single threaded, so it stays free).
 */
static inline char *ramm_hole(struct ramm_maps *t)
{
	char *p = ramm_reserve(t, 1);

	if (p == MAP_FAILED)
		return MAP_FAILED;
	munmap(p, page_size);
	return p;
}

/*
 * A file-backed descriptor of @size bytes: a memfd (shmem) when the kernel
 * has memfd_create(), else an unlinked file under /tmp.  -1 on error.
 */
static inline int ramm_backing_fd(size_t size)
{
	char name[] = "/tmp/ramm_test.XXXXXX";
	int fd;

	fd = (int)syscall(__NR_memfd_create, "ramm_test", 0);
	if (fd < 0) {
		if (mkdir("/tmp", 01777) && errno != EEXIST)
			return -1;
		fd = mkstemp(name);
		if (fd < 0)
			return -1;
		unlink(name);
	}
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One VMA of /proc/self/smaps. */
struct smaps_vma {
	unsigned long start;
	unsigned long end;
	char perms[5];
	unsigned long rss_kb;
	bool has_vmflag_nr;	/* "nr" in VmFlags: MAP_NORESERVE */
	int nr_price_lines;	/* "RammPrice:" lines seen */
	int nr_discard_lines;	/* "RammDiscardable:" lines seen */
	int nr_bad_lines;	/* Ramm* lines in an unexpected format */
	__u64 price;
	__u64 discardable;
};

/*
 * Parse "<key>:<spaces><decimal>\n" strictly; 0 on success.  The smaps
 * RAMM lines carry no unit.
 */
static inline int ramm_parse_plain(const char *line, const char *key,
				   __u64 *val)
{
	size_t klen = strlen(key);
	const char *p = line + klen;
	char *end;

	if (strncmp(line, key, klen) || *p != ':')
		return -1;
	p++;
	if (*p != ' ' && *p != '\t')
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*val = strtoull(p, &end, 10);
	if (errno || (*end != '\n' && *end != '\0'))
		return -1;
	return 0;
}

static inline bool ramm_is_smaps_header(const char *line, unsigned long *start,
					unsigned long *end, char *perms)
{
	return sscanf(line, "%lx-%lx %4s", start, end, perms) == 3 &&
	       *end > *start;
}

static inline void ramm_smaps_line(const char *line, struct smaps_vma *v)
{
	unsigned long kb;
	__u64 val;

	if (sscanf(line, "Rss: %lu kB", &kb) == 1)
		v->rss_kb = kb;
	if (!strncmp(line, "VmFlags:", 8) &&
	    (strstr(line, " nr ") || strstr(line, " nr\n")))
		v->has_vmflag_nr = true;
	if (!strncmp(line, "RammPrice", 9)) {
		v->nr_price_lines++;
		if (ramm_parse_plain(line, "RammPrice", &val))
			v->nr_bad_lines++;
		else
			v->price = val;
	} else if (!strncmp(line, "RammDiscardable", 15)) {
		v->nr_discard_lines++;
		if (ramm_parse_plain(line, "RammDiscardable", &val) || val > 1)
			v->nr_bad_lines++;
		else
			v->discardable = val;
	}
}

/*
 * Read every VMA of /proc/self/smaps into @vmas (at most @max); returns the
 * number read, or -1 if smaps cannot be read.
 */
static inline int smaps_read_all(struct smaps_vma *vmas, int max)
{
	struct smaps_vma *cur = NULL;
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[5];

		if (ramm_is_smaps_header(line, &start, &end, perms)) {
			cur = NULL;
			if (n >= max)
				continue;
			cur = &vmas[n++];
			memset(cur, 0, sizeof(*cur));
			cur->start = start;
			cur->end = end;
			memcpy(cur->perms, perms, sizeof(cur->perms));
			continue;
		}
		if (cur)
			ramm_smaps_line(line, cur);
	}
	fclose(f);
	return n;
}

/* The smaps entry containing @addr; 0 if found, -1 otherwise. */
static inline int smaps_find(unsigned long addr, struct smaps_vma *out)
{
	char line[512];
	bool in = false;
	FILE *f;

	memset(out, 0, sizeof(*out));
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[5];

		if (ramm_is_smaps_header(line, &start, &end, perms)) {
			if (in)
				break;
			if (addr >= start && addr < end) {
				in = true;
				out->start = start;
				out->end = end;
				memcpy(out->perms, perms, sizeof(out->perms));
			}
			continue;
		}
		if (in)
			ramm_smaps_line(line, out);
	}
	fclose(f);
	return in ? 0 : -1;
}

/* How many smaps entries overlap [start, end). -1 on error. */
static inline int smaps_count(unsigned long start, unsigned long end)
{
	unsigned long s, e;
	char line[512];
	char perms[5];
	int n = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (ramm_is_smaps_header(line, &s, &e, perms) &&
		    s < end && e > start)
			n++;
	fclose(f);
	return n;
}

/*
 * Read "<key>:<whitespace><decimal> kB" from /proc/self/status.  0 on
 * success, -1 if the line is missing, -2 if it is malformed.
 */
static inline int status_kb(const char *key, __u64 *kb)
{
	size_t klen = strlen(key);
	char line[256];
	int ret = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + klen;
		char *end;

		if (strncmp(line, key, klen) || *p != ':')
			continue;
		ret = -2;
		p++;
		if (*p != ' ' && *p != '\t')
			break;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		errno = 0;
		*kb = strtoull(p, &end, 10);
		if (!errno && !strcmp(end, " kB\n"))
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Read "<key>:<whitespace><decimal>" (no unit, as RammCredit:) from
 * /proc/@pid/status, or /proc/self/status for @pid 0.  0 on success, -1 if
 * the file or the line is missing, -2 if the line is malformed.
 */
static inline int status_value(pid_t pid, const char *key, __u64 *val)
{
	size_t klen = strlen(key);
	char path[64], line[256];
	int ret = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		ret = ramm_parse_plain(line, key, val) ? -2 : 0;
		break;
	}
	fclose(f);
	return ret;
}

/* RammCredit: of /proc/@pid/status (0: self), in thousandths. */
static inline int status_credit(pid_t pid, __u64 *credit)
{
	return status_value(pid, "RammCredit", credit);
}

/* /sys/kernel/mm/ramm/: the tunables (root may write) and the counters. */
#define RAMM_SYSFS_DIR		"/sys/kernel/mm/ramm/"

static const char *const ramm_tunables[] __attribute__((unused)) = {
	"enabled", "reserve_price", "deadline_ms", "queue_len",
	"headroom_permille", "credit_halflife_s", "pass_budget_ms",
};

static const char *const ramm_counters[] __attribute__((unused)) = {
	"participants", "wakes", "wakes_ahead", "requests", "pages_asked",
	"pages_released", "pages_purged_krammmd", "pages_purged_direct",
	"pages_purged_oom",
	"answered", "late", "ignored", "signals_sent", "signals_skipped",
	"signals_coalesced", "queue_overflows", "selections", "select_ns",
	"passes", "passes_over_budget",
};

/*
 * Read /sys/kernel/mm/ramm/@name, which must hold one decimal number and a
 * newline.  0 on success, -errno if it cannot be read, -EINVAL if it holds
 * anything else.
 */
static inline int ramm_sysfs_read(const char *name, __u64 *val)
{
	char path[128], buf[64];
	ssize_t n;
	char *end;
	int fd;

	snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || strcmp(end, "\n"))
		return -EINVAL;
	return 0;
}

/* Write @text to @path in one write(): 0 or -errno (errno set too). */
static inline int ramm_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	if (ret)
		errno = -ret;
	return ret;
}

/* Write @text to /sys/kernel/mm/ramm/@name in one write(): 0 or -errno. */
static inline int ramm_sysfs_write(const char *name, const char *text)
{
	char path[128];

	snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s", name);
	return ramm_write_file(path, text);
}

static inline int ramm_sysfs_write_u64(const char *name, __u64 val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)val);
	return ramm_sysfs_write(name, buf);
}

/*
 * The participants counter once it has held still for 200 ms (at most 3 s):
 * a process that exited is unregistered when the last user of its mm lets
 * go, which may be a moment after its parent reaped it.  0 or -errno.
 */
static inline int ramm_participants_settled(__u64 *val)
{
	__u64 end = ramm_now_ns() + 3000000000ULL, v = 0;
	int ret, still = 0;

	ret = ramm_sysfs_read("participants", val);
	while (!ret && still < 4 && ramm_now_ns() < end) {
		ramm_sleep_ms(50);
		ret = ramm_sysfs_read("participants", &v);
		still = v == *val ? still + 1 : 0;
		*val = v;
	}
	return ret;
}

/* The tunables as a test found them, to put back in its teardown. */
struct ramm_tunables_saved {
	int nr;
	bool ok[ARRAY_SIZE(ramm_tunables)];
	__u64 val[ARRAY_SIZE(ramm_tunables)];
};

static inline void ramm_tunables_save(struct ramm_tunables_saved *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ramm_tunables); i++)
		s->ok[i] = !ramm_sysfs_read(ramm_tunables[i], &s->val[i]);
	s->nr = (int)ARRAY_SIZE(ramm_tunables);
}

/* Put back every tunable that was read and has changed since. */
static inline void ramm_tunables_restore(const struct ramm_tunables_saved *s)
{
	unsigned int i;
	__u64 now;

	for (i = 0; i < (unsigned int)s->nr; i++) {
		if (!s->ok[i])
			continue;
		if (!ramm_sysfs_read(ramm_tunables[i], &now) &&
		    now == s->val[i])
			continue;
		if (ramm_sysfs_write_u64(ramm_tunables[i], s->val[i]))
			fprintf(stderr, "# could not restore %s%s to %llu\n",
				RAMM_SYSFS_DIR, ramm_tunables[i],
				(unsigned long long)s->val[i]);
	}
}

/*
 * Assert that GET_PRICE at @_addr reports the VMA [@_start, @_start + @_len)
 * with @_price and @_flags.
 */
#define ASSERT_PRICE(_addr, _start, _len, _price, _flags) do {		\
	unsigned long __a = (unsigned long)(_addr);			\
	__u64 __start = (__u64)(uintptr_t)(_start);			\
	struct ramm_range __r;						\
									\
	ASSERT_EQ(0, ramm_get_price(__a, &__r)) {			\
		TH_LOG("GET_PRICE(%#lx): %s", __a, strerror(errno));	\
	}								\
	ASSERT_EQ(__start, __r.addr) {					\
		TH_LOG("GET_PRICE(%#lx): wrong start", __a);		\
	}								\
	ASSERT_EQ((__u64)(_len), __r.len) {				\
		TH_LOG("GET_PRICE(%#lx): wrong length", __a);		\
	}								\
	ASSERT_EQ((__u64)(_price), __r.price) {				\
		TH_LOG("GET_PRICE(%#lx): wrong price", __a);		\
	}								\
	ASSERT_EQ((__u64)(_flags), __r.ramm_flags) {			\
		TH_LOG("GET_PRICE(%#lx): wrong ramm_flags", __a);	\
	}								\
} while (0)

/*
 * Assert that the smaps entry containing @_addr spans
 * [@_start, @_start + @_len) and shows @_price and @_disc, or no RAMM lines
 * at all when @_price is 0.
 */
#define ASSERT_SMAPS(_addr, _start, _len, _price, _disc) do {		\
	unsigned long __a = (unsigned long)(_addr);			\
	unsigned long __start = (unsigned long)(_start);		\
	__u64 __price = (__u64)(_price);				\
	struct smaps_vma __v;						\
									\
	ASSERT_EQ(0, smaps_find(__a, &__v)) {				\
		TH_LOG("no smaps entry for %#lx", __a);			\
	}								\
	ASSERT_EQ(__start, __v.start);					\
	ASSERT_EQ(__start + (_len), __v.end);				\
	ASSERT_EQ(0, __v.nr_bad_lines) {				\
		TH_LOG("malformed Ramm* line in smaps at %#lx", __a);	\
	}								\
	if (__price == 0) {						\
		ASSERT_EQ(0, __v.nr_price_lines) {			\
			TH_LOG("unpriced VMA has RammPrice: line");	\
		}							\
		ASSERT_EQ(0, __v.nr_discard_lines) {			\
			TH_LOG("unpriced VMA has RammDiscardable: line"); \
		}							\
	} else {							\
		ASSERT_EQ(1, __v.nr_price_lines);			\
		ASSERT_EQ(1, __v.nr_discard_lines);			\
		ASSERT_EQ(__price, __v.price);				\
		ASSERT_EQ((__u64)(_disc), __v.discardable);		\
	}								\
} while (0)

#endif /* __RAMM_HELPERS_H */
