#!/usr/bin/env python3
"""Prints the functions of one object that ran in callgrind outputs, by self cost, hottest first.

Usage: callgrind_functions.py OBJECT_PATH CALLGRIND_OUT...
Outputs must be written with --demangle=no: the names are the linker's symbols.
Callgrind compresses names as "(id) name" on first use and "(id)" after; the line after a
"calls=" line is the cost of that call, not the caller's own, so it is skipped.
"""
import collections, re, sys

obj = sys.argv[1]
cost = collections.Counter()
named = re.compile(r"^(c?fn|c?ob)=\((\d+)\)(?: (.*))?$")
for path in sys.argv[2:]:
    tables = {"fn": {}, "ob": {}}
    ob = fn = None
    mine = skip = False
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = named.match(line)
        if m:
            kind = m.group(1).lstrip("c")
            if m.group(3) is not None:
                tables[kind][m.group(2)] = m.group(3)
            name = tables[kind][m.group(2)]
            if m.group(1) == "ob":
                ob = name
            elif m.group(1) == "fn":
                fn = re.sub(r"'\d+$", "", name)  # recursion depth suffix
                mine = ob == obj
                if mine:
                    cost[fn] += 0
        elif line.startswith("calls="):
            skip = True
        elif mine and line[:1] in "0123456789+-*":
            if skip:
                skip = False
                continue
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                cost[fn] += int(parts[1])
for fn, _ in sorted(cost.items(), key=lambda kv: -kv[1]):
    if not fn.startswith("0x"):  # an address callgrind could not name
        print(fn)
