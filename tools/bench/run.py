#!/usr/bin/env python3
"""The benchmark suite: every workload for every contender in one run, and the report.

    tools/bench/run.py [--quick] [--build-dir DIR] [--out DIR] [--no-build] [--only NAME]

Contenders, all measured in the same run on the same machine:
  - the floor: Redis PING round trip and pipelined throughput (redis-benchmark from Debian's
    redis-tools, one client, on a Unix socket like the project's private server). The round trip
    is 1 / requests per second (the full cycle of back-to-back requests, timed as our figures
    are); redis-benchmark's average latency, which leaves out its loop, is reported beside it;
  - CPython multiprocessing (Debian's python3), fork and spawn start methods
    (tools/bench/python/*_baseline.py);
  - Lithops C++ on the localhost executor (every tools/bench/bench_* program; the pipe
    benchmarks cover both transports).

Without --no-build it configures and builds the `release` preset first. It writes
OUT/benchmarks.md, OUT/benchmarks.json and OUT/benchmarks-ratios.svg (OUT defaults to docs/).
--quick runs every workload once at small sizes (a smoke test: it checks that every workload runs,
not how fast) and, unless --out is given, writes to a temporary directory.
--only NAME (repeatable) runs only the programs bench_NAME and the baselines NAME_baseline.py
(e.g. --only sync for Lock/Value/Barrier), next to the Redis floor; like --quick it writes to a
temporary directory unless --out is given, so a partial run never replaces docs/benchmarks.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_DIR = os.path.join(ROOT, "tools", "bench", "python")
# Debian's python3 (the CPython a Debian user compares against), else whatever python3 runs this.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Lithops Python (localhost backend, same Redis) measured on a machine of this kind; not run here.
# Source: the reference figures given in the project's issues 3, 5 and 9 (2 vCPU, Debian 12,
# redis-server 7.0.15).
LITHOPS_PYTHON_REFERENCE_MS = {
    "process_start_join": 311.0,
    "pool_map_1000": 119000.0,
    "queue_roundtrip": 0.142,
    "pipe_roundtrip": 0.133,
    "lock_acquire_release": 0.134,
    "value_increment_locked": 0.261,
    "manager_dict_set_get": 0.151,
}

# Targets of the feature issues: (workload, contender, baseline, kind, factor, issue)
#   kind "floor": ours <= factor x Redis PING round trip
#   kind "cpython": ours <= factor x CPython fork (latency) / >= factor x CPython (throughput)
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


def higher_is_better(unit):
    return unit in THROUGHPUT_UNITS


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(cmd):
        try:
            return sh(cmd).splitlines()[0].strip()
        except Exception:  # noqa: BLE001 - a missing tool is reported as such
            return "not found"

    commit = "unknown"
    try:
        commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    except Exception:  # noqa: BLE001
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "compiler": version(["c++", "--version"]),
        "redis": version(["redis-server", "--version"]),
        "python": sys.version.split()[0],
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def redis_floor(quick):
    """PING round trip (one client) and pipelined throughput from redis-benchmark."""
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        raise SystemExit("redis-benchmark / redis-server missing: apt-get install redis-tools redis-server")
    tmp = tempfile.mkdtemp(prefix="lithops-bench-redis-")
    sock = os.path.join(tmp, "redis.sock")
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                               "--save", "", "--appendonly", "no", "--daemonize", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        n = "2000" if quick else "50000"
        reps = 1 if quick else 5
        rtts, cycles, pipelined = [], [], []
        for _ in range(reps):
            out = sh(["redis-benchmark", "-s", sock, "-t", "ping", "-n", n, "-c", "1", "--csv"])
            rows = [r.replace('"', "").split(",") for r in out.strip().splitlines()]
            header, first = rows[0], rows[1]
            rtts.append(float(first[header.index("avg_latency_ms")]))
            # One client, back to back: a request every 1/rps, the same full cycle our figures
            # time (elapsed / count). avg_latency leaves out the client's loop between requests.
            cycles.append(1000.0 / float(first[header.index("rps")]))
            out = sh(["redis-benchmark", "-s", sock, "-t", "ping", "-n", str(int(n) * 10),
                      "-c", "1", "-P", "32", "--csv"])
            rows = [r.replace('"', "").split(",") for r in out.strip().splitlines()]
            pipelined.append(float(rows[1][rows[0].index("rps")]))
        return [fig("redis_ping_cycle", "redis-floor", "ms", cycles),
                fig("redis_ping_rtt", "redis-floor", "ms", rtts),
                fig("redis_ping_pipelined", "redis-floor", "ops/s", pipelined)]
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def fig(workload, contender, unit, values):
    values = sorted(values)
    return {"workload": workload, "contender": contender, "unit": unit,
            "median": statistics.median(values), "min": values[0], "max": values[-1]}


def run_lines(cmd, timeout):
    """Runs a benchmark program; returns its JSON lines. Raises on failure."""
    started = time.time()
    proc = subprocess.run(cmd, text=True, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    figures = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            figures.append(json.loads(line))
    if not figures:
        raise RuntimeError(f"{' '.join(cmd)} printed no figures:\n{proc.stdout[-2000:]}")
    print(f"  {' '.join(os.path.basename(c) for c in cmd[:4])}: "
          f"{len(figures)} figures in {time.time() - started:.1f} s", flush=True)
    return figures


def ping_floor(by):
    """The PING round trip ratios are taken against: the full request cycle (1/rps of one
    client), or redis-benchmark's average latency in results from before the cycle was kept."""
    return by.get(("redis_ping_cycle", "redis-floor", "ms")) or by.get(
        ("redis_ping_rtt", "redis-floor", "ms"))


def ratio_rows(results):
    by = {}
    for r in results:
        by[(r["workload"], r["contender"], r["unit"])] = r
    floor = ping_floor(by)
    rows = []
    for (w, contender, unit), r in sorted(by.items()):
        if not contender.startswith("lithops-cpp") or unit == "x":
            continue
        if True:
            fork = by.get((w, "cpython-fork", unit))
            spawn = by.get((w, "cpython-spawn", unit))
            row = {"workload": w, "contender": contender, "unit": r["unit"], "ours": r,
                   "fork": fork, "spawn": spawn,
                   "vs_fork": r["median"] / fork["median"] if fork and fork["median"] else None,
                   "vs_floor": None}
            if floor and r["unit"] in ("ms", "us") and not higher_is_better(r["unit"]):
                ours_ms = r["median"] / (1000.0 if r["unit"] == "us" else 1.0)
                row["vs_floor"] = ours_ms / floor["median"]
            rows.append(row)
    return rows, by


def fmt(v, unit=None):
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


def target_rows(by):
    floor = ping_floor(by)
    rows = []
    for workload, contender, unit, kind, factor, label in TARGETS:
        r = by.get((workload, contender, unit))
        if r is None:
            rows.append((label, "not measured", "—", "—"))
            continue
        unit = r["unit"]
        if kind == "floor":
            ours_ms = r["median"] / (1000.0 if unit == "us" else 1.0)
            value = ours_ms / floor["median"] if floor else None
            met = value is not None and value <= factor
            rows.append((label, f"{fmt(r['median'])} {unit} = {fmt(value)} x PING",
                         f"<= {factor} x PING", "met" if met else "not met"))
        elif kind == "cpython":
            fork = by.get((workload, "cpython-fork", unit))
            if fork is None:
                rows.append((label, f"{fmt(r['median'])} {unit}", f"vs CPython: not measured", "—"))
                continue
            value = r["median"] / fork["median"]
            if higher_is_better(unit):
                met = value >= factor
                target = f">= {factor} x CPython fork"
            else:
                met = value <= factor
                target = f"<= {factor} x CPython fork"
            rows.append((label, f"{fmt(r['median'])} {unit} = {fmt(value)} x CPython fork ({fmt(fork['median'])})",
                         target, "met" if met else "not met"))
        else:  # absolute MB/s
            met = r["median"] >= factor
            rows.append((label, f"{fmt(r['median'])} {unit}", f">= {factor} {unit}",
                         "met" if met else "not met"))
    return rows


def chart(rows, path):
    """A horizontal bar chart of ours / CPython fork (log scale; 1 = parity)."""
    import math
    # One bar per workload and contender (msg/s and MB/s of one stream give the same ratio).
    seen, items = set(), []
    for r in rows:
        key = (r["workload"], r["contender"])
        if r["vs_fork"] and key not in seen:
            seen.add(key)
            items.append((f"{r['workload']} [{r['contender'].replace('lithops-cpp', 'ours')}, "
                          f"{r['unit']}]", r["vs_fork"], r["unit"]))
    width, left, bar_h, top = 1000, 400, 18, 50
    height = top + bar_h * len(items) + 70
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
        good = (v >= 1) if higher_is_better(unit) else (v <= 1)
        colour = "#2ca02c" if good else "#d62728"
        x0, x1 = sorted((x(1.0), x(v)))
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(1.0, x1 - x0):.1f}" '
                   f'height="{bar_h - 4}" fill="{colour}"/>')
        out.append(f'<text x="{min(x1 + 4, width - 60):.1f}" y="{y + 13}">{v:.3g}x</text>')
    axis_y = top + bar_h * len(items) + 5
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="black"/>')
    for p in range(int(lo), int(hi) + 1):
        xx = x(10 ** p)
        out.append(f'<line x1="{xx:.1f}" y1="{top - 5}" x2="{xx:.1f}" y2="{axis_y + 5}" '
                   f'stroke="{"black" if p == 0 else "#cccccc"}"/>')
        out.append(f'<text x="{xx:.1f}" y="{axis_y + 20}" text-anchor="middle">{10.0 ** p:g}x</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{axis_y + 40}" text-anchor="middle">ratio to '
               'CPython fork (log scale); green = better than CPython, red = worse</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def report(results, info, command, out_dir, quick, errors):
    rows, by = ratio_rows(results)
    floor = ping_floor(by)
    latency = by.get(("redis_ping_rtt", "redis-floor", "ms"))
    pipelined = by.get(("redis_ping_pipelined", "redis-floor", "ops/s"))
    lines = ["# Benchmarks", "",
             "Generated by `tools/bench/run.py`" + (" in --quick mode (one run, small sizes: a "
                                                    "smoke test, not a measurement)" if quick else "")
             + ". Each figure is the median of several repetitions, with (min–max).", "",
             f"- Command: `{command}`",
             f"- Machine: {info['cores']} cores, {info['cpu']}, Linux {info['kernel']}",
             f"- Versions: {info['compiler']}; {info['redis']}; Python {info['python']}; "
             f"commit {info['commit']}; {info['date']}", "",
             "## The floor", "",
             f"Redis PING round trip, one client, Unix socket: **{fmt(floor['median'] * 1000) if floor else '—'} us**"
             f" ({fmt(floor['min'] * 1000) if floor else ''}–{fmt(floor['max'] * 1000) if floor else ''})"
             + (" per request: 1 / redis-benchmark's requests per second with one client, the full "
                "cycle of back-to-back requests, timed as our figures are (elapsed / count). "
                "redis-benchmark's own average latency, which leaves out its event loop between "
                f"requests: {fmt(latency['median'] * 1000)} us. "
                if latency and floor is not latency else "; ")
             + f"Pipelined (32 deep): {fmt(pipelined['median']) if pipelined else '—'} PING/s.", "",
             "## Targets of the feature issues", "",
             "| target | figure | goal | status |", "|---|---|---|---|"]
    for label, figure, goal, status in target_rows(by):
        lines.append(f"| {label} | {figure} | {goal} | {status} |")
    lines += ["", "## Every workload", "",
              "Ratios are ours / CPython fork (below 1 is faster for times, above 1 is more for "
              "rates) and ours / Redis PING round trip for latencies.", "",
              "| workload | contender | unit | Lithops C++ | CPython fork | CPython spawn | "
              "Lithops Python (reference) | x CPython fork | x PING |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = LITHOPS_PYTHON_REFERENCE_MS.get(r["workload"]) if r["unit"] == "ms" else None
        lines.append(f"| {r['workload']} | {r['contender']} | {r['unit']} | {fmt(r['ours'])} | "
                     f"{fmt(r['fork'])} | {fmt(r['spawn'])} | {fmt(ref)} | {fmt(r['vs_fork'])} | "
                     f"{fmt(r['vs_floor'])} |")
    lines += ["", "The \"Lithops Python (reference)\" column is fixed: figures measured on a machine of "
              "this kind (2 vCPU, Debian 12, redis-server 7.0.15) and given in the project's issues; "
              "the suite does not run Lithops Python.", "",
              "![ratios](benchmarks-ratios.svg)", ""]
    if errors:
        lines += ["## Workloads that failed to run", ""] + [f"- {e}" for e in errors] + [""]
    reading = os.path.join(ROOT, "docs", "benchmarks-reading.md")
    if os.path.exists(reading) and not quick:
        with open(reading) as f:
            lines += [f.read().strip(), ""]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out_dir, "benchmarks.json"), "w") as f:
        json.dump({"machine": info, "command": command, "quick": quick, "results": results,
                   "errors": errors}, f, indent=1)
    chart(rows, os.path.join(out_dir, "benchmarks-ratios.svg"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--out")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--from-json", help="only rewrite the report from an earlier benchmarks.json")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only bench_NAME and NAME_baseline.py (repeatable); "
                         "'lambda' is lambda_invoke_bench")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        report(data["results"], data["machine"], data["command"], args.out or os.path.dirname(
            os.path.abspath(args.from_json)), data["quick"], data["errors"])
        return
    out_dir = args.out or (tempfile.mkdtemp(prefix="lithops-bench-") if args.quick or args.only
                           else os.path.join(ROOT, "docs"))
    command = "tools/bench/run.py " + " ".join(a for a in sys.argv[1:])
    if not args.no_build:
        print("== building the release preset", flush=True)
        subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "release"], cwd=ROOT, check=True)
        args.build_dir = os.path.join(ROOT, "build-release")
    bench_dir = os.path.join(args.build_dir, "tools", "bench")
    programs = sorted(os.path.join(bench_dir, p) for p in os.listdir(bench_dir)
                      if p.startswith("bench_") and os.access(os.path.join(bench_dir, p), os.X_OK)
                      and not p.endswith((".cpp", ".o"))
                      and (not args.only or p[len("bench_"):] in args.only))
    # Event invocations into lithops-lambda-emulator (issue #8), built beside the emulator.
    lambda_bench = os.path.join(args.build_dir, "tools", "lambda_emulator", "lambda_invoke_bench")
    if os.access(lambda_bench, os.X_OK) and (not args.only or "lambda" in args.only):
        programs.append(lambda_bench)
    if not programs:
        raise SystemExit(f"no benchmark programs in {bench_dir}; build first")
    timeout = 300 if args.quick else 1800
    results, errors = [], []
    print("== the floor: redis-benchmark", flush=True)
    results += redis_floor(args.quick)
    print("== Lithops C++", flush=True)
    for p in programs:
        try:
            results += run_lines([p] + (["--quick"] if args.quick else []), timeout)
        except Exception as e:  # noqa: BLE001 - reported, and fails the run below
            errors.append(str(e))
    print("== CPython multiprocessing", flush=True)
    for script in sorted(os.listdir(PY_DIR)):
        if not script.endswith("_baseline.py"):
            continue
        if args.only and script[:-len("_baseline.py")] not in args.only:
            continue
        for method in ("fork", "spawn"):
            cmd = [PYTHON, os.path.join(PY_DIR, script), "--method", method]
            if args.quick:
                cmd.append("--quick")
            try:
                results += run_lines(cmd, timeout)
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))
    report(results, machine(), command, out_dir, args.quick, errors)
    print(f"== wrote {out_dir}/benchmarks.md, benchmarks.json, benchmarks-ratios.svg")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
