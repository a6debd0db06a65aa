# Sourced by ./airlock and ./test: finds a JDK 21+ and sets JAVA, JAVA_FEATURE and JAVA_HOME_FOUND.
# Order: $AIRLOCK_JAVA_HOME, $JAVA_HOME, java on PATH, then /usr/lib/jvm/* (newest first).
AIRLOCK_MIN_JAVA=21

# The JDK's `release` file names its version without starting a JVM (~0.2 s per candidate saved);
# a java without one is asked directly.
airlock_java_feature() {
  local home release v
  home="$(dirname "$(dirname "$(readlink -f "$1")")")"
  release="$home/release"
  if [[ -f "$release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\{0,1\}\([0-9][0-9.]*\).*/\1/p' "$release" | head -1)"
    v="${v#1.}"
    if [[ "$v" =~ ^[0-9]+ ]]; then
      echo "$v"
      return
    fi
  fi
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

airlock_find_java() {
  local candidates=() d c v
  [[ -n "${AIRLOCK_JAVA_HOME:-}" ]] && candidates+=("$AIRLOCK_JAVA_HOME/bin/java")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for d in $(ls -d /usr/lib/jvm/*/ /opt/java/*/ 2>/dev/null | sort -rV); do
    candidates+=("${d}bin/java")
  done
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    v="$(airlock_java_feature "$c")"; v="${v%%.*}"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    # The first candidate that is new enough wins, so an explicit JAVA_HOME is respected.
    if (( v >= AIRLOCK_MIN_JAVA )); then
      JAVA="$c"
      JAVA_FEATURE="$v"
      JAVA_HOME_FOUND="$(dirname "$(dirname "$(readlink -f "$c")")")"
      return 0
    fi
  done
  cat >&2 <<MSG
airlock: no JDK ${AIRLOCK_MIN_JAVA} or newer was found (looked at \$AIRLOCK_JAVA_HOME, \$JAVA_HOME, java on PATH and /usr/lib/jvm).
Install one, for example with
  sudo apt-get install openjdk-21-jdk-headless        (Ubuntu 22.04+, Debian 13)
or a Temurin ${AIRLOCK_MIN_JAVA}+ JDK from adoptium.net, then set JAVA_HOME to it.
MSG
  return 1
}

# MAVEN_OPTS for the found JDK: JDK 24+ warns about sun.misc.Unsafe in Maven's own libraries.
airlock_maven_opts() {
  local opts="${MAVEN_OPTS:-}"
  (( JAVA_FEATURE >= 24 )) && opts="$opts --sun-misc-unsafe-memory-access=allow"
  echo "$opts"
}
