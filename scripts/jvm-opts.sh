# Sourced by ./airlock and by the installed /usr/bin/airlock (the Debian package): the JVM flags
# that depend on the command, in the array JVM_OPTS. The caller adds its class cache.
#
# Commands that run for long (the daemon, a gateway, a local `airlock run`, which hosts one) keep
# the default compilers and collector; short ones (a pooled `airlock run`, policy, log, pool and
# template commands) take C1 and the serial collector, which start faster. JVM logging goes to
# stderr, errors only, so no cache message ever lands in a command's stdout.
#
# Netty's buffer allocator defines its JFR event classes on the first allocation when the JVM has
# JFR, about 50 ms on the daemon's first request (the first run after socket activation waits for
# it); they record nothing unless a recording runs. AIRLOCK_JAVA_OPTS=-Dio.netty.jfr.enabled=true
# brings them back (the launchers add it after these flags).
airlock_jvm_opts() {
  local long=1
  JVM_OPTS=(-Xlog:disable -Xlog:all=error:stderr -Dio.netty.jfr.enabled=false)
  case "${1:-}" in
    daemon|gateway|demo|audit) ;;
    run)
      # pooled when a daemon's socket exists and nothing asks for a local sandbox
      local sock="${AIRLOCK_DAEMON_SOCKET:-${AIRLOCK_STATE:-/var/lib/airlock}/daemon.sock}" a
      if [[ -S "$sock" ]]; then
        long=0
        for a in "$@"; do
          [[ "$a" == "--" ]] && break
          case "$a" in --no-daemon|--workspace|--workspace=*|--events|--events=*) long=1 ;; esac
        done
      fi ;;
    *) long=0 ;;
  esac
  (( long )) || JVM_OPTS+=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
}
