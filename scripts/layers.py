#!/usr/bin/env python3
"""Print the import graph between the folders of src/ and fail on a cycle.

A folder is a directory under src/ (src/core/model, src/channels, ...); a file
directly in src/core counts as the folder `core`. An edge A -> B means a file in
A names `crate::B...` (in a `use` or a path), test modules excluded.
Usage: python3 scripts/layers.py [--quiet]   (exit 1 on a cycle)
"""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
FOLDERS = set()
for dirpath, dirs, files in os.walk(ROOT):
    rel = os.path.relpath(dirpath, ROOT)
    if rel != ".":
        FOLDERS.add(rel.replace(os.sep, "/"))

def folder_of_path(parts):
    """Longest folder named by a crate path's leading parts."""
    best = None
    for i in range(1, len(parts) + 1):
        cand = "/".join(parts[:i])
        if cand in FOLDERS:
            best = cand
    return best

def strip_tests(src):
    # Drop `#[cfg(test)] mod tests { ... }` blocks (brace matching).
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", src):
        if m.start() < i:
            continue
        out.append(src[i:m.start()])
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        i = j
    out.append(src[i:])
    return "".join(out)

def expand_use(body):
    """crate::a::{b::{c, d}, e} -> [a/b/c, a/b/d, a/e] (as part lists)."""
    body = re.sub(r"\s+", "", body)
    res = []
    def rec(prefix, s):
        depth, start, items = 0, 0, []
        for k, ch in enumerate(s):
            if ch == "{": depth += 1
            elif ch == "}": depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:k]); start = k + 1
        items.append(s[start:])
        for it in items:
            if not it: continue
            if "{" in it:
                head, inner = it.split("{", 1)
                rec(prefix + [p for p in head.split("::") if p], inner[:-1])
            else:
                res.append(prefix + [p for p in it.split(" as ")[0].split("::") if p])
    rec([], body)
    return res

edges = {}
for dirpath, dirs, files in os.walk(ROOT):
    for f in files:
        if not f.endswith(".rs"): continue
        path = os.path.join(dirpath, f)
        rel = os.path.relpath(dirpath, ROOT).replace(os.sep, "/")
        if rel == ".": continue
        src = strip_tests(open(path, encoding="utf-8").read())
        src = re.sub(r"//[^\n]*", "", src)
        refs = []
        for m in re.finditer(r"\bcrate::((?:\w+::)*(?:\{[^;]*\}|\w+))", src):
            refs.extend(expand_use(m.group(1)))
        for parts in refs:
            tgt = folder_of_path(parts)
            if tgt and tgt != rel and not rel.startswith(tgt + "/"):
                edges.setdefault(rel, {}).setdefault(tgt, set()).add(os.path.relpath(path, ROOT))

# Cycle search (DFS).
cycles, state = [], {}
def dfs(n, stack):
    state[n] = 1; stack.append(n)
    for m in sorted(edges.get(n, {})):
        if state.get(m) == 1:
            cycles.append(stack[stack.index(m):] + [m])
        elif not state.get(m):
            dfs(m, stack)
    stack.pop(); state[n] = 2
for n in sorted(edges):
    if not state.get(n): dfs(n, [])

if "--quiet" not in sys.argv:
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
for c in cycles:
    print("CYCLE: " + " -> ".join(c))
    for a, b in zip(c, c[1:]):
        print(f"   {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
sys.exit(1 if cycles else 0)
