// SPDX-License-Identifier: GPL-2.0
//
// The market readers and rammctl, on fake /sys/kernel/mm/ramm and /proc
// trees in a temporary directory: they run on any kernel, and the values are
// known.

#include <ramm/market.hpp>

#include "test_support.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#ifndef RAMMCTL_PATH
#error "RAMMCTL_PATH must name the rammctl binary (tests/unit/CMakeLists.txt)"
#endif

namespace {

namespace fs = std::filesystem;

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using Values = std::vector<std::pair<std::string, std::uint64_t>>;

// The documented files with believable values, in an order unlike the
// documented one so that sorting shows.
const Values sysfs_files = {
	{"queue_overflows", 0},
	{"select_ns", 123456},
	{"selections", 9},
	{"pages_asked", 2048},
	{"enabled", 1},
	{"credit_halflife_s", 60},
	{"pass_budget_ms", 10},
	{"answered", 30},
	{"participants", 2},
	{"deadline_ms", 100},
	{"wakes", 17},
	{"requests", 40},
	{"pages_released", 1800},
	{"pages_purged_krammmd", 12},
	{"pages_purged_direct", 0},
	{"pages_purged_oom", 0},
	{"reserve_price", 50000},
	{"late", 5},
	{"ignored", 3},
	{"signals_sent", 40},
	{"signals_skipped", 1},
	{"wakes_ahead", 4},
	{"queue_len", 64},
	{"headroom_permille", 50},
};

void write_file(const fs::path& path, std::string_view text)
{
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out << text;
	ASSERT_TRUE(out.good()) << path;
}

std::string status_text(std::string_view comm, std::string_view ramm_lines)
{
	return fmt::format("Name:\t{}\nUmask:\t0022\nState:\tS (sleeping)\n"
			   "VmRSS:\t    1024 kB\n{}Threads:\t1\n",
			   comm, ramm_lines);
}

std::string ramm_lines(std::uint64_t priced_kb, std::uint64_t discardable_kb,
		       std::uint64_t credit)
{
	return fmt::format("RammPriced:\t{:8} kB\nRammDiscardable:\t{:8} kB\n"
			   "RammCredit:\t{}\n",
			   priced_kb, discardable_kb, credit);
}

// What a run of rammctl left behind (not "Run": testing::Test has one).
struct Outcome {
	int status = -1;  // the wait() status
	std::string out;
	std::string err;

	bool exited_with(int code) const
	{
		return WIFEXITED(status) && WEXITSTATUS(status) == code;
	}
};

// A temporary directory holding sysfs/ and proc/, removed after each test.
class MarketTree : public ::testing::Test {
protected:
	void SetUp() override
	{
		std::string pattern =
			(fs::temp_directory_path() / "ramm-market-XXXXXX").string();
		ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
		root_ = pattern;
		sysfs_ = root_ / "sysfs";
		proc_ = root_ / "proc";
		fs::create_directory(sysfs_);
		fs::create_directory(proc_);
	}

	void TearDown() override
	{
		std::error_code ec;
		fs::remove_all(root_, ec);
	}

	void make_sysfs(const Values& files = sysfs_files)
	{
		for (const auto& [name, value] : files)
			write_file(sysfs_ / name, fmt::format("{}\n", value));
	}

	void make_process(int pid, std::string_view status)
	{
		fs::create_directories(proc_ / std::to_string(pid));
		write_file(proc_ / std::to_string(pid) / "status", status);
	}

	// A market with three listed processes and two that are not.
	void make_proc()
	{
		make_process(1, status_text("systemd", ""));
		make_process(42, status_text("cache-server", ramm_lines(24576, 16384, 1000)));
		make_process(77, status_text("lazy worker", ramm_lines(0, 0, 125)));
		make_process(99, status_text("big", ramm_lines(3145728, 512, 563)));
		make_process(100, status_text("bystander", ramm_lines(0, 0, 1000)));
	}

	std::string read(const fs::path& path) { return ramm_test::slurp(path.c_str()); }

	// Starts rammctl with args, its output going to files in the tree.
	pid_t spawn(const std::vector<std::string>& args)
	{
		std::vector<char*> argv;
		std::string program = RAMMCTL_PATH;
		argv.push_back(program.data());
		std::vector<std::string> copies = args;
		for (auto& arg : copies)
			argv.push_back(arg.data());
		argv.push_back(nullptr);
		const std::string out = (root_ / "stdout").string();
		const std::string err = (root_ / "stderr").string();
		// Not left from the previous run: a waiter looking for output
		// must see this run's only.
		fs::remove(out);
		fs::remove(err);

		const pid_t pid = ::fork();
		if (pid == 0) {
			// Only async-signal-safe calls until exec.
			const int out_fd = ::open(out.c_str(),
						  O_WRONLY | O_CREAT | O_TRUNC, 0644);
			const int err_fd = ::open(err.c_str(),
						  O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (out_fd < 0 || err_fd < 0 || ::dup2(out_fd, 1) < 0 ||
			    ::dup2(err_fd, 2) < 0)
				::_exit(127);
			::execv(argv[0], argv.data());
			::_exit(127);
		}
		return pid;
	}

	// Waits (at most 20 s, then kills it) for a spawned rammctl.
	Outcome finish(pid_t pid)
	{
		Outcome run;
		const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
		for (;;) {
			const pid_t done = ::waitpid(pid, &run.status, WNOHANG);
			if (done == pid)
				break;
			if (done < 0) {
				ADD_FAILURE() << "waitpid: " << std::strerror(errno);
				return run;
			}
			if (std::chrono::steady_clock::now() > deadline) {
				ADD_FAILURE() << "rammctl did not exit within 20 s";
				::kill(pid, SIGKILL);
				::waitpid(pid, &run.status, 0);
				break;
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
		run.out = read(root_ / "stdout");
		run.err = read(root_ / "stderr");
		return run;
	}

	Outcome rammctl(std::vector<std::string> args)
	{
		const pid_t pid = spawn(args);
		EXPECT_GT(pid, 0) << std::strerror(errno);
		if (pid <= 0)
			return {};
		return finish(pid);
	}

	std::vector<std::string> fake_args(std::vector<std::string> args)
	{
		args.insert(args.begin(), {"--sysfs", sysfs_.string(), "--proc", proc_.string()});
		return args;
	}

	fs::path root_;
	fs::path sysfs_;
	fs::path proc_;
};

// ---------------------------------------------------------------------------
// read_market()
// ---------------------------------------------------------------------------

using MarketRead = MarketTree;

TEST_F(MarketRead, ListsTunablesThenCountersInDocumentedOrder)
{
	make_sysfs();
	// A newer kernel's files come after the known ones, alphabetically;
	// a subdirectory is not a value.
	write_file(sysfs_ / "zz_new_counter", "7\n");
	write_file(sysfs_ / "aa_new_counter", "8\n");
	fs::create_directory(sysfs_ / "group");

	const auto view = ramm::read_market(sysfs_.string()).value();

	EXPECT_TRUE(view.present);
	EXPECT_EQ(view.tunables, (Values{{"enabled", 1},
					 {"reserve_price", 50000},
					 {"deadline_ms", 100},
					 {"queue_len", 64},
					 {"headroom_permille", 50},
					 {"credit_halflife_s", 60},
					 {"pass_budget_ms", 10}}));
	EXPECT_EQ(view.counters, (Values{{"participants", 2},
					 {"wakes", 17},
					 {"wakes_ahead", 4},
					 {"requests", 40},
					 {"pages_asked", 2048},
					 {"pages_released", 1800},
					 {"pages_purged_krammmd", 12},
					 {"pages_purged_direct", 0},
					 {"pages_purged_oom", 0},
					 {"answered", 30},
					 {"late", 5},
					 {"ignored", 3},
					 {"signals_sent", 40},
					 {"signals_skipped", 1},
					 {"queue_overflows", 0},
					 {"selections", 9},
					 {"select_ns", 123456},
					 {"aa_new_counter", 8},
					 {"zz_new_counter", 7}}));
}

TEST_F(MarketRead, OlderKernelWithFewerFilesShowsWhatIsThere)
{
	make_sysfs({{"deadline_ms", 100}, {"answered", 3}, {"enabled", 0}});

	const auto view = ramm::read_market(sysfs_.string()).value();

	EXPECT_EQ(view.tunables, (Values{{"enabled", 0}, {"deadline_ms", 100}}));
	EXPECT_EQ(view.counters, (Values{{"answered", 3}}));
}

TEST_F(MarketRead, MissingDirectoryIsNotPresentAndNotAnError)
{
	const auto view = ramm::read_market((root_ / "no-such-dir").string());

	ASSERT_TRUE(view.has_value()) << view.error().what();
	EXPECT_FALSE(view->present);
	EXPECT_THAT(view->tunables, IsEmpty());
	EXPECT_THAT(view->counters, IsEmpty());
}

TEST_F(MarketRead, EmptyDirectoryIsPresent)
{
	const auto view = ramm::read_market(sysfs_.string()).value();

	EXPECT_TRUE(view.present);
	EXPECT_THAT(view.tunables, IsEmpty());
	EXPECT_THAT(view.counters, IsEmpty());
}

TEST_F(MarketRead, AcceptsAValueWithoutNewline)
{
	write_file(sysfs_ / "wakes", "17");

	EXPECT_EQ(ramm::read_market(sysfs_.string()).value().counters,
		  (Values{{"wakes", 17}}));
}

TEST_F(MarketRead, MalformedValueIsEbadmsg)
{
	for (const char* bad : {"12abc\n", "-1\n", "\n", "", " 5\n", "5\n\n",
				"18446744073709551616\n"}) {
		make_sysfs();
		write_file(sysfs_ / "late", bad);

		const auto view = ramm::read_market(sysfs_.string());

		ASSERT_FALSE(view.has_value()) << "value \"" << bad << "\"";
		EXPECT_EQ(view.error().errnum(), EBADMSG);
		EXPECT_THAT(view.error().what(), HasSubstr("late"));
	}
}

TEST_F(MarketRead, PathThatIsNotADirectoryIsAnError)
{
	write_file(root_ / "file", "1\n");

	const auto view = ramm::read_market((root_ / "file").string());

	ASSERT_FALSE(view.has_value());
	EXPECT_EQ(view.error().errnum(), ENOTDIR);
}

TEST(MarketNames, ListTheDocumentedFiles)
{
	const auto names = ramm::market_tunable_names();
	EXPECT_THAT(std::vector<std::string_view>(names.begin(), names.end()),
		    ElementsAre("enabled", "reserve_price", "deadline_ms", "queue_len",
				"headroom_permille", "credit_halflife_s",
				"pass_budget_ms"));
	EXPECT_EQ(ramm::market_counter_names().front(), "participants");
	EXPECT_TRUE(ramm::is_market_tunable("deadline_ms"));
	EXPECT_FALSE(ramm::is_market_tunable("participants"));
	EXPECT_FALSE(ramm::is_market_tunable(""));
}

// Every file the kernel's ABI document lists, in its order, is a tunable or
// a counter rammctl knows, and it knows no other.
TEST(MarketNames, MatchTheKernelsAbiDocument)
{
	std::ifstream abi(RAMM_SYSFS_ABI);
	ASSERT_TRUE(abi) << RAMM_SYSFS_ABI;
	std::vector<std::string> documented;
	const std::string what = "What:\t\t/sys/kernel/mm/ramm/";
	for (std::string line; std::getline(abi, line);) {
		if (line.starts_with(what) && line.size() > what.size())
			documented.push_back(line.substr(what.size()));
	}
	std::vector<std::string> known;
	for (const auto name : ramm::market_tunable_names())
		known.emplace_back(name);
	for (const auto name : ramm::market_counter_names())
		known.emplace_back(name);
	EXPECT_EQ(known, documented);
}

// ---------------------------------------------------------------------------
// read_tunable(), set_tunable(), parse_tunable_assignment()
// ---------------------------------------------------------------------------

using MarketSet = MarketTree;

TEST_F(MarketSet, WritesTheValueAsTheKernelReadsIt)
{
	make_sysfs();

	ASSERT_TRUE(ramm::set_tunable("deadline_ms", 250, sysfs_.string()));

	EXPECT_EQ(read(sysfs_ / "deadline_ms"), "250\n");
	EXPECT_EQ(ramm::read_tunable("deadline_ms", sysfs_.string()).value(), 250U);
	// A shorter value leaves nothing of the longer one behind.
	ASSERT_TRUE(ramm::set_tunable("reserve_price", 7, sysfs_.string()));
	EXPECT_EQ(read(sysfs_ / "reserve_price"), "7\n");
}

TEST_F(MarketSet, RejectsUnknownNamesAndSlashesBeforeWriting)
{
	make_sysfs();
	write_file(root_ / "outside", "1\n");

	for (const char* name : {"participants", "nope", "", "../outside", "/etc/passwd",
				 "deadline_ms/"}) {
		const auto result = ramm::set_tunable(name, 5, sysfs_.string());

		ASSERT_FALSE(result.has_value()) << name;
		EXPECT_EQ(result.error().errnum(), EINVAL) << name;
	}
	EXPECT_THAT(ramm::set_tunable("../outside", 5, sysfs_.string()).error().what(),
		    HasSubstr("'/'"));
	EXPECT_THAT(ramm::set_tunable("nope", 5, sysfs_.string()).error().what(),
		    HasSubstr("unknown tunable"));
	// Nothing was written or created.
	EXPECT_EQ(read(sysfs_ / "participants"), "2\n");
	EXPECT_EQ(read(root_ / "outside"), "1\n");
	EXPECT_FALSE(fs::exists(sysfs_ / "nope"));
}

TEST_F(MarketSet, PassesTheKernelErrnoThrough)
{
	// /dev/full refuses every write with ENOSPC, as the kernel refuses
	// an out-of-range value with EINVAL: set_tunable() must report what
	// write() said.
	if (!fs::exists("/dev/full"))
		GTEST_SKIP() << "no /dev/full";
	fs::create_symlink("/dev/full", sysfs_ / "queue_len");

	const auto result = ramm::set_tunable("queue_len", 8, sysfs_.string());

	ASSERT_FALSE(result.has_value());
	EXPECT_EQ(result.error().errnum(), ENOSPC);
	EXPECT_THAT(result.error().what(), HasSubstr("queue_len"));
}

TEST_F(MarketSet, NonRootGetsEaccesWithAClearMessage)
{
	make_sysfs();
	::chmod(sysfs_.c_str(), 0755);
	::chmod((sysfs_ / "deadline_ms").c_str(), 0644);

	int errnum = 0;
	if (::geteuid() != 0) {
		const auto result = ramm::set_tunable("deadline_ms", 5, sysfs_.string());
		ASSERT_FALSE(result.has_value());
		errnum = result.error().errnum();
		EXPECT_THAT(result.error().what(), HasSubstr("root"));
	} else {
		// As root the file mode does not stop the write: try it as
		// nobody, in a child.
		::chmod(root_.c_str(), 0755);
		const pid_t pid = ::fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			if (::setgid(65534) != 0 || ::setuid(65534) != 0)
				::_exit(255);
			const auto result = ramm::set_tunable("deadline_ms", 5, sysfs_.string());
			::_exit(result.has_value() ? 0 : result.error().errnum());
		}
		int status = 0;
		ASSERT_EQ(::waitpid(pid, &status, 0), pid);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_NE(WEXITSTATUS(status), 255) << "could not become nobody";
		errnum = WEXITSTATUS(status);
	}
	EXPECT_EQ(errnum, EACCES);
	EXPECT_EQ(read(sysfs_ / "deadline_ms"), "100\n");
}

TEST_F(MarketSet, WithoutRammTheTunableIsMissing)
{
	const std::string no_ramm = (root_ / "no-ramm").string();

	const auto set = ramm::set_tunable("enabled", 0, no_ramm);
	ASSERT_FALSE(set.has_value());
	EXPECT_EQ(set.error().errnum(), ENOENT);
	EXPECT_THAT(set.error().what(), HasSubstr("RAMM"));
	const auto got = ramm::read_tunable("enabled", no_ramm);
	ASSERT_FALSE(got.has_value());
	EXPECT_EQ(got.error().errnum(), ENOENT);
}

TEST(MarketAssignment, ParsesNameEqualsValue)
{
	const auto setting = ramm::parse_tunable_assignment("deadline_ms=200").value();
	EXPECT_EQ(setting.name, "deadline_ms");
	EXPECT_EQ(setting.value, 200U);
	EXPECT_EQ(ramm::parse_tunable_assignment("reserve_price=18446744073709551615")
			  .value()
			  .value,
		  18446744073709551615U);

	for (const char* bad : {"deadline_ms", "deadline_ms=", "deadline_ms=-1",
				"deadline_ms=0x10", "deadline_ms=1.5", "deadline_ms= 5",
				"deadline_ms=18446744073709551616", "nope=1", "=1",
				"participants=1", "../x=1"}) {
		const auto result = ramm::parse_tunable_assignment(bad);
		ASSERT_FALSE(result.has_value()) << bad;
		EXPECT_EQ(result.error().errnum(), EINVAL) << bad;
	}
}

// ---------------------------------------------------------------------------
// list_priced_processes()
// ---------------------------------------------------------------------------

using MarketProcesses = MarketTree;

TEST_F(MarketProcesses, ListsPricedAndIndebtedLargestFirst)
{
	make_proc();
	// Same size as 42: the lower PID first.
	make_process(7, status_text("twin", ramm_lines(24576, 0, 1000)));

	const auto list = ramm::list_priced_processes(proc_.string()).value();

	ASSERT_EQ(list.size(), 4U);
	EXPECT_EQ(list[0].pid, 99);
	EXPECT_EQ(list[0].comm, "big");
	EXPECT_EQ(list[0].priced_kb, 3145728U);
	EXPECT_EQ(list[0].discardable_kb, 512U);
	EXPECT_EQ(list[0].credit, 563U);
	EXPECT_EQ(list[1].pid, 7);
	EXPECT_EQ(list[2].pid, 42);
	EXPECT_EQ(list[2].comm, "cache-server");
	EXPECT_EQ(list[2].priced_kb, 24576U);
	EXPECT_EQ(list[2].discardable_kb, 16384U);
	EXPECT_EQ(list[2].credit, 1000U);
	// Nothing priced, but a credit below 1000: it ignored asks.
	EXPECT_EQ(list[3].pid, 77);
	EXPECT_EQ(list[3].comm, "lazy worker");
	EXPECT_EQ(list[3].priced_kb, 0U);
	EXPECT_EQ(list[3].credit, 125U);
}

TEST_F(MarketProcesses, SkipsVanishedProcessesAndOtherEntries)
{
	make_proc();
	// Exited between readdir() and open(): its directory is empty, or
	// gone behind a link.
	fs::create_directory(proc_ / "500");
	fs::create_symlink(proc_ / "gone", proc_ / "501");
	write_file(proc_ / "502", "not a directory\n");
	// Not processes, whatever their status says.
	fs::create_directory(proc_ / "self");
	write_file(proc_ / "self" / "status", status_text("me", ramm_lines(4, 4, 1)));
	fs::create_directory(proc_ / "0");
	write_file(proc_ / "0" / "status", status_text("zero", ramm_lines(4, 4, 1)));
	write_file(proc_ / "meminfo", "MemTotal: 1 kB\n");

	const auto list = ramm::list_priced_processes(proc_.string());

	ASSERT_TRUE(list.has_value()) << list.error().what();
	std::vector<int> pids;
	for (const auto& p : *list)
		pids.push_back(p.pid);
	EXPECT_THAT(pids, ElementsAre(99, 42, 77));
}

TEST_F(MarketProcesses, NoRammLinesMeansNothingToList)
{
	make_process(1, status_text("init", ""));
	make_process(2, status_text("kthreadd", ""));

	const auto list = ramm::list_priced_processes(proc_.string());

	ASSERT_TRUE(list.has_value()) << list.error().what();
	EXPECT_THAT(*list, IsEmpty());
}

TEST_F(MarketProcesses, PricedWithoutCreditLineHasFullCredit)
{
	make_process(3, status_text("old-kernel", "RammPriced:\t 8 kB\n"));

	const auto list = ramm::list_priced_processes(proc_.string()).value();

	ASSERT_EQ(list.size(), 1U);
	EXPECT_EQ(list[0].priced_kb, 8U);
	EXPECT_EQ(list[0].discardable_kb, 0U);
	EXPECT_EQ(list[0].credit, 1000U);
}

TEST_F(MarketProcesses, MalformedRammLineIsEbadmsg)
{
	for (const char* bad : {"RammCredit:\tlots\n", "RammPriced:\t12\n",
				"RammDiscardable:\tx kB\n", "RammPriced\n"}) {
		make_process(42, status_text("broken", bad));

		const auto list = ramm::list_priced_processes(proc_.string());

		ASSERT_FALSE(list.has_value()) << bad;
		EXPECT_EQ(list.error().errnum(), EBADMSG);
		EXPECT_THAT(list.error().what(), HasSubstr("PID 42"));
	}
}

TEST_F(MarketProcesses, UnknownRammLinesAreIgnored)
{
	make_process(42, status_text("future", "RammFuture:\twhatever\n" +
							ramm_lines(4, 0, 1000)));

	const auto list = ramm::list_priced_processes(proc_.string()).value();

	ASSERT_EQ(list.size(), 1U);
	EXPECT_EQ(list[0].priced_kb, 4U);
}

TEST_F(MarketProcesses, MissingProcDirectoryIsAnError)
{
	const auto list = ramm::list_priced_processes((root_ / "no-proc").string());

	ASSERT_FALSE(list.has_value());
	EXPECT_EQ(list.error().errnum(), ENOENT);
}

TEST(MarketRealProc, ReadsThisMachine)
{
	// Whatever the kernel: every status parses.
	const auto list = ramm::list_priced_processes();

	ASSERT_TRUE(list.has_value()) << list.error().what();
}

// ---------------------------------------------------------------------------
// rammctl
// ---------------------------------------------------------------------------

using MarketRammctl = MarketTree;

TEST_F(MarketRammctl, ShowPrintsTheMarketAndTheProcesses)
{
	make_sysfs();
	make_proc();

	const Outcome run = rammctl(fake_args({"show"}));

	ASSERT_TRUE(run.exited_with(0)) << run.status << "\n" << run.err;
	EXPECT_THAT(run.err, IsEmpty());
	// The kernel line is about the running kernel, whatever the tree.
	EXPECT_THAT(run.out, ContainsRegex("^(no RAMM: probe said E[A-Z]+|RAMM: kernel "
					   "API version [0-9]+)"));
	EXPECT_THAT(run.out, ContainsRegex("\ndeadline_ms +100\n"));
	EXPECT_THAT(run.out, ContainsRegex("\nreserve_price +50000\n"));
	EXPECT_THAT(run.out, ContainsRegex("\npages_asked +2048\n"));
	EXPECT_THAT(run.out, ContainsRegex("\nqueue_overflows +0\n"));
	EXPECT_THAT(run.out, HasSubstr("cooperation ratio: 0.879"));
	EXPECT_THAT(run.out, HasSubstr("30 answered in time vs 5 late + 3 ignored"));
	EXPECT_THAT(run.out, ContainsRegex("PID +COMMAND +PRICED +DISCARDABLE +CREDIT"));
	EXPECT_THAT(run.out, ContainsRegex("99 +big +3.0 GiB +512 KiB +563\n"));
	EXPECT_THAT(run.out, ContainsRegex("42 +cache-server +24.0 MiB +16.0 MiB +1000\n"));
	EXPECT_THAT(run.out, ContainsRegex("77 +lazy worker +0 KiB +0 KiB +125\n"));
	EXPECT_THAT(run.out, Not(HasSubstr("bystander")));
	EXPECT_THAT(run.out, Not(HasSubstr("RATE")));
	// Tunables before counters before processes.
	EXPECT_LT(run.out.find("credit_halflife_s"), run.out.find("participants"));
	EXPECT_LT(run.out.find("queue_overflows"), run.out.find("cache-server"));
}

TEST_F(MarketRammctl, NoCommandMeansShow)
{
	make_sysfs();
	make_proc();

	const Outcome show = rammctl(fake_args({"show"}));
	const Outcome bare = rammctl(fake_args({}));

	ASSERT_TRUE(bare.exited_with(0)) << bare.err;
	EXPECT_EQ(bare.out, show.out);
}

TEST_F(MarketRammctl, PsPrintsOnlyTheProcesses)
{
	make_sysfs();
	make_proc();

	const Outcome run = rammctl(fake_args({"ps"}));

	ASSERT_TRUE(run.exited_with(0)) << run.err;
	EXPECT_THAT(run.out, StartsWith("PID "));
	EXPECT_THAT(run.out, HasSubstr("cache-server"));
	EXPECT_THAT(run.out, Not(HasSubstr("deadline_ms")));
	EXPECT_THAT(run.out, Not(HasSubstr("RAMM")));
}

TEST_F(MarketRammctl, WithoutRammShowsEmptyTables)
{
	make_process(1, status_text("init", ""));

	const Outcome run = rammctl({"--sysfs", (root_ / "none").string(), "--proc",
				 proc_.string()});

	ASSERT_TRUE(run.exited_with(0)) << run.err;
	EXPECT_THAT(run.out, HasSubstr("does not exist (this kernel has no RAMM)"));
	EXPECT_THAT(run.out, ContainsRegex("\nTUNABLE +VALUE\n\nCOUNTER +VALUE\n"));
	EXPECT_THAT(run.out, HasSubstr("(no process has priced memory"));
	EXPECT_THAT(run.out, Not(HasSubstr("cooperation")));
}

TEST_F(MarketRammctl, WatchRedrawsWithRates)
{
	make_sysfs();
	make_proc();

	const Outcome run = rammctl(fake_args({"--watch", "0.1", "--count", "2"}));

	ASSERT_TRUE(run.exited_with(0)) << run.err;
	const std::string clear = "\x1b[H\x1b[2J";
	std::size_t frames = 0;
	for (auto at = run.out.find(clear); at != std::string::npos;
	     at = run.out.find(clear, at + 1))
		frames++;
	EXPECT_EQ(frames, 2U);
	EXPECT_THAT(run.out, StartsWith(clear));
	EXPECT_THAT(run.out, ContainsRegex("COUNTER +VALUE +RATE\n"));
	// First frame: no previous sample.  Second: nothing changed.
	EXPECT_THAT(run.out, ContainsRegex("\nwakes +17 +-\n"));
	EXPECT_THAT(run.out, ContainsRegex("\nwakes +17 +0.0/s\n"));
	// A gauge has no rate.
	EXPECT_THAT(run.out.substr(run.out.rfind(clear)),
		    ContainsRegex("\nparticipants +2 +-\n"));
	EXPECT_THAT(run.out, HasSubstr("cache-server"));
}

TEST_F(MarketRammctl, WatchStopsCleanlyOnSigintAndSigterm)
{
	make_sysfs();
	make_proc();

	for (const int sig : {SIGINT, SIGTERM}) {
		const pid_t pid = spawn(fake_args({"--watch", "30"}));
		ASSERT_GT(pid, 0);
		// Wait for the first frame, so the signal finds it asleep.
		const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
		while (read(root_ / "stdout").find("PID") == std::string::npos &&
		       std::chrono::steady_clock::now() < deadline)
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		ASSERT_EQ(::kill(pid, sig), 0);

		const auto start = std::chrono::steady_clock::now();
		const Outcome run = finish(pid);

		EXPECT_TRUE(run.exited_with(0)) << "signal " << sig << ": " << run.status;
		EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
		EXPECT_THAT(run.err, IsEmpty());
	}
}

TEST_F(MarketRammctl, SetPrintsOldAndNewValues)
{
	make_sysfs();

	const Outcome run = rammctl(fake_args({"set", "deadline_ms=250", "queue_len=128"}));

	ASSERT_TRUE(run.exited_with(0)) << run.err;
	EXPECT_EQ(run.out, "deadline_ms: 100 -> 250\nqueue_len: 64 -> 128\n");
	EXPECT_EQ(read(sysfs_ / "deadline_ms"), "250\n");
	EXPECT_EQ(read(sysfs_ / "queue_len"), "128\n");
}

TEST_F(MarketRammctl, BadArgumentsExitWith2AndWriteNothing)
{
	make_sysfs();

	const std::vector<std::vector<std::string>> bad = {
		{"--bogus"},
		{"frobnicate"},
		{"show", "extra"},
		{"--watch", "0"},
		{"--watch", "-1"},
		{"--watch=soon"},
		{"--watch", "--count", "0"},
		{"--count", "2"},
		{"--sysfs"},
		{"set"},
		{"set", "deadline_ms"},
		{"set", "deadline_ms=5", "nope=1"},
		{"set", "participants=0"},
		{"--watch", "set", "deadline_ms=5"},
	};
	for (const auto& args : bad) {
		const Outcome run = rammctl(fake_args(args));
		const std::string what = fmt::format("rammctl {}", fmt::join(args, " "));

		EXPECT_TRUE(run.exited_with(2)) << what << ": " << run.status;
		EXPECT_THAT(run.out, IsEmpty()) << what;
		EXPECT_THAT(run.err, StartsWith("rammctl: ")) << what;
		EXPECT_THAT(run.err, HasSubstr("\nusage: rammctl")) << what;
	}
	// Every setting is checked before the first is written.
	EXPECT_EQ(read(sysfs_ / "deadline_ms"), "100\n");
}

TEST_F(MarketRammctl, HelpGoesToStdout)
{
	const Outcome run = rammctl({"--help"});

	ASSERT_TRUE(run.exited_with(0));
	EXPECT_THAT(run.out, StartsWith("usage: rammctl"));
	EXPECT_THAT(run.out, HasSubstr("--watch [SECONDS]"));
	EXPECT_THAT(run.err, IsEmpty());
}

TEST_F(MarketRammctl, RuntimeErrorsExitWith1)
{
	make_sysfs();
	make_proc();
	write_file(sysfs_ / "late", "many\n");

	const Outcome show = rammctl(fake_args({}));
	EXPECT_TRUE(show.exited_with(1)) << show.status;
	EXPECT_THAT(show.err, HasSubstr("EBADMSG"));
	EXPECT_THAT(show.err, HasSubstr("late"));

	const Outcome set = rammctl({"--sysfs", (root_ / "none").string(), "set", "enabled=0"});
	EXPECT_TRUE(set.exited_with(1)) << set.status;
	EXPECT_THAT(set.err, HasSubstr("ENOENT"));
	EXPECT_THAT(set.out, IsEmpty());
}

}  // namespace
