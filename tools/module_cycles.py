#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a circle.

For every crate given, each source file is a module; a module depends on another when
its code (tests and comments left out) names it through `crate::…`, `super::…`, or a
child module it `use`s. Re-exports (`pub use`) are a facade, not a dependency. Prints
the cycles and exits 1 when there is one.

    tools/module_cycles.py crates/tessera-core crates/tessera-store …
"""
import os
import re
import sys


def module_name(root, path):
    parts = os.path.relpath(path, root)[:-3].split("/")
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def code_of(text):
    text = text.split("#[cfg(test)]")[0]
    return "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("//"))


def graph(crate):
    root = os.path.join(crate, "src")
    mods = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8") as fh:
                    mods[module_name(root, p)] = code_of(fh.read())
    names = set(mods)
    g = {m: set() for m in mods}
    for m, src in mods.items():
        if m == "crate":
            continue
        for ref in re.findall(r"crate::([a-z_]+(?:::[a-z_]+)*)", src):
            parts = ref.split("::")
            for k in range(len(parts), 0, -1):
                cand = "::".join(parts[:k])
                if cand in names and cand != m and not m.startswith(cand + "::"):
                    g[m].add(cand)
                    break
        parent = "::".join(m.split("::")[:-1]) or "crate"
        for ref in re.findall(r"\bsuper::([a-zA-Z_]+)", src):
            cand = f"{parent}::{ref}" if parent != "crate" else ref
            if cand in names and cand != m:
                g[m].add(cand)
            elif parent in names and parent != "crate":
                g[m].add(parent)
        for ref in re.findall(r"^use ([a-z_]+)::", src, re.M):
            cand = f"{m}::{ref}"
            if cand in names:
                g[m].add(cand)
    return g


def cycles(g):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def main():
    bad = False
    for crate in sys.argv[1:]:
        found = cycles(graph(crate))
        if found:
            bad = True
            for c in found:
                print(f"{crate}: modules in a circle: {' -> '.join(c)}")
        else:
            print(f"{crate}: no module imports in a circle")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
