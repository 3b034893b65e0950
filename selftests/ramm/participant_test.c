// SPDX-License-Identifier: GPL-2.0
/*
 * Participants: PR_RAMM_REGISTER, PR_RAMM_UNREGISTER, PR_RAMM_GET_FD and
 * PR_RAMM_GET_REQUESTS with every error; the request fd (poll, read,
 * O_NONBLOCK, close-on-exec, end-of-file after unregistering); what fork
 * and exec do to a registration; the RammCredit: line of /proc/PID/status;
 * and /sys/kernel/mm/ramm/.
 *
 * No test here makes memory short: the process has no priced memory, so
 * nothing can be queued for it (market_test.c makes the kernel ask).
 *
 * Run with "--ramm-exec-check <fd> <credit>" the binary does not start the
 * harness: it checks that the process it replaced by exec was registered
 * and that it is not (exec dropped the registration, closed the request fd
 * <fd> and kept the credit), and exits 0 if so.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sys/time.h>

#include "ramm_helpers.h"

#define RW	(PROT_READ | PROT_WRITE)

#define EXEC_CHECK_ARG	"--ramm-exec-check"

/* One request record: the smallest buffer read() and GET_REQUESTS take. */
#define REQ_SIZE	((size_t)RAMM_REQUEST_SIZE_VER0)

FIXTURE(participant) {
	struct ramm_env env;
	struct ramm_maps maps;
	struct ramm_tunables_saved saved;
};

FIXTURE_SETUP(participant)
{
	ramm_env_probe(&self->env);
	if (self->env.version > 0)
		ramm_tunables_save(&self->saved);
}

FIXTURE_TEARDOWN(participant)
{
	if (self->env.version > 0) {
		ramm_unregister();
		ramm_tunables_restore(&self->saved);
	}
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

/* Assert that GET_STATS says the process is (@_reg 1) or is not registered. */
#define ASSERT_REGISTERED(_reg) do {					\
	struct ramm_stats __st;						\
									\
	ASSERT_EQ(0, ramm_get_stats(&__st)) {				\
		TH_LOG("GET_STATS: %s", strerror(errno));		\
	}								\
	ASSERT_EQ((__u64)(_reg), __st.registered) {			\
		TH_LOG("GET_STATS.registered");				\
	}								\
} while (0)

/* Register with the defaults and assert it worked. */
#define ASSERT_REGISTER() do {						\
	ASSERT_EQ(0, ramm_register_default()) {				\
		TH_LOG("PR_RAMM_REGISTER(NULL): %s", strerror(errno));	\
	}								\
} while (0)

/*
 * A child's verdict travels through a pipe as text: the first check that
 * failed, or nothing.
 */
struct child_pipe {
	int rd;
	int wr;
};

static void child_fail(int wr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void child_fail(int wr, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len > (int)sizeof(msg) - 1)
		len = sizeof(msg) - 1;
	if (write(wr, msg, (size_t)len) < 0)
		_exit(2);
	_exit(1);
}

#define CHILD_CHECK(_wr, _cond, _fmt, ...) do {			\
	if (!(_cond))							\
		child_fail(_wr, "%s: " _fmt " (errno %s)", #_cond,	\
			   ##__VA_ARGS__, strerror(errno));		\
} while (0)

/*
 * Wait up to @timeout_ms for @pid and read what it wrote on @rd into @msg.
 * Returns the wait status, or -1 if it did not exit in time (then it is
 * killed).
 */
static int child_wait(pid_t pid, int rd, char *msg, size_t size,
		      unsigned int timeout_ms)
{
	__u64 end = ramm_now_ns() + (__u64)timeout_ms * 1000000ULL;
	size_t got = 0;
	int status;

	msg[0] = '\0';
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (ramm_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		ramm_sleep_ms(5);
	}
	for (;;) {
		ssize_t n = read(rd, msg + got, size - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	return status;
}

/* Fork with a pipe for the verdict; the child gets @cp->wr, the parent rd. */
static pid_t child_start(struct child_pipe *cp)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		cp->rd = -1;
		cp->wr = fds[1];
		return 0;
	}
	close(fds[1]);
	cp->rd = fds[0];
	cp->wr = -1;
	fcntl(cp->rd, F_SETFL, O_NONBLOCK);
	return pid;
}

/* Assert that the child @_pid exited 0; log what it said otherwise. */
#define ASSERT_CHILD_OK(_pid, _cp) do {				\
	char __msg[256];						\
	int __st = child_wait(_pid, (_cp)->rd, __msg, sizeof(__msg),	\
			      10000);					\
									\
	close((_cp)->rd);						\
	ASSERT_NE(-1, __st) {						\
		TH_LOG("child did not exit within 10 s");		\
	}								\
	ASSERT_TRUE(WIFEXITED(__st)) {					\
		TH_LOG("child died of signal %d", WTERMSIG(__st));	\
	}								\
	ASSERT_EQ(0, WEXITSTATUS(__st)) {				\
		TH_LOG("child: %s", __msg);				\
	}								\
} while (0)

/* Register with the defaults, read the stats, unregister. */
TEST_F(participant, register_defaults)
{
	struct ramm_stats st;
	__u64 credit;

	if (ramm_skip(_metadata, &self->env))
		return;

	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(0, st.registered);
	/* A process that was never asked has full credit. */
	ASSERT_EQ(1000, st.credit);

	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_get_stats(&st));
	ASSERT_EQ(1, st.registered);
	ASSERT_EQ(1000, st.credit);
	ASSERT_EQ(0, st.asked);
	ASSERT_EQ(0, st.answered);
	ASSERT_EQ(0, st.late);
	ASSERT_EQ(0, st.ignored);
	ASSERT_EQ(0, st.purged_bytes);
	ASSERT_EQ(0, st.queue_overflows);
	ASSERT_EQ(0, status_credit(0, &credit)) {
		TH_LOG("no well-formed RammCredit: line in /proc/self/status");
	}
	ASSERT_EQ(st.credit, credit);

	ASSERT_EQ(0, ramm_unregister()) {
		TH_LOG("PR_RAMM_UNREGISTER: %s", strerror(errno));
	}
	ASSERT_REGISTERED(0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_UNREGISTER, 0, 0, 0);
}

/* An explicit struct, the signals that may be named, and signal 0. */
TEST_F(participant, register_struct)
{
	/* 64 is the last signal there is (the kernel's _NSIG). */
	static const __u64 sigs[] = { SIGUSR1, SIGUSR2, 0, SIGHUP, 40, 64 };
	unsigned int i;

	if (ramm_skip(_metadata, &self->env))
		return;

	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		ASSERT_EQ(0, ramm_register(sigs[i], 0)) {
			TH_LOG("REGISTER signal %llu: %s",
			       (unsigned long long)sigs[i], strerror(errno));
		}
		ASSERT_REGISTERED(1);
		ASSERT_EQ(0, ramm_unregister());
		ASSERT_REGISTERED(0);
	}
}

/* A larger struct with a zero tail is accepted, as for every PR_RAMM struct. */
TEST_F(participant, register_larger_struct)
{
	struct ramm_register *reg;
	char *buf;

	if (ramm_skip(_metadata, &self->env))
		return;
	buf = ramm_map_plain(&self->maps, 1, RW);
	ASSERT_NE(MAP_FAILED, buf);
	reg = (struct ramm_register *)buf;
	reg->signal = SIGUSR2;

	ASSERT_EQ(0, ramm_prctl(PR_RAMM_REGISTER, (unsigned long)reg,
				sizeof(*reg) + 8, 0)) {
		TH_LOG("size 24, zero tail: %s", strerror(errno));
	}
	ASSERT_REGISTERED(1);
	ASSERT_EQ(0, ramm_unregister());

	/* A whole page works too. */
	ASSERT_EQ(0, ramm_prctl(PR_RAMM_REGISTER, (unsigned long)reg,
				page_size, 0));
	ASSERT_EQ(0, ramm_unregister());
}

TEST_F(participant, register_twice_ebusy)
{
	if (ramm_skip(_metadata, &self->env))
		return;

	ASSERT_REGISTER();
	errno = 0;
	ASSERT_EQ(-1, ramm_register_default());
	ASSERT_EQ(EBUSY, errno);
	errno = 0;
	ASSERT_EQ(-1, ramm_register(SIGUSR2, 0));
	ASSERT_EQ(EBUSY, errno);
	/* Still registered, once. */
	ASSERT_REGISTERED(1);
	ASSERT_EQ(0, ramm_unregister());
	ASSERT_REGISTERED(0);
}

/* Every way to get PR_RAMM_REGISTER wrong; none registers. */
TEST_F(participant, register_errors)
{
	static const struct {
		__u64 signal;
		__u64 flags;
		const char *what;
	} bad[] = {
		{ SIGKILL, 0, "SIGKILL" },
		{ SIGSTOP, 0, "SIGSTOP" },
		{ 65, 0, "signal 65" },
		{ 1000, 0, "signal 1000" },
		{ (1ULL << 32) | SIGUSR1, 0, "SIGUSR1 + 2^32" },
		{ ~0ULL, 0, "signal ~0" },
		{ SIGUSR1, 1, "flags 1" },
		{ SIGUSR1, 1ULL << 63, "flags bit 63" },
	};
	struct ramm_register *reg;
	unsigned int i;
	char *buf, *hole;

	if (ramm_skip(_metadata, &self->env))
		return;
	buf = ramm_map_plain(&self->maps, 2, RW);
	ASSERT_NE(MAP_FAILED, buf);
	reg = (struct ramm_register *)buf;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		long ret;
		int err;

		reg->signal = bad[i].signal;
		reg->flags = bad[i].flags;
		errno = 0;
		ret = ramm_prctl(PR_RAMM_REGISTER, (unsigned long)reg,
				 sizeof(*reg), 0);
		err = errno;
		if (!ret)
			ramm_unregister();
		EXPECT_EQ(-1, ret) {
			TH_LOG("%s: registered", bad[i].what);
		}
		EXPECT_EQ(EINVAL, err) {
			TH_LOG("%s: %s", bad[i].what, strerror(err));
		}
	}

	reg->signal = SIGUSR1;
	reg->flags = 0;
	/* arg5, and a size without a struct. */
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, reg, sizeof(*reg), 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, 0, 0, 1);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, 0, sizeof(*reg), 0);
	/* Sizes. */
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, reg, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, reg, 8, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_REGISTER, reg,
			 RAMM_REGISTER_SIZE_VER0 - 1, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_REGISTER, reg, page_size + 1, 0);
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_REGISTER, reg, 2 * page_size, 0);
	/* A larger struct whose tail is not zero. */
	buf[sizeof(*reg) + 3] = 1;
	EXPECT_PRCTL_ERR(E2BIG, PR_RAMM_REGISTER, reg, sizeof(*reg) + 8, 0);
	buf[sizeof(*reg) + 3] = 0;
	/* Pointers. */
	hole = ramm_hole(&self->maps);
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_REGISTER, hole, sizeof(*reg), 0);
	EXPECT_PRCTL_ERR(EFAULT, PR_RAMM_REGISTER, buf + 2 * page_size - 8,
			 sizeof(*reg), 0);

	ASSERT_REGISTERED(0);
}

/* Everything but REGISTER needs a registration. */
TEST_F(participant, not_registered_enoent)
{
	struct ramm_request req[2];

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTERED(0);

	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_UNREGISTER, 0, 0, 0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_GET_FD, 0, 0, 0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_GET_FD, O_NONBLOCK, 0, 0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_GET_REQUESTS, req, sizeof(req), 0);

	/* And after a registration has come and gone. */
	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_unregister());
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_UNREGISTER, 0, 0, 0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_GET_FD, 0, 0, 0);
	EXPECT_PRCTL_ERR(ENOENT, PR_RAMM_GET_REQUESTS, req, sizeof(req), 0);
}

/* Arguments of UNREGISTER, GET_FD and GET_REQUESTS while registered. */
TEST_F(participant, registered_arg_errors)
{
	struct ramm_request req[3];

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();

	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_UNREGISTER, 1, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_UNREGISTER, 0, 1, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_UNREGISTER, 0, 0, 1);
	ASSERT_REGISTERED(1);

	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, 1, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, O_RDWR, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, O_CLOEXEC, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, O_NONBLOCK | O_CLOEXEC, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, ~0UL, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, 0, 1, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_FD, 0, 0, 1);

	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_REQUESTS, req, 0, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_REQUESTS, req, 8, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_REQUESTS, req, REQ_SIZE - 1, 0);
	EXPECT_PRCTL_ERR(EINVAL, PR_RAMM_GET_REQUESTS, req, sizeof(req), 1);
	ASSERT_REGISTERED(1);
}

/* Nothing is queued for a process without priced memory: 0 records. */
TEST_F(participant, get_requests_empty)
{
	struct ramm_request req[3];

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();

	memset(req, 0x5a, sizeof(req));
	ASSERT_EQ(0, ramm_get_requests(req, REQ_SIZE)) {
		TH_LOG("GET_REQUESTS one record: %s", strerror(errno));
	}
	ASSERT_EQ(0, ramm_get_requests(req, sizeof(req)));
	/* Not a multiple of the record size: still fine. */
	ASSERT_EQ(0, ramm_get_requests(req, REQ_SIZE + 5));
	ASSERT_EQ(0x5a5a5a5a5a5a5a5aULL, req[0].seq) {
		TH_LOG("the buffer was written although nothing was queued");
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Interrupt a blocking call in @ms ms (a SIGALRM without SA_RESTART). */
static int arm_alarm(unsigned int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_value = {
			.tv_sec = ms / 1000,
			.tv_usec = (long)(ms % 1000) * 1000,
		},
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_alarm(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* A fresh fd with nothing queued: poll says nothing, read says EAGAIN. */
TEST_F(participant, fd_nonblock_empty)
{
	char buf[3 * RAMM_REQUEST_SIZE_VER0];
	struct pollfd pfd;
	int fd, fl;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();

	fd = ramm_get_fd(O_NONBLOCK);
	ASSERT_LE(0, fd) {
		TH_LOG("GET_FD(O_NONBLOCK): %s", strerror(errno));
	}
	fl = fcntl(fd, F_GETFL);
	ASSERT_NE(-1, fl);
	ASSERT_EQ(O_NONBLOCK, fl & O_NONBLOCK);
	ASSERT_EQ(O_RDONLY, fl & O_ACCMODE) {
		TH_LOG("the request fd is not read-only: flags %#x", fl);
	}

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0)) {
		TH_LOG("poll: revents %#x", pfd.revents);
	}
	ASSERT_EQ(0, poll(&pfd, 1, 50));

	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, REQ_SIZE));
	ASSERT_EQ(EAGAIN, errno);
	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, REQ_SIZE + 1));
	ASSERT_EQ(EAGAIN, errno);

	/* Smaller than one record. */
	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, REQ_SIZE - 1));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, 1));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, close(fd));
}

/* A blocking fd blocks in read() while nothing is queued. */
TEST_F(participant, fd_blocking_empty)
{
	char buf[RAMM_REQUEST_SIZE_VER0];
	struct pollfd pfd;
	__u64 t0, ms;
	ssize_t n;
	int fd;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();

	fd = ramm_get_fd(0);
	ASSERT_LE(0, fd) {
		TH_LOG("GET_FD(0): %s", strerror(errno));
	}
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	/* A small buffer is refused at once, it does not block. */
	ASSERT_EQ(0, arm_alarm(2000));
	errno = 0;
	n = read(fd, buf, REQ_SIZE - 1);
	disarm_alarm();
	ASSERT_EQ(-1, n);
	ASSERT_EQ(EINVAL, errno) {
		TH_LOG("small read on a blocking fd: %s", strerror(errno));
	}

	/* A whole record: blocks until the alarm interrupts it. */
	t0 = ramm_now_ns();
	ASSERT_EQ(0, arm_alarm(200));
	errno = 0;
	n = read(fd, buf, sizeof(buf));
	disarm_alarm();
	ms = (ramm_now_ns() - t0) / 1000000;
	ASSERT_EQ(-1, n) {
		TH_LOG("read returned %zd with nothing queued", n);
	}
	ASSERT_EQ(EINTR, errno) {
		TH_LOG("blocking read: %s", strerror(errno));
	}
	ASSERT_LE(150, ms) {
		TH_LOG("read returned after %llu ms, before the alarm",
		       (unsigned long long)ms);
	}
	close(fd);
}

/* GET_FD's fds are close-on-exec, whatever arg3 says. */
TEST_F(participant, fd_cloexec)
{
	int fd, fd2;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();

	fd = ramm_get_fd(0);
	ASSERT_LE(0, fd);
	fd2 = ramm_get_fd(O_NONBLOCK);
	ASSERT_LE(0, fd2);
	ASSERT_NE(fd, fd2);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(fd2);
}

/* UNREGISTER: old fds read end-of-file and poll POLLHUP. */
TEST_F(participant, unregister_hangs_up_fds)
{
	char buf[2 * RAMM_REQUEST_SIZE_VER0];
	struct pollfd pfd[2];
	int fd, nfd;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();
	fd = ramm_get_fd(0);
	ASSERT_LE(0, fd);
	nfd = ramm_get_fd(O_NONBLOCK);
	ASSERT_LE(0, nfd);

	ASSERT_EQ(0, ramm_unregister());

	pfd[0].fd = fd;
	pfd[1].fd = nfd;
	pfd[0].events = POLLIN;
	pfd[1].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].revents = 0;
	ASSERT_EQ(2, poll(pfd, 2, 1000)) {
		TH_LOG("revents %#x %#x", pfd[0].revents, pfd[1].revents);
	}
	ASSERT_EQ(POLLHUP, pfd[0].revents & POLLHUP) {
		TH_LOG("blocking fd: revents %#x", pfd[0].revents);
	}
	ASSERT_EQ(POLLHUP, pfd[1].revents & POLLHUP) {
		TH_LOG("O_NONBLOCK fd: revents %#x", pfd[1].revents);
	}

	/* End-of-file, at once, on both (the blocking one must not block). */
	ASSERT_EQ(0, arm_alarm(2000));
	ASSERT_EQ(0, read(fd, buf, sizeof(buf))) {
		TH_LOG("blocking fd: %s", strerror(errno));
	}
	disarm_alarm();
	ASSERT_EQ(0, read(nfd, buf, sizeof(buf))) {
		TH_LOG("O_NONBLOCK fd: %s", strerror(errno));
	}
	ASSERT_EQ(0, read(nfd, buf, sizeof(buf)));

	/* A new registration gets a new fd that works. */
	ASSERT_REGISTER();
	close(fd);
	fd = ramm_get_fd(O_NONBLOCK);
	ASSERT_LE(0, fd);
	pfd[0].fd = fd;
	pfd[0].revents = 0;
	ASSERT_EQ(0, poll(pfd, 1, 0)) {
		TH_LOG("new fd: revents %#x", pfd[0].revents);
	}
	errno = 0;
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
	close(nfd);
}

struct blocked_reader {
	int fd;
	ssize_t ret;
	int err;
	volatile int done;
};

static void *blocked_read(void *arg)
{
	struct blocked_reader *br = arg;
	char buf[RAMM_REQUEST_SIZE_VER0];

	errno = 0;
	br->ret = read(br->fd, buf, sizeof(buf));
	br->err = errno;
	__atomic_store_n(&br->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A reader blocked in read() is woken by UNREGISTER and reads EOF. */
TEST_F(participant, unregister_wakes_reader)
{
	struct blocked_reader br = { .ret = -2 };
	pthread_t th;
	int i;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();
	br.fd = ramm_get_fd(0);
	ASSERT_LE(0, br.fd);

	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_read, &br));
	ramm_sleep_ms(200);
	ASSERT_EQ(0, __atomic_load_n(&br.done, __ATOMIC_ACQUIRE)) {
		TH_LOG("read returned %zd (%s) with nothing queued", br.ret,
		       strerror(br.err));
	}
	ASSERT_EQ(0, ramm_unregister());
	for (i = 0; i < 500 && !__atomic_load_n(&br.done, __ATOMIC_ACQUIRE);
	     i++)
		ramm_sleep_ms(10);
	ASSERT_EQ(1, __atomic_load_n(&br.done, __ATOMIC_ACQUIRE)) {
		/* The thread dies with the process when the test ends. */
		TH_LOG("the reader was not woken by UNREGISTER within 5 s");
	}
	pthread_join(th, NULL);
	ASSERT_EQ(0, br.ret) {
		TH_LOG("woken read: %s", strerror(br.err));
	}
	close(br.fd);
}

/* Re-registering works, and the credit is the one the process had. */
TEST_F(participant, reregister_keeps_credit)
{
	struct ramm_stats st1, st2;
	__u64 c;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_get_stats(&st1));
	ASSERT_GE(1000, st1.credit);
	ASSERT_EQ(0, ramm_unregister());

	/* Unregistered: still reported. */
	ASSERT_EQ(0, ramm_get_stats(&st2));
	ASSERT_EQ(st1.credit, st2.credit);
	ASSERT_EQ(0, status_credit(0, &c));
	ASSERT_EQ(st1.credit, c);

	ASSERT_EQ(0, ramm_register(SIGUSR2, 0)) {
		TH_LOG("re-register: %s", strerror(errno));
	}
	ASSERT_EQ(0, ramm_get_stats(&st2));
	ASSERT_EQ(1, st2.registered);
	ASSERT_EQ(st1.credit, st2.credit);
	ASSERT_EQ(0, status_credit(0, &c));
	ASSERT_EQ(st1.credit, c);
	ASSERT_EQ(0, ramm_unregister());
}

/* A forked child starts unregistered, with its parent's credit. */
TEST_F(participant, fork_child_unregistered)
{
	struct child_pipe cp;
	struct ramm_stats st;
	int fd;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_REGISTER();
	fd = ramm_get_fd(O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ramm_get_stats(&st));

	pid = child_start(&cp);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ramm_request req[2];
		struct ramm_stats cst;
		__u64 c;

		CHILD_CHECK(cp.wr, !ramm_get_stats(&cst), "GET_STATS");
		CHILD_CHECK(cp.wr, cst.registered == 0,
			    "child registered %llu",
			    (unsigned long long)cst.registered);
		CHILD_CHECK(cp.wr, cst.credit == st.credit,
			    "child credit %llu, parent %llu",
			    (unsigned long long)cst.credit,
			    (unsigned long long)st.credit);
		CHILD_CHECK(cp.wr, !status_credit(0, &c) && c == st.credit,
			    "child RammCredit");
		errno = 0;
		CHILD_CHECK(cp.wr, ramm_get_fd(0) == -1 && errno == ENOENT,
			    "GET_FD in the child");
		errno = 0;
		CHILD_CHECK(cp.wr, ramm_get_requests(req, sizeof(req)) == -1 &&
			    errno == ENOENT, "GET_REQUESTS in the child");
		errno = 0;
		CHILD_CHECK(cp.wr, ramm_unregister() == -1 && errno == ENOENT,
			    "UNREGISTER in the child");
		/* It may register itself. */
		CHILD_CHECK(cp.wr, ramm_register_default() == 0,
			    "REGISTER in the child");
		CHILD_CHECK(cp.wr, ramm_registered() == 1,
			    "child not registered after REGISTER");
		CHILD_CHECK(cp.wr, ramm_unregister() == 0,
			    "UNREGISTER in the child");
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, &cp);

	/* The parent's registration and fd are untouched. */
	ASSERT_REGISTERED(1);
	errno = 0;
	{
		char buf[RAMM_REQUEST_SIZE_VER0];

		ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
		ASSERT_EQ(EAGAIN, errno) {
			TH_LOG("parent fd after the child: %s",
			       strerror(errno));
		}
	}
	close(fd);
	ASSERT_EQ(0, ramm_unregister());
}

/*
 * The exec check mode: this image replaced a registered process whose
 * request fd was @fdarg; the registration and the fd are gone, the credit
 * is @creditarg.  Messages go to stderr (the test's output).
 */
static int exec_check(const char *fdarg, const char *creditarg)
{
	int oldfd = (int)strtol(fdarg, NULL, 10);
	__u64 credit = strtoull(creditarg, NULL, 10);
	struct ramm_request req[2];
	struct ramm_stats st;
	__u64 c;

	errno = 0;
	if (fcntl(oldfd, F_GETFD) != -1 || errno != EBADF) {
		fprintf(stderr, "# exec check: request fd %d still open\n",
			oldfd);
		return 1;
	}
	if (ramm_get_stats(&st)) {
		fprintf(stderr, "# exec check: GET_STATS: %s\n",
			strerror(errno));
		return 2;
	}
	if (st.registered) {
		fprintf(stderr, "# exec check: still registered after exec\n");
		return 3;
	}
	if (st.credit != credit) {
		fprintf(stderr, "# exec check: credit %llu, before exec %llu\n",
			(unsigned long long)st.credit,
			(unsigned long long)credit);
		return 4;
	}
	if (status_credit(0, &c) || c != credit) {
		fprintf(stderr, "# exec check: RammCredit: missing or wrong\n");
		return 5;
	}
	errno = 0;
	if (ramm_get_fd(0) != -1 || errno != ENOENT) {
		fprintf(stderr, "# exec check: GET_FD: %s\n", strerror(errno));
		return 6;
	}
	errno = 0;
	if (ramm_get_requests(req, sizeof(req)) != -1 || errno != ENOENT) {
		fprintf(stderr, "# exec check: GET_REQUESTS: %s\n",
			strerror(errno));
		return 7;
	}
	if (ramm_register_default()) {
		fprintf(stderr, "# exec check: REGISTER: %s\n",
			strerror(errno));
		return 8;
	}
	if (ramm_unregister()) {
		fprintf(stderr, "# exec check: UNREGISTER: %s\n",
			strerror(errno));
		return 9;
	}
	return 0;
}

/* exec drops the registration (and closes the fd); the credit stays. */
TEST_F(participant, exec_drops_registration)
{
	int status, fd;
	__u64 credit;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	/* Credit as this process has it: the child inherits it. */
	ASSERT_EQ(0, status_credit(0, &credit));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char fdarg[16], carg[32];

		if (ramm_register_default())
			_exit(100);
		fd = ramm_get_fd(0);
		if (fd < 0)
			_exit(101);
		if (ramm_registered() != 1)
			_exit(102);
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(carg, sizeof(carg), "%llu",
			 (unsigned long long)credit);
		execl("/proc/self/exe", "participant_test", EXEC_CHECK_ARG,
		      fdarg, carg, (char *)NULL);
		_exit(103);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) {
		TH_LOG("exec child died of signal %d", WTERMSIG(status));
	}
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("%d: 100-102 before exec (REGISTER, GET_FD, stats), 103 exec failed, else exec check (see above)",
		       WEXITSTATUS(status));
	}
}

/* The participants counter follows REGISTER, UNREGISTER, exit and exec. */
TEST_F(participant, participants_counter)
{
	struct child_pipe cp;
	__u64 p0, p;
	int i, ctl[2];
	char c;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_participants_settled(&p0)) {
		TH_LOG("cannot read " RAMM_SYSFS_DIR "participants");
	}

	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_sysfs_read("participants", &p));
	ASSERT_EQ(p0 + 1, p);
	ASSERT_EQ(0, ramm_unregister());
	ASSERT_EQ(0, ramm_sysfs_read("participants", &p));
	ASSERT_EQ(p0, p);

	/* A child registers, is counted, then exits. */
	ASSERT_EQ(0, pipe2(ctl, O_CLOEXEC));
	pid = child_start(&cp);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(ctl[1]);
		CHILD_CHECK(cp.wr, ramm_register_default() == 0, "REGISTER");
		/* Wait for the parent to have counted, then exit. */
		CHILD_CHECK(cp.wr, read(ctl[0], &c, 1) >= 0, "read");
		_exit(0);
	}
	close(ctl[0]);
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, ramm_sysfs_read("participants", &p));
		if (p == p0 + 1)
			break;
		ramm_sleep_ms(10);
	}
	ASSERT_EQ(p0 + 1, p) {
		TH_LOG("the registered child is not counted");
	}
	close(ctl[1]);
	ASSERT_CHILD_OK(pid, &cp);
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, ramm_sysfs_read("participants", &p));
		if (p == p0)
			break;
		ramm_sleep_ms(10);
	}
	ASSERT_EQ(p0, p) {
		TH_LOG("a participant that exited is still counted after 2 s");
	}
}

/* /proc/PID/status has RammCredit: for every process, 1000 when never asked. */
TEST_F(participant, status_ramm_credit)
{
	char line[256];
	bool found = false;
	int status, ctl[2];
	__u64 c;
	FILE *f;
	pid_t pid;

	if (ramm_skip(_metadata, &self->env))
		return;

	f = fopen("/proc/self/status", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "RammCredit", 10))
			continue;
		ASSERT_FALSE(found) {
			TH_LOG("two RammCredit lines");
		}
		found = true;
		ASSERT_EQ(0, strncmp(line, "RammCredit:\t", 12)) {
			TH_LOG("malformed: %s", line);
		}
	}
	fclose(f);
	ASSERT_TRUE(found) {
		TH_LOG("no RammCredit: line in /proc/self/status");
	}
	ASSERT_EQ(0, status_credit(0, &c)) {
		TH_LOG("RammCredit: not \"<decimal>\\n\"");
	}
	ASSERT_EQ(1000, c);

	/* Another process's, unregistered and without priced memory. */
	ASSERT_EQ(0, pipe2(ctl, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char b;

		close(ctl[1]);
		if (read(ctl[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ctl[0]);
	c = 0;
	EXPECT_EQ(0, status_credit(pid, &c));
	EXPECT_EQ(1000, c);
	/* And of init, which never registered. */
	c = 0;
	EXPECT_EQ(0, status_credit(1, &c));
	EXPECT_EQ(1000, c);
	close(ctl[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
}

/* Every file of /sys/kernel/mm/ramm/ is there and holds a number. */
TEST_F(participant, sysfs_files)
{
	char path[128];
	struct stat sb;
	unsigned int i;
	__u64 v;
	int ret;

	if (ramm_skip(_metadata, &self->env))
		return;

	ASSERT_EQ(0, stat(RAMM_SYSFS_DIR, &sb)) {
		TH_LOG(RAMM_SYSFS_DIR ": %s", strerror(errno));
	}
	ASSERT_TRUE(S_ISDIR(sb.st_mode));
	for (i = 0; i < ARRAY_SIZE(ramm_tunables); i++) {
		snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s",
			 ramm_tunables[i]);
		ret = stat(path, &sb);
		EXPECT_EQ(0, ret) {
			TH_LOG("%s: %s", path, strerror(errno));
		}
		if (ret)
			continue;
		/* Root writes, everyone reads. */
		EXPECT_EQ(0644, sb.st_mode & 0777) {
			TH_LOG("%s: mode %o", path, sb.st_mode & 0777);
		}
		ret = ramm_sysfs_read(ramm_tunables[i], &v);
		EXPECT_EQ(0, ret) {
			TH_LOG("%s: %s", path, strerror(-ret));
		}
	}
	for (i = 0; i < ARRAY_SIZE(ramm_counters); i++) {
		snprintf(path, sizeof(path), RAMM_SYSFS_DIR "%s",
			 ramm_counters[i]);
		ret = stat(path, &sb);
		EXPECT_EQ(0, ret) {
			TH_LOG("%s: %s", path, strerror(errno));
		}
		if (ret)
			continue;
		EXPECT_EQ(0444, sb.st_mode & 0777) {
			TH_LOG("%s: mode %o", path, sb.st_mode & 0777);
		}
		ret = ramm_sysfs_read(ramm_counters[i], &v);
		EXPECT_EQ(0, ret) {
			TH_LOG("%s: %s", path, strerror(-ret));
		}
		/* Read-only, even for root. */
		EXPECT_NE(0, ramm_sysfs_write(ramm_counters[i], "0\n")) {
			TH_LOG("%s: a write succeeded", path);
		}
	}
}

/*
 * The documented defaults.  A failure here after a market_test failure
 * can also mean a test died before its teardown put a tunable back.
 */
TEST_F(participant, sysfs_defaults)
{
	static const struct {
		const char *name;
		__u64 val;
	} def[] = {
		{ "enabled", 1 },
		{ "reserve_price", 50000 },
		{ "deadline_ms", 100 },
		{ "queue_len", 64 },
		{ "headroom_permille", 50 },
		{ "credit_halflife_s", 60 },
		{ "pass_budget_ms", 10 },
	};
	unsigned int i;
	__u64 v;

	if (ramm_skip(_metadata, &self->env))
		return;
	for (i = 0; i < ARRAY_SIZE(def); i++) {
		ASSERT_EQ(0, ramm_sysfs_read(def[i].name, &v)) {
			TH_LOG("%s unreadable", def[i].name);
		}
		EXPECT_EQ(def[i].val, v) {
			TH_LOG("%s", def[i].name);
		}
	}
}

/* Out-of-range and malformed writes fail with EINVAL and change nothing. */
TEST_F(participant, sysfs_write_range)
{
	static const struct {
		const char *name;
		const char *text;
	} bad[] = {
		{ "queue_len", "0\n" },
		{ "queue_len", "4097\n" },
		{ "queue_len", "5000\n" },
		{ "queue_len", "-1\n" },
		{ "queue_len", "abc\n" },
		{ "queue_len", "\n" },
		{ "enabled", "2\n" },
		{ "enabled", "-1\n" },
		{ "enabled", "yes\n" },
		{ "pass_budget_ms", "0\n" },
		{ "pass_budget_ms", "1001\n" },
	};
	__u64 before, after;
	unsigned int i;
	int ret;

	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, getuid()) {
		TH_LOG("the sysfs tests run as root");
	}

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, ramm_sysfs_read(bad[i].name, &before));
		ret = ramm_sysfs_write(bad[i].name, bad[i].text);
		EXPECT_EQ(-EINVAL, ret) {
			TH_LOG("writing \"%.*s\" to %s: %s",
			       (int)strcspn(bad[i].text, "\n"), bad[i].text,
			       bad[i].name, ret ? strerror(-ret) : "accepted");
		}
		ASSERT_EQ(0, ramm_sysfs_read(bad[i].name, &after));
		EXPECT_EQ(before, after) {
			TH_LOG("%s changed by a rejected write", bad[i].name);
		}
	}

	/* The limits themselves are accepted (the teardown restores). */
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "1\n"));
	ASSERT_EQ(0, ramm_sysfs_read("queue_len", &after));
	ASSERT_EQ(1, after);
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "4096\n"));
	ASSERT_EQ(0, ramm_sysfs_read("queue_len", &after));
	ASSERT_EQ(4096, after);
	ASSERT_EQ(0, ramm_sysfs_write("enabled", "0\n"));
	ASSERT_EQ(0, ramm_sysfs_read("enabled", &after));
	ASSERT_EQ(0, after);
	ASSERT_EQ(0, ramm_sysfs_write("enabled", "1\n"));
	ASSERT_EQ(0, ramm_sysfs_read("enabled", &after));
	ASSERT_EQ(1, after);
	ASSERT_EQ(0, ramm_sysfs_write("pass_budget_ms", "1\n"));
	ASSERT_EQ(0, ramm_sysfs_read("pass_budget_ms", &after));
	ASSERT_EQ(1, after);
	ASSERT_EQ(0, ramm_sysfs_write("pass_budget_ms", "1000\n"));
	ASSERT_EQ(0, ramm_sysfs_read("pass_budget_ms", &after));
	ASSERT_EQ(1000, after);
}

/* queue_len applies at registration: a registration works at either limit. */
TEST_F(participant, queue_len_at_registration)
{
	if (ramm_skip(_metadata, &self->env))
		return;
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "1\n"));
	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_unregister());
	ASSERT_EQ(0, ramm_sysfs_write("queue_len", "4096\n"));
	ASSERT_REGISTER();
	ASSERT_EQ(0, ramm_unregister());
}

int ramm_harness_main(int argc, char **argv);

#define main ramm_harness_main
TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], EXEC_CHECK_ARG))
		return exec_check(argv[2], argv[3]);
	return ramm_harness_main(argc, argv);
}
