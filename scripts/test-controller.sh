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

cd "$REPO_ROOT/controller"
t0=$SECONDS
log "go vet ./..."
go vet ./...
log "CGO_ENABLED=0 go build ./cmd/canary-controller (static binary)"
CGO_ENABLED=0 go build -trimpath -o "$LOGS/canary-controller" ./cmd/canary-controller

log "go test -race ./... (API server from $KUBEBUILDER_ASSETS; log in $LOGS/test.log)"
set +e
go test -race -count=1 -timeout 10m -v ./... >"$LOGS/test.log" 2>&1
rc=$?
set -e
grep -E '^(ok|FAIL|---|panic:|\s+--- FAIL|\s+[a-z_]+_test\.go:[0-9]+:)' "$LOGS/test.log" | grep -v -- '--- PASS' || true
passed=$(grep -cE '^\s*--- PASS' "$LOGS/test.log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$LOGS/test.log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$LOGS/test.log" || true)
log "vet, build and go test took $((SECONDS - t0))s"
if ((rc != 0)); then
  tail -n 80 "$LOGS/test.log"
  echo "controller: $passed passed, $((failed > 0 ? failed : 1)) failed, $skipped skipped"
  die "go test failed (full log: $LOGS/test.log)"
fi
if ((skipped > 0)); then
  grep -E -A2 '^\s*--- SKIP' "$LOGS/test.log"
  echo "controller: $passed passed, $skipped failed, $skipped skipped"
  die "$skipped tests were skipped; with the API server binaries present every test must run"
fi
echo "controller: $passed passed, 0 failed"
