#!/usr/bin/env bash
# The local Kubernetes cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler; a real
# node (containerd, kubelet, kube-proxy, a pod bridge, CoreDNS, and Traefik serving the Gateway API on
# 127.0.0.1:80/443), and kwok simulating three more nodes for the workloads that cannot be built here.
#   scripts/cluster.sh start | stop | reset | status | kubeconfig | recycle-volumes
# Processes are tracked by PID files under $SHOP_RUN/cluster; stop only kills those, and removes every
# mount, link, rule, cgroup and folder the node made. The network guards (scripts/netguard.sh) are in
# place before the first pod starts. SHOP_REAL_NODE=0 starts the control plane and kwok only, on
# 127.0.0.1 (no root needed; every pod simulated).
# `start` also installs the Gateway API CRDs (standard channel) and the local GatewayClass.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$REPO_ROOT/scripts/cluster-network.sh"   # APISERVER_PORT, SERVICE_CIDR, POD_CIDR, the node's bridge and address

C="$SHOP_RUN/cluster"
# The cluster's data (etcd, and the folders behind its volumes) lives next to the Pulumi state that
# describes it, in this checkout's ignored .pulumi-state/: a fresh clone starts a fresh cluster, so a
# stack never meets objects that another checkout's state owns. The processes, PKI and kubeconfig are
# shared (there is one set of ports): starting this checkout's cluster stops another checkout's first.
DATA="${SHOP_CLUSTER_DATA:-$REPO_ROOT/.pulumi-state/cluster}"
ETCD_PORT="${ETCD_PORT:-12379}"
KCM_PORT="${KCM_PORT:-10357}"
SCHED_PORT="${SCHED_PORT:-10359}"
KWOK_PORT="${KWOK_PORT:-10347}"
FAKE_NODES="${FAKE_NODES:-3}"
PV_COUNT="${PV_COUNT:-24}"
PV_SIZE="${PV_SIZE:-20Gi}"
# The real node is the default; SHOP_REAL_NODE=0 leaves it out (the local stack then needs the overlay
# stacks/local-simulated.yaml, since its workloads select the real node: docs/local.md, "Placement").
REAL_NODE="$SHOP_REAL_NODE"   # default set in lib.sh
# The cluster's layout: a cluster started with another one (the earlier loopback-only layout, or the
# other value of SHOP_REAL_NODE) is restarted, its data kept.
LAYOUT="2-node$REAL_NODE"
# The Gateway API CRDs (standard channel) the program's routes need; they ship inside the Go module.
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.6.3}"
# The GatewayClass of the Gateway the local stack creates (config/fields.ts LOCAL_GATEWAY_CLASS).
LOCAL_GATEWAY_CLASS="traefik"
KC="$KUBECONFIG_LOCAL"
kc() { kubectl --kubeconfig "$KC" "$@"; }
source "$REPO_ROOT/scripts/node.sh"
if [[ "$REAL_NODE" == 1 ]]; then API_IP="$NODE_IP"; else API_IP=127.0.0.1; fi

# sign_once NAME SUBJ [SAN]: a key and a certificate signed by the local CA (or by the CA named
# $SIGNING_CA, e.g. front-proxy-ca), unless it exists with that subject and SAN (a certificate from an
# earlier layout with fewer SANs is made again).
sign_once() {
  local p="$C/pki" want="${3:-}" ca="${SIGNING_CA:-ca}"
  if [[ -f "$p/$1.crt" ]]; then
    [[ -z "$want" ]] && return 0
    [[ "$(cat "$p/$1.san" 2>/dev/null)" == "$want" ]] && return 0
  fi
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
  local ext="$p/$1.ext"; : >"$ext"
  [[ -n "$want" ]] && printf 'subjectAltName=%s\n' "$want" >"$ext"
  openssl x509 -req -in "$p/$1.csr" -CA "$p/$ca.crt" -CAkey "$p/$ca.key" -CAcreateserial -days 3650 \
    -extfile "$ext" -out "$p/$1.crt" 2>/dev/null
  printf '%s' "$want" >"$p/$1.san"
}

certs() {
  mkdir -p "$C/pki"; local p="$C/pki"
  if [[ ! -f "$p/ca.crt" ]]; then
    log "creating cluster PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shop-local-ca" \
      -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  fi
  sign_once apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
  sign_once admin "/O=system:masters/CN=shop-admin"
  sign_once controller-manager "/CN=system:kube-controller-manager"
  sign_once scheduler "/CN=system:kube-scheduler"
  sign_once kwok "/O=system:masters/CN=kwok"
  # The aggregation layer (metrics.k8s.io, served by metrics-server): the API server proxies to an
  # extension API server as front-proxy-client, with the user in X-Remote-* headers. Its CA is its own,
  # as Kubernetes recommends: a certificate of the cluster CA must never pass as a front proxy.
  if [[ ! -f "$p/front-proxy-ca.crt" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shop-local-front-proxy-ca" \
      -keyout "$p/front-proxy-ca.key" -out "$p/front-proxy-ca.crt" 2>/dev/null
  fi
  SIGNING_CA=front-proxy-ca sign_once front-proxy-client "/CN=front-proxy-client"
  if [[ ! -f "$p/sa.key" ]]; then
    openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
    openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  fi
}

# kubeconfig FILE USER: a kubeconfig for one client certificate
write_kubeconfig() {
  local f="$1" u="$2" p="$C/pki"
  cat >"$f" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: shop-local
  cluster: { server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$p/ca.crt" }
users:
- name: $u
  user: { client-certificate: "$p/$u.crt", client-key: "$p/$u.key" }
contexts:
- name: shop-local
  context: { cluster: shop-local, user: $u }
current-context: shop-local
YAML
}

# running NAME: its PID file names a live process that is still that program (PIDs get reused).
running() {
  [[ -f "$C/$1.pid" ]] || return 1
  local pid; pid="$(cat "$C/$1.pid")"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1"
}

# spawn NAME CMD...: starts a process in the background with its PID file and log. It returns once
# the child has become the program (or died): until its exec, the forked child's command line is
# still this script's, and `running` (which checks the command line, as PIDs get reused) would take
# a program that is starting for one that has exited (seen once on a busy machine: a kubelet
# reported gone a second before it logged its first line).
spawn() {
  local n="$1" pid i; shift
  running "$n" && return 0
  nohup "$@" >"$C/$n.log" 2>&1 &
  pid=$!
  echo "$pid" >"$C/$n.pid"
  for ((i = 0; i < 200; i++)); do
    running "$n" && return 0
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  die "$n (pid $pid) did not start within 10s (log: $C/$n.log)"
}

wait_for() {  # wait_for WHAT SECONDS CMD...
  wait_alive "" "$@"
}

# wait_alive PROC WHAT SECONDS CMD...: wait_for, but stops at once, with the end of PROC's log, when
# the process PROC (a name spawn started) exits meanwhile: a kubelet that finds no container runtime
# exits within a second, and waiting out the deadline for its node would only hide why.
wait_alive() {
  local proc="$1" what="$2" secs="$3"; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$proc" ]] && ! running "$proc"; then
      tail -n 3 "$C/$proc.log" >&2
      die "$proc exited while waiting for $what (log: $C/$proc.log)"
    fi
    ((SECONDS < deadline)) || die "$what not ready after ${secs}s (logs in $C)"
    sleep 0.3
  done
}

start() {
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    [[ -x "$SHOP_BIN/$b" ]] || die "$b is not built: run scripts/toolchain.sh"
  done
  [[ -x "$SHOP_BIN/kubectl" ]] || die "kubectl is not built: run scripts/toolchain.sh"
  if [[ "$REAL_NODE" == 1 ]]; then
    [[ $(id -u) -eq 0 ]] || die "the real node needs root (containerd, the pod bridge, iptables); SHOP_REAL_NODE=0 starts a cluster with simulated nodes only"
    # The node's own images (cached by their inputs) and the registry it pulls them from.
    "$REPO_ROOT/scripts/images.sh" third-party "${NODE_IMAGES[@]}" >/dev/null
  fi
  mkdir -p "$C" "$DATA"
  # Nothing to do when this cluster runs, healthy, as the same scripts and binaries last applied it:
  # re-applying its objects, CRDs and add-ons took 12-18 s of every run of the main job.
  local fp; fp="$(fingerprint)"
  if [[ "$(cat "$C/applied" 2>/dev/null)" == "$fp" ]] && all_running && kc get --raw /readyz >/dev/null 2>&1 &&
     { [[ "$REAL_NODE" != 1 ]] || { guard check >/dev/null 2>&1 && kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; }; }; then
    log "cluster running, unchanged since it was last started; KUBECONFIG=$KC"
    return 0
  fi
  rm -f "$C/applied"
  if running etcd && ! tr '\0' '\n' <"/proc/$(cat "$C/etcd.pid")/cmdline" | grep -qxF -- "$DATA/etcd"; then
    log "the running cluster keeps its data in another checkout: stopping it to start this one's"
    stop
  fi
  if running kube-apiserver && [[ "$(cat "$C/layout" 2>/dev/null)" != "$LAYOUT" ]]; then
    log "the running cluster was started with another layout: restarting it (its data is kept)"
    stop
  fi
  certs
  echo "$LAYOUT" >"$C/layout"
  if [[ "$REAL_NODE" == 1 ]]; then
    # Guards first, then the bridge (the API server binds its address), then anything else.
    guard check >/dev/null 2>&1 || guard up
    node_bridge
    node_apiserver_dnat
  fi
  write_kubeconfig "$KC" admin
  write_kubeconfig "$C/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$C/scheduler.kubeconfig" scheduler
  write_kubeconfig "$C/kwok.kubeconfig" kwok
  local t0=$SECONDS p="$C/pki"

  spawn etcd etcd --name shop-local --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "shop-local=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --quota-backend-bytes 2147483648 --unsafe-no-fsync --log-level warn
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  [[ "$REAL_NODE" != 1 ]] || node_certs
  local api_args; mapfile -t api_args < <(apiserver_args)
  # An API server started with other flags (by an earlier version of this script) is restarted alone:
  # the other processes and the node's pods keep running and reconnect.
  if running kube-apiserver && [[ "$(tr '\0' '\n' <"/proc/$(cat "$C/kube-apiserver.pid")/cmdline" | tail -n +2)" != "$(printf '%s\n' "${api_args[@]}")" ]]; then
    log "the running API server has other flags: restarting it"
    stop_proc kube-apiserver
  fi
  spawn kube-apiserver kube-apiserver "${api_args[@]}"
  wait_for kube-apiserver 60 kc get --raw /readyz

  spawn kube-controller-manager kube-controller-manager --kubeconfig "$C/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$C/controller-manager.kubeconfig" --authorization-kubeconfig "$C/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
    --use-service-account-credentials=true --allocate-node-cidrs=false \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' --v=1
  spawn kube-scheduler kube-scheduler --kubeconfig "$C/scheduler.kubeconfig" \
    --authentication-kubeconfig "$C/scheduler.kubeconfig" --authorization-kubeconfig "$C/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --v=1

  write_kwok_config
  spawn kwok kwok --kubeconfig "$C/kwok.kubeconfig" --config "$C/kwok.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$KWOK_PORT" --node-ip 127.0.0.1 --cidr "$SIM_POD_CIDR"

  wait_for "default service account" 60 kc get serviceaccount default -n default
  apply_objects
  gateway_api
  wait_for "simulated nodes" 60 kc wait --for=condition=Ready node -l "$SIM_LABEL=true" --timeout=1s
  if [[ "$REAL_NODE" != 1 ]]; then
    # A real node left from the other layout would get DaemonSet pods that never start.
    kc delete node "$NODE_NAME" --ignore-not-found >/dev/null
    # So would its metrics API: an APIService without a backend fails discovery, and the namespace
    # controller then leaves every deleted namespace Terminating.
    kc delete apiservice v1beta1.metrics.k8s.io --ignore-not-found >/dev/null
  fi
  if [[ "$REAL_NODE" == 1 ]]; then
    guard check >/dev/null
    local t1=$EPOCHREALTIME
    node_start
    wait_alive kubelet "node $NODE_NAME" 90 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
    log "node $NODE_NAME Ready $(awk -v a="$EPOCHREALTIME" -v b="$t1" 'BEGIN{printf "%.1f", a-b}')s after containerd/kubelet start"
    node_apply_addons
    node_wait_ready
  fi
  echo "$fp" >"$C/applied"
  log "cluster ready in $((SECONDS - t0))s; KUBECONFIG=$KC"
}

# apiserver_args: the API server's flags, one a line.
apiserver_args() {
  local p="$C/pki" a=()
  a+=(--bind-address "$API_IP" --advertise-address "$API_IP"
    --secure-port "$APISERVER_PORT" --etcd-servers "http://127.0.0.1:$ETCD_PORT"
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC
    --enable-admission-plugins NodeRestriction)
  [[ "$REAL_NODE" == 1 ]] && a+=(--kubelet-client-certificate "$p/apiserver-kubelet-client.crt"
    --kubelet-client-key "$p/apiserver-kubelet-client.key" --kubelet-certificate-authority "$p/ca.crt"
    --kubelet-preferred-address-types InternalIP)
  a+=(--client-ca-file "$p/ca.crt" --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key"
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key"
    --service-account-issuer https://kubernetes.default.svc.cluster.local --api-audiences https://kubernetes.default.svc.cluster.local)
  # The aggregation layer: extension API servers (metrics-server) trust front-proxy-client's requests
  # and read the user from these headers; the API server, on the host, proxies to the extension's
  # endpoints (pod IPs) directly rather than through its Service.
  a+=(--requestheader-client-ca-file "$p/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group
    --requestheader-extra-headers-prefix X-Remote-Extra-
    --proxy-client-cert-file "$p/front-proxy-client.crt" --proxy-client-key-file "$p/front-proxy-client.key"
    --enable-aggregator-routing=true)
  a+=(--allow-privileged=true --profiling=false --v=1)
  printf '%s\n' "${a[@]}"
}

# fingerprint: what a running cluster's applied state derives from: the scripts, the layout and
# settings, the binaries (by size and mtime) and the node's images.
fingerprint() {
  {
    cat "$REPO_ROOT"/scripts/{cluster,cluster-network,node,netguard,lib}.sh
    echo "$LAYOUT $DATA $NODE_PLACEMENT ${EDGE:-} $GATEWAY_API_VERSION $APISERVER_PORT $ETCD_PORT $FAKE_NODES $PV_COUNT $PV_SIZE"
    stat -c '%n %s %Y' "$SHOP_BIN"/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler,kwok,kubectl} 2>/dev/null
    [[ "$REAL_NODE" != 1 ]] || stat -c '%n %s %Y' "${NODE_BINS[@]/#/$SHOP_BIN/}" 2>/dev/null
    cat "$SHOP_RUN/third-party-images.json" 2>/dev/null || true   # absent before the first build of a fresh machine
  } | sha256sum | cut -c1-16
}

# all_running: every process of this layout runs.
all_running() {
  local n names=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
  [[ "$REAL_NODE" == 1 ]] && names+=(containerd kubelet kube-proxy)
  for n in "${names[@]}"; do running "$n" || return 1; done
}

write_kwok_config() {
  local stages="$SHOP_CACHE/kwok-stages"
  [[ -d "$stages" ]] || die "kwok stages missing: run scripts/toolchain.sh kwok"
  {
    cat <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  # Defaults are not applied when options come from a file: every parallelism must be set.
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  nodeLeaseDurationSeconds: 40
  podsOnNodeSyncParallelism: 4
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: true
  enableCRDs: []
YAML
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/general/pod-create.yaml pod/general/pod-init-container-running.yaml \
             pod/general/pod-init-container-completed.yaml pod/general/pod-ready.yaml \
             pod/general/pod-complete.yaml; do
      [[ -f "$stages/$f" ]] || continue
      echo "---"; cat "$stages/$f"
    done
    # A terminating pod goes away a second after its deletion, as a service that exits promptly on
    # SIGTERM would. (kwok's own pod-delete stage waits out the whole grace period, which made a
    # destroy of the local stack take three minutes.)
    cat <<'YAML'
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.metadata.finalizers'
      operator: 'DoesNotExist'
  delay:
    durationMilliseconds: 1000
  next:
    delete: true
YAML
    # Ingresses have no controller here: give each the loopback address, as a controller would.
    cat <<'YAML'
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ingress-address
spec:
  resourceRef:
    apiGroup: networking.k8s.io/v1
    kind: Ingress
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.loadBalancer.ingress'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      loadBalancer:
        ingress:
        - ip: 127.0.0.1
YAML
  } >"$C/kwok.yaml"
}

# The simulated nodes' taints: with a real node in `real` placement, only workloads that tolerate
# shop.example.com/simulated go to them.
sim_taints() {
  if [[ "$REAL_NODE" == 1 && "$NODE_PLACEMENT" == real ]]; then
    echo "[{ key: $SIM_LABEL, value: \"true\", effect: NoSchedule }]"
  else
    echo "[]"
  fi
}

cluster_objects() {
  local i
  for i in $(seq 1 "$FAKE_NODES"); do
    cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: local-node-$i
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
  labels:
    kubernetes.io/hostname: local-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node-role.kubernetes.io/agent: ""
    topology.kubernetes.io/zone: local-$i
    type: kwok
    $SIM_LABEL: "true"
spec:
  taints: $(sim_taints)
status:
  allocatable: { cpu: "16", memory: 64Gi, pods: "110" }
  capacity: { cpu: "16", memory: 64Gi, pods: "110" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake }
YAML
  done
  cat <<YAML
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: local-storage }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
YAML
  for i in $(seq 1 "$PV_COUNT"); do
    # World-writable: the stores run as uid 999, Prometheus as 65534, and a hostPath gets no fsGroup.
    mkdir -p "$DATA/volumes/pv-$i"; chmod 0777 "$DATA/volumes/pv-$i"
    cat <<YAML
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: local-pv-$i, labels: { shop.local/pool: local } }
spec:
  capacity: { storage: $PV_SIZE }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local-storage
  hostPath: { path: "$DATA/volumes/pv-$i", type: DirectoryOrCreate }
YAML
  done
  # An ingress class, so Ingresses that name it are valid; there is no controller behind it.
  cat <<YAML
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: nginx }
spec: { controller: k8s.io/ingress-nginx }
YAML
  true
} 

apply_objects() { cluster_objects | kc apply -f - >/dev/null; }

# gateway_api: installs the Gateway API CRDs of the standard channel (only that channel) from the Go
# module sigs.k8s.io/gateway-api (downloaded once into the Go module cache), then the local GatewayClass.
# (Traefik 3.6 speaks the standard channel; its experimental option waits for TCPRoute/TLSRoute versions
# these CRDs lack.)
gateway_api() {
  local dir
  dir="$(go env GOMODCACHE)/sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION/config/crd/standard"
  if [[ ! -d "$dir" ]]; then
    log "fetching the Gateway API $GATEWAY_API_VERSION CRDs (Go module sigs.k8s.io/gateway-api)"
    (cd "$(mktemp -d)" && go mod download "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION") || die "cannot download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
  fi
  [[ -d "$dir" ]] || die "no $dir in the Go module sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
  local f crds=() vaps=()
  for f in "$dir"/*.yaml; do
    if grep -q '^kind: CustomResourceDefinition' "$f"; then crds+=("$f"); else vaps+=("$f"); fi
  done
  local args=()
  for f in "${crds[@]}"; do args+=(-f "$f"); done
  kc apply --server-side --force-conflicts --field-manager shop-cluster "${args[@]}" >/dev/null
  # The bundle's ValidatingAdmissionPolicy (guarding against mixing channels) needs an API server
  # that serves admissionregistration.k8s.io/v1 policies; without one it is skipped, not fatal.
  for f in "${vaps[@]}"; do
    kc apply --server-side --force-conflicts --field-manager shop-cluster -f "$f" >/dev/null 2>&1 \
      || log "skipping $(basename "$f"): the API server rejects it"
  done
  kc wait --for=condition=Established --timeout=60s \
    crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io \
    crd/httproutes.gateway.networking.k8s.io crd/referencegrants.gateway.networking.k8s.io >/dev/null
  # The class the local stack's Gateway names: with the real node, Traefik (node.sh's add-ons) is
  # its controller; with simulated nodes only, none runs behind it. Applied here only, server-side.
  kc apply --server-side --field-manager shop-cluster -f - >/dev/null <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: $LOCAL_GATEWAY_CLASS }
spec: { controllerName: traefik.io/gateway-controller }
YAML
}

# recycle-volumes: a Released PV (its claim deleted) gets its claimRef dropped and its data wiped.
recycle_volumes() {
  local pv
  for pv in $(kc get pv -l shop.local/pool=local -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}'); do
    local n="${pv#local-pv-}"
    rm -rf "${DATA:?}/volumes/pv-$n"; mkdir -p "$DATA/volumes/pv-$n"; chmod 0777 "$DATA/volumes/pv-$n"
    kc patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
}

stop() {
  local n pid
  rm -f "$C/applied"
  # The node's network is the machine's: only a cluster that has (or had) a real node cleans it.
  if [[ "$REAL_NODE" == 1 || -d "$N" || "$(cat "$C/layout" 2>/dev/null)" == *node1 ]]; then node_stop; fi
  for n in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if running "$n"; then
      pid="$(cat "$C/$n.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do running "$n" || break; sleep 0.1; done
      if running "$n"; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$C/$n.pid"
  done
}

status() {
  local n ok=0 names=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
  [[ "$REAL_NODE" == 1 ]] && names+=(containerd kubelet kube-proxy)
  for n in "${names[@]}"; do
    if running "$n"; then echo "$n: running (pid $(cat "$C/$n.pid"))"; else echo "$n: stopped"; ok=1; fi
  done
  [[ "$REAL_NODE" == 1 ]] && { guard check || ok=1; }
  return $ok
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  reset) stop; rm -rf "${DATA:?}/etcd" "$DATA/volumes" ;;
  status) status ;;
  kubeconfig) echo "$KC" ;;
  recycle-volumes) recycle_volumes ;;
  *) die "unknown command '$1' (use start|stop|reset|status|kubeconfig|recycle-volumes)" ;;
esac
