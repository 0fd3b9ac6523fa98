#!/usr/bin/env bash
# Regenerates docker-compose.yml (and .env.example when the AppHost has parameters) from the AppHost's Aspire manifest;
# with --kubernetes first (scripts/generate-kubernetes.sh), deploy/kubernetes/ instead. Other arguments go to the
# AppHost as configuration, e.g.:
#   scripts/generate-compose.sh LoadBalancer:Servers=5 Proxy:Balancing:Algorithm=Maglev
# The AppHost only publishes its manifest here (publish mode): it starts no resources and binds no ports.
set -euo pipefail
cd "$(dirname "$0")/.."

output=(--output docker-compose.yml)
if [ "${1:-}" = "--kubernetes" ]; then
  shift
  output=(--format kubernetes --output deploy/kubernetes)
fi

manifest_dir="$(mktemp -d)"
trap 'rm -rf "$manifest_dir"' EXIT

dotnet run --project LoadBalancer.AppHost -- \
  --publisher manifest --output-path "$manifest_dir/aspire-manifest.json" "$@"
dotnet run --project tools/LoadBalancer.ComposeGen -- \
  --manifest "$manifest_dir/aspire-manifest.json" "${output[@]}"
