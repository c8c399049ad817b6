// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the numbers the header line shows.
 *
 * Counters of events are bumped on the hot path, per CPU (tcptrace_count()
 * in tcptrace.h), and summed here; gauges are read from their owners: the
 * table, the ring, the filter and the kprobes. Documentation/tcptrace.rst
 * says what each one means.
 */

#include <linux/percpu.h>
#include <linux/string.h>

#include "tcptrace.h"

struct tcptrace_counters __percpu *tcptrace_counters;

void tcptrace_stats(struct tcptrace_stats *stats)
{
	int cpu, i;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		const struct tcptrace_counters *p = per_cpu_ptr(tcptrace_counters, cpu);

		for (i = 0; i < TCPTRACE_NR_COUNTERS; i++)
			stats->count[i] += READ_ONCE(p->count[i]);
	}
	tcptrace_table_stats(stats);
	tcptrace_ring_stats(stats);
	tcptrace_filter_stats(stats);
	tcptrace_kprobes_stats(stats);
	stats->rst_reasons = TCPTRACE_RST_REASONS;
}

int tcptrace_stats_init(void)
{
	tcptrace_counters = alloc_percpu(struct tcptrace_counters);
	return tcptrace_counters ? 0 : -ENOMEM;
}

void tcptrace_stats_exit(void)
{
	free_percpu(tcptrace_counters);
}
