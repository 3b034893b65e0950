/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ramm

#if !defined(_TRACE_RAMM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_RAMM_H

#include <linux/tracepoint.h>
#include <trace/events/mmflags.h>

/* krammmd queued an ask (or extended one) for @amount bytes of a range. */
TRACE_EVENT(ramm_request,
	TP_PROTO(pid_t pid, unsigned long start, unsigned long len, u64 price,
		 u64 amount, unsigned int credit),
	TP_ARGS(pid, start, len, price, amount, credit),
	TP_STRUCT__entry(
		__field(pid_t, pid)
		__field(unsigned long, start)
		__field(unsigned long, len)
		__field(u64, price)
		__field(u64, amount)
		__field(unsigned int, credit)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->start = start;
		__entry->len = len;
		__entry->price = price;
		__entry->amount = amount;
		__entry->credit = credit;
	),
	TP_printk("pid=%d range=%#lx+%#lx price=%llu amount=%llu credit=%u",
		  __entry->pid, __entry->start, __entry->len, __entry->price,
		  __entry->amount, __entry->credit)
);

/* krammmd judged an ask: 0 answered, 1 late, 2 ignored. */
TRACE_EVENT(ramm_response,
	TP_PROTO(pid_t pid, u64 seq, int verdict, u64 asked, u64 released,
		 u64 latency_ns),
	TP_ARGS(pid, seq, verdict, asked, released, latency_ns),
	TP_STRUCT__entry(
		__field(pid_t, pid)
		__field(u64, seq)
		__field(int, verdict)
		__field(u64, asked)
		__field(u64, released)
		__field(u64, latency_ns)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->seq = seq;
		__entry->verdict = verdict;
		__entry->asked = asked;
		__entry->released = released;
		__entry->latency_ns = latency_ns;
	),
	TP_printk("pid=%d seq=%llu verdict=%s asked=%llu released=%llu latency_ns=%llu",
		  __entry->pid, __entry->seq,
		  __print_symbolic(__entry->verdict, { 0, "answered" },
				   { 1, "late" }, { 2, "ignored" }),
		  __entry->asked, __entry->released, __entry->latency_ns)
);

/* Discardable memory was dropped, by krammmd or by direct reclaim. */
TRACE_EVENT(ramm_purge,
	TP_PROTO(pid_t pid, unsigned long start, unsigned long len, u64 bytes,
		 bool direct),
	TP_ARGS(pid, start, len, bytes, direct),
	TP_STRUCT__entry(
		__field(pid_t, pid)
		__field(unsigned long, start)
		__field(unsigned long, len)
		__field(u64, bytes)
		__field(bool, direct)
	),
	TP_fast_assign(
		__entry->pid = pid;
		__entry->start = start;
		__entry->len = len;
		__entry->bytes = bytes;
		__entry->direct = direct;
	),
	TP_printk("pid=%d range=%#lx+%#lx bytes=%llu by=%s", __entry->pid,
		  __entry->start, __entry->len, __entry->bytes,
		  __entry->direct ? "direct-reclaim" : "krammmd")
);

/*
 * A krammmd pass: the machine's shortfall in pages (what the short nodes
 * lack, less what is already asked for), the nodes that are short, and
 * the pages it asked for.  @pressure: kswapd or direct reclaim ran since
 * the last pass; @escalate: ordinary reclaim fell short.
 */
TRACE_EVENT(ramm_pass,
	TP_PROTO(long shortfall, const nodemask_t *short_nodes, u64 outstanding,
		 u64 asked, bool pressure, bool escalate),
	TP_ARGS(shortfall, short_nodes, outstanding, asked, pressure, escalate),
	TP_STRUCT__entry(
		__field(long, shortfall)
		__bitmask(short_nodes, MAX_NUMNODES)
		__field(u64, outstanding)
		__field(u64, asked)
		__field(bool, pressure)
		__field(bool, escalate)
	),
	TP_fast_assign(
		__entry->shortfall = shortfall;
		__assign_bitmask(short_nodes, nodes_addr(*short_nodes),
				 MAX_NUMNODES);
		__entry->outstanding = outstanding;
		__entry->asked = asked;
		__entry->pressure = pressure;
		__entry->escalate = escalate;
	),
	TP_printk("shortfall=%ld short_nodes=%s outstanding=%llu asked=%llu pressure=%d escalate=%d",
		  __entry->shortfall, __get_bitmask(short_nodes),
		  __entry->outstanding, __entry->asked, __entry->pressure,
		  __entry->escalate)
);

/* The direct-reclaim hook ran. */
TRACE_EVENT(ramm_direct_reclaim,
	TP_PROTO(int order, gfp_t gfp_mask, unsigned long nr_to_reclaim,
		 unsigned long nr_purged, bool last_resort),
	TP_ARGS(order, gfp_mask, nr_to_reclaim, nr_purged, last_resort),
	TP_STRUCT__entry(
		__field(int, order)
		__field(unsigned long, gfp_mask)
		__field(unsigned long, nr_to_reclaim)
		__field(unsigned long, nr_purged)
		__field(bool, last_resort)
	),
	TP_fast_assign(
		__entry->order = order;
		__entry->gfp_mask = (__force unsigned long)gfp_mask;
		__entry->nr_to_reclaim = nr_to_reclaim;
		__entry->nr_purged = nr_purged;
		__entry->last_resort = last_resort;
	),
	TP_printk("order=%d gfp_flags=%s nr_to_reclaim=%lu nr_purged=%lu last_resort=%d",
		  __entry->order, show_gfp_flags(__entry->gfp_mask),
		  __entry->nr_to_reclaim, __entry->nr_purged,
		  __entry->last_resort)
);

#endif /* _TRACE_RAMM_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
