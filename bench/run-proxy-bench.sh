#!/usr/bin/env bash
# Egress gateway vs Squid and tinyproxy, in one run on one machine (docs/BENCHMARKS.md has a sample):
#   bench/run-proxy-bench.sh
# Starts a loopback origin, Airlock, Squid and tinyproxy side by side, measures each (and the
# direct baseline) with the same load generator (dev.airlock.bench.proxy.ProxyBench), taking
# turns over ROUNDS rounds, prints the comparison table of medians with a ratio column per
# competitor and issue 13's goals, and stops everything it started. HAProxy runs beside them as a
# plain TCP relay with splice (no CONNECT, no decision, no log) for the bulk rows: the ceiling of a
# user-space relay on the machine, which places the goals against direct. About 13 minutes with the defaults, plus a build if the sources changed. Root is not
# needed; started as root, Squid and tinyproxy drop to their own users (proxy, nobody).
#
# Settings (environment): ROUNDS (3), WARMUP and DURATION (seconds per measurement, 5 and 10),
# WARMUP_PASS (seconds of unrecorded bulk and tunnel load per proxy before round 1, 15), CLIENTS (16),
# IDLE_TUNNELS (10000, or fewer when `ulimit -Hn` cannot hold two descriptors per tunnel),
# AIRLOCK_THREADS (2), AIRLOCK_JAVA_OPTS (JVM flags for Airlock, none by default, as ./airlock),
# BASE_PORT (18100; nine ports from it), SQUID, TINYPROXY, HAPROXY (binaries), ONLY (subjects, of
# "direct airlock squid tinyproxy haproxy airlock-raised airlock-copy"; airlock-copy is Airlock with splice
# off, -Dairlock.relay.splice=false, for a before/after of the splicing relay in one run), AIRLOCK_BUILD=0 (measure cli/target/airlock.jar
# as it is, without letting ./airlock rebuild it), KEEP=1 (keep the work directory: logs, configs,
# audit logs, results.tsv), TESTS (of "tput1 tput4 rate idle", all by default: e.g. TESTS="tput1 tput4"
# for the relay rows alone), AIRLOCK_BEFORE_JAR (another airlock.jar, e.g. main's, measured as the
# subject "airlock-before" beside this one, for a before/after of a relay change in one run; add
# "airlock-before" to ONLY; BEFORE_JAR is the same).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# shellcheck source=scripts/java-env.sh
source "$ROOT/scripts/java-env.sh"
airlock_find_java || exit 125

WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-16}"
AIRLOCK_THREADS="${AIRLOCK_THREADS:-2}"
BASE_PORT="${BASE_PORT:-18100}"
SQUID="${SQUID:-/usr/sbin/squid}"
TINYPROXY="${TINYPROXY:-/usr/bin/tinyproxy}"
HAPROXY="${HAPROXY:-/usr/sbin/haproxy}"
ONLY="${ONLY:-direct airlock squid tinyproxy haproxy airlock-raised}"
ROUNDS="${ROUNDS:-3}"
TESTS="${TESTS:-tput1 tput4 rate idle}"
AIRLOCK_BEFORE_JAR="${AIRLOCK_BEFORE_JAR:-${BEFORE_JAR:-}}"
WARMUP_PASS="${WARMUP_PASS:-15}"
ORIGIN_NAME="origin.bench.test"

SOURCE_PORT=$BASE_PORT
ECHO_PORT=$((BASE_PORT + 1))
AIRLOCK_PORT=$((BASE_PORT + 2))
SQUID_PORT=$((BASE_PORT + 3))
TINYPROXY_PORT=$((BASE_PORT + 4))
RAISED_PORT=$((BASE_PORT + 5))
COPY_PORT=$((BASE_PORT + 6))
BEFORE_PORT=$((BASE_PORT + 7))
HAPROXY_PORT=$((BASE_PORT + 8))

# 10,000 idle tunnels hold 20,000 descriptors in the proxy (client side and upstream side). Use
# the hard limit, and ask for fewer tunnels if even that cannot hold them with room to spare.
ulimit -n "$(ulimit -Hn)"
FD_LIMIT="$(ulimit -n)"
FD_ROOM=$(( (FD_LIMIT - 400) / 2 / 100 * 100 ))
IDLE_TUNNELS="${IDLE_TUNNELS:-$(( FD_ROOM < 10000 ? FD_ROOM : 10000 ))}"

JAR="$ROOT/cli/target/airlock.jar"
BENCH_JAR="$ROOT/bench/target/benchmarks.jar"
JCMD="$JAVA_HOME_FOUND/bin/jcmd"

WORK="$(mktemp -d -t airlock-proxy-bench.XXXXXX)"
# Squid and tinyproxy run as their own users and must reach their directories.
chmod 755 "$WORK"
RESULTS="$WORK/results.tsv"
PIDS=()

log() { printf '%s\n' "$*" >&2; }

stop() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Forget it, so that cleanup never signals a PID the system may since have reused.
  local kept=() p
  for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  if [[ "${KEEP:-0}" == 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

# Waits until PID listens on PORT; fails if it exits first or takes more than 120 s (a JVM on a
# busy machine can take a while).
await_listen() {
  local pid="$1" port="$2" what="$3"
  for _ in $(seq 1 600); do
    listening "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then log "$what exited before listening on $port"; return 1; fi
    sleep 0.2
  done
  log "$what is not listening on $port after 120 s"
  return 1
}

bench() { "$JAVA" -cp "$BENCH_JAR" dev.airlock.bench.proxy.ProxyBench "$@"; }

measure() {
  bench measure --out "$RESULTS" --source-port "$SOURCE_PORT" --echo-port "$ECHO_PORT" --warmup "$WARMUP" \
    --duration "$DURATION" --clients "$CLIENTS" --idle-tunnels "$IDLE_TUNNELS" "$@" \
    || log "measurement failed (exit $?); continuing with the next proxy"
}

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# ---- preflight ---------------------------------------------------------------------------------
for port in "$SOURCE_PORT" "$ECHO_PORT" "$AIRLOCK_PORT" "$SQUID_PORT" "$TINYPROXY_PORT" "$RAISED_PORT" "$COPY_PORT" "$BEFORE_PORT" "$HAPROXY_PORT"; do
  if listening "$port"; then log "port $port is in use; set BASE_PORT to a free range"; exit 1; fi
done
if wanted squid && [[ ! -x "$SQUID" ]]; then log "no $SQUID (apt-get install squid), or set SQUID"; exit 1; fi
if wanted airlock-before && [[ ! -f "${AIRLOCK_BEFORE_JAR:-}" ]]; then log "airlock-before needs AIRLOCK_BEFORE_JAR (an airlock.jar)"; exit 1; fi
if wanted tinyproxy && [[ ! -x "$TINYPROXY" ]]; then log "no $TINYPROXY (apt-get install tinyproxy), or set TINYPROXY"; exit 1; fi
if wanted haproxy && [[ ! -x "$HAPROXY" ]]; then
  log "no $HAPROXY (apt-get install haproxy), or set HAPROXY, or leave it out: ONLY=\"direct airlock squid tinyproxy airlock-raised\""
  exit 1
fi
# ./airlock builds the CLI when its sources changed; do that now, then run the jar it would run,
# so that a source edit during the run cannot start a rebuild in the middle of a measurement.
if [[ "${AIRLOCK_BUILD:-1}" == 0 ]]; then
  [[ -f "$JAR" ]] || { log "AIRLOCK_BUILD=0 but there is no $JAR"; exit 125; }
elif ! "$ROOT/airlock" --version >"$WORK/airlock-build.log" 2>&1; then
  if [[ ! -f "$JAR" ]]; then cat "$WORK/airlock-build.log" >&2; exit 125; fi
  log "warning: rebuilding the CLI failed (tail of the log below); measuring the existing $JAR instead"
  tail -5 "$WORK/airlock-build.log" >&2
fi
if [[ ! -f "$BENCH_JAR" || -n "$(find "$ROOT/bench/src" "$ROOT/bench/pom.xml" -newer "$BENCH_JAR" -type f -print -quit)" ]]; then
  log "building bench/target/benchmarks.jar..."
  (cd "$ROOT" && JAVA_HOME="$JAVA_HOME_FOUND" MAVEN_OPTS="$(airlock_maven_opts)" \
     ./mvnw -q -B -Dmaven.test.skip=true -pl bench -am install >"$WORK/build.log" 2>&1) \
    || { cat "$WORK/build.log" >&2; exit 125; }
fi

{
  echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "java:        $("$JAVA" -version 2>&1 | head -1) ($JAVA)"
  echo "squid:       $("$SQUID" -v 2>/dev/null | head -1)"
  echo "tinyproxy:   $("$TINYPROXY" -v 2>/dev/null | head -1)"
  if wanted haproxy; then
    echo "haproxy:     $("$HAPROXY" -v 2>/dev/null | head -1 | cut -d' ' -f1-3), TCP mode, splice-auto, nbthread $AIRLOCK_THREADS, 1 MiB pipes"
  fi
  echo "airlock:     $(basename "$JAR") built $(date -u -r "$JAR" +%Y-%m-%dT%H:%M:%SZ), --threads $AIRLOCK_THREADS, JVM flags: ${AIRLOCK_JAVA_OPTS:-(none)}"
  echo "settings:    warm-up pass ${WARMUP_PASS}s + ${WARMUP_PASS}s per proxy, then $ROUNDS rounds of (warm-up ${WARMUP}s + measure ${DURATION}s)"
  echo "             per measurement, $CLIENTS clients, $IDLE_TUNNELS idle tunnels (ulimit -n $FD_LIMIT)"
} | tee "$WORK/environment.txt" >&2

# ---- start everything ------------------------------------------------------------------------
# All proxies run side by side for the whole run, and the measurements below take turns, so
# that the background load of a shared machine falls on all of them alike.

# Started directly, not through bench(): a backgrounded function would give us its subshell's PID.
"$JAVA" -cp "$BENCH_JAR" dev.airlock.bench.proxy.ProxyBench origin --source-port "$SOURCE_PORT" --echo-port "$ECHO_PORT" \
  >"$WORK/origin.log" 2>&1 &
PIDS+=($!)
await_listen $! "$ECHO_PORT" origin

declare -A PID_OF PORT_OF TARGET_OF JCMD_OF

mkdir -p "$WORK/airlock"
cat >"$WORK/airlock/airlock.yaml" <<EOF
version: 1
project: bench
network:
  allow:
    - host: $ORIGIN_NAME
      ports: [$SOURCE_PORT, $ECHO_PORT]
EOF
# The origin listens on the host's loopback, which no project rule can open (docs/policy.md);
# only the organisation policy can, by an exception naming the project, the CIDR and the ports.
cat >"$WORK/airlock/org.yaml" <<EOF
version: 1
exceptions:
  - { project: bench, cidr: 127.0.0.1/32, ports: [$SOURCE_PORT, $ECHO_PORT] }
EOF
echo "127.0.0.1 $ORIGIN_NAME" >"$WORK/airlock/hosts"

if wanted airlock; then
  # Exactly what `./airlock gateway ...` execs (see the preflight above for why not ./airlock itself).
  # shellcheck disable=SC2086  # AIRLOCK_JAVA_OPTS is a list of flags, as in ./airlock
  "$JAVA" ${AIRLOCK_JAVA_OPTS:-} -jar "$JAR" gateway --policy "$WORK/airlock/airlock.yaml" --org "$WORK/airlock/org.yaml" \
    --hosts "$WORK/airlock/hosts" --listen "127.0.0.1:$AIRLOCK_PORT" --audit-log "$WORK/airlock/audit.log" --threads "$AIRLOCK_THREADS" \
    >"$WORK/airlock/gateway.log" 2>&1 &
  PID_OF[airlock]=$!; PORT_OF[airlock]=$AIRLOCK_PORT; TARGET_OF[airlock]=$ORIGIN_NAME; JCMD_OF[airlock]=$JCMD
fi

if wanted airlock-copy; then
  # The same gateway with the splicing relay off: every tunnel on the copy relay (the "before").
  # shellcheck disable=SC2086
  "$JAVA" ${AIRLOCK_JAVA_OPTS:-} -Dairlock.relay.splice=false -jar "$JAR" gateway --policy "$WORK/airlock/airlock.yaml" \
    --org "$WORK/airlock/org.yaml" --hosts "$WORK/airlock/hosts" --listen "127.0.0.1:$COPY_PORT" \
    --audit-log "$WORK/airlock/audit-copy.log" --threads "$AIRLOCK_THREADS" >"$WORK/airlock/gateway-copy.log" 2>&1 &
  PID_OF[airlock-copy]=$!; PORT_OF[airlock-copy]=$COPY_PORT; TARGET_OF[airlock-copy]=$ORIGIN_NAME; JCMD_OF[airlock-copy]=$JCMD
fi

if wanted airlock-before; then
  # Another build of the gateway (AIRLOCK_BEFORE_JAR), same flags: the "before" of a relay change.
  # shellcheck disable=SC2086
  "$JAVA" ${AIRLOCK_JAVA_OPTS:-} -jar "$AIRLOCK_BEFORE_JAR" gateway --policy "$WORK/airlock/airlock.yaml" \
    --org "$WORK/airlock/org.yaml" --hosts "$WORK/airlock/hosts" --listen "127.0.0.1:$BEFORE_PORT" \
    --audit-log "$WORK/airlock/audit-before.log" --threads "$AIRLOCK_THREADS" >"$WORK/airlock/gateway-before.log" 2>&1 &
  PID_OF[airlock-before]=$!; PORT_OF[airlock-before]=$BEFORE_PORT; TARGET_OF[airlock-before]=$ORIGIN_NAME; JCMD_OF[airlock-before]=$JCMD
fi

if wanted airlock-raised; then
  # The same GatewayServer with its tunnel limits raised, for the idle-tunnel row only:
  # `airlock gateway` holds at most 512 tunnels (GatewayLimits.DEFAULT, one sandbox).
  # shellcheck disable=SC2086
  "$JAVA" ${AIRLOCK_JAVA_OPTS:-} -cp "$BENCH_JAR" dev.airlock.bench.proxy.ProxyBench gateway \
    --policy "$WORK/airlock/airlock.yaml" --org "$WORK/airlock/org.yaml" --hosts "$WORK/airlock/hosts" \
    --listen "127.0.0.1:$RAISED_PORT" \
    --audit-log "$WORK/airlock/audit-raised.log" --threads "$AIRLOCK_THREADS" --tunnels 20000 \
    >"$WORK/airlock/gateway-raised.log" 2>&1 &
  PID_OF[airlock-raised]=$!; PORT_OF[airlock-raised]=$RAISED_PORT; TARGET_OF[airlock-raised]=$ORIGIN_NAME
  JCMD_OF[airlock-raised]=$JCMD
fi

if wanted squid; then
  mkdir -p "$WORK/squid"
  cat >"$WORK/squid/squid.conf" <<EOF
# A forward proxy for CONNECT to the bench origin only; nothing cached, nothing logged per request.
http_port 127.0.0.1:$SQUID_PORT
workers 1
max_filedescriptors $FD_LIMIT
acl CONNECT method CONNECT
acl bench_ports port $SOURCE_PORT $ECHO_PORT
acl bench_origin dst 127.0.0.1/32
http_access allow CONNECT bench_ports bench_origin
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $WORK/squid/cache.log
pid_filename $WORK/squid/squid.pid
coredump_dir $WORK/squid
netdb_filename none
pinger_enable off
logfile_rotate 0
visible_hostname airlock-bench
shutdown_lifetime 1 seconds
EOF
  chown -R proxy:proxy "$WORK/squid" 2>/dev/null || true
  "$SQUID" -N -f "$WORK/squid/squid.conf" >"$WORK/squid/stderr.log" 2>&1 &
  PID_OF[squid]=$!; PORT_OF[squid]=$SQUID_PORT; TARGET_OF[squid]=127.0.0.1
fi

if wanted tinyproxy; then
  mkdir -p "$WORK/tinyproxy"
  cat >"$WORK/tinyproxy/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port $TINYPROXY_PORT
Listen 127.0.0.1
Timeout 600
LogFile "$WORK/tinyproxy/tinyproxy.log"
LogLevel Warning
PidFile "$WORK/tinyproxy/tinyproxy.pid"
MaxClients $((IDLE_TUNNELS + 1000))
Allow 127.0.0.1
ConnectPort $SOURCE_PORT
ConnectPort $ECHO_PORT
DisableViaHeader Yes
EOF
  chown -R nobody:nogroup "$WORK/tinyproxy" 2>/dev/null || true
  "$TINYPROXY" -d -c "$WORK/tinyproxy/tinyproxy.conf" >"$WORK/tinyproxy/stderr.log" 2>&1 &
  PID_OF[tinyproxy]=$!; PORT_OF[tinyproxy]=$TINYPROXY_PORT; TARGET_OF[tinyproxy]=127.0.0.1
fi

if wanted haproxy; then
  # Not a proxy: a TCP relay to the source port, with splice and pipes the size of Airlock's
  # (1 MiB), and as many threads. It parses nothing, decides nothing and logs nothing, so its
  # bulk figures are what any user-space relay can reach here; it has no rate or idle rows.
  mkdir -p "$WORK/haproxy"
  cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
    nbthread $AIRLOCK_THREADS
    maxconn $(( (FD_LIMIT - 200) / 3 ))
    tune.pipesize 1048576
defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bench
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend origin
backend origin
    server source 127.0.0.1:$SOURCE_PORT
EOF
  "$HAPROXY" -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy/stderr.log" 2>&1 &
  PID_OF[haproxy]=$!; PORT_OF[haproxy]=$HAPROXY_PORT
fi

SUBJECTS=()
for name in airlock airlock-before airlock-copy squid tinyproxy haproxy airlock-raised; do
  [[ -n "${PID_OF[$name]:-}" ]] || continue
  PIDS+=("${PID_OF[$name]}")
  if await_listen "${PID_OF[$name]}" "${PORT_OF[$name]}" "$name"; then SUBJECTS+=("$name"); fi
done

# Arguments for `measure` that route through one subject.
route_args() {
  local name="$1"
  if [[ "$name" == direct ]]; then return 0; fi
  if [[ "$name" == haproxy ]]; then
    printf '%s\n' --tcp-relay "127.0.0.1:${PORT_OF[haproxy]}" --pid "${PID_OF[haproxy]}"
    return 0
  fi
  printf '%s\n' --proxy "127.0.0.1:${PORT_OF[$name]}" --target-host "${TARGET_OF[$name]}" --pid "${PID_OF[$name]}"
  if [[ -n "${JCMD_OF[$name]:-}" ]]; then printf '%s\n' --jcmd "${JCMD_OF[$name]}"; fi
}

# ---- throughput and new tunnels, interleaved ---------------------------------------------------
LOAD_SUBJECTS=()
if wanted direct; then LOAD_SUBJECTS+=(direct); fi
for name in "${SUBJECTS[@]}"; do [[ "$name" == airlock-raised ]] || LOAD_SUBJECTS+=("$name"); done
WARMUP_TESTS=tput4
if [[ " $TESTS " == *" rate "* ]]; then WARMUP_TESTS=tput4,rate; fi
# One pass that is not recorded: the JVM's JIT compiles the tunnel and relay paths, and every
# proxy has touched its pools and buffers once, before any number is kept.
for name in "${LOAD_SUBJECTS[@]}"; do
  [[ "$name" == direct ]] && continue
  log "-- warm-up (not recorded), $name"
  mapfile -t args < <(route_args "$name")
  tests="$WARMUP_TESTS"; [[ "$name" == haproxy ]] && tests=tput4
  bench measure --name "$name" --out "$WORK/warmup.tsv" --source-port "$SOURCE_PORT" --echo-port "$ECHO_PORT" \
    --tests "$tests" --warmup 0 --duration "$WARMUP_PASS" --clients "$CLIENTS" "${args[@]}" >/dev/null 2>&1 || true
done
for round in $(seq 1 "$ROUNDS"); do
  for test in tput1 tput4 rate; do
    [[ " $TESTS " == *" $test "* ]] || continue
    for name in "${LOAD_SUBJECTS[@]}"; do
      # A TCP relay reaches the source port alone: it has bulk rows, no tunnel rate.
      [[ "$name" == haproxy && "$test" == rate ]] && continue
      log "-- round $round/$ROUNDS, $test, $name (load $(cut -d' ' -f1 /proc/loadavg))"
      mapfile -t args < <(route_args "$name")
      measure --name "$name" --tests "$test" "${args[@]}"
    done
  done
done

# ---- idle tunnels, one proxy at a time ---------------------------------------------------------
for name in "${SUBJECTS[@]}"; do
  [[ " $TESTS " == *" idle "* ]] || break
  # The idle row does not depend on the relay: splice or copy, an idle tunnel moves no byte.
  [[ "$name" == airlock-copy || "$name" == airlock-before || "$name" == haproxy ]] && continue
  log "-- idle tunnels, $name"
  mapfile -t args < <(route_args "$name")
  measure --name "$name" --tests idle "${args[@]}"
  # Let the closed tunnels drain before the next proxy is measured.
  sleep 2
done

echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$WORK/environment.txt" >&2
echo
cat "$WORK/environment.txt"
echo
bench report "$RESULTS"
