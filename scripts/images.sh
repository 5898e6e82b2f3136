#!/usr/bin/env bash
# Local Docker engine, image registry and base images, all on loopback, and the
# service image builds. Nothing is pulled: base images are made from the host.
#   scripts/images.sh engine     start dockerd (no bridge, no iptables) if not running
#   scripts/images.sh registry   start a registry on 127.0.0.1:$REGISTRY_PORT
#   scripts/images.sh bases      build the Go builder and the static runtime base images
#   scripts/images.sh build      build and push every service of catalog.ts; writes $SHOP_RUN/images.json
#   scripts/images.sh up         all of the above
#   scripts/images.sh controller build and push the CanaryRelease controller (controller/Dockerfile);
#                                writes $SHOP_RUN/controller-image.json
#   scripts/images.sh third-party [NAME...]  build and push the third-party images (Debian packages or
#                                the toolchain's binaries); writes $SHOP_RUN/third-party-images.json
#   scripts/images.sh stop       stop the engine and registry this script started
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"   # versions of the binaries the third-party images carry

DOCKER=/usr/bin/docker                      # Debian's client: has BuildKit support for this engine
export DOCKER_HOST="$LOCAL_DOCKER_HOST"
export DOCKER_BUILDKIT=1
REGISTRY_PORT="${REGISTRY_PORT:-5000}"
REGISTRY="127.0.0.1:$REGISTRY_PORT"
GO_VERSION="$(go env GOVERSION)"
BUILDER_IMAGE="shop/go-builder:${GO_VERSION#go}"
RUNTIME_IMAGE="shop/static:1"
# The binaries come from the one service list (catalog.ts), never a copy here.
services() {
  TS_NODE_TRANSPILE_ONLY=1 node -r "$REPO_ROOT/node_modules/ts-node/register" "$REPO_ROOT/catalog.ts" binaries
}

engine() {
  if $DOCKER info >/dev/null 2>&1; then return 0; fi
  scripts/deps.sh docker
  log "starting dockerd (host networking only)"
  mkdir -p "$SHOP_CACHE/docker"
  # No bridge and no iptables: containers and builds use the host's network, so nothing leaves loopback.
  nohup dockerd --host "$DOCKER_HOST" --data-root "$SHOP_CACHE/docker" --exec-root "$SHOP_RUN/docker-exec" \
      --pidfile "$SHOP_RUN/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
      --insecure-registry "$REGISTRY" >"$SHOP_RUN/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do $DOCKER info >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -20 "$SHOP_RUN/dockerd.log" >&2; die "dockerd did not start; log: $SHOP_RUN/dockerd.log"
}

registry() {
  if curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then return 0; fi
  scripts/deps.sh docker
  log "starting registry on $REGISTRY"
  mkdir -p "$SHOP_CACHE/registry"
  cat >"$SHOP_RUN/registry.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $SHOP_CACHE/registry }
  delete: { enabled: true }
http:
  addr: $REGISTRY
YAML
  nohup docker-registry serve "$SHOP_RUN/registry.yml" >"$SHOP_RUN/registry.log" 2>&1 &
  echo $! >"$SHOP_RUN/registry.pid"
  for _ in $(seq 1 40); do curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0; sleep 0.25; done
  die "registry did not start; log: $SHOP_RUN/registry.log"
}

# import_rootfs DIR IMAGE [--change ...]: makes an image from a directory, no base image needed.
import_rootfs() {
  local dir="$1" image="$2"; shift 2
  tar --numeric-owner --sort=name --mtime=@0 -C "$dir" -c . | $DOCKER import "$@" - "$image" >/dev/null
}

bases() {
  engine
  if ! $DOCKER image inspect "$BUILDER_IMAGE" >/dev/null 2>&1; then
    log "making $BUILDER_IMAGE from the host Go toolchain and busybox-static"
    local root; root="$(mktemp -d)"
    mkdir -p "$root"/{bin,tmp,etc/ssl/certs,usr/local,root}
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for app in $("$root/bin/busybox" --list); do [[ -e "$root/bin/$app" ]] || ln -s busybox "$root/bin/$app"; done
    cp -a "$(go env GOROOT)" "$root/usr/local/go"
    # The build reaches the Go module proxy over TLS: it needs the host's CA bundle.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    import_rootfs "$root" "$BUILDER_IMAGE" \
      --change 'ENV PATH=/usr/local/go/bin:/bin' --change 'ENV GOTOOLCHAIN=local' --change 'WORKDIR /src'
    rm -rf "$root"
  fi
  # The stack config's default builder name (shop:images.build.builderImage) points at this toolchain.
  $DOCKER tag "$BUILDER_IMAGE" shop/go-builder:local
  if ! $DOCKER image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1; then
    log "making $RUNTIME_IMAGE: CA bundle and a non-root user, nothing else"
    local root; root="$(mktemp -d)"
    mkdir -p "$root"/{etc/ssl/certs,tmp}
    chmod 1777 "$root/tmp"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
    import_rootfs "$root" "$RUNTIME_IMAGE" --change 'USER 65532:65532'
    rm -rf "$root"
  fi
}

# The stack whose shop:images.build the harness builds with (the committed file: build settings are
# never among what the harness adds to it).
IMAGE_STACK_FILE="${IMAGE_STACK_FILE:-$REPO_ROOT/Pulumi.local.yaml}"

# build_flags CONTEXT SERVICE: the `docker build` arguments of SERVICE, from the one definition the
# program builds with too (components/image-build.ts), building from CONTEXT.
build_flags() {
  TS_NODE_TRANSPILE_ONLY=1 node -r "$REPO_ROOT/node_modules/ts-node/register" "$REPO_ROOT/components/image-build.ts" \
    "$IMAGE_STACK_FILE" "$2" "$1"
}

# docker_cli ARGS...: the client this script uses, on the local engine (the image digest test calls it).
docker_cli() { $DOCKER "$@"; }

# build_image CONTEXT SERVICE TAG: builds one service with the Dockerfile in CONTEXT (services/ or a copy).
build_image() {
  local flags
  flags="$(build_flags "$1" "$2")" || die "no build settings for $2 (see the error above)"
  local argv; mapfile -t argv <<<"$flags"
  $DOCKER build --quiet -t "$3" "${argv[@]}" >/dev/null
}

# build: builds every service with services/Dockerfile, pushes it and records name@digest. The build
# settings come from one Node run for all services, and the builds run side by side (BuildKit shares
# its cache between them): a warm run of the four took 33 s one after the other (Node started per
# service), and takes a few seconds now.
build() {
  bases; registry
  local out="$SHOP_RUN/images.json" entries=() svc list work
  list="$(services)" || die "could not read the service list from catalog.ts"
  work="$(mktemp -d)"
  build_flags "$REPO_ROOT/services" "$(tr ' \n' ',,' <<<"$list" | sed 's/,*$//')" >"$work/flags" ||
    { rm -rf "$work"; die "no build settings for the services (see the error above)"; }
  awk -v dir="$work" '/^# / { f = dir "/" $2 ".argv"; next } { print > f }' "$work/flags"
  local pids=() names=()
  for svc in $list; do
    log "building $svc"
    (
      mapfile -t argv <"$work/$svc.argv"
      $DOCKER build --quiet -t "$REGISTRY/shop/$svc:latest-local" "${argv[@]}" >/dev/null 2>"$work/$svc.err" &&
        $DOCKER push --quiet "$REGISTRY/shop/$svc:latest-local" >/dev/null 2>>"$work/$svc.err"
    ) &
    pids+=($!); names+=("$svc")
  done
  local i failed=()
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  for svc in "${failed[@]}"; do echo "--- $svc:" >&2; cat "$work/$svc.err" >&2; done
  rm -rf "$work"
  ((${#failed[@]} == 0)) || die "building ${failed[*]} failed (output above)"
  for svc in $list; do
    local ref="$REGISTRY/shop/$svc"
    local digest; digest="$($DOCKER image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref:latest-local" | grep "^$ref@" | head -1)"
    [[ -n "$digest" ]] || die "no registry digest for $svc after push"
    entries+=("$(printf '  "%s": "%s"' "$svc" "$digest")")
  done
  local i last=$((${#entries[@]} - 1))
  {
    echo "{"
    for i in "${!entries[@]}"; do printf '%s%s\n' "${entries[$i]}" "$( ((i < last)) && echo ,)"; done
    echo "}"
  } >"$out"
  cat "$out"
}

# ---- Third-party images: made here from Debian packages or from the toolchain's binaries ----
# Each is tagged <name>:<version>-<key>, where the key hashes everything its content derives from (the
# recipe's code, the entrypoint, the package versions apt would install, or the binary): a build is
# skipped when the registry already holds that tag. References by digest go to third-party-images.json.
THIRD_PARTY=(pause coredns traefik metrics-server prometheus kube-state-metrics alertmanager mariadb redis rabbitmq)
THIRD_PARTY_REPO="$REGISTRY/third-party"
IMAGE_SRC="$REPO_ROOT/scripts/images"
STORE_UID=999   # the uid the program runs MariaDB, Redis and RabbitMQ as (components/data-stores/)

# registry_digest NAME TAG: the digest of NAME:TAG in the local registry, or nothing.
registry_digest() {
  curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/third-party/$1/manifests/$2" 2>/dev/null | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# apt_versions PKG...: the versions apt would install for the packages (part of an image's key).
# Remembered until apt's package lists change (apt-cache took 4-17 s per image under load).
apt_versions() {
  local memo="$SHOP_RUN/apt-versions" id hit
  id="$* $(stat -c '%Y' /var/lib/apt/lists /var/cache/apt/pkgcache.bin 2>/dev/null | tr '\n' ' ')"
  hit="$(awk -v id="$id" -F'\t' '$1 == id { print $2 }' "$memo" 2>/dev/null | tail -1)"
  if [[ -z "$hit" ]]; then
    hit="$(apt-cache policy "$@" | awk '/^[^ ]/{p=$1} /Candidate:/{print p, $2}' | paste -sd';')"
    [[ -n "$hit" ]] && printf '%s\t%s\n' "$id" "$hit" >>"$memo"
  fi
  tr ';' '\n' <<<"$hit"
}

# static_rootfs DIR: /etc/passwd with nobody (65534) and nonroot (65532), a CA bundle and /tmp.
static_rootfs() {
  mkdir -p "$1"/{etc/ssl/certs,tmp,bin}
  chmod 1777 "$1/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# debian_rootfs DIR USER PACKAGE...: a minimal Debian (the machine's own apt sources) with the packages;
# USER is created first with uid/gid 999, which the packages' maintainer scripts then reuse.
# Installing never starts a service (mmdebstrap runs no init). Docs, man pages and locales are left out.
debian_rootfs() {
  local dir="$1" user="$2"; shift 2
  local pkgs; pkgs="$(IFS=,; echo "$*")"
  mmdebstrap --quiet --variant=minbase --include="$pkgs" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook="echo '$user:x:$STORE_UID:$STORE_UID::/nonexistent:/usr/sbin/nologin' >>\"\$1/etc/passwd\"; echo '$user:x:$STORE_UID:' >>\"\$1/etc/group\"" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/etc/dpkg/dpkg.cfg.d/99mmdebstrap' \
    bookworm "$dir" /etc/apt/sources.list.d/debian.sources >&2
}

# bin_hash FILE: the sha256 of a binary's content, remembered per path, size and mtime (hashing the
# toolchain's 60-180 MB binaries on every run cost about 2 s of each start).
bin_hash() {
  local memo="$SHOP_RUN/bin-hashes" id; id="$1 $(stat -c '%s %Y' "$1")"
  local hit; hit="$(grep -F "$id " "$memo" 2>/dev/null | tail -1 | awk '{print $NF}')"
  if [[ -z "$hit" ]]; then
    hit="$(sha256sum <"$1" | cut -d' ' -f1)"
    { grep -vF "$1 " "$memo" 2>/dev/null || true; echo "$id $hit"; } >"$memo.tmp" && mv "$memo.tmp" "$memo"
  fi
  echo "$hit  -"
}

# Recipes: recipe_<name> DIR prints the image's `docker import --change` lines after filling DIR.
# version_<name> prints its version (the tag's first part); inputs_<name> prints what its key hashes.
version_pause() { echo 1; }
inputs_pause() { cat "$IMAGE_SRC/pause.go"; go env GOVERSION; }
recipe_pause() {
  static_rootfs "$1"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/pause" "$IMAGE_SRC/pause.go"
  printf '%s\n' 'ENTRYPOINT ["/pause"]' 'USER 65535:65535'
}

# static_binary NAME BIN ENTRY: images of one toolchain binary, run as nobody.
version_coredns() { echo "$COREDNS_VERSION"; }
inputs_coredns() { bin_hash "$SHOP_BIN/coredns"; }
recipe_coredns() { static_rootfs "$1"; cp "$SHOP_BIN/coredns" "$1/bin/"; printf '%s\n' 'ENTRYPOINT ["/bin/coredns"]' 'USER 65534:65534'; }
version_traefik() { echo "$TRAEFIK_VERSION"; }
inputs_traefik() { bin_hash "$SHOP_BIN/traefik"; }
recipe_traefik() { static_rootfs "$1"; cp "$SHOP_BIN/traefik" "$1/bin/"; printf '%s\n' 'ENTRYPOINT ["/bin/traefik"]' 'USER 65532:65532'; }
version_prometheus() { echo "v$PROMETHEUS_VERSION"; }
inputs_prometheus() { bin_hash "$SHOP_BIN/prometheus"; }
recipe_prometheus() {
  static_rootfs "$1"; cp "$SHOP_BIN/prometheus" "$1/bin/"; mkdir -p "$1/prometheus"; chown 65534:65534 "$1/prometheus"
  printf '%s\n' 'ENTRYPOINT ["/bin/prometheus"]' 'WORKDIR /prometheus' 'USER 65534:65534'
}
version_kube-state-metrics() { echo "$KSM_VERSION"; }
inputs_kube-state-metrics() { bin_hash "$SHOP_BIN/kube-state-metrics"; }
recipe_kube-state-metrics() {
  static_rootfs "$1"; cp "$SHOP_BIN/kube-state-metrics" "$1/bin/"
  printf '%s\n' 'ENTRYPOINT ["/bin/kube-state-metrics"]' 'USER 65534:65534'
}

version_metrics-server() { echo "$METRICS_SERVER_VERSION"; }
inputs_metrics-server() { bin_hash "$SHOP_BIN/metrics-server"; }
recipe_metrics-server() {
  static_rootfs "$1"; cp "$SHOP_BIN/metrics-server" "$1/bin/"
  printf '%s\n' 'ENTRYPOINT ["/bin/metrics-server"]' 'USER 65534:65534'
}

# Alertmanager: Debian's binary is dynamically linked, so it keeps its Debian rootfs.
version_alertmanager() { apt_versions prometheus-alertmanager | awk '{sub(/-.*/, "", $2); print $2}'; }
inputs_alertmanager() { apt_versions prometheus-alertmanager; }
recipe_alertmanager() {
  debian_rootfs "$1" prometheus prometheus-alertmanager
  rm -rf "$1/var/lib/prometheus/alertmanager"; mkdir -p "$1/alertmanager"; chown 65534:65534 "$1/alertmanager"
  printf '%s\n' 'ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]' 'WORKDIR /alertmanager' 'USER 65534:65534'
}

version_mariadb() { apt_versions mariadb-server | awk '{sub(/^[0-9]+:/, "", $2); sub(/-.*/, "", $2); print $2}'; }
inputs_mariadb() { apt_versions mariadb-server; cat "$IMAGE_SRC/mariadb-entrypoint.sh"; }
recipe_mariadb() {
  debian_rootfs "$1" mysql mariadb-server
  # The package initialises /var/lib/mysql in the image: the entrypoint does it on the volume instead.
  rm -rf "$1/var/lib/mysql"/* "$1/run/mysqld"; mkdir -p "$1/var/lib/mysql" "$1/run/mysqld"
  chown "$STORE_UID:$STORE_UID" "$1/var/lib/mysql" "$1/run/mysqld"
  install -m 0755 "$IMAGE_SRC/mariadb-entrypoint.sh" "$1/usr/local/bin/mariadb-entrypoint"
  printf '%s\n' 'ENTRYPOINT ["/usr/local/bin/mariadb-entrypoint"]' "USER $STORE_UID:$STORE_UID" 'EXPOSE 3306'
}

version_redis() { apt_versions redis-server | awk '{sub(/^[0-9]+:/, "", $2); sub(/-.*/, "", $2); print $2}'; }
inputs_redis() { apt_versions redis-server; }
recipe_redis() {
  debian_rootfs "$1" redis redis-server
  # Arguments replace Debian's redis.conf (it daemonizes and writes log and pid files).
  mkdir -p "$1/data"; chown "$STORE_UID:$STORE_UID" "$1/data"
  printf '%s\n' 'ENTRYPOINT ["/usr/bin/redis-server"]' 'WORKDIR /data' "USER $STORE_UID:$STORE_UID" 'EXPOSE 6379'
}

version_rabbitmq() { apt_versions rabbitmq-server | awk '{sub(/-.*/, "", $2); print $2}'; }
inputs_rabbitmq() { apt_versions rabbitmq-server; cat "$IMAGE_SRC/rabbitmq-entrypoint.sh"; }
recipe_rabbitmq() {
  debian_rootfs "$1" rabbitmq rabbitmq-server
  rm -f "$1/var/lib/rabbitmq/.erlang.cookie"; rm -rf "$1/var/lib/rabbitmq/mnesia"
  install -m 0755 "$IMAGE_SRC/rabbitmq-entrypoint.sh" "$1/usr/local/bin/rabbitmq-entrypoint"
  # /usr/lib/rabbitmq/bin first on PATH: Debian's /usr/sbin wrappers send the server's output to a log
  # file and switch users. Logs go to stdout; the node name is fixed (its data directory is named after it).
  printf '%s\n' 'ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint"]' "USER $STORE_UID:$STORE_UID" 'EXPOSE 5672' \
    'ENV PATH=/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV HOME=/var/lib/rabbitmq' 'ENV RABBITMQ_NODENAME=rabbit@localhost' 'ENV RABBITMQ_LOGS=-' \
    'ENV RABBITMQ_UPGRADE_LOG=-' 'ENV ERL_CRASH_DUMP=/tmp/erl_crash.dump' \
    'ENV RABBITMQ_ENABLED_PLUGINS_FILE=/var/lib/rabbitmq/enabled_plugins' 'WORKDIR /var/lib/rabbitmq'
}

# third_party_image NAME: builds and pushes NAME unless the registry holds its tag; prints ref@digest.
third_party_image() {
  local n="$1" version key tag digest
  declare -F "recipe_$n" >/dev/null || die "unknown third-party image '$n' (use ${THIRD_PARTY[*]})"
  version="$("version_$n")"
  key="$({ declare -f "recipe_$n" static_rootfs debian_rootfs; "inputs_$n"; } | sha256sum | cut -c1-12)"
  tag="$version-$key"
  digest="$(registry_digest "$n" "$tag")"
  if [[ -z "$digest" ]]; then
    engine
    local t0=$SECONDS root changes=() line
    log "building image $n:$tag"
    root="$(mktemp -d)"
    while IFS= read -r line; do changes+=(--change "$line"); done < <("recipe_$n" "$root")
    import_rootfs "$root" "$THIRD_PARTY_REPO/$n:$tag" "${changes[@]}"
    rm -rf "$root"
    $DOCKER push --quiet "$THIRD_PARTY_REPO/$n:$tag" >/dev/null
    digest="$(registry_digest "$n" "$tag")"
    [[ -n "$digest" ]] || die "no registry digest for $n:$tag after push"
    log "image $n:$tag built in $((SECONDS - t0))s ($($DOCKER image inspect --format '{{.Size}}' "$THIRD_PARTY_REPO/$n:$tag") bytes)"
  fi
  echo "$THIRD_PARTY_REPO/$n:$tag@$digest"
}

# third_party [NAME...]: the named images (default: all); merges their references into the JSON file.
third_party() {
  (($#)) || set -- "${THIRD_PARTY[@]}"
  registry
  local out="$SHOP_RUN/third-party-images.json" n ref
  [[ -s "$out" ]] || echo '{}' >"$out"
  for n in "$@"; do
    ref="$(third_party_image "$n")"
    node -e 'const fs=require("fs");const [f,k,v]=process.argv.slice(1);const j=JSON.parse(fs.readFileSync(f,"utf8"));j[k]=v;fs.writeFileSync(f,JSON.stringify(j,null,2)+"\n")' "$out" "$n" "$ref"
  done
  cat "$out"
}

# stop_pid FILE PROGRAM: stops the process of a PID file if it is still that program (PIDs get reused).
stop_pid() {
  [[ -f "$1" ]] || return 0
  local pid; pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"; then
    kill "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop() {
  stop_pid "$SHOP_RUN/registry.pid" docker-registry
  local pid=""
  [[ -f "$SHOP_RUN/dockerd.pid" ]] && pid="$(cat "$SHOP_RUN/dockerd.pid")"
  stop_pid "$SHOP_RUN/dockerd.pid" dockerd
  # The engine leaves its data root's bind mount and its network namespace's mount behind when it
  # exits: once it is gone (at most 20 s), they are unmounted, deepest first.
  if [[ -n "$pid" ]]; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  if ! pgrep -f -- "--data-root $SHOP_CACHE/docker" >/dev/null; then
    awk -v a="$SHOP_CACHE/docker" -v b="$SHOP_RUN/docker-exec" '$2 == a || index($2, a "/") == 1 || $2 == b || index($2, b "/") == 1 { print $2 }' /proc/self/mounts \
      | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  fi
}

# controller_image: builds the CanaryRelease controller with controller/Dockerfile (same builder and
# runtime images as the services), pushes it and records name@digest.
controller_image() {
  bases; registry
  local ref="$REGISTRY/shop/canary-controller"
  log "building canary-controller"
  $DOCKER build --network host --quiet -f "$REPO_ROOT/controller/Dockerfile" \
    --build-arg "BUILDER_IMAGE=$BUILDER_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
    -t "$ref:latest-local" "$REPO_ROOT/controller" >/dev/null
  $DOCKER push --quiet "$ref:latest-local" >/dev/null
  local digest; digest="$($DOCKER image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref:latest-local" | grep "^$ref@" | head -1)"
  [[ -n "$digest" ]] || die "no registry digest for canary-controller after push"
  printf '{\n  "canary-controller": "%s"\n}\n' "$digest" | tee "$SHOP_RUN/controller-image.json"
}

# Sourced (bench/images.sh does), it only defines the functions above.
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0
case "${1:-up}" in
  engine) engine ;;
  registry) registry ;;
  bases) bases ;;
  build) build ;;
  up) engine; registry; bases; build ;;
  controller) controller_image ;;
  third-party) shift; third_party "$@" ;;
  stop) stop ;;
  *) die "unknown command '${1}' (use engine|registry|bases|build|up|controller|third-party|stop)" ;;
esac
