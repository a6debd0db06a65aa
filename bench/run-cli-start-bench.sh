#!/usr/bin/env bash
# Start time of the commands that still run in a JVM (everything but `airlock run` and
# `airlock sandbox exec|attach` through a daemon, which the C client serves): this build against
# another build of the CLI jar, in one run, taking turns, each jar with an AOT cache trained the way
# the package trains it (dev.airlock.cli.AotTraining) and the launcher's flags for short commands
# (scripts/jvm-opts.sh).
#   bench/run-cli-start-bench.sh BEFORE_JAR
# BEFORE_JAR: e.g. a jar built from an older commit (git worktree add, ./mvnw -pl cli -am package).
# Settings (environment): RUNS (30), KEEP=1 (keep the work directory: the caches and raw times).
# Prints, per command, the median and p90 wall time of both and their ratio. Nothing leaves the
# machine: the commands read the shipped examples and print.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# shellcheck source=../scripts/java-env.sh
source "$ROOT/scripts/java-env.sh"
# shellcheck source=../scripts/jvm-opts.sh
source "$ROOT/scripts/jvm-opts.sh"

RUNS="${RUNS:-30}"
die() { printf 'run-cli-start-bench: %s\n' "$*" >&2; exit 1; }
[[ $# == 1 ]] || die "usage: bench/run-cli-start-bench.sh BEFORE_JAR (a CLI jar of another build)"
BEFORE="$(readlink -f "$1")"
[[ -f "$BEFORE" ]] || die "$1: no such jar"
NOW="$ROOT/cli/target/airlock.jar"
[[ -f "$NOW" ]] || die "$NOW is missing. Fix: ./mvnw -pl cli -am package -DskipTests"
airlock_find_java || exit 1
(( JAVA_FEATURE >= 25 )) || die "needs a JDK 25+ for the AOT cache (found Java $JAVA_FEATURE). Fix: set JAVA_HOME to one."

WORK="$(mktemp -d -t alk-cli-bench.XXXXXX)"
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

# Each jar is copied, so that its cache is newer than it (the JVM checks the jar's time) and trained on it.
for name in now before; do
  src="$NOW"; [[ "$name" == before ]] && src="$BEFORE"
  cp "$src" "$WORK/$name.jar"
  "$JAVA" -XX:AOTCacheOutput="$WORK/$name.aot" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -cp "$WORK/$name.jar" dev.airlock.cli.AotTraining "$ROOT/examples" </dev/null >"$WORK/$name.train.log" 2>&1 \
    || { cat "$WORK/$name.train.log" >&2; die "training the $name jar's AOT cache failed (output above)"; }
done

EX="$ROOT/examples"
COMMANDS=(
  "--version"
  "policy explain --policy $EX/airlock.yaml --org $EX/org.yaml --hosts $EX/hosts github.com"
  "policy check --policy $EX/airlock.yaml --org $EX/org.yaml"
  "pool --help"
)

now_ms() { date +%s%N; }
for ((r = 0; r < RUNS; r++)); do
  for i in "${!COMMANDS[@]}"; do
    for name in now before; do
      # shellcheck disable=SC2206
      args=(${COMMANDS[$i]})
      airlock_jvm_opts "${args[@]}"
      t0=$(now_ms)
      "$JAVA" "${JVM_OPTS[@]}" -XX:AOTCache="$WORK/$name.aot" -jar "$WORK/$name.jar" "${args[@]}" >/dev/null 2>&1 || true
      echo "$i $name $(( ($(now_ms) - t0) / 1000 ))" >>"$WORK/times"
    done
  done
done

printf '%-90s %12s %12s %12s %12s %7s\n' "command (RUNS=$RUNS, load $(cut -d' ' -f1 /proc/loadavg))" "now median" "now p90" \
  "before med" "before p90" "ratio"
for i in "${!COMMANDS[@]}"; do
  stat() { awk -v i="$i" -v n="$1" '$1 == i && $2 == n {print $3}' "$WORK/times" | sort -n \
    | awk -v q="$2" '{v[NR] = $1} END {k = int(q * NR + 0.999999); if (k < 1) k = 1; printf "%.1f", v[k] / 1000}'; }
  nm=$(stat now 0.5); np=$(stat now 0.9); bm=$(stat before 0.5); bp=$(stat before 0.9)
  printf '%-90s %9s ms %9s ms %9s ms %9s ms %6.2fx\n' "airlock ${COMMANDS[$i]//$EX/examples}" "$nm" "$np" "$bm" "$bp" \
    "$(awk -v a="$nm" -v b="$bm" 'BEGIN {print a / b}')"
done
