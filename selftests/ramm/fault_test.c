// SPDX-License-Identifier: GPL-2.0
/*
 * RAMM under faults: a participant killed while answering, exit racing
 * krammmd, a purge racing page faults on the same range, an OOM kill
 * while an ask is pending, a fork storm of a process with priced memory,
 * and unregistration racing krammmd's wake-up.  Pressure is made in a
 * memory cgroup (bounds_helpers.h), so the machine stays usable.  Each
 * test checks what must hold afterwards (exit statuses, the victim of
 * the OOM killer, page contents, counters, the participants settling
 * back); the console scan after the run catches what the kernel's
 * debugging options report.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "bounds_helpers.h"

#define CG	BH_CGROUP_ROOT "/ramm-fault"

FIXTURE(fault) {
	struct ramm_env env;
	struct ramm_tunables_saved saved;
	__u64 participants;
};

FIXTURE_SETUP(fault)
{
	ramm_env_probe(&self->env);
	if (self->env.version > 0) {
		ramm_tunables_save(&self->saved);
		ramm_participants_settled(&self->participants);
	}
}

FIXTURE_TEARDOWN(fault)
{
	if (self->env.version > 0)
		ramm_tunables_restore(&self->saved);
	bh_cgroup_remove(CG);
}

#define FAULT_START(_high, _noswap) do {				\
	if (ramm_skip(_metadata, &self->env))				\
		return;							\
	if (geteuid())							\
		SKIP(return, "needs root for a memory cgroup");		\
	ASSERT_EQ(0, bh_cgroup_make(CG, _high, _noswap)) {		\
		TH_LOG("cgroup2 with the memory controller: %s",	\
		       strerror(errno));				\
	}								\
} while (0)

/* Every participant a test started is gone again. */
#define ASSERT_PARTICIPANTS_BACK() do {					\
	__u64 _now = 0;							\
									\
	ASSERT_EQ(0, ramm_participants_settled(&_now));			\
	ASSERT_EQ(self->participants, _now);				\
} while (0)

#define ASSERT_EXITED_OK(_st, _who) do {				\
	char _how[32];							\
									\
	ASSERT_TRUE((_st) != -1 && WIFEXITED(_st) &&			\
		    WEXITSTATUS(_st) == 0) {				\
		TH_LOG("%s: %s", _who, bh_how(_st, _how, sizeof(_how)));\
	}								\
} while (0)

static __u64 verdicts(void)
{
	return bh_counter("answered") + bh_counter("late") +
	       bh_counter("ignored");
}

/* Fork a child in the test cgroup. */
static pid_t spawn_in_cg(void)
{
	pid_t pid = fork();

	if (!pid && bh_cgroup_enter(CG))
		_exit(BH_FAIL(90));
	return pid;
}

/* One byte from @fd within @timeout_ms; the byte, or -1. */
static int read_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

/*
 * The owner is SIGKILLed half way through giving back what it was asked
 * for.  Its ask, still pending, is judged (ignored, on unregistration at
 * exit), and the participant is gone.
 */
TEST_F_TIMEOUT(fault, participant_killed_while_answering, 90)
{
	__u64 v0 = verdicts();
	int pipefd[2], st;
	pid_t pid;

	FAULT_START(4 << 20, false);
	ASSERT_EQ(0, pipe(pipefd));
	pid = spawn_in_cg();
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t len = 8 << 20;
		struct ramm_request rec;
		__u64 tag = 1, off;
		char *p;
		int fd;

		close(pipefd[0]);
		p = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 10, 0);
		if (p == MAP_FAILED || ramm_register(0, 0))
			_exit(BH_FAIL(1));
		fd = ramm_get_fd(O_NONBLOCK);
		if (fd < 0)
			_exit(BH_FAIL(2));
		for (;;) {
			bh_touch(p, len, tag++);
			if (read(fd, &rec, sizeof(rec)) != sizeof(rec) ||
			    rec.reason != RAMM_REASON_ASK)
				continue;
			break;
		}
		/* Half of it now, then tell the parent, then the rest. */
		madvise((void *)rec.start, rec.amount / 2, MADV_DONTNEED);
		if (write(pipefd[1], "A", 1) != 1)
			_exit(BH_FAIL(3));
		for (off = rec.amount / 2; off < rec.amount; off += page_size) {
			madvise((void *)(rec.start + off), page_size,
				MADV_DONTNEED);
			ramm_sleep_ms(1);
		}
		pause();
		_exit(BH_FAIL(4));
	}
	close(pipefd[1]);
	ASSERT_EQ('A', read_byte(pipefd[0], 30000)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		TH_LOG("the participant was never asked");
	}
	ASSERT_EQ(0, kill(pid, SIGKILL));
	st = bh_wait(pid, 10000);
	close(pipefd[0]);
	ASSERT_TRUE(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ASSERT_PARTICIPANTS_BACK();
	/* The pending ask got its verdict: ignored at exit, or judged. */
	ASSERT_LT(v0, verdicts());
}

/*
 * Participants exit while krammmd is asking them: each exits as soon as
 * it sees it was asked (so the next pass finds it half gone), after a
 * varying number of further rounds of touching its memory.
 */
TEST_F_TIMEOUT(fault, exit_racing_krammmd, 90)
{
	__u64 requests = bh_counter("requests");
	const int rounds = 6;
	int i, st;
	pid_t pid;

	FAULT_START(1 << 20, false);
	for (i = 0; i < rounds; i++) {
		pid = spawn_in_cg();
		ASSERT_LE(0, pid);
		if (!pid) {
			__u64 r0 = bh_counter("requests"), tag = 1;
			size_t n = 512;
			int extra = i % 4;
			char *p;

			if (ramm_register(0, 0))
				_exit(BH_FAIL(1));
			p = bh_map_ranges(n, 100, 0);
			if (!p)
				_exit(BH_FAIL(2));
			while (bh_counter("requests") == r0)
				bh_touch(p, n * page_size, tag++);
			while (extra--)
				bh_touch(p, n * page_size, tag++);
			_exit(0);
		}
		st = bh_wait(pid, 30000);
		ASSERT_EXITED_OK(st, "participant");
	}
	ASSERT_PARTICIPANTS_BACK();
	ASSERT_LE(requests + rounds, bh_counter("requests"));
}

struct toucher {
	char *p;
	size_t pages;
	unsigned int first;	/* touches pages first, first + 2, ... */
	bool *stop;
	__u64 bad, zeroes, gone, rounds;
};

/*
 * Check each of its pages still holds what it wrote last round, or 0 if
 * a purge zapped it since (counted in ->gone); write it and read it
 * straight back: the value must be the one written, or 0 if a purge
 * zapped the page in between (->zeroes).
 */
static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	size_t i;

	while (!__atomic_load_n(t->stop, __ATOMIC_RELAXED)) {
		t->rounds++;
		for (i = t->first; i < t->pages; i += 2) {
			__u64 *w = (__u64 *)(t->p + i * page_size);
			__u64 tag = (t->rounds << 32) | (i + 1), v;

			v = __atomic_load_n(w, __ATOMIC_RELAXED);
			if (v == 0)
				t->gone++;
			else if (v != (((t->rounds - 1) << 32) | (i + 1)))
				t->bad++;
			__atomic_store_n(w, tag, __ATOMIC_RELAXED);
			v = __atomic_load_n(w, __ATOMIC_RELAXED);
			if (v == 0)
				t->zeroes++;
			else if (v != tag)
				t->bad++;
		}
	}
	return NULL;
}

/*
 * Discardable memory is purged (by the cgroup's reclaim and by krammmd)
 * while two threads fault its pages in and check them.  A page holds
 * what was last written to it or zeroes, never anything else (no stale
 * data comes back), and the threads did see pages purged under them.
 */
TEST_F_TIMEOUT(fault, purge_racing_fault, 90)
{
	__u64 purged0 = bh_counter("pages_purged_direct") +
			bh_counter("pages_purged_krammmd");
	int st;
	pid_t pid;

	FAULT_START(2 << 20, false);
	pid = spawn_in_cg();
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t len = 8 << 20;
		bool stop = false;
		struct ramm_request recs[64];
		struct toucher t[2];
		pthread_t th[2];
		__u64 end = ramm_now_ns() + 20000000000ULL, purged;
		int i;

		char *p = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, 10,
				      RAMM_DISCARDABLE);

		if (p == MAP_FAILED || ramm_register(0, 0))
			_exit(BH_FAIL(1));
		for (i = 0; i < 2; i++) {
			t[i] = (struct toucher){
				.p = p, .pages = len / page_size,
				.first = i, .stop = &stop,
			};
			if (pthread_create(&th[i], NULL, toucher_main, &t[i]))
				_exit(BH_FAIL(2));
		}
		/* Keep the queue read, so that purges have slots. */
		do {
			ramm_get_requests(recs, sizeof(recs));
			ramm_sleep_ms(5);
			purged = bh_counter("pages_purged_direct") +
				 bh_counter("pages_purged_krammmd") - purged0;
		} while (purged < 4096 && ramm_now_ns() < end);
		__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		printf("# purged %llu pages; found purged %llu + %llu, zeroes read back %llu + %llu\n",
		       (unsigned long long)purged,
		       (unsigned long long)t[0].gone,
		       (unsigned long long)t[1].gone,
		       (unsigned long long)t[0].zeroes,
		       (unsigned long long)t[1].zeroes);
		fflush(stdout);
		if (t[0].bad || t[1].bad)
			_exit(BH_FAIL(3));
		if (purged < 4096)
			_exit(BH_FAIL(4));
		/* The threads did find pages purged since they wrote them. */
		if (!t[0].gone && !t[1].gone)
			_exit(BH_FAIL(5));
		_exit(0);
	}
	st = bh_wait(pid, 40000);
	ASSERT_EXITED_OK(st, "participant with two faulting threads");
	ASSERT_PARTICIPANTS_BACK();
}

/*
 * A participant that does not read its queue holds 12 MiB of discardable
 * memory; a hog in the same cgroup (memory.max 24 MiB, no swap) wants
 * 48 MiB.  The participant's memory is purged and the OOM killer, when it
 * comes, kills the hog, not the participant, which would have been the
 * bigger without RAMM.
 */
TEST_F_TIMEOUT(fault, oom_during_pending_request, 90)
{
	int pipefd[2], cmd[2], st, hst;
	pid_t part, hog;

	FAULT_START(0, true);
	ASSERT_EQ(0, bh_cgroup_set(CG, "memory.max", "25165824\n"));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(0, pipe(cmd));
	part = spawn_in_cg();
	ASSERT_LE(0, part);
	if (!part) {
		struct ramm_request recs[64];
		struct ramm_stats s;
		size_t len = 12 << 20;
		char *p;
		char c;

		close(pipefd[0]);
		close(cmd[1]);
		p = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 10,
				RAMM_DISCARDABLE);
		if (p == MAP_FAILED || ramm_register(0, 0))
			_exit(BH_FAIL(1));
		bh_touch(p, len, 1);
		if (write(pipefd[1], "R", 1) != 1)
			_exit(BH_FAIL(2));
		/* Wait, without reading the queue, until told. */
		if (read(cmd[0], &c, 1) != 1)
			_exit(BH_FAIL(3));
		if (ramm_get_stats(&s) || !s.purged_bytes)
			_exit(BH_FAIL(4));
		if (ramm_get_requests(recs, sizeof(recs)) < 1)
			_exit(BH_FAIL(5));
		_exit(0);
	}
	close(pipefd[1]);
	close(cmd[0]);
	ASSERT_EQ('R', read_byte(pipefd[0], 20000));
	hog = spawn_in_cg();
	ASSERT_LE(0, hog);
	if (!hog) {
		size_t step = 1 << 20, got;

		for (got = 0; got < (48 << 20); got += step) {
			char *h = mmap(NULL, step, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (h == MAP_FAILED)
				_exit(BH_FAIL(1));
			bh_touch(h, step, 7);
		}
		_exit(BH_FAIL(2));	/* 48 MiB in a 24 MiB cgroup */
	}
	hst = bh_wait(hog, 30000);
	if (write(cmd[1], "Q", 1) != 1)
		kill(part, SIGKILL);
	st = bh_wait(part, 10000);
	close(pipefd[0]);
	close(cmd[1]);
	ASSERT_TRUE(hst != -1 && WIFSIGNALED(hst) && WTERMSIG(hst) == SIGKILL) {
		char how[32];

		TH_LOG("the hog: %s", bh_how(hst, how, sizeof(how)));
	}
	ASSERT_EXITED_OK(st, "participant");
	ASSERT_LE(1, bh_cgroup_value(CG, "memory.events", "oom_kill"));
	ASSERT_PARTICIPANTS_BACK();
}

/*
 * A participant with priced memory forks 60 children, ten at a time,
 * under pressure.  Each child starts unregistered, sees the parent's
 * prices on its copies, writes to them (copy-on-write) and prices a
 * mapping of its own.  All exit 0, and the parent's prices and
 * registration are untouched.
 */
TEST_F_TIMEOUT(fault, fork_storm_priced, 90)
{
	int st;
	pid_t pid;

	FAULT_START(6 << 20, false);
	pid = spawn_in_cg();
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t len = 2 << 20;
		struct ramm_request recs[64];
		__u64 priced0, priced1;
		struct ramm_range r;
		pid_t kids[10];
		char *d, *v;
		int i, k;

		d = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 10,
				RAMM_DISCARDABLE);
		v = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 1000, 0);
		if (d == MAP_FAILED || v == MAP_FAILED || ramm_register(0, 0))
			_exit(BH_FAIL(1));
		bh_touch(d, len, 1);
		bh_touch(v, len, 1);
		if (status_kb("RammPriced", &priced0))
			_exit(BH_FAIL(2));
		for (i = 0; i < 6; i++) {
			for (k = 0; k < 10; k++) {
				kids[k] = fork();
				if (kids[k] < 0)
					_exit(BH_FAIL(3));
				if (kids[k])
					continue;
				if (ramm_registered() != 0)
					_exit(BH_FAIL(1));
				if (ramm_get_price((unsigned long)v, &r) ||
				    r.price != 1000)
					_exit(BH_FAIL(2));
				bh_touch(d, len / 32, 100 + k);
				bh_touch(v, len / 32, 100 + k);
				if (ramm_set_price((unsigned long)v, page_size,
						   5, RAMM_DISCARDABLE))
					_exit(BH_FAIL(3));
				_exit(0);
			}
			for (k = 0; k < 10; k++) {
				st = bh_wait(kids[k], 20000);
				if (st == -1 || !WIFEXITED(st) ||
				    WEXITSTATUS(st)) {
					printf("# fork %d.%d: %d\n", i, k, st);
					fflush(stdout);
					_exit(BH_FAIL(4));
				}
			}
			bh_touch(v, len, i);
			ramm_get_requests(recs, sizeof(recs));
		}
		if (ramm_registered() != 1)
			_exit(BH_FAIL(5));
		if (ramm_get_price((unsigned long)v, &r) || r.price != 1000 ||
		    r.len != len)
			_exit(BH_FAIL(6));
		if (ramm_get_price((unsigned long)d, &r) || r.price != 10 ||
		    r.ramm_flags != RAMM_DISCARDABLE || r.len != len)
			_exit(BH_FAIL(7));
		if (status_kb("RammPriced", &priced1) || priced1 != priced0)
			_exit(BH_FAIL(8));
		_exit(0);
	}
	st = bh_wait(pid, 50000);
	ASSERT_EXITED_OK(st, "forking participant");
	ASSERT_PARTICIPANTS_BACK();
}

static volatile sig_atomic_t usr1_hits;

static void on_usr1(int sig)
{
	usr1_hits++;
}

struct reader {
	int fd;
	ssize_t last;		/* what the final read() returned */
	int err;
	int records;
};

/* Read the fd, blocking, until end-of-file or an error. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct ramm_request rec[8];

	for (;;) {
		r->last = read(r->fd, rec, sizeof(rec));
		if (r->last <= 0)
			break;
		r->records += r->last / sizeof(rec[0]);
	}
	r->err = r->last < 0 ? errno : 0;
	return NULL;
}

static void *pressure_main(void *arg)
{
	struct toucher *t = arg;
	__u64 tag = 1;

	while (!__atomic_load_n(t->stop, __ATOMIC_RELAXED))
		bh_touch(t->p, t->pages * page_size, tag++);
	return NULL;
}

/*
 * Register, and unregister while krammmd is asking and waking: a thread
 * blocked in read() on the fd must see end-of-file, poll() must say
 * POLLHUP, and nothing queued may outlive the registration.  100 rounds,
 * while another thread keeps the cgroup over memory.high.
 */
TEST_F_TIMEOUT(fault, unregister_racing_wake, 90)
{
	__u64 requests = bh_counter("requests");
	int st;
	pid_t pid;

	FAULT_START(1 << 20, false);
	pid = spawn_in_cg();
	ASSERT_LE(0, pid);
	if (!pid) {
		bool stop = false;
		struct toucher t = { .stop = &stop, .pages = 512 };
		struct pollfd pfd;
		pthread_t pt, rt;
		int i, records = 0;

		signal(SIGUSR1, on_usr1);
		t.p = bh_map_ranges(t.pages, 100, 0);
		if (!t.p)
			_exit(BH_FAIL(1));
		if (pthread_create(&pt, NULL, pressure_main, &t))
			_exit(BH_FAIL(2));
		for (i = 0; i < 100; i++) {
			struct reader r = { 0 };

			if (ramm_register(i % 2 ? SIGUSR1 : 0, 0))
				_exit(BH_FAIL(3));
			r.fd = ramm_get_fd(0);
			if (r.fd < 0)
				_exit(BH_FAIL(4));
			if (pthread_create(&rt, NULL, reader_main, &r))
				_exit(BH_FAIL(5));
			/* Let krammmd find this registration, or not. */
			sched_yield();
			if (i % 3)
				ramm_sleep_ms(i % 7);
			if (ramm_unregister())
				_exit(BH_FAIL(6));
			pthread_join(rt, NULL);
			if (r.last != 0)
				_exit(BH_FAIL(7));
			pfd = (struct pollfd){ .fd = r.fd, .events = POLLIN };
			if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLHUP))
				_exit(BH_FAIL(8));
			close(r.fd);
			records += r.records;
			if (ramm_get_requests(NULL, 0) != -1 ||
			    errno != ENOENT)
				_exit(BH_FAIL(9));
		}
		__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
		pthread_join(pt, NULL);
		printf("# 100 registrations: %d records read, %d signals\n",
		       records, (int)usr1_hits);
		fflush(stdout);
		_exit(0);
	}
	st = bh_wait(pid, 50000);
	ASSERT_EXITED_OK(st, "registering and unregistering participant");
	ASSERT_PARTICIPANTS_BACK();
	/* krammmd was asking during the rounds, so the races were run. */
	ASSERT_LT(requests, bh_counter("requests"));
}

int ramm_harness_main(int argc, char **argv);

#define main ramm_harness_main
TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	return ramm_harness_main(argc, argv);
}
