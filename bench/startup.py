#!/usr/bin/env python3
"""Start-up time and idle memory of `tessera serve` on an existing database.

    bench/startup.py --bin target/release/tessera [--runs 7]

Prepares a data directory (demo users, migrated database, generated key) once, then
starts the server RUNS times and measures the time from process start to the first
answered GET /api/health/, and its RSS once idle. Prints the runs and the median.
"""
import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/tessera")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    env = dict(os.environ, TESSERA_LOG="warn")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([binary, "seed-demo"], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL)
        times, rss = [], []
        for _ in range(a.runs + 1):
            port = free_port()
            t0 = time.perf_counter()
            p = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=d, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.001)
            times.append((time.perf_counter() - t0) * 1000)
            time.sleep(1.0)
            rss.append(rss_mib(p.pid))
            p.terminate()
            p.wait()
        times, rss = times[1:], rss[1:]  # the first run warms the page cache
        print("start-up to first answer, ms: " + ", ".join(f"{t:.1f}" for t in times))
        print(f"median start-up: {statistics.median(times):.1f} ms")
        print(f"idle RSS: median {statistics.median(rss):.1f} MiB (runs: " + ", ".join(f"{r:.1f}" for r in rss) + ")")


if __name__ == "__main__":
    main()
