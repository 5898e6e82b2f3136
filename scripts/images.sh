#!/usr/bin/env bash
# Local Docker engine, image registry and base images, all on loopback, and the
# service image builds. Nothing is pulled: base images are made from the host.
#   scripts/images.sh engine     start dockerd (no bridge, no iptables) if not running
#   scripts/images.sh registry   start a registry on 127.0.0.1:$REGISTRY_PORT
#   scripts/images.sh bases      build the Go builder and the static runtime base images
#   scripts/images.sh build      build and push all four services; writes $SHOP_RUN/images.json
#   scripts/images.sh up         all of the above
#   scripts/images.sh controller build and push the CanaryRelease controller (controller/Dockerfile);
#                                writes $SHOP_RUN/controller-image.json
#   scripts/images.sh stop       stop the engine and registry this script started
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKER=/usr/bin/docker                      # Debian's client: has BuildKit support for this engine
export DOCKER_HOST="$LOCAL_DOCKER_HOST"
export DOCKER_BUILDKIT=1
REGISTRY_PORT="${REGISTRY_PORT:-5000}"
REGISTRY="127.0.0.1:$REGISTRY_PORT"
GO_VERSION="$(go env GOVERSION)"
BUILDER_IMAGE="shop/go-builder:${GO_VERSION#go}"
RUNTIME_IMAGE="shop/static:1"
SERVICES=(gateway user product order)

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

# build: builds every service with services/Dockerfile, pushes it and records name@digest.
build() {
  bases; registry
  local out="$SHOP_RUN/images.json" entries=() svc
  for svc in "${SERVICES[@]}"; do
    local ref="$REGISTRY/shop/$svc"
    log "building $svc"
    build_image "$REPO_ROOT/services" "$svc" "$ref:latest-local"
    $DOCKER push --quiet "$ref:latest-local" >/dev/null
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
  stop_pid "$SHOP_RUN/dockerd.pid" dockerd
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
  stop) stop ;;
  *) die "unknown command '${1}' (use engine|registry|bases|build|up|controller|stop)" ;;
esac
