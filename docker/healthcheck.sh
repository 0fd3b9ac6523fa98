#!/usr/bin/env bash
# Container health probe: GET <path> from this container's own HTTP port; healthy on a 2xx status.
# The aspnet runtime image ships no curl or wget, and adding them would grow the image and its CVE surface;
# bash (in the image already) can speak the one HTTP/1.1 request a probe needs through /dev/tcp.
# Usage: healthcheck.sh /alive    (port: first of HTTP_PORTS / ASPNETCORE_HTTP_PORTS, else 8080)
set -euo pipefail

path="${1:-/alive}"
ports="${HTTP_PORTS:-${ASPNETCORE_HTTP_PORTS:-8080}}"
port="${ports%%[;,]*}"

exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
# Status line: HTTP/1.1 200 OK
read -r -t 5 _ status _ <&3
exec 3>&-
[[ "$status" =~ ^2[0-9][0-9]$ ]]
