#!/usr/bin/env bash
# Benchmark: our proxy against nginx, HAProxy and plain YARP, all in front of the same three LoadBalancer.Server
# instances on 127.0.0.1. One command: bench/run.sh  (env: DURATION=10 ROUNDS=3 CONNECTIONS=32 WARMUP=8 NOTE="...")
# Writes bench/results/latest.md. Every process it starts is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
WARMUP="${WARMUP:-8}"
NOTE="${NOTE:-}"
PROFILE="${PROFILE:-1}"
WORK="$(mktemp -d /tmp/lb-bench.XXXXXX)"
OUT="$BENCH/results/latest.md"
PIDS=()

cleanup() {
  local pid _
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  # Give them 10 s to stop gracefully, then end them.
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log() { printf '\033[1m==> [%s] %s\033[0m\n' "$(date +%T)" "$*" >&2; }

# --- tools --------------------------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || { echo "python3 is needed to pick free ports" >&2; exit 1; }

# --- build --------------------------------------------------------------------------------------------------------
log "building Release"
for project in LoadBalancer.Server LoadBalancer.Proxy bench/YarpBaseline; do
  dotnet build "$ROOT/$project" -c Release -nologo -v q -o "$WORK/bin/$(basename "$project")" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_up() { # url
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1/home?id=123456" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "not answering: $1" >&2
  return 1
}

LAST_PID=""
start() { # name, then the command; environment set by the caller. Sets LAST_PID.
  "${@:2}" >"$WORK/$1.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning

# --- the three servers --------------------------------------------------------------------------------------------
SERVER_PORTS=()
SERVER_PIDS=()
for i in 1 2 3; do
  port=$(free_port)
  SERVER_PORTS+=("$port")
  SERVER_ID=$i ASPNETCORE_URLS="http://127.0.0.1:$port" start "server$i" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
  SERVER_PIDS+=("$LAST_PID")
done
for port in "${SERVER_PORTS[@]}"; do wait_up "http://127.0.0.1:$port"; done
S1=${SERVER_PORTS[0]} S2=${SERVER_PORTS[1]} S3=${SERVER_PORTS[2]}

# --- the proxies --------------------------------------------------------------------------------------------------
declare -A URL PID
URL[direct]="http://127.0.0.1:$S1"
PID[direct]=${SERVER_PIDS[0]}

port=$(free_port); URL[ours]="http://127.0.0.1:$port"
ASPNETCORE_URLS="${URL[ours]}" \
  Services__server1__http__0="http://127.0.0.1:$S1" Services__server2__http__0="http://127.0.0.1:$S2" Services__server3__http__0="http://127.0.0.1:$S3" \
  start ours dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll"
PID[ours]=$LAST_PID

# The same proxy with OpenTelemetry switched off (the SDK's standard switch): what telemetry costs, measured alongside.
port=$(free_port); URL[ours-notel]="http://127.0.0.1:$port"
ASPNETCORE_URLS="${URL[ours-notel]}" OTEL_SDK_DISABLED=true \
  Services__server1__http__0="http://127.0.0.1:$S1" Services__server2__http__0="http://127.0.0.1:$S2" Services__server3__http__0="http://127.0.0.1:$S3" \
  start ours-notel dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll"
PID[ours-notel]=$LAST_PID

port=$(free_port); URL[yarp]="http://127.0.0.1:$port"
ASPNETCORE_URLS="${URL[yarp]}" BENCH_UPSTREAMS="http://127.0.0.1:$S1,http://127.0.0.1:$S2,http://127.0.0.1:$S3" \
  start yarp dotnet "$WORK/bin/YarpBaseline/YarpBaseline.dll"
PID[yarp]=$LAST_PID

fill() { sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$1|g" -e "s|@S1@|$S1|g" -e "s|@S2@|$S2|g" -e "s|@S3@|$S3|g" "$2" >"$3"; }

port=$(free_port); URL[nginx]="http://127.0.0.1:$port"
fill "$port" "$BENCH/config/nginx.conf.template" "$WORK/nginx.conf"
start nginx nginx -e "$WORK/nginx-error.log" -p "$WORK" -c "$WORK/nginx.conf"
PID[nginx]=$LAST_PID

port=$(free_port); URL[haproxy]="http://127.0.0.1:$port"
fill "$port" "$BENCH/config/haproxy.cfg.template" "$WORK/haproxy.cfg"
start haproxy haproxy -db -f "$WORK/haproxy.cfg"
PID[haproxy]=$LAST_PID

TARGETS=(direct ours ours-notel nginx haproxy yarp)
for t in "${TARGETS[@]}"; do wait_up "${URL[$t]}" || { cat "$WORK/$t.log" >&2 2>/dev/null; exit 1; }; done

# --- measure, alternating -----------------------------------------------------------------------------------------
cpu_ticks() { # pid: CPU clock ticks (user + system) of the process and its children (nginx's workers)
  local total=0 pid f
  for pid in "$1" $(pgrep -P "$1" || true); do
    read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

measure() { # target, seconds -> BENCH line, with the target's own CPU time per request (cpu_ns)
  local before after line requests
  before=$(cpu_ticks "${PID[$1]}")
  line=$(wrk -t1 -c"$CONNECTIONS" -d"${2}s" --latency -s "$BENCH/config/random-id.lua" "${URL[$1]}/" | grep '^BENCH ')
  after=$(cpu_ticks "${PID[$1]}")
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  echo "$line cpu_ns=$(( (after - before) * 1000000000 / $(getconf CLK_TCK) / (requests > 0 ? requests : 1) ))"
}

for t in "${TARGETS[@]}"; do
  log "warm-up $t (${WARMUP}s)"
  measure "$t" "$WARMUP" >/dev/null
done

: >"$WORK/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    log "round $round/$ROUNDS: $t (${DURATION}s, -t1 -c$CONNECTIONS)"
    echo "$t $(measure "$t" "$DURATION")" | tee -a "$WORK/results.txt" >&2
  done
done

# --- allocations per request (dotnet-counters, optional): ours against plain YARP -----------------------------------
ALLOC=""
if [[ "$PROFILE" == 1 ]]; then
  COUNTERS="$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")"
  if [[ ! -x "$COUNTERS" ]]; then
    log "installing dotnet-counters (dotnet tool)"
    dotnet tool install -g dotnet-counters >/dev/null 2>&1 || true
  fi
  if [[ -x "$COUNTERS" ]]; then
    window=$((DURATION + 4))
    for t in ours yarp; do
      log "profiling $t: allocations during a ${DURATION}s run"
      "$COUNTERS" collect -p "${PID[$t]}" --counters System.Runtime --format csv -o "$WORK/counters-$t.csv" \
        --refresh-interval 1 --duration "$(printf '00:00:%02d:%02d' $((window / 60)) $((window % 60)))" </dev/null >"$WORK/counters-$t.log" 2>&1 &
      COUNTERS_PID=$!
      PIDS+=("$COUNTERS_PID")
      sleep 2
      line=$(measure "$t" "$DURATION")
      wait "$COUNTERS_PID" 2>/dev/null || true
      ALLOC+="- $t: $(python3 "$BENCH/config/alloc_per_request.py" "$WORK/counters-$t.csv" "$line" || echo "no figure")"$'\n'
    done
  fi
fi

# --- report -------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
python3 "$BENCH/config/report.py" "$WORK/results.txt" "$OUT" \
  --duration "$DURATION" --rounds "$ROUNDS" --connections "$CONNECTIONS" --note "$NOTE" --alloc "$ALLOC" \
  --versions "dotnet $(dotnet --version)" "$(nginx -v 2>&1)" "$(haproxy -v 2>&1 | head -1)" "$(wrk -v 2>&1 | head -1)"
log "wrote $OUT"
cat "$OUT"
