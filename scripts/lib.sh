#!/usr/bin/env bash
# Shared settings for the repo's scripts: where caches live and how the offline
# Pulumi toolchain is wired. Source it; it only sets variables and functions.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHOP_CACHE="${SHOP_CACHE:-$HOME/.cache/shop-platform}"
SHOP_BIN="$SHOP_CACHE/bin"
SHOP_RUN="${SHOP_RUN:-$SHOP_CACHE/run}"
mkdir -p "$SHOP_BIN" "$SHOP_RUN"

export PATH="$SHOP_BIN:$REPO_ROOT/node_modules/.bin:$PATH"
# The local cluster has a real node unless SHOP_REAL_NODE=0 (docs/local.md): the one place its default is set.
export SHOP_REAL_NODE="${SHOP_REAL_NODE:-1}"
export PULUMI_HOME="${PULUMI_HOME:-$SHOP_CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
# The program is type-checked by `tsc --noEmit` (the test command's first step); the engine's run of it
# only transpiles: type-checking on every preview/up cost 26 s of a 42 s no-op preview (bench/local-stack.sh).
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$REPO_ROOT/.pulumi-state}"
# Secrets of the local stacks are encrypted with a passphrase generated once for this machine and kept
# outside the repo (mode 0600); a passphrase given in the environment wins.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE="$SHOP_CACHE/local-passphrase"
  [[ -s "$PULUMI_CONFIG_PASSPHRASE_FILE" ]] || (umask 077 && openssl rand -hex 32 >"$PULUMI_CONFIG_PASSPHRASE_FILE")
fi
# Generated stack config files (committed Pulumi.<stack>.yaml + image digests + generated secrets).
STACK_CONFIG_DIR="$REPO_ROOT/.pulumi-state/config"
export KUBECONFIG_LOCAL="$SHOP_RUN/kubeconfig"
# The local Docker engine (scripts/images.sh starts it). The generated stack config names it as
# shop:docker.host, so the program's docker provider never depends on DOCKER_HOST being exported.
LOCAL_DOCKER_HOST="${DOCKER_HOST:-unix://$SHOP_RUN/docker.sock}"

# go_test_suite NAME LOG TIMEOUT: `go test -race -v ./...` of the current module into LOG, its failures
# and skips shown; sets GO_PASSED. A failure or a skipped test (every test must run here) prints the
# line "NAME: N passed, M failed" that scripts/test.sh counts, and exits.
go_test_suite() {
  local name="$1" out="$2" timeout="$3" rc failed skipped
  set +e
  go test -race -count=1 -timeout "$timeout" -v ./... >"$out" 2>&1
  rc=$?
  set -e
  grep -E '^(ok|FAIL|---|panic:|\s+--- FAIL|\s+[a-z_]+_test\.go:[0-9]+:)' "$out" | grep -v -- '--- PASS' || true
  GO_PASSED=$(grep -cE '^\s*--- PASS' "$out" || true)
  failed=$(grep -cE '^\s*--- FAIL' "$out" || true)
  skipped=$(grep -cE '^\s*--- SKIP' "$out" || true)
  if ((rc != 0)); then
    tail -n 80 "$out"
    echo "$name: $GO_PASSED passed, $((failed > 0 ? failed : 1)) failed, $skipped skipped"
    die "go test failed (full log: $out)"
  fi
  if ((skipped > 0)); then
    grep -E -A2 '^\s*--- SKIP' "$out"
    echo "$name: $GO_PASSED passed, $skipped failed, $skipped skipped"
    die "$skipped tests were skipped; every test must run here"
  fi
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# logs_done RC DIR: a test run's log folder is removed when the run passed (RC 0), kept and named otherwise.
logs_done() { if (($1 == 0)); then rm -rf "$2"; else log "logs kept in $2"; fi; }

# prepare_local: what every run against the local cluster needs, each step cached or idempotent:
# Debian's Docker packages, the npm packages, the toolchain, a running cluster with free volumes.
# With the real node (the default, SHOP_REAL_NODE=1) also its binaries, and the third-party images its
# workloads run (MariaDB, Redis, RabbitMQ, Prometheus, Alertmanager, kube-state-metrics), which the
# generated stack config then names by digest (THIRD_PARTY_IMAGES).
prepare_local() {
  "$REPO_ROOT/scripts/deps.sh" docker node
  "$REPO_ROOT/scripts/node-deps.sh"
  if [[ "$SHOP_REAL_NODE" == 1 ]]; then
    "$REPO_ROOT/scripts/toolchain.sh" all node
  else
    "$REPO_ROOT/scripts/toolchain.sh" all
  fi
  "$REPO_ROOT/scripts/cluster.sh" start
  "$REPO_ROOT/scripts/cluster.sh" recycle-volumes
  export KUBECONFIG="$KUBECONFIG_LOCAL"
  if [[ "$SHOP_REAL_NODE" == 1 ]]; then
    "$REPO_ROOT/scripts/images.sh" third-party >/dev/null
    export THIRD_PARTY_IMAGES="${THIRD_PARTY_IMAGES:-$SHOP_RUN/third-party-images.json}"
  fi
}
