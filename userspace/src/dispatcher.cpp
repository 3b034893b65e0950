// SPDX-License-Identifier: GPL-2.0
//
// The Dispatcher: one thread that hears of memory pressure and hands each
// request to the listeners whose ranges it names.
//
// On a RAMM kernel it registers without a signal and reads the participant
// fd: a signal would only wake the thread, which poll() on the fd already
// does, and a handler would have to be async-signal-safe for nothing.  After
// each batch it polls again, which is also when the kernel times the answer
// (see struct ramm_request), so the owner's release is judged at once.
//
// Without RAMM it registers a PSI trigger and, on each event, sheds the
// process's cheapest ranges first: the same cooperation, limited to what one
// process can see.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <mutex>
#include <thread>

namespace ramm {
namespace {

constexpr std::size_t kLatencySamples = 4096;

std::atomic<bool> g_dispatcher_running{false};

std::uint64_t monotonic_ns()
{
	timespec ts{};
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000U +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

bool overlaps(const ramm_range& r, std::uintptr_t start, std::size_t len)
{
	return start < r.addr + r.len && r.addr < start + len;
}

int write_trigger(int fd, const std::string& trigger)
{
	// The kernel copies the write and overwrites its last byte with a NUL,
	// so the NUL must be part of the write.
	if (::write(fd, trigger.c_str(), trigger.size() + 1) < 0)
		return errno;
	return 0;
}

// "some 150000 1000000" with its window rounded up to whole 2 s, or "" if
// it is not a trigger or already is.  Linux >= 6.5 lets processes without
// CAP_SYS_RESOURCE create triggers only with such windows.
std::string unprivileged_trigger(const std::string& trigger)
{
	const auto sp1 = trigger.find(' ');
	const auto sp2 = trigger.find(' ', sp1 + 1);
	if (sp1 == std::string::npos || sp2 == std::string::npos)
		return {};
	std::uint64_t window = 0;
	const auto* first = trigger.data() + sp2 + 1;
	const auto* last = trigger.data() + trigger.size();
	if (std::from_chars(first, last, window).ec != std::errc() || window % 2000000 == 0)
		return {};
	window = (window / 2000000 + 1) * 2000000;
	return fmt::format("{} {}", trigger.substr(0, sp2), window);
}

// An fd with the trigger armed (and the trigger used), or the errno.
std::pair<int, std::string> open_psi(const Options& o, int& errnum)
{
	const int fd = ::open(o.psi_file.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		errnum = errno;
		return {-1, {}};
	}
	errnum = write_trigger(fd, o.psi_trigger);
	if (errnum == 0)
		return {fd, o.psi_trigger};
	if (errnum == EINVAL) {
		const std::string retry = unprivileged_trigger(o.psi_trigger);
		if (!retry.empty() && write_trigger(fd, retry) == 0) {
			errnum = 0;
			return {fd, retry};
		}
	}
	::close(fd);
	return {-1, {}};
}

}  // namespace

std::string_view to_string(DispatchMode mode) noexcept
{
	switch (mode) {
	case DispatchMode::kernel:
		return "kernel";
	case DispatchMode::psi:
		return "psi";
	case DispatchMode::none:
		return "none";
	}
	return "invalid";
}

Request Request::from_kernel(const ramm_request& r) noexcept
{
	Request q;

	q.reason = static_cast<Reason>(r.reason);
	q.seq = r.seq;
	q.start = static_cast<std::uintptr_t>(r.start);
	q.len = static_cast<std::size_t>(r.len);
	q.price = r.price;
	q.flags = static_cast<Flags>(r.ramm_flags & RAMM_DISCARDABLE);
	q.amount = static_cast<std::size_t>(r.amount);
	q.detected_ns = r.detected_ns;
	q.deadline_ns = r.deadline_ns;
	return q;
}

std::vector<ramm_range> ArenaListener::ranges() const
{
	return arena_.ranges();
}

std::size_t ArenaListener::on_ask(const Request& request)
{
	return arena_.release(request.start, request.len, request.amount);
}

void ArenaListener::on_purge(const Request& request)
{
	arena_.purged(request.start, request.len);
}

std::vector<ramm_range> MappingListener::ranges() const
{
	if (mapping_.empty())
		return {};
	return {{reinterpret_cast<std::uintptr_t>(mapping_.data()), mapping_.size(),
		 mapping_.price(), static_cast<std::uint64_t>(mapping_.flags())}};
}

// ---------------------------------------------------------------------------

struct Dispatcher::Impl {
	int ramm_fd = -1;
	int psi_fd = -1;
	int wake_fd = -1;
	std::thread thread;
	std::atomic<bool> stopping{false};

	// Held while a request is delivered, so that a listener is never
	// called after its Subscription is gone.
	std::mutex delivery;
	std::thread::id delivery_thread;
	std::vector<Listener*> listeners;  // under delivery

	mutable std::mutex stats_mutex;
	DispatcherStats stats;
	std::vector<std::uint64_t> latencies;  // ring of kLatencySamples
	std::size_t latency_next = 0;

	void record_latency(std::uint64_t ns)
	{
		if (latencies.size() < kLatencySamples)
			latencies.push_back(ns);
		else
			latencies[latency_next] = ns;
		latency_next = (latency_next + 1) % kLatencySamples;
	}
};

Result<std::unique_ptr<Dispatcher>> Dispatcher::start(Options options)
{
	if (g_dispatcher_running.exchange(true))
		return Error(EBUSY, "Dispatcher::start()",
			     "one Dispatcher per process (the registration belongs "
			     "to the address space)");

	auto impl = std::make_unique<Impl>();
	const auto fail = [&](int errnum, std::string_view what) {
		for (int fd : {impl->ramm_fd, impl->psi_fd, impl->wake_fd})
			if (fd >= 0)
				::close(fd);
		g_dispatcher_running = false;
		return Error(errnum, "Dispatcher::start()", what);
	};

	impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (impl->wake_fd < 0)
		return fail(errno, "eventfd()");

	DispatchMode mode = DispatchMode::none;
	std::string trigger;
	const KernelSupport support = kernel_support();
	if (support.present && support.has_command(PR_RAMM_REGISTER) &&
	    support.has_command(PR_RAMM_GET_FD)) {
		const ramm_register reg{0, 0};  // no signal: the fd is the channel
		if (::prctl(PR_RAMM, PR_RAMM_REGISTER, reinterpret_cast<unsigned long>(&reg),
			    sizeof(reg), 0UL) < 0)
			return fail(errno, "prctl(PR_RAMM_REGISTER)");
		impl->ramm_fd = ::prctl(PR_RAMM, PR_RAMM_GET_FD,
					static_cast<unsigned long>(O_NONBLOCK), 0UL, 0UL);
		if (impl->ramm_fd < 0) {
			const int errnum = errno;
			::prctl(PR_RAMM, PR_RAMM_UNREGISTER, 0UL, 0UL, 0UL);
			return fail(errnum, "prctl(PR_RAMM_GET_FD)");
		}
		mode = DispatchMode::kernel;
	} else {
		int errnum = 0;
		std::tie(impl->psi_fd, trigger) = open_psi(options, errnum);
		// No PSI (not built, psi=0, not permitted): shed() still works.
		if (impl->psi_fd >= 0)
			mode = DispatchMode::psi;
		else if (options.verbose)
			fmt::print(stderr, "ramm: no RAMM and no PSI trigger on {} ({}): "
				   "only shed() releases memory\n", options.psi_file,
				   std::generic_category().message(errnum));
	}

	std::unique_ptr<Dispatcher> d(new Dispatcher(std::move(options), mode,
						     std::move(trigger), std::move(impl)));
	Dispatcher* self = d.get();
	d->impl_->thread = std::thread([self] { self->run(); });
	return d;
}

Dispatcher::Dispatcher(Options options, DispatchMode mode, std::string psi_trigger,
		       std::unique_ptr<Impl> impl)
	: options_(std::move(options)), mode_(mode), psi_trigger_(std::move(psi_trigger)),
	  impl_(std::move(impl))
{
}

Dispatcher::~Dispatcher()
{
	impl_->stopping = true;
	const std::uint64_t one = 1;
	(void)!::write(impl_->wake_fd, &one, sizeof(one));
	impl_->thread.join();
	if (mode_ == DispatchMode::kernel)
		::prctl(PR_RAMM, PR_RAMM_UNREGISTER, 0UL, 0UL, 0UL);
	for (int fd : {impl_->ramm_fd, impl_->psi_fd, impl_->wake_fd})
		if (fd >= 0)
			::close(fd);
	if (options_.show_stats)
		print_stats();
	g_dispatcher_running = false;
}

void Dispatcher::run()
{
	Impl& im = *impl_;
	pollfd fds[2] = {{im.wake_fd, POLLIN, 0}, {-1, 0, 0}};

	if (mode_ == DispatchMode::kernel)
		fds[1] = {im.ramm_fd, POLLIN, 0};
	else if (mode_ == DispatchMode::psi)
		fds[1] = {im.psi_fd, POLLPRI, 0};

	while (!im.stopping) {
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fmt::print(stderr, "ramm: dispatcher: poll: {}\n",
				   std::generic_category().message(errno));
			return;
		}
		if (im.stopping)
			break;
		if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			// Unregistered behind our back, or the PSI trigger's
			// cgroup went away: nothing more will come.
			fmt::print(stderr, "ramm: dispatcher: {} channel closed\n",
				   to_string(mode_));
			fds[1].fd = -1;
		} else if (mode_ == DispatchMode::kernel && (fds[1].revents & POLLIN)) {
			read_kernel_requests();
		} else if (mode_ == DispatchMode::psi && (fds[1].revents & POLLPRI)) {
			{
				const std::lock_guard lock(im.stats_mutex);
				im.stats.psi_events++;
			}
			std::size_t priced = 0;
			{
				const std::lock_guard lock(im.delivery);
				for (Listener* l : im.listeners)
					for (const auto& r : l->ranges())
						priced += r.len;
			}
			shed(std::max(options_.shed_min_bytes,
				      priced / 1000 * options_.shed_permille));
		}
	}
}

void Dispatcher::read_kernel_requests()
{
	Impl& im = *impl_;
	ramm_request batch[16];

	for (;;) {
		const ssize_t n = ::read(im.ramm_fd, batch, sizeof(batch));
		if (n <= 0)
			return;  // EAGAIN: drained; 0: unregistered
		for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof(batch[0]); i++)
			deliver(Request::from_kernel(batch[i]));
	}
}

std::size_t Dispatcher::deliver(const Request& request)
{
	Impl& im = *impl_;
	std::size_t released = 0;
	bool routed = false;
	{
		const std::lock_guard lock(im.delivery);
		im.delivery_thread = std::this_thread::get_id();
		for (Listener* l : im.listeners) {
			const auto ranges = l->ranges();
			if (std::none_of(ranges.begin(), ranges.end(), [&](const ramm_range& r) {
				    return overlaps(r, request.start, request.len);
			    }))
				continue;
			routed = true;
			if (request.reason == Request::Reason::purged) {
				l->on_purge(request);
			} else if (released < request.amount) {
				Request rest = request;
				rest.amount = request.amount - released;
				released += l->on_ask(rest);
			}
		}
		im.delivery_thread = {};
	}

	const std::uint64_t now = monotonic_ns();
	{
		const std::lock_guard lock(im.stats_mutex);
		auto& s = im.stats;
		if (!routed)
			s.unrouted++;
		if (request.reason == Request::Reason::purged) {
			s.purges++;
			s.bytes_purged += request.amount;
		} else {
			s.asks++;
			s.bytes_asked += request.amount;
			s.bytes_released += released;
			if (request.seq != 0 && released > 0 && now > request.detected_ns)
				im.record_latency(now - request.detected_ns);
		}
	}
	if (options_.verbose)
		fmt::print(stderr, "ramm: {} seq {} [{:#x}, +{}) price {} {}: amount {}, "
			   "released {}{}\n",
			   request.reason == Request::Reason::purged ? "purged" : "ask",
			   request.seq, request.start, request.len, request.price,
			   to_string(request.flags), request.amount, released,
			   routed ? "" : " (no listener)");
	return released;
}

std::size_t Dispatcher::shed(std::size_t bytes)
{
	Impl& im = *impl_;
	std::vector<ramm_range> all;
	{
		const std::lock_guard lock(im.delivery);
		for (Listener* l : im.listeners)
			for (const auto& r : l->ranges())
				all.push_back(r);
	}
	// Cheapest first; ties to the lower address, as the kernel does.
	std::sort(all.begin(), all.end(), [](const ramm_range& a, const ramm_range& b) {
		return a.price != b.price ? a.price < b.price : a.addr < b.addr;
	});

	std::size_t released = 0;
	const std::uint64_t now = monotonic_ns();
	for (const auto& r : all) {
		if (released >= bytes)
			break;
		Request ask;
		ask.start = static_cast<std::uintptr_t>(r.addr);
		ask.len = static_cast<std::size_t>(r.len);
		ask.price = r.price;
		ask.flags = static_cast<Flags>(r.ramm_flags & RAMM_DISCARDABLE);
		ask.amount = std::min(bytes - released, ask.len);
		ask.detected_ns = now;
		released += deliver(ask);
	}
	const std::lock_guard lock(im.stats_mutex);
	im.stats.sheds++;
	return released;
}

Dispatcher::Subscription Dispatcher::subscribe(Listener& listener)
{
	const std::lock_guard lock(impl_->delivery);
	impl_->listeners.push_back(&listener);
	return Subscription(this, &listener);
}

void Dispatcher::unsubscribe(Listener* listener) noexcept
{
	Impl& im = *impl_;
	// From inside a delivery (a listener dropping itself) the lock is
	// already held by this thread.
	const bool inside = im.delivery_thread == std::this_thread::get_id();
	std::unique_lock lock(im.delivery, std::defer_lock);

	if (!inside)
		lock.lock();
	std::erase(im.listeners, listener);
}

Dispatcher::Subscription::~Subscription()
{
	reset();
}

Dispatcher::Subscription::Subscription(Subscription&& other) noexcept
	: dispatcher_(std::exchange(other.dispatcher_, nullptr)),
	  listener_(std::exchange(other.listener_, nullptr))
{
}

Dispatcher::Subscription& Dispatcher::Subscription::operator=(Subscription&& other) noexcept
{
	if (this != &other) {
		reset();
		dispatcher_ = std::exchange(other.dispatcher_, nullptr);
		listener_ = std::exchange(other.listener_, nullptr);
	}
	return *this;
}

void Dispatcher::Subscription::reset() noexcept
{
	if (dispatcher_ != nullptr)
		dispatcher_->unsubscribe(listener_);
	dispatcher_ = nullptr;
	listener_ = nullptr;
}

DispatcherStats Dispatcher::stats() const
{
	const std::lock_guard lock(impl_->stats_mutex);
	DispatcherStats s = impl_->stats;
	auto sorted = impl_->latencies;

	s.latency_samples = sorted.size();
	if (!sorted.empty()) {
		std::sort(sorted.begin(), sorted.end());
		s.latency_p50_ns = sorted[(sorted.size() - 1) / 2];
		s.latency_p99_ns = sorted[(sorted.size() - 1) * 99 / 100];
	}
	return s;
}

void Dispatcher::print_stats(const StatsSink& sink) const
{
	const DispatcherStats s = stats();

	sink(fmt::format("dispatcher: mode {}{}", to_string(mode_),
			 psi_trigger_.empty() ? "" : fmt::format(" (trigger \"{}\")", psi_trigger_)));
	sink(fmt::format("  asks {}  purges {}  unrouted {}  psi events {}  sheds {}",
			 s.asks, s.purges, s.unrouted, s.psi_events, s.sheds));
	sink(fmt::format("  bytes asked {}  released {}  purged {}", s.bytes_asked,
			 s.bytes_released, s.bytes_purged));
	if (s.latency_samples != 0)
		sink(fmt::format("  detection to release: median {:.3f} ms, p99 {:.3f} ms "
				 "({} asks)", s.latency_p50_ns / 1e6, s.latency_p99_ns / 1e6,
				 s.latency_samples));
}

}  // namespace ramm
