// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the runtime filter, which sockets get a history.
 *
 * Sockets of one network namespace, and with a local or remote port in a
 * set, as known when the history would start ("netns=" and "ports="
 * commands, Documentation/tcptrace.rst). The probe reads the filter
 * locklessly; changes are serialized by a mutex, the port set changed
 * with its switch off, so that no half-written set is used.
 */

#include <linux/bitmap.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>

#include "tcptrace.h"

static DECLARE_BITMAP(tcptrace_filter_port_set, 1 << 16);
static bool tcptrace_filter_ports_on;
static u32 tcptrace_filter_netns_inum;		/* 0: any */
static DEFINE_MUTEX(tcptrace_filter_lock);	/* serializes filter changes */

/* Whether a socket of @netns using @sport and @dport gets a history. */
bool tcptrace_filter_wanted(u32 netns, __be16 sport, __be16 dport)
{
	u32 want_netns = READ_ONCE(tcptrace_filter_netns_inum);

	if (want_netns && want_netns != netns)
		return false;
	/* Pairs with smp_store_release() in tcptrace_filter_ports(). */
	if (smp_load_acquire(&tcptrace_filter_ports_on) &&
	    !test_bit(ntohs(sport), tcptrace_filter_port_set) &&
	    !test_bit(ntohs(dport), tcptrace_filter_port_set))
		return false;
	return true;
}

/**
 * tcptrace_filter_ports - keep only sockets using one of these ports
 * @ports: a bitmap of 65536 ports, or NULL to keep every port
 */
void tcptrace_filter_ports(const unsigned long *ports)
{
	mutex_lock(&tcptrace_filter_lock);
	WRITE_ONCE(tcptrace_filter_ports_on, false);
	if (ports) {
		/* Probes still testing the old set keep every port meanwhile. */
		synchronize_rcu();
		bitmap_copy(tcptrace_filter_port_set, ports, 1 << 16);
		/* Pairs with smp_load_acquire() in tcptrace_filter_wanted(): set, then on. */
		smp_store_release(&tcptrace_filter_ports_on, true);
	}
	mutex_unlock(&tcptrace_filter_lock);
}

/**
 * tcptrace_filter_netns - keep only sockets of one network namespace
 * @netns: its inode number, or 0 to keep every namespace
 */
void tcptrace_filter_netns(u32 netns)
{
	WRITE_ONCE(tcptrace_filter_netns_inum, netns);
}

void tcptrace_filter_stats(struct tcptrace_stats *stats)
{
	stats->filter_ports = bitmap_weight(tcptrace_filter_port_set, 1 << 16) *
			      READ_ONCE(tcptrace_filter_ports_on);
	stats->filter_netns = READ_ONCE(tcptrace_filter_netns_inum);
}
