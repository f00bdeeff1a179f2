#!/usr/bin/env python3
"""SVG charts from the JSON that ../shared/bench/compare.sh writes (A = Simple JWT,
B = Tessera). Standard library only; the SVGs are committed next to the figures.

    bench/charts.py --sqlite compare-sqlite.json --postgres compare-pg.json --out docs/img

writes
  throughput.svg    2xx/s per scenario, Simple JWT and Tessera, on SQLite and on
                    PostgreSQL (log scale: the bars differ by two orders of magnitude)
  login-storm.svg   GET /api/me/ latency percentiles while a login storm runs
                    (me_during_login), for each server and database
"""

import argparse
import json
import math
import os
import statistics

SCENARIOS = ["me", "verify", "refresh", "login", "me_during_login"]
LABELS = {
    "me": "GET /api/me/",
    "verify": "verify",
    "refresh": "refresh (rotating)",
    "login": "login",
    "me_during_login": "/api/me/ in a login storm",
}
COLORS = {"A": "#9aa5b1", "B": "#1f6feb"}
NAMES = {"A": "Simple JWT 5.5.1", "B": "Tessera"}
FONT = 'font-family="system-ui, sans-serif"'


def load(path):
    with open(path) as f:
        return json.load(f)


def throughput(doc, scenario, side):
    s = doc.get("summary", {}).get(scenario, {}).get(side, {})
    return s.get("ok_rps")


def percentiles(doc, scenario, side):
    """Median over rounds of each latency percentile (ms)."""
    runs = [r for r in doc.get("runs", {}).get(scenario, {}).get(side, []) if "failed" not in r]
    out = {}
    for p in ("p50", "p75", "p90", "p99"):
        values = [r["latency_ms"][p] for r in runs if r.get("latency_ms", {}).get(p) is not None]
        if values:
            out[p] = statistics.median(values)
    return out


def text(x, y, s, size=12, anchor="start", weight="normal", fill="#1f2328"):
    s = str(s).replace("&", "&amp;").replace("<", "&lt;")
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}" {FONT}>{s}</text>')


def fmt(v):
    if v >= 10000:
        return f"{v / 1000:,.0f}k"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


def throughput_svg(docs):
    """One panel per database: horizontal bars on a log axis, with the ratio."""
    row_h, bar_h, left, width = 34, 12, 190, 460
    panels = [(db, doc) for db, doc in docs if doc]
    height = 60 + sum(30 + row_h * len(SCENARIOS) for _ in panels) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" '
           f'height="{height}" viewBox="0 0 {left + width + 120} {height}">',
           '<rect width="100%" height="100%" fill="white"/>',
           text(10, 24, "Requests per second, Tessera and Simple JWT (log scale)", 15, weight="bold")]
    values = [throughput(doc, s, side) for _, doc in panels for s in SCENARIOS for side in "AB"]
    values = [v for v in values if v]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    scale = lambda v: left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    y = 50
    for db, doc in panels:
        out.append(text(10, y + 14, db, 13, weight="bold"))
        y += 24
        for decade in range(int(math.log10(lo)), int(math.log10(hi)) + 1):
            x = scale(10 ** decade)
            out.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" '
                       f'y2="{y + row_h * len(SCENARIOS)}" stroke="#d0d7de"/>')
        for s in SCENARIOS:
            out.append(text(10, y + bar_h + 4, LABELS[s], 12))
            for i, side in enumerate("AB"):
                v = throughput(doc, s, side)
                if not v:
                    continue
                by = y + i * (bar_h + 2)
                out.append(f'<rect x="{left}" y="{by}" width="{scale(v) - left:.1f}" '
                           f'height="{bar_h}" fill="{COLORS[side]}"/>')
                out.append(text(scale(v) + 4, by + bar_h - 2, fmt(v), 10))
            a, b = throughput(doc, s, "A"), throughput(doc, s, "B")
            if a and b:
                out.append(text(left + width + 112, y + bar_h + 4, f"{b / a:,.0f}×", 12,
                                anchor="end", weight="bold"))
            y += row_h
        y += 6
    for decade in range(int(math.log10(lo)), int(math.log10(hi)) + 1):
        out.append(text(scale(10 ** decade), y + 8, fmt(10 ** decade) + "/s", 10, anchor="middle"))
    y += 18
    for i, side in enumerate("AB"):
        x = left + i * 170
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLORS[side]}"/>')
        out.append(text(x + 18, y + 11, NAMES[side], 12))
    out.append("</svg>")
    return "\n".join(out)


def storm_svg(docs):
    """me_during_login latency percentiles per server and database (linear, ms)."""
    series = []
    for db, doc in docs:
        if not doc:
            continue
        for side in "AB":
            p = percentiles(doc, "me_during_login", side)
            if p:
                series.append((f"{NAMES[side]}, {db}", side, p))
    left, width, row_h = 230, 420, 22
    height = 70 + row_h * 4 * len(series) + 20 * len(series) + 40
    values = [v for _, _, p in series for v in p.values() if v > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    scale = lambda v: width * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
           f'viewBox="0 0 {left + width + 80} {height}">',
           '<rect width="100%" height="100%" fill="white"/>',
           text(10, 24, "GET /api/me/ latency during a login storm (ms, log scale)", 15, weight="bold"),
           text(10, 42, "16 connections on /api/me/ while 4 connections log in as fast as they can",
                11, fill="#57606a")]
    y = 60
    for name, side, p in series:
        out.append(text(10, y + 12, name, 12, weight="bold"))
        y += 18
        for key in ("p50", "p75", "p90", "p99"):
            if key not in p:
                continue
            w = scale(p[key])
            out.append(text(left - 8, y + 11, key, 11, anchor="end"))
            out.append(f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="14" '
                       f'fill="{COLORS[side]}"/>')
            out.append(text(left + max(w, 1) + 4, y + 11, f"{p[key]:.2f}", 10))
            y += row_h
        y += 2
    for decade in range(int(math.log10(lo)), int(math.log10(hi)) + 1):
        x = left + scale(10 ** decade)
        out.append(f'<line x1="{x:.1f}" y1="56" x2="{x:.1f}" y2="{y}" stroke="#d0d7de"/>')
        out.append(text(x, y + 14, f"{10 ** decade:g} ms", 10, anchor="middle"))
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sqlite", help="compare.sh JSON with both servers on SQLite")
    ap.add_argument("--postgres", help="compare.sh JSON with both servers on PostgreSQL")
    ap.add_argument("--out", default="docs/img")
    opts = ap.parse_args()
    docs = [("SQLite", load(opts.sqlite) if opts.sqlite else None),
            ("PostgreSQL", load(opts.postgres) if opts.postgres else None)]
    os.makedirs(opts.out, exist_ok=True)
    for name, svg in (("throughput.svg", throughput_svg(docs)), ("login-storm.svg", storm_svg(docs))):
        path = os.path.join(opts.out, name)
        with open(path, "w") as f:
            f.write(svg + "\n")
        print(path)


if __name__ == "__main__":
    main()
