#!/usr/bin/env python3
"""Soak test: a bounded mixed load against a running Tessera server.

    bench/soak.py --base http://127.0.0.1:8000 --duration 120 --pid <server pid>

Mix per worker thread (HTTP/1.1 keep-alive, standard library only): protected calls
(GET /api/me/), rotating refreshes along a chain, logins, verifies, and bad tokens
(garbage, alg:none, expired-looking, oversized). Reports requests, responses by status,
the 5xx count (must be 0) and the server's RSS at start, every 10 s and at the end (must
not keep growing). Exits 1 when any 5xx or transport error occurred. Needs the demo user
(`tessera seed-demo`) and rotation on (ROTATE_REFRESH_TOKENS + BLACKLIST_AFTER_ROTATION).
"""
import argparse
import base64
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter


def rss_mib(pid):
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                return r.status, payload
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 1:
                    return "transport-error", None


def worker(base, deadline, user, password, stats, lock):
    c = Client(base)
    local = Counter()

    def hit(name, method, path, body=None, token=None):
        status, payload = c.request(method, path, body, token)
        local[(name, status)] += 1
        return status, payload

    st, pair = hit("login", "POST", "/api/token/", {"username": user, "password": password})
    if st != 200:
        with lock:
            stats.update(local)
        return
    access, refresh = pair["access"], pair["refresh"]
    none_token = (base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + "."
                  + base64.urlsafe_b64encode(b'{"user_id":"1"}').rstrip(b"=").decode() + ".")
    bad = ["garbage", none_token, access[:-3] + "abc", "x" * 9000, access + "."]
    while time.time() < deadline:
        r = random.random()
        if r < 0.55:
            hit("me", "GET", "/api/me/", token=access)
        elif r < 0.75:
            st, p = hit("refresh", "POST", "/api/token/refresh/", {"refresh": refresh})
            if st == 200:
                access, refresh = p["access"], p["refresh"]
        elif r < 0.85:
            hit("verify", "POST", "/api/token/verify/", {"token": access})
        elif r < 0.97:
            hit("bad-token", "GET", "/api/me/", token=random.choice(bad))
        else:
            st, p = hit("login", "POST", "/api/token/", {"username": user, "password": password})
            if st == 200:
                access, refresh = p["access"], p["refresh"]
    with lock:
        stats.update(local)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="alice-pass")
    a = ap.parse_args()
    host = urllib.parse.urlparse(a.base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("soak.py only targets loopback")
    stats, lock = Counter(), threading.Lock()
    start = time.time()
    deadline = start + a.duration
    mem = [(0, rss_mib(a.pid))]
    threads = [threading.Thread(target=worker, args=(a.base, deadline, a.user, a.password, stats, lock))
               for _ in range(a.threads)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        el = time.time() - start
        if el - mem[-1][0] >= 10:
            mem.append((round(el), rss_mib(a.pid)))
    for t in threads:
        t.join()
    mem.append((round(time.time() - start), rss_mib(a.pid)))
    elapsed = time.time() - start
    total = sum(stats.values())
    by_status = Counter()
    for (_, st), n in stats.items():
        by_status[st] += n
    fivexx = sum(n for st, n in by_status.items() if isinstance(st, int) and st >= 500)
    transport = by_status.get("transport-error", 0)
    print(f"soak: {total} requests in {elapsed:.1f} s ({total / elapsed:.0f} req/s), {a.threads} threads")
    print("by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items(), key=str)))
    for (name, st), n in sorted(stats.items(), key=str):
        print(f"  {name:<10} {st}: {n}")
    print("server RSS MiB (s: MiB): " + ", ".join(
        f"{t}: {m:.1f}" if m is not None else f"{t}: n/a" for t, m in mem))
    print(f"5xx: {fivexx}, transport errors: {transport}")
    sys.exit(1 if fivexx or transport else 0)


if __name__ == "__main__":
    main()
