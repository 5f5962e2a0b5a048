#!/usr/bin/env python3
"""CPython multiprocessing.Pipe baseline for tools/bench/bench_pipe.cpp.

Same workloads, same JSON lines (contender "cpython-fork" / "cpython-spawn"):
  pipe_roundtrip_child   send_bytes to a child that echoes it back, per round trip (us)
  pipe_stream_<size>     the parent sends n messages of 100 B / 64 KiB / 4 MiB, a child receives
                         them and answers once (msg/s and MB/s, 10^6 bytes/s)
Usage: pipe_baseline.py [round_trips] [scale]
"""
import multiprocessing as mp
import sys
import time

from common import MIN_REPS, report  # tools/bench/python/common.py

REPS = MIN_REPS


def pong(conn):
    for m in iter(conn.recv_bytes, b"stop"):
        conn.send_bytes(m)


def drain(conn, n):
    conn.send_bytes(conn.recv_bytes())
    for _ in range(n):
        conn.recv_bytes()
    conn.send_bytes(b"done")


def run(method, round_trips, scale):
    ctx = mp.get_context(method)
    contender = "cpython-" + method
    a, b = ctx.Pipe()
    p = ctx.Process(target=pong, args=(b,))
    p.start()
    b.close()
    msg = b"p" * 16
    for _ in range(200):
        a.send_bytes(msg)
        a.recv_bytes()
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(round_trips):
            a.send_bytes(msg)
            a.recv_bytes()
        times.append((time.perf_counter() - t0) * 1e6 / round_trips)
    a.send_bytes(b"stop")
    p.join()
    report("pipe_roundtrip_child", contender, "us", times)

    for name, size, count in (("100B", 100, int(20000 * scale)),
                              ("64KiB", 64 << 10, int(2000 * scale)),
                              ("4MiB", 4 << 20, int(100 * scale))):
        msg = b"s" * size
        secs = []
        for _ in range(REPS):
            a, b = ctx.Pipe()
            p = ctx.Process(target=drain, args=(b, count))
            p.start()
            b.close()
            a.send_bytes(b"warm")
            a.recv_bytes()
            t0 = time.perf_counter()
            for _ in range(count):
                a.send_bytes(msg)
            a.recv_bytes()
            secs.append(time.perf_counter() - t0)
            p.join()
        report("pipe_stream_" + name, contender, "msg/s", [count / t for t in secs])
        report("pipe_stream_" + name, contender, "MB/s", [count * size / t / 1e6 for t in secs])


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    methods = [sys.argv[sys.argv.index("--method") + 1]] if "--method" in sys.argv else ["fork", "spawn"]
    round_trips = 100 if quick else 2000
    scale = 0.02 if quick else 1.0
    for method in methods:
        run(method, round_trips, scale)
