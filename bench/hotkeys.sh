#!/usr/bin/env bash
# Scenario: hot keys. Zipf-distributed ids offered at a fixed rate by an open-loop generator (tools/LoadBalancer.LoadGen)
# to three LoadBalancer.Server instances with a bounded capacity (Capacity:*: a service time, a concurrency limit and a
# bounded queue), through: ours with Balancing:Algorithm=Ring, ours with BoundedLoad, nginx `hash $arg_id consistent`
# and HAProxy `hash-type consistent` with `hash-balance-factor`. All on 127.0.0.1, measured alternating over the rounds.
# One command: bench/hotkeys.sh
# env: RATE=420 DURATION=15 WARMUP=3 ROUNDS=3 ZIPF_S=1.1 IDS=1000 SEED=1 SERVICE_TIME=00:00:00.020 CONCURRENCY=4
#      QUEUE=16 BALANCE_FACTOR=1.25 TIMEOUT=5 NOTE="..."
#      BOUNDED_ALT="Balancing__BoundedLoadProbe=..."  adds a target ours-bounded-alt: BoundedLoad with those settings
#      ONLY="ours-bounded haproxy"  measures only these targets; KEEP=1 keeps the work folder (logs, per-run JSON)
# Writes bench/results/hotkeys.md and bench/results/hotkeys-*.png. Every process it starts is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
RATE="${RATE:-420}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
ROUNDS="${ROUNDS:-3}"
ZIPF_S="${ZIPF_S:-1.1}"
IDS="${IDS:-1000}"
SEED="${SEED:-1}"
SERVICE_TIME="${SERVICE_TIME:-00:00:00.020}"
CONCURRENCY="${CONCURRENCY:-4}"
QUEUE="${QUEUE:-16}"
BALANCE_FACTOR="${BALANCE_FACTOR:-1.25}"
TIMEOUT="${TIMEOUT:-5}"
BOUNDED_ALT="${BOUNDED_ALT:-}"
NOTE="${NOTE:-}"
WORK="$(mktemp -d /tmp/lb-hotkeys.XXXXXX)"
OUT="$BENCH/results/hotkeys.md"
PIDS=()

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# --- tools --------------------------------------------------------------------------------------------------------
need_tools --matplotlib nginx haproxy curl   # sets PYTHON for the report

# --- build --------------------------------------------------------------------------------------------------------
build_release LoadBalancer.Server LoadBalancer.Proxy tools/LoadBalancer.LoadGen

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning

# --- the three servers, each with a bounded capacity ------------------------------------------------------------------
# SERVER_ID is the name the proxy knows them by, so /home's message, X-Server-Id and X-Upstream-Server agree.
SERVER_PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  SERVER_PORTS+=("$port")
  SERVER_ID="server$i" ASPNETCORE_URLS="http://127.0.0.1:$port" Capacity__ServiceTime="$SERVICE_TIME" \
    Capacity__ConcurrencyLimit="$CONCURRENCY" Capacity__QueueLimit="$QUEUE" \
    start "server$i" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
done
for port in "${SERVER_PORTS[@]}"; do wait_up "http://127.0.0.1:$port"; done
S1=${SERVER_PORTS[0]} S2=${SERVER_PORTS[1]} S3=${SERVER_PORTS[2]}

# --- the balancers ------------------------------------------------------------------------------------------------
declare -A URL
start_ours() { # name, then extra NAME=value settings
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  # HTTP/1.1 to the servers (the proxy's standalone default), as nginx and HAProxy speak to them here.
  # Its Prometheus page gives the proxy's own count of requests admitted over their bound (over_bound below).
  start "$name" env ASPNETCORE_URLS="${URL[$name]}" Telemetry__PrometheusPath=/metrics Services__server1__http__0="http://127.0.0.1:$S1" \
    Services__server2__http__0="http://127.0.0.1:$S2" Services__server3__http__0="http://127.0.0.1:$S3" "${@:2}" \
    dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll"
}
start_ours ours-ring Balancing__Algorithm=Ring
start_ours ours-bounded Balancing__Algorithm=BoundedLoad Balancing__BalanceFactor="$BALANCE_FACTOR"
TARGETS=(ours-ring ours-bounded)
if [[ -n "$BOUNDED_ALT" ]]; then
  # shellcheck disable=SC2086 # NAME=value words, split on purpose
  start_ours ours-bounded-alt Balancing__Algorithm=BoundedLoad Balancing__BalanceFactor="$BALANCE_FACTOR" $BOUNDED_ALT
  TARGETS+=(ours-bounded-alt)
fi

fill() { # port, template -> stdout
  sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$1|g" -e "s|@S1@|$S1|g" -e "s|@S2@|$S2|g" -e "s|@S3@|$S3|g" "$2"
}
start_peer() { # name, nginx|haproxy, template, sed script applied to the filled template (may be empty)
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  fill "$port" "$3" | sed -e "${4:-}" -e "s|$2.pid|$name.pid|" >"$WORK/$name.conf"
  case $2 in
    nginx) start "$name" nginx -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf" ;;
    haproxy) start "$name" haproxy -db -f "$WORK/$name.conf" ;;
  esac
}
# The same tuned templates as bench/run.sh. nginx: `hash $arg_id consistent` (ketama), no bounded loads.
start_peer nginx nginx "$BENCH/config/nginx.conf.template"
# HAProxy: bounded loads in percent of the mean (125 = c 1.25). `balance url_param id` rather than `balance uri`: the
# latter hashes the path before the `?` only (`whole` would add the query), so every /home?id= would hash alike.
HASH_BALANCE_FACTOR=$(python3 -c "print(round($BALANCE_FACTOR * 100))")
start_peer haproxy haproxy "$BENCH/config/haproxy.cfg.template" "s|^  hash-type consistent$|&\n  hash-balance-factor $HASH_BALANCE_FACTOR|"
TARGETS+=(nginx haproxy)
grep -q "hash-balance-factor $HASH_BALANCE_FACTOR" "$WORK/haproxy.conf" || { echo "hash-balance-factor not set" >&2; exit 1; }
# ONLY="ours-bounded haproxy" measures a subset (the others are started all the same).
if [[ -n "${ONLY:-}" ]]; then read -r -a TARGETS <<<"$ONLY"; fi
for t in "${TARGETS[@]}"; do wait_up "${URL[$t]}" || { cat "$WORK/$t.log" >&2 2>/dev/null; exit 1; }; done

# --- measure, alternating -----------------------------------------------------------------------------------------
capacity() { # reset|read: every server's counters (POST /capacity/reset answers them, then starts them again)
  local port first=1
  printf '{'
  for i in 0 1 2; do
    port=${SERVER_PORTS[$i]}
    ((first)) || printf ','
    first=0
    printf '"server%d":' $((i + 1))
    curl -fsS -X POST "http://127.0.0.1:$port/capacity/reset"
  done
  printf '}\n'
}

# The generator resets the servers' counters when its measured window begins, so their peaks cover that window only.
RESETS=$(printf 'http://127.0.0.1:%s/capacity/reset,' "${SERVER_PORTS[@]}")
loadgen() { # target, seconds, warm-up seconds, output file
  dotnet "$WORK/bin/LoadBalancer.LoadGen/LoadBalancer.LoadGen.dll" --url "${URL[$1]}" --rate "$RATE" --duration "$2" \
    --warmup "$3" --zipf-s "$ZIPF_S" --ids "$IDS" --seed "$SEED" --timeout "$TIMEOUT" --servers 3 \
    --balance-factor "$BALANCE_FACTOR" --label "$1" --out "$4" --reset "$RESETS"
}

# The proxy's loadbalancer.bounded_load.over_bound so far (absent until the first: 0); ours only.
over_bound() { # target
  if [[ $1 == ours-* ]]; then
    curl -fsS "${URL[$1]}/metrics" | awk '/^loadbalancer_bounded_load_over_bound/ { s += $2 } END { print s + 0 }'
  else
    echo null
  fi
}

for t in "${TARGETS[@]}"; do
  log "warm-up $t (5 s at $RATE requests/s, not measured)"
  loadgen "$t" 4 1 "$WORK/warmup-$t.json"
done

mkdir -p "$WORK/results"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    log "round $round/$ROUNDS: $t (${DURATION}s at $RATE requests/s, Zipf s=$ZIPF_S over $IDS ids)"
    before=$(over_bound "$t")
    loadgen "$t" "$DURATION" "$WARMUP" "$WORK/results/$round-$t.json"
    capacity >"$WORK/results/$round-$t.capacity.json"
    after=$(over_bound "$t")
    echo "{\"over_bound\": $([[ $after == null ]] && echo null || echo $((after - before)))}" >"$WORK/results/$round-$t.proxy.json"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
"$PYTHON" "$BENCH/config/hotkeys_report.py" "$WORK/results" "$OUT" --images "$BENCH/results" \
  --targets "${TARGETS[@]}" --rounds "$ROUNDS" --note "$NOTE" \
  --setup "rate=$RATE duration=$DURATION warmup=$WARMUP zipf_s=$ZIPF_S ids=$IDS seed=$SEED service_time=$SERVICE_TIME concurrency=$CONCURRENCY queue=$QUEUE balance_factor=$BALANCE_FACTOR timeout=$TIMEOUT" --bounded-alt "$BOUNDED_ALT" \
  --load "$LOAD_BEFORE" "$LOAD_AFTER" \
  --versions "dotnet $(dotnet --version)" "$(nginx -v 2>&1)" "$(haproxy -v 2>&1 | head -1)"
log "wrote $OUT"
cat "$OUT"
