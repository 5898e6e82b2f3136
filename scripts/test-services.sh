#!/usr/bin/env bash
# The Go services' test entry point:
#   1. installs MariaDB, Redis and RabbitMQ if missing and starts throwaway
#      servers on spare loopback ports (scripts/stores.sh; stopped on exit,
#      also on failure or Ctrl-C),
#   2. go vet ./... and a static (CGO_ENABLED=0) build of the four binaries,
#   3. go test -race ./... with the integration tests on (SHOP_IT=1); a
#      skipped test fails the run, so they cannot silently not run,
#   4. every fuzz target for a bounded number of inputs (SHOP_FUZZTIME, default 10000x each).
# Exits non-zero on any failure. Usage: scripts/test-services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A count, not a duration: with a duration, Go's fuzz coordinator (up to 1.26) can fail a target with a
# bare "context deadline exceeded" and no input when a loaded machine delays a worker at the deadline
# (golang/go#75804). A count has no deadline to race; on a busy machine it only takes longer.
FUZZTIME="${SHOP_FUZZTIME:-10000x}"
SVC="$REPO_ROOT/services"
command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed for services/)"
export CGO_ENABLED=1 # the race detector needs cgo; the service binaries themselves are built with CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

STORES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/shop-stores.XXXXXX")"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/shop-test-logs.XXXXXX")"
cleanup() {
  local rc=$?
  "$REPO_ROOT/scripts/stores.sh" stop "$STORES_DIR" || true
  logs_done "$rc" "$LOGS" # with the static binaries
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
log "starting MariaDB, Redis and RabbitMQ in $STORES_DIR"
"$REPO_ROOT/scripts/stores.sh" start "$STORES_DIR" >/dev/null
# shellcheck disable=SC1091
source "$STORES_DIR/stores.env"
log "stores up in $((SECONDS - t0))s"

cd "$SVC"
t1=$SECONDS
log "go vet ./..."
go vet ./...

log "CGO_ENABLED=0 go build ./cmd/... (static binaries)"
CGO_ENABLED=0 go build -trimpath -o "$LOGS/bin/" ./cmd/...
for b in gateway user product order; do [[ -x "$LOGS/bin/$b" ]] || die "cmd/$b did not build"; done

log "go test -race ./... (integration tests on; log in $LOGS/test.log)"
go_test_suite services "$LOGS/test.log" 15m
passed=$GO_PASSED
log "go test took $((SECONDS - t1))s"

t2=$SECONDS
fuzzed=0
# Every Fuzz* function in the module, each run for $FUZZTIME (inputs, or a duration such as 30s).
while IFS=: read -r file name; do
  pkg="./$(dirname "${file#./}")"
  log "fuzz $pkg $name ($FUZZTIME)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$LOGS/fuzz-$name.log" 2>&1; then
    cat "$LOGS/fuzz-$name.log"
    echo "services: $((passed + fuzzed)) passed, 1 failed, 0 skipped"
    die "fuzz target $name failed; the failing input is under $pkg/testdata/fuzz/$name"
  fi
  fuzzed=$((fuzzed + 1))
done < <(grep -rHoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | sed -E 's/:func /:/' | sort)
((fuzzed > 0)) || die "no fuzz targets found"
log "$fuzzed fuzz targets ran in $((SECONDS - t2))s; total $((SECONDS - t0))s"
echo "services: $((passed + fuzzed)) passed, 0 failed"
