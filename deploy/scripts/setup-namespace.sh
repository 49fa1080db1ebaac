#!/bin/sh
# One-shot job of docker-compose.yml (image temporalio/admin-tools, which has
# the temporal CLI): once the server answers, creates the namespace Maestro
# uses and registers Maestro's custom search attributes on it (see
# workflows.SearchAttributes). Safe to re-run: an existing namespace is kept
# and registering an existing attribute again is a no-op.
#
# The temporal CLI reads TEMPORAL_ADDRESS; NAMESPACE names the namespace.
set -eu
ns="${NAMESPACE:-default}"

echo "waiting for Temporal at ${TEMPORAL_ADDRESS}"
n=0
until temporal operator cluster health; do
  n=$((n + 1))
  if [ "$n" -ge 30 ]; then
    echo "Temporal at ${TEMPORAL_ADDRESS} is not healthy" >&2
    exit 1
  fi
  sleep 2
done

temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$ns" --retention 720h
# A namespace just created reaches the frontend's namespace cache within
# about ten seconds; until then, search attribute calls on it answer "not
# found".
n=0
until temporal operator search-attribute list --namespace "$ns" >/dev/null 2>&1; do
  n=$((n + 1))
  if [ "$n" -ge 60 ]; then
    echo "namespace $ns is not usable after 60s" >&2
    exit 1
  fi
  sleep 1
done
echo "namespace $ns ready"

for name in MaestroPipeline MaestroTemplate MaestroMode MaestroStatus; do
  temporal operator search-attribute create --namespace "$ns" --name "$name" --type Keyword
done
temporal operator search-attribute list --namespace "$ns"
echo "search attributes registered on $ns"
