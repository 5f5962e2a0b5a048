"""The benchmark report: the yardsticks (the Redis floor, the targets, the reference figures) and
the rendering of one run's figures into benchmarks.md, benchmarks-reading.md and the chart.

Used by run.py; everything here reads the figures of one run and nothing else. The judging rules
carry their own examples: `python3 -m doctest tools/bench/report.py`.
"""
import math
import os
import re
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
READING_TEMPLATE = os.path.join(HERE, "benchmarks-reading.md.in")

# Each figure of a full report is the median of at least this many repetitions (run.py refuses a
# full report otherwise; --quick runs each workload once).
MIN_REPS = 5

# The Redis floor, defined here once: every "x PING" ratio and every floor target divides by the
# median of this figure, measured by run.py's redis_floor().
FLOOR = ("redis_ping_cycle", "redis-floor", "ms")
FLOOR_DEFINITION = (
    "the Redis PING round trip: 1 / the requests per second of `redis-benchmark -t ping -c 1` "
    "(one client, back-to-back requests; --csv) against a private redis-server on a Unix socket, "
    "the full cycle of one request, timed as our figures are (elapsed / count)")
# Reported beside the floor, never divided by: redis-benchmark's own average latency of the same
# runs, which leaves out the client's event loop between requests.
FLOOR_LATENCY = ("redis_ping_rtt", "redis-floor", "ms")
FLOOR_PIPELINED = ("redis_ping_pipelined", "redis-floor", "ops/s")

# Lithops Python (localhost backend, same Redis) measured on a machine of this kind; not run here.
# Source: the reference figures given in the project's issues 3, 5 and 9 (2 vCPU, Debian 12,
# redis-server 7.0.15): workload -> (value, unit). Each key is a workload run.py measures; run.py
# fails a run in which one of them matches no row.
LITHOPS_PYTHON_REFERENCE = {
    "process_start_join": (311.0, "ms"),
    "pool_map_1000": (119000.0, "ms"),
    "queue_roundtrip_child": (0.142, "ms"),
    "pipe_roundtrip_child": (0.133, "ms"),
    "lock_acquire_release": (0.134, "ms"),
    "value_increment_locked": (0.261, "ms"),
    "manager_dict_set_get": (0.151, "ms"),
}

# Targets of the feature issues: (workload, contender, unit, kind, goal, label)
#   kind "floor":   ours <= goal x the floor
#   kind "cpython": ours <= goal x CPython fork (times) / >= goal x CPython fork (rates)
#   kind "abs_min": ours >= goal (in the figure's unit)
TARGETS = [
    ("queue_roundtrip_child", "lithops-cpp", "us", "floor", 2.2, "#3 Queue round trip"),
    ("queue_stream_100B", "lithops-cpp", "items/s", "cpython", 1.0,
     "#3 Queue streaming throughput (100 B)"),
    ("lock_acquire_release", "lithops-cpp", "us", "floor", 2.2, "#3 Lock acquire+release"),
    ("value_increment_atomic", "lithops-cpp", "us", "floor", 1.2, "#3 atomic Value increment"),
    ("pipe_roundtrip_child", "lithops-cpp/nanomsg", "us", "cpython", 1.2,
     "#4 nanomsg Pipe round trip"),
    ("pipe_roundtrip_child", "lithops-cpp/redislist", "us", "floor", 2.2,
     "#4 redislist Pipe round trip"),
    ("pipe_stream_4MiB", "lithops-cpp/nanomsg", "MB/s", "abs_min", 500.0,
     "#4 nanomsg 4 MiB throughput"),
    ("process_start_join", "lithops-cpp", "ms", "cpython", 0.5, "#5 Process start->join (warm)"),
    ("pool_map_1000", "lithops-cpp", "ms", "cpython", 2.0, "#5 Pool.map 1,000 trivial (warm)"),
    ("pool_map_1000_with_creation", "lithops-cpp", "ms", "cpython", 1.0,
     "#5 Pool.map 1,000 incl. Pool creation"),
    ("pool_map_100x10ms", "lithops-cpp", "ms", "cpython", 1.1, "#5 Pool.map 100 x 10 ms CPU"),
    ("manager_dict_set_get", "lithops-cpp", "ms", "floor", 2.2, "#6 Manager dict set+get"),
    ("shm_read_16MiB", "lithops-cpp", "MB/s", "abs_min", 1000.0, "#6 SharedMemory 16 MiB reads"),
]

THROUGHPUT_UNITS = ("ops/s", "msg/s", "items/s", "MB/s", "invocations/s")
TO_MS = {"ms": 1.0, "us": 1e-3}


def higher_is_better(unit):
    return unit in THROUGHPUT_UNITS


def index(results):
    return {(r["workload"], r["contender"], r["unit"]): r for r in results}


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, dict):
        return f"{fmt(v['median'])} ({fmt(v['min'])}–{fmt(v['max'])})"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def ratio(ours, base, scale=1.0):
    """ours / base (scale converts ours to base's unit): the medians' ratio and its range, which
    pairs the extremes (ours' min over base's max, ours' max over base's min), or None.

    >>> ratio({"median": 100, "min": 90, "max": 120}, {"median": 0.05, "min": 0.045, "max": 0.06},
    ...       1e-3) == {"median": 2.0, "min": 1.5, "max": 120 / 45}
    True
    """
    if not ours or not base or not base["median"] or not base["min"]:
        return None
    return {"median": ours["median"] * scale / base["median"],
            "min": ours["min"] * scale / base["max"],
            "max": ours["max"] * scale / base["min"]}


def vs_floor(r, floor):
    return ratio(r, floor, TO_MS[r["unit"]]) if r["unit"] in TO_MS else None


def judge(value, goal, higher):
    """A target is met when the median meets it; "noisy" when the range straddles the goal.

    >>> judge({"median": 2.0, "min": 1.9, "max": 2.1}, 2.2, False)
    'met'
    >>> judge({"median": 2.1, "min": 1.9, "max": 2.3}, 2.2, False)
    'met (noisy)'
    >>> judge({"median": 2.3, "min": 2.1, "max": 2.4}, 2.2, False)
    'not met (noisy)'
    >>> judge({"median": 2.3, "min": 2.2, "max": 2.4}, 2.2, False)
    'not met (noisy)'
    >>> judge({"median": 1.0, "min": 0.9, "max": 1.0}, 1.0, False)
    'met'
    >>> judge({"median": 0.9, "min": 0.8, "max": 1.1}, 1.0, True)
    'not met (noisy)'
    >>> judge({"median": 1.2, "min": 1.0, "max": 1.3}, 1.0, True)
    'met'
    """
    if higher:
        met, noisy = value["median"] >= goal, value["min"] < goal <= value["max"]
    else:
        met, noisy = value["median"] <= goal, value["min"] <= goal < value["max"]
    return ("met" if met else "not met") + (" (noisy)" if noisy else "")


def reference(workload, unit):
    ref = LITHOPS_PYTHON_REFERENCE.get(workload)
    if ref is None or unit not in TO_MS or ref[1] not in TO_MS:
        return None
    return ref[0] * TO_MS[ref[1]] / TO_MS[unit]


def workload_rows(by):
    floor = by.get(FLOOR)
    rows = []
    for (w, contender, unit), r in sorted(by.items()):
        if not contender.startswith("lithops-cpp") or unit == "x":  # "x": ratios of old runs
            continue
        fork = by.get((w, "cpython-fork", unit))
        rows.append({"workload": w, "contender": contender, "unit": unit, "ours": r,
                     "fork": fork, "spawn": by.get((w, "cpython-spawn", unit)),
                     "ref": reference(w, unit), "vs_fork": ratio(r, fork),
                     "vs_floor": vs_floor(r, floor)})
    return rows


def target_rows(by):
    """(label, figure, judged, goal, status, x CPython fork) per target."""
    floor = by.get(FLOOR)
    rows = []
    for workload, contender, unit, kind, goal, label in TARGETS:
        r = by.get((workload, contender, unit))
        if r is None:
            rows.append((label, "not measured", "—", "—", "not met (not measured)", "—"))
            continue
        fork = by.get((workload, "cpython-fork", unit))
        vs_fork = ratio(r, fork)
        cpython = f"{fmt(vs_fork['median'])} (CPython fork {fmt(fork['median'])} {unit})" \
            if vs_fork else "—"
        higher = higher_is_better(unit)
        sign = ">=" if higher else "<="
        if kind == "floor":
            value, base = vs_floor(r, floor), "PING"
        elif kind == "cpython":
            value, base = vs_fork, "CPython fork"
        else:
            value, base = r, unit
        if value is None:
            rows.append((label, f"{fmt(r)} {unit}", f"{base}: not measured",
                         f"{sign} {goal} x {base}", "not met (no baseline)", cpython))
            continue
        judged = f"{fmt(value)} {unit}" if kind == "abs_min" else f"{fmt(value)} x {base}"
        goal_text = f"{sign} {goal:g} {unit}" if kind == "abs_min" else f"{sign} {goal:g} x {base}"
        rows.append((label, f"{fmt(r)} {unit}", judged, goal_text, judge(value, goal, higher),
                     cpython))
    return rows


def rep_counts(results):
    counts = [r.get("reps") for r in results]
    if any(c is None for c in counts):
        return None
    return min(counts), max(counts)


class Template:
    """Fills the placeholders of benchmarks-reading.md.in from one run's figures.

        {{v W C U}}      the median of figure (workload W, contender C, unit U), with its unit
        {{r W C U}}      the same with its min–max
        {{fork W C U}}   ours / CPython fork, medians ("0.95x")
        {{spawn W C U}}  ours / CPython spawn, medians
        {{ping W C U}}   ours / the Redis floor, medians ("1.54x")
        {{ratio W C U / W2 C2 U2}}   one figure's median over another's
        {{floor}} {{floor_latency}}  the floor and redis-benchmark's average latency, in us
        {{ref W U}}      the Lithops Python reference figure of W, in unit U (ms or us)
    """
    PLACEHOLDER = re.compile(r"\{\{(\w+)((?: [^{}]+)?)\}\}")

    def __init__(self, by):
        self.by, self.missing = by, []

    def figure(self, key):
        r = self.by.get(key)
        if r is None:
            self.missing.append(" ".join(key))
        return r

    def times(self, ours, base, scale=1.0):
        v = ratio(ours, base, scale)
        return f"{fmt(v['median'])}x" if v else "n/a"

    @staticmethod
    def key(m, args):
        """workload contender unit (a unit may hold a space: "us CPU")."""
        if len(args) < 3:
            raise ValueError(f"placeholder {m.group(0)}: expected workload contender unit")
        return args[0], args[1], " ".join(args[2:])

    def fill(self, text):
        return self.PLACEHOLDER.sub(self.one, text)

    def one(self, m):
        op, args = m.group(1), m.group(2).split()
        if op in ("floor", "floor_latency"):
            r = self.figure(FLOOR if op == "floor" else FLOOR_LATENCY)
            return f"{fmt(r['median'] * 1000)} us" if r else "n/a"
        if op == "ref":
            return f"{fmt(reference(args[0], args[1]))} {args[1]}"
        if op == "ratio":
            split = args.index("/")
            return self.times(self.figure(self.key(m, args[:split])),
                              self.figure(self.key(m, args[split + 1:])))
        key = self.key(m, args)
        r = self.figure(key)
        if op == "v":
            return f"{fmt(r['median'])} {key[2]}" if r else "n/a"
        if op == "r":
            return f"{fmt(r)} {key[2]}" if r else "n/a"
        if op in ("fork", "spawn"):
            return self.times(r, self.figure((key[0], "cpython-" + op, key[2])))
        if op == "ping":
            floor = self.figure(FLOOR)
            return self.times(r, floor, TO_MS[key[2]]) if key[2] in TO_MS else "n/a"
        raise ValueError(f"unknown placeholder {m.group(0)}")


def rewrap(text, width=100):
    """Re-wraps each paragraph and list item (filled placeholders change line lengths)."""
    blocks, out = re.split(r"\n\s*\n", text.strip()), []
    for block in blocks:
        if block.startswith("#"):
            out.append(block)
            continue
        items = re.split(r"\n(?=- )", block)
        out.append("\n".join(
            textwrap.fill(" ".join(item.split()), width, subsequent_indent="  " if
                          item.startswith("- ") else "", break_on_hyphens=False)
            for item in items))
    return "\n\n".join(out) + "\n"


def reading(by):
    """benchmarks-reading.md filled from this run; returns (text, figures it could not find)."""
    with open(READING_TEMPLATE) as f:
        template = Template(by)
        text = rewrap(template.fill(f.read()))
    return text, sorted(set(template.missing))


def chart(rows, path):
    """A horizontal bar chart of ours / CPython fork (log scale; 1 = parity), with min–max."""
    seen, items = set(), []
    for r in rows:
        key = (r["workload"], r["contender"])
        if r["vs_fork"] and key not in seen:
            seen.add(key)
            items.append((f"{r['workload']} [{r['contender'].replace('lithops-cpp', 'ours')}, "
                          f"{r['unit']}]", r["vs_fork"], r["unit"]))
    width, left, bar_h, top = 1000, 400, 18, 50
    height = top + bar_h * len(items) + 85
    lo, hi = -2.0, 4.0  # log10 range: 0.01x .. 10,000x
    plot_w = width - left - 30

    def x(v):
        lv = min(hi, max(lo, math.log10(v)))
        return left + (lv - lo) / (hi - lo) * plot_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">Lithops C++ / CPython '
           'multiprocessing (fork), same run — left of 1 is faster (latency), right of 1 is more '
           '(throughput)</text>']
    for i, (label, v, unit) in enumerate(items):
        y = top + i * bar_h
        med = v["median"]
        good = (med >= 1) if higher_is_better(unit) else (med <= 1)
        colour = "#2ca02c" if good else "#d62728"
        x0, x1 = sorted((x(1.0), x(med)))
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" '
                   f'height="{bar_h - 4}" fill="{colour}"/>')
        out.append(f'<line x1="{x(v["min"]):.1f}" y1="{y + bar_h / 2}" x2="{x(v["max"]):.1f}" '
                   f'y2="{y + bar_h / 2}" stroke="black"/>')
        out.append(f'<text x="{min(max(x1, x(v["max"])) + 4, width - 60):.1f}" y="{y + 13}">'
                   f'{med:.3g}x</text>')
    axis_y = top + bar_h * len(items) + 5
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="black"/>')
    for p in range(int(lo), int(hi) + 1):
        xx = x(10 ** p)
        out.append(f'<line x1="{xx:.1f}" y1="{top - 5}" x2="{xx:.1f}" y2="{axis_y + 5}" '
                   f'stroke="{"black" if p == 0 else "#cccccc"}"/>')
        out.append(f'<text x="{xx:.1f}" y="{axis_y + 20}" text-anchor="middle">{10.0 ** p:g}x</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{axis_y + 40}" text-anchor="middle">ratio of the '
               'medians to CPython fork (log scale); line: the ratio\'s min–max range</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{axis_y + 56}" text-anchor="middle">green = '
               'better than CPython, red = worse</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def markdown(results, info, command, quick, errors, reading_text):
    by = index(results)
    floor, latency, pipelined = by.get(FLOOR), by.get(FLOOR_LATENCY), by.get(FLOOR_PIPELINED)
    counts = rep_counts(results)
    if quick:
        how = (" in --quick mode: each workload once at small sizes, a smoke test, not a "
               "measurement")
    elif counts:
        how = (f". Each figure is the median of its repetitions, with (min–max): {counts[0]}–"
               f"{counts[1]} repetitions per figure in this run (run.py refuses fewer than "
               f"{MIN_REPS})")
    else:
        how = ". Repetition counts were not recorded in this run's JSON"
    lines = ["# Benchmarks", "",
             f"Generated by `tools/bench/run.py`{how}.", "",
             f"- Command: `{command}`",
             f"- Machine: {info['cores']} cores, {info['cpu']}, Linux {info['kernel']}"
             + (f"; load average {info['load']} at the start of the run" if info.get("load") else ""),
             f"- Versions: {info['compiler']}; {info['redis']}; Python {info['python']}; "
             f"commit {info['commit']}; {info['date']}"
             + (f"; the run took {info['duration_min']:.1f} min" if info.get("duration_min") else ""),
             "",
             "## The floor", "",
             f"**{fmt(floor['median'] * 1000) if floor else 'not measured'} us**"
             + (f" ({fmt(floor['min'] * 1000)}–{fmt(floor['max'] * 1000)})" if floor else "")
             + f", {FLOOR_DEFINITION}"
             + (f"; the median of {floor['reps']} redis-benchmark runs of {floor['requests']:,} "
                "requests" if floor and "requests" in floor else "")
             + " (tools/bench/report.py, `FLOOR`). Every \"x PING\" ratio "
             "and every floor target divides by its median. Beside it, from the same "
             "redis-benchmark runs and divided by nothing: its average latency, which leaves out "
             "the client's event loop between requests, "
             f"{fmt(latency['median'] * 1000) + ' us' if latency else 'not measured'}"
             + (f" ({fmt(latency['min'] * 1000)}–{fmt(latency['max'] * 1000)})" if latency else "")
             + f"; pipelined 32 deep: {fmt(pipelined) if pipelined else '—'} PING/s.", "",
             "## Targets of the feature issues", "",
             "A target is met when the median meets it; \"noisy\" when the range straddles the "
             "goal. A ratio's range pairs the extremes: ours' min over the baseline's max, ours' "
             "max over the baseline's min (the floor's, or CPython fork's).", "",
             "| target | Lithops C++ | judged | goal | status | x CPython fork |",
             "|---|---|---|---|---|---|"]
    for row in target_rows(by):
        if quick:  # one repetition at small sizes judges nothing
            row = row[:4] + ("not judged (--quick)",) + row[5:]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "CPython has no atomic Value increment: its `value_increment_atomic` is a "
              "`RawValue` increment (not safe across processes), for scale only.", "",
              "## Every workload", "",
              "Ratios are of the medians: ours / CPython fork (below 1 is faster for times, above "
              "1 is more for rates) and ours / the floor for latencies.", "",
              "| workload | contender | unit | Lithops C++ | CPython fork | CPython spawn | "
              "Lithops Python (reference) | x CPython fork | x PING |",
              "|---|---|---|---|---|---|---|---|---|"]
    rows = workload_rows(by)
    for r in rows:
        lines.append(f"| {r['workload']} | {r['contender']} | {r['unit']} | {fmt(r['ours'])} | "
                     f"{fmt(r['fork'])} | {fmt(r['spawn'])} | {fmt(r['ref'])} | "
                     f"{fmt(r['vs_fork'] and r['vs_fork']['median'])} | "
                     f"{fmt(r['vs_floor'] and r['vs_floor']['median'])} |")
    lines += ["", "The \"Lithops Python (reference)\" column is fixed: figures measured on a machine "
              "of this kind (2 vCPU, Debian 12, redis-server 7.0.15) and given in the project's "
              "issues 3, 5 and 9 (the Pipe figure, of a transport not stated there, is shown beside "
              "both); the suite does not run Lithops Python.", "",
              "`benchmarks.json` also holds each program's own client PING (`redis_ping`, "
              "contender `redis`) and raw Redis loops (`redis-raw`), diagnostics no ratio uses.", "",
              "![ratios](benchmarks-ratios.svg)", ""]
    if errors:
        lines += ["## Problems of this run", ""] + [f"- {e}" for e in errors] + [""]
    if reading_text:
        lines += [reading_text.strip(), ""]
    return "\n".join(lines), rows
