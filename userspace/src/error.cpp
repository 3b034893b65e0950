// SPDX-License-Identifier: GPL-2.0
//
// ramm::Error: one message format for every failure, so a log line names the
// call, the reason and the errno symbol a kernel hacker would grep for.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <string.h>

namespace ramm {
namespace {

std::string format_message(int errnum, std::string_view operation,
			   std::string_view detail)
{
	// generic_category().message() is the thread-safe strerror();
	// strerrorname_np() (glibc >= 2.32) gives "EINVAL", or NULL if unknown.
	const std::string text = std::generic_category().message(errnum);
	const char* name = strerrorname_np(errnum);
	const std::string symbol = name ? std::string(name)
					: fmt::format("errno {}", errnum);

	if (detail.empty())
		return fmt::format("{} failed: {} ({})", operation, text, symbol);
	return fmt::format("{} failed: {}: {} ({})", operation, detail, text,
			   symbol);
}

}  // namespace

Error::Error(int errnum, std::string_view operation, std::string_view detail)
	: std::runtime_error(format_message(errnum, operation, detail)),
	  errnum_(errnum), operation_(operation)
{
}

}  // namespace ramm
