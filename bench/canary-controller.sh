#!/usr/bin/env bash
# The CanaryRelease controller under load: BENCH_RELEASES (default 200) releases, each with its own
# HTTPRoute and canary Deployment, reconciled by one controller against a real kube-apiserver and etcd
# (envtest on free loopback ports, from scripts/toolchain.sh's binaries). Prints reconciles per second,
# API server requests per reconcile (reads, watches, writes) and memory.
#
#   bench/canary-controller.sh
#
# Environment (all optional): BENCH_RELEASES=200, BENCH_INTERVAL=2s (the releases' step interval),
# BENCH_WORKERS=4 (MaxConcurrentReconciles).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

RELEASES="${BENCH_RELEASES:-200}"
INTERVAL="${BENCH_INTERVAL:-2s}"
WORKERS="${BENCH_WORKERS:-4}"
[[ "$RELEASES" =~ ^[1-9][0-9]{0,3}$ ]] || die "BENCH_RELEASES must be 1 to 9999, got '$RELEASES'"
[[ "$WORKERS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_WORKERS must be 1 to 64, got '$WORKERS'"

"$REPO_ROOT/scripts/toolchain.sh" etcd kube
export KUBEBUILDER_ASSETS="$SHOP_BIN"
cd "$REPO_ROOT/controller"
go run ./bench -releases "$RELEASES" -interval "$INTERVAL" -workers "$WORKERS"
