// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: several processes of several threads map priced memory, re-price
 * and split it, mprotect, mremap, munmap and madvise it, fork children
 * that touch it and exit, register and unregister, read their request fds
 * and answer, all at once, while a hog keeps memory short (touching up to
 * 90% of MemTotal, letting go, again).
 *
 * It runs for RAMM_STRESS_SECONDS (default 60).  It passes when everything
 * finishes, no worker or child dies of a signal other than an OOM kill of
 * the hog or of a forked child, every call fails only with the errors its
 * contract allows, and the participants counter falls back to where it
 * was.  Kernel reports (KASAN, lockdep, WARN) are caught by the console
 * scanner on the host.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>

#include "market_helpers.h"

#define NR_WORKERS	3
#define NR_THREADS	4
#define MAX_MAPS	16
#define MAX_PAGES	64
#define DEFAULT_SECONDS	60
#define MAX_SECONDS	480	/* the harness timeout is 600 s */

#define MAGIC_STRESS	0x524d4b53	/* "RMKS" */

struct stress_arg {
	__u64 seed;
	__u64 stop_ns;
};

struct stress_report {
	__u32 magic;
	__u32 __pad;
	__u64 ops;
	__u64 errors;		/* calls that failed in a way they may not */
	__u64 forks;
	__u64 children_oom;	/* forked children OOM killed (tolerated) */
	__u64 records;
	__u64 released;		/* bytes given back on asks */
	__u64 signals;
	char msg[200];		/* the first error */
};

struct stress_map {
	char *addr;
	size_t len;
};

struct stress_thread {
	pthread_t th;
	__u64 rng;
	__u64 stop_ns;
	int fd;
	struct stress_map m[MAX_MAPS];
	struct stress_report r;
};

static volatile sig_atomic_t stress_signals;

static void stress_on_signal(int sig)
{
	(void)sig;
	stress_signals++;
}

static __u64 rnd(struct stress_thread *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static __u64 rnd_below(struct stress_thread *t, __u64 n)
{
	return n ? rnd(t) % n : 0;
}

/* A call failed with an errno its contract does not allow. */
static void stress_error(struct stress_thread *t, const char *what, int err)
{
	if (!t->r.errors++)
		snprintf(t->r.msg, sizeof(t->r.msg), "%s: %s", what,
			 strerror(err));
}

#define ALLOW(_t, _ok, _what) do {					\
	int __e = errno;						\
									\
	if (!(_ok))							\
		stress_error(_t, _what, __e);				\
} while (0)

static struct stress_map *pick(struct stress_thread *t)
{
	int i, start = (int)rnd_below(t, MAX_MAPS);

	for (i = 0; i < MAX_MAPS; i++) {
		struct stress_map *m = &t->m[(start + i) % MAX_MAPS];

		if (m->addr)
			return m;
	}
	return NULL;
}

static void touch(struct stress_thread *t, struct stress_map *m, int n)
{
	size_t pages = m->len / page_size;

	while (n-- > 0)
		m->addr[rnd_below(t, pages) * page_size + rnd_below(t, 64)] =
			(char)rnd(t);
}

static __u64 some_price(struct stress_thread *t)
{
	/* Both sides of the default reserve_price (50000). */
	return 1 + rnd_below(t, 100000);
}

static __u64 some_flags(struct stress_thread *t)
{
	return rnd(t) & 1 ? RAMM_DISCARDABLE : 0;
}

static void op_map(struct stress_thread *t)
{
	size_t len = (1 + rnd_below(t, MAX_PAGES)) * page_size;
	int i;
	char *p;

	for (i = 0; i < MAX_MAPS && t->m[i].addr; i++)
		;
	if (i == MAX_MAPS)
		return;
	p = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, some_price(t),
			some_flags(t));
	if (p == MAP_FAILED) {
		ALLOW(t, errno == ENOMEM, "mmap_priced");
		return;
	}
	t->m[i].addr = p;
	t->m[i].len = len;
	touch(t, &t->m[i], 1 + (int)(len / page_size / 2));
}

/* A random page-aligned part [off, off + len) of @m. */
static void part(struct stress_thread *t, struct stress_map *m, size_t *off,
		 size_t *len)
{
	size_t pages = m->len / page_size;
	size_t first = rnd_below(t, pages);

	*off = first * page_size;
	*len = (1 + rnd_below(t, pages - first)) * page_size;
}

static void op_reprice(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	size_t off, len;
	long ret;

	if (!m)
		return;
	part(t, m, &off, &len);
	if (rnd_below(t, 8) == 0)
		ret = ramm_set_price((unsigned long)m->addr + off, len, 0, 0);
	else
		ret = ramm_set_price((unsigned long)m->addr + off, len,
				     some_price(t), some_flags(t));
	if (ret)
		ALLOW(t, errno == ENOMEM, "PR_RAMM_SET_PRICE");
}

static void drop(struct stress_thread *t, struct stress_map *m)
{
	if (munmap(m->addr, m->len))
		stress_error(t, "munmap (whole)", errno);
	m->addr = NULL;
	m->len = 0;
}

static void op_mprotect(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	size_t off, len;

	if (!m)
		return;
	part(t, m, &off, &len);
	if (mprotect(m->addr + off, len, PROT_READ)) {
		ALLOW(t, errno == ENOMEM, "mprotect(PROT_READ)");
		return;
	}
	/* Read it while it is read-only: the split VMAs are faulted. */
	(void)*(volatile char *)(m->addr + off);
	if (mprotect(m->addr + off, len, PROT_READ | PROT_WRITE)) {
		ALLOW(t, errno == ENOMEM, "mprotect(RW)");
		/* Never touch a read-only page: let it go. */
		drop(t, m);
	}
}

static void op_mremap(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	size_t len = (1 + rnd_below(t, MAX_PAGES)) * page_size;
	char *p;

	if (!m)
		return;
	p = mremap(m->addr, m->len, len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED) {
		/* EFAULT: the range spans VMAs a re-pricing split off. */
		ALLOW(t, errno == ENOMEM || errno == EFAULT, "mremap");
		return;
	}
	m->addr = p;
	m->len = len;
	touch(t, m, 4);
}

static void op_munmap(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	size_t keep;

	if (!m)
		return;
	keep = rnd_below(t, m->len / page_size) * page_size;
	if (!keep) {
		drop(t, m);
		return;
	}
	if (munmap(m->addr + keep, m->len - keep)) {
		ALLOW(t, errno == ENOMEM, "munmap (tail)");
		return;
	}
	m->len = keep;
}

static void op_madvise(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	size_t off, len;

	if (!m)
		return;
	part(t, m, &off, &len);
	if (madvise(m->addr + off, len,
		    rnd(t) & 1 ? MADV_DONTNEED : MADV_FREE))
		stress_error(t, "madvise", errno);
}

/* Give back what an ask names, if the range is one of this thread's. */
static void answer(struct stress_thread *t, const struct ramm_request *q)
{
	int i;

	t->r.records++;
	if (q->reason != RAMM_REASON_ASK)
		return;
	for (i = 0; i < MAX_MAPS; i++) {
		struct stress_map *m = &t->m[i];
		__u64 s = (uintptr_t)m->addr, e = s + m->len;
		__u64 from = q->start > s ? q->start : s;
		__u64 to = q->start + q->len < e ? q->start + q->len : e;

		if (!m->addr || from >= to)
			continue;
		if (to - from > q->amount)
			to = from + q->amount;
		if (madvise((void *)(uintptr_t)from, to - from, MADV_DONTNEED))
			stress_error(t, "madvise to give memory back", errno);
		else
			t->r.released += to - from;
		return;
	}
}

static void op_fd(struct stress_thread *t)
{
	struct ramm_request buf[8];
	struct pollfd pfd;
	ssize_t n;
	int i;

	if (t->fd < 0) {
		/* Blocking fds too: UNREGISTER must wake their readers. */
		t->fd = ramm_get_fd(rnd(t) & 1 ? O_NONBLOCK : 0);
		if (t->fd < 0)
			ALLOW(t, errno == ENOENT || errno == ENOMEM ||
			      errno == EMFILE, "PR_RAMM_GET_FD");
		return;
	}
	pfd.fd = t->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) < 0) {
		ALLOW(t, errno == EINTR, "poll(request fd)");
		return;
	}
	if (!(pfd.revents & (POLLIN | POLLHUP)))
		return;
	n = read(t->fd, buf, (1 + rnd_below(t, 8)) * sizeof(buf[0]));
	if (n < 0) {
		ALLOW(t, errno == EAGAIN || errno == EINTR, "read(request fd)");
		return;
	}
	if (n == 0) {
		/* Unregistered (by another thread): end-of-file. */
		close(t->fd);
		t->fd = -1;
		return;
	}
	if (n % sizeof(buf[0])) {
		stress_error(t, "read: a partial record", EPROTO);
		return;
	}
	for (i = 0; i < n / (ssize_t)sizeof(buf[0]); i++)
		answer(t, &buf[i]);
}

static void op_get_requests(struct stress_thread *t)
{
	struct ramm_request buf[4];
	long n;
	int i;

	n = ramm_get_requests(buf, (1 + rnd_below(t, 4)) * sizeof(buf[0]));
	if (n < 0) {
		ALLOW(t, errno == ENOENT || errno == EINTR,
		      "PR_RAMM_GET_REQUESTS");
		return;
	}
	for (i = 0; i < n && i < 4; i++)
		answer(t, &buf[i]);
}

static void op_register(struct stress_thread *t)
{
	switch (rnd_below(t, 3)) {
	case 0:
		if (ramm_register_default())
			ALLOW(t, errno == EBUSY || errno == ENOMEM,
			      "PR_RAMM_REGISTER");
		break;
	case 1:
		if (ramm_register(rnd(t) & 1 ? SIGUSR1 : 0, 0))
			ALLOW(t, errno == EBUSY || errno == ENOMEM,
			      "PR_RAMM_REGISTER");
		break;
	default:
		if (ramm_unregister())
			ALLOW(t, errno == ENOENT, "PR_RAMM_UNREGISTER");
		break;
	}
}

static void op_query(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	struct ramm_stats st;
	struct ramm_range r;

	if (ramm_get_stats(&st))
		stress_error(t, "PR_RAMM_GET_STATS", errno);
	else if (st.credit > 1000)
		stress_error(t, "credit above 1000", ERANGE);
	if (m && ramm_get_price((unsigned long)m->addr +
				rnd_below(t, m->len), &r))
		stress_error(t, "PR_RAMM_GET_PRICE", errno);
}

/* A child that touches this thread's memory, maybe registers, and exits. */
static void op_fork(struct stress_thread *t)
{
	struct stress_map *m = pick(t);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		ALLOW(t, errno == EAGAIN || errno == ENOMEM, "fork");
		return;
	}
	if (pid == 0) {
		struct ramm_stats st;

		if (m)
			touch(t, m, 8);
		/* A DEBUG_VM kernel checks the copied price list here. */
		if (ramm_get_stats(&st))
			_exit(3);
		if (rnd(t) & 1) {
			if (ramm_register_default() && errno != ENOMEM)
				_exit(1);
			if (m && ramm_set_price((unsigned long)m->addr,
						page_size, some_price(t),
						some_flags(t)) &&
			    errno != ENOMEM)
				_exit(2);
		}
		_exit(0);
	}
	t->r.forks++;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			stress_error(t, "waitpid", errno);
			return;
		}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		t->r.children_oom++;
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		stress_error(t, WIFEXITED(status) ?
			     "forked child failed" : "forked child crashed",
			     WIFEXITED(status) ? EPROTO : EFAULT);
}

static void *stress_thread_fn(void *arg)
{
	struct stress_thread *t = arg;
	int i;

	while (ramm_now_ns() < t->stop_ns) {
		t->r.ops++;
		switch (rnd_below(t, 20)) {
		case 0: case 1: case 2:
			op_map(t);
			break;
		case 3: case 4:
			op_reprice(t);
			break;
		case 5:
			op_mprotect(t);
			break;
		case 6:
			op_mremap(t);
			break;
		case 7:
			op_munmap(t);
			break;
		case 8:
			op_madvise(t);
			break;
		case 9: case 10: case 11:
			op_fd(t);
			break;
		case 12:
			op_get_requests(t);
			break;
		case 13:
			op_register(t);
			break;
		case 14:
			op_query(t);
			break;
		case 15:
			if (rnd_below(t, 4) == 0)
				op_fork(t);
			break;
		default: {
			struct stress_map *m = pick(t);

			if (m)
				touch(t, m, 16);
			break;
		}
		}
	}
	for (i = 0; i < MAX_MAPS; i++)
		if (t->m[i].addr)
			drop(t, &t->m[i]);
	if (t->fd >= 0)
		close(t->fd);
	return NULL;
}

/* A worker process: NR_THREADS threads until the stop time, then a report. */
static void stress_worker(int ctrl, int rep, const void *arg)
{
	const struct stress_arg *a = arg;
	static struct stress_thread t[NR_THREADS];
	struct stress_report r = { .magic = MAGIC_STRESS };
	struct sigaction sa;
	int i, started = 0;

	(void)ctrl;
	ramm_init_page_size();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stress_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	for (i = 0; i < NR_THREADS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].rng = mk_page_seed(a->seed, (__u64)i, 1);
		t[i].stop_ns = a->stop_ns;
		t[i].fd = -1;
		if (pthread_create(&t[i].th, NULL, stress_thread_fn, &t[i])) {
			if (!r.errors++)
				snprintf(r.msg, sizeof(r.msg),
					 "pthread_create failed");
			break;
		}
		started++;
	}
	/*
	 * A thread may sit in a blocking read() of its request fd: keep
	 * unregistering (which ends every read with end-of-file) until all
	 * have finished, the others registering again as they go.
	 */
	for (i = 0; i < started; i++) {
		struct timespec ts;

		do {
			ramm_unregister();
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		} while (pthread_timedjoin_np(t[i].th, NULL, &ts) == ETIMEDOUT);
		r.ops += t[i].r.ops;
		r.forks += t[i].r.forks;
		r.children_oom += t[i].r.children_oom;
		r.records += t[i].r.records;
		r.released += t[i].r.released;
		if (t[i].r.errors && !r.errors)
			memcpy(r.msg, t[i].r.msg, sizeof(r.msg));
		r.errors += t[i].r.errors;
	}
	ramm_unregister();
	r.signals = (__u64)stress_signals;
	if (mk_write_full(rep, &r, sizeof(r)))
		_exit(4);
	_exit(0);
}

/* The hog: touch up to 90% of MemTotal, let it go, again, until stopped. */
static void stress_hog(int ctrl, int rep, const void *arg)
{
	const struct stress_arg *a = arg;
	__u64 target = mk_page_align(mk_meminfo("MemTotal") / 10 * 9);
	struct pollfd pfd = { .fd = ctrl, .events = POLLIN };
	__u64 done, p;
	char *mem;

	(void)rep;
	ramm_init_page_size();
	while (ramm_now_ns() < a->stop_ns) {
		mem = mmap(NULL, target, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mem == MAP_FAILED)
			_exit(5);
		for (done = 0; done < target && ramm_now_ns() < a->stop_ns;
		     done += 4 * MK_MIB) {
			for (p = done; p < done + 4 * MK_MIB && p < target;
			     p += page_size)
				*(volatile __u64 *)(mem + p) = p | 1;
			if (poll(&pfd, 1, 0) > 0)
				_exit(0);
		}
		munmap(mem, target);
		ramm_sleep_ms(100);
	}
	_exit(0);
}

FIXTURE(stress) {
	struct ramm_env env;
	struct ramm_tunables_saved saved;
	struct mk_kids kids;
};

FIXTURE_SETUP(stress)
{
	ramm_env_probe(&self->env);
	if (self->env.version > 0)
		mk_children_setup(&self->saved);
}

FIXTURE_TEARDOWN(stress)
{
	mk_children_teardown(&self->env, &self->kids, &self->saved);
}

TEST_F_TIMEOUT(stress, churn, 600)
{
	struct stress_arg wargs[NR_WORKERS], hargs;
	struct stress_report reports[NR_WORKERS];
	struct mk_child *workers[NR_WORKERS], *hog;
	__u64 seconds = DEFAULT_SECONDS, p0, p = 0, stop;
	int i, hogs = 1, hog_kills = 0;
	const char *env;
	char how[48];

	if (ramm_skip(_metadata, &self->env))
		return;
	env = getenv("RAMM_STRESS_SECONDS");
	if (env && *env)
		seconds = strtoull(env, NULL, 10);
	if (seconds < 1)
		seconds = 1;
	if (seconds > MAX_SECONDS) {
		TH_LOG("RAMM_STRESS_SECONDS %llu: %d at most",
		       (unsigned long long)seconds, MAX_SECONDS);
		seconds = MAX_SECONDS;
	}
	ASSERT_EQ(0, ramm_participants_settled(&p0));
	stop = ramm_now_ns() + seconds * 1000000000ULL;
	TH_LOG("%d processes x %d threads for %llu s", NR_WORKERS,
	       NR_THREADS, (unsigned long long)seconds);

	hargs.seed = 0;
	hargs.stop_ns = stop;
	/* oom_score_adj 1000: if the OOM killer runs, it takes the hog. */
	hog = mk_spawn(&self->kids, "hog", 1000, stress_hog, &hargs);
	ASSERT_NE(NULL, hog);
	for (i = 0; i < NR_WORKERS; i++) {
		char name[16];

		wargs[i].seed = 100 + i;
		wargs[i].stop_ns = stop;
		snprintf(name, sizeof(name), "worker-%d", i);
		workers[i] = mk_spawn(&self->kids, name, 0, stress_worker,
				      &wargs[i]);
		ASSERT_NE(NULL, workers[i]);
	}

	/* Keep a hog running; an OOM-killed one is replaced. */
	while (ramm_now_ns() < stop) {
		ramm_sleep_ms(200);
		if (mk_reap(hog, 0))
			continue;
		ASSERT_TRUE(mk_killed(hog) || mk_exited_ok(hog)) {
			TH_LOG("hog: %s", mk_how(hog, how, sizeof(how)));
		}
		if (mk_killed(hog))
			hog_kills++;
		mk_close(hog);
		if (ramm_now_ns() >= stop || hogs >= MK_MAX_KIDS - NR_WORKERS)
			break;
		hog = mk_spawn(&self->kids, "hog", 1000, stress_hog, &hargs);
		ASSERT_NE(NULL, hog);
		hogs++;
	}

	for (i = 0; i < NR_WORKERS; i++) {
		struct stress_report *r = &reports[i];

		memset(r, 0, sizeof(*r));
		ASSERT_EQ(0, mk_read_full(workers[i]->rep, r, sizeof(*r),
					  120000)) {
			mk_reap(workers[i], 1000);
			TH_LOG("%s sent no report: %s", workers[i]->name,
			       mk_how(workers[i], how, sizeof(how)));
		}
		ASSERT_EQ(0, mk_reap(workers[i], 30000));
		ASSERT_TRUE(mk_exited_ok(workers[i])) {
			TH_LOG("%s: %s", workers[i]->name,
			       mk_how(workers[i], how, sizeof(how)));
		}
		ASSERT_EQ(MAGIC_STRESS, r->magic);
		TH_LOG("%s: %llu ops, %llu forks (%llu OOM killed), %llu records, %llu KiB given back, %llu signals",
		       workers[i]->name, (unsigned long long)r->ops,
		       (unsigned long long)r->forks,
		       (unsigned long long)r->children_oom,
		       (unsigned long long)r->records,
		       (unsigned long long)(r->released / 1024),
		       (unsigned long long)r->signals);
	}
	mk_hog_release(hog, 30000);
	TH_LOG("hogs: %d started, %d OOM killed", hogs, hog_kills);

	for (i = 0; i < NR_WORKERS; i++) {
		ASSERT_EQ(0, reports[i].errors) {
			TH_LOG("%s: %llu calls failed wrongly, first: %s",
			       workers[i]->name,
			       (unsigned long long)reports[i].errors,
			       reports[i].msg);
		}
	}
	/* Everybody who registered is gone: the count is back. */
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, ramm_sysfs_read("participants", &p));
		if (p == p0)
			break;
		ramm_sleep_ms(10);
	}
	ASSERT_EQ(p0, p);
}

TEST_HARNESS_MAIN
