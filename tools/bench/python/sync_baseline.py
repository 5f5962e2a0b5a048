#!/usr/bin/env python3
"""CPython multiprocessing doing the workloads of bench_sync.cpp, printing the same JSON lines.

    python3 sync_baseline.py [ops] [barrier_rounds]
"""
import multiprocessing as mp
import sys
import time

from common import MIN_REPS, report  # tools/bench/python/common.py

REPS = MIN_REPS


def per_op(n, body):
    runs = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(n):
            body()
        runs.append((time.perf_counter() - t0) * 1e6 / n)
    return runs


def barrier_party(b, rounds):
    for _ in range(rounds):
        b.wait()


def main():
    quick = "--quick" in sys.argv
    methods = [sys.argv[sys.argv.index("--method") + 1]] if "--method" in sys.argv else ["fork", "spawn"]
    ops = 100 if quick else 2000
    rounds = 20 if quick else 500
    for method in methods:
        ctx = mp.get_context(method)
        contender = "cpython-" + method

        lock = ctx.Lock()

        def lock_pair():
            lock.acquire()
            lock.release()
        report("lock_acquire_release", contender, "us", per_op(ops, lock_pair))

        rlock = ctx.RLock()

        def rlock_pair():
            rlock.acquire()
            rlock.release()
        report("rlock_acquire_release", contender, "us", per_op(ops, rlock_pair))

        v = ctx.Value("i", 0)

        def locked_increment():
            with v.get_lock():
                v.value += 1
        report("value_increment_locked", contender, "us", per_op(ops, locked_increment))

        # CPython has no atomic increment: the closest is the same statement on a lock-free
        # RawValue (not safe across processes; a lower bound, for scale only).
        raw = ctx.RawValue("i", 0)

        def raw_increment():
            raw.value += 1
        report("value_increment_atomic", contender, "us", per_op(ops, raw_increment))

        parties = 4
        b = ctx.Barrier(parties)
        total = rounds * REPS + 50
        children = [ctx.Process(target=barrier_party, args=(b, total)) for _ in range(parties - 1)]
        for c in children:
            c.start()
        for _ in range(50):
            b.wait()
        report("barrier_round_4proc", contender, "us", per_op(rounds, b.wait))
        for c in children:
            c.join()


if __name__ == "__main__":
    main()
