#!/usr/bin/env python3
"""Turns bench/failover.sh's per-run JSON (tools/LoadBalancer.LoadGen, and the fault's own times) into
bench/results/failover.md and its PNG charts (matplotlib)."""
import argparse, json, os, statistics

from report_header import header

LABELS = {
    "ours": "ours (defaults: retries, hedging, breakers, active health)",
    "ours-p99": "ours, defaults but `Hedging:DelayPercentile=99` (each server's requests hedged after its own recent p99)",
    "nginx": "nginx `hash $arg_id consistent`, `proxy_next_upstream error timeout`, `max_fails`",
    "haproxy": "HAProxy `hash-type consistent`, `retries`, `redispatch`, `observe layer4`, `check`",
}
SHORT = {"ours": "ours", "ours-p99": "ours p99 hedging", "nginx": "nginx", "haproxy": "HAProxy"}
FAULT_NAMES = {"kill": "SIGKILL, then started again", "stop": "SIGSTOP, then SIGCONT"}
FAULT_SHORT = {"kill": "killed and restarted", "stop": "frozen and resumed"}
COLORS = {"ours": "#4c72b0", "ours-p99": "#8172b3", "nginx": "#55a868", "haproxy": "#dd8452"}

parser = argparse.ArgumentParser()
parser.add_argument("results"); parser.add_argument("out")
parser.add_argument("--images", required=True)
parser.add_argument("--targets", nargs="+", required=True)
parser.add_argument("--faults", nargs="+", required=True)
parser.add_argument("--rounds", type=int, required=True)
parser.add_argument("--setup", default=""); parser.add_argument("--note", default="")
parser.add_argument("--load", nargs="*", default=[])
parser.add_argument("--versions", nargs="*", default=[])
args = parser.parse_args()
setup = dict(item.split("=", 1) for item in args.setup.split() if "=" in item)
warmup = float(setup.get("warmup", 0)); fault_at = float(setup.get("fault_at", 0)); fault_for = float(setup.get("fault_for", 0))
slow_ms = float(setup.get("slow_ms", 1000)); victim = f"server{setup.get('fault_server', '2')}"

runs = {(f, t): [] for f in args.faults for t in args.targets}
for f in args.faults:
    for t in args.targets:
        for r in range(1, args.rounds + 1):
            with open(os.path.join(args.results, f"{r}-{f}-{t}.json")) as fh:
                run = json.load(fh)
            with open(os.path.join(args.results, f"{r}-{f}-{t}.fault.json")) as fh:
                run["fault"] = json.load(fh)
            runs[f, t].append(run)
median = statistics.median


def ms(v):
    return f"{v:,.0f} ms" if v >= 100 else (f"{v:,.1f} ms" if v >= 10 else f"{v:,.2f} ms")


def offset(run, key):
    """Seconds from the start of the measured window to one of the fault's instants (0 when it never happened)."""
    at = run["fault"][key]
    return (at - run["fault"]["started_ms"]) / 1000 - warmup if at else float("nan")


def summary(f, t):
    rs = runs[f, t]
    s = {key: median(r["latency_ms"][key] for r in rs) for key in ("p50", "p99", "p999")}
    s["rounds_p999"] = [r["latency_ms"]["p999"] for r in rs]
    s["max"] = max(r["latency_ms"]["max"] for r in rs)
    s["sent"] = sum(r["scheduled"] for r in rs)
    s["ok"] = sum(r["ok"] for r in rs)
    s["failed"] = s["sent"] - s["ok"]
    errors = {}
    for r in rs:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    s["errors"] = errors
    s["slow"] = sum(r["slow"]["count"] for r in rs)
    s["slow_ok"] = sum(r["slow"]["ok"] for r in rs)
    s["rounds_slow"] = [r["slow"]["count"] for r in rs]
    # The victim's share of the 200 answers before the fault: how much of the load the fault could touch.
    def share_before(r):
        before = [sec for sec in r["seconds"] if sec["second"] + 1 <= offset(r, "fault_ms")]
        ok = sum(sec["ok"] for sec in before)
        return sum(sec.get("servers", {}).get(victim, 0) for sec in before) / ok if ok else float("nan")
    s["share"] = statistics.mean(share_before(r) for r in rs)
    s["fault_at"] = median(offset(r, "fault_ms") for r in rs)
    s["up_after"] = median(offset(r, "up_ms") - offset(r, "fault_ms") for r in rs)
    s["lag99"] = max(r["send_lag_ms"]["p99"] for r in rs)
    return s


S = {(f, t): summary(f, t) for f in args.faults for t in args.targets}

out = header("Scenario: failover side by side", "bench/failover.sh", "failover-side-by-side", args.note, args.load)
rate = float(setup.get("rate", 0))
out.append(f"| versions | {'; '.join(v.strip() for v in args.versions)} |")
service = setup.get("service_time", "0")
out.append(f"| servers | three plain LoadBalancer.Server (Release) on 127.0.0.1, no capacity limit; each `/home` answer held `Capacity:ServiceTime={service}`, "
           "so that a few requests are in flight at the server when it is killed or frozen (with none, the fault would hit almost only idle connections) |")
out.append(f"| load | open loop (`tools/LoadBalancer.LoadGen`): {rate:,.0f} requests/s scheduled by the clock, latency from each request's scheduled send time; "
           f"ids {'uniform' if float(setup.get('zipf_s', 0)) == 0 else 'Zipf s=' + setup.get('zipf_s')} over {setup.get('ids')} distinct six-digit ids "
           f"(seed {setup.get('seed')}: the same sequence for every target); {setup.get('duration')} s measured per run after {setup.get('warmup')} s unmeasured; "
           f"client timeout {setup.get('timeout')} s (longer than any balancer's, so a delay shows as a delay) |")
out.append(f"| faults | {victim} (the same for every target), by the pid of the server process the script started, {fault_at:g} s into the measured window: "
           f"**kill**: SIGKILL, and {fault_for:g} s later the same server started again on the same port; **stop**: SIGSTOP, and {fault_for:g} s later SIGCONT |")
out.append(f"| runs | every run has three fresh servers and a fresh balancer, so no run inherits another's state; {args.rounds} rounds, each running every fault against every target, the targets' order turning with the round |")
out.append("")

# --- the settings side by side -------------------------------------------------------------------------------------
c, rt, att = setup.get("connect_timeout"), setup.get("response_timeout"), setup.get("attempts")
out.append("## The settings side by side\n")
out.append("Ours runs with its defaults; the peers get the nearest settings they have. Where a peer has no equivalent, the row says so.\n")
out.append("| what | ours (default) | nginx | HAProxy |")
out.append("|---|---|---|---|")
out.append(f"| connect timeout | `Forwarding:ConnectTimeout` 2 s | `proxy_connect_timeout {c}s` | `timeout connect {c}s` |")
out.append(f"| response timeout | `Hedging:Delay` 1 s: no response headers by then, the request goes to the key's next server **as well**, first answer wins; the first send is cut off only at `Retry:AttemptTimeout` 10 s | "
           f"`proxy_read_timeout {rt}s`: the attempt fails and goes to the next server (`proxy_next_upstream error timeout`) | "
           f"`timeout server {rt}s`: the attempt fails and is sent again (`retry-on conn-failure empty-response response-timeout`) |")
out.append(f"| attempts per request | `Retry:MaxAttempts` 3 (a hedge counts as one), within `Retry:TotalTimeout` 30 s and the retry budget (20 %, at least 10 at once) | "
           f"`proxy_next_upstream_tries {att}`, `proxy_next_upstream_timeout {setup.get('total_timeout')}s` | `retries {int(att) - 1}`, `option redispatch 1` (every retry on another server) |")
out.append(f"| a request broken after it was sent | retried on the next server (GET is idempotent; a connection dropped unanswered outside the retry budget) | retried (`error`; GET) | retried (`empty-response`) |")
out.append(f"| passive removal | per-server circuit breaker: ≥ 50 % of ≥ 5 attempts failing within 10 s opens it for 3 s (a hedged first send counts as failed); 2 attempts in a row outpaced by their hedges take the server out at once for 3 s (`CircuitBreaker:OutpacedToOpen`), and its requests still waiting are hedged then | "
           f"`max_fails={setup.get('max_fails')} fail_timeout={setup.get('fail_timeout')}s`: out for {setup.get('fail_timeout')} s after {setup.get('max_fails')} failures within {setup.get('fail_timeout')} s, then one trial request | "
           f"`observe layer4 error-limit {setup.get('error_limit')} on-error mark-down`: {setup.get('error_limit')} connection failures in a row mark it down |")
out.append(f"| active health | `Health:Interval` 1 s (start to start), `Health:Timeout` 500 ms, out after `Health:FailuresToLeave` 2, back after `Health:PassesToRejoin` 1 | none (active checks are nginx Plus) | "
           f"`check inter {setup.get('check_interval')}s`, `timeout check {float(setup.get('check_timeout', 0)) * 1000:g}ms`, `fall {setup.get('fall')}`, `rise {setup.get('rise')}` (`option httpchk GET /heartbeat`) |")
out.append("")
out.append("A peer's response timeout is a hard limit: a healthy answer slower than it fails the attempt. Ours only hedges at that "
           "point and lets the first send go on, so its 1 s means \"send a second copy\", not \"give up\"; that is why the peers "
           "get the hedging delay as their timeout (with a 10 s one they would hold every request of a frozen server for the whole freeze).\n")

# --- the figures ---------------------------------------------------------------------------------------------------
out.append("## Results\n")
out.append(f"Sums over the {args.rounds} rounds (requests, failures, delayed) and medians of the rounds (latency of the 200 answers; max: the most of any round). "
           f"*Delayed* counts requests, whatever their outcome, that ended more than {slow_ms:g} ms after their scheduled send.\n")
for f in args.faults:
    out.append(f"### {victim} {FAULT_SHORT.get(f, f)} ({FAULT_NAMES.get(f, f)})\n")
    out.append(f"| target | sent | ok | failed (by kind) | delayed > {slow_ms / 1000:g} s (of them ok) | p50 | p99 | p99.9 | max | p99.9 per round | delayed per round | {victim}'s share before the fault |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in args.targets:
        s = S[f, t]
        kinds = ", ".join(f"{k}: {v:,}" for k, v in sorted(s["errors"].items()))
        out.append(f"| {SHORT.get(t, t)} | {s['sent']:,} | {s['ok']:,} | {s['failed']:,}{f' ({kinds})' if kinds else ''} | {s['slow']:,} ({s['slow_ok']:,}) | "
                   f"{ms(s['p50'])} | {ms(s['p99'])} | {ms(s['p999'])} | {ms(s['max'])} | {' / '.join(ms(v) for v in s['rounds_p999'])} | "
                   f"{' / '.join(f'{v:,}' for v in s['rounds_slow'])} | {s['share']:.1%} |")
    out.append("")
    first = S[f, args.targets[0]]
    up = "the restarted server answered" if f == "kill" else "SIGCONT"
    out.append(f"The fault came {first['fault_at']:.2f} s into the measured window (median of the runs; planned {fault_at:g} s); {up} "
               f"{first['up_after']:.2f} s after it. Per second (p99 of the 200 answers, median of the rounds; delayed and failed requests summed over the rounds, by scheduled send time):\n")
    out.append(f"![{f}](failover-{f}.png)\n")

# --- the goal ------------------------------------------------------------------------------------------------------
peers = [t for t in args.targets if not t.startswith("ours")]
ours_targets = [t for t in args.targets if t.startswith("ours")]
if ours_targets and peers:
    out.append("## The goal\n")
    out.append("> ours loses no request in either case and has the lowest p99.9 and the fewest requests delayed over 1 s.\n")
    if len(ours_targets) > 1:
        out.append(f"Each of ours ({', '.join(SHORT.get(t, t) for t in ours_targets)}) against the peers.\n")
for t_ours in ours_targets if peers else []:
    for f in args.faults:
        o = S[f, t_ours]
        best999 = min(peers, key=lambda t: S[f, t]["p999"])
        bestslow = min(peers, key=lambda t: S[f, t]["slow"])
        lost = o["failed"]
        low999 = all(o["p999"] < S[f, t]["p999"] for t in peers)
        fewest = all(o["slow"] <= S[f, t]["slow"] for t in peers)
        tied = fewest and any(o["slow"] == S[f, t]["slow"] for t in peers)
        kinds = ", ".join(f"{k}: {v:,}" for k, v in sorted(o["errors"].items()))
        out.append(f"**{victim} {FAULT_SHORT.get(f, f)}, {SHORT.get(t_ours, t_ours)}**\n")
        out.append(f"- No request lost: **{'met' if lost == 0 else 'not met'}**: ours failed {lost:,} of {o['sent']:,}"
                   + (f" ({kinds})" if kinds else "") + "; " + ", ".join(f"{SHORT.get(t, t)} {S[f, t]['failed']:,}" for t in peers) + ".")
        out.append(f"- Lowest p99.9: **{'met' if low999 else 'not met'}**: ours {ms(o['p999'])}; "
                   + ", ".join(f"{SHORT.get(t, t)} {ms(S[f, t]['p999'])}" for t in peers)
                   + f" (ours / {SHORT.get(best999, best999)}: {o['p999'] / S[f, best999]['p999']:.2f}×).")
        out.append(f"- Fewest requests delayed over {slow_ms / 1000:g} s: **{('met (tied)' if tied else 'met') if fewest else 'not met'}**: ours {o['slow']:,}; "
                   + ", ".join(f"{SHORT.get(t, t)} {S[f, t]['slow']:,}" for t in peers)
                   + (f" ({o['slow'] - S[f, bestslow]['slow']:+,} against {SHORT.get(bestslow, bestslow)})" if not fewest else "") + ".")
        out.append("")

out.append(f"The generator kept to its schedule: the 99th percentile of its send lateness was at most "
           f"{max(s['lag99'] for s in S.values()):.2f} ms in any run (it is part of every latency above). The machine is shared with "
           "other work, so absolute figures are noisy: compare the targets within this run only.\n")
out.append("![summary](failover-summary.png)\n")
with open(args.out, "w") as fh:
    fh.write("\n".join(out))

# --- charts -------------------------------------------------------------------------------------------------------
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker

log_format = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
for f in args.faults:
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    for t in args.targets:
        rs = runs[f, t]
        n = min(len(r["seconds"]) for r in rs)
        xs = list(range(n))
        centre = [i + 0.5 for i in xs]  # a point stands for its whole second
        top.plot(centre, [median(max(r["seconds"][i]["p99_ms"], 0.1) for r in rs) for i in xs], marker="o", ms=3, label=SHORT.get(t, t), color=COLORS.get(t))
        middle.plot(centre, [sum(r["seconds"][i]["slow"] for r in rs) for i in xs], marker="o", ms=3, label=SHORT.get(t, t), color=COLORS.get(t))
        bottom.plot(centre, [sum(r["seconds"][i]["errors"] for r in rs) for i in xs], marker="o", ms=3, label=SHORT.get(t, t), color=COLORS.get(t))
    first = S[f, args.targets[0]]
    for ax in (top, middle, bottom):
        ax.axvspan(first["fault_at"], first["fault_at"] + fault_for, color="gray", alpha=0.15)
        ax.axvline(first["fault_at"] + first["up_after"], color="gray", linestyle=":", linewidth=1)
    for ax in (middle, bottom):
        ax.set_ylim(bottom=0, top=max(1, ax.get_ylim()[1])); ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    top.set_yscale("log"); top.yaxis.set_major_formatter(log_format); top.yaxis.set_minor_formatter(log_format)
    top.set_ylabel("p99 of the 200s (ms, log)")
    top.set_title(f"Failover: {victim} {FAULT_SHORT.get(f, f)} (shaded: the fault; dotted: {victim} answering again)")
    middle.set_ylabel(f"delayed > {slow_ms / 1000:g} s\n(sum of {args.rounds} rounds)")
    bottom.set_ylabel(f"failed\n(sum of {args.rounds} rounds)")
    bottom.set_xlabel("second of the measured window (by scheduled send time)")
    top.legend(fontsize=8)
    fig.tight_layout(); fig.savefig(os.path.join(args.images, f"failover-{f}.png"), dpi=110); plt.close(fig)

fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
width = 0.8 / len(args.targets)
xs = range(len(args.faults))
for k, t in enumerate(args.targets):
    pos = [i + (k - (len(args.targets) - 1) / 2) * width for i in xs]
    axes[0].bar(pos, [S[f, t]["p999"] for f in args.faults], width, label=SHORT.get(t, t), color=COLORS.get(t))
    axes[1].bar(pos, [S[f, t]["slow"] for f in args.faults], width, label=SHORT.get(t, t), color=COLORS.get(t))
    axes[2].bar(pos, [S[f, t]["failed"] for f in args.faults], width, label=SHORT.get(t, t), color=COLORS.get(t))
    for i, f in enumerate(args.faults):
        axes[2].annotate(f"{S[f, t]['failed']:,}", (pos[i], S[f, t]["failed"]), ha="center", va="bottom", fontsize=8)
        axes[1].annotate(f"{S[f, t]['slow']:,}", (pos[i], S[f, t]["slow"]), ha="center", va="bottom", fontsize=8)
for ax, title in zip(axes, ["p99.9 of the 200s (ms, median of the rounds)", f"requests delayed > {slow_ms / 1000:g} s (sum)", "failed requests (sum)"]):
    ax.set_xticks(list(xs)); ax.set_xticklabels([FAULT_SHORT.get(f, f) for f in args.faults]); ax.set_title(title, fontsize=10)
axes[0].legend(fontsize=8)
for ax in axes[1:]:
    ax.set_ylim(bottom=0, top=max(1, ax.get_ylim()[1] * 1.1))
fig.suptitle(f"Failover side by side: {rate:,.0f} requests/s, {args.rounds} rounds")
fig.tight_layout(); fig.savefig(os.path.join(args.images, "failover-summary.png"), dpi=110); plt.close(fig)
