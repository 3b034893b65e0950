// SPDX-License-Identifier: GPL-2.0
//
// Options from the environment (RAMM_*), and the default statistics sink.

#include <ramm/ramm.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ramm {

void stderr_sink(std::string_view line)
{
	fmt::print(stderr, "{}\n", line);
}

Result<std::size_t> parse_size(std::string_view text)
{
	const auto op = fmt::format("parse_size(\"{}\")", text);
	std::size_t value = 0;
	const auto* end = text.data() + text.size();
	const auto [ptr, ec] = std::from_chars(text.data(), end, value);

	if (ec == std::errc::result_out_of_range)
		return Error(ERANGE, op, "too large");
	if (ec != std::errc() || ptr == text.data())
		return Error(EINVAL, op, "expected a number of bytes, e.g. 4096, 64K, 4M, 1G");

	unsigned shift = 0;
	const std::string_view suffix(ptr, static_cast<std::size_t>(end - ptr));
	if (suffix == "K" || suffix == "k")
		shift = 10;
	else if (suffix == "M" || suffix == "m")
		shift = 20;
	else if (suffix == "G" || suffix == "g")
		shift = 30;
	else if (!suffix.empty())
		return Error(EINVAL, op, "the suffix must be K, M or G");
	if (shift != 0 && value > (std::numeric_limits<std::size_t>::max() >> shift))
		return Error(ERANGE, op, "too large");
	return value << shift;
}

namespace {

const char* env(const char* name)
{
	const char* value = std::getenv(name);
	return value != nullptr && *value != '\0' ? value : nullptr;
}

bool env_flag(const char* name)
{
	const char* value = env(name);
	return value != nullptr && std::string_view(value) != "0";
}

}  // namespace

Result<Options> Options::from_env()
{
	Options o;

	if (const char* v = env("RAMM_PSI_FILE"))
		o.psi_file = v;
	if (const char* v = env("RAMM_PSI_TRIGGER"))
		o.psi_trigger = v;
	if (const char* v = env("RAMM_SHED_PERMILLE")) {
		const std::string_view text(v);
		unsigned permille = 0;
		const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(),
						       permille);
		if (ec != std::errc() || ptr != text.data() + text.size() || permille > 1000)
			return Error(EINVAL, "Options::from_env()",
				     fmt::format("RAMM_SHED_PERMILLE={}: expected 0..1000", v));
		o.shed_permille = permille;
	}
	if (const char* v = env("RAMM_SHED_MIN")) {
		auto bytes = parse_size(v);
		if (!bytes)
			return Error(bytes.error().errnum(), "Options::from_env()",
				     fmt::format("RAMM_SHED_MIN={}: expected bytes, "
						 "e.g. 4M", v));
		o.shed_min_bytes = *bytes;
	}
	o.show_stats = env_flag("RAMM_SHOW_STATS");
	o.verbose = env_flag("RAMM_VERBOSE");
	return o;
}

}  // namespace ramm
