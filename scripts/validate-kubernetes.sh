#!/usr/bin/env bash
# Renders deploy/kubernetes (or the folder given) with `kubectl kustomize` and validates every object against the
# Kubernetes OpenAPI schemas, offline (scripts/validate-kubernetes/validate.js). No cluster is needed or contacted.
# The Secrets' env files are never committed: a copy of the folder gets placeholders from each *.env.example.
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-deploy/kubernetes}"

command -v kubectl >/dev/null 2>&1 || { echo "kubectl is not installed: it renders the kustomize folder" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "node and npm are not installed: the schema check runs on node" >&2; exit 1; }
[ -d scripts/validate-kubernetes/node_modules ] ||
  npm ci --prefix scripts/validate-kubernetes --no-audit --no-fund --loglevel=error

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$folder" "$work/kubernetes"
find "$work/kubernetes" -name '*.env.example' | while read -r example; do
  sed -E 's/^([A-Za-z_][A-Za-z0-9_]*)=$/\1=placeholder-for-validation/' "$example" > "${example%.example}"
done

kubectl kustomize "$work/kubernetes" > "$work/rendered.yaml"
node scripts/validate-kubernetes/validate.js "$work/rendered.yaml"
