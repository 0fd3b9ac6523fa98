#!/usr/bin/env python3
"""Turns the BENCH lines of bench/run.sh into bench/results/latest.md (means over rounds, ratios against peers)."""
import argparse, datetime, os, platform, re, statistics

LABELS = {
    "direct": "one server directly (the limit)",
    "ours": "LoadBalancer.Proxy (Ring/XxHash3) as the AppHost runs it: HTTP/2 to the servers (h2c), telemetry exported to the dashboard",
    "ours-noexport": "LoadBalancer.Proxy, the same, telemetry on with no OTLP endpoint (nothing exported)",
    "ours-h1": "LoadBalancer.Proxy, HTTP/1.1 to the servers (its standalone default)",
    "ours-notel": "LoadBalancer.Proxy, HTTP/2, OpenTelemetry off (`OTEL_SDK_DISABLED=true`)",
    "nginx": "nginx `hash $arg_id consistent`",
    "haproxy": "HAProxy `balance url_param id` + `hash-type consistent`",
    "haproxy-h2c": "HAProxy, the same, HTTP/2 to the servers (`proto h2`, h2c)",
    "yarp": "plain YARP, round robin",
    "yarp-h2c": "plain YARP, round robin, HTTP/2 to the servers (h2c)",
    # OURS_VARIANTS=1: ours with one thing changed (not used for the goals)
    "ours-nohedge": "variant: ours without hedging (`Hedging:Enabled=false`)",
    "ours-sampled": "variant: ours with new traces sampled at 10 % (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`)",
    "ours-wksgc": "variant: ours with workstation GC (`DOTNET_gcServer=0`)",
    "ours-nodatas": "variant: ours with server GC without DATAS (`DOTNET_GCDynamicAdaptationMode=0`)",
    "ours-noinline": "variant: ours with socket continuations on the thread pool (`Forwarding:InlineSocketCompletions=false`)",
    "ours-nospin": "variant: ours with thread-pool workers that block at once (`DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0`)",
    # VARIANTS=1: peers with one tuned setting taken back (not used for the ratios)
    "nginx-accesslog": "variant: nginx with its access log on (nginx's default; here off)",
    "nginx-1worker": "variant: nginx with one worker (`worker_processes 1`, nginx's built-in default)",
    "nginx-nokeepalive": "variant: nginx without upstream keep-alive (no `keepalive`, HTTP/1.0 upstream: nginx's default)",
    "haproxy-stock": "variant: HAProxy without `nbthread` and `http-reuse always` (its defaults)",
}

parser = argparse.ArgumentParser()
parser.add_argument("results"); parser.add_argument("out")
parser.add_argument("--duration"); parser.add_argument("--rounds"); parser.add_argument("--connections")
parser.add_argument("--note", default=""); parser.add_argument("--alloc", default="")
parser.add_argument("--versions", nargs="*", default=[])
parser.add_argument("--exported", default=""); parser.add_argument("--load", nargs=2, default=["?", "?"])
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
out.append("| upstream | three LoadBalancer.Server (Release) on 127.0.0.1, each with an HTTP/1.1 port and an h2c port; keep-alive from every proxy |")
out.append(f"| collector | the Aspire dashboard (its NuGet package, as the AppHost runs it), OTLP/gRPC on 127.0.0.1; it held traces from: {args.exported or 'nothing'} |")
out.append(f"| load average | {args.load[0]} before the rounds, {args.load[1]} after |\n")
def us(target, key):
    """Mean of a per-request nanosecond figure over the rounds, in µs; None when the rounds did not measure it."""
    values = [r[key] for r in runs[target] if key in r]
    return statistics.mean(values) / 1000 if values else None

def cpu(target):
    value = us(target, "cpu_ns")
    return f"{value:.1f} µs" if value is not None else "–"

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
out.append("\nTelemetry: `ours` runs with the settings the AppHost gives a project in run mode (OTLP over gRPC to the "
           "dashboard, batch export and metric reading every second, every trace sampled); `ours-noexport` creates and "
           "tags the same spans with nowhere to send them; `ours-notel` has OpenTelemetry off.")
if all(t in runs for t in ("ours", "ours-notel")) and us("ours", "cpu_ns"):
    share = (us("ours", "cpu_ns") - us("ours-notel", "cpu_ns")) / us("ours", "cpu_ns")
    out.append(f"Telemetry's share of the proxy's CPU per request: ({us('ours', 'cpu_ns'):.1f} − {us('ours-notel', 'cpu_ns'):.1f}) / "
               f"{us('ours', 'cpu_ns'):.1f} µs = **{share * 100:.1f} %**"
               + (f" (spans alone, nothing exported: {(us('ours-noexport', 'cpu_ns') - us('ours-notel', 'cpu_ns')) / us('ours-noexport', 'cpu_ns') * 100:.1f} %)" if "ours-noexport" in runs else "")
               + f"; the dashboard's own CPU while `ours` was measured: {us('ours', 'collector_ns'):.1f} µs per request"
               " (not in the proxy's figure, but on the same cores).")
out.append("\nThe median is given beside the mean because this VM has hiccups: a round now and then runs 10–15 % slow for every "
           "target, whichever is measured at the time. CPU per request: user + system time of the target's own processes (nginx: master and workers) during the "
           "measurement, divided by the requests it served; the servers' and wrk's time is not in it. All share the same "
           "2 cores, so a proxy's throughput here is bounded by what it leaves to the servers and to wrk.")

def cpu_ratio(a, b):
    va, vb = us(a, "cpu_ns"), us(b, "cpu_ns")
    return f"{va / vb:.2f}×" if va is not None and vb else "–"

out.append("\nRatios (ours / peer; throughput above 1 is better, p99 and CPU per request below 1 are better):\n")
out.append("| ours | peer | throughput (means) | throughput (medians) | p99 latency | CPU per request |\n|---|---|---|---|---|---|")
# The goals are ours against nginx, HAProxy and plain YARP as a .NET user would first set it up; the rest
# compare like with like (the same upstream protocol) and show what telemetry costs.
PAIRS = [("ours", "nginx"), ("ours", "haproxy"), ("ours", "yarp"), ("ours", "haproxy-h2c"), ("ours", "yarp-h2c"),
         ("ours-noexport", "nginx"), ("ours-noexport", "haproxy"), ("ours-noexport", "yarp-h2c"),
         ("ours-h1", "nginx"), ("ours-h1", "haproxy"), ("ours-h1", "yarp"), ("ours-notel", "yarp-h2c"), ("ours", "direct")]
for ours, peer in PAIRS:
    if ours in runs and peer in runs:
        out.append(f"| {ours} | {peer} | {mean(ours, 'rps') / mean(peer, 'rps'):.2f}× | {median(ours, 'rps') / median(peer, 'rps'):.2f}× | {mean(ours, 'p99_us') / max(1, mean(peer, 'p99_us')):.2f}× "
                   f"| {cpu_ratio(ours, peer)} |")

variants = [t for t in ("ours-noexport", "ours-notel", "ours-nohedge", "ours-sampled", "ours-wksgc", "ours-nodatas", "ours-noinline", "ours-nospin") if t in runs]
if "ours" in runs and variants:
    out.append("\nWhat one change to `ours` is worth here (the variant against `ours`, same run):\n")
    out.append("| variant | throughput (medians) | p99 | CPU per request |\n|---|---|---|---|")
    for t in variants:
        out.append(f"| {t} | {median(t, 'rps') / median('ours', 'rps'):.2f}× | {mean(t, 'p99_us') / mean('ours', 'p99_us'):.2f}× | "
                   f"{us(t, 'cpu_ns'):.1f} against {us('ours', 'cpu_ns'):.1f} µs ({cpu_ratio(t, 'ours')}) |")

split = [t for t in LABELS if t in runs and us(t, "machine_ns") is not None]
if split:
    out.append("\nWhere each request's CPU goes (µs per request, means over rounds). Everything runs on the same "
               f"{os.cpu_count()} cores, so at full load the machine's busy time per request is what bounds the throughput: "
               "a proxy can only go faster by leaving more of it to the servers and to wrk.\n")
    out.append("| target | the target | the three servers | wrk | the dashboard | everything else | whole machine | machine idle | stolen by the hypervisor |\n|---|---|---|---|---|---|---|---|---|")
    for t in split:
        own, servers, wrk, machine = us(t, "cpu_ns"), us(t, "servers_ns"), us(t, "wrk_ns"), us(t, "machine_ns")
        collector = us(t, "collector_ns") or 0.0
        rest = machine - own - servers - wrk - collector
        out.append(f"| {t} | {own:.1f} | {servers:.1f} | {wrk:.1f} | {collector:.1f} | {rest:.1f} | {machine:.1f} | {mean(t, 'idle_pct'):.0f} % | {statistics.mean(r.get('steal_pct', 0) for r in runs[t]):.0f} % |")
    if all(t in split for t in ("ours", "nginx", "direct")):
        # What the goal (1.0x nginx) asks of the proxy, from the figures above: the machine's busy time per request
        # at that rate, minus what everything but the proxy needs per request (as measured behind nginx).
        target_rps = mean("nginx", "rps")
        budget = (1 - mean("nginx", "idle_pct") / 100) * os.cpu_count() * 1e6 / target_rps
        others = us("nginx", "machine_ns") - us("nginx", "cpu_ns")
        kestrel = us("direct", "cpu_ns")
        out.append(f"\nWhat nginx's throughput ({target_rps:,.0f} requests/s) would take: the machine has about "
                   f"{budget:.1f} µs of CPU per request at that rate; the servers, wrk and the rest take {others:.1f} µs of it "
                   f"behind nginx, which leaves **{budget - others:.1f} µs per request for the proxy**. Ours takes "
                   f"{us('ours', 'cpu_ns'):.1f} µs" + (f" (with HTTP/1.1 to the servers: {us('ours-h1', 'cpu_ns'):.1f} µs)" if "ours-h1" in split else "") + f", plain YARP {us('yarp', 'cpu_ns'):.1f} µs, nginx {us('nginx', 'cpu_ns'):.1f} µs; "
                   f"one Kestrel server answering `/home` by itself, without forwarding anything (the direct row), takes {kestrel:.1f} µs.")

# The goals of issue #18 (goal 1), each checked against this run's figures.
allocs = dict(re.findall(r"^- ([\w-]+): about \*\*([\d,]+) bytes allocated per request", args.alloc, re.M))
def alloc(t):
    return float(allocs[t].replace(",", "")) if t in allocs else None
if all(t in runs for t in ("ours", "nginx", "haproxy", "yarp-h2c")):
    def row(goal, measured, met):
        out.append(f"| {goal} | {measured} | {'met' if met else '**not met**'} |")
    out.append("\nThe goals (issue #18, goal 1), from this run:\n")
    out.append("| goal | measured | |\n|---|---|---|")
    for peer in ("nginx", "haproxy"):
        r = median("ours", "rps") / median(peer, "rps")
        row(f"throughput ≥ 1.0× {peer}'s (medians)", f"{r:.2f}×", r >= 1.0)
        p = mean("ours", "p99_us") / mean(peer, "p99_us")
        row(f"p99 no worse than {peer}'s", f"{p:.2f}×", p <= 1.0)
    c = us("ours", "cpu_ns") / us("nginx", "cpu_ns")
    row("CPU per request ≤ 1.2× nginx's", f"{c:.2f}×", c <= 1.2)
    if "ours-notel" in runs:
        share = (us("ours", "cpu_ns") - us("ours-notel", "cpu_ns")) / us("ours", "cpu_ns")
        row("telemetry ≤ 5 % of the proxy's CPU per request", f"{share * 100:.1f} %", share <= 0.05)
    if alloc("ours") and alloc("yarp-h2c"):
        row("bytes allocated per request ≤ plain YARP's (h2c, like for like)", f"{alloc('ours'):,.0f} against {alloc('yarp-h2c'):,.0f}", alloc("ours") <= alloc("yarp-h2c"))
    y = median("ours", "rps") / median("yarp-h2c", "rps")
    row("never below plain YARP over h2c (medians)", f"{y:.2f}×", y >= 1.0)

if args.alloc.strip():
    out.append(f"\nAllocations during one more {args.duration} s run each (dotnet-counters, System.Runtime; whole process, so Kestrel's and YARP's own allocations are in):\n")
    out.append(args.alloc.rstrip())
out.append("")
open(args.out, "w").write("\n".join(out) + "\n")
