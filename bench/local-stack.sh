#!/usr/bin/env bash
# Local platform benchmark: the toolchain's cold build times (recorded when each part was first built),
# cluster start from nothing (a throwaway second cluster), and on a throwaway stack `bench` on the main
# cluster: up from empty, a no-op up, destroy.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$REPO_ROOT"
scripts/toolchain.sh all
echo "== cold toolchain builds (seconds, as recorded by scripts/toolchain.sh)"
for f in "$SHOP_BIN"/.*-*; do
  [[ -f "$f" ]] || continue
  n="$(basename "$f")"; printf '  %-28s %s\n' "${n#.}" "$(cat "$f" 2>/dev/null || echo '?')"
done

timed() {  # timed LABEL CMD...: runs CMD quietly and prints its wall time
  local label="$1"; shift
  local t0; t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$REPO_ROOT/.tmp/bench-$label.err" || { cat "$REPO_ROOT/.tmp/bench-$label.err" >&2; die "$label failed"; }
  printf '  %-28s %6.1f s\n' "$label" "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')"
}
mkdir -p .tmp
echo "== cluster"
# A second, throwaway cluster on other ports and in its own folder, so the measured start is from
# nothing (new PKI, empty etcd) and the main cluster and its stacks are left alone.
scratch_run="$(mktemp -d)"
scratch() { SHOP_RUN="$scratch_run" SHOP_CLUSTER_DATA="$scratch_run/data" ETCD_PORT=22379 APISERVER_PORT=26443 KCM_PORT=20357 SCHED_PORT=20359 KWOK_PORT=20347 "$@"; }
timed "cluster start (from nothing)" scratch scripts/cluster.sh start
scratch scripts/cluster.sh stop
rm -rf "$scratch_run"
scripts/cluster.sh start >/dev/null
scripts/cluster.sh recycle-volumes
export KUBECONFIG="$KUBECONFIG_LOCAL"
scripts/images.sh up >/dev/null
ov="$(mktemp)"; printf 'shop:namespace: shop-bench\n' >"$ov"
pulumi stack rm bench --yes --force >/dev/null 2>&1 || true
rm -f "$STACK_CONFIG_DIR/Pulumi.bench.yaml"
gen="$(BASE_STACK=local OVERRIDES="$ov" scripts/stack-config.sh bench "$SHOP_RUN/images.json")"
echo "== pulumi (stack bench = local config, namespace shop-bench)"
up() { pulumi up --stack bench --config-file "$gen" --yes --skip-preview --suppress-progress --color never; }
timed "up from empty" up
timed "no-op up" up
timed "destroy" pulumi destroy --stack bench --config-file "$gen" --yes --skip-preview --suppress-progress --color never
pulumi stack rm bench --yes --force >/dev/null
rm -f "$gen"
scripts/cluster.sh recycle-volumes
