#!/usr/bin/env python3
"""Runs a command and prints its wall time, CPU time (user + sys) and peak RSS.

Usage: measure.py LABEL [--record FILE] -- COMMAND...   (exit status is the command's)
With --record, also appends `LABEL<TAB>wall<TAB>cpu<TAB>rss_mb<TAB>exit` to FILE, for
scripts/bench to compute ratios against a peer measured in the same run.
"""
import os, resource, subprocess, sys, time

label = sys.argv[1]
record = sys.argv[sys.argv.index("--record") + 1] if "--record" in sys.argv[:sys.argv.index("--")] else None
cmd = sys.argv[sys.argv.index("--") + 1:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
user = after.ru_utime - before.ru_utime
sys_ = after.ru_stime - before.ru_stime
rss = after.ru_maxrss / 1024
print(f"{label:<40} wall {wall:7.2f} s   cpu {user + sys_:6.2f} s (user {user:5.2f} + sys {sys_:4.2f})   peak RSS {rss:6.1f} MB   exit {rc}")
if record:
    with open(record, "a") as f:
        f.write(f"{label}\t{wall:.3f}\t{user + sys_:.3f}\t{rss:.1f}\t{rc}\n")
sys.exit(rc)
