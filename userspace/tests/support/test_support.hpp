// SPDX-License-Identifier: GPL-2.0
//
// Helpers shared by the unit and integration tests.

#ifndef RAMM_TEST_SUPPORT_HPP
#define RAMM_TEST_SUPPORT_HPP

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace ramm_test {

inline std::size_t page_size()
{
	return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class EnvGuard {
public:
	EnvGuard(const char* name, const char* value) : name_(name)
	{
		if (const char* old = std::getenv(name))
			old_ = old;
		if (value != nullptr)
			::setenv(name, value, 1);
		else
			::unsetenv(name);
	}
	~EnvGuard()
	{
		if (old_)
			::setenv(name_.c_str(), old_->c_str(), 1);
		else
			::unsetenv(name_.c_str());
	}
	EnvGuard(const EnvGuard&) = delete;
	EnvGuard& operator=(const EnvGuard&) = delete;

private:
	std::string name_;
	std::optional<std::string> old_;
};

// 0 if every page of [addr, addr + len) is mapped, else msync()'s errno:
// ENOMEM when a page is not mapped.  msync(MS_ASYNC) changes nothing.
inline int msync_errno(const void* addr, std::size_t len)
{
	const auto start = reinterpret_cast<std::uintptr_t>(addr) & ~(page_size() - 1);
	const auto end = reinterpret_cast<std::uintptr_t>(addr) + len;

	if (::msync(reinterpret_cast<void*>(start), end - start, MS_ASYNC) == 0)
		return 0;
	return errno;
}

inline bool is_mapped(const void* addr, std::size_t len)
{
	return msync_errno(addr, len) == 0;
}

// The /proc/self/maps line of the VMA containing addr, if any.
inline std::optional<std::string> maps_line(const void* addr)
{
	const auto where = reinterpret_cast<std::uintptr_t>(addr);
	std::ifstream maps("/proc/self/maps");
	std::string line;

	while (std::getline(maps, line)) {
		std::istringstream in(line);
		std::uintptr_t start = 0, end = 0;
		char dash = 0;
		in >> std::hex >> start >> dash >> end;
		if (in && dash == '-' && start <= where && where < end)
			return line;
	}
	return std::nullopt;
}

// The text of a file (empty if it cannot be read).
inline std::string slurp(const char* path)
{
	std::ifstream in(path);
	std::ostringstream out;
	out << in.rdbuf();
	return out.str();
}

}  // namespace ramm_test

#endif  // RAMM_TEST_SUPPORT_HPP
