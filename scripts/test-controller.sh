#!/usr/bin/env bash
# The CanaryRelease controller's tests (controller/, its own Go module):
#   1. the toolchain's kube-apiserver and etcd (scripts/toolchain.sh etcd kube: a no-op when cached),
#   2. go vet ./... and a static (CGO_ENABLED=0) build of the controller binary,
#   3. go test -race ./...: the step/abort table, the analysis and route tests, and the controller
#      tests against a real API server (envtest on free ports, with the Gateway API CRDs from the
#      module cache and a Prometheus stand-in); a skipped test fails the run.
# Prints "controller: N passed, M failed" (scripts/test.sh counts it). Usage: scripts/test-controller.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed for controller/)"
"$REPO_ROOT/scripts/toolchain.sh" etcd kube
export KUBEBUILDER_ASSETS="$SHOP_BIN"
for b in kube-apiserver etcd; do [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || die "no $b in $KUBEBUILDER_ASSETS after scripts/toolchain.sh etcd kube"; done
export CGO_ENABLED=1 # the race detector needs cgo; the binary itself is built with CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/shop-controller-test.XXXXXX")"
trap 'rc=$?; logs_done "$rc" "$LOGS"; exit "$rc"' EXIT # the log and the binary
trap 'exit 130' INT TERM

cd "$REPO_ROOT/controller"
t0=$SECONDS
log "go vet ./..."
go vet ./...
log "CGO_ENABLED=0 go build ./cmd/canary-controller (static binary)"
CGO_ENABLED=0 go build -trimpath -o "$LOGS/canary-controller" ./cmd/canary-controller

log "go test -race ./... (API server from $KUBEBUILDER_ASSETS; log in $LOGS/test.log)"
go_test_suite controller "$LOGS/test.log" 10m
log "vet, build and go test took $((SECONDS - t0))s"
echo "controller: $GO_PASSED passed, 0 failed"
