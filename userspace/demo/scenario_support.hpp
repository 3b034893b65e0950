// SPDX-License-Identifier: GPL-2.0
//
// What ramm-scenario and ramm-balloon share: the line protocol their child
// processes report to the driver on, the children's memory (plain and
// priced mappings, a cache tier that gives back from its top), and the
// driver's side of it (starting children, reading their lines, reaping
// them, having them check their data).  Both programs run the same kind
// of scenario and the guest tests parse what both print, so the plumbing
// has one home here and each program keeps only its own story and its own
// lines of output.

#ifndef RAMM_DEMO_SCENARIO_SUPPORT_HPP
#define RAMM_DEMO_SCENARIO_SUPPORT_HPP

#include <ramm/ramm.hpp>

#include "bench_support.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramm::demo {

inline double mib(std::uint64_t bytes)
{
	return double(bytes) / double(bench::MiB);
}

// --- what children tell the driver -------------------------------------------
//
// One line per message on a shared pipe, each written with one write(2) of
// less than PIPE_BUF bytes, so lines from different processes never mix:
//   E <ns> <role> <text>          a timeline event
//   A <ns> <role> ...             an ask answered (each program's own fields)
//   R <role> <key> <value>        a result (an integer)

inline int g_report_fd = -1;
inline const char* g_role = "driver";

inline void send_line(const std::string& line)
{
	std::string text = line.size() < 500 ? line : line.substr(0, 500);
	text += '\n';
	ssize_t n;
	do {
		n = ::write(g_report_fd, text.data(), text.size());
	} while (n < 0 && errno == EINTR);
}

template <typename... Args>
void event(fmt::format_string<Args...> format, Args&&... args)
{
	send_line(fmt::format("E {} {} {}", bench::now_ns(), g_role,
			      fmt::format(format, std::forward<Args>(args)...)));
}

inline void result(std::string_view key, std::uint64_t value)
{
	send_line(fmt::format("R {} {} {}", g_role, key, value));
}

inline std::byte* map_plain(std::size_t len)
{
	void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		event("mmap of {:.0f} MiB failed: {}", mib(len), std::strerror(errno));
		std::_Exit(1);
	}
	return static_cast<std::byte*>(p);
}

// An mmap_priced() mapping; the process exits if it gets none.
inline ramm::PricedMapping map_priced(std::size_t len, std::uint64_t price, ramm::Flags flags)
{
	auto m = ramm::PricedMapping::create(len, price, flags);
	if (!m) {
		event("mmap_priced failed: {}", m.error().what());
		std::_Exit(1);
	}
	return std::move(*m);
}

// libramm's Dispatcher, for a process that cannot do without one: it
// exits if there is none.
inline std::unique_ptr<ramm::Dispatcher> start_dispatcher(ramm::Options options = {})
{
	auto started = ramm::Dispatcher::start(std::move(options));
	if (!started) {
		event("Dispatcher::start failed: {}", started.error().what());
		std::_Exit(1);
	}
	return std::move(*started);
}

// Blocks until the driver says "check" (a byte on fd) or goes away.
inline void wait_for_driver(int fd)
{
	char c;
	while (::read(fd, &c, 1) < 0 && errno == EINTR) {
	}
}

// --- a cache's tier ------------------------------------------------------------

struct Tier {
	std::string name;
	std::uint64_t price;
	std::uint64_t seed;
	std::size_t len;
	ramm::PricedMapping priced;   // the variants with priced memory
	std::byte* plain = nullptr;   // the variants with plain memory
	// Bytes at the start of the tier not given back yet; only the
	// dispatcher thread changes it.
	std::atomic<std::size_t> kept{0};

	std::byte* data() { return plain != nullptr ? plain : priced.data(); }
};

// Maps the tier, priced and discardable or plain, and fills it.
inline void map_tier(Tier& tier, bool priced)
{
	if (priced)
		tier.priced = map_priced(tier.len, tier.price, ramm::Flags::discardable);
	else
		tier.plain = map_plain(tier.len);
	bench::fill(tier.data(), tier.len, tier.seed);
	tier.kept = tier.len;
}

// Gives back up to `amount` bytes from the top of what the tier still keeps.
inline std::size_t drop_from_top(Tier& tier, std::size_t amount)
{
	constexpr std::size_t page_size = bench::data_page_size;
	const std::size_t kept = tier.kept.load();
	const std::size_t give = std::min(kept, (amount + page_size - 1) / page_size * page_size);
	if (give == 0)
		return 0;
	if (::madvise(tier.data() + kept - give, give, MADV_DONTNEED) != 0)
		return 0;
	tier.kept.store(kept - give);
	return give;
}

// --- the driver's side ---------------------------------------------------------

struct Child {
	std::string role;
	pid_t pid = -1;
	int control_fd = -1;   // the driver's end: a byte means "check now"
	bool exited = false;
	int status = 0;
	bool killed_early = false;  // SIGKILL before the driver said "check"
	std::map<std::string, std::uint64_t> results;
	std::uint64_t events = 0;  // asks and purges it reported

	bool killed() const { return WIFSIGNALED(status); }
	// A result it reported; 0 if it did not.
	std::uint64_t value(const std::string& key) const
	{
		auto it = results.find(key);
		return it == results.end() ? 0 : it->second;
	}
};

// Forks a child that reports on report_fd as role and runs body with the
// read end of its control pipe; body must not return.
template <typename Fn>
Child spawn(const std::string& role, int report_fd, Fn body)
{
	int control[2];
	if (::pipe2(control, O_CLOEXEC) != 0) {
		std::perror("pipe2");
		std::exit(1);
	}
	Child child;
	child.role = role;
	child.pid = ::fork();
	if (child.pid < 0) {
		std::perror("fork");
		std::exit(1);
	}
	if (child.pid == 0) {
		::close(control[1]);
		g_report_fd = report_fd;
		g_role = strdup(role.c_str());
		::prctl(PR_SET_NAME, role.c_str());
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		body(control[0]);
	}
	::close(control[0]);
	child.control_fd = control[1];
	return child;
}

// The children, the pipe they report on, and the asks they answered.  A
// program's driver derives from it and says how its timeline looks (print,
// flush_asks) and what its lines mean (handle).
class DriverBase {
protected:
	// Asks of one tier less than 100 ms apart, shown as one line.
	struct AskRun {
		std::uint64_t first_ns = 0, last_ns = 0;
		std::string role, source, tier;
		std::uint64_t price = 0, asks = 0, asked = 0, given = 0;
	};

	// program: the name error messages start with.
	explicit DriverBase(const char* program) : program_(program) {}
	virtual ~DriverBase() = default;

	virtual void print(std::uint64_t t, std::string_view who, std::string_view what) = 0;
	virtual void handle(std::string_view line) = 0;
	virtual void flush_asks() = 0;

	bool open_report();
	void note_ask(std::uint64_t t, const std::string& role, const std::string& source,
		      const std::string& tier, std::uint64_t price, std::uint64_t asked,
		      std::uint64_t given);
	void pump(int timeout_ms);
	void reap();
	Child* find(std::string_view role);
	bool wait_ready(Child& child);
	void check_all();
	void drain();
	static std::string event_text(std::istream& in);

	const char* program_;
	int report_rd_ = -1, report_wr_ = -1;
	std::uint64_t t0_ = 0;
	std::vector<Child> children_;
	bool checking_ = false;
	std::optional<AskRun> asks_;
	std::string partial_;
};

// Opens the pipe the children report on; the timeline starts now.
inline bool DriverBase::open_report()
{
	int report[2];
	if (::pipe2(report, O_CLOEXEC) != 0) {
		std::perror("pipe2");
		return false;
	}
	report_rd_ = report[0];
	report_wr_ = report[1];
	g_report_fd = report_wr_;
	t0_ = bench::now_ns();
	return true;
}

// One line per run of asks of the same tier (and source) less than 100 ms
// apart.
inline void DriverBase::note_ask(std::uint64_t t, const std::string& role,
				 const std::string& source, const std::string& tier,
				 std::uint64_t price, std::uint64_t asked, std::uint64_t given)
{
	if (asks_ && (asks_->role != role || asks_->tier != tier ||
		      asks_->source != source || t > asks_->last_ns + 100000000u))
		flush_asks();
	if (!asks_)
		asks_ = AskRun{t, t, role, source, tier, price, 0, 0, 0};
	asks_->last_ns = t;
	asks_->asks++;
	asks_->asked += asked;
	asks_->given += given;
}

inline void DriverBase::pump(int timeout_ms)
{
	pollfd pfd = {report_rd_, POLLIN, 0};
	if (::poll(&pfd, 1, timeout_ms) <= 0) {
		if (asks_ && bench::now_ns() > asks_->last_ns + 100000000u)
			flush_asks();
		return;
	}
	char buf[4096];
	const ssize_t n = ::read(report_rd_, buf, sizeof(buf));
	if (n <= 0)
		return;
	partial_.append(buf, std::size_t(n));
	std::size_t nl;
	while ((nl = partial_.find('\n')) != std::string::npos) {
		handle(std::string_view(partial_).substr(0, nl));
		partial_.erase(0, nl + 1);
	}
}

inline void DriverBase::reap()
{
	for (Child& c : children_) {
		if (c.exited)
			continue;
		int status;
		if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
			c.exited = true;
			c.status = status;
			c.killed_early = !checking_ && WIFSIGNALED(status) &&
					 WTERMSIG(status) == SIGKILL;
			if (WIFSIGNALED(status))
				print(bench::now_ns(), c.role,
				      fmt::format("was killed by signal {} ({})",
						  WTERMSIG(status),
						  WTERMSIG(status) == SIGKILL
							  ? "the OOM killer" : strsignal(WTERMSIG(status))));
		}
	}
}

inline Child* DriverBase::find(std::string_view role)
{
	for (Child& c : children_)
		if (c.role == role)
			return &c;
	return nullptr;
}

inline bool DriverBase::wait_ready(Child& child)
{
	const std::uint64_t deadline = bench::now_ns() + 60ull * 1000000000u;
	while (!child.results.contains("ready")) {
		pump(100);
		reap();
		if (child.exited || bench::now_ns() > deadline) {
			fmt::print(stderr, "{}: {} did not start\n", program_, child.role);
			return false;
		}
	}
	return true;
}

// Everyone still alive checks its data; whoever has not finished within
// a minute is killed.
inline void DriverBase::check_all()
{
	checking_ = true;
	for (Child& c : children_)
		if (!c.exited && ::write(c.control_fd, "c", 1) != 1)
			::kill(c.pid, SIGKILL);
	const std::uint64_t check_deadline = bench::now_ns() + 60ull * 1000000000u;
	while (std::any_of(children_.begin(), children_.end(),
			   [](const Child& c) { return !c.exited; })) {
		pump(100);
		reap();
		if (bench::now_ns() > check_deadline)
			for (Child& c : children_)
				if (!c.exited)
					::kill(c.pid, SIGKILL);
	}
}

// Handles whatever is still in the pipe, and the asks not shown yet.
inline void DriverBase::drain()
{
	while (true) {
		pollfd pfd = {report_rd_, POLLIN, 0};
		if (::poll(&pfd, 1, 0) <= 0)
			break;
		pump(0);
	}
	flush_asks();
}

// An E line's text: what follows "E <ns> <role> " once those are read.
inline std::string DriverBase::event_text(std::istream& in)
{
	std::string text;
	std::getline(in, text);
	if (!text.empty() && text.front() == ' ')
		text.erase(0, 1);
	return text;
}

}  // namespace ramm::demo

#endif  // RAMM_DEMO_SCENARIO_SUPPORT_HPP
