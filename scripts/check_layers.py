#!/usr/bin/env python3
"""Fails (exit 1, listing every offence) when the sources break kdprune's layering:

  apps -> methods -> train -> model / data -> dist / text -> common

- a file in src/<layer>/ includes a header of a layer it may not use (one above it, or a
  sibling it does not depend on), or kdprune-prep (data_prep/) includes train, model or methods;
- the folders of src/methods/ include each other in a cycle (shared code goes to a folder of its
  own, as probing/ holds what relmask, prompt and eval-probe share), or a file directly in
  src/methods/ (job_setup, training_command, input_checks) includes a method folder;
- a layer built without LibTorch (common, text, kdprune-prep's readers and task builders)
  includes a LibTorch header.

Run by every build (CMake target check_layers, before kdprune_core links) and by hand:
  python3 scripts/check_layers.py [SOURCE_DIR]
"""
import os
import re
import sys

# Which layers each layer may include (itself included).
MAY_USE = {
    "common": {"common"},
    "text": {"common", "text"},
    "dist": {"common", "dist"},
    "model": {"common", "model"},
    "data": {"common", "dist", "text", "data"},
    "train": {"common", "dist", "model", "train"},
    "methods": {"common", "dist", "text", "data", "model", "train", "methods"},
    "apps": {"common", "dist", "text", "data", "model", "train", "methods", "apps"},
    "data_prep": {"common", "dist", "text", "data"},
}
NO_TORCH = {"common", "text"}
NO_TORCH_FILES = re.compile(
    r"data_prep/(wordnet_[a-z_]+|gcide_[a-z_]+|spam_[a-z_]+|task_[a-z_]+)\.(h|cpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(root):
    for top in ("src", "data_prep"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".h", ".cpp")):
                    path = os.path.join(d, f)
                    yield os.path.relpath(path, root).replace(os.sep, "/")


def layer_of(rel):
    parts = rel.split("/")
    return "data_prep" if parts[0] == "data_prep" else parts[1]


def method_folder(path):  # "methods/relmask/x.h" -> "relmask"; a file directly in methods -> ""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    offences = []
    edges = {}  # method folder -> {folder: first file that includes it}
    for rel in sorted(sources(root)):
        layer = layer_of(rel)
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        for kind, inc in INCLUDE.findall(text):
            target = inc.split("/")[0]
            if kind == "<":
                torch = target in ("torch", "ATen", "c10", "caffe2")
                if torch and (layer in NO_TORCH or NO_TORCH_FILES.search(rel)):
                    offences.append(f"{rel}: includes <{inc}>, but it is built without LibTorch")
                continue
            if "/" not in inc or target not in MAY_USE:
                continue  # a file of the same folder, or data_prep's own headers
            if target not in MAY_USE[layer]:
                offences.append(f"{rel}: includes \"{inc}\", but {layer} may use only "
                                f"{', '.join(sorted(MAY_USE[layer]))}")
            if layer == "methods" and target == "methods":
                src_folder = method_folder(rel[len("src/"):])
                dst_folder = method_folder(inc)
                if src_folder == "" and dst_folder != "":
                    offences.append(f"{rel}: a file shared by every method includes the "
                                    f"method folder '{dst_folder}' (\"{inc}\")")
                if src_folder and dst_folder and src_folder != dst_folder:
                    edges.setdefault(src_folder, {}).setdefault(dst_folder, rel)

    # Cycles between method folders (depth-first search).
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                where = "; ".join(f"{a} -> {b} in {edges[a][b]}" for a, b in zip(cycle, cycle[1:]))
                offences.append("cycle between method folders: " + " -> ".join(cycle) +
                                f" ({where})")
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])

    if offences:
        print("check_layers: the include layering is broken "
              "(apps -> methods -> train -> model/data -> dist/text -> common):", file=sys.stderr)
        for o in offences:
            print("  " + o, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
