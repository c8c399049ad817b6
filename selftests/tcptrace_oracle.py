#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hold the module's histories up against what bpftrace saw.

    tcptrace_oracle.py BT_OUTPUT SINCE SNAPSHOT EVENTS [MISSED]

BT_OUTPUT is what tcptrace_oracle.bt printed; SINCE the CLOCK_MONOTONIC
time the comparison begins at (the module's ring was just cleared, and
nothing was open); SNAPSHOT an all-netns read of /dev/tcptrace taken at
the end; EVENTS the growth of the header's events= counter in between;
MISSED the events bpftrace's program was not run for (the kernel's
recursion_misses of it; default 0).

bpftrace's events are cut into lives the way the module cuts histories:
per socket address, from its first event to the one that enters CLOSE; an
event leaving CLOSE while a life is open ends that one as it is (the
module's end=lost), and so does one that follows missed events (it does
not leave the state the last one entered) and leaves LISTEN or carries
other addresses. The module's paths are turned back into what the
tracepoint reported:

- kprobes=0: every step is a tracepoint event, as it is;
- kprobes=1: steps flagged d are the kprobes' and are left out; a step
  flagged w is the tracepoint's OLD>CLOSE (a timewait socket took over);
  a child's first step, joined to its request, reads NEW_SYN_RECV>SYN_RECV
  where the tracepoint said LISTEN>SYN_RECV; a request that never got a
  child has no tracepoint step at all.

Lives and histories are paired by family, local and remote address and
port (as of the last event; a child's first event still carries its
listener's), in order of time within each, and must agree on every
transition. Anything unpaired, any difference, or an event count that is
not EVENTS, is a failure, with one exception: where bpftrace missed
events, a life may lack steps of its history (its steps a subsequence of
the history's), as long as the steps lacking add up to MISSED exactly.
Exit status 0 when all agree.
"""

import sys

CLOSE = 7
LISTEN = 10
STATES = ["UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
          "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
          "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE"]
NUMBER = {name: i for i, name in enumerate(STATES)}
# Time between the module's probe and bpftrace's on the same event.
TOLERANCE_NS = 500_000_000


def addr(family, host, port):
    return f"{host}:{port}" if family == 2 else f"[{host}]:{port}"


def read_lives(path, since):
    """bpftrace's events from @since on, cut into lives: (lives, events)."""
    lives, open_lives, events = [], {}, []
    with open(path) as f:
        for n, line in enumerate(f):
            if not line.startswith("E "):
                continue
            e = line.split()
            if len(e) != 10:
                raise SystemExit(f"bad bpftrace line {n + 1}: {line!r}")
            if int(e[1]) >= since:
                events.append((int(e[1]), n, e))
    # Each CPU has its own buffer: bpftrace prints their events in batches,
    # not in the order they happened. A socket's events are serialized by
    # its lock, and a freed socket's address is reused only after its last
    # event: in time order, each socket's lives come out whole.
    events.sort()
    for ts, _, e in events:
        sk, fam, old, new = e[2], int(e[3]), int(e[4]), int(e[5])
        key = ("ipv4" if fam == 2 else "ipv6", addr(fam, e[6], e[7]), addr(fam, e[8], e[9]))
        life = open_lives.get(sk)
        # An event that does not leave the state the last one entered
        # follows events bpftrace missed: leaving CLOSE or LISTEN, or
        # with other addresses, it is a new socket at the address of one
        # whose CLOSE was missed.
        if life and (old == CLOSE or (old != life["steps"][-1][1] and
                                      (old == LISTEN or key != life["key"]))):
            lives.append(life)
            life = None
        if not life:
            life = {"ts": ts, "steps": [], "sk": sk}
            open_lives[sk] = life
        life["steps"].append((old, new))
        life["key"] = key
        if new == CLOSE:
            lives.append(life)
            del open_lives[sk]
    lives.extend(open_lives.values())
    return lives, len(events)


def parse_path(path):
    """path=: [(old, new, ns, flags)]; "/OLD" names the next step's old state."""
    tokens = path.split(">")
    first = tokens[0]
    old_next = None
    if "/" in first:
        first, old_next = first.split("/")
    steps, prev = [], NUMBER[first]
    for tok in tokens[1:]:
        missed = None
        if "/" in tok:
            tok, missed = tok.split("/")
        state, _, tail = tok.partition("@")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        old = NUMBER[old_next] if old_next else prev
        steps.append((old, NUMBER[state], int(tail[:digits]), tail[digits:]))
        prev, old_next = NUMBER[state], missed
    return steps


def read_histories(path):
    """The module's records, their steps as the tracepoint reported them."""
    histories, header = [], ""
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# tcptrace "):
                header = line
                continue
            if not (line.startswith("done ") or line.startswith("live ")):
                continue
            f5 = line.split(" ")
            kv = dict(x.split("=", 1) for x in f5[5:])
            t0 = int(kv["t0"])
            steps, first_ns = [], None
            for old, new, ns, flags in parse_path(kv["path"]):
                if "d" in flags:
                    continue
                if "w" in flags:
                    new = CLOSE
                if old == NUMBER["NEW_SYN_RECV"]:
                    old = NUMBER["LISTEN"]
                if first_ns is None:
                    first_ns = ns
                steps.append((old, new))
            if not steps:
                continue        # a request that never got a child, or seeded
            histories.append({"key": (f5[2], f5[3], f5[4]), "ts": t0 + first_ns,
                              "steps": steps, "line": line})
    return histories, header


def subsequence(short, long):
    it = iter(long)
    return all(step in it for step in short)


def show(steps):
    return "".join(f">{STATES[n]}" if i else f"{STATES[o]}>{STATES[n]}"
                   for i, (o, n) in enumerate(steps))


def main():
    bt, since, snap, want_events = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    missed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    lives, events = read_lives(bt, since)
    histories, header = read_histories(snap)
    by_key = {}
    for life in lives:
        by_key.setdefault(life["key"], ([], []))[0].append(life)
    for hist in histories:
        by_key.setdefault(hist["key"], ([], []))[1].append(hist)

    problems, pairs, transitions, short = [], 0, 0, []
    for key, (ls, hs) in sorted(by_key.items()):
        ls.sort(key=lambda x: x["ts"])
        hs.sort(key=lambda x: x["ts"])
        for i in range(max(len(ls), len(hs))):
            life = ls[i] if i < len(ls) else None
            hist = hs[i] if i < len(hs) else None
            if not hist:
                problems.append(f"bpftrace only: {' '.join(key)} {show(life['steps'])}"
                                f" (sk {life['sk']})")
            elif not life:
                problems.append(f"module only: {hist['line']}")
            elif life["steps"] != hist["steps"]:
                if missed and subsequence(life["steps"], hist["steps"]):
                    short.append((len(hist["steps"]) - len(life["steps"]),
                                  f"bpftrace {show(life['steps'])}, module: {hist['line']}"))
                else:
                    problems.append(f"differ: bpftrace {show(life['steps'])}, "
                                    f"module: {hist['line']}")
            elif abs(life["ts"] - hist["ts"]) > TOLERANCE_NS:
                problems.append(f"{(hist['ts'] - life['ts']) / 1e6:.1f} ms apart: "
                                f"bpftrace {life['ts']}, module: {hist['line']}")
            else:
                pairs += 1
                transitions += len(life["steps"])
    lacking = sum(n for n, _ in short)
    if lacking != missed:
        problems += [f"differ: {line}" for _, line in short]
        problems.append(f"bpftrace's program was not run for {missed} events, "
                        f"its lives lack {lacking} steps")
    if events + missed != want_events:
        problems.append(f"bpftrace printed {events} events and missed {missed}, "
                        f"the module counted {want_events}")

    print(f"# bpftrace: {events} events, {len(lives)} sockets; module: "
          f"{len(histories)} histories")
    print(f"# {pairs} sockets, {transitions} transitions agree; {len(problems)} problems")
    if missed and lacking == missed:
        print(f"# {len(short)} sockets lack the {missed} steps bpftrace missed:")
        for _, line in short[:10]:
            print(f"#   {line}")
    for p in problems[:30]:
        print(f"#   {p}")
    if len(problems) > 30:
        print(f"#   ... and {len(problems) - 30} more")
    if problems:
        print(f"# {header}")
    return 1 if problems or not pairs else 0


if __name__ == "__main__":
    sys.exit(main())
