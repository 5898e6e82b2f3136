#!/usr/bin/env bash
# Local platform benchmark, on one run: the toolchain's cold build times (recorded when each part was
# first built); cluster start from nothing (a throwaway second cluster); the idle RSS and CPU of the
# whole local platform; on a throwaway stack `bench` (the local config, namespace shop-bench, route
# host bench.localhost): up from empty until the journey succeeds through the edge, a no-op up,
# destroy; and edit-to-serving on the `local` stack: one Go file of one service changed ->
# scripts/local-up.sh -> the new pod answers (then the edit is reverted the same way).
# BENCH_CLUSTER=0 skips the cluster start from nothing (it stops the main cluster meanwhile).
# BENCH_PARTS (default "cluster idle stack noop edit pull") picks the parts, e.g. BENCH_PARTS=edit on a
# quiet machine. `noop`: the no-op up of the `local` stack, as it was (SHOP_FAST_START=0) and as it is,
# BENCH_NOOP_ROUNDS (3) times each, interleaved, with its phases and the load average; then the raw
# `pulumi up` of the stack for comparison. `pull`: for each service of the local stack, its image is removed from the node and its pod
# deleted, so the new pod pulls it from the registry: the time from the new pod to Ready (pull + start
# + probes), with the pull alone as the kubelet reports it, and the image's compressed size.
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
  "$@" >"$REPO_ROOT/.tmp/bench-$label.out" 2>"$REPO_ROOT/.tmp/bench-$label.err" || { cat "$REPO_ROOT/.tmp/bench-$label.err" >&2; die "$label failed"; }
  printf '  %-28s %6.1f s\n' "$label" "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')"
}
mkdir -p .tmp
part() { [[ " ${BENCH_PARTS:-cluster idle stack noop edit pull} " == *" $1 "* ]]; }
if part cluster && [[ "${BENCH_CLUSTER:-1}" == 1 ]]; then
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
if [[ "$SHOP_REAL_NODE" == 1 ]]; then
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
# Its registry and engine too (the node's images were built through them; their pid files are in the
# scratch folder, so nothing else would stop them).
scratch scripts/images.sh stop >/dev/null
rm -rf "$scratch_run"
scripts/cluster.sh start >/dev/null
else
  echo "== cluster: skipped (BENCH_CLUSTER=0: the main cluster is left running)"
fi
# The local stack runs while the platform is measured idle (scripts/local-up.sh deploys it).
scripts/local-up.sh >/dev/null 2>"$REPO_ROOT/.tmp/bench-local-up.err" || { cat "$REPO_ROOT/.tmp/bench-local-up.err" >&2; die "local-up failed"; }
export KUBECONFIG="$KUBECONFIG_LOCAL"
journey() { node -r ts-node/register test/e2e/journey.ts "$1" 180; }
if part idle; then
echo "== idle RSS (MB) and CPU (% of one core, over 30 s) of the local platform with the local stack up"
# tree PID: a process and its descendants.
tree() { local p; echo "$1"; for p in $(pgrep -P "$1"); do tree "$p"; done; }
# ticks PID...: user+system CPU ticks of the processes.
ticks() { local t=0 p; for p in "$@"; do [[ -r "/proc/$p/stat" ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
rss() { local t=0 p; for p in "$@"; do t=$((t + $(ps -o rss= -p "$p" 2>/dev/null || echo 0))); done; echo "$t"; }
declare -A group
for f in "$SHOP_RUN"/cluster/*.pid; do
  pid="$(cat "$f")"; kill -0 "$pid" 2>/dev/null && group["$(basename "$f" .pid)"]="$pid"
done
# The pods' processes hang off the shims of the node's containerd.
sock="$SHOP_RUN/cluster/node/containerd/containerd.sock"; pods=()
for p in $(pgrep -f '^/usr/bin/containerd-shim-runc-v2 '); do
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "-address $sock " && pods+=($(tree "$p"))
done
group["pods+shims"]="${pods[*]}"
declare -A t0; hz="$(getconf CLK_TCK)"
for n in "${!group[@]}"; do t0[$n]="$(ticks ${group[$n]})"; done
sleep 30
total_kb=0; total_t=0
for n in $(printf '%s\n' "${!group[@]}" | sort); do
  kb="$(rss ${group[$n]})"; dt=$(( $(ticks ${group[$n]}) - ${t0[$n]} ))
  total_kb=$((total_kb + kb)); total_t=$((total_t + dt))
  printf '  %-28s %6d MB %6.1f %%\n' "$n" $((kb / 1024)) "$(awk -v t="$dt" -v hz="$hz" 'BEGIN{print 100*t/hz/30}')"
done
printf '  %-28s %6d MB %6.1f %%\n' "total" $((total_kb / 1024)) "$(awk -v t="$total_t" -v hz="$hz" 'BEGIN{print 100*t/hz/30}')"
fi
if part stack; then
scripts/cluster.sh recycle-volumes
scripts/images.sh up >/dev/null
ov="$(mktemp)"; printf 'shop:namespace: shop-bench\nshop:routing:\n  host: bench.localhost\n' >"$ov"
# A bench stack an interrupted run left: destroyed and removed (only its state, when its config file is gone).
scripts/automation.sh destroy bench --remove >/dev/null 2>&1 || pulumi stack rm bench --yes --force >/dev/null 2>&1 || true
rm -f "$STACK_CONFIG_DIR/Pulumi.bench.yaml"
BASE_STACK=local OVERRIDES="$ov" THIRD_PARTY_IMAGES="$SHOP_RUN/third-party-images.json" scripts/stack-config.sh bench "$SHOP_RUN/images.json" >/dev/null
# Through the automation CLI as every stack operation (scripts/automation.sh): each figure includes its start.
echo "== pulumi (stack bench = local config, namespace shop-bench)"
up() { scripts/automation.sh deploy bench; }
t_up=$(date +%s.%N)
timed "up from empty" up
timed "then the journey succeeds" journey bench.localhost
printf '  %-28s %6.1f s\n' "up from empty to journey" "$(awk -v a="$(date +%s.%N)" -v b="$t_up" 'BEGIN{print a-b}')"
# The no-op up as it was (SHOP_FAST_START=0: no start-up hook, the CLI's extra pulumi calls), then as
# it is; where each one's time went, as the automation CLI splits it (automation/progress.ts, phasesLine).
SHOP_FAST_START=0 timed "no-op up (before)" up
printf '  %-28s %s\n' "no-op up phases (before)" "$(sed -n 's/^phases: //p' "$REPO_ROOT/.tmp/bench-no-op up (before).out")"
timed "no-op up" up
printf '  %-28s %s\n' "no-op up phases" "$(sed -n 's/^phases: //p' "$REPO_ROOT/.tmp/bench-no-op up.out")"
printf '  %-28s %s\n' "load average" "$(cut -d' ' -f1-3 /proc/loadavg)"
timed "destroy" scripts/automation.sh destroy bench --remove   # also removes the stack and its config file
scripts/cluster.sh recycle-volumes
fi
if part noop; then
# The no-op up of the `local` stack, BENCH_NOOP_ROUNDS times each way, interleaved: as it was
# (SHOP_FAST_START=0) and as it is; the raw `pulumi up` (no automation CLI, no hook) for comparison.
echo "== no-op up of the local stack (automation CLI), ${BENCH_NOOP_ROUNDS:-3} rounds; wall, user+sys CPU, load average before the run"
noop() {  # noop LABEL [env...]: one no-op deploy of local; prints wall, CPU, load and the phases
  local label="$1"; shift
  local load; load="$(cut -d' ' -f1 /proc/loadavg)"
  env "$@" /usr/bin/time -f 'time %e %U %S' scripts/automation.sh deploy local >"$REPO_ROOT/.tmp/bench-noop.out" 2>"$REPO_ROOT/.tmp/bench-noop.err" ||
    { cat "$REPO_ROOT/.tmp/bench-noop.err" >&2; die "no-op deploy of local failed"; }
  grep -q '^summary: 0 created, 0 updated, 0 replaced, 0 deleted' "$REPO_ROOT/.tmp/bench-noop.out" || echo "  (not a no-op: $(sed -n 's/^summary: //p' "$REPO_ROOT/.tmp/bench-noop.out"))"
  read -r _ wall user sys < <(grep '^time ' "$REPO_ROOT/.tmp/bench-noop.err")
  printf '  %-8s %5.1f s  cpu %5.1f s  load %-5s %s\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$load" \
    "$(sed -n 's/^phases: //p' "$REPO_ROOT/.tmp/bench-noop.out")"
}
for ((round = 1; round <= ${BENCH_NOOP_ROUNDS:-3}; round++)); do
  noop before SHOP_FAST_START=0
  noop after
done
echo "== the same with the Pulumi CLI alone (pulumi up --yes --skip-preview in .pulumi-state/workspace, no hook)"
for ((round = 1; round <= ${BENCH_NOOP_ROUNDS:-3}; round++)); do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  # A TMPDIR of its own, removed after, as the automation CLI gives each run (automation/scratch.ts):
  # the Kubernetes provider leaves a copy of its kubeconfig in the temporary folder on every configure.
  raw_tmp="$(mktemp -d)"
  (cd .pulumi-state/workspace && TMPDIR="$raw_tmp" /usr/bin/time -f 'time %e %U %S' pulumi up --yes --skip-preview --stack local --config-file "$STACK_CONFIG_DIR/Pulumi.local.yaml") \
    >"$REPO_ROOT/.tmp/bench-noop-raw.out" 2>"$REPO_ROOT/.tmp/bench-noop-raw.err" || { rm -rf "$raw_tmp"; cat "$REPO_ROOT/.tmp/bench-noop-raw.err" >&2; die "pulumi up of local failed"; }
  rm -rf "$raw_tmp"
  read -r _ wall user sys < <(grep '^time ' "$REPO_ROOT/.tmp/bench-noop-raw.err")
  printf '  %-8s %5.1f s  cpu %5.1f s  load %s\n' "raw" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$load"
done
fi
if part edit; then

echo "== edit-to-serving (stack local): one Go file of the product service changed -> scripts/local-up.sh -> its new pod answers"
# An added file with an init() changes the binary (an unused constant would be dropped by the linker,
# and a comment changes nothing: the build ID is emptied). It is removed again at the end.
edit="services/cmd/product/zz_bench_edit.go"
[[ ! -e "$edit" ]] || die "$edit exists: remove it first"
trap 'rm -f "$REPO_ROOT/$edit"' EXIT
answers() {  # answers DIGEST: a product answer through the edge comes from DIGEST (X-Service-Version)
  local digest="$1" deadline=$((SECONDS + 120)) seen=""
  while ((SECONDS < deadline)); do
    seen="$(curl -s -m 5 -o /dev/null -D - -H 'Host: shop.localhost' 'http://127.0.0.1/api/products?size=1' | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ervice-[Vv]ersion: product=//p')"
    [[ "$seen" == "$digest" ]] && return
    sleep 0.2
  done
  die "no product answer from $digest through the edge after 120 s (last: '$seen')"
}
replaced() {  # replaced DIGEST: every product pod runs DIGEST, none other is left, and the journey succeeds
  local digest="$1" deadline=$((SECONDS + 120)) imgs
  while ((SECONDS < deadline)); do
    imgs="$(kubectl -n shop-local get pods -l app.kubernetes.io/name=product -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)"
    [[ "$imgs" == *"$digest" && "$(wc -l <<<"$imgs")" == 1 ]] && { journey shop.localhost; return; }
    sleep 0.5
  done
  die "the product pods do not all run $digest after 120 s: $imgs"
}
edit_to_serving() {  # edit_to_serving LABEL: local-up.sh, until the new pod answers, until no old pod is left
  local t=$(date +%s.%N) digest
  timed "$1: local-up.sh" scripts/local-up.sh
  digest="$(sed -n 's/.*"product": *"[^@]*@\(sha256:[0-9a-f]*\)".*/\1/p' "$SHOP_RUN/images.json")"
  timed "$1: until the new pod answers" answers "$digest"
  printf '  %-28s %6.1f s\n' "$1: edit to serving" "$(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN{print a-b}')"
  timed "$1: old pod gone, journey ok" replaced "$digest"
  grep -h '^== timings' "$REPO_ROOT/.tmp/bench-$1: local-up.sh.out" | sed "s/^== timings:/  $1: local-up.sh phases:/"
}
printf 'package main\n\nvar benchEdit string\n\nfunc init() { benchEdit = "%s" }\n' "$(date +%s)" >"$edit"
edit_to_serving "edit"
rm -f "$edit"
edit_to_serving "revert"
fi

part pull || exit 0
echo "== a new digest to a Ready pod, per service of the local stack (image removed from the node first)"
ctr_node() { ctr --address "$SHOP_RUN/cluster/node/containerd/containerd.sock" --namespace k8s.io "$@"; }
for svc in gateway user product order; do
  pod="$(kubectl -n shop-local get pods -l "app.kubernetes.io/name=$svc" -o jsonpath='{.items[0].metadata.name}')"
  image="$(kubectl -n shop-local get pod "$pod" -o jsonpath='{.spec.containers[0].image}')"
  # What the node pulls: the layers' compressed sizes, from the registry's manifest.
  size="$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:5000/v2/shop/$svc/manifests/${image#*@}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);console.log(((m.layers||[]).reduce((a,l)=>a+l.size,0)+(m.config?.size||0))/1048576)})')"
  # Every name of the image (by digest, by tag, and the kubelet's by image ID: all with its manifest's
  # digest), so that its content goes with them.
  refs="$(ctr_node images ls | awk -v d="${image#*@}" '$3 == d {print $1}')"
  [[ -z "$refs" ]] || ctr_node images rm --sync $refs >/dev/null
  t0=$(date +%s.%N)
  kubectl -n shop-local delete pod "$pod" --wait=false >/dev/null
  new=""
  deadline=$((SECONDS + 120))
  until [[ -n "$new" ]] && kubectl -n shop-local get pod "$new" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; do
    ((SECONDS < deadline)) || die "$svc: no new Ready pod within 120 s"
    new="$(kubectl -n shop-local get pods -l "app.kubernetes.io/name=$svc" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' | awk -v old="$pod" '$2 == "" && $1 != old && !n {n = $1} END {print n}')"
    sleep 0.2
  done
  ready=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
  pulled="$(kubectl -n shop-local get events --field-selector "involvedObject.name=$new,reason=Pulled" -o jsonpath='{.items[0].message}' | sed -n 's/.* in \([0-9.]*m\{0,1\}s\).*/\1/p')"
  printf '  %-10s %5.2f MB compressed   pod deleted -> new pod Ready %6.1f s   pull %s\n' "$svc" "$size" "$ready" "${pulled:-?}"
done
