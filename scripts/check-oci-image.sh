#!/usr/bin/env bash
# Checks the image scripts/build-oci-image.sh made (CI, as root, after check-deb.sh):
#   scripts/check-oci-image.sh              target/oci/airlock, with a push to a local registry and back
#   scripts/check-oci-image.sh --no-push    without the registry
# 1. The layout: one manifest, tagged with the version; every blob hashes to its name; skopeo reads
#    the same digest; the configuration runs /usr/bin/airlock as 65532:65532 with the version labels.
# 2. Runs it as a runtime would: `umoci unpack` (the runtime bundle's config.json gives the user, the
#    environment and the working directory), then bubblewrap with the image's root read-only as /, as
#    that uid (not root: setpriv drops to it before bwrap), no network: `airlock --version` must name
#    the package the image was built from, with no JVM warning (a jar whose time no longer matches the
#    AOT cache prints one), and `airlock gateway --help` must answer. Then the gateway runs there as in its
#    pod (policy read-only under /etc/airlock, audit log in a writable /var/lib/airlock, nothing else
#    writable): CONNECT to a name its policy allows is decided `allow` (then 502: the empty network has no
#    route to the test address), to another name 403 `deny`/`no-rule`, and `airlock log verify` in the
#    image finds the chain of those records intact.
# 3. Pushes it to a docker-registry on 127.0.0.1 (a process this script starts and stops) and pulls
#    it back by the digest the registry names: the same manifest, config and layer digests.
# Leaves nothing behind (temporary directory, registry process).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
LAYOUT="${AIRLOCK_IMAGE_LAYOUT:-$ROOT/target/oci/airlock}"   # another layout: for checking this check
IMAGE_UID=65532
push=1
case "${1:-}" in
  --no-push) push=0 ;;
  "") ;;
  *) echo "usage: scripts/check-oci-image.sh [--no-push]" >&2; exit 2 ;;
esac
fail() { echo "check-oci-image: FAIL: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || fail "umoci unpacks the image with its owners, so this runs as root."
tools=(umoci skopeo bwrap setpriv jq sha256sum)
(( push )) && tools+=(docker-registry curl)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || fail "$tool is missing. Fix: apt-get install umoci skopeo bubblewrap util-linux jq docker-registry curl."
done
[[ -f "$LAYOUT/index.json" ]] || fail "$LAYOUT is not an image layout. Fix: run scripts/build-oci-image.sh."

WORK="$(mktemp -d -t airlock-oci-check.XXXXXX)"
registry_pid=""
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. The layout.
[[ "$(jq '.manifests | length' "$LAYOUT/index.json")" == 1 ]] || fail "$LAYOUT/index.json names $(jq '.manifests | length' "$LAYOUT/index.json") manifests, not one"
TAG="$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"] // empty' "$LAYOUT/index.json")"
DIGEST="$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")"
[[ -n "$TAG" ]] || fail "the layout's manifest has no tag"
for blob in "$LAYOUT"/blobs/sha256/*; do
  [[ "$(sha256sum <"$blob" | cut -d' ' -f1)" == "$(basename "$blob")" ]] || fail "blob $(basename "$blob") does not hash to its name"
done
inspect="$(skopeo inspect "oci:$LAYOUT:$TAG")" || fail "skopeo cannot read oci:$LAYOUT:$TAG"
[[ "$(jq -r .Digest <<<"$inspect")" == "$DIGEST" ]] || fail "skopeo reads digest $(jq -r .Digest <<<"$inspect"), index.json names $DIGEST"
config="$(skopeo inspect --config "oci:$LAYOUT:$TAG")"
[[ "$(jq -r '.config.User' <<<"$config")" == "$IMAGE_UID:$IMAGE_UID" ]] || fail "the image runs as '$(jq -r '.config.User' <<<"$config")', not $IMAGE_UID:$IMAGE_UID (the pods' runAsUser)"
[[ "$(jq -c '.config.Entrypoint' <<<"$config")" == '["/usr/bin/airlock"]' ]] || fail "the entrypoint is $(jq -c '.config.Entrypoint' <<<"$config"), not /usr/bin/airlock"
[[ "$(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$config")" == "$TAG" ]] || fail "label org.opencontainers.image.version is not the tag $TAG"
[[ "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$config")" =~ ^[0-9a-f]{40}$ ]] || fail "label org.opencontainers.image.revision is not a commit"
echo "check-oci-image: oci:$LAYOUT:$TAG is $DIGEST; blobs, digest, user and labels: ok" >&2

# 2. Run it, as the image's user, with its root read-only.
umoci unpack --image "$LAYOUT:$TAG" "$WORK/bundle" >/dev/null
chmod 0755 "$WORK" "$WORK/bundle"   # the unprivileged bwrap must reach the root
run_uid="$(jq -r .process.user.uid "$WORK/bundle/config.json")"
run_gid="$(jq -r .process.user.gid "$WORK/bundle/config.json")"
[[ "$run_uid" == "$IMAGE_UID" && "$run_gid" == "$IMAGE_UID" ]] || fail "the runtime bundle runs as $run_uid:$run_gid"
cwd="$(jq -r .process.cwd "$WORK/bundle/config.json")"
env_args=()
while IFS= read -r kv; do env_args+=(--setenv "${kv%%=*}" "${kv#*=}"); done < <(jq -r '.process.env[]' "$WORK/bundle/config.json")
extra_binds=()
in_image() {
  setpriv --reuid="$run_uid" --regid="$run_gid" --clear-groups \
    bwrap --unshare-all --die-with-parent --ro-bind "$WORK/bundle/rootfs" / --proc /proc --dev /dev --tmpfs /tmp \
      "${extra_binds[@]}" --clearenv "${env_args[@]}" --chdir "$cwd" "$@"
}
id_out="$(in_image /usr/bin/id -u 2>&1)" || fail "bwrap as uid $IMAGE_UID could not start the image ($id_out). Fix: allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0), which bwrap needs when not run as root."
[[ "$id_out" == "$IMAGE_UID" ]] || fail "the process in the image runs as uid $id_out, not $IMAGE_UID"
deb_version="$(dpkg-query --admindir="$WORK/bundle/rootfs/var/lib/dpkg" -W -f '${Version}' airlock)" || fail "the airlock package is not installed in the image"
version_out="$(in_image /usr/bin/airlock --version 2>&1)" || fail "airlock --version in the image exited $?: $version_out"
[[ "$(head -1 <<<"$version_out")" == "airlock $TAG (Debian package $deb_version)" ]] || fail "airlock --version in the image says '$(head -1 <<<"$version_out")', expected 'airlock $TAG (Debian package $deb_version)'"
! grep -qi 'warning\|error' <<<"$version_out" || fail "airlock --version in the image warned: $version_out"
in_image /usr/bin/airlock gateway --help 2>&1 | grep -q '^Usage: airlock gateway' || fail "airlock gateway --help in the image did not print the usage"
echo "check-oci-image: in the image as uid $IMAGE_UID, read-only root: $(head -1 <<<"$version_out"); airlock gateway --help: ok" >&2

# The agent pods' init container (k8s AgentPods): the image's static stdin relay copied out (here into the
# run's /tmp, in a pod into an emptyDir), where it ends a piped command's input at the end frame (length 0).
relay_out="$(in_image /bin/sh -c 'cp /usr/lib/airlock/airlock-exec /tmp/airlock-exec && printf "\0\0\0\2x\n\0\0\0\0" | /tmp/airlock-exec -- cat' 2>&1)" \
  || fail "the stdin relay in the image (copied out as the agent pods' init container does): $relay_out"
[[ "$relay_out" == x ]] || fail "the stdin relay in the image gave '$relay_out' for the framed input 'x'"
echo "check-oci-image: the stdin relay (/usr/lib/airlock/airlock-exec) copies out of the image and relays framed input: ok" >&2

# The gateway as its pod runs it: policy and hosts map (198.18.0.0/15 test addresses) read-only, state writable.
mkdir -m 0755 "$WORK/policy" && install -d -m 0750 -o "$IMAGE_UID" -g "$IMAGE_UID" "$WORK/state"
printf 'version: 1\nproject: image-check\nnetwork:\n  allow:\n    - allowed.test\n' >"$WORK/policy/airlock.yaml"
printf '198.18.0.1 allowed.test\n198.18.0.2 other.test\n' >"$WORK/policy/hosts"
cat >"$WORK/policy/connect.sh" <<'SCRIPT'
set -u
airlock gateway --policy /etc/airlock/airlock.yaml --hosts /etc/airlock/hosts --listen 127.0.0.1:3128 \
  --audit-log /var/lib/airlock/audit.log >/tmp/gateway.log 2>&1 &
for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/3128) 2>/dev/null && break; sleep 0.1; done
for name in allowed.test other.test; do
  exec 3<>/dev/tcp/127.0.0.1/3128 || { cat /tmp/gateway.log; exit 1; }
  printf 'CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n' "$name" "$name" >&3
  echo "$name $(head -1 <&3 | tr -d '\r')"
  exec 3<&-
done
kill %1; wait
airlock log verify --file /var/lib/airlock/audit.log >/dev/null && echo "chain intact"
SCRIPT
chmod 0644 "$WORK/policy"/*
extra_binds=(--ro-bind "$WORK/policy" /etc/airlock --bind "$WORK/state" /var/lib/airlock)
gateway_out="$(in_image /bin/bash /etc/airlock/connect.sh 2>&1)" || fail "the gateway in the image: $gateway_out"
extra_binds=()
grep -qx 'allowed.test HTTP/1.1 502 Bad Gateway' <<<"$gateway_out" || fail "CONNECT allowed.test through the gateway in the image: $gateway_out"
grep -qx 'other.test HTTP/1.1 403 Forbidden' <<<"$gateway_out" || fail "CONNECT other.test through the gateway in the image: $gateway_out"
grep -qx 'chain intact' <<<"$gateway_out" || fail "airlock log verify in the image: $gateway_out"
decisions="$(jq -r 'select(.event == "decision") | "\(.name) \(.decision) \(.reason // "")"' "$WORK/state/audit.log" | paste -sd,)"
[[ "$decisions" == "allowed.test allow allowed,other.test deny no-rule" ]] || fail "the gateway in the image logged decisions '$decisions'"
echo "check-oci-image: the gateway in the image (uid $IMAGE_UID) allowed allowed.test, denied other.test (no-rule), audit chain intact" >&2

# 3. Through a registry and back, by digest.
if (( push )); then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$WORK/registry-data"
  cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/registry-data
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 50); do curl -fsS --noproxy '*' "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS --noproxy '*' "http://127.0.0.1:$port/v2/" >/dev/null || fail "the local registry did not start: $(cat "$WORK/registry.log")"
  ref="127.0.0.1:$port/airlock"
  skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:$TAG" "docker://$ref:$TAG" || fail "skopeo copy to docker://$ref:$TAG"
  pushed="$(skopeo inspect --tls-verify=false "docker://$ref:$TAG" | jq -r .Digest)"
  skopeo copy -q --src-tls-verify=false "docker://$ref@$pushed" "oci:$WORK/pulled:$TAG" || fail "skopeo copy from docker://$ref@$pushed"
  pulled="$(jq -r '.manifests[0].digest' "$WORK/pulled/index.json")"
  [[ "$pulled" == "$pushed" ]] || fail "pulled back $pulled by digest $pushed"
  [[ "$pushed" == "$DIGEST" ]] || fail "the registry names the image $pushed, the layout $DIGEST (skopeo changed the manifest on push)"
  echo "check-oci-image: pushed to and pulled from $ref by $pushed: the layout's digest" >&2
fi
echo "check-oci-image: ok" >&2
