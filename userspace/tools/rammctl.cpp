// SPDX-License-Identifier: GPL-2.0
//
// rammctl: look at and tune the machine's RAM market.
//
//   rammctl [show]                 tunables, counters, what they mean, processes
//   rammctl ps                     the processes only
//   rammctl set NAME=VALUE...      write tunables (root), print old -> new
//   rammctl --watch [SECONDS]      redraw show, with a per-second rate column
//
// It reads /sys/kernel/mm/ramm/ and /proc/PID/status through
// <ramm/market.hpp>; --sysfs and --proc point it at other directories (the
// tests use fake trees).  Exit status: 0 on success, 1 on a runtime error
// (the ramm::Error message is printed), 2 on bad arguments.

#include <ramm/market.hpp>
#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view usage_text =
	"usage: rammctl [OPTIONS] [show | ps | set NAME=VALUE...]\n"
	"\n"
	"Shows the RAM market of this machine (RAMM): the tunables and counters\n"
	"of /sys/kernel/mm/ramm/ and the processes with priced memory.\n"
	"\n"
	"commands:\n"
	"  show                 tunables, counters, derived ratios, processes (default)\n"
	"  ps                   only the processes with priced memory or lost credit\n"
	"  set NAME=VALUE...    write tunables (root); prints old -> new\n"
	"\n"
	"options:\n"
	"  --watch [SECONDS]    redraw show (or ps) every SECONDS (default 2, may be\n"
	"                       a fraction such as 0.5) with per-second counter rates,\n"
	"                       until interrupted\n"
	"  --count N            with --watch: stop after N refreshes\n"
	"  --sysfs DIR          read DIR instead of /sys/kernel/mm/ramm\n"
	"  --proc DIR           read DIR instead of /proc\n"
	"  -h, --help           show this help\n"
	"\n"
	"exit status: 0 ok, 1 runtime error, 2 bad arguments\n";

// Seconds the watch interval may take: more than a day is surely a typo.
constexpr double max_interval_s = 24 * 60 * 60;

enum class Command { show, ps, set };

struct Options {
	Command command = Command::show;
	std::vector<ramm::MarketTunable> settings;  // for set
	bool help = false;
	bool watch = false;
	double interval_s = 2.0;
	std::optional<unsigned long> count;
	std::string sysfs_dir = ramm::default_market_sysfs_dir;
	std::string proc_dir = ramm::default_proc_dir;
};

// "EINVAL", or "errno N" for a number glibc does not name.
std::string errno_name(int errnum)
{
	const char* name = ::strerrorname_np(errnum);
	return name != nullptr ? std::string(name) : fmt::format("errno {}", errnum);
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

std::optional<double> parse_seconds(std::string_view text)
{
	double value = 0;
	const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
		return std::nullopt;
	return value;
}

// Does text look like the optional SECONDS of --watch rather than a command
// or an option?  Negative numbers are taken too, to be refused by name.
bool looks_numeric(std::string_view text)
{
	if (text.starts_with('-') || text.starts_with('+'))
		text.remove_prefix(1);
	return !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
				 text[0] == '.');
}

// The argument parser's verdict: an error message, or nothing.
using ParseError = std::optional<std::string>;

ParseError set_interval(Options& options, std::string_view text)
{
	const auto seconds = parse_seconds(text);
	if (!seconds)
		return fmt::format("--watch: \"{}\" is not a number of seconds", text);
	if (!std::isfinite(*seconds) || *seconds <= 0)
		return fmt::format("--watch: the interval must be > 0 seconds (got {})", text);
	if (*seconds > max_interval_s)
		return fmt::format("--watch: the interval must be at most {} seconds (got {})",
				   max_interval_s, text);
	options.interval_s = *seconds;
	return std::nullopt;
}

ParseError set_count(Options& options, std::string_view text)
{
	unsigned long count = 0;
	const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
	if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() ||
	    count == 0)
		return fmt::format("--count: \"{}\" is not a positive integer", text);
	options.count = count;
	return std::nullopt;
}

ParseError parse_args(int argc, char** argv, Options& options)
{
	std::vector<std::string_view> operands;

	for (int i = 1; i < argc; i++) {
		const std::string_view arg = argv[i];
		// "--name=value" or "--name value".
		const auto equals = arg.find('=');
		const bool long_option = arg.starts_with("--");
		const std::string_view name =
			long_option && equals != std::string_view::npos ? arg.substr(0, equals)
									 : arg;
		std::optional<std::string_view> inline_value;
		if (long_option && equals != std::string_view::npos)
			inline_value = arg.substr(equals + 1);

		// The value of an option that must have one.
		auto take_value = [&]() -> std::optional<std::string_view> {
			if (inline_value)
				return inline_value;
			if (i + 1 < argc)
				return std::string_view(argv[++i]);
			return std::nullopt;
		};

		if (name == "-h" || name == "--help") {
			options.help = true;
		} else if (name == "--watch") {
			options.watch = true;
			std::optional<std::string_view> value = inline_value;
			if (!value && i + 1 < argc && looks_numeric(argv[i + 1]))
				value = argv[++i];
			if (value) {
				if (auto error = set_interval(options, *value))
					return error;
			}
		} else if (name == "--count" || name == "--sysfs" || name == "--proc") {
			const auto value = take_value();
			if (!value)
				return fmt::format("{} needs a value", name);
			if (name == "--count") {
				if (auto error = set_count(options, *value))
					return error;
			} else if (value->empty()) {
				return fmt::format("{} needs a directory", name);
			} else if (name == "--sysfs") {
				options.sysfs_dir = *value;
			} else {
				options.proc_dir = *value;
			}
		} else if (arg.starts_with('-') && arg != "-") {
			return fmt::format("unknown option \"{}\"", arg);
		} else {
			operands.push_back(arg);
		}
	}
	if (options.help)
		return std::nullopt;

	if (!operands.empty()) {
		const std::string_view command = operands.front();
		operands.erase(operands.begin());
		if (command == "show")
			options.command = Command::show;
		else if (command == "ps")
			options.command = Command::ps;
		else if (command == "set")
			options.command = Command::set;
		else
			return fmt::format("unknown command \"{}\"", command);
	}

	if (options.command == Command::set) {
		if (operands.empty())
			return std::string("set needs at least one NAME=VALUE");
		// All of them are checked before any is written.
		for (const auto operand : operands) {
			auto setting = ramm::parse_tunable_assignment(operand);
			if (!setting)
				return std::string(setting.error().what());
			options.settings.push_back(std::move(*setting));
		}
		if (options.watch)
			return std::string("--watch cannot be used with set");
	} else if (!operands.empty()) {
		return fmt::format("unexpected argument \"{}\"", operands.front());
	}
	if (options.count && !options.watch)
		return std::string("--count only makes sense with --watch");
	return std::nullopt;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

enum class Align { left, right };

// A table that sizes its columns to fit, two blanks between them.
class Table {
public:
	struct Column {
		std::string header;
		Align align;
	};

	explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

	void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
	bool empty() const { return rows_.empty(); }

	void render(std::string& out) const
	{
		std::vector<std::size_t> widths;
		for (const auto& column : columns_)
			widths.push_back(column.header.size());
		for (const auto& row : rows_)
			for (std::size_t c = 0; c < row.size() && c < widths.size(); c++)
				widths[c] = std::max(widths[c], row[c].size());

		std::vector<std::string> headers;
		for (const auto& column : columns_)
			headers.push_back(column.header);
		render_row(out, headers, widths);
		for (const auto& row : rows_)
			render_row(out, row, widths);
	}

private:
	void render_row(std::string& out, const std::vector<std::string>& row,
			const std::vector<std::size_t>& widths) const
	{
		std::string line;
		for (std::size_t c = 0; c < columns_.size(); c++) {
			const std::string_view cell =
				c < row.size() ? std::string_view(row[c]) : std::string_view();
			if (c > 0)
				line += "  ";
			if (columns_[c].align == Align::right)
				fmt::format_to(std::back_inserter(line), "{:>{}}", cell, widths[c]);
			else
				fmt::format_to(std::back_inserter(line), "{:<{}}", cell, widths[c]);
		}
		// Left-aligned last columns would leave trailing blanks.
		while (line.ends_with(' '))
			line.pop_back();
		out += line;
		out += '\n';
	}

	std::vector<Column> columns_;
	std::vector<std::vector<std::string>> rows_;
};

// /proc sizes are in kB (KiB): 512 KiB, 24.0 MiB, 1.5 GiB.
std::string human_kb(std::uint64_t kb)
{
	constexpr std::uint64_t per_mib = 1024;
	constexpr std::uint64_t per_gib = 1024 * 1024;

	if (kb < per_mib)
		return fmt::format("{} KiB", kb);
	if (kb < per_gib)
		return fmt::format("{:.1f} MiB", static_cast<double>(kb) / per_mib);
	return fmt::format("{:.1f} GiB", static_cast<double>(kb) / per_gib);
}

std::string kernel_line(const ramm::KernelSupport& support)
{
	// The probe answer is kept under RAMM_DISABLE: this tool reports the
	// kernel, which the variable does not change.
	if (support.probe_errno != 0)
		return fmt::format("no RAMM: probe said {}", errno_name(support.probe_errno));
	std::string line = fmt::format("RAMM: kernel API version {} (ramm_flags {:#x}, "
				       "sub-commands {:#x})",
				       support.version, support.ramm_flags, support.commands);
	if (support.disabled_by_env)
		line += "; RAMM_DISABLE is set, so libramm programs ignore it";
	return line;
}

// What the tool shows once: one read of the market and of the processes.
struct Sample {
	ramm::MarketView market;
	std::vector<ramm::ProcessRamm> processes;
	std::chrono::steady_clock::time_point when;
};

ramm::Result<Sample> take_sample(const Options& options, bool with_market)
{
	Sample sample;
	sample.when = std::chrono::steady_clock::now();
	if (with_market) {
		auto market = ramm::read_market(options.sysfs_dir);
		if (!market)
			return market.error();
		sample.market = std::move(*market);
	}
	auto processes = ramm::list_priced_processes(options.proc_dir);
	if (!processes)
		return processes.error();
	sample.processes = std::move(*processes);
	return sample;
}

std::optional<std::uint64_t> find_counter(const ramm::MarketView& market,
					  std::string_view name)
{
	for (const auto& [counter, value] : market.counters)
		if (counter == name)
			return value;
	return std::nullopt;
}

// The per-second rate of a counter since the previous sample, "-" where
// there is none.
std::string rate_text(std::string_view name, std::uint64_t value, const Sample& now,
		      const Sample* previous)
{
	// participants counts who is registered now, not events since boot:
	// a rate of it means nothing.
	if (previous == nullptr || name == "participants")
		return "-";
	const auto before = find_counter(previous->market, name);
	const double seconds =
		std::chrono::duration<double>(now.when - previous->when).count();
	// A counter that went backwards was reset (or is a newer kernel's
	// gauge): no honest rate.
	if (!before || *before > value || seconds <= 0)
		return "-";
	return fmt::format("{:.1f}/s", static_cast<double>(value - *before) / seconds);
}

// The readings Documentation/admin-guide/mm/ramm.rst suggests ("Reading the
// counters together"), for the counters this kernel has.
void render_derived(std::string& out, const ramm::MarketView& market)
{
	const auto asked = find_counter(market, "pages_asked");
	const auto released = find_counter(market, "pages_released");
	if (asked && released) {
		if (*asked == 0)
			out += "cooperation ratio: - (no pages asked yet)\n";
		else
			fmt::format_to(std::back_inserter(out),
				       "cooperation ratio: {:.3f} ({} of {} pages asked "
				       "were released)\n",
				       static_cast<double>(*released) / static_cast<double>(*asked),
				       *released, *asked);
	}

	const auto answered = find_counter(market, "answered");
	const auto late = find_counter(market, "late");
	const auto ignored = find_counter(market, "ignored");
	if (answered && late && ignored) {
		const std::uint64_t judged = *answered + *late + *ignored;
		fmt::format_to(std::back_inserter(out),
			       "verdicts: {} answered in time vs {} late + {} ignored", *answered,
			       *late, *ignored);
		if (judged != 0)
			fmt::format_to(std::back_inserter(out), " ({:.1f}% in time)",
				       100.0 * static_cast<double>(*answered) /
					       static_cast<double>(judged));
		const auto requests = find_counter(market, "requests");
		if (requests && *requests >= judged)
			fmt::format_to(std::back_inserter(out),
				       "; {} asks outstanding or dropped", *requests - judged);
		out += '\n';
	}
}

void render_processes(std::string& out, const std::vector<ramm::ProcessRamm>& processes)
{
	Table table({{"PID", Align::right},
		     {"COMMAND", Align::left},
		     {"PRICED", Align::right},
		     {"DISCARDABLE", Align::right},
		     {"CREDIT", Align::right}});
	for (const auto& p : processes)
		table.add({fmt::format("{}", p.pid), p.comm, human_kb(p.priced_kb),
			   human_kb(p.discardable_kb), fmt::format("{}", p.credit)});
	table.render(out);
	if (table.empty())
		out += "(no process has priced memory or a credit below 1000)\n";
}

std::string render_show(const Options& options, const Sample& sample,
			const Sample* previous)
{
	std::string out = kernel_line(ramm::kernel_support());
	out += '\n';
	if (!sample.market.present)
		fmt::format_to(std::back_inserter(out),
			       "market: {} does not exist (this kernel has no RAMM)\n",
			       options.sysfs_dir);
	else
		fmt::format_to(std::back_inserter(out), "market: {}\n", options.sysfs_dir);

	out += '\n';
	Table tunables({{"TUNABLE", Align::left}, {"VALUE", Align::right}});
	for (const auto& [name, value] : sample.market.tunables)
		tunables.add({name, fmt::format("{}", value)});
	tunables.render(out);

	out += '\n';
	std::vector<Table::Column> columns = {{"COUNTER", Align::left},
					      {"VALUE", Align::right}};
	if (options.watch)
		columns.push_back({"RATE", Align::right});
	Table counters(std::move(columns));
	for (const auto& [name, value] : sample.market.counters) {
		std::vector<std::string> row = {name, fmt::format("{}", value)};
		if (options.watch)
			row.push_back(rate_text(name, value, sample, previous));
		counters.add(std::move(row));
	}
	counters.render(out);

	if (sample.market.present) {
		out += '\n';
		render_derived(out, sample.market);
	}

	out += '\n';
	render_processes(out, sample.processes);
	return out;
}

std::string render(const Options& options, const Sample& sample, const Sample* previous)
{
	if (options.command == Command::ps) {
		std::string out;
		render_processes(out, sample.processes);
		return out;
	}
	return render_show(options, sample, previous);
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

int run_once(const Options& options)
{
	const auto sample = take_sample(options, options.command == Command::show).value();
	fmt::print("{}", render(options, sample, nullptr));
	return 0;
}

int run_set(const Options& options)
{
	// Each is read back after the write: the kernel shows what it holds
	// (and a failure part-way leaves the earlier lines true).
	for (const auto& setting : options.settings) {
		const std::uint64_t old =
			ramm::read_tunable(setting.name, options.sysfs_dir).value();
		ramm::set_tunable(setting.name, setting.value, options.sysfs_dir).value();
		const std::uint64_t now =
			ramm::read_tunable(setting.name, options.sysfs_dir).value();
		fmt::print("{}: {} -> {}\n", setting.name, old, now);
		std::fflush(stdout);
	}
	return 0;
}

// Sleeps for seconds; true if SIGINT or SIGTERM came meanwhile (they are
// blocked, so one that came while drawing is still pending here and no
// wake-up is lost between a check and the sleep).
bool wait_for_stop(const sigset_t& stop_signals, double seconds)
{
	using clock = std::chrono::steady_clock;
	const auto deadline =
		clock::now() + std::chrono::duration_cast<clock::duration>(
				       std::chrono::duration<double>(seconds));

	for (;;) {
		const auto left = deadline - clock::now();
		if (left <= clock::duration::zero())
			return false;
		const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
		const timespec timeout = {static_cast<time_t>(ns / 1000000000),
					  static_cast<long>(ns % 1000000000)};
		if (::sigtimedwait(&stop_signals, nullptr, &timeout) > 0)
			return true;
		// EAGAIN: the time is up (checked above); EINTR: another
		// signal (SIGCONT after ^Z) cut the wait short.
		if (errno != EAGAIN && errno != EINTR)
			throw ramm::Error(errno, "sigtimedwait()");
	}
}

int run_watch(const Options& options)
{
	sigset_t stop_signals;
	::sigemptyset(&stop_signals);
	::sigaddset(&stop_signals, SIGINT);
	::sigaddset(&stop_signals, SIGTERM);
	if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0)
		throw ramm::Error(errno, "sigprocmask(SIG_BLOCK, {SIGINT, SIGTERM})");

	std::optional<Sample> previous;
	for (unsigned long refresh = 1;; refresh++) {
		auto sample = take_sample(options, options.command == Command::show).value();
		// One write per frame: the screen is never seen half drawn.
		const std::string frame =
			render(options, sample, previous ? &*previous : nullptr);
		fmt::print("\x1b[H\x1b[2J{}", frame);
		std::fflush(stdout);
		previous = std::move(sample);

		if (options.count && refresh >= *options.count)
			return 0;
		if (wait_for_stop(stop_signals, options.interval_s))
			return 0;
	}
}

int run(int argc, char** argv)
{
	Options options;
	if (auto error = parse_args(argc, argv, options)) {
		// The synopsis, not the whole help: the error stays visible.
		fmt::print(stderr, "rammctl: {}\n{}\nTry 'rammctl --help' for more.\n",
			   *error, usage_text.substr(0, usage_text.find('\n')));
		return 2;
	}
	if (options.help) {
		fmt::print("{}", usage_text);
		return 0;
	}

	if (options.command == Command::set)
		return run_set(options);
	if (options.watch)
		return run_watch(options);
	return run_once(options);
}

}  // namespace

int main(int argc, char** argv)
{
	try {
		return run(argc, argv);
	} catch (const ramm::Error& error) {
		std::fflush(stdout);
		fmt::print(stderr, "rammctl: {}\n", error.what());
	} catch (const std::exception& error) {
		std::fflush(stdout);
		fmt::print(stderr, "rammctl: unexpected exception: {}\n", error.what());
	}
	return 1;
}
