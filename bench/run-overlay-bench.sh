#!/usr/bin/env bash
# Copy-on-write workspace creation: an overlayfs mount over a template tree, exactly as Airlock's
# MountOverlay kernel operation makes it (upper and work directories, then one `mount -t overlay
# -o nosuid,nodev,lowerdir=…,upperdir=…,workdir=…`), side by side with the competitor, a full copy
# of the tree (`cp -a`), for a 100-file and a 100,000-file template (docs/BENCHMARKS.md has a sample):
#   sudo bench/run-overlay-bench.sh
# Each workspace is created, timed, then removed (unmount and rm, untimed). The runs take turns
# (overlay, copy, overlay, copy…) so background load hits both alike. Prints, per size, the median,
# p90 and min in milliseconds, and the copy's median over the overlay's. Everything it mounts is
# unmounted and its work directory removed on every exit path. Mount points carry the `alk` prefix.
#
# Settings (environment): RUNS (20 overlay and copy runs per size; the 100,000-file copy is capped
# at COPY_RUNS_LARGE, 7, since each takes seconds), SIZES ("100 100000"), WORK (a fresh directory
# under /var/tmp), KEEP=1 (keep the work directory and raw times).
set -euo pipefail
export LC_ALL=C

RUNS="${RUNS:-20}"
COPY_RUNS_LARGE="${COPY_RUNS_LARGE:-7}"
SIZES="${SIZES:-100 100000}"

if [[ "$(id -u)" != 0 ]]; then
  echo "run-overlay-bench: needs root (mount). Fix: sudo $0" >&2
  exit 125
fi
grep -qw overlay /proc/filesystems || modprobe overlay || { echo "run-overlay-bench: no overlayfs in this kernel" >&2; exit 125; }

WORK="${WORK:-$(mktemp -d /var/tmp/alk-overlay-bench.XXXXXX)}"
mkdir -p "$WORK"
cleanup() {
  # Only our own mounts: alk-prefixed mount points under $WORK.
  # (No match is no error: under set -e and pipefail, a failing grep would end the trap early.)
  { grep -o " $WORK/mnt/alk[^ ]*" /proc/self/mountinfo 2>/dev/null || true; } | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf -- "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

# A template tree of N files in directories of 1,000, like a repository's checkout.
make_tree() {
  local n=$1 dir=$2 i d
  mkdir -p "$dir"
  for ((d = 0; d * 1000 < n; d++)); do
    mkdir -p "$dir/d$d"
    for ((i = d * 1000; i < n && i < (d + 1) * 1000; i++)); do printf 'file %d\n' "$i" >"$dir/d$d/f$i"; done
  done
  echo template >"$dir/README"
}

overlay_once() { # tree id -> prints ms
  local tree=$1 id=$2 t0 t1
  local cow="$WORK/cow/$id" mp="$WORK/mnt/$id"
  t0=$(now_ns)
  mkdir -p "$cow/upper" "$cow/work" "$mp"
  mount -t overlay -o "nosuid,nodev,lowerdir=$tree,upperdir=$cow/upper,workdir=$cow/work" "$id" "$mp"
  t1=$(now_ns)
  # The workspace works: the template is visible and a write lands in upper, not in the template.
  [[ -f "$mp/README" ]] || { echo "overlay $id: template not visible" >&2; exit 1; }
  echo changed >"$mp/README"
  [[ "$(cat "$tree/README")" == template ]] || { echo "overlay $id: a write reached the template" >&2; exit 1; }
  umount "$mp"
  rm -rf -- "$cow" "$mp"
  echo $(((t1 - t0) / 1000))
}

copy_once() { # tree id -> prints ms
  local tree=$1 id=$2 t0 t1 dest="$WORK/copy/$2"
  mkdir -p "$WORK/copy"
  t0=$(now_ns)
  cp -a "$tree" "$dest"
  t1=$(now_ns)
  [[ -f "$dest/README" ]] || { echo "copy $id: incomplete" >&2; exit 1; }
  rm -rf -- "$dest"
  echo $(((t1 - t0) / 1000))
}

# stats FILE (microseconds, one a line) -> "median p90 min" in ms
stats() {
  sort -n "$1" | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
    p = v[int(0.9 * NR + 0.999999)]; if (p == "") p = v[NR];
    printf "%.2f %.2f %.2f", m/1000, p/1000, v[1]/1000 }'
}

echo "# overlay workspace creation vs cp -a, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
echo "# state file system: $(stat -f -c %T "$WORK"), runs: $RUNS (copy of the large tree: $COPY_RUNS_LARGE)"
printf '%-9s %-8s %6s %10s %10s %10s\n' files method runs median_ms p90_ms min_ms
for n in $SIZES; do
  tree="$WORK/templates/bench/t$n/tree"
  make_tree "$n" "$tree"
  sync
  : >"$WORK/overlay-$n.us"
  : >"$WORK/copy-$n.us"
  copies=$RUNS
  if ((n >= 10000 && COPY_RUNS_LARGE < RUNS)); then copies=$COPY_RUNS_LARGE; fi
  for ((r = 0; r < RUNS; r++)); do
    id=$(printf 'alk%08x' $((RANDOM * 32768 + RANDOM)))
    overlay_once "$tree" "$id" >>"$WORK/overlay-$n.us"
    if ((r < copies)); then copy_once "$tree" "$id" >>"$WORK/copy-$n.us"; fi
  done
  read -r om op omin <<<"$(stats "$WORK/overlay-$n.us")"
  read -r cm cp cmin <<<"$(stats "$WORK/copy-$n.us")"
  printf '%-9s %-8s %6s %10s %10s %10s\n' "$n" overlay "$RUNS" "$om" "$op" "$omin"
  printf '%-9s %-8s %6s %10s %10s %10s\n' "$n" "cp -a" "$copies" "$cm" "$cp" "$cmin"
  awk -v c="$cm" -v o="$om" 'BEGIN { printf "#   %s files: cp -a median is %.0fx the overlay median\n", "'"$n"'", c / o }'
  rm -rf -- "$WORK/templates/bench/t$n"
done
