#!/usr/bin/env python3
"""Bytes allocated per request by our proxy: dotnet-counters' allocation rate summed over a wrk run, / requests."""
import csv, re, sys

counters, bench = sys.argv[1], sys.argv[2]
requests = float(re.search(r"requests=(\d+)", bench).group(1))
rps = float(re.search(r"rps=([\d.]+)", bench).group(1))
allocated, gen0 = 0.0, 0.0
found = False
with open(counters, newline="") as f:
    for row in csv.reader(f):
        if len(row) < 5:
            continue
        name, kind, value = row[2], row[3], row[4]
        try:
            number = float(value)
        except ValueError:
            continue
        if name.startswith("dotnet.gc.heap.total_allocated") and kind == "Rate":
            allocated += number
            found = True
        if name.startswith("dotnet.gc.collections") and "gen0" in name and kind == "Rate":
            gen0 += number

if not found:
    print("no allocation counter found in the dotnet-counters output")
    sys.exit(0)
print(f"about **{allocated / requests:,.0f} bytes allocated per request** ({allocated / 1e6:,.0f} MB over {requests:,.0f} requests "
      f"at {rps:,.0f} req/s; {gen0:.0f} gen0 collections).")
