#!/usr/bin/env bash
# Measures whether DCP's endpoint proxy should sit between our proxy and the servers (AppHost setting
# LoadBalancer:ProxiedServers). Starts the AppHost twice, alternating, and drives the proxy with wrk.
# Usage: bench/dcp-proxy.sh [seconds-per-run] [rounds]   → writes bench/results/dcp-proxy.md
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
rounds=${2:-2}
port=${PROXY_PORT:-5600}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
dotnet build LoadBalancer.AppHost -c Release -v q >/dev/null

lua=$(mktemp --suffix .lua)
cat >"$lua" <<'LUA'
math.randomseed(os.time())
request = function() return wrk.format("GET", "/home?id=" .. math.random(1, 1000000)) end
LUA

pid=
# SIGTERM lets the AppHost stop its resources through DCP; then wait until the port is free again.
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=
  for _ in $(seq 1 30); do curl -s -o /dev/null "http://127.0.0.1:$port/" || break; sleep 1; done
}
trap 'stop; rm -f "$lua"' EXIT

run() { # $1 = true|false
  ASPNETCORE_URLS=http://127.0.0.1:${DASHBOARD_PORT:-15999} \
  ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:${OTLP_PORT:-19999} \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:${RESOURCE_PORT:-20999} \
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true DOTNET_ENVIRONMENT=Production \
  LoadBalancer__ProxyPort=$port LoadBalancer__ProxiedServers=$1 \
    dotnet LoadBalancer.AppHost/bin/Release/net10.0/LoadBalancer.AppHost.dll >/tmp/dcp-proxy-apphost.log 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/home?id=1" >/dev/null 2>&1 && break; sleep 1; done
  curl -fs "http://127.0.0.1:$port/home?id=1" >/dev/null || { echo "proxy did not start; see /tmp/dcp-proxy-apphost.log" >&2; exit 1; }
  wrk -t1 -c32 -d2s -s "$lua" "http://127.0.0.1:$port" >/dev/null   # warm-up
  wrk -t1 -c32 -d"${duration}s" --latency -s "$lua" "http://127.0.0.1:$port" | tee "/tmp/dcp-proxy-$1.txt" >/dev/null
  stop
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "/tmp/dcp-proxy-$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "/tmp/dcp-proxy-$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "/tmp/dcp-proxy-$1.txt")
  echo "| $1 | $rps | $p50 | $p99 |"
}

{
  echo "# DCP endpoint proxy in front of the servers: measured"
  echo
  echo "$(date -u +%F), $(nproc) cores, wrk -t1 -c32 -d${duration}s, random id per request, 3 servers, proxy in Release."
  echo
  echo "| ProxiedServers | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  for _ in $(seq 1 "$rounds"); do run false; run true; done
} | tee bench/results/dcp-proxy.md
