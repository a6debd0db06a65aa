#!/usr/bin/env bash
# Sandbox start: `airlock run -- true` against Anthropic's sandbox-runtime (`srt -- true`), a plain
# bubblewrap sandbox and a bare `true`, in one run on one machine (docs/BENCHMARKS.md has a sample):
# cold (no daemon), and through a real daemon's warm pool three ways: ./airlock (which runs the C
# client, packaging/client/airlock-client.c), the C client alone, and the JVM client; and through the
# same daemon for a project with no warm member (pool size 0: it builds a sandbox per run), and for a
# policy it does not pool at all (it runs it cold in its JVM; and the first such run after socket
# activation, daemon start included, as its own figure); each with
# its median and p99 against srt's, and issue 13's goals (pooled <= 0.1x srt, cold <= 0.5x srt) in
# one table, side by side.
#   sudo bench/run-sandbox-bench.sh
# Installs what it lacks (Debian bubblewrap, socat, ripgrep; srt from npm into $SRT_PREFIX), builds
# the CLI jar if needed (and the C client with gcc, which it needs), then times every command RUNS times, taking turns (round robin, the order
# rotated each round, so background load hits all of them alike), and prints one comparison table:
# median, p99 (nearest rank: with 50 runs, the slowest), min, the ratio to srt's median and the
# median CPU time. Then, inside the JVM (bench/sandbox/SandboxStartBench.java):
# SandboxLauncher.prepare()/destroy() alone (network namespace, veth, nftables, cgroups), checkHost(),
# reap() and claim(), and a cold `airlock run` split into its steps, as is and with the proposal's
# JVM flags. Everything it starts ends before it exits; its temporary directory is removed.
#
# Nothing leaves the machine: srt runs with no allowed domain; Airlock with a policy that allows
# nothing and an empty hosts file (no DNS lookups); bwrap with --unshare-all; `true` opens no socket.
#
# Settings (environment): RUNS (50), WARMUP (3 unrecorded rounds), PREPARE_RUNS (50),
# PHASE_RUNS (20), SRT_PREFIX (/opt/airlock-bench/srt), SRT_VERSION (0.0.78), ARCHIVE (1: the
# "proposal" rows use a class archive trained on `airlock run -- true`: an AOT cache on JDK 25+,
# an AppCDS archive on JDK 21-24; 0: none), PROPOSAL_FLAGS (further JVM flags of those rows;
# -XX:TieredStopAtLevel=1 -XX:+UseSerialGC), KEEP=1 (keep the work directory: raw times, logs),
# ACTIVATION_RUNS (5: fresh socket-activated daemons, one first run each; 0: none),
# ROWS (the rows to time, by name, e.g. "pooled pooledc airlock": issue 13's goal rows alone, a few
# minutes instead of tens under load; srt is always timed; default all), INJVM (1; 0 skips the
# in-JVM tables). Every run ends with the goal table: pooled and cold side by side against srt.
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# shellcheck source=../scripts/java-env.sh
source "$ROOT/scripts/java-env.sh"

RUNS="${RUNS:-50}"
WARMUP="${WARMUP:-3}"
PREPARE_RUNS="${PREPARE_RUNS:-50}"
PHASE_RUNS="${PHASE_RUNS:-20}"
ROWS="${ROWS:-}"
INJVM="${INJVM:-1}"
SRT_PREFIX="${SRT_PREFIX:-/opt/airlock-bench/srt}"
SRT_VERSION="${SRT_VERSION:-0.0.78}"

log() { printf '%s\n' "$*" >&2; }
die() { log "run-sandbox-bench: $*"; exit 1; }

[[ "$(id -u)" == 0 ]] || die "run as root: airlock run needs it (namespaces, nftables, cgroups)"

# ---------------------------------------------------------------------------------------------
# Install what is missing

need_apt=()
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v socat >/dev/null || need_apt+=(socat)
command -v rg >/dev/null || need_apt+=(ripgrep)
command -v nft >/dev/null || need_apt+=(nftables)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v node >/dev/null || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} (apt-get)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
fi
node_ok="$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a==20&&b>=11)?1:0)')"
[[ "$node_ok" == 1 ]] || die "srt needs Node.js >= 20.11; this is $(node --version)"
SRT="$SRT_PREFIX/node_modules/.bin/srt"
SRT_PKG="$SRT_PREFIX/node_modules/@anthropic-ai/sandbox-runtime"
if [[ ! -x "$SRT" ]] || [[ "$(node -p "require('$SRT_PKG/package.json').version")" != "$SRT_VERSION" ]]; then
  log "installing @anthropic-ai/sandbox-runtime@$SRT_VERSION into $SRT_PREFIX (npm)"
  mkdir -p "$SRT_PREFIX"
  npm install --prefix "$SRT_PREFIX" --no-audit --no-fund --silent "@anthropic-ai/sandbox-runtime@$SRT_VERSION" >/dev/null
fi

airlock_find_java || exit 125
# ./airlock builds the jar on first use (or when sources changed).
if ! build_out="$("$ROOT/airlock" --version 2>&1 >/dev/null)"; then
  [[ -f "$ROOT/cli/target/airlock.jar" ]] || { printf '%s\n' "$build_out" >&2; die "the CLI does not build"; }
  log "warning: ./airlock could not rebuild the CLI (a source mid-edit?); timing the existing cli/target/airlock.jar"
fi

# ---------------------------------------------------------------------------------------------
# Work directory

WORK="$(mktemp -d -t airlock-sandbox-bench.XXXXXX)"
# srt leaves its proxy's socket (TMPDIR/srt-mux-PID-N.sock) behind at every exit: remove those
# that appeared during this run and whose process is gone.
SRT_TMP="${TMPDIR:-/tmp}"
compgen -G "$SRT_TMP/srt-mux-*.sock" >"$WORK/srt-sockets-before" || true
cleanup() {
  local rc=$? f pid
  # the pooled row's daemon first: stopping it destroys its sandboxes
  if [[ -n "${DAEMON_PID:-}" ]]; then kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null || true; fi
  if [[ -n "${ACT_PID:-}" ]]; then kill "$ACT_PID" 2>/dev/null; wait "$ACT_PID" 2>/dev/null || true; fi
  for f in "$SRT_TMP"/srt-mux-*.sock; do
    [[ -S "$f" ]] || continue
    grep -qxF "$f" "$WORK/srt-sockets-before" && continue
    pid="${f#"$SRT_TMP"/srt-mux-}" pid="${pid%%-*}"
    [[ -d "/proc/$pid" ]] || rm -f "$f"
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WS="$WORK/ws"
mkdir -p "$WS" "$WORK/times" "$WORK/classes" "$WORK/state"
chmod 755 "$WORK" "$WS"
printf 'version: 1\nproject: bench\n' >"$WORK/airlock.yaml"
: >"$WORK/hosts"
# srt: no domain allowed (no network), no extra writes.
cat >"$WORK/srt-settings.json" <<'JSON'
{"network": {"allowedDomains": [], "deniedDomains": []},
 "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}
JSON
# Airlock's state (records, audit log) in the work directory, not /var/lib/airlock.
export AIRLOCK_STATE="$WORK/state"

# A snapshot of the launcher, its sources and the jar: the ./airlock rows run the real launcher
# script (its JDK search and its sources-newer-than-the-jar check over the same files), but a
# source edited during the run cannot make it rebuild mid-measurement.
TREE="$WORK/tree"
mkdir -p "$TREE/cli/target"
cp -a "$ROOT/airlock" "$ROOT/scripts" "$ROOT/pom.xml" "$TREE/"
for m in "$ROOT"/*/pom.xml; do
  d="$(basename "$(dirname "$m")")"
  mkdir -p "$TREE/$d"
  cp -a "$m" "$TREE/$d/"
  if [[ -d "$ROOT/$d/src/main" ]]; then mkdir -p "$TREE/$d/src" && cp -a "$ROOT/$d/src/main" "$TREE/$d/src/"; fi
done
cp "$ROOT/cli/target/airlock.jar" "$TREE/cli/target/airlock.jar"
touch "$TREE/cli/target/airlock.jar"
# The C client ./airlock runs first for `airlock run` (built by the launcher on first use, as the
# package builds it): the snapshot gets its source and a fresh build, so the launcher uses it as is.
mkdir -p "$TREE/packaging/client"
cp -a "$ROOT/packaging/client/airlock-client.c" "$TREE/packaging/client/"
command -v gcc >/dev/null || die "gcc is needed for the C client's rows (apt-get install gcc)"
gcc -O2 -Wall -Wextra -Werror -o "$TREE/cli/target/airlock-client" "$TREE/packaging/client/airlock-client.c"
CLIENT="$TREE/cli/target/airlock-client"
JAR="$TREE/cli/target/airlock.jar"
# The launcher's own class cache for this jar, trained as ./airlock's build trains it (JDK 25+).
if ((JAVA_FEATURE >= 25)); then
  "$JAVA" -XX:AOTCacheOutput="$TREE/cli/target/airlock.aot" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -cp "$JAR" dev.airlock.cli.AotTraining "$ROOT/examples" </dev/null >/dev/null 2>>"$WORK/train.log" || true
fi

# A daemon with a warm pool of the same project, for the pooled row (its own state directory: it
# holds its audit log, which the cold rows' gateways open too); and the same policy as a second
# project with a pool of size 0, for the "daemon, no warm member" row: the daemon builds a sandbox
# per run in its warm JVM, on its running gateway (what a daemon serving unpooled policies costs).
DSTATE="$WORK/dstate"
printf 'version: 1\nproject: bench-cold\n' >"$WORK/cold.yaml"
# and a policy no daemon here pools: the "cold through the daemon" rows
printf 'version: 1\nproject: bench-unpooled\n' >"$WORK/unpooled.yaml"
printf 'version: 1\nstate: %s\nhosts: %s\naudits: false\nprojects:\n  - policy: %s\n    size: 2\n  - policy: %s\n    size: 0\n' \
  "$DSTATE" "$WORK/hosts" "$WORK/airlock.yaml" "$WORK/cold.yaml" >"$WORK/daemon.yaml"
"$JAVA" -jar "$JAR" daemon --config "$WORK/daemon.yaml" </dev/null >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for ((i = 0; i < 300; i++)); do
  [[ -S "$DSTATE/daemon.sock" ]] && curl -s --unix-socket "$DSTATE/daemon.sock" http://airlock/v1/status | grep -q '"ready":2' && break
  sleep 0.2
done
[[ -S "$DSTATE/daemon.sock" ]] || die "the daemon did not start (log: $WORK/daemon.log)"

# The in-JVM harness, as a jar (class archives take jars only).
"$JAVA_HOME_FOUND/bin/javac" -nowarn --release 21 -cp "$JAR" -d "$WORK/classes" "$ROOT/bench/sandbox/SandboxStartBench.java"
"$JAVA_HOME_FOUND/bin/jar" --create --file "$WORK/harness.jar" -C "$WORK/classes" .
HARNESS_CP="$JAR:$WORK/harness.jar"
HARNESS=("$JAVA" --enable-native-access=ALL-UNNAMED -cp "$HARNESS_CP" SandboxStartBench)

RUN_ARGS=(run --policy "$WORK/airlock.yaml" --hosts "$WORK/hosts" --workspace "$WS" -- true)

# The proposal's JVM flags: a class archive trained on `airlock run -- true` (JDK 25+: an AOT cache,
# JEP 483/514; JDK 21-24: a dynamic AppCDS archive), plus PROPOSAL_FLAGS. archive NAME ARGS...
# trains one archive on the command ARGS (run with java) and prints the flag that uses it.
PROPOSAL_FLAGS="${PROPOSAL_FLAGS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
archive() {
  local name="$1"
  shift
  if ((JAVA_FEATURE >= 25)); then
    "$JAVA" -XX:AOTCacheOutput="$WORK/$name.aot" "$@" </dev/null >/dev/null 2>>"$WORK/train.log"
    echo "-XX:AOTCache=$WORK/$name.aot"
  else
    "$JAVA" -XX:ArchiveClassesAtExit="$WORK/$name.jsa" "$@" </dev/null >/dev/null 2>>"$WORK/train.log"
    echo "-XX:SharedArchiveFile=$WORK/$name.jsa"
  fi
}
ARCHIVE="${ARCHIVE:-1}"
# the archives serve the proposal rows and the in-JVM phases only
wanted() { [[ -z "$ROWS" || " $ROWS " == *" $1 "* ]]; }
if [[ "$ARCHIVE" == 1 ]] && { wanted proposal || wanted proposaljvm || [[ "$INJVM" == 1 ]]; }; then
  log "training class archives on airlock run -- true (JDK $JAVA_FEATURE)"
  RUN_ARCHIVE="$(archive airlock -jar "$JAR" "${RUN_ARGS[@]}")"
  HARNESS_ARCHIVE="$(archive harness --enable-native-access=ALL-UNNAMED -cp "$HARNESS_CP" SandboxStartBench \
    phases "$EPOCHREALTIME" "$WORK/state" "$WS" "$WORK/airlock.yaml" "$WORK/hosts")"
else
  RUN_ARCHIVE="" HARNESS_ARCHIVE=""
fi
read -r -a PROPOSAL <<<"$RUN_ARCHIVE $PROPOSAL_FLAGS"
read -r -a HARNESS_PROPOSAL <<<"$HARNESS_ARCHIVE $PROPOSAL_FLAGS"

# ---------------------------------------------------------------------------------------------
# The commands, timed round robin

NAMES=()
declare -A LABEL CMD DIR
add() { # name, label, dir, command...
  local name="$1" label="$2" dir="$3"
  shift 3
  [[ "$name" == srt ]] || wanted "$name" || return 0
  NAMES+=("$name")
  LABEL[$name]="$label"
  DIR[$name]="$dir"
  CMD[$name]="$(printf '%q ' "$@")"
}
add bare "true (bare)" "$WS" /bin/true
add bwrap "bwrap --unshare-all … true" "$WS" bwrap --unshare-all --die-with-parent --new-session \
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
  --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev --tmpfs /tmp \
  --bind "$WS" /workspace --chdir /workspace -- /bin/true
add srt "srt -- true" "$WS" "$SRT" --settings "$WORK/srt-settings.json" -- true
add airlock "./airlock run -- true" "$WS" "$TREE/airlock" "${RUN_ARGS[@]}"
# Pooled, the same daemon and warm pool three ways: ./airlock (the launcher script, then the C
# client), the C client alone (what the package's launcher execs; no bash), and the JVM client.
POOL_ENV=(env AIRLOCK_DAEMON_SOCKET="$DSTATE/daemon.sock")
POOL_ARGS=(run --policy "$WORK/airlock.yaml" -- true)
add pooled "./airlock run -- true, pooled: C client via the launcher" "$WS" "${POOL_ENV[@]}" "$TREE/airlock" "${POOL_ARGS[@]}"
add pooledc "airlock-client run -- true, pooled: C client alone" "$WS" "${POOL_ENV[@]}" "$CLIENT" "$TREE/airlock" "${POOL_ARGS[@]}"
add pooledjvm "./airlock run -- true, pooled: JVM client (AIRLOCK_NO_CLIENT=1)" "$WS" "${POOL_ENV[@]}" AIRLOCK_NO_CLIENT=1 \
  "$TREE/airlock" "${POOL_ARGS[@]}"
add daemoncold "airlock-client run -- true, daemon with no warm member (size 0): C client alone" "$WS" "${POOL_ENV[@]}" "$CLIENT" \
  "$TREE/airlock" run --policy "$WORK/cold.yaml" -- true
# Cold through the daemon: a policy that is NOT in its configuration (issue 13 §2). The daemon prepares a
# sandbox for the run in its warm JVM, in the caller's directory, and destroys it after.
add unpooled "./airlock run -- true, cold through the daemon (policy not in its config): C client via the launcher" "$WS" \
  "${POOL_ENV[@]}" "$TREE/airlock" run --policy "$WORK/unpooled.yaml" -- true
add unpooledc "airlock-client run -- true, cold through the daemon (policy not in its config): C client alone" "$WS" \
  "${POOL_ENV[@]}" "$CLIENT" "$TREE/airlock" run --policy "$WORK/unpooled.yaml" -- true
add unpooledjvm "./airlock run -- true, cold through the daemon (policy not in its config): JVM client" "$WS" \
  "${POOL_ENV[@]}" AIRLOCK_NO_CLIENT=1 "$TREE/airlock" run --policy "$WORK/unpooled.yaml" -- true
add airlockjar "java -jar airlock.jar run -- true" "$WS" "$JAVA" -jar "$JAR" "${RUN_ARGS[@]}"
add jvmfloor "java -version (a JVM's own start, no application)" "$WS" "$JAVA" -version
add jvm "java -jar airlock.jar --version (JVM start)" "$WS" "$JAVA" -jar "$JAR" --version
add launcher "./airlock --version (launcher + JVM start)" "$WS" "$TREE/airlock" --version
add proposal "proposal: java [flags] -jar airlock.jar run -- true" "$WS" "$JAVA" "${PROPOSAL[@]}" -jar "$JAR" "${RUN_ARGS[@]}"
add proposaljvm "proposal: java [flags] -jar airlock.jar --version" "$WS" "$JAVA" "${PROPOSAL[@]}" -jar "$JAR" --version

FAILS=0
# CPU_MS := CPU time of this shell's waited-for descendants (user + system), in ms, from bash's
# `times` (in this shell: a subshell's count starts at zero).
children_cpu_ms() {
  local line u s x m sec
  CPU_MS=0
  times >"$WORK/.times"
  { read -r line; read -r u s; } <"$WORK/.times"
  for x in "$u" "$s"; do
    m="${x%%m*}" sec="${x#*m}" sec="${sec%s}"
    CPU_MS=$((CPU_MS + 10#$m * 60000 + 10#${sec//[.,]/}))
  done
}
time_one() { # name, kind (warm|us)
  local name="$1" s e rc=0 c0 c1
  cd "${DIR[$name]}"
  children_cpu_ms
  c0=$CPU_MS
  s=$EPOCHREALTIME
  eval "${CMD[$name]}" </dev/null >/dev/null 2>>"$WORK/stderr.$name" || rc=$?
  e=$EPOCHREALTIME
  children_cpu_ms
  c1=$CPU_MS
  if ((rc != 0)); then
    FAILS=$((FAILS + 1))
    log "  $name exited $rc (stderr in $WORK/stderr.$name)"
  fi
  printf '%s\n' "$((10#${e//[.,]/} - 10#${s//[.,]/}))" >>"$WORK/times/$name.$2"
  printf '%s\n' "$(((c1 - c0) * 1000))" >>"$WORK/times/$name.cpu.$2"
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
log "timing ${#NAMES[@]} commands, $WARMUP warm-up + $RUNS measured rounds, round robin"
n=${#NAMES[@]}
for ((round = 0; round < WARMUP + RUNS; round++)); do
  kind=$([[ $round -lt $WARMUP ]] && echo warm || echo us)
  for ((k = 0; k < n; k++)); do
    time_one "${NAMES[$(((k + round) % n))]}" "$kind"
  done
  if (((round + 1) % 10 == 0)); then log "  round $((round + 1))/$((WARMUP + RUNS))"; fi
done

# The first run after socket activation: a daemon that is not running yet, started by
# systemd-socket-activate (as airlock.socket starts airlock.service) on the client's connection; the
# daemon's JVM start, its configuration and gateway, then the run of a policy it does not pool.
ACTIVATION_RUNS="${ACTIVATION_RUNS:-5}"
ACTIVATION_MS=""
if command -v systemd-socket-activate >/dev/null && ((ACTIVATION_RUNS > 0)) && { wanted unpooled || wanted unpooledc; }; then
  log "timing $ACTIVATION_RUNS first runs after socket activation"
  for ((k = 0; k < ACTIVATION_RUNS; k++)); do
    AST="$WORK/astate-$k"
    mkdir -p "$AST"
    chmod 700 "$AST"
    printf 'version: 1\nstate: %s\nhosts: %s\naudits: false\nprojects:\n  - policy: %s\n    size: 0\n' \
      "$AST" "$WORK/hosts" "$WORK/cold.yaml" >"$WORK/activated-$k.yaml"
    # through the launcher, as airlock.service runs /usr/bin/airlock: its JVM flags and AOT cache
    (exec systemd-socket-activate -l "$AST/daemon.sock" "$TREE/airlock" daemon --config "$WORK/activated-$k.yaml") \
      </dev/null >"$WORK/activated-$k.log" 2>&1 &
    ACT_PID=$!
    for ((i = 0; i < 100; i++)); do [[ -S "$AST/daemon.sock" ]] && break; sleep 0.05; done
    # systemd-socket-activate makes it 0644 whatever the umask; the daemon refuses any mode but 0600
    chmod 600 "$AST/daemon.sock"
    s=$EPOCHREALTIME
    if (cd "$WS" && AIRLOCK_DAEMON_SOCKET="$AST/daemon.sock" "$CLIENT" "$TREE/airlock" run --policy "$WORK/unpooled.yaml" -- true) \
      </dev/null >/dev/null 2>>"$WORK/activated-$k.log"; then
      e=$EPOCHREALTIME
      ACTIVATION_MS+="$(awk -v a="${s//[.,]/}" -v b="${e//[.,]/}" 'BEGIN {printf "%.0f", (b - a) / 1000}') "
    else
      FAILS=$((FAILS + 1))
      ACTIVATION_MS+="failed "
      log "  activated run $k failed (log: $WORK/activated-$k.log)"
    fi
    kill "$ACT_PID" 2>/dev/null || true
    wait "$ACT_PID" 2>/dev/null || true
  done
fi

# median and nearest-rank p99 of a file of microseconds, in ms
stats() { sort -n "$1" | awk '{v[NR]=$1} END {
  m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
  r = int(0.99 * NR); if (r < 0.99 * NR) r++
  printf "%.1f %.1f %.1f\n", m/1000, v[r]/1000, v[1]/1000 }'; }

declare -A MED P99 MIN CPU
for name in "${NAMES[@]}"; do
  read -r "MED[$name]" "P99[$name]" "MIN[$name]" < <(stats "$WORK/times/$name.us")
  read -r "CPU[$name]" _ < <(stats "$WORK/times/$name.cpu.us")
done

# ---------------------------------------------------------------------------------------------
# Inside the JVM: prepare()/destroy() alone, then a cold airlock run step by step

if [[ "$INJVM" == 1 ]]; then
log "SandboxLauncher.prepare()/destroy() and claim(), $PREPARE_RUNS times in one JVM (and again with another sandbox held)"
"${HARNESS[@]}" prepare "$PREPARE_RUNS" "$WORK/state/harness" "$WS" >"$WORK/prepare.tsv" 2>>"$WORK/stderr.harness"
"${HARNESS[@]}" prepare "$PREPARE_RUNS" "$WORK/state/harness" "$WS" hold >>"$WORK/prepare.tsv" 2>>"$WORK/stderr.harness"

log "a cold airlock run, step by step, $PHASE_RUNS times as is and with the proposal's flags, taking turns"
: >"$WORK/phases.tsv"
: >"$WORK/phases-proposal.tsv"
phase_once() { # out-file, java flags...
  local out="$1" s e line
  shift
  s=$EPOCHREALTIME
  line="$("$JAVA" "$@" --enable-native-access=ALL-UNNAMED -cp "$HARNESS_CP" SandboxStartBench \
    phases "$s" "$WORK/state" "$WS" "$WORK/airlock.yaml" "$WORK/hosts" </dev/null 2>>"$WORK/stderr.harness")"
  e=$EPOCHREALTIME
  printf '%s\twall=%s\n' "$line" "$(awk -v a="${s/,/.}" -v b="${e/,/.}" 'BEGIN {printf "%.1f", (b-a)*1000}')" >>"$out"
}
for ((i = 0; i < PHASE_RUNS; i++)); do
  phase_once "$WORK/phases.tsv"
  phase_once "$WORK/phases-proposal.tsv" "${HARNESS_PROPOSAL[@]}"
done
fi
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# Report

srt_med="${MED[srt]}"
ratio() { awk -v a="$1" -v b="${2:-$srt_med}" 'BEGIN {printf "%.2f", a/b}'; }

echo
echo "## Sandbox start, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs, kernel $(uname -r), $(bwrap --version), srt $SRT_VERSION (node $(node --version)), Java $JAVA_FEATURE ($JAVA)"
echo "load average at start $load_start, at end $load_end; $RUNS runs each, round robin, after $WARMUP warm-up rounds; failures: $FAILS"
echo
echo "| command | median ms | p99 ms | min ms | vs srt (median) | vs srt (p99) | CPU ms (median, user+sys) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in "${NAMES[@]}"; do
  echo "| ${LABEL[$name]} | ${MED[$name]} | ${P99[$name]} | ${MIN[$name]} | $(ratio "${MED[$name]}") | $(ratio "${P99[$name]}" "${P99[srt]}") | ${CPU[$name]} |"
done
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a-b}'; }
if wanted airlockjar && wanted jvm; then
  echo "| *airlock run − JVM start (java -jar rows, difference of medians)* | $(sub "${MED[airlockjar]}" "${MED[jvm]}") | | | | |"
fi
if wanted proposal && wanted proposaljvm; then
  echo "| *proposal: run − JVM start* | $(sub "${MED[proposal]}" "${MED[proposaljvm]}") | | | | |"
fi
echo
# issue 13's goals side by side, each ratio against srt in this run (p99 against srt's p99)
echo "Issue 13 §2: pooled and cold \`airlock run -- true\` against \`srt -- true\`, this run"
echo
echo "| path | median ms | p99 ms | srt median / p99 ms | × srt, median | × srt, p99 | goal | met |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
goal() { # name, path, goal
  local m p
  wanted "$1" || return 0
  m="$(ratio "${MED[$1]}")" p="$(ratio "${P99[$1]}" "${P99[srt]}")"
  printf '| %s | %s | %s | %s / %s | %s | %s | ≤ %s× | %s |\n' "$2" "${MED[$1]}" "${P99[$1]}" "${MED[srt]}" "${P99[srt]}" "$m" "$p" "$3" \
    "$(awk -v m="$m" -v p="$p" -v g="$3" 'BEGIN {print (m <= g && p <= g) ? "yes" : (m <= g ? "median only" : "no")}')"
}
goal pooled "pooled, \`./airlock run\` (launcher + C client)" 0.1
goal pooledc "pooled, the C client alone" 0.1
goal airlock "cold, \`./airlock run\` with no daemon" 0.5
goal daemoncold "cold in a running daemon (no warm member), the C client alone" 0.5
goal unpooled "cold through the daemon (policy not in its config), \`./airlock run\`" 0.5
goal unpooledc "cold through the daemon (policy not in its config), the C client alone" 0.5
goal unpooledjvm "cold through the daemon (policy not in its config), the JVM client" 0.5
echo
if [[ -n "${ACTIVATION_MS:-}" ]]; then
  echo "First run after socket activation (systemd-socket-activate starts the daemon on the C client's connection;"
  echo "the run is of a policy it does not pool; $ACTIVATION_RUNS fresh daemons, one run each), ms: $ACTIVATION_MS"
  echo
fi
if wanted proposal || wanted proposaljvm; then
  echo "proposal flags: ${PROPOSAL[*]}"
  echo
fi
if [[ "$INJVM" == 1 ]]; then
echo "In the JVM (warm, $PREPARE_RUNS iterations; dummy gateway ports): SandboxLauncher"
echo
echo "| call | n | median ms | p99 ms | min ms | max ms | first call ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7}' "$WORK/prepare.tsv"
echo
echo "A cold airlock run, step by step (SandboxRun's sequence in a fresh JVM, $PHASE_RUNS runs; medians, ms):"
echo
phase_table() { awk -F'\t' -v label="$2" '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "exit") continue;
      if (NR == 1) order[++nk] = kv[1]; v[kv[1], NR] = kv[2] } n = NR }
  END {
    head = "| JVM flags |"; sep = "|---|"; row = "| " label " |"
    for (k = 1; k <= nk; k++) {
      name = order[k]; m = 0
      for (r = 1; r <= n; r++) a[r] = v[name, r] + 0
      # insertion sort, n is small
      for (i = 2; i <= n; i++) { x = a[i]; j = i - 1; while (j >= 1 && a[j] > x) { a[j+1] = a[j]; j-- } a[j+1] = x }
      m = (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
      head = head " " name " |"; sep = sep "---:|"; row = row sprintf(" %.1f |", m)
    }
    if (label == "as is") { print head; print sep }
    print row
  }' "$1"; }
phase_table "$WORK/phases.tsv" "as is"
phase_table "$WORK/phases-proposal.tsv" "proposal"
echo
echo "(jvm: from exec to main(); wall: the whole process, so wall − the steps ≈ JVM exit.)"
fi
if ((FAILS)); then
  log "run-sandbox-bench: $FAILS runs failed; see stderr.* (KEEP=1 keeps them)"
  exit 1
fi
