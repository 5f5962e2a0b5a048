#!/usr/bin/env python3
"""CPython multiprocessing doing the workloads of bench_pool.cpp, printing the same JSON lines.

    python3 pool_baseline.py [--quick] [--method fork|spawn]
"""
import multiprocessing as mp
import sys
import time

from common import report, reps_for  # tools/bench/python/common.py


def repeat(reps, body):
    return [body() for _ in range(reps)]


def trivial(x):
    return x + 1


def nothing():
    pass


def burn_10ms(x):
    until = time.perf_counter() + 0.010
    n = 0
    while time.perf_counter() < until:
        n += 1
    return x


def main():
    quick = "--quick" in sys.argv
    method = sys.argv[sys.argv.index("--method") + 1] if "--method" in sys.argv else "fork"
    ctx = mp.get_context(method)
    who = f"cpython-{method}"
    reps = reps_for(quick)
    processes = mp.cpu_count()

    n = 20 if quick else (200 if method == "fork" else 20)

    def process_start_join():
        t0 = time.perf_counter()
        for _ in range(n):
            p = ctx.Process(target=nothing)
            p.start()
            p.join()
        return (time.perf_counter() - t0) / n * 1e3

    report("process_start_join", who, "ms", repeat(reps, process_start_join))

    def with_creation():
        t0 = time.perf_counter()
        with ctx.Pool(processes) as pool:
            pool.map(trivial, range(1000))
        return (time.perf_counter() - t0) * 1e3

    report("pool_map_1000_with_creation", who, "ms", repeat(reps, with_creation))

    with ctx.Pool(processes) as pool:
        pool.map(trivial, range(4))
        for size in ([1000] if quick else [1000, 10000, 100000]):
            def run(size=size):
                t0 = time.perf_counter()
                pool.map(trivial, range(size))
                return (time.perf_counter() - t0) * 1e3
            report(f"pool_map_{size}", who, "ms", repeat(reps, run))

        count = 20 if quick else 100

        def burn():
            t0 = time.perf_counter()
            pool.map(burn_10ms, range(count))
            return (time.perf_counter() - t0) * 1e3
        report(f"pool_map_{count}x10ms", who, "ms", repeat(reps, burn))


if __name__ == "__main__":
    main()
