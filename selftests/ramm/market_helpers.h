/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the RAMM market scenarios (market_test.c, stress_test.c):
 * /proc/meminfo, incompressible page contents, and children driven through
 * pipes: participants that map priced memory and answer, ignore or do not
 * even read what the kernel asks, and hogs that make memory short.
 *
 * Every child is forked from the test process and talks to it through two
 * pipes: one-byte commands down (MK_CMD_*), fixed-size messages up (ready,
 * acks, the final report).  Children never use the harness's ASSERT_*
 * (that would run the teardown in the child); they _exit() instead.  A
 * child whose command pipe reaches end-of-file (the test is gone) exits,
 * and every child gives up after MK_CHILD_LIFE_MS on its own, so nothing
 * outlives a test even if its teardown never runs.
 *
 * The test process sets its own oom_score_adj to -1000 (it must survive to
 * report); children set theirs back to 0 (or 1000 for a hog that should be
 * the victim), so when the OOM killer runs, it kills a child and the test
 * sees a SIGKILL in the child's wait status.
 */
#ifndef __RAMM_MARKET_HELPERS_H
#define __RAMM_MARKET_HELPERS_H

#include <sys/swap.h>

#include <linux/mempolicy.h>

#include "ramm_helpers.h"

#define MK_MIB			(1024ULL * 1024ULL)
#define MK_CHILD_LIFE_MS	300000	/* a child exits after this, whatever */

/* ---- /proc/meminfo, /proc/swaps ---------------------------------------- */

#define MK_SWAP_DEV_LEN		64

/*
 * Turn off the first active swap device and name it in @dev ("" if there
 * was none, or it stays on), for mk_swap_on() to turn back on.
 */
static inline void mk_swap_off(char dev[MK_SWAP_DEV_LEN])
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "r");

	dev[0] = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && fgets(line, sizeof(line), f) &&
	    sscanf(line, "%63s", dev) == 1 && swapoff(dev))
		dev[0] = 0;
	fclose(f);
}

static inline void mk_swap_on(const char dev[MK_SWAP_DEV_LEN])
{
	if (dev[0])
		swapon(dev, 0);
}

/* The /proc/meminfo value for @key in bytes, 0 if it is missing. */
static inline __u64 mk_meminfo(const char *key)
{
	size_t klen = strlen(key);
	char line[128];
	__u64 kb = 0;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb * 1024;
}

static inline __u64 mk_page_align(__u64 bytes)
{
	return bytes & ~((__u64)page_size - 1);
}

/* ---- page contents --------------------------------------------------- */

/* splitmix64's finalizer: spreads a page's identity into a seed. */
static inline __u64 mk_mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The seed of page @page of range @range of the child tagged @tag. */
static inline __u64 mk_page_seed(__u64 tag, __u64 range, __u64 page)
{
	__u64 s = mk_mix((tag << 48) ^ (range << 40) ^ page);

	return s ? s : 1;
}

/*
 * Fill a page with xorshift64 output: incompressible, so zram cannot
 * absorb it, and never all zero (xorshift never yields 0 from a non-zero
 * state), so a page the kernel dropped is told from one that is intact.
 */
static inline void mk_fill_page(void *page, __u64 seed)
{
	size_t i, n = page_size / sizeof(__u64);
	__u64 *p = page, x = seed;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

enum mk_page_state {
	MK_PAGE_INTACT,		/* what mk_fill_page() wrote */
	MK_PAGE_ZERO,		/* dropped: reads as zeros */
	MK_PAGE_CORRUPT,	/* anything else */
};

static inline enum mk_page_state mk_check_page(const void *page, __u64 seed)
{
	size_t i, n = page_size / sizeof(__u64);
	const __u64 *p = page;
	__u64 x = seed;

	if (!p[0]) {
		for (i = 1; i < n; i++)
			if (p[i])
				return MK_PAGE_CORRUPT;
		return MK_PAGE_ZERO;
	}
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (p[i] != x)
			return MK_PAGE_CORRUPT;
	}
	return MK_PAGE_INTACT;
}

/* ---- children ---------------------------------------------------------- */

#define MK_MAX_KIDS		16

struct mk_child {
	pid_t pid;
	int ctrl;		/* write end: commands to the child */
	int rep;		/* read end: what the child sends */
	bool reaped;
	int status;		/* its wait status, once reaped */
	char name[24];
};

/* The children of one test; the fixture teardown kills what is left. */
struct mk_kids {
	int nr;
	struct mk_child c[MK_MAX_KIDS];
};

typedef void (*mk_child_fn)(int ctrl, int rep, const void *arg);

static inline void mk_set_oom_adj(int adj)
{
	char buf[16];
	int fd, len;

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%d\n", adj);
	if (write(fd, buf, (size_t)len) < 0)
		fprintf(stderr, "# oom_score_adj %d: %s\n", adj,
			strerror(errno));
	close(fd);
}

/* Write all of @buf; 0 or -1. */
static inline int mk_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read exactly @len bytes within @timeout_ms.  0, or -1 with errno
 * ETIMEDOUT, EPIPE (end-of-file: the writer is gone) or the read error.
 */
static inline int mk_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	__u64 end = ramm_now_ns() + (__u64)timeout_ms * 1000000ULL;
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		__u64 now = ramm_now_ns();
		ssize_t n;
		int r;

		if (now >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)((end - now) / 1000000ULL) + 1);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/*
 * Fork a child that runs @fn(ctrl, rep, @arg) and then exits 0.  Its pipe
 * ends survive exec; everything the test holds for other children is
 * closed in it.  NULL if the child cannot be started.
 */
static inline struct mk_child *mk_spawn(struct mk_kids *k, const char *name,
					int oom_adj, mk_child_fn fn,
					const void *arg)
{
	struct mk_child *c;
	int ctl[2], rep[2];
	pid_t pid;
	int i;

	if (k->nr >= MK_MAX_KIDS)
		return NULL;
	if (pipe2(ctl, O_CLOEXEC))
		return NULL;
	if (pipe2(rep, O_CLOEXEC)) {
		close(ctl[0]);
		close(ctl[1]);
		return NULL;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(ctl[0]);
		close(ctl[1]);
		close(rep[0]);
		close(rep[1]);
		return NULL;
	}
	if (pid == 0) {
		for (i = 0; i < k->nr; i++) {
			if (k->c[i].ctrl >= 0)
				close(k->c[i].ctrl);
			if (k->c[i].rep >= 0)
				close(k->c[i].rep);
		}
		close(ctl[1]);
		close(rep[0]);
		fcntl(ctl[0], F_SETFD, 0);
		fcntl(rep[1], F_SETFD, 0);
		mk_set_oom_adj(oom_adj);
		fn(ctl[0], rep[1], arg);
		_exit(0);
	}
	close(ctl[0]);
	close(rep[1]);
	c = &k->c[k->nr++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->ctrl = ctl[1];
	c->rep = rep[0];
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

/* Send command @cmd; 0, or -1 if the child is gone. */
static inline int mk_cmd(struct mk_child *c, char cmd)
{
	if (c->ctrl < 0)
		return -1;
	return mk_write_full(c->ctrl, &cmd, 1);
}

/* Wait up to @timeout_ms for @c to exit: 0 once reaped, -1 if still there. */
static inline int mk_reap(struct mk_child *c, int timeout_ms)
{
	__u64 end = ramm_now_ns() + (__u64)timeout_ms * 1000000ULL;

	while (!c->reaped) {
		pid_t w = waitpid(c->pid, &c->status, WNOHANG);

		if (w == c->pid) {
			c->reaped = true;
			break;
		}
		if (w < 0 && errno != EINTR) {
			/* Not ours any more: count it as vanished. */
			c->reaped = true;
			c->status = -1;
			break;
		}
		if (ramm_now_ns() >= end)
			return -1;
		ramm_sleep_ms(5);
	}
	return 0;
}

static inline void mk_close(struct mk_child *c)
{
	if (c->ctrl >= 0)
		close(c->ctrl);
	if (c->rep >= 0)
		close(c->rep);
	c->ctrl = -1;
	c->rep = -1;
}

/* Kill and reap every child that is still there (fixture teardown). */
static inline void mk_kill_all(struct mk_kids *k)
{
	int i;

	for (i = 0; i < k->nr; i++)
		if (!k->c[i].reaped)
			kill(k->c[i].pid, SIGKILL);
	for (i = 0; i < k->nr; i++) {
		mk_reap(&k->c[i], 10000);
		mk_close(&k->c[i]);
	}
}

/*
 * The fixture setup of any test that starts children, once RAMM is there:
 * save the tunables for mk_children_teardown().
 */
static inline void mk_children_setup(struct ramm_tunables_saved *saved)
{
	ramm_tunables_save(saved);
	/* Writes to a dead child must fail, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	/* The OOM killer must pick a child, never the test. */
	mk_set_oom_adj(-1000);
}

/*
 * The fixture teardown: kill what is left of @kids and put back the
 * tunables mk_children_setup() saved (if it ran: @env).
 */
static inline void mk_children_teardown(const struct ramm_env *env,
					struct mk_kids *kids,
					const struct ramm_tunables_saved *saved)
{
	mk_kill_all(kids);
	if (env->version > 0)
		ramm_tunables_restore(saved);
}

/*
 * The fixture setup of a market scenario: mk_children_setup(), then read
 * deadline_ms into @deadline_ms (100 if it cannot be read) and turn swap
 * off (@swap_dev, as mk_swap_off()).
 */
static inline void mk_scenario_setup(struct ramm_tunables_saved *saved,
				     __u64 *deadline_ms,
				     char swap_dev[MK_SWAP_DEV_LEN])
{
	mk_children_setup(saved);
	if (ramm_sysfs_read("deadline_ms", deadline_ms))
		*deadline_ms = 100;
	/*
	 * No swap during the scenarios: with zram swap and incompressible
	 * data, reclaim "progresses" by compressing pages into as much RAM
	 * as they held, and an overcommitted machine thrashes for minutes
	 * instead of reaching the OOM killer, so neither "no OOM kill" nor
	 * "RAMM disabled must OOM" could be decided in bounded time.
	 * Without swap, only what participants give back (or RAMM purges)
	 * frees anonymous memory, which is what these tests measure.
	 */
	mk_swap_off(swap_dev);
}

/* Its teardown: mk_children_teardown(), then swap back on. */
static inline void mk_scenario_teardown(const struct ramm_env *env,
					struct mk_kids *kids,
					const char swap_dev[MK_SWAP_DEV_LEN],
					const struct ramm_tunables_saved *saved)
{
	mk_children_teardown(env, kids, saved);
	mk_swap_on(swap_dev);
}

static inline bool mk_killed(const struct mk_child *c)
{
	return c->reaped && c->status != -1 && WIFSIGNALED(c->status) &&
	       WTERMSIG(c->status) == SIGKILL;
}

static inline bool mk_exited_ok(const struct mk_child *c)
{
	return c->reaped && c->status != -1 && WIFEXITED(c->status) &&
	       WEXITSTATUS(c->status) == 0;
}

/* How @c ended, for a log line. */
static inline const char *mk_how(const struct mk_child *c, char *buf,
				 size_t size)
{
	if (!c->reaped)
		snprintf(buf, size, "still running");
	else if (c->status == -1)
		snprintf(buf, size, "vanished");
	else if (WIFEXITED(c->status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(buf, size, "killed by signal %d%s",
			 WTERMSIG(c->status),
			 WTERMSIG(c->status) == SIGKILL ? " (OOM?)" : "");
	else
		snprintf(buf, size, "status %#x", c->status);
	return buf;
}

/* ---- messages ------------------------------------------------------------ */

#define MK_MAGIC_READY		0x524d4b52	/* "RMKR" */
#define MK_MAGIC_ACK		0x524d4b41	/* "RMKA" */
#define MK_MAGIC_REPORT		0x524d4b50	/* "RMKP" */
#define MK_MAGIC_HOG		0x524d4b48	/* "RMKH" */

#define MK_CMD_STOP		'S'	/* drain, check, report, exit 0 */
#define MK_CMD_REGISTER		'R'	/* register now; acks */
#define MK_CMD_UNREGISTER	'U'	/* unregister; acks */
#define MK_CMD_EXEC		'X'	/* exec an idle image of the test; it acks */
#define MK_CMD_QUIT		'Q'	/* exit 0 at once, sending nothing */

/* argv[1] of an image a participant exec'd (MK_CMD_EXEC). */
#define MK_EXEC_ARG		"--ramm-exec-child"

#define MK_MAX_RANGES		8
#define MK_MAX_RECS		2048
#define MK_MAX_SAMPLES		2048
#define MK_MSG_LEN		160

struct mk_ready {
	__u32 magic;
	__s32 err;			/* errno of the step that failed */
	char msg[MK_MSG_LEN];		/* which step, if one failed */
	__u64 start[MK_MAX_RANGES];	/* where each range was mapped */
};

struct mk_ack {
	__u32 magic;
	__s32 ret;
	__s32 err;
	__u32 __pad;
};

/* A record as the participant received it. */
struct mk_rec {
	struct ramm_request req;
	__u64 seen_ns;			/* CLOCK_MONOTONIC when read */
	__u64 credit;			/* its GET_STATS credit then */
};

/* Resident pages of range 0 from some time on. */
struct mk_sample {
	__u64 t_ns;
	__u64 resident;
};

struct mk_range_result {
	__u64 start;
	__u64 len;
	__u64 pages;
	__u64 released;			/* pages it gave back itself */
	__u64 intact;			/* of the others: as written */
	__u64 zeroed;			/* ... reading as zeros (dropped) */
	__u64 corrupt;			/* ... anything else */
};

struct mk_report {
	__u32 magic;
	__s32 err;			/* a step that failed in the child */
	char msg[MK_MSG_LEN];
	__u64 nrec;			/* records that follow */
	__u64 lost;			/* records beyond MK_MAX_RECS */
	__u64 nsamples;			/* samples that follow */
	__u64 final_reads;		/* records drained when told to stop */
	__u64 stray;			/* asks naming no range of its own */
	__u64 sig_usr1;			/* signals its handlers counted */
	__u64 sig_usr2;
	__s64 stats_err;		/* 0, or errno of GET_STATS */
	struct ramm_stats stats;	/* GET_STATS when told to stop */
	__s64 credit;			/* RammCredit: then, -1 if missing */
	__s32 getreq_errno;		/* GET_REQUESTS errno if unregistered */
	__s32 getfd_errno;		/* GET_FD errno after UNREGISTER/exec */
	__s32 old_read;			/* read() of the old fd after UNREGISTER */
	__s32 old_read_errno;
	__s32 old_revents;		/* poll() of the old fd then */
	__s32 exec_image;		/* 1: sent by the image after exec */
	__u32 nr_ranges;
	__u32 __pad;
	__u64 purged_at_unreg;		/* purged_bytes around UNREGISTER */
	struct mk_range_result rr[MK_MAX_RANGES];
};

/* ---- participants ---------------------------------------------------------- */

enum mk_behaviour {
	MK_ANSWER,	/* release what is asked, at once (MADV_DONTNEED) */
	MK_IGNORE,	/* read and record the requests, release nothing */
	MK_NO_READ,	/* do not even read them until told to stop */
};

/* Signals a participant installs a counting handler for, or ignores. */
#define MK_SIG_USR1		(1U << 0)
#define MK_SIG_USR2		(1U << 1)

struct mk_range_spec {
	__u64 len;			/* bytes, page aligned */
	__u64 price;			/* 0: ordinary memory */
	__u64 ramm_flags;
};

struct mk_part_spec {
	__u64 tag;			/* seeds its data; unique per child */
	int nr_ranges;
	struct mk_range_spec r[MK_MAX_RANGES];
	bool reg;			/* register at start (else on 'R') */
	bool reg_default;		/* REGISTER with NULL: SIGUSR1 */
	__u64 signal;			/* else ramm_register.signal */
	unsigned int handle;		/* MK_SIG_*: counting handlers */
	unsigned int ignore;		/* MK_SIG_*: SIG_IGN */
	enum mk_behaviour behaviour;
	bool by_signal;			/* GET_REQUESTS when signalled, no fd */
	bool sample;			/* record the residency of range 0 */
	unsigned int node;		/* 1 + its memory's node; 0: any */
};

/*
 * Bind the calling process's future allocations to node @node1 - 1
 * (MPOL_BIND); nothing for 0.  0, or -1 with errno.
 */
static inline int mk_bind_node(unsigned int node1)
{
	unsigned long mask[4] = { 0 };
	unsigned int node;

	if (!node1)
		return 0;
	node = node1 - 1;
	if (node >= 8 * sizeof(mask)) {
		errno = EINVAL;
		return -1;
	}
	mask[node / (8 * sizeof(mask[0]))] |= 1UL << (node % (8 * sizeof(mask[0])));
	return syscall(__NR_set_mempolicy, MPOL_BIND, mask, 8 * sizeof(mask));
}

static volatile sig_atomic_t mk_hits_usr1, mk_hits_usr2, mk_signalled;

static void mk_on_signal(int sig)
{
	if (sig == SIGUSR1)
		mk_hits_usr1++;
	else if (sig == SIGUSR2)
		mk_hits_usr2++;
	mk_signalled = 1;
}

/* Install a counting handler (no SA_RESTART), SIG_IGN or SIG_DFL. */
static inline void mk_set_signal(int sig, unsigned int bit,
				 const struct mk_part_spec *spec)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (spec->handle & bit)
		sa.sa_handler = mk_on_signal;
	else if (spec->ignore & bit)
		sa.sa_handler = SIG_IGN;
	else
		sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
}

struct mk_part_state {
	const struct mk_part_spec *spec;
	int ctrl, rep;
	struct ramm_maps maps;
	char *base[MK_MAX_RANGES];
	__u64 npages[MK_MAX_RANGES];
	__u64 cursor[MK_MAX_RANGES];	/* pages released from the start */
	int fd;				/* request fd, O_NONBLOCK; -1 if none */
	bool registered;
	struct mk_rec *recs;
	struct mk_sample *samples;
	unsigned char *vec;		/* mincore() of range 0 */
	__u64 next_sample;
	struct mk_report rep_msg;
};

static inline void mk_part_fail(struct mk_part_state *st, const char *what)
{
	if (st->rep_msg.err)
		return;
	st->rep_msg.err = errno ? errno : -1;
	snprintf(st->rep_msg.msg, sizeof(st->rep_msg.msg), "%s: %s", what,
		 strerror(errno));
}

static inline int mk_part_register(struct mk_part_state *st)
{
	const struct mk_part_spec *spec = st->spec;
	long ret;

	if (spec->reg_default)
		ret = ramm_register_default();
	else
		ret = ramm_register(spec->signal, 0);
	if (ret)
		return -1;
	st->registered = true;
	st->fd = ramm_get_fd(O_NONBLOCK);
	return st->fd < 0 ? -1 : 0;
}

/*
 * Sample the resident pages of range 0, every 100 ms at most (mincore()
 * of a large range is not free in a TCG guest with KASAN).
 */
static inline void mk_part_sample(struct mk_part_state *st, bool force)
{
	struct mk_report *r = &st->rep_msg;
	__u64 now = ramm_now_ns(), res = 0, i;

	if (!st->spec->sample || !st->vec || (!force && now < st->next_sample))
		return;
	st->next_sample = now + 100000000ULL;
	if (mincore(st->base[0], st->npages[0] * page_size, st->vec))
		return;
	for (i = 0; i < st->npages[0]; i++)
		res += st->vec[i] & 1;
	if (r->nsamples && st->samples[r->nsamples - 1].resident == res)
		return;
	if (r->nsamples == MK_MAX_SAMPLES)
		r->nsamples--;	/* keep the latest in the last slot */
	st->samples[r->nsamples].t_ns = now;
	st->samples[r->nsamples].resident = res;
	r->nsamples++;
}

/*
 * Answer an ask: release, from where the last answer stopped, pages until
 * @amount bytes of *resident* pages have gone (pages swapped out meanwhile
 * are skipped over: releasing them frees nothing the kernel counts).
 */
static inline void mk_part_release(struct mk_part_state *st,
				   const struct ramm_request *req)
{
	unsigned char vec[256];
	__u64 need, i;
	int r;

	for (r = 0; r < st->spec->nr_ranges; r++) {
		__u64 b = (uintptr_t)st->base[r];

		if (req->start >= b && req->start < b + st->npages[r] * page_size)
			break;
	}
	if (r == st->spec->nr_ranges) {
		st->rep_msg.stray++;
		return;
	}
	need = (req->amount + page_size - 1) / page_size;
	while (need && st->cursor[r] < st->npages[r]) {
		__u64 chunk = st->npages[r] - st->cursor[r], take = 0, res = 0;
		char *p = st->base[r] + st->cursor[r] * page_size;

		if (chunk > sizeof(vec))
			chunk = sizeof(vec);
		if (mincore(p, chunk * page_size, vec)) {
			take = chunk;
			res = chunk;
		} else {
			for (i = 0; i < chunk && res < need; i++) {
				take = i + 1;
				res += vec[i] & 1;
			}
		}
		if (madvise(p, take * page_size, MADV_DONTNEED))
			mk_part_fail(st, "MADV_DONTNEED");
		st->cursor[r] += take;
		need -= res < need ? res : need;
	}
}

static inline void mk_part_record(struct mk_part_state *st,
				  const struct ramm_request *req)
{
	struct mk_report *r = &st->rep_msg;
	struct ramm_stats s;

	if (r->nrec < MK_MAX_RECS) {
		struct mk_rec *rec = &st->recs[r->nrec++];

		rec->req = *req;
		rec->seen_ns = ramm_now_ns();
		rec->credit = ramm_get_stats(&s) ? ~0ULL : s.credit;
	} else {
		r->lost++;
	}
	if (req->reason == RAMM_REASON_ASK &&
	    st->spec->behaviour == MK_ANSWER)
		mk_part_release(st, req);
}

/* Read what is queued through the fd; the number of records read. */
static inline __u64 mk_part_drain_fd(struct mk_part_state *st)
{
	struct ramm_request buf[16];
	__u64 n = 0;
	ssize_t got;
	int i;

	while (st->fd >= 0) {
		got = read(st->fd, buf, sizeof(buf));
		if (got < 0) {
			if (errno != EAGAIN && errno != EINTR)
				mk_part_fail(st, "read(request fd)");
			if (errno != EINTR)
				break;
			continue;
		}
		if (got == 0)
			break;
		if (got % sizeof(buf[0])) {
			errno = EPROTO;
			mk_part_fail(st, "read() returned a partial record");
		}
		for (i = 0; i < (int)(got / (ssize_t)sizeof(buf[0])); i++, n++)
			mk_part_record(st, &buf[i]);
	}
	return n;
}

/* Move what is queued with PR_RAMM_GET_REQUESTS; the number moved. */
static inline __u64 mk_part_drain_prctl(struct mk_part_state *st)
{
	struct ramm_request buf[16];
	__u64 n = 0;
	long got;
	int i;

	for (;;) {
		got = ramm_get_requests(buf, sizeof(buf));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			mk_part_fail(st, "PR_RAMM_GET_REQUESTS");
			break;
		}
		if (got == 0 || got > (long)ARRAY_SIZE(buf))
			break;
		for (i = 0; i < got; i++, n++)
			mk_part_record(st, &buf[i]);
	}
	return n;
}

static inline void mk_part_ack(struct mk_part_state *st, int ret, int err)
{
	struct mk_ack ack = {
		.magic = MK_MAGIC_ACK,
		.ret = ret,
		.err = err,
	};

	if (mk_write_full(st->rep, &ack, sizeof(ack)))
		_exit(4);
}

/* MK_CMD_UNREGISTER: unregister, then see what the old fd says. */
static inline void mk_part_unregister(struct mk_part_state *st)
{
	struct mk_report *r = &st->rep_msg;
	char buf[RAMM_REQUEST_SIZE_VER0];
	struct ramm_stats s;
	struct pollfd pfd;
	int ret, err, fd;

	if (!ramm_get_stats(&s))
		r->purged_at_unreg = s.purged_bytes;
	errno = 0;
	ret = (int)ramm_unregister();
	err = errno;
	if (!ret)
		st->registered = false;
	/* Whichever is larger, should the count not outlive the registration. */
	if (!ramm_get_stats(&s) && s.purged_bytes > r->purged_at_unreg)
		r->purged_at_unreg = s.purged_bytes;
	if (st->fd >= 0) {
		errno = 0;
		r->old_read = (int)read(st->fd, buf, sizeof(buf));
		r->old_read_errno = errno;
		pfd.fd = st->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		poll(&pfd, 1, 0);
		r->old_revents = pfd.revents;
		close(st->fd);
		st->fd = -1;
	}
	errno = 0;
	fd = ramm_get_fd(0);
	r->getfd_errno = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	mk_part_ack(st, ret, err);
}

/* MK_CMD_STOP: drain, check the data, send the report, exit. */
static inline void __attribute__((noreturn))
mk_part_stop(struct mk_part_state *st)
{
	const struct mk_part_spec *spec = st->spec;
	struct mk_report *r = &st->rep_msg;
	struct ramm_request req;
	__u64 p, c;
	int i;

	mk_part_sample(st, true);
	if (st->registered) {
		r->final_reads = mk_part_drain_prctl(st);
	} else {
		errno = 0;
		if (ramm_get_requests(&req, sizeof(req)) < 0)
			r->getreq_errno = errno;
	}
	r->stats_err = ramm_get_stats(&r->stats) ? errno : 0;
	r->credit = status_credit(0, &c) ? -1 : (__s64)c;
	r->sig_usr1 = (__u64)mk_hits_usr1;
	r->sig_usr2 = (__u64)mk_hits_usr2;
	r->nr_ranges = (__u32)spec->nr_ranges;
	for (i = 0; i < spec->nr_ranges; i++) {
		struct mk_range_result *rr = &r->rr[i];

		rr->start = (uintptr_t)st->base[i];
		rr->len = st->npages[i] * page_size;
		rr->pages = st->npages[i];
		rr->released = st->cursor[i];
		for (p = st->cursor[i]; p < st->npages[i]; p++) {
			switch (mk_check_page(st->base[i] + p * page_size,
					      mk_page_seed(spec->tag, i, p))) {
			case MK_PAGE_INTACT:
				rr->intact++;
				break;
			case MK_PAGE_ZERO:
				rr->zeroed++;
				break;
			default:
				rr->corrupt++;
			}
		}
	}
	r->magic = MK_MAGIC_REPORT;
	if (mk_write_full(st->rep, r, sizeof(*r)) ||
	    mk_write_full(st->rep, st->recs, r->nrec * sizeof(st->recs[0])) ||
	    mk_write_full(st->rep, st->samples,
			  r->nsamples * sizeof(st->samples[0])))
		_exit(4);
	_exit(0);
}

/* MK_CMD_EXEC: replace this image by an idle one (mk_exec_child()). */
static inline void mk_part_exec(struct mk_part_state *st)
{
	char a[16], b[16];

	snprintf(a, sizeof(a), "%d", st->ctrl);
	snprintf(b, sizeof(b), "%d", st->rep);
	execl("/proc/self/exe", "ramm-exec-child", MK_EXEC_ARG, a, b,
	      (char *)NULL);
	mk_part_ack(st, -1, errno);
}

/*
 * The participant child.  Maps and fills its ranges, registers as told,
 * sends a struct mk_ready, then serves requests and commands until
 * MK_CMD_STOP (or end-of-file on its command pipe).
 */
static void mk_participant(int ctrl, int rep, const void *arg)
{
	const struct mk_part_spec *spec = arg;
	__u64 give_up = ramm_now_ns() + MK_CHILD_LIFE_MS * 1000000ULL;
	__u64 next_fallback = 0, p;
	static struct mk_part_state st;
	struct mk_ready ready;
	int i;

	memset(&st, 0, sizeof(st));
	memset(&ready, 0, sizeof(ready));
	ramm_init_page_size();
	st.spec = spec;
	st.ctrl = ctrl;
	st.rep = rep;
	st.fd = -1;
	mk_set_signal(SIGUSR1, MK_SIG_USR1, spec);
	mk_set_signal(SIGUSR2, MK_SIG_USR2, spec);
	st.recs = calloc(MK_MAX_RECS, sizeof(*st.recs));
	st.samples = calloc(MK_MAX_SAMPLES, sizeof(*st.samples));
	if (!st.recs || !st.samples)
		_exit(5);
	if (mk_bind_node(spec->node))
		mk_part_fail(&st, "set_mempolicy(MPOL_BIND)");

	for (i = 0; i < spec->nr_ranges && !st.rep_msg.err; i++) {
		st.npages[i] = spec->r[i].len / page_size;
		if (spec->r[i].price)
			st.base[i] = ramm_map_priced(&st.maps, st.npages[i],
						     PROT_READ | PROT_WRITE,
						     spec->r[i].price,
						     spec->r[i].ramm_flags);
		else
			st.base[i] = ramm_map_plain(&st.maps, st.npages[i],
						    PROT_READ | PROT_WRITE);
		if (st.base[i] == MAP_FAILED) {
			mk_part_fail(&st, "mapping a range");
			break;
		}
		for (p = 0; p < st.npages[i]; p++)
			mk_fill_page(st.base[i] + p * page_size,
				     mk_page_seed(spec->tag, i, p));
		ready.start[i] = (uintptr_t)st.base[i];
	}
	if (spec->sample && !st.rep_msg.err) {
		st.vec = malloc(st.npages[0] + 1);
		mk_part_sample(&st, true);
	}
	if (spec->reg && !st.rep_msg.err && mk_part_register(&st))
		mk_part_fail(&st, "PR_RAMM_REGISTER/GET_FD");

	ready.magic = MK_MAGIC_READY;
	ready.err = st.rep_msg.err;
	memcpy(ready.msg, st.rep_msg.msg, sizeof(ready.msg));
	if (mk_write_full(rep, &ready, sizeof(ready)) || ready.err)
		_exit(ready.err ? 6 : 4);

	for (;;) {
		bool use_fd = st.fd >= 0 && !spec->by_signal &&
			      spec->behaviour != MK_NO_READ;
		struct pollfd pfd[2];
		__u64 now;
		char cmd;
		int n;

		pfd[0].fd = ctrl;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = st.fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = poll(pfd, use_fd ? 2 : 1, spec->sample ? 100 : 200);
		now = ramm_now_ns();
		if (now > give_up)
			_exit(3);
		mk_part_sample(&st, false);

		if (n > 0 && pfd[0].revents) {
			ssize_t got = read(ctrl, &cmd, 1);

			if (got == 0)
				_exit(0);
			if (got == 1) {
				switch (cmd) {
				case MK_CMD_STOP:
					mk_part_stop(&st);
				case MK_CMD_QUIT:
					_exit(0);
				case MK_CMD_REGISTER:
					errno = 0;
					mk_part_ack(&st, mk_part_register(&st),
						    errno);
					break;
				case MK_CMD_UNREGISTER:
					mk_part_unregister(&st);
					break;
				case MK_CMD_EXEC:
					mk_part_exec(&st);
					break;
				}
			}
		}
		if (use_fd && n > 0 && (pfd[1].revents & POLLIN))
			mk_part_drain_fd(&st);
		if (spec->by_signal && st.registered &&
		    spec->behaviour != MK_NO_READ &&
		    (mk_signalled || now >= next_fallback)) {
			/*
			 * The signal is the wake-up; every second a look
			 * anyway, so a lost signal slows this participant
			 * down (the test sees sig_usr* == 0) but does not
			 * stall the scenario.
			 */
			mk_signalled = 0;
			next_fallback = now + 1000000000ULL;
			mk_part_drain_prctl(&st);
		}
	}
}

/*
 * The image a participant exec'd into: acks, then on MK_CMD_STOP reports
 * whether it is registered (it must not be) and what GET_FD says.
 */
static inline int mk_exec_child(const char *ctrlarg, const char *reparg)
{
	int ctrl = (int)strtol(ctrlarg, NULL, 10);
	int rep = (int)strtol(reparg, NULL, 10);
	struct mk_ack ack = { .magic = MK_MAGIC_ACK };
	struct mk_report r;
	struct pollfd pfd;
	char cmd;
	__u64 c;
	int fd;

	if (mk_write_full(rep, &ack, sizeof(ack)))
		return 4;
	pfd.fd = ctrl;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, MK_CHILD_LIFE_MS) <= 0)
			return 3;
		if (read(ctrl, &cmd, 1) != 1)
			return 0;
		if (cmd == MK_CMD_STOP)
			break;
		if (cmd == MK_CMD_QUIT)
			return 0;
	}
	memset(&r, 0, sizeof(r));
	r.magic = MK_MAGIC_REPORT;
	r.exec_image = 1;
	r.stats_err = ramm_get_stats(&r.stats) ? errno : 0;
	r.credit = status_credit(0, &c) ? -1 : (__s64)c;
	errno = 0;
	fd = ramm_get_fd(0);
	r.getfd_errno = fd < 0 ? errno : 0;
	if (mk_write_full(rep, &r, sizeof(r)))
		return 4;
	return 0;
}

/* ---- participants, the test's side --------------------------------------- */

struct mk_part {
	struct mk_part_spec spec;
	struct mk_child *c;
	struct mk_ready ready;
	bool got_ready;
	/* The report, once collected: */
	bool reported;
	struct mk_report rep;
	struct mk_rec *recs;
	struct mk_sample *samples;
};

/* Start @p's child; its struct mk_ready is read by mk_part_wait_ready(). */
static inline int mk_part_start(struct mk_kids *k, struct mk_part *p,
				const char *name)
{
	p->c = mk_spawn(k, name, 0, mk_participant, &p->spec);
	return p->c ? 0 : -1;
}

static inline int mk_part_wait_ready(struct mk_part *p, int timeout_ms)
{
	if (mk_read_full(p->c->rep, &p->ready, sizeof(p->ready), timeout_ms))
		return -1;
	if (p->ready.magic != MK_MAGIC_READY) {
		errno = EPROTO;
		return -1;
	}
	p->got_ready = !p->ready.err;
	return p->ready.err ? -1 : 0;
}

/* Send @cmd and read the child's struct mk_ack. */
static inline int mk_part_cmd(struct mk_part *p, char cmd, struct mk_ack *ack,
			      int timeout_ms)
{
	if (mk_cmd(p->c, cmd) ||
	    mk_read_full(p->c->rep, ack, sizeof(*ack), timeout_ms))
		return -1;
	if (ack->magic != MK_MAGIC_ACK) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * Tell @p to stop and read its report and records, then reap it.  0, or
 * -1 if no (whole) report came: the child died (see mk_how()) or hung.
 */
static inline int mk_part_collect(struct mk_part *p, int timeout_ms)
{
	struct mk_report *r = &p->rep;

	if (p->reported)
		return 0;
	if (mk_cmd(p->c, MK_CMD_STOP) ||
	    mk_read_full(p->c->rep, r, sizeof(*r), timeout_ms))
		goto out;
	if (r->magic != MK_MAGIC_REPORT || r->nrec > MK_MAX_RECS ||
	    r->nsamples > MK_MAX_SAMPLES || r->nr_ranges > MK_MAX_RANGES) {
		errno = EPROTO;
		goto out;
	}
	p->recs = calloc(r->nrec + 1, sizeof(*p->recs));
	p->samples = calloc(r->nsamples + 1, sizeof(*p->samples));
	if (!p->recs || !p->samples ||
	    mk_read_full(p->c->rep, p->recs, r->nrec * sizeof(*p->recs),
			 timeout_ms) ||
	    mk_read_full(p->c->rep, p->samples,
			 r->nsamples * sizeof(*p->samples), timeout_ms))
		goto out;
	p->reported = true;
out:
	mk_reap(p->c, p->reported ? timeout_ms : 10000);
	return p->reported ? 0 : -1;
}

static inline void mk_part_free(struct mk_part *p)
{
	free(p->recs);
	free(p->samples);
	p->recs = NULL;
	p->samples = NULL;
}

/* Index of @p's range that starts at @start, -1 if none. */
static inline int mk_part_range(const struct mk_part *p, __u64 start)
{
	int i;

	for (i = 0; i < p->spec.nr_ranges; i++)
		if (p->ready.start[i] == start)
			return i;
	return -1;
}

/* Records of @reason (0: any) for range @range (-1: any) from @since on. */
static inline __u64 mk_count(const struct mk_part *p, __u32 reason, int range,
			     __u64 since)
{
	__u64 i, n = 0;

	for (i = 0; i < p->rep.nrec; i++) {
		const struct ramm_request *q = &p->recs[i].req;

		if ((!reason || q->reason == reason) &&
		    (range < 0 || mk_part_range(p, q->start) == range) &&
		    q->detected_ns >= since)
			n++;
	}
	return n;
}

/* The sum of @amount over the same records. */
static inline __u64 mk_sum(const struct mk_part *p, __u32 reason, int range,
			   __u64 since)
{
	__u64 i, sum = 0;

	for (i = 0; i < p->rep.nrec; i++) {
		const struct ramm_request *q = &p->recs[i].req;

		if ((!reason || q->reason == reason) &&
		    (range < 0 || mk_part_range(p, q->start) == range) &&
		    q->detected_ns >= since)
			sum += q->amount;
	}
	return sum;
}

/* The earliest detected_ns of an ask from @since on; ~0 if none. */
static inline __u64 mk_first_ask(const struct mk_part *p, __u64 since)
{
	__u64 i, t = ~0ULL;

	for (i = 0; i < p->rep.nrec; i++) {
		const struct ramm_request *q = &p->recs[i].req;

		if (q->reason == RAMM_REASON_ASK && q->detected_ns >= since &&
		    q->detected_ns < t)
			t = q->detected_ns;
	}
	return t;
}

/*
 * The fewest resident pages of range 0 around @t: the last sample taken
 * at or before @t and the first after it.  ~0 if there is no sample.
 */
static inline __u64 mk_resident_near(const struct mk_part *p, __u64 t)
{
	__u64 i, before = ~0ULL, after = ~0ULL;

	for (i = 0; i < p->rep.nsamples; i++) {
		if (p->samples[i].t_ns <= t) {
			before = p->samples[i].resident;
		} else {
			after = p->samples[i].resident;
			break;
		}
	}
	return before < after ? before : after;
}

/*
 * Check every record @p received against the contract and the ranges it
 * mapped; log and count what is wrong.  An ask names its whole range; a
 * purge record starts at the range's start and may name only the part of
 * it that was zapped.  A preserved range never gets a purge record.
 */
static inline int mk_check_records(struct __test_metadata *_metadata,
				   const struct mk_part *p)
{
	__u64 i, last_seq = 0;
	int bad = 0;

	for (i = 0; i < p->rep.nrec; i++) {
		const struct mk_rec *rec = &p->recs[i];
		const struct ramm_request *q = &rec->req;
		const struct mk_range_spec *rs;
		const char *why = NULL;
		int r = mk_part_range(p, q->start);

		rs = r >= 0 ? &p->spec.r[r] : NULL;
		if (q->seq <= last_seq)
			why = "seq not increasing";
		else if (!rs)
			why = "start is not one of its ranges";
		else if (q->reason == RAMM_REASON_ASK && q->len != rs->len)
			why = "ask: len is not the range's";
		else if (!q->len || q->len > rs->len)
			why = "len not in (0, range length]";
		else if (q->price != rs->price)
			why = "price is not the range's";
		else if (q->ramm_flags != rs->ramm_flags)
			why = "ramm_flags are not the range's";
		else if (!q->amount || q->amount > q->len)
			why = "amount not in (0, len]";
		else if (q->amount % page_size)
			why = "amount not whole pages";
		else if (q->__reserved)
			why = "__reserved not 0";
		else if (q->reason == RAMM_REASON_ASK &&
			 q->deadline_ns <= q->detected_ns)
			why = "ask with deadline_ns <= detected_ns";
		else if (q->reason == RAMM_REASON_PURGED && q->deadline_ns)
			why = "purge record with a deadline";
		else if (q->reason == RAMM_REASON_PURGED &&
			 !(rs->ramm_flags & RAMM_DISCARDABLE))
			why = "purge record for a preserved range";
		else if (q->reason != RAMM_REASON_ASK &&
			 q->reason != RAMM_REASON_PURGED)
			why = "unknown reason";
		else if (!q->detected_ns || q->detected_ns > rec->seen_ns)
			why = "detected_ns not before it was read";
		last_seq = q->seq;
		if (!why)
			continue;
		bad++;
		TH_LOG("%s: record %llu: %s (seq %llu reason %u start %#llx len %llu price %llu flags %llu amount %llu detected %llu deadline %llu seen %llu)",
		       p->c->name, (unsigned long long)i, why,
		       (unsigned long long)q->seq, q->reason,
		       (unsigned long long)q->start,
		       (unsigned long long)q->len,
		       (unsigned long long)q->price,
		       (unsigned long long)q->ramm_flags,
		       (unsigned long long)q->amount,
		       (unsigned long long)q->detected_ns,
		       (unsigned long long)q->deadline_ns,
		       (unsigned long long)rec->seen_ns);
	}
	return bad;
}

/* ---- hogs ------------------------------------------------------------------ */

enum mk_hog_why {
	MK_HOG_TARGET = 1,	/* touched all it was told to */
	MK_HOG_COUNTER,		/* stopped: the sysfs counter got there */
	MK_HOG_TIMEOUT,		/* gave up: max_ms */
	MK_HOG_NOMEM,		/* mmap() failed */
};

struct mk_hog_spec {
	__u64 target;		/* bytes to touch */
	__u64 step;		/* bytes per step */
	unsigned int sleep_us;	/* pause after each step */
	bool prng;		/* incompressible pages, else one word a page */
	const char *stop_counter; /* sysfs counter to watch, or NULL ... */
	__u64 stop_at;		/* ... stop once it reaches this */
	unsigned int max_ms;	/* give up after this long */
	bool hold;		/* after reporting, keep it all until 'S' */
	unsigned int node;	/* 1 + the node it allocates on; 0: any */
};

struct mk_hog_report {
	__u32 magic;
	__u32 why;		/* enum mk_hog_why */
	__u64 bytes;		/* touched */
	__u64 elapsed_ns;
};

static void mk_hog(int ctrl, int rep, const void *arg)
{
	const struct mk_hog_spec *h = arg;
	__u64 t0 = ramm_now_ns(), done = 0, v = 0, p, end;
	struct mk_hog_report r = { .magic = MK_MAGIC_HOG };
	struct pollfd pfd = { .fd = ctrl, .events = POLLIN };
	char *mem, cmd;

	ramm_init_page_size();
	if (mk_bind_node(h->node))
		_exit(6);
	mem = mmap(NULL, h->target, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		r.why = MK_HOG_NOMEM;
		goto report;
	}
	while (!r.why) {
		end = done + h->step < h->target ? done + h->step : h->target;
		for (p = done; p < end; p += page_size) {
			if (h->prng)
				mk_fill_page(mem + p,
					     mk_page_seed(0xfeed, 0, p / page_size));
			else
				*(volatile __u64 *)(mem + p) = p | 1;
		}
		done = end;
		/* Told to stop (or the test is gone) before the end: go. */
		if (poll(&pfd, 1, 0) > 0)
			_exit(0);
		if (done >= h->target)
			r.why = MK_HOG_TARGET;
		else if (h->stop_counter &&
			 !ramm_sysfs_read(h->stop_counter, &v) &&
			 v >= h->stop_at)
			r.why = MK_HOG_COUNTER;
		else if (ramm_now_ns() - t0 > h->max_ms * 1000000ULL)
			r.why = MK_HOG_TIMEOUT;
		else if (h->sleep_us)
			usleep(h->sleep_us);
	}
report:
	r.bytes = done;
	r.elapsed_ns = ramm_now_ns() - t0;
	if (mk_write_full(rep, &r, sizeof(r)))
		_exit(4);
	if (!h->hold)
		_exit(0);
	if (poll(&pfd, 1, MK_CHILD_LIFE_MS) > 0 && read(ctrl, &cmd, 1) < 0)
		_exit(4);
	_exit(0);
}

/* Start a hog; oom_score_adj @oom_adj. */
static inline struct mk_child *mk_hog_start(struct mk_kids *k,
					    const struct mk_hog_spec *h,
					    int oom_adj)
{
	return mk_spawn(k, "hog", oom_adj, mk_hog, h);
}

/* Wait for the hog's report: 0, or -1 if it died (or hung) first. */
static inline int mk_hog_wait(struct mk_child *c, struct mk_hog_report *r,
			      int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	if (mk_read_full(c->rep, r, sizeof(*r), timeout_ms))
		return -1;
	if (r->magic != MK_MAGIC_HOG) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* Let a holding hog go and reap it. */
static inline void mk_hog_release(struct mk_child *c, int timeout_ms)
{
	mk_cmd(c, MK_CMD_STOP);
	mk_reap(c, timeout_ms);
}

#endif /* __RAMM_MARKET_HELPERS_H */
