#!/usr/bin/env bash
# Roll out one overlay with its migrations first, which `kubectl apply -k` alone cannot order:
#   1. apply everything except the Deployments (namespace, settings, accounts, Services,
#      NetworkPolicies, autoscalers, the migration Job)
#   2. wait for the migration Job to complete; stop here if it does not
#   3. apply everything, which rolls the Deployments onto the new image and settings
# usage: deploy/rollout.sh deploy/k8s/overlays/prod      (KUBECTL, MIGRATION_TIMEOUT optional)
set -euo pipefail

overlay="${1:?usage: deploy/rollout.sh deploy/k8s/overlays/<dev|prod>}"
kubectl="${KUBECTL:-kubectl}"
timeout="${MIGRATION_TIMEOUT:-10m}"
migration='app.kubernetes.io/component=migration'
server='app.kubernetes.io/component=server'

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
"$kubectl" kustomize "$overlay" >"$rendered"

# A Job's pod template is immutable: remove the last release's Job rather than patch it.
"$kubectl" delete -f "$rendered" --selector "$migration" --ignore-not-found --wait=true
"$kubectl" apply -f "$rendered" --selector "app.kubernetes.io/component!=server"
read -r namespace job < <("$kubectl" get -f "$rendered" --selector "$migration" \
  -o jsonpath='{.metadata.namespace} {.metadata.name}')

# The Job gives up after activeDeadlineSeconds (600 s); keep the timeout at least that long.
if ! "$kubectl" wait --namespace "$namespace" "job/$job" --for=condition=complete \
  --timeout="$timeout"; then
  echo "rollout: migrations did not complete; the Deployments were not changed" >&2
  "$kubectl" logs --namespace "$namespace" "job/$job" --all-containers --tail=50 >&2 || true
  exit 1
fi

"$kubectl" apply -f "$rendered"
# `rollout status` takes one Deployment at a time.
for deployment in $("$kubectl" get --namespace "$namespace" deployments --selector "$server" -o name); do
  "$kubectl" rollout status --namespace "$namespace" "$deployment" --timeout="$timeout"
done
