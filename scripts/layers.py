#!/usr/bin/env python3
"""Print the import graph between the folders of src/ and fail on a cycle or
on an import against the documented layer order.

A folder is a directory under src/ (src/core/model, src/channels, src/cli/commands,
...); a file directly in src/core counts as the folder `core`. An edge A -> B
means a file in A names `crate::B...` (in a `use` or a path), test modules
excluded. The program (src/cli/) is checked like the library.

The order is the table of ARCHITECTURE.md ("The library's folders are layers"),
read from there: each folder belongs to the row naming it (or its nearest
ancestor), and a folder may use only folders of its own row or rows above it.
A folder no row names fails the check: give it a row (or a place in one).
Usage: python3 scripts/layers.py [--quiet]   (exit 1 on a cycle or a violation)
"""
import os, re, sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROOT = os.path.join(REPO, "src")
ARCHITECTURE = os.path.join(REPO, "ARCHITECTURE.md")
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

def documented_layers():
    """Row index of each folder the ARCHITECTURE.md layer table names, in order."""
    text = open(ARCHITECTURE, encoding="utf-8").read()
    start = text.index("The library's folders are layers")
    # `exact`: the folder of a row of files (`src/core/{…}.rs`) holds those
    # files only; its other subfolders need their own rows.
    layers, exact, row = {}, {}, 0
    for line in text[start:].splitlines()[1:]:
        if (layers or exact) and not line.startswith("|"):
            break  # the end of the table
        m = re.match(r"\|\s*`src/([^`]*)`", line)
        if not m:
            continue
        path = m.group(1)
        if path.endswith("/"):
            layers[path.rstrip("/")] = row
        else:
            # `core/{error,config}.rs`: the files' folder, and a folder of the
            # same name when the module has one (src/core/config/).
            head, _, tail = path.partition("{")
            folder = head.rstrip("/")
            exact[folder] = row
            for name in tail.split("}")[0].split(","):
                sub = f"{folder}/{name}"
                if sub in FOLDERS:
                    layers[sub] = row
        row += 1
    return layers, exact

def layer_of(folder, documented):
    layers, exact = documented
    if folder in exact:
        return exact[folder]
    parts = folder.split("/")
    for i in range(len(parts), 0, -1):
        cand = "/".join(parts[:i])
        if cand in layers:
            return layers[cand]
    return None

LAYERS = documented_layers()
unplaced = sorted(f for f in FOLDERS if layer_of(f, LAYERS) is None)
violations = []
for a in sorted(edges):
    for b in sorted(edges[a]):
        la, lb = layer_of(a, LAYERS), layer_of(b, LAYERS)
        if la is not None and lb is not None and lb > la:
            violations.append((a, b))

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
for f in unplaced:
    print(f"UNDOCUMENTED: src/{f} is in no row of ARCHITECTURE.md's layer table")
for a, b in violations:
    print(f"LAYER: {a} -> {b} (a row below it in ARCHITECTURE.md): "
          + ", ".join(sorted(edges[a][b])))
sys.exit(1 if cycles or unplaced or violations else 0)
