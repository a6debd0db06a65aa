#!/usr/bin/env bash
# Pool fill time on a project image against the host root, side by side in one run (docs/images.md "Cost"):
#   sudo bench/pool/run-fill-bench.sh [ROUNDS, default 10] [SIZE, default 4]
# Builds the offline test image (scripts/make-test-image.sh, tag bench) and the bench jar, then
# dev.airlock.bench.pool.PoolFillBench. Root: it builds real sandboxes (destroyed as each daemon closes).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cd "$ROOT"
[[ "$(id -u)" == 0 ]] || { echo "run-fill-bench: run as root (the daemon builds sandboxes)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "run-fill-bench: needs umoci (apt-get install umoci)" >&2; exit 1; }
source scripts/java-env.sh
airlock_find_java
export JAVA_HOME="$JAVA_HOME_FOUND"
mkdir -p bench/target/test-images
scripts/make-test-image.sh "$ROOT/bench/target/test-images/devbox" bench >/dev/null
MAVEN_OPTS="$(airlock_maven_opts)" ./mvnw -B -ntp -q -pl bench -am package -DskipTests
exec "$JAVA" -Dairlock.bench.image="$ROOT/bench/target/test-images/devbox" -cp bench/target/benchmarks.jar \
  dev.airlock.bench.pool.PoolFillBench "${1:-10}" "${2:-4}"
