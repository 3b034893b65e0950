// SPDX-License-Identifier: GPL-2.0
//
// What the guest integration tests use to make memory short: a hog child
// and /proc/meminfo readers.

#ifndef RAMM_TESTS_PRESSURE_HPP
#define RAMM_TESTS_PRESSURE_HPP

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace pressure {

using namespace std::chrono_literals;

constexpr std::size_t MiB = 1024 * 1024;

// Raw calls only: the hog child of a threaded process must not allocate.
inline void set_oom_score_adj(int adj)
{
	char buf[16];
	const int n = std::snprintf(buf, sizeof(buf), "%d", adj);
	const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd >= 0) {
		(void)!::write(fd, buf, static_cast<std::size_t>(n));
		::close(fd);
	}
}

// MemFree in bytes, read with raw calls (the hog child must not allocate).
inline std::size_t mem_free_raw()
{
	char buf[4096];
	const int fd = ::open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		return 0;
	const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
	::close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char* p = std::strstr(buf, "MemFree:");
	return p == nullptr ? 0 : std::strtoull(p + 8, nullptr, 10) * 1024;
}

// What a hog writes into its pages.
enum class Fill {
	// Random: zram cannot absorb it, only what owners give back helps.
	incompressible,
	// One word a page: zram swaps it out for almost no memory, so the
	// hog makes reclaim work (PSI stalls) without thrashing the guest.
	compressible,
};

// A child that allocates memory a MiB at a time until it has taken `limit`
// bytes, then holds it; it is the OOM killer's first choice.  While MemFree
// is below `floor` it waits, so the shortage is steady (kswapd and krammmd
// at work) rather than deep (direct reclaim purging everything at once).
class Hog {
public:
	explicit Hog(std::size_t limit, std::size_t floor = 0,
		     Fill fill = Fill::incompressible)
	{
		pid_ = ::fork();
		if (pid_ != 0)
			return;
		set_oom_score_adj(1000);
		std::uint64_t x = 88172645463325252ULL;
		for (std::size_t got = 0; got < limit; got += MiB) {
			while (floor != 0 && mem_free_raw() < floor)
				::usleep(20000);
			auto* p = static_cast<std::uint64_t*>(::mmap(nullptr, MiB,
				PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
			if (p == MAP_FAILED)
				break;
			for (std::size_t i = 0; i < MiB / 8; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				if (fill == Fill::incompressible || i % 512 == 0)
					p[i] = x;
			}
			::usleep(2000);
		}
		for (;;)
			::pause();
	}
	~Hog()
	{
		if (pid_ > 0) {
			::kill(pid_, SIGKILL);
			::waitpid(pid_, nullptr, 0);
		}
	}
	Hog(const Hog&) = delete;
	Hog& operator=(const Hog&) = delete;

private:
	pid_t pid_ = -1;
};

inline std::size_t mem_available()
{
	std::ifstream in("/proc/meminfo");
	std::string key, unit;
	std::size_t kb = 0;
	while (in >> key >> kb) {
		if (key == "MemAvailable:")
			return kb * 1024;
		std::getline(in, unit);  // " kB", absent for the counts
	}
	return 0;
}

// Waits up to `limit` for done() to hold.
template <typename Fn>
inline bool wait_for(Fn done, std::chrono::seconds limit)
{
	const auto end = std::chrono::steady_clock::now() + limit;
	while (!done()) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(20ms);
	}
	return true;
}

}  // namespace pressure

#endif  // RAMM_TESTS_PRESSURE_HPP
