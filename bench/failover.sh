#!/usr/bin/env bash
# Scenario: failover side by side. The same open-loop load (tools/LoadBalancer.LoadGen at a fixed rate) through ours,
# nginx and HAProxy, each in front of three LoadBalancer.Server processes, while one server is (a) killed with SIGKILL
# and started again on the same port, (b) frozen with SIGSTOP and resumed with SIGCONT. The fault is injected by the pid
# of the server process this script started, at the same offset into every run; every run has fresh servers and a
# fresh balancer, so runs are independent. Rounds alternate over the faults and targets. All on 127.0.0.1.
# One command: bench/failover.sh
# env: RATE=300 DURATION=14 WARMUP=3 ROUNDS=3 FAULT_AT=4 FAULT_FOR=4 FAULT_SERVER=2 IDS=1000 ZIPF_S=0 SEED=1
#      SERVICE_TIME=00:00:00.010 TIMEOUT=15 SLOW_MS=1000 NOTE="..."
#      peers: CONNECT_TIMEOUT=2 RESPONSE_TIMEOUT=1 (seconds) ATTEMPTS=3 TOTAL_TIMEOUT=30 MAX_FAILS=2 FAIL_TIMEOUT=1
#      CHECK_INTERVAL=1 CHECK_TIMEOUT=0.5 FALL=2 RISE=1 ERROR_LIMIT=2 (the mapping to ours: bench/results/failover.md)
#      OURS_ENV="Hedging__Delay=00:00:00.200" runs ours with other settings (say so in NOTE);
#      ONLY="ours nginx" FAULTS="kill" measure a subset (of ours ours-p99 nginx haproxy; ours-p99 is ours with
#      Hedging__DelayPercentile=99); KEEP=1 keeps the work folder (every process's log, per-run
#      JSON); DIAGNOSE=1 (implies KEEP=1) adds every request as CSV, logs ours at Information (OURS_LOG_LEVEL=Debug
#      adds each hedge, event 230) and records ours' /health every 250 ms and its runtime counters (dotnet-counters)
# Writes bench/results/failover.md and bench/results/failover-*.png. Every process it starts is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
RATE="${RATE:-300}"
DURATION="${DURATION:-14}"
WARMUP="${WARMUP:-3}"
ROUNDS="${ROUNDS:-3}"
FAULT_AT="${FAULT_AT:-4}"
FAULT_FOR="${FAULT_FOR:-4}"
FAULT_SERVER="${FAULT_SERVER:-2}"
IDS="${IDS:-1000}"
ZIPF_S="${ZIPF_S:-0}"
SEED="${SEED:-1}"
SERVICE_TIME="${SERVICE_TIME:-00:00:00.010}"
TIMEOUT="${TIMEOUT:-15}"
SLOW_MS="${SLOW_MS:-1000}"
CONNECT_TIMEOUT="${CONNECT_TIMEOUT:-2}"
RESPONSE_TIMEOUT="${RESPONSE_TIMEOUT:-1}"
ATTEMPTS="${ATTEMPTS:-3}"
TOTAL_TIMEOUT="${TOTAL_TIMEOUT:-30}"
MAX_FAILS="${MAX_FAILS:-2}"
FAIL_TIMEOUT="${FAIL_TIMEOUT:-1}" # whole seconds: nginx reads no finer
CHECK_INTERVAL="${CHECK_INTERVAL:-1}"
CHECK_TIMEOUT="${CHECK_TIMEOUT:-0.5}"
FALL="${FALL:-2}"
RISE="${RISE:-1}"
ERROR_LIMIT="${ERROR_LIMIT:-2}"
NOTE="${NOTE:-}"
read -r -a TARGETS <<<"${ONLY:-ours ours-p99 nginx haproxy}"
read -r -a FAULTS <<<"${FAULTS:-kill stop}"
WORK="$(mktemp -d /tmp/lb-failover.XXXXXX)"
OUT="$BENCH/results/failover.md"
PIDS=()

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# A frozen server would ignore lib.sh's SIGTERM until its SIGKILL 10 s later: resume it first, then clean up as usual.
FROZEN=""
on_exit() {
  [[ -z "$FROZEN" ]] || kill -CONT "$FROZEN" 2>/dev/null || true
  cleanup
}
trap on_exit EXIT INT TERM

# Stops the processes given (started with lib.sh `start`) by pid and takes them off PIDS, so a pid the system hands out
# again later is never signalled. lib.sh has only the stop-everything-at-exit; this script needs one per run.
stop_pids() { # pid...
  local pid _
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  local kept=() p q
  for p in "${PIDS[@]}"; do
    for q in "$@"; do [[ "$p" == "$q" ]] && continue 2; done
    kept+=("$p")
  done
  PIDS=("${kept[@]}")
}

now_ms() { date +%s%3N; }
sleep_until_ms() { # unix ms
  local wait=$(($1 - $(now_ms)))
  ((wait <= 0)) || sleep "$(printf '%d.%03d' $((wait / 1000)) $((wait % 1000)))"
}

# --- tools --------------------------------------------------------------------------------------------------------
need_tools --matplotlib nginx haproxy curl   # sets PYTHON for the report

# --- build --------------------------------------------------------------------------------------------------------
build_release LoadBalancer.Server LoadBalancer.Proxy tools/LoadBalancer.LoadGen
# READY_TO_RUN=1: ours precompiled (ReadyToRun, its dependencies too), as a deployment may publish it, so the first
# retry or hedge of its life does not wait for the JIT to compile the path.
if [[ "${READY_TO_RUN:-0}" == 1 ]]; then
  log "publishing ours ReadyToRun"
  dotnet publish "$ROOT/LoadBalancer.Proxy" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -nologo -v q -o "$WORK/bin/LoadBalancer.Proxy" >>"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
fi

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
DIAGNOSE="${DIAGNOSE:-0}"
if [[ "$DIAGNOSE" == 1 ]]; then KEEP=1; OURS_LOG_LEVEL="${OURS_LOG_LEVEL:-Information}"; else OURS_LOG_LEVEL=Warning; fi
COUNTERS=$(command -v dotnet-counters || ls "$HOME/.dotnet/tools/dotnet-counters" 2>/dev/null || true)

# --- one run: fresh servers, a fresh balancer, the load, the fault ------------------------------------------------
# SERVER_ID is the name the balancers know them by, so /home's message, X-Server-Id and X-Upstream-Server agree.
start_server() { # run name, index, port
  SERVER_ID="server$2" ASPNETCORE_URLS="http://127.0.0.1:$3" Capacity__ServiceTime="$SERVICE_TIME" \
    start "$1-server$2" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
}

ms() { awk -v s="$1" 'BEGIN { printf "%dms", s * 1000 }'; } # seconds -> "500ms", which nginx and HAProxy both read
fill() { # port, template -> stdout
  sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$1|g" -e "s|@S1@|$S1|g" -e "s|@S2@|$S2|g" -e "s|@S3@|$S3|g" \
    -e "s|@CONNECT_TIMEOUT@|$(ms "$CONNECT_TIMEOUT")|g" -e "s|@RESPONSE_TIMEOUT@|$(ms "$RESPONSE_TIMEOUT")|g" \
    -e "s|@ATTEMPTS@|$ATTEMPTS|g" -e "s|@RETRIES@|$((ATTEMPTS - 1))|g" -e "s|@TOTAL_TIMEOUT@|$(ms "$TOTAL_TIMEOUT")|g" \
    -e "s|@MAX_FAILS@|$MAX_FAILS|g" -e "s|@FAIL_TIMEOUT@|${FAIL_TIMEOUT}s|g" \
    -e "s|@CHECK_INTERVAL@|$(ms "$CHECK_INTERVAL")|g" -e "s|@CHECK_TIMEOUT@|$(ms "$CHECK_TIMEOUT")|g" \
    -e "s|@FALL@|$FALL|g" -e "s|@RISE@|$RISE|g" -e "s|@ERROR_LIMIT@|$ERROR_LIMIT|g" "$2"
}

start_target() { # run name, target, port: sets LAST_PID
  local name="$1-$2"
  case $2 in
    ours | ours-p99)
      # Standalone, HTTP/1.1 to the servers, every failover setting at its default (Retry, Hedging, CircuitBreaker,
      # Health): the mapping to the peers' settings is in the report. ours-p99 hedges each server's requests after
      # its own recent p99 instead of the fixed delay (Hedging:DelayPercentile, off by default).
      local own=()
      [[ $2 != ours-p99 ]] || own=(Hedging__DelayPercentile=99)
      start "$name" env "${own[@]}" ASPNETCORE_URLS="http://127.0.0.1:$3" Logging__LogLevel__Default="$OURS_LOG_LEVEL" \
        Logging__LogLevel__Microsoft.AspNetCore=Warning Services__server1__http__0="http://127.0.0.1:$S1" \
        Services__server2__http__0="http://127.0.0.1:$S2" Services__server3__http__0="http://127.0.0.1:$S3" \
        ${OURS_ENV:-} dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll" ;; # OURS_ENV: NAME=value words, split on purpose
    nginx)
      fill "$3" "$BENCH/config/failover_nginx.conf.template" | sed -e "s|nginx\.pid|$name.pid|" -e "s|nginx-error\.log|$name-error.log|" >"$WORK/$name.conf"
      start "$name" nginx -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf" ;;
    haproxy)
      fill "$3" "$BENCH/config/failover_haproxy.cfg.template" | sed -e "s|haproxy\.pid|$name.pid|" >"$WORK/$name.conf"
      start "$name" haproxy -db -f "$WORK/$name.conf" ;;
    *) echo "unknown target $2" >&2; exit 1 ;;
  esac
}

run_one() { # round, fault, target
  local run="$1-$2-$3" ports=() pids=() i port run_started; run_started=$(now_ms)
  for i in 1 2 3; do
    port=$(free_port)
    ports+=("$port")
    start_server "$run" "$i" "$port"
    pids+=("$LAST_PID")
  done
  S1=${ports[0]} S2=${ports[1]} S3=${ports[2]}
  for port in "${ports[@]}"; do wait_up "http://127.0.0.1:$port"; done
  local proxy_port; proxy_port=$(free_port)
  start_target "$run" "$3" "$proxy_port"
  local proxy=$LAST_PID url="http://127.0.0.1:$proxy_port"
  wait_up "$url" || { cat "$WORK/$run-$3.log" >&2 2>/dev/null; exit 1; }

  local started="$WORK/$run.started" records=()
  [[ "$DIAGNOSE" != 1 ]] || records=(--records "$WORK/$run.requests.csv")
  start "$run-loadgen" dotnet "$WORK/bin/LoadBalancer.LoadGen/LoadBalancer.LoadGen.dll" --url "$url" --rate "$RATE" \
    --duration "$DURATION" --warmup "$WARMUP" --zipf-s "$ZIPF_S" --ids "$IDS" --seed "$SEED" --timeout "$TIMEOUT" \
    --servers 3 --slow-ms "$SLOW_MS" --label "$3" --started "$started" --out "$WORK/results/$run.json" "${records[@]}"
  local loadgen=$LAST_PID diagnostics=()
  if [[ "$DIAGNOSE" == 1 && "$3" == ours* ]]; then
    # What ours thought of its servers, every 250 ms, and its runtime's counters (thread pool, GC), for a diagnosis.
    start "$run-health" bash -c "while :; do printf '%s ' \$(date +%s%3N); curl -sS -m 1 '$url/health' || echo; echo; sleep 0.25; done"
    diagnostics+=("$LAST_PID")
    if [[ -n "$COUNTERS" ]]; then
      start "$run-counters" "$COUNTERS" collect -p "$proxy" --refresh-interval 1 --format csv -o "$WORK/$run-counters.csv" --counters System.Runtime
      diagnostics+=("$LAST_PID")
    fi
  fi
  for _ in $(seq 1 3000); do [[ -s "$started" ]] && break; kill -0 "$loadgen" 2>/dev/null || break; sleep 0.01; done
  [[ -s "$started" ]] || { cat "$WORK/$run-loadgen.log" >&2; exit 1; }

  # The fault, by the pid of the server process started above, at the same offset into the measured window every run.
  local victim=${pids[$((FAULT_SERVER - 1))]} victim_port=${ports[$((FAULT_SERVER - 1))]} fault_ms recover_ms up_ms watcher=""
  sleep_until_ms $(($(cat "$started") + (WARMUP + FAULT_AT) * 1000))
  fault_ms=$(now_ms)
  case $2 in
    kill) kill -KILL "$victim"; wait "$victim" 2>/dev/null || true; stop_pids "$victim" ;;
    stop) kill -STOP "$victim"; FROZEN=$victim ;;
  esac
  sleep_until_ms $((fault_ms + FAULT_FOR * 1000))
  recover_ms=$(now_ms)
  case $2 in
    kill)
      # The same server again, on the same port; when it answers is written down for the report.
      start_server "$run-restarted" "$FAULT_SERVER" "$victim_port"
      pids[FAULT_SERVER - 1]=$LAST_PID
      (wait_up "http://127.0.0.1:$victim_port" >/dev/null 2>&1 && now_ms >"$WORK/$run.up") &
      watcher=$!
      PIDS+=("$watcher") ;;
    stop) kill -CONT "$victim"; FROZEN=""; echo "$recover_ms" >"$WORK/$run.up" ;;
  esac
  wait "$loadgen" || { cat "$WORK/$run-loadgen.log" >&2; exit 1; }
  stop_pids "$loadgen" "${diagnostics[@]}"
  [[ -z "$watcher" ]] || stop_pids "$watcher"
  up_ms=$(cat "$WORK/$run.up" 2>/dev/null || echo 0)
  printf '{"fault":"%s","server":"server%s","pid":%s,"started_ms":%s,"fault_ms":%s,"recover_ms":%s,"up_ms":%s}\n' \
    "$2" "$FAULT_SERVER" "$victim" "$(cat "$started")" "$fault_ms" "$recover_ms" "$up_ms" >"$WORK/results/$run.fault.json"
  tail -1 "$WORK/$run-loadgen.log" >&2
  local stopping; stopping=$(now_ms)
  stop_pids "$proxy" "${pids[@]}"
  log "$run: $((($(now_ms) - run_started) / 1000)) s in all, $((($(now_ms) - stopping) / 1000)) s of it stopping"
}

# --- measure: every round runs each fault against each target, the targets' order turning with the round -----------
mkdir -p "$WORK/results"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  shift_by=$(((round - 1) % ${#TARGETS[@]}))
  order=("${TARGETS[@]:shift_by}" "${TARGETS[@]:0:shift_by}")
  for fault in "${FAULTS[@]}"; do
    for t in "${order[@]}"; do
      log "round $round/$ROUNDS, $fault: $t (${DURATION}s at $RATE requests/s; server$FAULT_SERVER gets SIG${fault^^} at ${FAULT_AT}s, back ${FAULT_FOR}s later)"
      run_one "$round" "$fault" "$t"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
"$PYTHON" "$BENCH/config/failover_report.py" "$WORK/results" "$OUT" --images "$BENCH/results" \
  --targets "${TARGETS[@]}" --faults "${FAULTS[@]}" --rounds "$ROUNDS" --note "$NOTE" \
  --setup "rate=$RATE duration=$DURATION warmup=$WARMUP fault_at=$FAULT_AT fault_for=$FAULT_FOR fault_server=$FAULT_SERVER ids=$IDS zipf_s=$ZIPF_S seed=$SEED service_time=$SERVICE_TIME timeout=$TIMEOUT slow_ms=$SLOW_MS connect_timeout=$CONNECT_TIMEOUT response_timeout=$RESPONSE_TIMEOUT attempts=$ATTEMPTS total_timeout=$TOTAL_TIMEOUT max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT check_interval=$CHECK_INTERVAL check_timeout=$CHECK_TIMEOUT fall=$FALL rise=$RISE error_limit=$ERROR_LIMIT" \
  --load "$LOAD_BEFORE" "$LOAD_AFTER" \
  --versions "dotnet $(dotnet --version)" "$(nginx -v 2>&1)" "$(haproxy -v 2>&1 | head -1)"
log "wrote $OUT"
cat "$OUT"
