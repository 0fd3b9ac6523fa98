#!/usr/bin/env bash
# Brings up a Docker engine where none answers, and stops exactly the one it started (docs/deployment.md, "A Docker
# engine where none runs"). Used by .ci/run; developers may use it the same way.
#
#   scripts/docker-engine.sh start    # nothing to do if `docker info` answers; else starts dockerd, records its pid
#   scripts/docker-engine.sh stop     # stops the dockerd this script started (TERM, wait, KILL only then); else nothing
#   scripts/docker-engine.sh status
#
# Both commands are idempotent. The state (pid, log, what the machine looked like before) lives in
# $DOCKER_ENGINE_STATE (default /run/loadbalancer-docker-engine) and is removed by stop.
#
# dockerd changes the machine while it runs and partly after: it sets net.ipv4.ip_forward=1, adds the docker0 bridge
# and iptables chains (DOCKER, DOCKER-USER, DOCKER-ISOLATION-STAGE-*, NAT rules). stop puts ip_forward back and
# removes docker0 when they were so before start; the iptables chains stay (empty of containers' rules), as do images
# and volumes under /var/lib/docker.
set -euo pipefail

state="${DOCKER_ENGINE_STATE:-/run/loadbalancer-docker-engine}"
pidfile="$state/dockerd.pid"
log="$state/dockerd.log"
start_timeout=30   # seconds for `docker info` to answer after dockerd starts (about 1 s here)
stop_timeout=45    # seconds for dockerd to stop its containers (15 s each, in parallel) and exit after TERM

say() { echo "docker-engine: $*" >&2; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# The process start time (field 22 of /proc/<pid>/stat), so that a recycled pid is never taken for our dockerd.
start_time_of() { [ -r "/proc/$1/stat" ] && awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat"; }

# Prints the recorded pid when that process is still the dockerd we started.
our_pid() {
  local pid started
  [ -f "$pidfile" ] || return 1
  read -r pid started < "$pidfile"
  [ -n "$pid" ] && [ "$(start_time_of "$pid" 2>/dev/null)" = "$started" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v dockerd)")" ] || return 1
  echo "$pid"
}

# Waits up to $2 seconds for process $1 to exit.
wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 4; i++)); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.25
  done
  [ ! -d "/proc/$pid" ]
}

start() {
  local pid
  if pid=$(our_pid); then
    say "dockerd $pid (started by this script) is running"
  elif engine_answers; then
    say "a Docker engine already answers; not starting one (stop will leave it alone)"
    return 0
  else
    command -v dockerd >/dev/null || { say "dockerd is not installed (apt-get install docker.io)"; return 1; }
    mkdir -p "$state"
    cat /proc/sys/net/ipv4/ip_forward > "$state/ip_forward.before"
    ip link show docker0 >/dev/null 2>&1 || touch "$state/docker0.absent"
    # setsid: its own session, so a Ctrl-C meant for the caller does not reach it; stop ends it by pid.
    setsid dockerd --storage-driver=overlay2 > "$log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid $(start_time_of "$pid")" > "$pidfile"
    say "started dockerd $pid (log: $log)"
  fi

  local i
  for ((i = 0; i < start_timeout * 2; i++)); do
    engine_answers && { say "engine answers"; return 0; }
    [ -d "/proc/$pid" ] || break
    sleep 0.5
  done
  say "dockerd did not answer within ${start_timeout}s; its log:"
  tail -n 30 "$log" >&2 || true
  stop
  return 1
}

stop() {
  local pid containerd=""
  if [ ! -d "$state" ]; then
    say "nothing to stop (this script started no engine)"
    return 0
  fi
  if pid=$(our_pid); then
    # dockerd runs its own containerd as a child; remember it in case dockerd has to be killed.
    containerd=$(awk -v p="$pid" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -n 1 || true)
    say "stopping dockerd $pid (TERM; up to ${stop_timeout}s for its containers to stop)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$stop_timeout"; then
      say "dockerd $pid still runs after ${stop_timeout}s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || say "dockerd $pid did not exit"
    fi
    # Only after dockerd is gone: its containerd child, if dockerd could not stop it (same start-time check).
    if [ -n "$containerd" ] && [ -d "/proc/$containerd" ] &&
       [ "$(readlink "/proc/$containerd/exe" 2>/dev/null)" = "$(readlink -f "$(command -v containerd 2>/dev/null || echo /nonexistent)")" ]; then
      kill -TERM "$containerd" 2>/dev/null || true
      wait_gone "$containerd" 10 || kill -KILL "$containerd" 2>/dev/null || true
    fi
  else
    say "the recorded dockerd is no longer running"
  fi

  # Put back what dockerd changed and can be put back; see the header for what stays.
  if [ -f "$state/docker0.absent" ] && ip link show docker0 >/dev/null 2>&1; then
    ip link delete docker0 || say "could not remove docker0"
  fi
  if [ -f "$state/ip_forward.before" ]; then
    cat "$state/ip_forward.before" > /proc/sys/net/ipv4/ip_forward || say "could not restore ip_forward"
  fi
  rm -rf "$state"
  say "stopped; state removed"
}

status() {
  local pid
  if pid=$(our_pid); then
    say "dockerd $pid, started by this script"
  elif engine_answers; then
    say "a Docker engine answers (not started by this script)"
  else
    say "no Docker engine answers"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
