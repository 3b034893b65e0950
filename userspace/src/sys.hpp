// SPDX-License-Identifier: GPL-2.0
//
// Internal: the kernel calls without the "is RAMM present?" check.  The public
// wrappers add the check; PricedMapping calls these directly because a mapping
// that mmap_priced() created proves the kernel is RAMM, even if RAMM_DISABLE
// was set afterwards.

#ifndef RAMM_SRC_SYS_HPP
#define RAMM_SRC_SYS_HPP

#include <ramm/ramm.hpp>

namespace ramm::sys {

Result<void*> mmap_priced(const ramm_mmap_args& args);
Result<void> set_price(const ramm_range& range);
Result<ramm_range> get_price(const void* addr);
Result<ramm_stats> get_stats();

}  // namespace ramm::sys

#endif  // RAMM_SRC_SYS_HPP
