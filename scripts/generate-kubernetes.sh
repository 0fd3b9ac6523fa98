#!/usr/bin/env bash
# Regenerates deploy/kubernetes/ (kustomize: a folder per workload and a top-level kustomization.yaml) from the
# AppHost's Aspire manifest. Arguments go to the AppHost as configuration, e.g.:
#   scripts/generate-kubernetes.sh LoadBalancer:Servers=5 Proxy:Balancing:Algorithm=Maglev
# The AppHost only publishes its manifest here (publish mode): it starts no resources and binds no ports.
# See docs/kubernetes.md for deploying the result.
set -euo pipefail
cd "$(dirname "$0")/.."

manifest_dir="$(mktemp -d)"
trap 'rm -rf "$manifest_dir"' EXIT

dotnet run --project LoadBalancer.AppHost -- \
  --publisher manifest --output-path "$manifest_dir/aspire-manifest.json" "$@"
dotnet run --project tools/LoadBalancer.ComposeGen -- \
  --manifest "$manifest_dir/aspire-manifest.json" --format kubernetes --output deploy/kubernetes
