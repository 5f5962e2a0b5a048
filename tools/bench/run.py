#!/usr/bin/env python3
"""The benchmark suite: every workload for every contender in one run, and the report.

    tools/bench/run.py [--quick] [--build-dir DIR] [--out DIR] [--no-build] [--only NAME]

Contenders, all measured in the same run on the same machine:
  - the floor (defined once, in tools/bench/report.py FLOOR): the Redis PING round trip, 1 /
    requests per second of redis-benchmark with one client on a Unix socket to a private
    redis-server (the full cycle of back-to-back requests, timed as our figures are);
    redis-benchmark's average latency (which leaves out its loop) and its 32-deep pipelined rate
    are reported beside it, divided by nothing;
  - CPython multiprocessing (Debian's python3), fork and spawn start methods
    (tools/bench/python/*_baseline.py);
  - Lithops C++ on the localhost executor (every tools/bench/bench_* program; the pipe
    benchmarks cover both transports) and the aws_lambda executor's driver against
    lithops-lambda-emulator (lambda_invoke_bench).

Without --no-build it configures and builds the `release` preset first. It writes
OUT/benchmarks.md, OUT/benchmarks-reading.md (tools/bench/benchmarks-reading.md.in with its
placeholders filled from this run), OUT/benchmarks.json and OUT/benchmarks-ratios.svg (OUT
defaults to docs/). Every figure of a full run is the median of at least 5 repetitions (a figure
with fewer fails the run); a target is met when the median meets it, "noisy" when the min-max
range straddles it.
--quick runs every workload once at small sizes (a smoke test: it checks that every workload runs,
not how fast) and, unless --out is given, writes to a temporary directory.
--only NAME (repeatable) runs only the programs bench_NAME and the baselines NAME_baseline.py
(e.g. --only sync for Lock/Value/Barrier), next to the Redis floor; like --quick it writes to a
temporary directory unless --out is given, so a partial run never replaces docs/benchmarks.md.
--from-json FILE rewrites the report from an earlier benchmarks.json.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import report as rpt  # tools/bench/report.py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_DIR = os.path.join(ROOT, "tools", "bench", "python")
# Debian's python3 (the CPython a Debian user compares against), else whatever python3 runs this.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

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
        # The report's own files are the run's output; anything else uncommitted is named.
        if sh(["git", "-C", ROOT, "status", "--porcelain", "--", ".", ":!docs/benchmarks*"]).strip():
            commit += " with uncommitted changes"
    except Exception:  # noqa: BLE001
        pass
    return {
        "cores": os.cpu_count(),
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "cpu": model,
        "kernel": platform.release(),
        "compiler": version(["c++", "--version"]),
        "redis": version(["redis-server", "--version"]),
        "python": sys.version.split()[0],
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def redis_floor(quick):
    """Measures the floor (report.FLOOR: the PING cycle, 1/rps of one client) and, beside it,
    redis-benchmark's average latency and 32-deep pipelined rate, from the same runs."""
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
        reps = 1 if quick else rpt.MIN_REPS
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
        figures = [fig("redis_ping_cycle", "redis-floor", "ms", cycles),
                   fig("redis_ping_rtt", "redis-floor", "ms", rtts),
                   fig("redis_ping_pipelined", "redis-floor", "ops/s", pipelined)]
        for f, requests in zip(figures, (int(n), int(n), int(n) * 10)):
            f["requests"] = requests
        return figures
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def fig(workload, contender, unit, values):
    values = sorted(values)
    return {"workload": workload, "contender": contender, "unit": unit,
            "median": statistics.median(values), "min": values[0], "max": values[-1],
            "reps": len(values)}


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


def check(results, quick, partial):
    """What makes a run's report unfit: a figure of fewer than MIN_REPS repetitions (full runs), a
    reference figure that matches no row (unless --only), a missing floor."""
    problems = []
    if not quick:
        for r in results:
            if r.get("reps", 0) < rpt.MIN_REPS:
                problems.append(f"{r['workload']} [{r['contender']}, {r['unit']}]: "
                                f"{r.get('reps', 'unknown')} repetition(s), fewer than "
                                f"{rpt.MIN_REPS}")
    by = rpt.index(results)
    names = {w for (w, c, _) in by if c.startswith("lithops-cpp")}
    for workload in rpt.LITHOPS_PYTHON_REFERENCE:
        if workload not in names and not partial:
            problems.append(f"the Lithops Python reference figure {workload} matches no "
                            "workload of this run")
    if rpt.FLOOR not in by:
        problems.append("the floor " + " ".join(rpt.FLOOR) + " was not measured")
    return problems


def write_report(results, info, command, out_dir, quick, partial, errors):
    """Writes the four files; returns the problems found in the report itself. The reading notes
    of a --quick or --only run leave the figures it lacks as "n/a"; a full run must have them."""
    by = rpt.index(results)
    reading_text, missing = rpt.reading(by)
    problems = [] if quick or partial else [
        f"benchmarks-reading.md.in names a figure this run does not have: {m}" for m in missing]
    text, rows = rpt.markdown(results, info, command, quick, errors + problems,
                              None if quick else reading_text)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, "benchmarks-reading.md"), "w") as f:
        f.write(reading_text)
    with open(os.path.join(out_dir, "benchmarks.json"), "w") as f:
        json.dump({"machine": info, "command": command, "quick": quick, "partial": partial,
                   "results": results,
                   "errors": errors + problems}, f, indent=1)
    rpt.chart(rows, os.path.join(out_dir, "benchmarks-ratios.svg"))
    return problems


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
        out = args.out or os.path.dirname(os.path.abspath(args.from_json))
        errors = [e for e in data["errors"] if not e.startswith("benchmarks-reading.md.in")]
        write_report(data["results"], data["machine"], data["command"], out, data["quick"],
                     data.get("partial", False), errors)
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
    info, started = machine(), time.time()
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
    info["duration_min"] = (time.time() - started) / 60
    errors += check(results, args.quick, bool(args.only))
    errors += write_report(results, info, command, out_dir, args.quick, bool(args.only), errors)
    print(f"== wrote {out_dir}/benchmarks.md, benchmarks-reading.md, benchmarks.json, "
          "benchmarks-ratios.svg")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
