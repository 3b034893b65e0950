// SPDX-License-Identifier: GPL-2.0
//
// PricedMapping: RAII owner of one priced private anonymous mapping, on a RAMM
// kernel or (price as bookkeeping only) on any other.

#include "sys.hpp"

#include <fmt/format.h>

#include <sys/mman.h>

#include <cerrno>
#include <utility>

namespace ramm {
namespace {

constexpr std::uint64_t known_ramm_flags = RAMM_DISCARDABLE;
constexpr int known_prot = PROT_READ | PROT_WRITE | PROT_EXEC;
// MAP_FIXED* would let an RAII owner clobber someone else's mapping.
constexpr int allowed_map_flags = MAP_POPULATE | MAP_NORESERVE;

bool valid(Flags flags)
{
	return (static_cast<std::uint64_t>(flags) & ~known_ramm_flags) == 0;
}

// Why create() must refuse, or "" if it may go on.  The same checks on both
// paths, done before any call, so a program tested on a plain kernel gets the
// errors (EINVAL, like the kernel's mmap_priced()) it would get on RAMM.
std::string_view invalid_create(std::size_t len, std::uint64_t price,
				Flags flags, const MapOptions& options)
{
	if (len == 0)
		return "len must be > 0";
	if (price == 0)
		return "price must be > 0 (0 means unpriced)";
	if (!valid(flags))
		return "unknown ramm flags";
	if ((options.prot & ~known_prot) != 0)
		return "unknown prot bits";
	if ((options.map_flags & ~allowed_map_flags) != 0)
		return "map_flags may hold only MAP_POPULATE and MAP_NORESERVE";
	return {};
}

}  // namespace

std::string_view to_string(Flags flags) noexcept
{
	switch (flags) {
	case Flags::preserved:
		return "preserved";
	case Flags::discardable:
		return "discardable";
	}
	return "invalid";
}

Result<PricedMapping> PricedMapping::create(std::size_t len, std::uint64_t price,
					    Flags flags, MapOptions options)
{
	const int map_flags = MAP_PRIVATE | MAP_ANONYMOUS | options.map_flags;

	if (const auto reason = invalid_create(len, price, flags, options);
	    !reason.empty())
		return Error(EINVAL,
			     fmt::format("PricedMapping::create(len={}, price={}, "
					 "flags={:#x}, prot={:#x}, map_flags={:#x})",
					 len, price, static_cast<std::uint64_t>(flags),
					 options.prot, options.map_flags),
			     reason);

	if (kernel_support().present) {
		ramm_mmap_args args{};

		args.len = len;
		args.prot = static_cast<std::uint64_t>(options.prot);
		args.flags = static_cast<std::uint64_t>(map_flags);
		args.price = price;
		args.ramm_flags = static_cast<std::uint64_t>(flags);

		// A RAMM kernel that refuses (ENOMEM, ...) is an error, not a
		// reason to hand out unpriced memory.
		auto addr = sys::mmap_priced(args);
		if (!addr)
			return addr.error();
		return PricedMapping(static_cast<std::byte*>(*addr), len, price,
				     flags, true);
	}

	void* addr = ::mmap(nullptr, len, options.prot, map_flags, -1, 0);
	if (addr == MAP_FAILED) {
		const int errnum = errno;
		return Error(errnum,
			     fmt::format("mmap(len={}, prot={:#x}, flags={:#x})",
					 len, options.prot, map_flags),
			     "fallback without RAMM");
	}
	return PricedMapping(static_cast<std::byte*>(addr), len, price, flags,
			     false);
}

PricedMapping::~PricedMapping()
{
	unmap();
}

PricedMapping::PricedMapping(PricedMapping&& other) noexcept
	: addr_(std::exchange(other.addr_, nullptr)),
	  len_(std::exchange(other.len_, 0)),
	  price_(std::exchange(other.price_, 0)),
	  flags_(std::exchange(other.flags_, Flags::preserved)),
	  kernel_priced_(std::exchange(other.kernel_priced_, false))
{
}

PricedMapping& PricedMapping::operator=(PricedMapping&& other) noexcept
{
	if (this != &other) {
		unmap();
		addr_ = std::exchange(other.addr_, nullptr);
		len_ = std::exchange(other.len_, 0);
		price_ = std::exchange(other.price_, 0);
		flags_ = std::exchange(other.flags_, Flags::preserved);
		kernel_priced_ = std::exchange(other.kernel_priced_, false);
	}
	return *this;
}

void PricedMapping::unmap() noexcept
{
	// munmap() of a range this object mapped cannot fail; the kernel drops
	// the price with the VMA.
	if (addr_ != nullptr)
		::munmap(addr_, len_);
	addr_ = nullptr;
	len_ = 0;
	price_ = 0;
	flags_ = Flags::preserved;
	kernel_priced_ = false;
}

Result<void> PricedMapping::set_price(std::uint64_t price, Flags flags)
{
	const auto operation = [&] {
		return fmt::format("PricedMapping::set_price(price={}, flags={:#x})",
				   price, static_cast<std::uint64_t>(flags));
	};

	if (empty())
		return Error(EINVAL, operation(), "the mapping is empty (moved from)");
	if (price == 0)
		return Error(EINVAL, operation(), "price must be > 0 (0 means unpriced)");
	if (!valid(flags))
		return Error(EINVAL, operation(), "unknown ramm flags");

	if (kernel_priced_) {
		ramm_range range{};

		range.addr = reinterpret_cast<std::uintptr_t>(addr_);
		range.len = len_;
		range.price = price;
		range.ramm_flags = static_cast<std::uint64_t>(flags);
		if (auto done = sys::set_price(range); !done)
			return done;
	}
	price_ = price;
	flags_ = flags;
	return {};
}

Result<ramm_range> PricedMapping::kernel_price() const
{
	if (empty())
		return Error(EINVAL, "PricedMapping::kernel_price()",
			     "the mapping is empty (moved from)");
	if (!kernel_priced_)
		return Error(ENOSYS, "PricedMapping::kernel_price()",
			     "not kernel-priced: RAMM was absent or disabled "
			     "when the mapping was created");
	return sys::get_price(addr_);
}

}  // namespace ramm
