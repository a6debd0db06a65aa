#!/usr/bin/env bash
# Warm claims from the Kubernetes pool against a real API server (docs/BENCHMARKS.md):
#   bench/k8s/run-k8s-claim-bench.sh KUBECONFIG [CLAIMS, default 200]
# Any cluster whose account may create a namespace and set pod status will do; for a local control
# plane (etcd + kube-apiserver on 127.0.0.1, no kubelet) see docs/kubernetes.md, Testing.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 KUBECONFIG [CLAIMS]" >&2; exit 2; }
KCFG="$(readlink -f "$1")"
cd "$ROOT"
source scripts/java-env.sh
airlock_find_java
export JAVA_HOME="$JAVA_HOME_FOUND"
MAVEN_OPTS="$(airlock_maven_opts)" ./mvnw -B -ntp -q -pl bench -am package -DskipTests
exec "$JAVA" -cp bench/target/benchmarks.jar dev.airlock.bench.k8s.K8sClaimBench "$KCFG" "${2:-200}"
