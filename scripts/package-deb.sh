#!/usr/bin/env bash
# Builds the Debian package target/airlock_<version>_amd64.deb from this checkout:
#   scripts/package-deb.sh             build the CLI jar with Maven first (tests skipped)
#   scripts/package-deb.sh --no-build  package the existing cli/target/airlock.jar (CI, after ./test)
#
# jlink + dpkg-deb rather than `jpackage --type deb`: jpackage installs under /opt/airlock with a
# native launcher whose JVM flags are fixed at build time, and has no place for a systemd unit,
# /etc conffiles or shell completion. Airlock's launcher picks JVM flags per command
# (scripts/jvm-opts.sh) and uses an AOT class cache, so the package carries that same launcher
# over a jlink runtime, and dpkg-deb lays the files out where Debian expects them.
#
# Needs a JDK 25+ (jdeps, jlink; the AOT cache is a JDK 25 feature), dpkg-deb, ldd, python3 and gcc.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
PKG="$ROOT/packaging/deb"
OUT="${AIRLOCK_DEB_OUT:-$ROOT/target}"
JAR="$ROOT/cli/target/airlock.jar"
build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  *) echo "usage: scripts/package-deb.sh [--no-build]" >&2; exit 2 ;;
esac

# shellcheck source=java-env.sh
source "$ROOT/scripts/java-env.sh"
airlock_find_java || exit 1
JDK="$JAVA_HOME_FOUND"
if (( JAVA_FEATURE < 25 )) || [[ ! -x "$JDK/bin/jlink" ]]; then
  echo "package-deb: needs a JDK 25+ with jlink (found $JDK, Java $JAVA_FEATURE). Fix: set JAVA_HOME to one, e.g. /usr/lib/jvm/temurin-25-jdk-amd64." >&2
  exit 1
fi
for tool in dpkg-deb ldd dpkg python3 gcc; do
  command -v "$tool" >/dev/null || { echo "package-deb: $tool is missing. Fix: run on Debian/Ubuntu with dpkg-dev installed." >&2; exit 1; }
done

if (( build )); then
  echo "package-deb: building the CLI jar with Maven" >&2
  (cd "$ROOT" && JAVA_HOME="$JDK" MAVEN_OPTS="$(airlock_maven_opts)" ./mvnw -q -B -Dmaven.test.skip=true -pl cli -am package)
fi
[[ -f "$JAR" ]] || { echo "package-deb: $JAR is missing. Fix: run without --no-build." >&2; exit 1; }

WORK="$(mktemp -d -t airlock-deb.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# Maven's 0.1.0-SNAPSHOT becomes Debian's 0.1.0~SNAPSHOT, which sorts before the 0.1.0 release.
(cd "$WORK" && "$JDK/bin/jar" --extract --file "$JAR" dev/airlock/cli/version.properties)
MVN_VERSION="$(sed -n 's/^version=//p' "$WORK/dev/airlock/cli/version.properties" | tr -d '\r')"
[[ "$MVN_VERSION" =~ ^[0-9][0-9A-Za-z.+-]*$ ]] || { echo "package-deb: no usable version in $JAR ('$MVN_VERSION')." >&2; exit 1; }
DEB_VERSION="${MVN_VERSION//-/\~}"
DEB="$OUT/airlock_${DEB_VERSION}_amd64.deb"

STAGE="$WORK/root"
LIB="$STAGE/usr/lib/airlock"
mkdir -p "$LIB" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/etc/airlock" "$STAGE/DEBIAN" \
  "$STAGE/usr/share/bash-completion/completions" "$STAGE/usr/share/doc/airlock"

# The runtime: only the modules jdeps finds in the jar (and its dependencies, multi-release aware).
MODULES="$("$JDK/bin/jdeps" --multi-release "$JAVA_FEATURE" --ignore-missing-deps --print-module-deps "$JAR" | tail -1)"
[[ "$MODULES" =~ ^[a-z.,]+$ ]] || { echo "package-deb: jdeps gave no module list ('$MODULES')." >&2; exit 1; }
echo "package-deb: runtime modules $MODULES" >&2
# java.desktop is there for java.beans (Jackson); its X11, sound and splash libraries would only
# pull X and ALSA into Depends for a runtime that is always headless.
"$JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --exclude-files='**/libawt_xawt.so,**/libjawt.so,**/libjsound.so,**/libsplashscreen.so' \
  --output "$LIB/runtime"
# The jar without other platforms' native libraries (sqlite-jdbc, JNA): 27 MB down to 14 MB. This
# platform's (Netty's epoll, sqlite-jdbc, JNA) also go to native/, which the launcher points the JVM
# at (airlock.launcher): loaded from there, not copied into java.io.tmpdir on each start, so that a
# noexec /tmp does not take epoll and the state database away.
python3 "$PKG/strip-natives.py" "$JAR" "$LIB/airlock.jar" "$LIB/native"
install -m 0644 "$ROOT/scripts/jvm-opts.sh" "$LIB/jvm-opts.sh"
# The client for pooled runs, without a JVM (tested by cli NativeClientTest).
gcc -O2 -Wall -Wextra -Werror -o "$LIB/airlock-client" "$ROOT/packaging/client/airlock-client.c"
strip "$LIB/airlock-client" 2>/dev/null || true
# The stdin relay of piped commands in Kubernetes agent pods (docs/kubernetes.md, The end of stdin): static,
# since it runs in whatever agent image the project uses; the OCI image's init container copies it into each
# pod (tested by k8s AirlockExecTest). Not in SHLIB_DEPENDS: it links nothing at run time.
gcc -static -Os -Wall -Wextra -Werror -o "$LIB/airlock-exec" "$ROOT/packaging/exec/airlock-exec.c" \
  || { echo "package-deb: packaging/exec/airlock-exec.c did not build statically. Fix: apt-get install gcc libc6-dev (libc.a)." >&2; exit 1; }
strip "$LIB/airlock-exec" 2>/dev/null || true
sed "s/@DEB_VERSION@/$DEB_VERSION/g" "$PKG/airlock.launcher" >"$STAGE/usr/bin/airlock"
chmod 0755 "$STAGE/usr/bin/airlock"

# The AOT class cache, trained with the packaged runtime and jar on the short commands' code
# paths (as ./airlock does). The JVM checks it on every start and ignores it if it does not match.
"$LIB/runtime/bin/java" -XX:AOTCacheOutput="$LIB/airlock.aot" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -cp "$LIB/airlock.jar" dev.airlock.cli.AotTraining "$ROOT/examples" </dev/null >"$WORK/aot.log" 2>&1 \
  || { cat "$WORK/aot.log" >&2; echo "package-deb: training the AOT cache failed (output above)." >&2; exit 1; }

# Shell completion from the command tree itself (picocli's AutoComplete, on the whole tree).
"$LIB/runtime/bin/java" -cp "$LIB/airlock.jar" dev.airlock.cli.CompletionScript \
  "$STAGE/usr/share/bash-completion/completions/airlock"

install -m 0644 "$PKG/airlock.service" "$PKG/airlock.socket" "$STAGE/lib/systemd/system/"
install -m 0644 "$PKG/daemon.yaml" "$PKG/scratch.yaml" "$STAGE/etc/airlock/"
install -m 0644 "$ROOT/README.md" "$ROOT/SECURITY.md" "$ROOT/docs/daemon.md" "$STAGE/usr/share/doc/airlock/"
for f in postinst prerm postrm; do install -m 0755 "$PKG/$f" "$STAGE/DEBIAN/$f"; done
printf '/etc/airlock/daemon.yaml\n/etc/airlock/scratch.yaml\n' >"$STAGE/DEBIAN/conffiles"

# Depends on the packages that own the C libraries the runtime and the client link against (libc6, ...).
SHLIB_DEPENDS="$({ find "$LIB/runtime" "$LIB/native" -type f \( -name '*.so' -o -path '*/bin/*' \); echo "$LIB/airlock-client"; } \
  | while read -r f; do ldd "$f" 2>/dev/null || true; done \
  | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u \
  | while read -r so; do
      [[ "$(readlink -f "$so")" == "$LIB"/* ]] && continue   # the runtime's own libraries
      dpkg -S "$(readlink -f "$so")" 2>/dev/null || dpkg -S "$so" 2>/dev/null || echo "unowned:$so"
    done \
  | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')"
if [[ -z "$SHLIB_DEPENDS" || "$SHLIB_DEPENDS" == *unowned* ]]; then
  echo "package-deb: cannot name the packages of the runtime's libraries ('$SHLIB_DEPENDS')." >&2
  exit 1
fi
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@DEB_VERSION@/$DEB_VERSION/" -e "s/@INSTALLED_KB@/$INSTALLED_KB/" -e "s/@SHLIB_DEPENDS@/$SHLIB_DEPENDS/" \
  "$PKG/control.in" >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$STAGE/DEBIAN/md5sums"

mkdir -p "$OUT"
rm -f "$OUT"/airlock_*_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
