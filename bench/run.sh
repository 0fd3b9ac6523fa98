#!/usr/bin/env bash
# Benchmark: our proxy against nginx, HAProxy and plain YARP, all in front of the same three LoadBalancer.Server
# instances on 127.0.0.1. One command: bench/run.sh  (env: DURATION=10 ROUNDS=3 CONNECTIONS=32 WARMUP=8 NOTE="...")
# VARIANTS=1 also measures nginx and HAProxy with one tuned setting each taken back (access log on, one worker, no
# upstream keep-alive, HAProxy's own thread and reuse defaults), to show how much a peer's figure depends on its
# configuration. OURS_VARIANTS=1 measures ours with one thing changed each (no hedging, traces sampled at 10 %,
# workstation GC, server GC without DATAS, socket continuations on the thread pool, thread-pool workers that block
# at once instead of spinning).
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
VARIANTS="${VARIANTS:-0}"
WORK="$(mktemp -d /tmp/lb-bench.XXXXXX)"
OUT="$BENCH/results/latest.md"
PIDS=()

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# --- tools --------------------------------------------------------------------------------------------------------
need_tools wrk nginx haproxy
command -v python3 >/dev/null || { echo "python3 is needed to pick free ports" >&2; exit 1; }

# --- build --------------------------------------------------------------------------------------------------------
build_release LoadBalancer.Server LoadBalancer.Proxy bench/YarpBaseline

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning

# --- the three servers --------------------------------------------------------------------------------------------
# Each server listens twice, as under the AppHost: HTTP/1.1 (what nginx, the direct row and every proxy's default use)
# and h2c, HTTP/2 with prior knowledge, on the port named by Server__H2cPort.
SERVER_PORTS=()
SERVER_H2C_PORTS=()
SERVER_PIDS=()
for i in 1 2 3; do
  port=$(free_port)
  h2c=$(free_port)
  SERVER_PORTS+=("$port")
  SERVER_H2C_PORTS+=("$h2c")
  SERVER_ID=$i ASPNETCORE_URLS="http://127.0.0.1:$port;http://127.0.0.1:$h2c" Server__H2cPort="$h2c" \
    start "server$i" dotnet "$WORK/bin/LoadBalancer.Server/LoadBalancer.Server.dll"
  SERVER_PIDS+=("$LAST_PID")
done
for port in "${SERVER_PORTS[@]}"; do wait_up "http://127.0.0.1:$port"; done
S1=${SERVER_PORTS[0]} S2=${SERVER_PORTS[1]} S3=${SERVER_PORTS[2]}
H1=${SERVER_H2C_PORTS[0]} H2=${SERVER_H2C_PORTS[1]} H3=${SERVER_H2C_PORTS[2]}

# --- the collector: the real Aspire dashboard, as under the AppHost ---------------------------------------------------
# Run from the NuGet package the AppHost restores (the version the AppHost references), OTLP over gRPC, unsecured on
# 127.0.0.1. Its CPU is measured separately (collector_ns): the proxy's own cost of exporting is in the proxy's.
declare -A URL PID
ASPIRE_VERSION=$(sed -n 's|.*"Aspire.Hosting.AppHost" Version="\([^"]*\)".*|\1|p' "$ROOT/Directory.Packages.props")
DASHBOARD="${NUGET_PACKAGES:-$HOME/.nuget/packages}/aspire.dashboard.sdk.linux-x64/$ASPIRE_VERSION/tools/Aspire.Dashboard"
[[ -x "$DASHBOARD" ]] || dotnet restore "$ROOT/LoadBalancer.AppHost" -nologo -v q >/dev/null
[[ -x "$DASHBOARD" ]] || { echo "no Aspire dashboard at $DASHBOARD" >&2; exit 1; }
DASHBOARD_UI=$(free_port)
DASHBOARD_OTLP=$(free_port)
ASPNETCORE_URLS="http://127.0.0.1:$DASHBOARD_UI" DOTNET_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$DASHBOARD_OTLP" \
  DOTNET_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true start dashboard "$DASHBOARD"
PID[dashboard]=$LAST_PID
# What the AppHost gives every project in run mode (besides its endpoint and service name): OTLP over gRPC, the batch
# processors and the metric reader every second, every trace sampled.
APPHOST_TELEMETRY=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$DASHBOARD_OTLP" OTEL_EXPORTER_OTLP_PROTOCOL=grpc
  OTEL_SERVICE_NAME=proxy OTEL_BSP_SCHEDULE_DELAY=1000 OTEL_BLRP_SCHEDULE_DELAY=1000 OTEL_METRIC_EXPORT_INTERVAL=1000
  OTEL_METRICS_EXEMPLAR_FILTER=trace_based OTEL_TRACES_SAMPLER=always_on OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY=in_memory)

# --- the proxies --------------------------------------------------------------------------------------------------
URL[direct]="http://127.0.0.1:$S1"
PID[direct]=${SERVER_PIDS[0]}

start_ours() { # name, the three upstream ports, then extra NAME=value settings
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  start "$name" env ASPNETCORE_URLS="${URL[$name]}" Services__server1__http__0="http://127.0.0.1:$2" \
    Services__server2__http__0="http://127.0.0.1:$3" Services__server3__http__0="http://127.0.0.1:$4" "${@:5}" \
    dotnet "$WORK/bin/LoadBalancer.Proxy/LoadBalancer.Proxy.dll"
  PID[$name]=$LAST_PID
}
# As the AppHost runs it: HTTP/2 to the servers' h2c endpoints, where the requests in flight share a connection, and
# its telemetry exported to the dashboard.
start_ours ours "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}"
# The same with telemetry on but nowhere to send it: spans created and tagged, nothing exported.
start_ours ours-noexport "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2
# Its standalone default, HTTP/1.1 to the servers, as nginx's and plain YARP's.
start_ours ours-h1 "$S1" "$S2" "$S3"
# With OpenTelemetry switched off (the SDK's standard switch): what telemetry costs, measured alongside.
start_ours ours-notel "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 OTEL_SDK_DISABLED=true

start_yarp() { # name, comma-separated upstream URLs, then extra NAME=value settings
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  start "$name" env ASPNETCORE_URLS="${URL[$name]}" BENCH_UPSTREAMS="$2" "${@:3}" dotnet "$WORK/bin/YarpBaseline/YarpBaseline.dll"
  PID[$name]=$LAST_PID
}
start_yarp yarp "http://127.0.0.1:$S1,http://127.0.0.1:$S2,http://127.0.0.1:$S3"
start_yarp yarp-h2c "http://127.0.0.1:$H1,http://127.0.0.1:$H2,http://127.0.0.1:$H3" BENCH_HTTP2=1

fill() { # port, template, output (- for stdout)
  if [[ "$3" == - ]]; then set -- "$1" "$2" /dev/stdout; fi
  sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$1|g" -e "s|@S1@|$S1|g" -e "s|@S2@|$S2|g" -e "s|@S3@|$S3|g" "$2" >"$3"
}

start_peer() { # name, nginx|haproxy, template, sed script applied to the filled template (may be empty)
  local name=$1 port; port=$(free_port); URL[$name]="http://127.0.0.1:$port"
  fill "$port" "$3" - | sed -e "${4:-}" -e "s|$2.pid|$name.pid|" >"$WORK/$name.conf"
  case $2 in
    nginx) start "$name" nginx -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf" ;;
    haproxy) start "$name" haproxy -db -f "$WORK/$name.conf" ;;
  esac
  PID[$name]=$LAST_PID
}
NGINX_TEMPLATE="$BENCH/config/nginx.conf.template"
HAPROXY_TEMPLATE="$BENCH/config/haproxy.cfg.template"
start_peer nginx nginx "$NGINX_TEMPLATE"
start_peer haproxy haproxy "$HAPROXY_TEMPLATE"
# HAProxy speaking HTTP/2 to the h2c endpoints (`proto h2`), to compare like with like. HAProxy 2.6 sends
# `:scheme https` for an origin-form request, which Kestrel refuses on a cleartext connection; an absolute URI fixes it.
S1=$H1 S2=$H2 S3=$H3 start_peer haproxy-h2c haproxy "$HAPROXY_TEMPLATE" \
  's|^\(  server .*\)$|\1 proto h2|;s|^  default_backend servers$|  http-request set-uri http://%[req.hdr(host)]%[pathq]\n&|'

TARGETS=(direct ours ours-noexport ours-h1 ours-notel nginx haproxy haproxy-h2c yarp yarp-h2c)

# Peer variants (VARIANTS=1): one setting changed each, from the tuned templates above, so each row says what that
# setting is worth. Not used for the ratios.
if [[ "$VARIANTS" == 1 ]]; then
  start_peer nginx-accesslog nginx "$NGINX_TEMPLATE" "s|access_log off;|access_log $WORK/nginx-access.log;|"
  start_peer nginx-1worker nginx "$NGINX_TEMPLATE" 's|worker_processes auto;|worker_processes 1;|'
  start_peer nginx-nokeepalive nginx "$NGINX_TEMPLATE" '/keepalive 64;\|proxy_http_version\|proxy_set_header Connection/d'
  start_peer haproxy-stock haproxy "$HAPROXY_TEMPLATE" '/nbthread\|http-reuse/d'
  TARGETS+=(nginx-accesslog nginx-1worker nginx-nokeepalive haproxy-stock)
fi
# Variants of ours (OURS_VARIANTS=1): one thing changed each from `ours`, to say what it costs on this machine. Not
# used for the goals.
if [[ "${OURS_VARIANTS:-0}" == 1 ]]; then
  start_ours ours-nohedge "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" Hedging__Enabled=false
  # One in ten new traces: the standard variables, after the AppHost's always_on (a later NAME=value wins in env).
  start_ours ours-sampled "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
  start_ours ours-wksgc "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" DOTNET_gcServer=0
  start_ours ours-nodatas "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" DOTNET_GCDynamicAdaptationMode=0
  start_ours ours-noinline "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" \
    Forwarding__InlineSocketCompletions=false
  start_ours ours-nospin "$H1" "$H2" "$H3" Forwarding__ServerProtocol=Http2 "${APPHOST_TELEMETRY[@]}" \
    DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
  TARGETS+=(ours-nohedge ours-sampled ours-wksgc ours-nodatas ours-noinline ours-nospin)
fi
for t in "${TARGETS[@]}"; do wait_up "${URL[$t]}" || { cat "$WORK/$t.log" >&2 2>/dev/null; exit 1; }; done

# --- measure, alternating -----------------------------------------------------------------------------------------
cpu_ticks() { # pids...: CPU clock ticks (user + system) of the processes and their children (nginx's workers)
  local total=0 pid f
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p"; done || true); do
    read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

machine_ticks() { # busy, idle and stolen ticks of the whole machine (steal: what the hypervisor gave other guests)
  local _ user nice system idle iowait irq softirq steal
  read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
  echo "$((user + nice + system + irq + softirq)) $((idle + iowait)) $steal"
}

other_servers() { # target: the server pids that are not the target itself
  local pid
  for pid in "${SERVER_PIDS[@]}"; do [[ "$pid" == "${PID[$1]}" ]] || echo "$pid"; done
}

measure() { # target, seconds -> BENCH line with CPU time per request: the target's own (cpu_ns), the servers'
  # (servers_ns), wrk's (wrk_ns), the whole machine's busy time (machine_ns) and the idle share (idle_pct)
  local before after line requests servers_before servers_after busy_before idle_before busy_after idle_after tck
  local collector_before collector_after steal_before steal_after
  local -a servers
  mapfile -t servers < <(other_servers "$1")
  read -r busy_before idle_before steal_before < <(machine_ticks)
  before=$(cpu_ticks "${PID[$1]}")
  servers_before=$(cpu_ticks "${servers[@]}")
  collector_before=$(cpu_ticks "${PID[dashboard]}")
  line=$(wrk -t1 -c"$CONNECTIONS" -d"${2}s" --latency -s "$BENCH/config/random-id.lua" "${URL[$1]}/" | grep '^BENCH ')
  after=$(cpu_ticks "${PID[$1]}")
  servers_after=$(cpu_ticks "${servers[@]}")
  collector_after=$(cpu_ticks "${PID[dashboard]}")
  read -r busy_after idle_after steal_after < <(machine_ticks)
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  ((requests > 0)) || requests=1
  tck=$(getconf CLK_TCK)
  # Measured rounds call this in a subshell of its own, so `times` gives the CPU time of the children it waited for:
  # wrk, and the few short helpers above (milliseconds against seconds).
  local wrk_seconds
  local times_file="$WORK/times.$BASHPID"
  times >"$times_file" # not in a pipe: that would run `times` in a subshell of its own, with no children
  wrk_seconds=$(tail -1 "$times_file" | awk '{ gsub("s", "", $1); gsub("s", "", $2); split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  echo "$line cpu_ns=$(( (after - before) * 1000000000 / tck / requests ))" \
    "servers_ns=$(( (servers_after - servers_before) * 1000000000 / tck / requests ))" \
    "collector_ns=$(( (collector_after - collector_before) * 1000000000 / tck / requests ))" \
    "wrk_ns=$(awk -v s="$wrk_seconds" -v r="$requests" 'BEGIN { printf "%d", s * 1e9 / r }')" \
    "machine_ns=$(( (busy_after - busy_before) * 1000000000 / tck / requests ))" \
    "idle_pct=$(( (idle_after - idle_before) * 100 / ((busy_after - busy_before) + (idle_after - idle_before) + 1) ))" \
    "steal_pct=$(( (steal_after - steal_before) * 100 / ((busy_after - busy_before) + (idle_after - idle_before) + (steal_after - steal_before) + 1) ))"
}

settle_collector() { # waits (up to 5 s) until the dashboard has worked off what the last target exported
  local before after _
  for _ in $(seq 1 10); do
    before=$(cpu_ticks "${PID[dashboard]}")
    sleep 0.5
    after=$(cpu_ticks "${PID[dashboard]}")
    (( after - before <= 2 )) && return 0
  done
  return 0 # every proxy's metrics keep it a little busy: measure anyway
}

for t in "${TARGETS[@]}"; do
  log "warm-up $t (${WARMUP}s)"
  measure "$t" "$WARMUP" >/dev/null
  settle_collector
done

: >"$WORK/results.txt"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    log "round $round/$ROUNDS: $t (${DURATION}s, -t1 -c$CONNECTIONS)"
    echo "$t $(measure "$t" "$DURATION")" | tee -a "$WORK/results.txt" >&2
    settle_collector
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# The dashboard must have received what `ours` exported, or its row measured nothing: its own API says so.
EXPORTED=$(curl -fsS "http://127.0.0.1:$DASHBOARD_UI/api/telemetry/resources" 2>/dev/null | python3 -c \
  'import json, sys; print(", ".join(sorted({r["name"] for r in json.load(sys.stdin) if r.get("hasTraces")})))' 2>/dev/null || echo "")
log "the dashboard holds traces from: ${EXPORTED:-nothing}"
[[ "$EXPORTED" == *proxy* ]] || { echo "the dashboard received no trace from the proxy" >&2; cat "$WORK/dashboard.log" >&2; exit 1; }

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
    for t in ours ours-noexport ours-notel yarp-h2c yarp; do
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
  --exported "$EXPORTED" --load "$LOAD_BEFORE" "$LOAD_AFTER" \
  --versions "dotnet $(dotnet --version)" "$(nginx -v 2>&1)" "$(haproxy -v 2>&1 | head -1)" "$(wrk -v 2>&1 | head -1)"
log "wrote $OUT"
cat "$OUT"
