#!/bin/sh
# Builds a tiny OCI image layout offline, for the image tests (docs/images.md): the host's sh,
# coreutils it needs and their libraries, plus a file and a tool the host lacks. No network:
# everything comes from this machine. Reruns with the tag already present do nothing.
#   scripts/make-test-image.sh LAYOUT_DIR [TAG] [MARKER_TEXT]
#   IMAGE_EXTRAS=audit scripts/make-test-image.sh …   also the tools `airlock audit`'s battery runs, curl and a
#   terminal's tty and stty (audit_tools below: ImageAuditIT, TrustedCaIT and TerminalIT on an image)
# Real images: `mmdebstrap --variant=apt --format=tar bookworm rootfs.tar` (needs a Debian mirror),
# then `umoci init`, `umoci new`, `umoci unpack`, fill the rootfs, `umoci repack` as below; or `skopeo copy docker://REF oci:DIR:TAG`.
set -eu
out=$1
tag=${2:-test}
marker=${3:-from the image}
if [ -f "$out/index.json" ] && umoci ls --layout "$out" 2>/dev/null | grep -qx "$tag"; then
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -f "$out/index.json" ] || umoci init --layout "$out"
umoci new --image "$out:$tag"
# unpack + repack, not `umoci insert`: umoci 0.4.7's insert writes a layer without tar's end blocks.
umoci unpack --image "$out:$tag" "$tmp/bundle"
root=$tmp/bundle/rootfs
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/usr/lib64" "$root/usr/local/bin" "$root/usr/share/airlock-test-image" "$root/etc"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
# bash, env and setsid: the daemon's waiting init (Standby) runs on them.
for b in sh bash cat ls id env test echo setsid true; do
    src=$(command -v "$b" 2>/dev/null || true)
    case "$src" in /*) ;; *) src=/usr/bin/$b ;; esac
    cp -L "$src" "$root/usr/bin/$b"
    ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
done
# The in-sandbox battery's tools (audit/src/main/resources/dev/airlock/audit/battery/{lib,agent}.sh and
# Battery.java's probes), and tty/stty for the terminal tests: the same host binaries with their libraries. getent needs the NSS modules
# glibc loads at run time (no ldd line names them) and an nsswitch.conf (the sandbox's is generated).
audit_tools() {
    for b in timeout dd od tr head tail grep cat ls mktemp base64 wc sleep sed cut rm mkdir touch ln chmod tty stty \
        curl getent ip nft unshare ping git; do
        src=$(command -v "$b" 2>/dev/null) || { echo "make-test-image.sh: the host has no $b (IMAGE_EXTRAS=audit copies it)" >&2; exit 1; }
        cp -L "$src" "$root/usr/bin/$b"
        ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done
    for lib in /usr/lib/x86_64-linux-gnu/libnss_files.so.2 /usr/lib/x86_64-linux-gnu/libnss_dns.so.2; do
        if [ -e "$lib" ]; then
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        fi
    done
}
case " ${IMAGE_EXTRAS:-} " in *" audit "*) audit_tools ;; esac
printf '%s\n' "$marker" > "$root/usr/share/airlock-test-image/marker"
printf '#!/bin/sh\necho image-tool-ok\n' > "$root/usr/local/bin/airlock-image-tool"
chmod 0755 "$root/usr/local/bin/airlock-image-tool"
printf 'NAME="airlock test image"\n' > "$root/etc/os-release"
# AIRLOCK_TEST_IMAGE_DPKG=1: also dpkg, what it runs, and an empty package database, for the
# root-step tests (SetupRootIT: `dpkg -i` of a tiny .deb as root of the sandbox's namespace).
add_dpkg() {
    mkdir -p "$root/usr/sbin" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
        "$root/var/lib/dpkg/alternatives" "$root/var/log" "$root/etc/dpkg/dpkg.cfg.d"
    : > "$root/var/lib/dpkg/status"
    : > "$root/var/lib/dpkg/available"
    for b in dpkg dpkg-deb dpkg-query dpkg-split tar diff rm mv ln mkdir chmod chown cp grep ldconfig start-stop-daemon; do
        src=$(command -v "$b" 2>/dev/null || true)
        [ -n "$src" ] || { echo "make-test-image: $b not found (apt-get install dpkg diffutils)" >&2; exit 1; }
        case "$src" in */sbin/*) dst=$root/usr/sbin/$b ;; *) dst=$root/usr/bin/$b ;; esac
        cp -L "$src" "$dst"
        ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done
}
[ "${AIRLOCK_TEST_IMAGE_DPKG:-}" = 1 ] && add_dpkg
umoci repack --image "$out:$tag" "$tmp/bundle"
