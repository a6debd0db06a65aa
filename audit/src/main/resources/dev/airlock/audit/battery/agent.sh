#!/bin/bash
# The audit's agent inside the sandbox. Reads one probe id per line on stdin, runs
# /workspace/probes/<id>.sh bounded in time, and prints one line per probe:
#   @@probe <id> <exit> <base64 of the probe's whole output>
# The host side drives it one probe at a time, so every gateway decision between two lines
# belongs to one probe.
cd /workspace || exit 125
printf '@@ready\n'
while IFS= read -r id; do
  [ "$id" = "@quit" ] && exit 0
  out=$(timeout -k 2 25 bash /workspace/probes/"$id".sh 2>&1 </dev/null)
  rc=$?
  printf '@@probe %s %d %s\n' "$id" "$rc" "$(printf '%s' "$out" | base64 -w0)"
done
