#!/usr/bin/env python3
"""Runs a command and prints its wall time, CPU time (user + sys) and peak RSS.

Usage: measure.py LABEL -- COMMAND...   (exit status is the command's)
"""
import os, resource, subprocess, sys, time

label = sys.argv[1]
cmd = sys.argv[sys.argv.index("--") + 1:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
user = after.ru_utime - before.ru_utime
sys_ = after.ru_stime - before.ru_stime
print(f"{label:<34} wall {wall:7.2f} s   cpu {user + sys_:6.2f} s (user {user:5.2f} + sys {sys_:4.2f})   peak RSS {after.ru_maxrss / 1024:6.1f} MB   exit {rc}")
sys.exit(rc)
