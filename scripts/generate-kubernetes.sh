#!/usr/bin/env bash
# Regenerates deploy/kubernetes/ (kustomize: a folder per workload and a top-level kustomization.yaml) from the
# AppHost's Aspire manifest, as generate-compose.sh does docker-compose.yml; arguments go to the AppHost as
# configuration. See docs/kubernetes.md for deploying the result.
exec "$(dirname "$0")/generate-compose.sh" --kubernetes "$@"
