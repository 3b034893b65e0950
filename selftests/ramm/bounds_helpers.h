/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of limits_test and fault_test: a memory cgroup to make pressure
 * in without starving the machine, dropping privileges, children that
 * report by exit status, and RAMM's counters.
 *
 * Pressure: a process in a cgroup whose memory.high is below what it
 * touches is reclaimed on every return to user space, and each such
 * reclaim wakes krammmd for that cgroup (and purges its discardable
 * memory), so the process itself is both the hog and the participant.
 * With zram swap on, preserved pages go to swap and come back when
 * touched again, so touching in a loop keeps the pressure up.
 */
#ifndef __RAMM_BOUNDS_HELPERS_H
#define __RAMM_BOUNDS_HELPERS_H

#include <dirent.h>
#include <grp.h>
#include <sys/mount.h>

#include "ramm_helpers.h"

#define BH_CGROUP_ROOT	"/sys/fs/cgroup"
#define BH_NOBODY	65534

/* Child exit codes: 0 is success, each failure its own code. */
#define BH_FAIL(n)	(10 + (n))

/*
 * A cgroup v2 leaf at @dir: memory.high @high (0: no limit), no
 * memory.max, and memory.swap.max 0 if @noswap.  0, or -1 with errno set.
 */
static inline int bh_cgroup_make(const char *dir, __u64 high, bool noswap)
{
	char path[160], val[32];

	if (access(BH_CGROUP_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", BH_CGROUP_ROOT, "cgroup2", 0, NULL))
		return -1;
	if (ramm_write_file(BH_CGROUP_ROOT "/cgroup.subtree_control", "+memory\n"))
		return -1;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/memory.high", dir);
	if (high)
		snprintf(val, sizeof(val), "%llu\n", (unsigned long long)high);
	else
		snprintf(val, sizeof(val), "max\n");
	if (ramm_write_file(path, val))
		return -1;
	/* A cgroup left behind by an earlier test may have others. */
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	if (ramm_write_file(path, "max\n"))
		return -1;
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	if (ramm_write_file(path, noswap ? "0\n" : "max\n") && noswap)
		return -1;
	return 0;
}

static inline int bh_cgroup_set(const char *dir, const char *file,
				const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return ramm_write_file(path, val);
}

/* Move this process into the cgroup at @dir; 0 or -errno. */
static inline int bh_cgroup_enter(const char *dir)
{
	char path[160], pid[24];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	return ramm_write_file(path, pid);
}

/* A "key value" line of a cgroup file such as memory.events, or 0. */
static inline __u64 bh_cgroup_value(const char *dir, const char *file,
				    const char *key)
{
	char path[160], k[64];
	unsigned long long v, ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* Remove the cgroup once its processes are gone (at most 2 s). */
static inline void bh_cgroup_remove(const char *dir)
{
	int i;

	bh_cgroup_set(dir, "memory.high", "max\n");
	for (i = 0; i < 40 && rmdir(dir) && errno == EBUSY; i++)
		ramm_sleep_ms(50);
}

/* Become uid/gid 65534 with no supplementary groups; 0 or -1. */
static inline int bh_drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(BH_NOBODY) || setuid(BH_NOBODY))
		return -1;
	return geteuid() == BH_NOBODY && getegid() == BH_NOBODY ? 0 : -1;
}

/* A RAMM counter or tunable; 0 if it cannot be read. */
static inline __u64 bh_counter(const char *name)
{
	__u64 v = 0;

	return ramm_sysfs_read(name, &v) ? 0 : v;
}

/* Write a word into each page of [p, p + len). */
static inline void bh_touch(char *p, size_t len, __u64 tag)
{
	size_t off;

	for (off = 0; off < len; off += page_size)
		__atomic_store_n((__u64 *)(p + off), tag + off,
				 __ATOMIC_RELAXED);
}

/*
 * Wait up to @timeout_ms for child @pid; SIGKILL it if it is still
 * running then.  Returns its wait status, or -1 if it had to be killed.
 */
static inline int bh_wait(pid_t pid, int timeout_ms)
{
	__u64 end = ramm_now_ns() + (__u64)timeout_ms * 1000000ULL;
	int status;

	while (ramm_now_ns() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		ramm_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* "0", "exit N", "signal N" or "timeout" for a status from bh_wait(). */
static inline const char *bh_how(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "timeout");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
	return buf;
}

/* The pid of the kernel thread named @comm, or 0. */
static inline pid_t bh_find_kthread(const char *comm)
{
	char path[300], name[32];
	struct dirent *de;
	pid_t pid = 0;
	DIR *d = opendir("/proc");
	FILE *f;

	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			if (!strcmp(name, comm))
				pid = atoi(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return pid;
}

/*
 * CPU time @pid has used, in ns: /proc/PID/schedstat when the kernel has
 * it, else utime + stime from /proc/PID/stat (clock ticks).
 */
static inline __u64 bh_cpu_ns(pid_t pid)
{
	unsigned long long run, ut, st;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (f) {
		n = fscanf(f, "%llu", &run);
		fclose(f);
		if (n == 1)
			return run;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st);
	fclose(f);
	if (n != 2)
		return 0;
	return (ut + st) * (1000000000ULL / sysconf(_SC_CLK_TCK));
}

/*
 * Map @n one-page ranges, each priced differently (so that none merge),
 * @flags RAMM_DISCARDABLE or 0, prices from @price up; touch them.
 * Returns the start, or NULL.
 */
static inline char *bh_map_ranges(size_t n, __u64 price, __u64 flags)
{
	char *p = mmap_priced(NULL, n * page_size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, price, flags);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 1; i < n; i++)
		if (ramm_set_price((unsigned long)p + i * page_size, page_size,
				   price + i, flags))
			return NULL;
	bh_touch(p, n * page_size, 1);
	return p;
}

/* The first number of the "SigQ:" line of /proc/self/status, or -1. */
static inline long bh_sigq(void)
{
	char line[128];
	long q = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigQ: %ld/", &q) == 1)
			break;
	fclose(f);
	return q;
}

#endif /* __RAMM_BOUNDS_HELPERS_H */
