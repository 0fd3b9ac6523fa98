#!/usr/bin/env python3
"""Turns the BENCH lines of bench/run.sh into bench/results/latest.md (means over rounds, ratios against peers)."""
import argparse, datetime, os, platform, re, statistics

LABELS = {
    "direct": "one server directly (the limit)",
    "ours": "LoadBalancer.Proxy (Ring/XxHash3, standalone)",
    "ours-notel": "LoadBalancer.Proxy, OpenTelemetry off (`OTEL_SDK_DISABLED=true`)",
    "nginx": "nginx `hash $arg_id consistent`",
    "haproxy": "HAProxy `balance url_param id` + `hash-type consistent`",
    "yarp": "plain YARP, round robin",
}

parser = argparse.ArgumentParser()
parser.add_argument("results"); parser.add_argument("out")
parser.add_argument("--duration"); parser.add_argument("--rounds"); parser.add_argument("--connections")
parser.add_argument("--note", default=""); parser.add_argument("--alloc", default="")
parser.add_argument("--versions", nargs="*", default=[])
args = parser.parse_args()

runs = {}
for line in open(args.results):
    target, rest = line.split(" ", 1)
    fields = dict(re.findall(r"(\w+)=([\d.]+)", rest))
    runs.setdefault(target, []).append({k: float(v) for k, v in fields.items()})

def mean(target, key):
    return statistics.mean(r[key] for r in runs[target])

cpu = "unknown"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass

out = []
out.append("# Benchmark: our proxy against nginx, HAProxy and plain YARP\n")
out.append("Written by `bench/run.sh`; do not edit by hand.\n")
if args.note:
    out.append(f"> {args.note}\n")
out.append("| | |\n|---|---|")
out.append(f"| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |")
out.append(f"| machine | {cpu}, {os.cpu_count()} cores, {platform.platform()} |")
out.append(f"| versions | {'; '.join(v.strip() for v in args.versions)} |")
out.append(f"| load | wrk -t1 -c{args.connections}, {args.duration} s per measurement, {args.rounds} rounds alternating, random six-digit `id` per request |")
out.append("| upstream | three LoadBalancer.Server (Release) on 127.0.0.1, keep-alive from every proxy |\n")
def cpu(target):
    values = [r["cpu_ns"] for r in runs[target] if "cpu_ns" in r]
    return f"{statistics.mean(values) / 1000:.1f} µs" if values else "–"

def median(target, key):
    return statistics.median(r[key] for r in runs[target])

out.append("| target | requests/s (mean) | requests/s (median) | p50 | p99 | CPU per request | socket errors | non-2xx | rounds (req/s) |")
out.append("|---|---|---|---|---|---|---|---|---|")
for target in LABELS:
    if target not in runs:
        continue
    out.append(f"| {LABELS[target]} | {mean(target, 'rps'):,.0f} | {median(target, 'rps'):,.0f} | {mean(target, 'p50_us') / 1000:.2f} ms | {mean(target, 'p99_us') / 1000:.2f} ms "
               f"| {cpu(target)} | {sum(r['errors'] for r in runs[target]):.0f} | {sum(r['non2xx'] for r in runs[target]):.0f} "
               f"| {' / '.join(format(r['rps'], ',.0f') for r in runs[target])} |")
out.append("\nThe median is given beside the mean because this VM has hiccups: a round now and then runs 10–15 % slow for every "
           "target, whichever is measured at the time. CPU per request: user + system time of the target's own processes (nginx: master and workers) during the "
           "measurement, divided by the requests it served; the servers' and wrk's time is not in it. All share the same "
           "2 cores, so a proxy's throughput here is bounded by what it leaves to the servers and to wrk.")

def cpu_ratio(a, b):
    va = [r["cpu_ns"] for r in runs[a] if "cpu_ns" in r]
    vb = [r["cpu_ns"] for r in runs[b] if "cpu_ns" in r]
    return f"{statistics.mean(va) / statistics.mean(vb):.2f}×" if va and vb and statistics.mean(vb) > 0 else "–"

out.append("\nRatios (ours / peer; throughput above 1 is better, p99 and CPU per request below 1 are better):\n")
out.append("| ours | peer | throughput (means) | throughput (medians) | p99 latency | CPU per request |\n|---|---|---|---|---|---|")
for ours, peer in [("ours", "nginx"), ("ours", "haproxy"), ("ours", "yarp"), ("ours", "direct"), ("ours-notel", "yarp")]:
    if ours in runs and peer in runs:
        out.append(f"| {ours} | {peer} | {mean(ours, 'rps') / mean(peer, 'rps'):.2f}× | {median(ours, 'rps') / median(peer, 'rps'):.2f}× | {mean(ours, 'p99_us') / max(1, mean(peer, 'p99_us')):.2f}× "
                   f"| {cpu_ratio(ours, peer)} |")

if args.alloc.strip():
    out.append(f"\nAllocations during one more {args.duration} s run each (dotnet-counters, System.Runtime; whole process, so Kestrel's and YARP's own allocations are in):\n")
    out.append(args.alloc.rstrip())
out.append("")
open(args.out, "w").write("\n".join(out) + "\n")
