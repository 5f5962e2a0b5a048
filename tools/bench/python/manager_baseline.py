#!/usr/bin/env python3
"""CPython baselines for tools/bench/bench_manager.cpp.

Same workloads, same JSON lines (contender "cpython-fork" / "cpython-spawn"):
  manager_dict_set_get   d[k] = v then d[k] on a SyncManager dict proxy, per pair (ms)
  manager_dict_ops       the same loop as operations per second
  shm_{read,write}_4KiB  shared_memory.SharedMemory: bytes(buf[o:o+n]) / buf[o:o+n] = data (MB/s)
  shm_{read,write}_16MiB
The start method only matters for the Manager's server process (SharedMemory is mapped here).
Usage: manager_baseline.py [--method fork|spawn] [--quick]
"""
import argparse
import multiprocessing as mp
import random
import time
from multiprocessing import shared_memory

from common import report, reps_for  # tools/bench/python/common.py


def dict_runs(ctx, ops, reps):
    keys = ["key%d" % i for i in range(100)]
    with ctx.Manager() as manager:
        d = manager.dict()

        def once():
            t0 = time.perf_counter()
            for i in range(ops):
                d[keys[i % 100]] = i
                assert d[keys[i % 100]] == i
            return time.perf_counter() - t0

        once()
        return [once() for _ in range(reps)]


def shm_runs(reps, quick):
    block = (32 if quick else 256) << 20
    shm = shared_memory.SharedMemory(create=True, size=block)
    try:
        buf = shm.buf
        buf[:] = b"x" * block
        rng = random.Random(7)
        out = {}
        for label, size, count in (("4KiB", 4096, 200 if quick else 3000),
                                   ("16MiB", 16 << 20, 2 if quick else 10)):
            data = b"y" * size
            mb = size * count / 1e6

            def write():
                t0 = time.perf_counter()
                for _ in range(count):
                    o = rng.randrange(block - size + 1)
                    buf[o:o + size] = data
                return mb / (time.perf_counter() - t0)

            def read():
                t0 = time.perf_counter()
                for _ in range(count):
                    o = rng.randrange(block - size + 1)
                    bytes(buf[o:o + size])
                return mb / (time.perf_counter() - t0)

            out["shm_write_" + label] = [write() for _ in range(reps)]
            out["shm_read_" + label] = [read() for _ in range(reps)]
        del buf
        return out
    finally:
        shm.close()
        shm.unlink()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=("fork", "spawn"), default="fork")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    ctx = mp.get_context(args.method)
    contender = "cpython-" + args.method
    reps = reps_for(args.quick)
    ops = 200 if args.quick else 5000

    runs = dict_runs(ctx, ops, reps)
    report("manager_dict_set_get", contender, "ms", [s * 1e3 / ops for s in runs])
    report("manager_dict_ops", contender, "ops/s", [2 * ops / s for s in runs])
    for workload, values in shm_runs(reps, args.quick).items():
        report(workload, contender, "MB/s", values)


if __name__ == "__main__":
    main()
