#!/usr/bin/env bash
# Builds the container image of Airlock (the gateway and daemon pods of docs/kubernetes.md) as an OCI
# image layout, target/oci/airlock, tagged with Airlock's version, from the project's own Debian package:
#   scripts/build-oci-image.sh            from target/airlock_*_amd64.deb (scripts/package-deb.sh makes it)
#   scripts/build-oci-image.sh FILE.deb   from that package
# Push it with skopeo: skopeo copy oci:target/oci/airlock:VERSION docker://REGISTRY/airlock:VERSION
#
# No Docker engine: mmdebstrap (Debian's own tool) makes a minimal bookworm root from a Debian mirror
# with the package and its dependencies installed by apt, and umoci turns that root into one layer.
# umoci unpack + repack rather than `umoci insert`: insert of umoci 0.4.7 writes layers without tar's
# end blocks, which Airlock's own image store refuses as truncated (docs/images.md).
#
# Reproducible for the same package and mirror content: SOURCE_DATE_EPOCH (default: the newest file
# time in the package) clamps every time in the root and dates the image. It may not be older than
# the package's files: the JVM checks the jar's time against the AOT cache the package was built with.
#
# The root filesystem mmdebstrap made is cached under target/oci-cache, keyed by the package's sha256,
# the suite, the mirror and this script, since it takes minutes and needs the mirror.
# Environment: AIRLOCK_IMAGE_MIRROR (default http://deb.debian.org/debian), AIRLOCK_IMAGE_SOURCE (the
# org.opencontainers.image.source label; default: the git remote origin's URL). Needs root (umoci
# unpack), mmdebstrap, umoci, dpkg-deb, git, jq.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SUITE=bookworm
MIRROR="${AIRLOCK_IMAGE_MIRROR:-http://deb.debian.org/debian}"
LAYOUT="$ROOT/target/oci/airlock"
CACHE="$ROOT/target/oci-cache"
# The user the gateway and daemon pods run as: ProjectManifests' and docs/kubernetes/daemon.yaml's
# securityContext (runAsUser/runAsGroup 65532). The image names it so a runtime without a pod spec
# (bwrap in check-oci-image.sh, `docker run`) also runs Airlock unprivileged.
IMAGE_UID=65532

die() { echo "build-oci-image: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") debs=("$ROOT"/target/airlock_*_amd64.deb)
      [[ -f "${debs[0]}" && ${#debs[@]} == 1 ]] || die "expected one target/airlock_*_amd64.deb. Fix: run scripts/package-deb.sh (or give the .deb as the argument)."
      DEB="${debs[0]}" ;;
  *.deb) [[ -f "$1" ]] || die "$1: no such file. Fix: give the path of an airlock_*_amd64.deb made by scripts/package-deb.sh."
      DEB="$(readlink -f "$1")" ;;
  *) echo "usage: scripts/build-oci-image.sh [FILE.deb]" >&2; exit 2 ;;
esac
[[ "$(id -u)" == 0 ]] || die "umoci unpacks the image's root with its owners, so this runs as root. Fix: run it with sudo."
for tool in mmdebstrap umoci dpkg-deb git sha256sum jq; do
  command -v "$tool" >/dev/null || die "$tool is missing. Fix: apt-get install mmdebstrap umoci dpkg-dev git jq."
done
[[ "$(dpkg-deb -f "$DEB" Package)" == airlock ]] || die "$DEB is not the airlock package. Fix: give target/airlock_*_amd64.deb."

# Debian's 0.1.0~SNAPSHOT is Maven's 0.1.0-SNAPSHOT: an image tag may not contain '~'.
DEB_VERSION="$(dpkg-deb -f "$DEB" Version)"
VERSION="${DEB_VERSION//\~/-}"
[[ "$VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "version '$DEB_VERSION' of $DEB does not make an image tag."
REVISION="$(git -C "$ROOT" rev-parse HEAD)"
git -C "$ROOT" diff --quiet HEAD -- || echo "build-oci-image: the checkout has uncommitted changes; the revision label names $REVISION all the same." >&2
SOURCE="${AIRLOCK_IMAGE_SOURCE:-$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)}"

NEWEST="$(dpkg-deb --fsys-tarfile "$DEB" | tar -t --full-time -v | awk '{print $4" "$5}' | sort | tail -1)"
NEWEST_EPOCH="$(date -u -d "$NEWEST" +%s)"
EPOCH="${SOURCE_DATE_EPOCH:-$NEWEST_EPOCH}"
[[ "$EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH='$EPOCH' is not a number of seconds. Fix: unset it or give e.g. \$(git log -1 --format=%ct)."
(( EPOCH >= NEWEST_EPOCH )) || die "SOURCE_DATE_EPOCH=$EPOCH is older than the package's newest file ($NEWEST UTC); clamping to it would change the jar's time, and the JVM would then refuse the package's AOT cache. Fix: unset SOURCE_DATE_EPOCH, or give one >= $NEWEST_EPOCH."
export SOURCE_DATE_EPOCH="$EPOCH"
CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

WORK="$(mktemp -d -t airlock-oci.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# 1. The root: the essential packages, then apt (outside the chroot) installs the package and its
# Depends. Documentation and translations are left out (copyright files kept); the user and the state
# directory the pods mount are added; apt's lists and caches are not kept.
KEY="$( { sha256sum <"$DEB"; echo "$SUITE $MIRROR $EPOCH $IMAGE_UID"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
ROOTFS_TAR="$CACHE/rootfs-$KEY.tar"
if [[ ! -f "$ROOTFS_TAR" ]]; then
  mkdir -p "$CACHE"
  rm -f "$CACHE"/rootfs-*.tar
  echo "build-oci-image: mmdebstrap $SUITE from $MIRROR with $(basename "$DEB") (minutes; cached as $ROOTFS_TAR)" >&2
  # mmdebstrap hands the .deb's path to dpkg inside the chroot: the hook mounts it there.
  cp "$DEB" "$WORK/airlock.deb"
  mmdebstrap --quiet --mode=root --variant=essential --format=tar \
    --include="$WORK/airlock.deb" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-include=/usr/share/doc/airlock/*' \
    --customize-hook="echo 'airlock:x:$IMAGE_UID:$IMAGE_UID:Airlock:/var/lib/airlock:/usr/sbin/nologin' >>\"\$1/etc/passwd\"" \
    --customize-hook="echo 'airlock:x:$IMAGE_UID:' >>\"\$1/etc/group\"" \
    --customize-hook="echo 'airlock:!:1::::::' >>\"\$1/etc/shadow\"" \
    --customize-hook="install -d -o $IMAGE_UID -g $IMAGE_UID -m 0750 \"\$1/var/lib/airlock\"" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old' \
    --customize-hook=': >"$1/etc/hostname"; : >"$1/etc/resolv.conf"' \
    "$SUITE" "$WORK/rootfs.tar" "$MIRROR" \
    || die "mmdebstrap failed (output above). Fix: check that $MIRROR answers (AIRLOCK_IMAGE_MIRROR names another mirror)."
  mv "$WORK/rootfs.tar" "$ROOTFS_TAR"
fi

# 2. The image: one layer from that root, then its configuration.
echo "build-oci-image: packing $LAYOUT:$VERSION" >&2
rm -rf "$LAYOUT"
mkdir -p "$(dirname "$LAYOUT")"
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:$VERSION"
umoci unpack --image "$LAYOUT:$VERSION" "$WORK/bundle" >/dev/null
tar -xpf "$ROOTFS_TAR" --numeric-owner -C "$WORK/bundle/rootfs"
# The directories tar just made took the current time: clamp them too (their contents kept theirs).
find "$WORK/bundle/rootfs" -newermt "@$EPOCH" -print0 | xargs -0r touch -h -d "@$EPOCH"
umoci repack --image "$LAYOUT:$VERSION" --history.created "$CREATED" --history.created_by "scripts/build-oci-image.sh: mmdebstrap $SUITE + airlock $DEB_VERSION" "$WORK/bundle"
labels=(--config.label "org.opencontainers.image.title=airlock"
        --config.label "org.opencontainers.image.description=Airlock: the egress gateway (airlock gateway) and the daemon (airlock daemon) for Kubernetes"
        --config.label "org.opencontainers.image.version=$VERSION"
        --config.label "org.opencontainers.image.revision=$REVISION"
        --config.label "org.opencontainers.image.created=$CREATED"
        --config.label "org.opencontainers.image.base.name=debian:$SUITE")
if [[ -n "$SOURCE" ]]; then
  labels+=(--config.label "org.opencontainers.image.source=$SOURCE")
else
  echo "build-oci-image: no org.opencontainers.image.source label: this clone has no remote origin. Fix: set AIRLOCK_IMAGE_SOURCE=URL." >&2
fi
umoci config --image "$LAYOUT:$VERSION" --no-history --created "$CREATED" \
  --config.entrypoint /usr/bin/airlock --config.cmd=--help \
  --config.user "$IMAGE_UID:$IMAGE_UID" --config.workingdir /var/lib/airlock \
  --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  "${labels[@]}"
umoci gc --layout "$LAYOUT"

digest="$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")"
echo "build-oci-image: $LAYOUT:$VERSION is $digest ($(du -sh "$LAYOUT" | cut -f1))" >&2
echo "build-oci-image: push it with: skopeo copy oci:$LAYOUT:$VERSION docker://REGISTRY/airlock:$VERSION" >&2
echo "$LAYOUT:$VERSION"
