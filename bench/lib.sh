# Shared by the bench scripts (bench/run.sh, bench/hotkeys.sh): source it after setting WORK (a temporary folder) and
# PIDS=(). It stops every process started with `start` on exit, by pid, and removes WORK (kept with KEEP=1).

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
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

log() { printf '\033[1m==> [%s] %s\033[0m\n' "$(date +%T)" "$*" >&2; }

# Installs the Debian packages named, if any (as root, as CI runs).
install_missing() { # package...
  (($#)) || return 0
  log "installing $*"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

# Installs what is missing of the commands named (each is its own Debian package) and, with --matplotlib first, sets
# PYTHON to a python3 that can draw a report's charts: the first on PATH that has matplotlib, else Debian's own with
# python3-matplotlib.
need_tools() { # [--matplotlib] command...
  local missing=() charts=0 candidate
  if [[ "${1:-}" == --matplotlib ]]; then charts=1; shift; fi
  for candidate in "$@"; do command -v "$candidate" >/dev/null || missing+=("$candidate"); done
  if ((charts)); then
    PYTHON=""
    for candidate in python3 /usr/bin/python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import matplotlib' 2>/dev/null; then PYTHON=$candidate; break; fi
    done
    [[ -n "$PYTHON" ]] || { missing+=(python3-matplotlib); PYTHON=/usr/bin/python3; }
  fi
  install_missing "${missing[@]}"
}

# Builds each project (a path under ROOT) in Release into WORK/bin/<its folder name>.
build_release() { # project...
  log "building Release"
  local project
  for project in "$@"; do
    dotnet build "$ROOT/$project" -c Release -nologo -v q -o "$WORK/bin/$(basename "$project")" >"$WORK/build.log" 2>&1 \
      || { cat "$WORK/build.log" >&2; exit 1; }
  done
}

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
