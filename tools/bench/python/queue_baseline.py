#!/usr/bin/env python3
"""CPython multiprocessing baselines for tools/bench/bench_queue.cpp and bench_event.cpp.

Same workloads, same JSON lines (contender "cpython-fork" / "cpython-spawn"):
  queue_roundtrip_child  put to a child and get its echo back, per round trip (us)
  queue_stream_100B      one producer process, one consumer, 100-byte strings (items/s)
  event_pingpong_child   set() wakes a child's wait(); it clears and sets a second event back (us)
Usage: queue_baseline.py [round_trips] [items]
"""
import multiprocessing as mp
import sys
import time

from common import MIN_REPS, report  # tools/bench/python/common.py

REPS = MIN_REPS


def echo(inq, outq):
    for x in iter(inq.get, -1):
        outq.put(x)


def produce(q, go, n):
    item = "x" * 100
    go.wait()
    for _ in range(n):
        q.put(item)


def pong(ping, back, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        back.set()


def roundtrip(ctx, n):
    inq, outq = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=echo, args=(inq, outq))
    p.start()
    for i in range(100):
        inq.put(i)
        outq.get()
    runs = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for i in range(n):
            inq.put(i)
            outq.get()
        runs.append((time.perf_counter() - t0) * 1e6 / n)
    inq.put(-1)
    p.join()
    return runs


def stream(ctx, items):
    runs = []
    for _ in range(REPS):
        q, go = ctx.Queue(), ctx.Event()
        p = ctx.Process(target=produce, args=(q, go, items))
        p.start()
        go.set()
        t0 = time.perf_counter()
        for _ in range(items):
            q.get()
        runs.append(items / (time.perf_counter() - t0))
        p.join()
    return runs


def event_pingpong(ctx, n):
    warmup = 50
    ping, back = ctx.Event(), ctx.Event()
    p = ctx.Process(target=pong, args=(ping, back, warmup + REPS * n))
    p.start()

    def exchange():
        ping.set()
        back.wait()
        back.clear()

    for _ in range(warmup):
        exchange()
    runs = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(n):
            exchange()
        runs.append((time.perf_counter() - t0) * 1e6 / n)
    p.join()
    return runs


def main():
    quick = "--quick" in sys.argv
    methods = [sys.argv[sys.argv.index("--method") + 1]] if "--method" in sys.argv else ["fork", "spawn"]
    n = 100 if quick else 2000
    items = 2000 if quick else 100000
    for method in methods:
        ctx = mp.get_context(method)
        contender = "cpython-" + method
        report("queue_roundtrip_child", contender, "us", roundtrip(ctx, n))
        report("queue_stream_100B", contender, "items/s", stream(ctx, items))
        report("event_pingpong_child", contender, "us", event_pingpong(ctx, min(n, 1000)))


if __name__ == "__main__":
    main()
