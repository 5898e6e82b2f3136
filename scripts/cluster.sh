#!/usr/bin/env bash
# A local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, and kwok faking nodes and pod status (no kubelet, no container runs).
#   scripts/cluster.sh start | stop | reset | status | kubeconfig | recycle-volumes
# `start` also installs the Gateway API CRDs (standard channel) and the local GatewayClass.
# Processes are tracked by PID files under $SHOP_RUN/cluster; stop only kills those.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

C="$SHOP_RUN/cluster"
# The cluster's data (etcd, and the folders behind its volumes) lives next to the Pulumi state that
# describes it, in this checkout's ignored .pulumi-state/: a fresh clone starts a fresh cluster, so a
# stack never meets objects that another checkout's state owns. The processes, PKI and kubeconfig are
# shared (there is one set of ports): starting this checkout's cluster stops another checkout's first.
DATA="${SHOP_CLUSTER_DATA:-$REPO_ROOT/.pulumi-state/cluster}"
ETCD_PORT="${ETCD_PORT:-12379}"
APISERVER_PORT="${APISERVER_PORT:-16443}"
KCM_PORT="${KCM_PORT:-10357}"
SCHED_PORT="${SCHED_PORT:-10359}"
KWOK_PORT="${KWOK_PORT:-10347}"
FAKE_NODES="${FAKE_NODES:-3}"
PV_COUNT="${PV_COUNT:-24}"
PV_SIZE="${PV_SIZE:-20Gi}"
SERVICE_CIDR="10.96.0.0/16"   # virtual ClusterIPs only: nothing routes to them without a kube-proxy
# The Gateway API CRDs (standard channel) the program's routes need; they ship inside the Go module.
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.6.3}"
# The GatewayClass of the Gateway the local stack creates (config.ts LOCAL_GATEWAY_CLASS).
LOCAL_GATEWAY_CLASS="traefik"
KC="$KUBECONFIG_LOCAL"
kc() { kubectl --kubeconfig "$KC" "$@"; }

certs() {
  [[ -f "$C/pki/admin.crt" ]] && return 0
  log "creating cluster PKI"
  mkdir -p "$C/pki"; local p="$C/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shop-local-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  # sign NAME SUBJ [SAN]: a key and a certificate signed by the local CA
  sign() {
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
    local ext="$p/$1.ext"; : >"$ext"
    [[ -n "${3:-}" ]] && printf 'subjectAltName=%s\n' "$3" >"$ext"
    openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
      -extfile "$ext" -out "$p/$1.crt" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1"
  sign admin "/O=system:masters/CN=shop-admin"
  sign controller-manager "/CN=system:kube-controller-manager"
  sign scheduler "/CN=system:kube-scheduler"
  sign kwok "/O=system:masters/CN=kwok"
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
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

spawn() {  # spawn NAME CMD...: starts a process in the background with its PID file and log
  local n="$1"; shift
  running "$n" && return 0
  nohup "$@" >"$C/$n.log" 2>&1 &
  echo $! >"$C/$n.pid"
}

wait_for() {  # wait_for WHAT SECONDS CMD...
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${secs}s (logs in $C)"
    sleep 0.3
  done
}

start() {
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    [[ -x "$SHOP_BIN/$b" ]] || die "$b is not built: run scripts/toolchain.sh"
  done
  [[ -x "$SHOP_BIN/kubectl" ]] || die "kubectl is not built: run scripts/toolchain.sh"
  mkdir -p "$C" "$DATA"; certs
  if running etcd && ! tr '\0' '\n' <"/proc/$(cat "$C/etcd.pid")/cmdline" | grep -qxF -- "$DATA/etcd"; then
    log "the running cluster keeps its data in another checkout: stopping it to start this one's"
    stop
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

  spawn kube-apiserver kube-apiserver --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --secure-port "$APISERVER_PORT" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
    --client-ca-file "$p/ca.crt" --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --api-audiences https://kubernetes.default.svc.cluster.local \
    --allow-privileged=true --profiling=false --v=1
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
    --server-address "127.0.0.1:$KWOK_PORT" --node-ip 127.0.0.1 --cidr 10.244.0.0/16

  wait_for "default service account" 60 kc get serviceaccount default -n default
  apply_objects
  gateway_api
  wait_for "fake nodes" 60 kc wait --for=condition=Ready node --all --timeout=1s
  log "cluster ready in $((SECONDS - t0))s; KUBECONFIG=$KC"
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
    mkdir -p "$DATA/volumes/pv-$i"
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
  # A class, so the local stack's Gateway names one that exists; no controller runs behind it yet.
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
    rm -rf "${DATA:?}/volumes/pv-$n"; mkdir -p "$DATA/volumes/pv-$n"
    kc patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
}

stop() {
  local n pid
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
  local n ok=0
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if running "$n"; then echo "$n: running (pid $(cat "$C/$n.pid"))"; else echo "$n: stopped"; ok=1; fi
  done
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
