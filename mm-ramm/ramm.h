/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the files of mm/ramm/. */
#ifndef _MM_RAMM_RAMM_H
#define _MM_RAMM_RAMM_H

#include <linux/ramm.h>

/* The RAMM_* flags this kernel accepts. */
#define RAMM_VALID_FLAGS	RAMM_DISCARDABLE

int ramm_set_price(struct mm_struct *mm, u64 start, u64 len,
		   struct ramm_price price);
int ramm_get_price(struct mm_struct *mm, struct ramm_range *range);
int ramm_get_stats(struct mm_struct *mm, struct ramm_stats *stats);

#endif /* _MM_RAMM_RAMM_H */
