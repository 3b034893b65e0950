#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the JSON lines make demo and make bench collect into tables.

  report.py demo RAMM.jsonl STOCK.jsonl
      the demo's side-by-side outcome, on stdout
  report.py balloon RAMM.jsonl STOCK.jsonl
      the same for the balloon act: "the host wants memory back"
  report.py bench IN_DIR OUT_DIR [--machine TEXT] [--command TEXT]
      every IN_DIR/*.jsonl and IN_DIR/*.txt into OUT_DIR/results.md,
      OUT_DIR/results.json and OUT_DIR/*.png (gnuplot)

Each JSON line has a "kind": scenario, balloon, latency, order, micro,
scale or alloc (see the programs in userspace/demo and userspace/bench), or
balloon-host (scripts/balloon.py: what QEMU's query-balloon saw).  Nothing here judges a
number: the tables say what was measured, including where RAMM loses.
"""

import json
import math
import os
import statistics
import subprocess
import sys

MIB = 1 << 20

VARIANTS = [
    ("stock", "stock 6.1, no cooperation"),
    ("psi", "stock 6.1, cache freed on PSI some 10000 500000"),
    ("madvfree", "stock 6.1, MADV_FREE cache"),
    ("ramm", "RAMM"),
]


def load(paths):
    records = []
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"report.py: {path}:{n}: not JSON ({e}): {line[:80]}")
    return records


def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def fmt(x, spec=".2f", unit="", none="–"):
    return none if x is None else format(x, spec) + unit


def latency_summary(values):
    """Median and p99 of one channel's latencies, None (never woke) counted
    as later than any."""
    fired = [v for v in values if v is not None]
    ranked = fired + [math.inf] * (len(values) - len(fired))
    return {"fired": len(fired),
            "median": statistics.median(ranked) if ranked else None,
            "p99": percentile(ranked, 99)}


def never_for_infinity(x):
    if isinstance(x, float) and math.isinf(x):
        return "never"
    if isinstance(x, dict):
        return {k: never_for_infinity(v) for k, v in x.items()}
    if isinstance(x, list):
        return [never_for_infinity(v) for v in x]
    return x


def latency_cell(ms, spec):
    if ms is None:
        return "–"
    return "never" if not math.isfinite(ms) else format(ms, spec) + " ms"


# --- the scenario -------------------------------------------------------------

def scenario_summary(runs):
    """One variant's runs, summed up."""
    n = len(runs)
    hog_times = [r["hog_seconds"] for r in runs if r["hog_satisfied"]]
    notices = [r["notice_ms"] for r in runs if r["notice_ms"] >= 0]
    return {
        "runs": n,
        "oom_kills": sum(r["oom_kills"] for r in runs),
        "killed": sorted({k for r in runs for k in r["killed"].split(",") if k}),
        "valuable_lost_mib_mean": statistics.mean(r["valuable_lost_bytes"] for r in runs) / MIB,
        "valuable_lost_mib_max": max(r["valuable_lost_bytes"] for r in runs) / MIB,
        "hog_satisfied": len(hog_times),
        "hog_seconds_median": statistics.median(hog_times) if hog_times else None,
        "disturbed_mean": statistics.mean(r["disturbed"] for r in runs),
        "accuracy_mean": statistics.mean(r["accuracy"] for r in runs),
        "value_retained_mean": statistics.mean(r["value_retained"] for r in runs),
        "notice_ms_median": statistics.median(notices) if notices else None,
        # Per run, libramm's Dispatcher's own median and p99 from the
        # kernel's detection to the memory released; the worst run's.
        "release_p50_ms_max": max((r.get("release_p50_ms", 0) for r in runs
                                   if r.get("release_samples")), default=None),
        "release_p99_ms_max": max((r.get("release_p99_ms", 0) for r in runs
                                   if r.get("release_samples")), default=None),
        "release_samples": sum(r.get("release_samples", 0) for r in runs),
        "cache_mib": runs[0]["cache_bytes"] / MIB,
        "keeper_mib": runs[0]["keeper_bytes"] / MIB,
        "hog_mib": statistics.mean(r["hog_bytes"] for r in runs) / MIB,
    }


def scenario_rows(summaries):
    """(label, {variant: text}) rows of the outcome table."""
    def cell(s, key):
        if key == "oom":
            who = f" ({', '.join(s['killed'])})" if s["killed"] else ""
            return f"{s['oom_kills']} in {s['runs']} run(s){who}"
        if key == "lost":
            if s["runs"] == 1:
                return f"{s['valuable_lost_mib_max']:.0f} MiB"
            return f"{s['valuable_lost_mib_mean']:.0f} MiB mean, {s['valuable_lost_mib_max']:.0f} max"
        if key == "hog":
            t = s["hog_seconds_median"]
            got = f"{s['hog_satisfied']}/{s['runs']}"
            return got + (f", {t:.2f} s median" if t is not None else "")
        if key == "disturbed":
            return f"{s['disturbed_mean']:.1f}"
        if key == "accuracy":
            return f"{s['accuracy_mean']:.3f}"
        if key == "value":
            return f"{s['value_retained_mean']:.3f}"
        if key == "release":
            if not s["release_samples"]:
                return "–"
            return (f"{s['release_p50_ms_max']:.2f} / {s['release_p99_ms_max']:.2f} ms "
                    f"({s['release_samples']} asks)")
        if key == "notice":
            return fmt(s["notice_ms_median"], ".0f", " ms")
        raise KeyError(key)

    labels = [
        ("oom", "OOM kills"),
        ("lost", "valuable bytes lost"),
        ("hog", "hog got its memory"),
        ("disturbed", "processes disturbed (of 3)"),
        ("accuracy", "cheapest-first accuracy"),
        ("value", "value retained / offline optimum"),
        ("notice", "hog's start to the cache's first notice"),
        ("release", "kernel's detection to memory released, median / p99"),
    ]
    return [(label, {v: cell(s, key) for v, s in summaries.items()}) for key, label in labels]


def markdown_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def demo(ramm_path, stock_path):
    summaries = {}
    for name, path in (("stock", stock_path), ("ramm", ramm_path)):
        runs = [r for r in load([path]) if r.get("kind") == "scenario"]
        if not runs:
            sys.exit(f"report.py: {path} holds no scenario result: did the guest run it?")
        summaries[name] = scenario_summary(runs)
    rows = scenario_rows(summaries)
    width = max(len(label) for label, _ in rows)
    col = max(28, *(len(c[v]) for _, c in rows for v in c))
    print(f"{'':{width}}  {'stock 6.1':<{col}}  RAMM")
    for label, cells in rows:
        print(f"{label:<{width}}  {cells['stock']:<{col}}  {cells['ramm']}")
    s, r = summaries["stock"], summaries["ramm"]
    verdict = []
    if r["oom_kills"] < s["oom_kills"]:
        verdict.append(f"RAMM avoided {s['oom_kills'] - r['oom_kills']} OOM kill(s)")
    if r["valuable_lost_mib_max"] < s["valuable_lost_mib_max"]:
        verdict.append(f"kept {s['valuable_lost_mib_max'] - r['valuable_lost_mib_max']:.0f} MiB "
                       "of valuable data the stock kernel lost")
    if r["hog_satisfied"] > s["hog_satisfied"]:
        verdict.append("and the hog got its memory")
    if not verdict:
        verdict.append("no difference in outcome at these sizes")
    print("verdict: " + ", ".join(verdict) + ".")


# --- the balloon: the host wants memory back ------------------------------------

def balloon_runs(records):
    """{variant: (guest record, host record)} from one or more boots; the
    host's record is labelled with the variant (scripts/bench.sh, demo.sh)."""
    guest = {r["variant"]: r for r in records if r.get("kind") == "balloon"}
    host = {r["label"]: r for r in records if r.get("kind") == "balloon-host"}
    return {v: (guest[v], host.get(v)) for v in ("stock", "ramm") if v in guest}


def balloon_rows(runs):
    """(label, {variant: cell}) rows: what the host got, and at what cost."""
    def cells(fn):
        return {v: fn(g, h) for v, (g, h) in runs.items()}

    def got(g, h):
        return f"{g['taken_bytes'] / MIB:.0f} of {g['balloon_bytes'] / MIB:.0f} MiB"

    def reached(g, h):
        if not h:
            return fmt(g["inflate_seconds"] if g["reached"] else None, ".2f", " s", "no")
        if not h["reached"]:
            return f"no: {h['taken_bytes'] / MIB:.0f} MiB at the end"
        text = "yes, " + fmt(h["seconds_to_target"], ".2f", " s") + " after the command"
        # Reached only after the guest gave up waiting: the memory came
        # from somewhere else than the applications giving it.
        settled = h.get("seconds_to_settled")
        if settled is not None and h["seconds_to_target"] > settled:
            text += (", once the OOM killer freed memory" if g["oom_kills"]
                     else ", after the guest stopped waiting")
        return text

    def lost(g, h):
        text = f"{g['preserved_lost_bytes'] / MIB:.0f} MiB preserved"
        if g["processes_killed"]:
            text += (f" + {g['processes_killed']} process(es) killed ({g['killed']}, "
                     f"{g.get('killed_bytes', 0) / MIB:.0f} MiB)")
        return text

    def counters(g, h):
        c = g.get("counters") or {}
        if not c:
            return "–"
        return (f"{c.get('wakes', 0) + c.get('wakes_ahead', 0)} wakes, {c.get('requests', 0)} "
                f"asks, {c.get('pages_released', 0) * 4096 / MIB:.0f} MiB released, "
                f"purged {c.get('pages_purged_direct', 0)} pages in direct reclaim")

    return [
        ("the balloon had when it stopped growing (guest)", cells(got)),
        ("target reached (host's query-balloon), time to it", cells(reached)),
        ("OOM kills", cells(lambda g, h: str(g["oom_kills"]))),
        ("bytes lost", cells(lost)),
        ("the guest's next allocation", cells(
            lambda g, h: f"{g['then_bytes'] / MIB:.0f} MiB " +
            ("allocated" if g["next_allocated"] else "not allocated"))),
        ("cheap cache given up (cheapest-first accuracy)", cells(
            lambda g, h: f"{g['cache_lost_bytes'] / MIB:.0f} MiB ({g['accuracy']:.3f})")),
        ("RAMM during inflation", cells(counters)),
    ]


def balloon_sizes(g):
    return (f"{g['caches']} caches of {g['cache_bytes'] / MIB:.0f} MiB (3/4 cold at price "
            f"10, 20, ..., 1/4 warm at 1000, 2000, ..., discardable), "
            f"{g['keeper_bytes'] / MIB:.0f} MiB of preserved data (price 1000000); "
            f"the host asks for {g['balloon_bytes'] / MIB:.0f} MiB, "
            f"{g['available_at_ready'] / MIB:.0f} MiB being available in the guest")


def balloon(ramm_path, stock_path):
    runs = balloon_runs(load([stock_path, ramm_path]))
    for v, path in (("stock", stock_path), ("ramm", ramm_path)):
        if v not in runs:
            sys.exit(f"report.py: {path} holds no balloon result: did the guest run it?")
    rows = balloon_rows(runs)
    width = max(len(label) for label, _ in rows)
    col = max(28, *(len(c["stock"]) for _, c in rows))
    print(f"{'':{width}}  {'stock 6.1':<{col}}  RAMM")
    for label, cells in rows:
        print(f"{label:<{width}}  {cells['stock']:<{col}}  {cells['ramm']}")
    (sg, sh), (rg, rh) = runs["stock"], runs["ramm"]
    s_taken, r_taken = sg["taken_bytes"], rg["taken_bytes"]
    verdict = []
    if r_taken > s_taken:
        verdict.append(f"the host got {(r_taken - s_taken) / MIB:.0f} MiB more back from RAMM")
    if rg["oom_kills"] < sg["oom_kills"]:
        verdict.append(f"RAMM avoided {sg['oom_kills'] - rg['oom_kills']} OOM kill(s)")
    if rg["preserved_lost_bytes"] < sg["preserved_lost_bytes"]:
        verdict.append(f"kept {(sg['preserved_lost_bytes'] - rg['preserved_lost_bytes']) / MIB:.0f}"
                       " MiB of preserved data the stock kernel lost")
    if not verdict:
        verdict.append("no difference in outcome at these sizes")
    print("verdict: " + ", ".join(verdict) + ".")


# --- make bench ---------------------------------------------------------------

def gnuplot(script, out_dir):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, cwd=out_dir, check=True,
                       capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"report.py: gnuplot failed, no plot: {err.strip()[:300]}", file=sys.stderr)
        return False


def bench(in_dir, out_dir, machine, command):
    files = sorted(os.path.join(in_dir, f) for f in os.listdir(in_dir) if f.endswith(".jsonl"))
    records = load(files)
    os.makedirs(out_dir, exist_ok=True)
    md = ["# RAMM benchmark results", ""]
    md.append(f"Measured by `{command}` on {machine}.  Every number below comes from "
              "that one run; ratios compare kernels booted in the same run.")
    md.append("")
    result = {"machine": machine, "command": command}

    # 1. outcome
    by_variant = {}
    for r in records:
        if r.get("kind") == "scenario":
            by_variant.setdefault(r["variant"], []).append(r)
    summaries = {v: scenario_summary(by_variant[v]) for v, _ in VARIANTS if v in by_variant}
    result["scenario"] = summaries
    if summaries:
        any_s = next(iter(summaries.values()))
        md += ["## 1. Outcome: a hog grows on a memory-tight machine", "",
               f"Cache {any_s['cache_mib']:.0f} MiB (3/4 cold at price 10, 1/4 warm at 1000, "
               f"discardable), keeper {any_s['keeper_mib']:.0f} MiB of valuable data (price "
               "1000000), an unmodified program, and a hog needing about "
               f"{any_s['hog_mib']:.0f} MiB: what was free plus half the cache "
               "(`userspace/demo/ramm_scenario.cpp`).  No swap.", ""]
        rows = scenario_rows(summaries)
        header = [""] + [dict(VARIANTS)[v] for v in summaries]
        md.append(markdown_table(header, [[label] + [cells[v] for v in summaries]
                                          for label, cells in rows]))
        md += ["", "Cheapest-first accuracy: of the priced bytes lost, the share the offline "
               "optimum (giving up exactly the cheapest bytes) would also have lost; a killed "
               "process lost all it held.  Value retained: price × bytes kept, over the same "
               "for the optimum.  A process is disturbed when it was asked, purged, lost "
               "data or was killed.  Detection to release: libramm's Dispatcher times every "
               "ask from the record's `detected_ns` to the listener returning; the table shows "
               "the worst run's median and p99.", "", "![free memory](free-memory.png)", ""]
        lines = []
        for v, _ in VARIANTS:
            if v in by_variant:
                samples = by_variant[v][0]["free_mib"]
                with open(os.path.join(out_dir, f"free-{v}.dat"), "w") as f:
                    f.writelines(f"{t} {m}\n" for t, m in samples)
                lines.append(f"'free-{v}.dat' with lines lw 2 title '{dict(VARIANTS)[v]}'")
        gnuplot("set terminal pngcairo size 900,500 noenhanced\nset output 'free-memory.png'\n"
                "set xlabel 'seconds'\nset ylabel 'MemFree (MiB)'\nset key top right\n"
                "set title 'Free memory during the first run of each variant'\n"
                f"plot {', '.join(lines)}\n", out_dir)
        for v, _ in VARIANTS:
            p = os.path.join(out_dir, f"free-{v}.dat")
            if os.path.exists(p):
                os.remove(p)

    # 1b. the balloon
    runs = balloon_runs(records)
    if runs:
        result["balloon"] = {v: {"guest": g, "host": h} for v, (g, h) in runs.items()}
        g0, h0 = next(iter(runs.values()))
        ram = f"{h0['ram_bytes'] / MIB:.0f} MiB" if h0 else "A"
        md += ["## 1b. The host wants memory back: a virtio balloon", "",
               f"A {ram} guest (no swap) with " + balloon_sizes(g0) + ".  The host "
               "inflates QEMU's virtio balloon (`scripts/balloon.py`, QMP `balloon`, then "
               "`query-balloon` every 50 ms); once it stopped growing for 5 s the guest "
               "allocates once more (`userspace/demo/ramm_balloon.cpp`).  One run each.", "",
               markdown_table([""] + [{"stock": "stock 6.1", "ramm": "RAMM"}[v] for v in runs],
                              [[label] + [cells[v] for v in runs]
                               for label, cells in balloon_rows(runs)]),
               "", "The balloon driver allocates with `__GFP_NORETRY` and never OOM-kills; "
               "on stock 6.1 it logs \"Out of puff!\" and retries every 200 ms.  Bytes "
               "lost: preserved data that did not read back, and processes killed (each "
               "lost all it held).", ""]

    # 2. latency: one group of rounds per start (roomy, or tight at a
    # distance above krammmd's mark)
    lat = [r for r in records if r.get("kind") == "latency"]
    if lat:
        groups = {}
        for r in lat:
            key = (r.get("start", "roomy"), r.get("above_kib"))
            g = groups.setdefault(key, {"ramm_ms": [], "psi_ms": [], "detect_ms": [],
                                        "void": 0})
            # A round in which krammmd saw the shortfall before the burst
            # began measures nothing: left out, and counted.
            early = r.get("early", [False] * len(r["ramm_ms"]))
            keep = [i for i, e in enumerate(early) if not e]
            g["void"] += len(early) - len(keep)
            g["ramm_ms"] += [r["ramm_ms"][i] for i in keep]
            g["psi_ms"] += [r["psi_ms"][i] for i in keep]
            g["detect_ms"] += [r.get("ramm_after_detection_ms", [None] * len(early))[i]
                               for i in keep]
        result["latency"] = {"psi_trigger": lat[0]["psi_trigger"], "starts": {}}
        rows = []
        for (start, above), g in groups.items():
            n = len(g["ramm_ms"])
            summary = {"start": start, "above_kib": above, "rounds": n,
                       "void_rounds": g["void"]}
            for name in ("ramm_ms", "psi_ms", "detect_ms"):
                summary[name] = latency_summary(g[name])
            # Where PSI fired: its median, and by how much RAMM was sooner
            # in those same bursts.
            both = [(p, r) for p, r in zip(g["psi_ms"], g["ramm_ms"])
                    if p is not None and r]
            summary["psi_fired_median_ms"] = (statistics.median(p for p, _ in both)
                                              if both else None)
            summary["psi_over_ramm_median"] = (statistics.median(p / r for p, r in both)
                                               if both else None)
            # The same, counted from when the kernel found the shortfall
            # (the ask's detected_ns): the two channels without the time
            # the burst took to bring free memory down to the mark.
            since = [(p - (r - d), d) for p, r, d in
                     zip(g["psi_ms"], g["ramm_ms"], g["detect_ms"])
                     if p is not None and r and d]
            summary["psi_over_ramm_from_detection_median"] = (
                statistics.median(p / d for p, d in since) if since else None)
            key = start if start == "roomy" else f"{start}_{above}"
            result["latency"]["starts"][key] = summary
            where = ("idle machine" if start == "roomy"
                     else f"{above} KiB above krammmd's mark")
            if g["void"]:
                where += f" ({g['void']} more void)"
            cell = lambda s, spec: (f"{s['fired']}/{n}", latency_cell(s["median"], spec),
                                    latency_cell(s["p99"], spec))
            times = lambda x: "–" if x is None else f"{x:.{0 if x >= 10 else 1}f}×"
            rows.append([where, *cell(summary["ramm_ms"], ".1f"), *cell(summary["psi_ms"], ".1f"),
                         latency_cell(summary["psi_fired_median_ms"], ".1f"),
                         times(summary["psi_over_ramm_median"]),
                         latency_cell(summary["detect_ms"]["median"], ".2f"),
                         latency_cell(summary["detect_ms"]["p99"], ".2f"),
                         times(summary["psi_over_ramm_from_detection_median"])])
        md += ["## 2. Notification latency", "",
               "From the start of an allocation burst to the participant woken, RAMM's fd "
               f"and a PSI trigger `{result['latency']['psi_trigger']}` polled by the same "
               "process in the same boot (`userspace/bench/latency.cpp`), booted with QEMU "
               "`-icount shift=0,sleep=off` and one CPU: the guest clock counts executed "
               "instructions, one nanosecond each, so the burst's page faults take what they "
               "cost in instructions rather than what emulating them costs, and a run "
               "repeats.  The burst starts "
               "either on an idle machine, or on one an unkillable filler has already taken "
               "to just above krammmd's mark (where a memory-tight machine runs).  \"fired\": "
               "the bursts in which the channel woke at all (until 2 s after the OOM killer "
               "ended the burst); medians and p99 count a burst in which it never woke as "
               "later than any other (\"never\" if that decides it).  With 20 bursts, p99 is "
               "the worst.  A burst is void, and left out, when krammmd saw the shortfall "
               "before it began (free memory drifted below the mark after the filler "
               "stopped).", "",
               markdown_table(["burst starts on", "RAMM fired", "RAMM median", "RAMM p99",
                               "PSI fired", "PSI median", "PSI p99", "PSI median where it fired",
                               "PSI ÷ RAMM in those bursts (median)",
                               "RAMM from detection, median", "p99",
                               "PSI ÷ RAMM from detection (median)"], rows),
               "", "On the idle machine most of both is the burst using up free memory.  "
               "From a tight start RAMM's time is the burst allocating the distance to the "
               "mark plus krammmd's own part (\"from detection\": from the kernel seeing "
               "the shortfall, the ask's `detected_ns`, to the participant reading the ask).  "
               "The last column compares the two channels from that same moment, PSI's time "
               "less the burst's time to the mark.  PSI's cannot be shorter than its 10 ms of "
               "stall, which begins only when free memory reaches kswapd's low watermark; "
               "a burst may be OOM-killed before it stalls that long.", ""]

    # 2b. who is asked first
    order = [r for r in records if r.get("kind") == "order"]
    if order:
        result["order"] = order
        result["order_summary"] = {
            "runs": len(order),
            "min_share_no_dearer": min(r["share_no_dearer"] for r in order),
            "oom_kills": sum(r["oom_kills"] for r in order)}
        rows = [[f"{r['procs']} × {r['ranges']} × {r['range_mib']} MiB", r["seed"],
                 f"{r['asked_bytes'] / MIB:.1f} MiB", r["ranges_asked"],
                 r["dearest_asked_price"],
                 "none" if r["cheapest_unasked_price"] is None else r["cheapest_unasked_price"],
                 f"**{r['share_no_dearer']:.4f}**",
                 "yes" if r["hog_ok"] else "no", r["oom_kills"]] for r in order]
        md += ["## 2b. Who is asked: cheapest first, across processes", "",
               "P participants each hold R discardable ranges; the P × R prices (100, 110, "
               "...) are distinct and dealt out at random (seed), so the cheapest ranges are "
               "spread over every participant.  Each answers every ask at once.  An unpriced "
               "hog takes what is available plus a quarter of the priced memory "
               "(`userspace/bench/order.cpp`, under `-icount`).  Each participant reports the "
               "asks it received, range by range; the share is of the pages asked for, those "
               "from ranges no dearer than the cheapest range never asked (issue 4's measure; "
               "its goal is at least 0.99).  More is asked than the hog's excess: krammmd "
               "restores its headroom too.", "",
               markdown_table(["participants × ranges × size", "seed", "asked for",
                               "ranges asked", "dearest asked", "cheapest unasked",
                               "share no dearer", "hog got its memory", "OOM kills"], rows),
               ""]

    # 3. cost for everyone else
    micro = {r["label"]: r for r in records if r.get("kind") == "micro"}
    if micro:
        result["micro"] = micro
        # (column, run, the stock run it is compared with)
        columns = [("stock 6.1", "stock", None), ("RAMM, nothing priced", "ramm", "stock"),
                   ("stock 6.1, second run", "stock-again", None),
                   ("RAMM, second run", "ramm-again", "stock-again"),
                   ("RAMM, a priced range exists", "ramm-priced", "stock-again")]
        columns = [c for c in columns if c[1] in micro]
        rows = []
        for key, label in (("mmap_munmap_ns", "mmap + munmap (1 page)"),
                           ("page_fault_ns", "anonymous page fault"),
                           ("fork_ns", "fork + exit + wait")):
            row = [label]
            for _, name, base in columns:
                r = micro[name]
                ratio = f" ({r[key] / micro[base][key]:.4f}×)" if base in micro else ""
                row.append(f"{r[key]:.0f} ns{ratio}")
            rows.append(row)
        md += ["## 3. Cost for everyone else", "",
               "Guests booted with QEMU `-icount shift=0,sleep=off`: the guest clock counts "
               "executed instructions, so these repeat exactly and the ratio is the extra "
               "work (`userspace/bench/micro.cpp`, best of 5).  Each boot runs the set twice, "
               "and the second run of a boot differs from the first, so a RAMM run is compared "
               "with the stock run of the same rank.  \"A priced range exists\": the program "
               "first maps one priced page, so the hooks' static key is on.", "",
               markdown_table(["operation"] + [c[0] for c in columns], rows), ""]
    nops = os.path.join(in_dir, "nops.txt")
    if os.path.exists(nops):
        with open(nops) as f:
            text = f.read().rstrip()
        result["hook_sites"] = text.count("\n") + 1 if text else 0
        md += ["The hooks while no priced range exists, from the RAMM kernel's `vmlinux`: "
               "every site that tests the `ramm_in_use` static key (from `__jump_table`) "
               "and the instruction there.  A 5- or 2-byte NOP falls through; "
               "`static_branch_enable()` patches it into a jump when the first price "
               "is set.", "", "```", text, "```", ""]

    # 4. scale
    scale = sorted((r for r in records if r.get("kind") == "scale"),
                   key=lambda r: (r.get("unpriced", 0), r["procs"], r["ranges"]))
    if scale:
        result["scale"] = scale
        md += ["## 4. Scale: choosing the range to ask", "",
               "P participants hold N one-page priced ranges between them; a bait range is "
               "the cheapest, and a burst makes krammmd ask.  `select_ns / selections` from "
               "`/sys/kernel/mm/ramm/` (`userspace/bench/scale.cpp`), in a guest under "
               "`-icount` (one CPU), so a search's time is the instructions it executes.  "
               "Each search walks "
               "every participant's list of priced VMAs: cost grows linearly with priced "
               "ranges.  Rows with unpriced VMAs add that many one-page unpriced mappings "
               "to the same processes: a search must not visit them, so the cost should "
               "match the row without.", "",
               markdown_table(["ranges", "processes", "unpriced VMAs", "searches", "µs per search"],
                              [[r["ranges"], r["procs"], r.get("unpriced", 0), r["selections"],
                                f"{r['per_search_us']:.1f}"] for r in scale]),
               ""]
        # The same case with and without unpriced VMAs, side by side.
        for r in scale:
            if r.get("unpriced", 0) == 0:
                continue
            base = next((b for b in scale if b.get("unpriced", 0) == 0 and
                         b["ranges"] == r["ranges"] and b["procs"] == r["procs"]), None)
            if base and base["per_search_us"] > 0 and r["per_search_us"] > 0:
                ratio = r["per_search_us"] / base["per_search_us"]
                result.setdefault("unpriced_ratio", []).append(
                    {"ranges": r["ranges"], "procs": r["procs"],
                     "unpriced": r["unpriced"], "ratio": round(ratio, 3)})
                md += [f"With {r['unpriced']} unpriced VMAs besides {r['ranges']} priced ranges "
                       f"in {r['procs']} processes, a search costs **{ratio:.2f}×** what it "
                       "costs without them.", ""]
        with open(os.path.join(out_dir, "scale.dat"), "w") as f:
            for procs in sorted({r["procs"] for r in scale}):
                for r in scale:
                    if r["procs"] == procs and r["per_search_us"] > 0 and \
                            not r.get("unpriced", 0):
                        f.write(f"{r['ranges']} {r['per_search_us']}\n")
                f.write("\n\n")
        # A line needs two sizes (the smoke run has one).
        plot_scale = len({r["ranges"] for r in scale if not r.get("unpriced", 0)}) >= 2
        plots = ", ".join(f"'scale.dat' index {i} with linespoints lw 2 title '{p} processes'"
                          for i, p in enumerate(sorted({r['procs'] for r in scale})))
        if plot_scale:
            gnuplot("set terminal pngcairo size 700,450 noenhanced\nset output 'scale.png'\nset logscale xy\n"
                    "set xlabel 'priced ranges'\nset ylabel 'µs per search'\nset key top left\n"
                    f"set title 'krammmd: cost of choosing the next range'\nplot {plots}\n", out_dir)
            md += ["![scale](scale.png)", ""]
        os.remove(os.path.join(out_dir, "scale.dat"))

    # 5. allocator
    alloc = sorted((r for r in records if r.get("kind") == "alloc"), key=lambda r: r["threads"])
    if alloc:
        result["alloc"] = alloc
        md += ["## 5. Allocator: libramm's Arena against glibc malloc", "",
               "Random 16–512 B objects, a window of 4096 live per thread, one free and one "
               "allocation per operation, best of 3 (`userspace/bench/alloc.cpp`, on the "
               "host).  The goal is libramm within 1.5× of glibc's time.", "",
               markdown_table(["threads", "glibc malloc", "libramm Arena", "libramm time / glibc time"],
                              [[r["threads"], f"{r['glibc_mops']:.1f} Mops/s",
                                f"{r['libramm_mops']:.1f} Mops/s",
                                f"{r['glibc_mops'] / r['libramm_mops']:.2f}×"] for r in alloc]), ""]

    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        # JSON has no infinity: a channel that never woke is "never".
        json.dump(never_for_infinity(result), f, indent=1, sort_keys=True)
        f.write("\n")
    print("\n".join(md))


def main(argv):
    if len(argv) == 4 and argv[1] == "demo":
        demo(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "balloon":
        balloon(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "bench":
        opts = dict(zip(argv[4::2], argv[5::2]))
        bench(argv[2], argv[3], opts.get("--machine", "an unnamed machine"),
              opts.get("--command", "make bench"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
