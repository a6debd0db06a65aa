#!/usr/bin/env bash
# Cold `airlock run -- true` on a project image against the host root (docs/images.md, issue 20):
#   sudo bench/run-image-bench.sh
# Builds the offline test image (scripts/make-test-image.sh), unpacks it once (the first run, not
# timed), then times both runs RUNS times, taking turns (the order swapped each round, so background
# load hits both alike), and prints median, p99 (nearest rank), min and the image/host ratio of the
# medians, and the store's disk use. Nothing leaves the machine: the policy allows nothing and the
# hosts file is empty. Its temporary directory (state, workspace, image) is removed at exit.
# Settings (environment): RUNS (30), WARMUP (2 unrecorded rounds), KEEP=1 (keep the directory).
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
RUNS="${RUNS:-30}"
WARMUP="${WARMUP:-2}"
[[ "$(id -u)" == 0 ]] || { echo "run-image-bench: run as root (airlock run needs it)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "run-image-bench: needs umoci (apt-get install umoci)" >&2; exit 1; }

WORK="$(mktemp -d -t airlock-image-bench.XXXXXX)"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/ws" "$WORK/state"
chown "${SUDO_UID:-65534}:${SUDO_GID:-65534}" "$WORK/ws"
"$ROOT/scripts/make-test-image.sh" "$WORK/devbox" bench >/dev/null
printf 'version: 1\nproject: bench\n' >"$WORK/host.yaml"
printf 'version: 1\nproject: bench\nimage: {oci: devbox, tag: bench}\n' >"$WORK/image.yaml"
: >"$WORK/hosts"
export AIRLOCK_STATE="$WORK/state"
"$ROOT/airlock" --version >/dev/null

run() { "$ROOT/airlock" run --policy "$WORK/$1.yaml" --hosts "$WORK/hosts" --workspace "$WORK/ws" -- true 2>/dev/null; }
run image # unpacks the image once: not timed
for ((i = 0; i < WARMUP + RUNS; i++)); do
  if ((i % 2)); then order=(image host); else order=(host image); fi
  for k in "${order[@]}"; do
    s=$(date +%s%N); run "$k"; e=$(date +%s%N)
    ((i < WARMUP)) || echo "$(((e - s) / 1000000))" >>"$WORK/$k.ms"
  done
done

stats() { sort -n "$WORK/$1.ms" | awk -v name="$1" '{ v[NR] = $1 } END {
  p99 = v[int((NR * 99 + 99) / 100)]; med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%-6s runs %d  median %d ms  p99 %d ms  min %d ms\n", name, NR, med, p99, v[1]; print med > "/dev/stderr" }' 2>"$WORK/$1.median"; }
echo "cold airlock run -- true, host root vs image (RUNS=$RUNS, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
stats host
stats image
awk -v h="$(cat "$WORK/host.median")" -v i="$(cat "$WORK/image.median")" 'BEGIN { printf "image/host median ratio: %.2f\n", i / h }'
echo "store: $(du -sh "$WORK/state/images" | cut -f1) for one digest ($(ls -d "$WORK"/state/images/sha256-* | wc -l) entry); layout: $(du -sh "$WORK/devbox" | cut -f1)"
