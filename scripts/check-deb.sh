#!/usr/bin/env bash
# Installs target/airlock_*.deb (made by scripts/package-deb.sh), checks the installed files, runs
# `airlock demo` from them, and purges the package again, on every path (CI, as root):
#   scripts/check-deb.sh            with the demo
#   scripts/check-deb.sh --no-demo  without it (the demo uses one machine-wide namespace world)
# Leaves nothing behind: the demo's state goes to a temporary AIRLOCK_STATE that is removed, and the
# purge must leave none of the package's paths.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
demo=1
case "${1:-}" in
  --no-demo) demo=0 ;;
  "") ;;
  *) echo "usage: scripts/check-deb.sh [--no-demo]" >&2; exit 2 ;;
esac
[[ "$(id -u)" == 0 ]] || { echo "check-deb: installs a package, so it runs as root." >&2; exit 1; }
debs=("$ROOT"/target/airlock_*_amd64.deb)
[[ -f "${debs[0]}" && ${#debs[@]} == 1 ]] || { echo "check-deb: expected one target/airlock_*_amd64.deb. Fix: run scripts/package-deb.sh." >&2; exit 1; }
DEB="${debs[0]}"
if dpkg-query -W airlock >/dev/null 2>&1; then
  echo "check-deb: the airlock package is already installed; this check installs and purges its own copy. Fix: apt-get purge airlock first." >&2
  exit 1
fi

STATE="$(mktemp -d -t airlock-deb-state.XXXXXX)"
# a noexec tmpfs standing in for a hardened /tmp (below)
NOEXEC="$(mktemp -d -t alk-deb-noexec.XXXXXX)"
GATEWAY_PID=""
purge() {
  [[ -n "$GATEWAY_PID" ]] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
  mountpoint -q "$NOEXEC" && umount "$NOEXEC"
  rmdir "$NOEXEC" 2>/dev/null || true
  apt-get purge -y -qq airlock >/dev/null 2>&1 || dpkg --purge airlock >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap purge EXIT
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

echo "check-deb: installing $DEB" >&2
apt-get install -y -qq "$DEB" >/dev/null
deb_version="$(dpkg-query -W -f '${Version}' airlock)"

# Checked from a directory with nothing of Airlock in it: the installed copy needs no checkout.
cd "$STATE"
[[ "$(command -v airlock)" == /usr/bin/airlock ]] || fail "airlock on PATH is $(command -v airlock), not /usr/bin/airlock"
version="$(airlock --version | head -1)"
[[ "$version" == "airlock ${deb_version//\~/-} (Debian package $deb_version)" ]] || fail "airlock --version says '$version' for package $deb_version"
echo "check-deb: $version" >&2
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify /lib/systemd/system/airlock.service /lib/systemd/system/airlock.socket \
    || fail "systemd-analyze verify airlock.service airlock.socket"
  echo "check-deb: systemd-analyze verify airlock.service airlock.socket: ok" >&2
else
  [[ "${CI:-}" == true ]] && fail "systemd-analyze is missing (CI installs systemd to check the unit)"
  echo "check-deb: systemd-analyze is missing, unit not verified" >&2
fi
# Where /tmp is mounted noexec (a common hardening), the native libraries still load: the package's
# (/usr/lib/airlock/native), not copies in java.io.tmpdir. The positive control: the same jar with the
# libraries taken from the jar (org.sqlite.lib.path unset) fails to open the database on that tmpdir.
mount -t tmpfs -o noexec,nosuid,size=32m alk-deb-noexec "$NOEXEC"
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()" "$STATE/usage.db"
AIRLOCK_JAVA_OPTS="-Djava.io.tmpdir=$NOEXEC" airlock pool recommend --db "$STATE/usage.db" --policy /etc/airlock/scratch.yaml \
  >"$STATE/noexec-db.out" 2>&1 || { cat "$STATE/noexec-db.out" >&2; fail "with a noexec tmpdir, the state database does not open (sqlite's native library)"; }
/usr/lib/airlock/runtime/bin/java -Djava.io.tmpdir="$NOEXEC" -jar /usr/lib/airlock/airlock.jar pool recommend --db "$STATE/usage.db" \
  --policy /etc/airlock/scratch.yaml >"$STATE/noexec-control.out" 2>&1 \
  && fail "control: sqlite's library copied into a noexec tmpdir loaded, so the check above proves nothing"
grep -q "failed to map segment" "$STATE/noexec-control.out" || { cat "$STATE/noexec-control.out" >&2; fail "control failed otherwise than on the noexec tmpdir"; }
# epoll: the transparent listener refuses to start without it. JNA (libc's fcntl, which sizes the relay's
# splice pipes): the gateway's "relay" line says "pipes of up to 1 MiB" only when it loaded. JNA unpacks
# into jna.tmpdir (by default ~/.cache, not java.io.tmpdir), so that is pointed at the noexec tmpfs too.
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start_gateway OUT CMD...: runs a gateway until it printed its audit log line (its last), or exited.
start_gateway() {
  local out="$1"; shift
  "$@" >"$out" 2>&1 &
  GATEWAY_PID=$!
  for _ in $(seq 100); do grep -q '^  audit log' "$out" && break; kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 0.2; done
  kill "$GATEWAY_PID" 2>/dev/null || true; wait "$GATEWAY_PID" 2>/dev/null || true; GATEWAY_PID=""
}
start_gateway "$STATE/noexec-gw.out" env AIRLOCK_JAVA_OPTS="-Djava.io.tmpdir=$NOEXEC -Djna.tmpdir=$NOEXEC" airlock gateway \
  --policy /etc/airlock/scratch.yaml --listen "127.0.0.1:$(port)" --transparent "127.0.0.1:$(port)" --audit-log "$STATE/gateway-audit.log"
grep -q '^  transparent' "$STATE/noexec-gw.out" || { cat "$STATE/noexec-gw.out" >&2; fail "with a noexec tmpdir, the gateway's transparent listener (epoll) does not start"; }
grep -q '^  relay  .*pipes of up to 1 MiB' "$STATE/noexec-gw.out" \
  || { cat "$STATE/noexec-gw.out" >&2; fail "with a noexec tmpdir, the gateway's relay cannot size its pipes (JNA's native library)"; }
# The control: the same jar with every native library from the package but JNA's, which then unpacks
# into the noexec tmpfs, and fails, and the gateway says its relay is slower.
start_gateway "$STATE/noexec-jna-control.out" /usr/lib/airlock/runtime/bin/java -Djava.library.path=/usr/lib/airlock/native \
  -Djna.tmpdir="$NOEXEC" -jar /usr/lib/airlock/airlock.jar gateway --policy /etc/airlock/scratch.yaml --listen "127.0.0.1:$(port)" \
  --audit-log "$STATE/gateway-audit.log"
grep -q '^  relay (slower)  .*not available through JNA' "$STATE/noexec-jna-control.out" \
  || { cat "$STATE/noexec-jna-control.out" >&2; fail "control: JNA unpacked into a noexec tmpdir was not reported, so the check above proves nothing"; }
umount "$NOEXEC"
echo "check-deb: with a noexec tmpdir, sqlite, epoll and JNA load from /usr/lib/airlock/native" >&2

# Every command answers --help; the completion script parses and knows the subcommands.
airlock --help >/dev/null
for cmd in run demo policy gateway log gc daemon pool audit evidence template sandbox; do
  airlock "$cmd" --help >/dev/null || fail "airlock $cmd --help"
done
bash -c 'source /usr/share/bash-completion/completions/airlock && COMP_WORDS=(airlock sand) COMP_CWORD=1 && _complete_airlock && [[ " ${COMPREPLY[*]} " == *" sandbox "* ]]' \
  || fail "bash completion does not complete 'airlock sand' to 'sandbox'"
# `airlock run` goes through the client first, which hands what it does not do to the JVM.
[[ -x /usr/lib/airlock/airlock-client ]] || fail "/usr/lib/airlock/airlock-client is missing"
# The pods' stdin relay: static (any agent image runs it), and it ends a piped command's input at the end frame.
[[ -x /usr/lib/airlock/airlock-exec ]] || fail "/usr/lib/airlock/airlock-exec is missing"
if readelf -l /usr/lib/airlock/airlock-exec | grep -q 'program interpreter'; then
  fail "/usr/lib/airlock/airlock-exec is not statically linked (it names a program interpreter)"
fi
[[ "$(printf '\0\0\0\2x\n\0\0\0\0' | /usr/lib/airlock/airlock-exec -- cat)" == x ]] \
  || fail "/usr/lib/airlock/airlock-exec -- cat did not give back the framed input"
AIRLOCK_DAEMON_SOCKET="$STATE/none.sock" airlock run --help | grep -q '^Usage: airlock run' \
  || fail "airlock run --help (handed from the client to the JVM) did not print the usage"
# The default daemon configuration is valid: its policy parses (the daemon's own check runs at start).
airlock policy check /etc/airlock/scratch.yaml >/dev/null || fail "/etc/airlock/scratch.yaml does not pass airlock policy check"

if (( demo )); then
  echo "check-deb: airlock demo from the installed package" >&2
  AIRLOCK_STATE="$STATE" airlock demo || fail "airlock demo from the installed package exited $?"
fi

cd /
purge
trap - EXIT
for p in /usr/bin/airlock /usr/lib/airlock /etc/airlock /lib/systemd/system/airlock.service /lib/systemd/system/airlock.socket \
         /usr/share/bash-completion/completions/airlock /usr/share/doc/airlock; do
  [[ ! -e "$p" ]] || fail "$p is still there after apt-get purge airlock"
done
status="$(dpkg-query -W -f '${Status}' airlock 2>/dev/null || true)"
[[ -z "$status" || "$status" == *not-installed* ]] || fail "dpkg still lists airlock after the purge ($status)"
echo "check-deb: installed, checked and purged" >&2
