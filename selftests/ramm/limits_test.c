// SPDX-License-Identifier: GPL-2.0
/*
 * The abuse bounds of RAMM (Documentation/admin-guide/mm/ramm.rst,
 * "Limits"), each tried by an unprivileged process: every test forks a
 * child that drops to uid and gid 65534 with no supplementary groups
 * before it touches RAMM, and reports by its exit status (0, or the
 * BH_FAIL() code of the check that failed).  The root parent only sets
 * up (a memory cgroup, a tunable) and checks what the kernel counted.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "bounds_helpers.h"

#define CG	BH_CGROUP_ROOT "/ramm-limits"

FIXTURE(limits) {
	struct ramm_env env;
	struct ramm_tunables_saved saved;
	char max_map_count[32];
};

FIXTURE_SETUP(limits)
{
	FILE *f;

	ramm_env_probe(&self->env);
	if (self->env.version > 0)
		ramm_tunables_save(&self->saved);
	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (!fgets(self->max_map_count, sizeof(self->max_map_count), f))
			self->max_map_count[0] = 0;
		fclose(f);
	}
}

FIXTURE_TEARDOWN(limits)
{
	if (self->env.version > 0)
		ramm_tunables_restore(&self->saved);
	if (self->max_map_count[0])
		ramm_write_file("/proc/sys/vm/max_map_count", self->max_map_count);
	bh_cgroup_remove(CG);
}

/* The common start of a test: RAMM there, and root to drop from. */
#define LIMITS_START() do {						\
	if (ramm_skip(_metadata, &self->env))				\
		return;							\
	if (geteuid())							\
		SKIP(return, "must start as root to drop privileges");	\
} while (0)

/* Fork a child that drops privileges (after entering @cg, if any). */
static pid_t spawn_unprivileged(const char *cg)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (cg && bh_cgroup_enter(cg))
		_exit(BH_FAIL(90));
	if (bh_drop_privileges())
		_exit(BH_FAIL(91));
	return 0;
}

#define ASSERT_CHILD_OK(_pid, _timeout_ms) do {				\
	int _st = bh_wait(_pid, _timeout_ms);				\
	char _how[32];							\
									\
	ASSERT_TRUE(_st != -1 && WIFEXITED(_st) &&			\
		    WEXITSTATUS(_st) == 0) {				\
		TH_LOG("unprivileged child: %s",			\
		       bh_how(_st, _how, sizeof(_how)));		\
	}								\
} while (0)

/*
 * Touch [p, p + len) again and again until counter @name exceeds @above,
 * or @timeout_ms pass.  The loop makes the pressure; the counter decides.
 */
static bool pressure_until(char *p, size_t len, const char *name, __u64 above,
			   int timeout_ms)
{
	__u64 end = ramm_now_ns() + (__u64)timeout_ms * 1000000ULL, tag = 2;

	while (ramm_now_ns() < end) {
		if (bh_counter(name) > above)
			return true;
		bh_touch(p, len, tag++);
	}
	return bh_counter(name) > above;
}

/* Every tunable refuses an unprivileged writer: EACCES at open(). */
TEST_F(limits, sysfs_tunables_root_only)
{
	char path[128], before[32], after[32];
	unsigned int i;
	pid_t pid;
	int fd;

	LIMITS_START();
	pid = spawn_unprivileged(NULL);
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 v;

		for (i = 0; i < ARRAY_SIZE(ramm_tunables); i++) {
			snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s",
				 ramm_tunables[i]);
			fd = open(path, O_WRONLY);
			if (fd >= 0 || errno != EACCES)
				_exit(BH_FAIL(i));
			/* Readable by all. */
			if (ramm_sysfs_read(ramm_tunables[i], &v))
				_exit(BH_FAIL(40 + i));
		}
		for (i = 0; i < ARRAY_SIZE(ramm_counters); i++) {
			snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s",
				 ramm_counters[i]);
			fd = open(path, O_WRONLY);
			if (fd >= 0 || (errno != EACCES && errno != EPERM))
				_exit(BH_FAIL(20 + i));
		}
		_exit(0);
	}
	snprintf(before, sizeof(before), "%llu",
		 (unsigned long long)bh_counter("queue_len"));
	ASSERT_CHILD_OK(pid, 10000);
	snprintf(after, sizeof(after), "%llu",
		 (unsigned long long)bh_counter("queue_len"));
	ASSERT_STREQ(before, after);
}

/*
 * PR_RAMM has no pid argument: it prices and reads the caller's own
 * address space.  A forked unprivileged child repricing its copy, or
 * pricing an address only the parent maps, changes nothing of the
 * parent's.
 */
TEST_F(limits, prctl_only_own_memory)
{
	struct ramm_range r;
	char *a, *b;
	pid_t pid;

	LIMITS_START();
	a = mmap_priced(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, 777, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, b);
	pid = spawn_unprivileged(NULL);
	ASSERT_LE(0, pid);
	if (!pid) {
		struct ramm_range r = { .addr = (unsigned long)a };

		if (ramm_set_price((unsigned long)a, 4 * page_size, 5,
				   RAMM_DISCARDABLE))
			_exit(BH_FAIL(1));
		if (munmap(b, page_size))
			_exit(BH_FAIL(2));
		errno = 0;
		if (ramm_set_price((unsigned long)b, page_size, 5, 0) != -1 ||
		    errno != ENOMEM)
			_exit(BH_FAIL(3));
		/* No fifth argument to name another process by. */
		errno = 0;
		if (ramm_prctl(PR_RAMM_GET_PRICE, (unsigned long)&r,
			       sizeof(r), getppid()) != -1 || errno != EINVAL)
			_exit(BH_FAIL(4));
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, 10000);
	ASSERT_EQ(0, ramm_get_price((unsigned long)a, &r));
	EXPECT_EQ(777, r.price);
	EXPECT_EQ(0, r.ramm_flags);
	EXPECT_EQ(4 * page_size, r.len);
	ASSERT_EQ(0, ramm_get_price((unsigned long)b, &r));
	EXPECT_EQ(0, r.price);
	munmap(a, 4 * page_size);
	munmap(b, page_size);
}

/*
 * Another process's prices are in its smaps, which needs
 * PTRACE_MODE_READ: an unprivileged process reads its own, not root's.
 */
TEST_F(limits, smaps_prices_need_ptrace_read)
{
	char *a;
	pid_t pid, parent = getpid();

	LIMITS_START();
	a = mmap_priced(NULL, page_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, 4242, 0);
	ASSERT_NE(MAP_FAILED, a);
	pid = spawn_unprivileged(NULL);
	ASSERT_LE(0, pid);
	if (!pid) {
		struct smaps_vma v;
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/smaps", parent);
		fd = open(path, O_RDONLY);
		if (fd >= 0 || errno != EACCES)
			_exit(BH_FAIL(1));
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", parent);
		fd = open(path, O_RDONLY);
		if (fd >= 0 || errno != EACCES)
			_exit(BH_FAIL(2));
		/* Its own copy of the range, price and all. */
		if (smaps_find((unsigned long)a, &v) || v.price != 4242)
			_exit(BH_FAIL(3));
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, 10000);
	munmap(a, page_size);
}

/*
 * Priced ranges are VMAs: a process has at most vm.max_map_count of them.
 * Pricing every other page of a large mapping stops with ENOMEM at the
 * limit, which is lowered here to 1000 to keep the test short.
 */
TEST_F_TIMEOUT(limits, priced_ranges_bounded_by_max_map_count, 90)
{
	pid_t pid;

	LIMITS_START();
	ASSERT_EQ(0, ramm_write_file("/proc/sys/vm/max_map_count", "1000\n"));
	pid = spawn_unprivileged(NULL);
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t n = 4096, i, priced = 0;
		char *p = mmap(NULL, n * page_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char line[256];
		int maps = 0;
		FILE *f;

		if (p == MAP_FAILED)
			_exit(BH_FAIL(1));
		for (i = 0; i < n; i += 2) {
			if (ramm_set_price((unsigned long)p + i * page_size,
					   page_size, 100, 0))
				break;
			priced++;
		}
		if (i >= n || errno != ENOMEM)
			_exit(BH_FAIL(2));
		f = fopen("/proc/self/maps", "r");
		if (!f)
			_exit(BH_FAIL(3));
		while (fgets(line, sizeof(line), f))
			maps++;
		fclose(f);
		/* [vsyscall] is not a VMA of the mm. */
		if (maps > 1001 || priced > 1000 || priced < 400)
			_exit(BH_FAIL(4));
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, 20000);
}

/*
 * A participant's queue holds queue_len records, allocated once at
 * registration: one that never reads has at most that many queued, and
 * the rest is counted as overflow (system-wide and in its own stats).
 * Registering again while registered is EBUSY: one queue per process.
 */
TEST_F_TIMEOUT(limits, queue_bounded_by_queue_len, 90)
{
	__u64 overflows;
	pid_t pid;

	LIMITS_START();
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "4\n"));
	ASSERT_EQ(0, bh_cgroup_make(CG, 1 << 20, false)) {
		TH_LOG("cgroup2 with the memory controller: %s",
		       strerror(errno));
	}
	overflows = bh_counter("queue_overflows");
	pid = spawn_unprivileged(CG);
	ASSERT_LE(0, pid);
	if (!pid) {
		struct ramm_request recs[64];
		struct ramm_stats st;
		size_t n = 512;
		char *p;
		long got;

		if (ramm_register(0, 0))
			_exit(BH_FAIL(1));
		if (ramm_register(0, 0) != -1 || errno != EBUSY)
			_exit(BH_FAIL(2));
		p = bh_map_ranges(n, 100, 0);
		if (!p)
			_exit(BH_FAIL(3));
		if (!pressure_until(p, n * page_size, "queue_overflows",
				    overflows, 20000))
			_exit(BH_FAIL(4));
		/* Room for 64, but only queue_len can have been queued. */
		got = ramm_get_requests(recs, sizeof(recs));
		if (got < 0 || got > 4)
			_exit(BH_FAIL(5));
		if (ramm_get_stats(&st) || !st.queue_overflows)
			_exit(BH_FAIL(6));
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, 40000);
	ASSERT_LT(overflows, bh_counter("queue_overflows"));
}

static void on_rt(int sig)
{
}

/*
 * A participant has at most one RAMM signal pending: while its real-time
 * signal is blocked, passes that queue records coalesce instead of
 * queueing a signal each (which would cost a sigqueue entry per pass).
 */
TEST_F_TIMEOUT(limits, signals_at_most_one_pending, 90)
{
	__u64 sent, coalesced;
	pid_t pid;

	LIMITS_START();
	ASSERT_EQ(0, bh_cgroup_make(CG, 1 << 20, false)) {
		TH_LOG("cgroup2 with the memory controller: %s",
		       strerror(errno));
	}
	sent = bh_counter("signals_sent");
	coalesced = bh_counter("signals_coalesced");
	pid = spawn_unprivileged(CG);
	ASSERT_LE(0, pid);
	if (!pid) {
		int sig = SIGRTMIN + 2;
		size_t n = 512;
		sigset_t set;
		char *p;

		signal(sig, on_rt);
		sigemptyset(&set);
		sigaddset(&set, sig);
		if (sigprocmask(SIG_BLOCK, &set, NULL))
			_exit(BH_FAIL(1));
		if (ramm_register(sig, 0))
			_exit(BH_FAIL(2));
		p = bh_map_ranges(n, 100, 0);
		if (!p)
			_exit(BH_FAIL(3));
		if (!pressure_until(p, n * page_size, "signals_coalesced",
				    coalesced + 2, 20000))
			_exit(BH_FAIL(4));
		/* The user's only queued signal is RAMM's one. */
		if (bh_sigq() != 1)
			_exit(BH_FAIL(5));
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, 40000);
	ASSERT_LT(sent, bh_counter("signals_sent"));
	ASSERT_LT(coalesced + 2, bh_counter("signals_coalesced"));
}

/*
 * The scene of the pass-budget tests: a queue of one per participant,
 * pass_budget_ms @budget_ms, and the cgroup CG kept at 4 MiB by
 * memory.high, whose reclaim calls for passes.
 */
static void budget_scene(struct __test_metadata *_metadata,
			 const char *budget_ms)
{
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "1\n"));
	ASSERT_EQ(0, ramm_sysfs_write("pass_budget_ms", budget_ms));
	ASSERT_EQ(0, bh_cgroup_make(CG, 4 << 20, false)) {
		TH_LOG("cgroup2 with the memory controller: %s",
		       strerror(errno));
	}
}

/*
 * A pass of krammmd stops asking after pass_budget_ms (set here to 5 ms,
 * half the default, so that the test follows the tunable).  The worst case
 * for it: many one-page ranges and a queue of one, so that every range
 * after the first is searched for and found unaskable, which unbounded
 * takes a search (a walk of all ranges) per range.  The CPU krammmd used
 * per pass must stay near the budget.
 */
TEST_F_TIMEOUT(limits, krammmd_cpu_per_pass_bounded, 90)
{
	__u64 cpu0, cpu1, passes0, passes1, cut0, per_pass;
	pid_t pid, kd;

	LIMITS_START();
	kd = bh_find_kthread("krammmd");
	ASSERT_LT(0, kd);
	budget_scene(_metadata, "5\n");
	cut0 = bh_counter("passes_over_budget");
	pid = spawn_unprivileged(CG);
	ASSERT_LE(0, pid);
	if (!pid) {
		size_t n = 3000;
		char *p;

		if (ramm_register(0, 0))
			_exit(BH_FAIL(1));
		p = bh_map_ranges(n, 100, 0);
		if (!p)
			_exit(BH_FAIL(2));
		/* Exits with 0 once krammmd has cut 5 passes short. */
		if (!pressure_until(p, n * page_size, "passes_over_budget",
				    cut0 + 4, 30000))
			_exit(BH_FAIL(3));
		_exit(0);
	}
	passes0 = bh_counter("passes");
	cpu0 = bh_cpu_ns(kd);
	ASSERT_CHILD_OK(pid, 45000);
	cpu1 = bh_cpu_ns(kd);
	passes1 = bh_counter("passes");
	ASSERT_LT(passes0, passes1);
	per_pass = (cpu1 - cpu0) / (passes1 - passes0);
	TH_LOG("krammmd: %llu passes, %llu us of CPU each on average, %llu cut",
	       (unsigned long long)(passes1 - passes0),
	       (unsigned long long)per_pass / 1000,
	       (unsigned long long)(bh_counter("passes_over_budget") - cut0));
	/* The budget, plus one search, judging and delivering. */
	ASSERT_GE(35 * 1000000ULL, per_pass);
}

/*
 * A pass that ran out of budget is followed by one that goes on from where
 * it stopped.  "cheap" holds many one-page ranges, all priced below
 * "dear"'s one range, and a queue of one that it never reads: after its
 * first ask, each of its ranges is searched for and found unaskable.  Were
 * every pass to start again from the cheapest range, each would spend its
 * budget (1 ms here) on cheap's ranges and none would reach dear's.  Both
 * are in a cgroup kept over memory.high by cheap, so that the cgroup's
 * reclaim calls for passes and its participants are asked.
 */
TEST_F_TIMEOUT(limits, cut_pass_goes_on, 120)
{
	const __u64 dear_price = 5000;	/* above all of cheap's */
	pid_t cheap, dear;
	char how[32];
	__u64 cut0;
	int st;

	LIMITS_START();
	budget_scene(_metadata, "1\n");
	cut0 = bh_counter("passes_over_budget");
	dear = spawn_unprivileged(CG);
	ASSERT_LE(0, dear);
	if (!dear) {
		__u64 end = ramm_now_ns() + 90 * 1000000000ULL, tag = 2;
		size_t len = 64 * page_size;
		struct ramm_request rec;
		char *p;

		if (ramm_register(0, 0))
			_exit(BH_FAIL(1));
		p = mmap_priced(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, dear_price, 0);
		if (p == MAP_FAILED)
			_exit(BH_FAIL(2));
		/* Kept resident, so that there is something to ask for. */
		while (ramm_now_ns() < end) {
			bh_touch(p, len, tag++);
			if (ramm_get_requests(&rec, sizeof(rec)) == 1 &&
			    rec.reason == RAMM_REASON_ASK &&
			    rec.start == (unsigned long)p)
				_exit(0);
			ramm_sleep_ms(5);
		}
		_exit(BH_FAIL(3));
	}
	cheap = spawn_unprivileged(CG);
	ASSERT_LE(0, cheap);
	if (!cheap) {
		__u64 end = ramm_now_ns() + 100 * 1000000000ULL, tag = 2;
		size_t n = 1000;
		char *p;

		if (ramm_register(0, 0))
			_exit(BH_FAIL(11));
		p = bh_map_ranges(n, 100, 0);
		if (!p)
			_exit(BH_FAIL(12));
		while (ramm_now_ns() < end)
			bh_touch(p, n * page_size, tag++);
		_exit(0);
	}
	st = bh_wait(dear, 100000);
	kill(cheap, SIGKILL);
	waitpid(cheap, NULL, 0);
	ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		TH_LOG("dear: %s", bh_how(st, how, sizeof(how)));
	}
	TH_LOG("%llu passes cut short before dear was asked",
	       (unsigned long long)(bh_counter("passes_over_budget") - cut0));
	/* The ask reached dear only through passes that were cut. */
	ASSERT_LT(cut0 + 1, bh_counter("passes_over_budget"));
}

int ramm_harness_main(int argc, char **argv);

#define main ramm_harness_main
TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	return ramm_harness_main(argc, argv);
}
