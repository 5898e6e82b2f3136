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
# nothing (new PKI, empty etcd, no image on the node) and the main cluster's data and stacks are left
# alone. The real node's network is the machine's (one bridge, one set of rules), so the main cluster
# is stopped meanwhile and started again after.
scripts/cluster.sh stop >/dev/null
scratch_run="$(mktemp -d)"
scratch() { SHOP_RUN="$scratch_run" SHOP_CLUSTER_DATA="$scratch_run/data" ETCD_PORT=22379 APISERVER_PORT=26443 KCM_PORT=20357 SCHED_PORT=20359 KWOK_PORT=20347 "$@"; }
timed "cluster start (from nothing)" scratch scripts/cluster.sh start
ready="$(sed -n 's/.*Ready \([0-9.]*\)s after containerd\/kubelet start.*/\1/p' "$REPO_ROOT/.tmp/bench-cluster start (from nothing).err")"
[[ -z "$ready" ]] || printf '  %-28s %6.1f s\n' "node Ready after kubelet start" "$ready"
# Pod start: apply to Ready, image present (the pause image every sandbox already uses).
if [[ "${SHOP_REAL_NODE:-0}" == 1 ]]; then
  pause="$(sed -n 's/^  "pause": "\(.*\)@.*",\{0,1\}$/\1/p' "$scratch_run/third-party-images.json")"
  pod() {
    scratch kubectl --kubeconfig "$scratch_run/kubeconfig" apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: { name: bench-pod, namespace: default }
spec:
  nodeSelector: { shop.example.com/simulated: "false" }
  tolerations: [{ key: shop.example.com/real, operator: Exists }]
  securityContext: { runAsNonRoot: true, runAsUser: 65535 }
  containers: [{ name: c, image: "$pause", securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false } }]
YAML
    scratch kubectl --kubeconfig "$scratch_run/kubeconfig" wait --for=condition=Ready pod/bench-pod --timeout=60s
  }
  timed "pod start (image present)" pod
fi
scratch scripts/cluster.sh stop
rm -rf "$scratch_run"
scripts/cluster.sh start >/dev/null
echo "== idle RSS of the local cluster (MB)"
# rss_tree PID: resident memory of a process and its descendants, in kB.
rss_tree() { local t=0 p; for p in $1 $(pgrep -P "$1"); do [[ "$p" == "$1" ]] && t=$((t + $(ps -o rss= -p "$p" 2>/dev/null || echo 0))) || t=$((t + $(rss_tree "$p"))); done; echo "$t"; }
total=0
for f in "$SHOP_RUN"/cluster/*.pid; do
  n="$(basename "$f" .pid)"; pid="$(cat "$f")"
  kb="$(ps -o rss= -p "$pid" 2>/dev/null || echo 0)"; total=$((total + kb))
  printf '  %-28s %6d\n' "$n" $((kb / 1024))
done
# The pods' processes (CoreDNS, Traefik, pause) hang off containerd's shims.
sock="$SHOP_RUN/cluster/node/containerd/containerd.sock"; pods=0
for p in $(pgrep -f '^/usr/bin/containerd-shim-runc-v2 '); do
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "-address $sock " && pods=$((pods + $(rss_tree "$p")))
done
total=$((total + pods))
printf '  %-28s %6d\n' "pods + shims" $((pods / 1024)) "total" $((total / 1024))
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
