#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarize scripts/bench-overhead's results.csv: tables, targets, chart data.

Usage: bench-overhead/summarize.py RESULTS_CSV OUTDIR

Prints the tables and the targets (reported, never asserted) and writes
them to OUTDIR/summary.txt, with OUTDIR/churn.dat and OUTDIR/idle.dat for
bench-overhead/overhead.gp. Documentation/benchmark.rst says how to read them.

Every comparison is paired: an arm's measurement against arm 1's (no
tracer) in the same round, and the median over rounds is reported.
"""

import csv
import statistics
import sys
from collections import defaultdict

# TCP state changes per churned connection (bench-overhead/loadgen.c)
STEPS_PER_CONN = 10
NAMES = {
    1: "no tracer",
    2: "empty probe",
    3: "tcptrace",
    4: "tcptrace + follow reader",
    5: "bpftrace tcptrace.bt",
    6: "tcpstates (libbpf-tools)",
    7: "tcpstates-bpfcc (bcc)",
    8: "tcptrace kprobes=0",
}


def num(row, key):
    try:
        return float(row.get(key) or "")
    except ValueError:
        return None


def ns_per_conn(row):
    """Guest CPU nanoseconds per connection, every CPU being busy (under
    vm-run --icount, a nanosecond is an instruction)."""
    cps, cpus = num(row, "cps"), num(row, "cpus")
    return 1e9 * cpus / cps if cps and cpus else None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


class Group:
    """The measurements of one phase (and idle count): round -> arm -> row."""

    def __init__(self):
        self.rounds = defaultdict(dict)
        self.skipped = {}

    def rows(self, arm):
        return [r[arm] for r in self.rounds.values() if arm in r]

    def total(self, arm, key):
        xs = [num(r, key) for r in self.rows(arm)]
        xs = [x for x in xs if x is not None]
        return int(sum(xs)) if xs else None

    def paired(self, arm, fn):
        """fn(row of ARM, row of arm 1) in each round that has both."""
        out = [fn(r[arm], r[1]) for r in self.rounds.values() if arm in r and 1 in r]
        return [x for x in out if x is not None]

    def ratios(self, arm):
        def ratio(a, b):
            ca, cb = num(a, "cps"), num(b, "cps")
            return ca / cb if ca and cb else None
        return self.paired(arm, ratio)

    def ns_per_event(self, arm):
        """Extra guest ns per state change against arm 1, each round."""
        def extra(a, b):
            na, nb = ns_per_conn(a), ns_per_conn(b)
            return None if na is None or nb is None else (na - nb) / STEPS_PER_CONN
        return self.paired(arm, extra)


class Block(Group):
    """An arm started once and run several times in a row, between arm 1
    runs: each run is compared with the median of those arm 1 runs."""

    def paired(self, arm, fn):
        base = self.rows(1)
        out = []
        for r in self.rows(arm):
            xs = [fn(r, b) for b in base]
            out.append(median(xs))
        return [x for x in out if x is not None]


def load(path):
    groups = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            phase = row["phase"]
            key = (phase, int(row["idle"] or 0))
            if key not in groups:
                groups[key] = Block() if phase.startswith("block") else Group()
            g = groups[key]
            arm = int(row["arm"])
            if row["note"].startswith("skipped"):
                g.skipped[arm] = row["note"]
            else:
                g.rounds[int(row["round"])][arm] = row
    return groups


def table(head, rows):
    """A reStructuredText simple table."""
    cells = [[str(c) for c in r] for r in [head] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    rule = "  ".join("=" * w for w in widths)
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([rule, line(cells[0]), rule] + [line(r) for r in cells[1:]] + [rule])


def lost(g, arm):
    """What the arm could not record or deliver, from its own counters."""
    t = lambda key: g.total(arm, key) or 0
    if arm in (3, 8):
        text = "%d events" % (t("drop_table_full") + t("drop_steps_full") + t("kprobe_missed"))
        if t("evicted"):
            text += ", %d evicted" % t("evicted")
        return text + "; %d overwritten unread" % t("ring_overwritten")
    if arm == 4:
        return "%d of %d histories (%d EPIPE)" % (
            t("follow_lost"), t("follow_records") + t("follow_lost"), t("follow_epipe"))
    if arm == 5:
        return "%d (%d histories printed)" % (t("tool_lost"), t("tool_printed"))
    if arm in (6, 7):
        return "%d of %d events" % (t("tool_lost"), t("tool_lost") + t("tool_printed"))
    return ""


def churn_rows(g, arms, over, ns2, dat, mark=""):
    """One table row per arm of group G; OVER collects overheads."""
    rows = []
    for arm in arms:
        name = NAMES.get(arm, str(arm))
        if not g.rows(arm):
            note = g.skipped.get(arm, "not measured")
            rows.append([str(arm) + mark, name, "skipped", "", "", "", "", note])
            continue
        ratios = g.ratios(arm)
        r = median(ratios)
        o = None if r is None else 1 - r
        ns = median(g.ns_per_event(arm))
        over[arm] = o
        if arm == 1:
            rows.append([arm, name, fmt(median(num(x, "cps") for x in g.rows(1)), ".0f"),
                         "1", "", "", "", ""])
            continue
        o2 = over.get(2)
        rows.append([str(arm) + mark, name,
                     fmt(median(num(x, "cps") for x in g.rows(arm)), ".0f"),
                     fmt(r, ".3f"), fmt(None if o is None else 100 * o, ".1f") + "%",
                     "" if arm == 2 or o is None or not o2 or o2 <= 0 else "%.0fx" % (o / o2),
                     fmt(ns, ".0f") + ("" if arm == 2 or ns is None or ns2 is None
                                       else " (+%.0f)" % (ns - ns2)),
                     lost(g, arm)])
        if o is not None and ratios:
            dat.append('%d "%s" %.3f %.3f %.3f' % (
                arm, name.replace(" (", "\\n("), 100 * o,
                100 * (1 - max(ratios)), 100 * (1 - min(ratios))))
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    groups = load(sys.argv[1])
    outdir = sys.argv[2]
    out = []
    over = {}
    dat = []

    churn = groups.get(("churn", 0))
    if churn:
        base = [num(r, "cps") for r in churn.rows(1)]
        ns2 = median(churn.ns_per_event(2))
        rows = churn_rows(churn, sorted(set(a for r in churn.rounds.values() for a in r) |
                                        set(churn.skipped)), over, ns2, dat)
        for (phase, _), g in sorted(groups.items()):
            if phase.startswith("block"):
                rows += churn_rows(g, [int(phase[5:])], over, ns2, dat, mark="*")
        out.append("Connection churn: median of %d rounds; ratio: connections/s against "
                   "arm 1 in the same round." % len(churn.rounds))
        out.append("Arm 1 ranged over %s-%s connections/s." % (
            fmt(min(base), ".0f"), fmt(max(base), ".0f")))
        out.append("")
        out.append(table(["arm", "tracer", "conn/s", "ratio", "overhead", "x empty",
                          "ns/event (+ over empty)", "lost"], rows))
        out.append("")
        out.append("ns/event: extra guest CPU time per TCP state change, against arm 1;")
        out.append("under vm-run --icount, instructions. x empty: overhead / the empty probe's.")
        if any(p.startswith("block") for p, _ in groups):
            out.append("* started once (it compiles for minutes under emulation), then run "
                       "several times in a row, each against the median of the arm 1 runs "
                       "around them.")
    with open(outdir + "/churn.dat", "w") as f:
        f.write("# arm name overhead_pct min_pct max_pct\n" + "\n".join(dat) + "\n")

    # The same churn in a VM with two vCPUs on the host's clock: rounds are
    # real time, so the ratio's range across rounds is shown.
    smp = groups.get(("smp2", 0))
    if smp:
        rows = []
        for arm in sorted(set(a for r in smp.rounds.values() for a in r) | set(smp.skipped)):
            name = NAMES.get(arm, str(arm))
            if not smp.rows(arm):
                rows.append([arm, name, "skipped", "", "", "", smp.skipped.get(arm, "")])
                continue
            cps = fmt(median(num(x, "cps") for x in smp.rows(arm)), ".0f")
            if arm == 1:
                rows.append([arm, name, cps, "1", "", "", ""])
                continue
            ratios = smp.ratios(arm)
            r = median(ratios)
            rows.append([arm, name, cps, fmt(r, ".3f"),
                         "n/a" if r is None else "%.1f%%" % (100 * (1 - r)),
                         "n/a" if not ratios else "%.3f-%.3f" % (min(ratios), max(ratios)),
                         lost(smp, arm)])
        out.append("")
        out.append("Two vCPUs on the host's clock, median of %d rounds (connections/s per real "
                   "second, both CPUs churning):" % len(smp.rounds))
        out.append("")
        out.append(table(["arm", "tracer", "conn/s", "ratio", "overhead", "range", "lost"],
                         rows))

    idle = sorted((n, g) for (p, n), g in groups.items() if p == "idle")
    flat = []
    with open(outdir + "/idle.dat", "w") as f:
        f.write("# idle ns_per_event min max\n")
        rows = []
        for n, g in idle:
            ns = g.ns_per_event(3)
            flat.append((n, median(ns), ns))
            live = median(num(r, "live") for r in g.rows(3))
            rows.append([n, fmt(live, ".0f"), fmt(median(num(r, "cps") for r in g.rows(1)), ".0f"),
                         fmt(median(g.ratios(3)), ".3f"), fmt(median(ns), ".0f"),
                         "n/a" if not ns else "%.0f-%.0f" % (min(ns), max(ns)), lost(g, 3)])
            if ns:
                f.write("%d %.1f %.1f %.1f\n" % (n, median(ns), min(ns), max(ns)))
    if idle:
        out.append("")
        out.append("Idle established connections held while churning (arms 1 and 3):")
        out.append("")
        out.append(table(["idle conns", "tcptrace live", "arm 1 conn/s", "arm 3 ratio",
                          "ns/event", "range", "lost"], rows))

    # Memory, from the module's header: mem_bytes for two table sizes with
    # the same ring gives the cost of one more live history.
    mem = groups.get(("memory", 0))
    sized = [r for (p, _), g in groups.items() if p != "memory"
             for r in g.rows(3) if num(r, "mem_bytes")]
    per_live = None
    if mem and mem.rows(3) and sized:
        d, b = mem.rows(3)[0], sized[0]
        dm, dl, bm, bl = (num(d, "mem_bytes"), num(d, "live_max"),
                          num(b, "mem_bytes"), num(b, "live_max"))
        out.append("")
        if dm and dl and bm and bl and bl != dl and d["ring_size"] == b["ring_size"]:
            per_live = (bm - dm) / (bl - dl)
            out.append("tcptrace memory (its header's mem_bytes): %.0f bytes per live history "
                       "(table slot and hash bucket: mem_bytes at live_max=%d and %d);"
                       % (per_live, dl, bl))
            out.append("with the ring of %s done histories, %.0f bytes per live_max at the "
                       "defaults, %.0f at live_max=%d." % (d["ring_size"], dm / dl, bm / bl, bl))
        if idle:
            n, g = idle[-1]
            rs = [r for r in g.rows(3) if num(r, "live") and num(r, "mem_bytes")]
            if rs:
                out.append("Holding %d idle connections: live=%d, mem_bytes=%d: mem_bytes/live "
                           "= %.0f bytes." % (n, num(rs[0], "live"), num(rs[0], "mem_bytes"),
                                              num(rs[0], "mem_bytes") / num(rs[0], "live")))

    # ns/event assumes the churn kept every CPU busy.
    idle_cpu = [r for g in groups.values() for rr in g.rounds.values() for r in rr.values()
                if num(r, "cpu_busy") is not None and num(r, "cpu_busy") < 0.98]
    if idle_cpu:
        out.append("")
        out.append("Warning: %d measurements left the CPUs idle at times (cpu_busy < 0.98): "
                   "their ns/event are too high." % len(idle_cpu))

    # The targets of issue #6: reported, never asserted.
    out.append("")
    out.append("Targets:")

    def target(ok, text):
        out.append("  [%s] %s" % ({True: "met", False: "MISSED", None: "n/a"}[ok], text))

    o2, o3, o5, o6 = (over.get(a) for a in (2, 3, 5, 6))
    pct = lambda o: "n/a" if o is None else "%.1f%%" % (100 * o)
    both = lambda a, b: a is not None and b is not None
    target(o3 <= o5 / 3 if both(o3, o5) else None,
           "tcptrace's overhead %s at most 1/3 of bpftrace's %s" % (pct(o3), pct(o5)))
    target(o3 < o6 if both(o3, o6) else None,
           "tcptrace's overhead %s below tcpstates' %s" % (pct(o3), pct(o6)))
    target(o3 <= 1.5 * max(o2, 0) if both(o3, o2) else None,
           "tcptrace's overhead %s within 1.5x of the empty probe's %s" % (pct(o3), pct(o2)))
    lost4 = churn.total(4, "follow_lost") if churn else None
    target(lost4 == 0 if lost4 is not None else None,
           "%s histories lost by the follow reader at full churn" % fmt(lost4, "d"))
    target(per_live <= 256 if per_live is not None else None,
           "%s bytes of module memory per live history, at most 256" % fmt(per_live, ".0f"))
    pts = [(n, m, ns) for n, m, ns in flat if m is not None]
    if len(pts) >= 2:
        ms = [m for _, m, _ in pts]
        noise = max(statistics.pstdev(ns) for _, _, ns in pts)
        spread = max(ms) - min(ms)
        ok = spread <= max(2 * noise, 0.1 * statistics.median(ms))
        target(ok, "per-event cost from %d to %d idle connections: %s ns (spread %.0f; "
               "round-to-round deviation up to %.0f)" % (
                   pts[0][0], pts[-1][0], " / ".join("%.0f" % m for m in ms), spread, noise))
    else:
        target(None, "per-event cost flat from 100 to 100,000 live sockets")

    text = "\n".join(out) + "\n"
    with open(outdir + "/summary.txt", "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
