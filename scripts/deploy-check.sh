#!/usr/bin/env bash
# make deploy-check: the Helm chart's two documented value sets linted and rendered, every rendered manifest decoded
# strictly into k8s.io/api types and every rendered collector configuration validated by the built binary
# (deploy/check, a module of its own), plus every shipped configuration under deploy/ validated as users run it.
# Usage: scripts/deploy-check.sh <helm> <otelcol-fapilog binary>
set -euo pipefail
helm=$(realpath "$1") binary=$(realpath "$2")
cd "$(dirname "$0")/.."
chart=deploy/helm/otelcol-fapilog out=_build/deploy
gate=--feature-gates=+extension.healthcheck.useComponentStatus
mkdir -p "$out"

for role in agent gateway; do
  "$helm" lint --strict "$chart" -f "deploy/helm/values-$role.yaml"
  "$helm" template "otelcol-fapilog-$role" "$chart" -f "deploy/helm/values-$role.yaml" --namespace observability \
    >"$out/$role.yaml"
done
# The gateway with persistent queues: a StatefulSet with volume claims instead of the Deployment, its exporter's
# queue on them (the overlay deploy/README.md documents).
"$helm" lint --strict "$chart" -f deploy/helm/values-gateway.yaml -f deploy/helm/values-gateway-persistent.yaml
"$helm" template otelcol-fapilog-gateway "$chart" -f deploy/helm/values-gateway.yaml --namespace observability \
  -f deploy/helm/values-gateway-persistent.yaml >"$out/gateway-persistent.yaml"

for config in deploy/image/config.yaml deploy/examples/*.yaml deploy/gateway/*.yaml deploy/kafka/*.yaml; do
  "$binary" "$gate" validate --config="$config" >/dev/null || { echo "deploy-check: $config does not validate" >&2; exit 1; }
done
echo "deploy-check: shipped configs validate: deploy/image deploy/examples deploy/gateway deploy/kafka"

cd deploy/check
go vet ./...
go test -count=1 ./...
go run . -binary "$binary" -example ../examples/fapilog-files.yaml \
  -same-operators ../gateway/agent.yaml,../kafka/agent.yaml \
  "../../$out/agent.yaml" "../../$out/gateway.yaml" "../../$out/gateway-persistent.yaml"
