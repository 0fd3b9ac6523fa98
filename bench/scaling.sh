#!/usr/bin/env bash
# Scenario: how the cost grows. (a) Throughput and p99 at 32, 256 and 1024 client connections (wrk -t1, random ids)
# against ours (standalone, HTTP/1.1 to the servers), nginx and HAProxy (the tuned templates) in front of three
# LoadBalancer.Server processes. (b) A hundred servers (one LoadBalancer.Server process with Listeners:Count=100)
# under a fixed-rate open-loop load (tools/LoadBalancer.LoadGen): ours steady, ours while a server is added back and
# another removed every 200 ms through the admin API for the whole run, and nginx and HAProxy steady with the same
# hundred servers. (c) The table rebuild time at 10 and 100 servers (LoadBalancer.Benchmarks' RebuildBenchmarks).
# All on 127.0.0.1, measured alternating over the rounds.
# One command: bench/scaling.sh
# env: CONNECTIONS="32 256 1024" DURATION=5 WARMUP=3 ROUNDS=3 SERVERS=100 RATE=500 CHURN_DURATION=10
#      CHURN_WARMUP=2 INTERVAL=0.2 IDS=100000 SEED=1 TIMEOUT=5 REBUILD=1 NOTE="..."
#      MANY_EXTRA="Telemetry__RemapSampleKeys=1000 ..."  NAME=value settings for ours with the hundred servers only
#      SKIP_CONNECTIONS=1 / SKIP_SERVERS=1  leave out part (a) / (b); KEEP=1 keeps the work folder (logs, JSON)
# Writes bench/results/scaling.md and bench/results/scaling-*.png. Every process it starts is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
CONNECTIONS="${CONNECTIONS:-32 256 1024}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-3}"
ROUNDS="${ROUNDS:-3}"
SERVERS="${SERVERS:-100}"
RATE="${RATE:-500}"
CHURN_DURATION="${CHURN_DURATION:-10}"
CHURN_WARMUP="${CHURN_WARMUP:-2}"
INTERVAL="${INTERVAL:-0.2}"
IDS="${IDS:-100000}"
SEED="${SEED:-1}"
TIMEOUT="${TIMEOUT:-5}"
REBUILD="${REBUILD:-1}"
SKIP_CONNECTIONS="${SKIP_CONNECTIONS:-0}"
SKIP_SERVERS="${SKIP_SERVERS:-0}"
MANY_EXTRA="${MANY_EXTRA:-}"
NOTE="${NOTE:-}"
WORK="$(mktemp -d /tmp/lb-scaling.XXXXXX)"
OUT="$BENCH/results/scaling.md"
PIDS=()

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# --- tools --------------------------------------------------------------------------------------------------------
need_tools --matplotlib wrk nginx haproxy curl   # sets PYTHON for the report

# 1024 client connections are 1024 descriptors in wrk and in each balancer, plus one or more per server connection
# behind it: raise the soft limit to the hard one, and stop if even that is too low.
NEED_FDS=$((4 * 1024 + 1024))
(($(ulimit -n) >= NEED_FDS)) || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= NEED_FDS)) || { echo "ulimit -n is $(ulimit -n); 1024 connections need $NEED_FDS (raise the hard limit)" >&2; exit 1; }

# --- build --------------------------------------------------------------------------------------------------------
build_release LoadBalancer.Server LoadBalancer.Proxy tools/LoadBalancer.LoadGen
[[ "$REBUILD" != 1 ]] || build_release LoadBalancer.Benchmarks

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning

# The first of $1 consecutive ports of 127.0.0.1 that are free now (each bound and released), for the listeners.
free_block() { # count
  python3 - "$1" <<'EOF'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(200):
    first = random.randint(20000, 60000 - count)
    held = []
    try:
        for port in range(first, first + count):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            held.append(s)
        print(first)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in held:
            s.close()
sys.exit("no block of %d free ports" % count)
EOF
}

# --- the servers --------------------------------------------------------------------------------------------------
# Three processes for part (a), as bench/run.sh and bench/hotkeys.sh have them; SERVER_ID is the ring name.
SERVER_PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  SERVER_PORTS+=("$port")
  SERVER_ID="server$i" ASPNETCORE_URLS="http://127.0.0.1:$port" start "server$i" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
done
# One process with a listener per server for part (b): listener i answers as server{i}.
FIRST_PORT=$(free_block "$SERVERS")
MANY_PORTS=()
for i in $(seq 0 $((SERVERS - 1))); do MANY_PORTS+=($((FIRST_PORT + i))); done
Listeners__Count="$SERVERS" Listeners__FirstPort="$FIRST_PORT" start "servers-$SERVERS" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
for port in "${SERVER_PORTS[@]}" "${MANY_PORTS[0]}" "${MANY_PORTS[-1]}"; do wait_up "http://127.0.0.1:$port"; done

# --- the balancers ------------------------------------------------------------------------------------------------
declare -A URL PID
ADMIN_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
start_ours() { # name, extra NAME=value settings (one argument, split at spaces; may be empty), then the server ports (server1 … serverN)
  local name=$1 port i=0 p; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  local -a services=()
  read -r -a services <<<"$2"
  for p in "${@:3}"; do i=$((i + 1)); services+=("Services__server${i}__http__0=http://127.0.0.1:$p"); done
  # HTTP/1.1 to the servers (the proxy's standalone default), as nginx and HAProxy speak to them here.
  start "$name" env ASPNETCORE_URLS="${URL[$name]}" Admin__ApiKey="$ADMIN_KEY" "${services[@]}" \
    dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll"
  PID[$name]=$LAST_PID
}

# The template with its three `server` lines (@S1@ … @S3@) as one line per port given: `server1` and @S1@ become
# `server{i}` and the port (HAProxy names its servers, nginx does not).
fill() { # port, template, server ports...
  awk -v port="$1" -v ports="${*:3}" -v work="$WORK" '
    BEGIN { n = split(ports, p, " ") }
    /@S2@|@S3@/ { next }
    /@S1@/ { for (i = 1; i <= n; i++) { line = $0; gsub("@S1@", p[i], line); gsub("server1", "server" i, line); print line } next }
    { gsub("@WORK@", work); gsub("@PORT@", port); print }' "$2"
}
start_peer() { # name, nginx|haproxy, sed script applied to the filled template (may be empty), server ports...
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  fill "$port" "$BENCH/config/$2$([[ $2 == nginx ]] && echo .conf || echo .cfg).template" "${@:4}" \
    | sed -e "${3:-}" -e "s|$2.pid|$name.pid|" >"$WORK/$name.conf"
  case $2 in
    nginx) start "$name" nginx -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf" ;;
    haproxy) start "$name" haproxy -db -f "$WORK/$name.conf" ;;
  esac
  PID[$name]=$LAST_PID
}

start_ours ours "" "${SERVER_PORTS[@]}"
start_peer nginx nginx "" "${SERVER_PORTS[@]}"
start_peer haproxy haproxy "" "${SERVER_PORTS[@]}"
TARGETS=(ours nginx haproxy)
# With a hundred servers nginx's upstream keep-alive cache (64 idle connections per worker, shared by all servers)
# cannot hold one connection per server, and the open-loop load would make it open and close connections all the
# time (and run out of ports in TIME_WAIT): it holds two per server here.
start_ours "ours-$SERVERS" "$MANY_EXTRA" "${MANY_PORTS[@]}"
start_peer "nginx-$SERVERS" nginx "s|keepalive 64;|keepalive $((2 * SERVERS));|" "${MANY_PORTS[@]}"
start_peer "haproxy-$SERVERS" haproxy "" "${MANY_PORTS[@]}"
MANY_TARGETS=("ours-$SERVERS" "nginx-$SERVERS" "haproxy-$SERVERS")
for t in "${TARGETS[@]}" "${MANY_TARGETS[@]}"; do wait_up "${URL[$t]}" || { cat "$WORK/$t.log" >&2 2>/dev/null; exit 1; }; done
ring_size() { # the proxy's ring: N from GET /rep
  curl -fsS "${URL[ours-$SERVERS]}/rep" -H "Authorization: Bearer $ADMIN_KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"]["N"])'
}
[[ "$(ring_size)" == "$SERVERS" ]] || { echo "ours-$SERVERS does not have $SERVERS servers: $(ring_size)" >&2; exit 1; }

mkdir -p "$WORK/results"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +'%Y-%m-%d %H:%M UTC')

# --- (a) client connections, alternating --------------------------------------------------------------------------
wrk_run() { # target, connections, seconds -> the BENCH line
  wrk -t1 -c"$2" -d"${3}s" --latency -s "$BENCH/config/random-id.lua" "${URL[$1]}/" | grep '^BENCH '
}
if [[ "$SKIP_CONNECTIONS" != 1 ]]; then
  read -r -a CONNS <<<"$CONNECTIONS"
  for t in "${TARGETS[@]}"; do
    log "warm-up $t (${WARMUP}s at ${CONNS[-1]} connections, not measured)"
    wrk_run "$t" "${CONNS[-1]}" "$WARMUP" >/dev/null
  done
  : >"$WORK/results/connections.txt"
  for round in $(seq 1 "$ROUNDS"); do
    for c in "${CONNS[@]}"; do
      for t in "${TARGETS[@]}"; do
        log "round $round/$ROUNDS: $t (${DURATION}s, -t1 -c$c)"
        echo "$round $t $c $(wrk_run "$t" "$c" "$DURATION")" | tee -a "$WORK/results/connections.txt" >&2
      done
    done
  done
fi

# --- (b) a hundred servers, steady and under churn, alternating -----------------------------------------------------
cpu_ticks() { # pid: CPU clock ticks (user + system) of the process and its children (nginx's workers)
  local total=0 pid f
  for pid in "$1" $(pgrep -P "$1" || true); do
    read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
# The target's CPU time over the whole run (warm-up and churn included) goes beside the summary, in <output>.cpu:
# unlike a p99 it is hardly moved by the machine's other work, so it shows what a membership change costs.
loadgen() { # target, seconds, warm-up seconds, output file
  local before after started
  before=$(cpu_ticks "${PID[$1]}")
  started=$(date +%s.%N)
  dotnet "$WORK/bin/LoadBalancer.LoadGen/LoadBalancer.LoadGen.dll" --url "${URL[$1]}" --rate "$RATE" --duration "$2" \
    --warmup "$3" --zipf-s 0 --ids "$IDS" --seed "$SEED" --timeout "$TIMEOUT" --servers "$SERVERS" --label "$1" --out "$4"
  after=$(cpu_ticks "${PID[$1]}")
  echo "{\"cpu_s\": $(python3 -c "print(($after - $before) / $(getconf CLK_TCK))"), \"wall_s\": $(python3 -c "print($(date +%s.%N) - $started)")}" >"$4.cpu"
}
churn_run() { # output prefix: the load on ours while the membership changes, from before the load to after it
  "$PYTHON" "$BENCH/config/scaling_churn.py" --url "${URL[ours-$SERVERS]}" --key "$ADMIN_KEY" --servers "$SERVERS" \
    --interval "$INTERVAL" --seed "$SEED" --out "$1.churn.jsonl" &
  local churn=$!
  PIDS+=("$churn")
  loadgen "ours-$SERVERS" "$CHURN_DURATION" "$CHURN_WARMUP" "$1.json"
  kill -TERM "$churn"
  wait "$churn"
  [[ "$(ring_size)" == "$SERVERS" ]] || { echo "after the churn ours-$SERVERS has $(ring_size) servers, not $SERVERS" >&2; exit 1; }
}
if [[ "$SKIP_SERVERS" != 1 ]]; then
  for t in "${MANY_TARGETS[@]}"; do
    log "warm-up $t (4 s at $RATE requests/s, not measured)"
    loadgen "$t" 3 1 "$WORK/warmup-$t.json"
  done
  for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS: ours-$SERVERS steady (${CHURN_DURATION}s at $RATE requests/s)"
    loadgen "ours-$SERVERS" "$CHURN_DURATION" "$CHURN_WARMUP" "$WORK/results/$round-ours-$SERVERS.json"
    log "round $round/$ROUNDS: ours-$SERVERS under churn (a server added back and another removed every ${INTERVAL}s)"
    churn_run "$WORK/results/$round-ours-$SERVERS-churn"
    for t in "${MANY_TARGETS[@]:1}"; do
      log "round $round/$ROUNDS: $t steady (${CHURN_DURATION}s at $RATE requests/s)"
      loadgen "$t" "$CHURN_DURATION" "$CHURN_WARMUP" "$WORK/results/$round-$t.json"
    done
  done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- (c) the table rebuild time -------------------------------------------------------------------------------------
# The balancers are idle now; BenchmarkDotNet's short job in process (a few seconds per case).
if [[ "$REBUILD" == 1 ]]; then
  log "table rebuild: LoadBalancer.Benchmarks RebuildBenchmarks (short job)"
  dotnet "$WORK/bin/LoadBalancer.Benchmarks/LoadBalancer.Benchmarks.dll" --filter '*RebuildBenchmarks*' --job short \
    --inProcess --artifacts "$WORK/bdn" >"$WORK/rebuild.log" 2>&1 || { tail -20 "$WORK/rebuild.log" >&2; exit 1; }
  cp "$WORK/bdn/results/"*RebuildBenchmarks-report.csv "$WORK/results/rebuild.csv"
fi

# --- report -------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
"$PYTHON" "$BENCH/config/scaling_report.py" "$WORK/results" "$OUT" --images "$BENCH/results" \
  --targets "${TARGETS[@]}" --many-targets "${MANY_TARGETS[@]}" --servers "$SERVERS" --rounds "$ROUNDS" --note "$NOTE" \
  --many-extra "$MANY_EXTRA" --setup "connections=$CONNECTIONS duration=$DURATION warmup=$WARMUP rate=$RATE churn_duration=$CHURN_DURATION churn_warmup=$CHURN_WARMUP interval=$INTERVAL ids=$IDS seed=$SEED timeout=$TIMEOUT" \
  --load "$LOAD_BEFORE" "$LOAD_AFTER" --started "$STARTED" --host "$(hostname) (nproc $(nproc))" \
  --versions "dotnet $(dotnet --version)" "$(nginx -v 2>&1)" "$(haproxy -v 2>&1 | head -1)" "$(wrk -v 2>&1 | head -1)"
log "wrote $OUT"
cat "$OUT"
