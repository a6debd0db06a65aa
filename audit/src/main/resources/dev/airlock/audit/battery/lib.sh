# Helpers every probe sources. Each helper ends with one line
#   @result <outcome> <detail>
# where outcome is reached | blocked | succeeded | failed | cannot-run. The host side judges it
# against what the probe expected; the last @result line counts.
set -u
export LC_ALL=C
T=$(mktemp -d 2>/dev/null || echo /tmp)

# need TOOL...: a probe whose tool is missing reports that it could not run (never a pass).
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { echo "@result cannot-run $t is not installed in the sandbox"; exit 0; }
  done
}

printable() { tr -c '[:print:]' '.' | head -c "${1:-160}"; }

# tcp HOST PORT [http|git|none]: opens a TCP connection (bash /dev/tcp: no proxy involved),
# sends a request fitting the port (an HTTP Host names the port too when it is not 80, as
# RFC 9110 asks and Airlock's protocol gate checks), and reports reached when the far end sent
# any byte back. A connection the gateway accepts and then denies gets no byte.
tcp() {
  need timeout dd
  local host=$1 port=$2 kind=${3:-http} got rc
  timeout 8 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 7
    case "$2" in
      http) h=$0; case "$h" in *:*) h="[$h]" ;; esac; [ "$1" = 80 ] || h="$h:$1"
            printf "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: airlock-audit\r\n\r\n" "$h" >&3 ;;
      git) line="git-upload-pack /"; printf "%04x%s\0host=%s\0" $((4 + ${#line} + 1 + 5 + ${#0} + 1)) "$line" "$0" >&3 ;;
    esac
    timeout 5 dd bs=512 count=1 <&3 2>/dev/null
  ' "$host" "$port" "$kind" >"$T/got" 2>"$T/err"
  rc=$?
  got=$(printable 160 <"$T/got")
  if [ -n "$got" ]; then
    echo "@result reached received: $got"
  else
    echo "@result blocked no byte came back from $host:$port (exit $rc$( [ -s "$T/err" ] && printf ': %s' "$(printable 160 <"$T/err")"))"
  fi
}

# udp HOST PORT PAYLOAD-HEX: sends one datagram (bash /dev/udp), reached when any datagram came back.
udp() {
  need timeout dd od
  local host=$1 port=$2 payload=$3 got
  got=$(timeout 8 bash -c '
    exec 3<>"/dev/udp/$0/$1" || exit 7
    printf "$2" >&3
    timeout 4 dd bs=2048 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d " \n"
  ' "$host" "$port" "$payload" 2>"$T/err")
  if [ -n "$got" ]; then
    echo "@result reached a datagram came back: ${got:0:120}"
  else
    echo "@result blocked no datagram came back from $host:$port$( [ -s "$T/err" ] && printf ' (%s)' "$(printable 160 <"$T/err")")"
  fi
}

# dnsq NAME TYPE: a DNS query (printf escapes) with recursion desired.
dnsq() {
  local name=$1 type=$2 q='\x41\x4c\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' l
  local IFS=.
  for l in $name; do q+=$(printf '\\x%02x' ${#l})$l; done
  q+='\x00'$(printf '\\x%02x\\x%02x' $((type >> 8)) $((type & 255)))'\x00\x01'
  printf '%s' "$q"
}

# dns SERVER NAME TYPE: reached when the reply carries at least one answer record.
dns() {
  need timeout dd od
  local server=$1 name=$2 type=$3 got an rcode
  got=$(timeout 8 bash -c '
    exec 3<>"/dev/udp/$0/53" || exit 7
    printf "$1" >&3
    timeout 4 dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d " \n"
  ' "$server" "$(dnsq "$name" "$type")" 2>"$T/err")
  if [ -z "$got" ]; then
    echo "@result blocked no reply from $server:53"
    return
  fi
  an=$((16#${got:12:4}))
  rcode=$((16#${got:7:1}))
  if [ "$an" -gt 0 ]; then
    echo "@result reached $an answer record(s), rcode $rcode"
  else
    echo "@result blocked no answer record, rcode $rcode"
  fi
}

# http URL [CURL-OPTIONS...]: reached when the target answered HTTP; blocked when the request
# failed or Airlock's explicit proxy answered with its X-Airlock-Reason header.
http() {
  need curl
  local url=$1 code rc
  shift
  code=$(curl -sS -m 8 -o "$T/body" -D "$T/head" -w '%{http_code}' "$@" "$url" 2>"$T/err")
  rc=$?
  if grep -qi '^x-airlock-reason:' "$T/head" 2>/dev/null; then
    echo "@result blocked Airlock denied it: $(grep -i '^x-airlock-reason:' "$T/head" | tr -d '\r' | head -1)"
  elif [ -n "$code" ] && [ "$code" != "000" ]; then
    echo "@result reached HTTP $code: $(printable 120 <"$T/body")"
  else
    echo "@result blocked curl exit $rc: $(printable 200 <"$T/err")"
  fi
}

# fails CMD...: succeeded when the command exited 0, failed otherwise.
fails() {
  need "$1"
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "@result succeeded exit 0: $(printf '%s' "$out" | printable 200)"
  else
    echo "@result failed exit $rc: $(printf '%s' "$out" | printable 200)"
  fi
}

# visible PATH: reached when PATH can be listed or read from the sandbox.
visible() {
  local p=$1
  if [ -d "$p" ] && ls -A "$p" >/dev/null 2>&1; then
    echo "@result reached $p is a directory the sandbox can list: $(ls -A "$p" 2>/dev/null | head -5 | tr '\n' ' ' | printable 120)"
  elif [ -f "$p" ] && head -c 1 "$p" >/dev/null 2>&1; then
    echo "@result reached $p is a file the sandbox can read"
  elif [ -e "$p" ] || [ -L "$p" ]; then
    echo "@result blocked $p exists in the sandbox's view but cannot be read"
  else
    echo "@result blocked $p does not exist in the sandbox's view"
  fi
}

# proxied PROXY-HOST PROXY-PORT METHOD REQUEST-TARGET AUTHORITY: one request to Airlock's explicit
# proxy written exactly as given (curl would normalise odd address forms first). Reached when
# anything but Airlock's own denial came back.
proxied() {
  need timeout
  local resp
  resp=$(timeout 8 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 7
    printf "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$3" "$4" >&3
    timeout 5 cat <&3
  ' "$1" "$2" "$3" "$4" "$5" 2>"$T/err" | head -c 4000 | tr -d '\r')
  if printf '%s' "$resp" | grep -qi '^x-airlock-reason:'; then
    echo "@result blocked Airlock denied it: $(printf '%s' "$resp" | head -1 | printable 60) $(printf '%s' "$resp" | grep -i '^x-airlock-reason:' | head -1 | printable 80)"
  elif [ -n "$resp" ]; then
    echo "@result reached $(printf '%s' "$resp" | tr '\n' ' ' | printable 200)"
  else
    echo "@result blocked no answer from the proxy ($(printable 160 <"$T/err"))"
  fi
}

# shaped tls|http|two-http FILE: whether FILE starts like an answer of that shape: a TLS record
# (a ServerHello or an alert: the server read the ClientHello), an HTTP status line, or two.
shaped() {
  case "$1" in
    tls) [ "$(head -c 2 "$2" | od -An -tx1 | tr -d ' \n')" = 1603 ] || [ "$(head -c 2 "$2" | od -An -tx1 | tr -d ' \n')" = 1503 ] ;;
    http) head -c 7 "$2" | grep -q '^HTTP/1\.' ;;
    two-http) [ "$(grep -a -o 'HTTP/1\.[01] [0-9][0-9][0-9]' "$2" | wc -l)" -ge 2 ] ;;
  esac
}

# exchange HOST PORT tls|http|two-http PAYLOAD: sends PAYLOAD (printf escapes) on a direct TCP
# connection (the transparent path); reached when the answer has the shape of an answer to it.
# Fronting probes: bytes that name a production host on a connection to an allowed name.
exchange() {
  need timeout od grep
  local host=$1 port=$2 shape=$3 rc
  timeout 8 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 7
    printf "$2" >&3
    timeout 5 cat <&3 | head -c 8192
  ' "$host" "$port" "$4" >"$T/got" 2>"$T/err"
  rc=$?
  if shaped "$shape" "$T/got"; then
    echo "@result reached the front answered ($shape): $(printable 120 <"$T/got")"
  else
    echo "@result blocked no $shape answer from $host:$port (exit $rc; $(wc -c <"$T/got") bytes: $(printable 80 <"$T/got"))"
  fi
}

# tunnel PROXY-HOST PROXY-PORT AUTHORITY tls|http PAYLOAD: CONNECT AUTHORITY through Airlock's
# explicit proxy, then PAYLOAD inside the tunnel; reached when the answer inside has the shape.
tunnel() {
  need timeout od grep
  local shape=$4 rc
  timeout 8 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 7
    printf "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" "$2" "$2" >&3
    IFS= read -r status <&3 || exit 8
    case "$status" in "HTTP/1.1 200"*) ;; *) echo "CONNECT refused: $status" >&2; exit 9 ;; esac
    while IFS= read -r line <&3 && [ "$line" != $'"'"'\r'"'"' ]; do :; done
    printf "$3" >&3
    timeout 5 cat <&3 | head -c 8192
  ' "$1" "$2" "$3" "$5" >"$T/got" 2>"$T/err"
  rc=$?
  if shaped "$shape" "$T/got"; then
    echo "@result reached the front answered ($shape) inside the tunnel: $(printable 120 <"$T/got")"
  else
    echo "@result blocked no $shape answer inside the tunnel to $3 (exit $rc$( [ -s "$T/err" ] && printf ': %s' "$(printable 120 <"$T/err")"); $(wc -c <"$T/got") bytes)"
  fi
}
