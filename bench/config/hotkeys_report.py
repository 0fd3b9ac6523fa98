#!/usr/bin/env python3
"""Turns bench/hotkeys.sh's per-run JSON (tools/LoadBalancer.LoadGen) and server counters into
bench/results/hotkeys.md and its PNG charts (matplotlib)."""
import argparse, json, math, os, statistics

from report_header import header

LABELS = {
    "ours-ring": "ours, `Balancing:Algorithm=Ring`",
    "ours-bounded": "ours, `BoundedLoad`",
    "ours-bounded-alt": "ours, `BoundedLoad` with the alternative settings",
    "nginx": "nginx `hash $arg_id consistent`",
    "haproxy": "HAProxy `hash-type consistent` + `hash-balance-factor`",
}
SHORT = {"ours-ring": "ours Ring", "ours-bounded": "ours BoundedLoad", "ours-bounded-alt": "ours BoundedLoad (alt)",
         "nginx": "nginx consistent", "haproxy": "HAProxy bounded"}

parser = argparse.ArgumentParser()
parser.add_argument("results"); parser.add_argument("out")
parser.add_argument("--images", required=True)
parser.add_argument("--targets", nargs="+", required=True)
parser.add_argument("--rounds", type=int, required=True)
parser.add_argument("--setup", default=""); parser.add_argument("--bounded-alt", default=""); parser.add_argument("--note", default="")
parser.add_argument("--load", nargs="*", default=[])
parser.add_argument("--versions", nargs="*", default=[])
args = parser.parse_args()
setup = dict(item.split("=", 1) for item in args.setup.split() if "=" in item)

runs = {t: [] for t in args.targets}
for t in args.targets:
    for r in range(1, args.rounds + 1):
        with open(os.path.join(args.results, f"{r}-{t}.json")) as f:
            run = json.load(f)
        with open(os.path.join(args.results, f"{r}-{t}.capacity.json")) as f:
            run["capacity"] = json.load(f)
        with open(os.path.join(args.results, f"{r}-{t}.proxy.json")) as f:
            run["proxy"] = json.load(f)
        runs[t].append(run)

servers = sorted({s for t in args.targets for run in runs[t] for s in run["capacity"]})
c = float(setup.get("balance_factor", "1.25"))
limit = int(setup.get("concurrency", "0")); queue = int(setup.get("queue", "0"))
median = statistics.median

def ms(v):
    return f"{v:,.1f} ms" if v >= 10 else f"{v:,.2f} ms"

def summary(t):
    rs = runs[t]
    s = {
        "rps": median(r["throughput_rps"] for r in rs),
        "rps_rounds": [r["throughput_rps"] for r in rs],
        "p50": median(r["latency_ms"]["p50"] for r in rs),
        "p99": median(r["latency_ms"]["p99"] for r in rs),
        "p999": median(r["latency_ms"]["p999"] for r in rs),
        "p99_rounds": [r["latency_ms"]["p99"] for r in rs],
        "scheduled": sum(r["scheduled"] for r in rs),
        "ok": sum(r["ok"] for r in rs),
        "lag99": max(r["send_lag_ms"]["p99"] for r in rs),
    }
    errors = {}
    for r in rs:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    s["errors"] = errors
    s["share"] = {sv: statistics.mean(r["servers"].get(sv, {"share": 0})["share"] for r in rs) for sv in servers}
    # Server side: each server's own peak of requests queued or served, the most over the rounds.
    s["peak"] = {sv: median(r["capacity"][sv]["peakInFlight"] for r in rs) for sv in servers}
    s["peak_max"] = {sv: max(r["capacity"][sv]["peakInFlight"] for r in rs) for sv in servers}
    s["refused"] = {sv: sum(r["capacity"][sv]["refused"] for r in rs) for sv in servers}
    # Little's law on the client's view: the mean requests in flight (all answers), per server.
    per_server = [r["latency_all_ms"]["count"] * r["latency_all_ms"]["mean"] / 1000 / r["duration_s"] / len(servers) for r in rs]
    s["mean_in_flight"] = median(per_server)
    s["bound_mean"] = math.ceil(c * s["mean_in_flight"])
    # Client side, at every request's send: its server's requests in flight against ⌈c × total in flight / servers⌉.
    s["checked"] = sum(r["bounded_load"]["checked"] for r in rs)
    s["over"] = sum(r["bounded_load"]["over_bound"] for r in rs)
    s["max_over"] = max(r["bounded_load"]["max_over_bound"] for r in rs)
    s["client_peak"] = max(r["bounded_load"]["max_in_flight"] for r in rs)
    # The proxy's own count, at each admission (ours only; warm-up included): sent to a server at its bound.
    proxy = [r["proxy"]["over_bound"] for r in rs]
    s["proxy_over"] = None if None in proxy else sum(proxy)
    return s

S = {t: summary(t) for t in args.targets}
first = runs[args.targets[0]][0]

out = header("Scenario: hot keys on servers with bounded capacity", "bench/hotkeys.sh", "hot-keys-skewed-ids-on-servers-with-bounded-capacity", args.note, args.load)
out.append(f"| versions | {'; '.join(v.strip() for v in args.versions)} |")
out.append(f"| servers | three LoadBalancer.Server (Release) on 127.0.0.1, each `Capacity:ServiceTime={setup.get('service_time')}`, "
           f"`Capacity:ConcurrencyLimit={limit}`, `Capacity:QueueLimit={queue}` (503 beyond): nominally {limit} / service time each |")
out.append(f"| load | open loop (`tools/LoadBalancer.LoadGen`): {float(setup.get('rate', 0)):,.0f} requests/s scheduled by the clock, "
           f"latency from each request's scheduled send time; ids Zipf s={setup.get('zipf_s')} over {setup.get('ids')} distinct six-digit ids "
           f"(seed {setup.get('seed')}: the same sequence for every target; the hottest id is {first['hottest_id_share']:.1%} of requests); "
           f"{setup.get('duration')} s measured per run after {setup.get('warmup')} s unmeasured, {args.rounds} rounds alternating over the targets, "
           f"timeout {setup.get('timeout')} s |")
out.append(f"| balancers | HTTP/1.1 to the servers with keep-alive; bounded loads with c = {c} (ours `Balancing:BalanceFactor`, HAProxy `hash-balance-factor {round(c * 100)}`); ours with its defaults otherwise (a 503 is retried on the next server within the retry budget) |")
if args.bounded_alt:
    out.append(f"| ours BoundedLoad (alt) | `BoundedLoad` as above, and `{args.bounded_alt}` |")
out.append("")

out.append("Medians over the rounds (latency of the 200 answers; errors are every other outcome, summed over the rounds):\n")
out.append("| target | requests/s (200) | p50 | p99 | p99.9 | errors | p99 per round | requests/s per round |")
out.append("|---|---|---|---|---|---|---|---|")
for t in args.targets:
    s = S[t]
    err = s["scheduled"] - s["ok"]
    kinds = ", ".join(f"{k}: {v:,}" for k, v in sorted(s["errors"].items())) or "none"
    out.append(f"| {LABELS.get(t, t)} | {s['rps']:,.0f} | {ms(s['p50'])} | {ms(s['p99'])} | {ms(s['p999'])} | "
               f"{err:,} of {s['scheduled']:,} ({err / max(s['scheduled'], 1):.2%}; {kinds}) | "
               f"{' / '.join(f'{v:,.1f}' for v in s['p99_rounds'])} ms | {' / '.join(f'{v:,.0f}' for v in s['rps_rounds'])} |")
out.append("")

out.append("Each server's share of the 200 answers (mean over the rounds), its own peak of requests in flight (queued or being "
           f"served, as it counts them: the median of the rounds / the most in any round; {limit + queue} is its limit plus its queue) and the 503s it gave "
           "(summed; ours retries them on another server):\n")
out.append("| target | " + " | ".join(f"{sv} share" for sv in servers) + " | " + " | ".join(f"{sv} peak" for sv in servers)
           + " | " + " | ".join(f"{sv} 503s" for sv in servers) + " |")
out.append("|---|" + "---|" * (3 * len(servers)))
for t in args.targets:
    s = S[t]
    out.append(f"| {SHORT.get(t, t)} | " + " | ".join(f"{s['share'][sv]:.1%}" for sv in servers) + " | "
               + " | ".join(f"{s['peak'][sv]:g} / {s['peak_max'][sv]}" for sv in servers) + " | " + " | ".join(f"{s['refused'][sv]:,}" for sv in servers) + " |")
out.append("")

out.append(f"The bounded-load property, c = {c}. **At each send** (client's view): the server that answered the request "
           "held how many requests then, counting it, against ⌈c × all requests in flight / 3⌉; a request is in flight "
           "from its send to the end of its answer, so this view includes the time to and from the balancer. **Over the run**: "
           "each server's own peak against ⌈c × the mean in flight per server⌉ (Little's law on the client's latencies).\n")
out.append("**At each admission** (the proxy's own count, ours only): requests the proxy sent to a server already at "
           "⌈c × (requests in flight + 1) / 3⌉ at that instant (`loadbalancer.bounded_load.over_bound`, from its Prometheus "
           "page; warm-ups included). A request is in flight for the proxy from its admission to the end of its answer.\n")
out.append("| target | admitted over the bound (proxy) | sends over the bound (client) | most over the bound (client) | peak in flight (client's view) | mean in flight per server | ⌈c × mean⌉ | highest server peak (median round / any round) |")
out.append("|---|---|---|---|---|---|---|---|")
for t in args.targets:
    s = S[t]
    proxy = "–" if s["proxy_over"] is None or not t.startswith("ours-bounded") else f"{s['proxy_over']:,}"
    out.append(f"| {SHORT.get(t, t)} | {proxy} | {s['over']:,} of {s['checked']:,} ({s['over'] / max(s['checked'], 1):.2%}) | {s['max_over']} | "
               f"{s['client_peak']} | {s['mean_in_flight']:.1f} | {s['bound_mean']} | {max(s['peak'].values()):g} / {max(s['peak_max'].values())} |")
out.append("")

# --- the goal ------------------------------------------------------------------------------------------------------
if "ours-bounded" in S:
    b = S["ours-bounded"]
    others = {t: S[t]["p99"] for t in args.targets if t not in ("ours-bounded", "ours-bounded-alt")}
    best_t = min(others, key=others.get)
    lowest = all(b["p99"] < v for v in others.values())
    peak = max(b["peak_max"].values())
    peak_median = max(b["peak"].values())
    within = peak <= b["bound_mean"]
    out.append("## The goal\n")
    out.append("> ours with `BoundedLoad` has the lowest p99 of all and no server above ⌈c × mean⌉ in flight.\n")
    gap = b["p99"] / others[best_t] if others[best_t] else float("inf")
    out.append(f"- Lowest p99: **{'met' if lowest else 'not met'}**. Ours with `BoundedLoad` {ms(b['p99'])}; the lowest of the others, "
               f"{SHORT.get(best_t, best_t)}, {ms(others[best_t])} ({gap:.2f}×). Errors: ours BoundedLoad "
               f"{b['scheduled'] - b['ok']:,}, {SHORT.get(best_t, best_t)} {S[best_t]['scheduled'] - S[best_t]['ok']:,}.")
    if b["proxy_over"] is not None:
        out.append(f"- No server above its bound in flight, at each admission (the proxy's own count, the bound taken at that "
                   f"instant): **{'met' if b['proxy_over'] == 0 else 'not met'}**: {b['proxy_over']:,} requests admitted to a server at its bound "
                   f"over the rounds and their warm-ups.")
    out.append(f"- No server above ⌈c × mean⌉ in flight, over the run: **{'met' if within else 'not met'}**: the highest server peak is "
               f"{peak} against ⌈{c} × {b['mean_in_flight']:.1f}⌉ = {b['bound_mean']}"
               + ("" if within else f" ({peak - b['bound_mean']} over)") + f"; in the median round {peak_median:g}.")
    out.append(f"- The same at each send, client's view: {b['over']:,} of {b['checked']:,} sends "
               f"({b['over'] / max(b['checked'], 1):.2%}) found their server above ⌈c × total / 3⌉, by at most {b['max_over']}"
               + (" (the client's count includes the time to and from the proxy, which the proxy's own count does not)." if b['over'] else "."))
    if "ours-bounded-alt" in S:
        a = S["ours-bounded-alt"]
        lowest_alt = all(a["p99"] < v for v in others.values())
        out.append(f"- Ours `BoundedLoad` (alt: `{args.bounded_alt}`): p99 {ms(a['p99'])}, "
                   f"{'the lowest' if lowest_alt else 'not the lowest'} against the same others "
                   f"({a['p99'] / others[best_t]:.2f}× {SHORT.get(best_t, best_t)}); highest server peak {max(a['peak_max'].values())} (median round {max(a['peak'].values()):g}) "
                   f"against ⌈c × mean⌉ = {a['bound_mean']}; {a['over']:,} of {a['checked']:,} sends over the bound at the send; "
                   f"errors {a['scheduled'] - a['ok']:,}.")
    out.append("")

out.append(f"The generator kept to its schedule: the 99th percentile of its send lateness was at most {max(S[t]['lag99'] for t in args.targets):.2f} ms in any run "
           "(it is part of every latency above). The machine is shared with other work, so absolute figures are noisy: "
           "compare the targets within this run only.\n")
out.append("![throughput](hotkeys-throughput.png)\n")
out.append("![latency](hotkeys-latency.png)\n")
out.append("![servers](hotkeys-servers.png)\n")
with open(args.out, "w") as f:
    f.write("\n".join(out))

# --- charts -------------------------------------------------------------------------------------------------------
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker

names = [SHORT.get(t, t) for t in args.targets]
x = range(len(args.targets))
colors = ["#4c72b0", "#55a868", "#8172b2", "#c44e52", "#dd8452"]

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.bar(x, [S[t]["rps"] for t in args.targets], color=colors[:len(names)], alpha=0.8, label="median of the rounds")
for i, t in enumerate(args.targets):
    ax.scatter([i] * len(S[t]["rps_rounds"]), S[t]["rps_rounds"], color="black", s=12, zorder=3)
ax.axhline(float(setup.get("rate", 0)), color="gray", linestyle="--", label="offered")
ax.set_xticks(list(x)); ax.set_xticklabels(names, rotation=15)
ax.set_ylabel("200 answers per second"); ax.set_title("Hot keys: throughput (open loop, fixed offered rate)")
ax.legend(loc="lower right"); fig.tight_layout(); fig.savefig(os.path.join(args.images, "hotkeys-throughput.png"), dpi=110); plt.close(fig)

fig, ax = plt.subplots(figsize=(8, 4.5))
width = 0.26
for k, (key, label) in enumerate([("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")]):
    ax.bar([i + (k - 1) * width for i in x], [S[t][key] for t in args.targets], width, label=label)
ax.set_yscale("log"); ax.set_xticks(list(x)); ax.set_xticklabels(names, rotation=15)
ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
ax.set_ylabel("latency from the scheduled send (ms, log)"); ax.set_title("Hot keys: latency of the 200 answers (medians of the rounds)")
ax.legend(); fig.tight_layout(); fig.savefig(os.path.join(args.images, "hotkeys-latency.png"), dpi=110); plt.close(fig)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
bottom = [0.0] * len(args.targets)
for sv in servers:
    values = [S[t]["share"][sv] * 100 for t in args.targets]
    left.bar(x, values, bottom=bottom, label=sv)
    bottom = [b + v for b, v in zip(bottom, values)]
left.axhline(100 / len(servers), color="gray", linestyle="--", linewidth=1)
left.set_xticks(list(x)); left.set_xticklabels(names, rotation=15); left.set_ylabel("share of the 200 answers (%)")
left.set_title("Each server's share"); left.legend(fontsize=8)
width = 0.8 / len(servers)
for k, sv in enumerate(servers):
    right.bar([i + (k - (len(servers) - 1) / 2) * width for i in x], [S[t]["peak"][sv] for t in args.targets], width, label=sv)
right.scatter(list(x), [S[t]["bound_mean"] for t in args.targets], marker="_", s=600, color="black", zorder=3, label="ceil(c × mean)")
right.axhline(limit + queue, color="gray", linestyle="--", linewidth=1, label="limit + queue")
right.set_xticks(list(x)); right.set_xticklabels(names, rotation=15); right.set_ylabel("peak requests in flight at the server")
right.set_title("Each server's own peak in flight (median of the rounds)"); right.legend(fontsize=8)
fig.tight_layout(); fig.savefig(os.path.join(args.images, "hotkeys-servers.png"), dpi=110); plt.close(fig)
