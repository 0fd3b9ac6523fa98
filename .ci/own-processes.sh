# Sourced by .ci/run: marks every process the run starts and, at exit, ends exactly those.
#
# Why a mark in the environment rather than a process group or session: Aspire's DCP leaves both. Checked with
# `setsid dotnet test --filter FullyQualifiedName~ProxyEndToEndTests` and `ps -eo pid,ppid,pgid,sid,args`:
# `dcp start-apiserver` is re-parented to pid 1 in a session of its own, `dcp run-controllers` starts another, and the
# servers and the proxy run in that one. Every one of them inherits the environment, though (DCP passes its own on to
# what it starts), so a variable unique to this run names what the run started and nothing else: a process someone
# else started (a developer's AppHost, another CI job's servers, a build server that was already running) lacks it.

# Sets the mark; everything started from here on inherits it.
own_processes_mark() {
  local uuid
  read -r uuid < /proc/sys/kernel/random/uuid
  export LOADBALANCER_CI_RUN="$uuid"
}

# Prints the ids of the running processes that carry this run's mark, but not this shell's own.
own_processes_list() {
  local mark environ pid entry
  [ -n "${LOADBALANCER_CI_RUN:-}" ] || return 0
  mark="LOADBALANCER_CI_RUN=$LOADBALANCER_CI_RUN"
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    # Builtins only: a helper process would carry the mark itself. Unreadable or vanished entries are skipped.
    { while IFS= read -r -d '' entry; do
        if [ "$entry" = "$mark" ]; then
          echo "$pid"
          break
        fi
      done < "$environ"; } 2>/dev/null || true
  done
}

# Ends the marked processes: TERM first (DCP stops what it runs), KILL whatever still carries the mark 10 s later.
own_processes_end() {
  local pids i
  pids=$(own_processes_list)
  [ -n "$pids" ] || return 0
  echo "Ending the processes this run started: $(echo $pids)" >&2
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 1 20); do
    pids=$(own_processes_list)
    [ -n "$pids" ] || return 0
    sleep 0.5
  done
  echo "Killing the ones still running: $(echo $pids)" >&2
  kill -KILL $pids 2>/dev/null || true
}
