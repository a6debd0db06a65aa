#!/usr/bin/env bash
# Warm claims against cold starts, side by side, through the daemon API (docs/BENCHMARKS.md):
#   sudo bench/pool/run-claim-bench.sh [CLAIMS per side, default 200]
# Root: it builds real sandboxes (they are destroyed when it ends).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cd "$ROOT"
source scripts/java-env.sh
airlock_find_java
export JAVA_HOME="$JAVA_HOME_FOUND"
MAVEN_OPTS="$(airlock_maven_opts)" ./mvnw -B -ntp -q -pl bench -am package -DskipTests
exec "$JAVA" -cp bench/target/benchmarks.jar dev.airlock.bench.pool.ClaimBench "${1:-200}"
