#!/usr/bin/env bash
# The real node of the local cluster, sourced by scripts/cluster.sh: a containerd of its own, the
# kubelet, kube-proxy (iptables mode), the pod bridge (CNI bridge + host-local + portmap + firewall),
# and the cluster add-ons that run on it: CoreDNS, metrics-server (the resource metrics API the HPAs
# read) and Traefik (the Gateway API edge on 127.0.0.1).
# Nothing here uses the Docker engine's containerd, socket or folders.
#
# Addresses: pods 10.244.0.0/24 on the bridge cni0 (gateway 10.244.0.1); 10.244.0.1 is also the node's
# address, the API server's bind/advertise address and the kubelet's serving address (the kubelet
# refuses a loopback node IP); Services 10.96.0.0/16 (routed to the bridge), cluster DNS 10.96.0.10.
# kwok's simulated pods get addresses from 10.244.128.0/17, which is never on the bridge.

NODE_NAME="${NODE_NAME:-local-real-node}"
# BRIDGE, NODE_IP, POD_CIDR, SERVICE_CIDR, KUBELET_PORT: scripts/cluster-network.sh (cluster.sh sources it).
NODE_POD_CIDR=10.244.0.0/24     # the real node's pods
SIM_POD_CIDR=10.244.128.0/17    # kwok's simulated pods
DNS_IP=10.96.0.10
# Placement labels and taints (docs/local.md):
#   every node carries shop.example.com/simulated: "true" (kwok) or "false" (the real node).
#   SHOP_NODE_PLACEMENT=real (the default): the simulated nodes are tainted shop.example.com/simulated=true:NoSchedule,
#     so only workloads that tolerate it (and select it) go there; everything else runs on the real node.
#   SHOP_NODE_PLACEMENT=simulated: the real node is tainted shop.example.com/real=true:NoSchedule
#     instead, so only workloads that tolerate it run for real, and a program without per-workload
#     placement stays on the simulated nodes.
SIM_LABEL=shop.example.com/simulated
REAL_TAINT_KEY=shop.example.com/real
NODE_PLACEMENT="${SHOP_NODE_PLACEMENT:-real}"
[[ "$NODE_PLACEMENT" == real || "$NODE_PLACEMENT" == simulated ]] ||
  die "SHOP_NODE_PLACEMENT=$NODE_PLACEMENT: use real (untolerating workloads run on the real node) or simulated"

N="$C/node"                                  # config, certificates' kubeconfigs, CNI state (removed on stop)
NODE_CACHE="$SHOP_RUN/node-cache"            # containerd's root: pulled images survive a stop
CTRD_SOCK="$N/containerd/containerd.sock"
KUBELET_ROOT="$N/kubelet"
NODE_PATH="$SHOP_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# SHOP_EDGE=0 leaves Traefik out (no Gateway API edge on 127.0.0.1).
EDGE="${SHOP_EDGE:-1}"
NODE_BINS=(kubelet kube-proxy coredns metrics-server)
[[ "$EDGE" == 1 ]] && NODE_BINS+=(traefik)
NODE_IMAGES=(pause "${NODE_BINS[@]:2}")

node_certs() {
  local p="$C/pki"
  sign_once kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  sign_once kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
  sign_once kube-proxy "/CN=system:kube-proxy"
  # The API server's client identity towards the kubelet (logs, exec, port-forward).
  sign_once apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  [[ -f "$p/ca.crt" ]]
}

# guard up|down|check: scripts/netguard.sh with this cluster's API server port (the rest of its network
# it reads from scripts/cluster-network.sh, as this cluster does).
guard() {
  APISERVER_PORT="$APISERVER_PORT" "$REPO_ROOT/scripts/netguard.sh" "$@"
}

# The bridge exists before the API server starts, since it binds the bridge's address.
node_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/24" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Services are virtual: route them to the bridge (a blackhole route would break ClusterIPs from the
  # node). The rest of the pod range (kwok's addresses) is unreachable rather than sent to the uplink.
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE"
  ip route replace unreachable "$POD_CIDR"
  sysctl -qw net.ipv6.conf."$BRIDGE".disable_ipv6=1 2>/dev/null || true
  # Bridged pod traffic must pass iptables (Services' DNAT between pods on one bridge); forwarding is
  # needed for pod -> Service -> pod. The guards keep both away from the uplink.
  node_sysctl net.bridge.bridge-nf-call-iptables 1
  node_sysctl net.ipv4.ip_forward 1
}

# node_sysctl KEY VALUE: sets a host sysctl, remembering the old value for stop.
node_sysctl() {
  local f="/proc/sys/${1//.//}" old
  old="$(cat "$f")"
  [[ "$old" == "$2" ]] && return 0
  mkdir -p "$C"; grep -q "^$1=" "$C/sysctl.saved" 2>/dev/null || echo "$1=$old" >>"$C/sysctl.saved"
  echo "$2" >"$f"
}

# The API server's own address is the bridge's; local clients keep using 127.0.0.1:<port>.
node_apiserver_dnat() {
  iptables -t nat -N SHOP-APISERVER 2>/dev/null || iptables -t nat -F SHOP-APISERVER
  iptables -t nat -A SHOP-APISERVER -d 127.0.0.1/32 -p tcp --dport "$APISERVER_PORT" -j DNAT --to-destination "$NODE_IP:$APISERVER_PORT"
  iptables -t nat -C OUTPUT -j SHOP-APISERVER 2>/dev/null || iptables -t nat -I OUTPUT 1 -j SHOP-APISERVER
}

node_write_config() {
  local p="$C/pki" pause
  mkdir -p "$N"/{containerd,cni/net.d,cni/ipam,certs.d/127.0.0.1:5000,pod-logs} "$KUBELET_ROOT" "$NODE_CACHE"
  pause="$(third_party_ref pause)"
  printf 'nameserver %s\n' "$DNS_IP" >"$N/resolv.conf"
  cat >"$N/certs.d/127.0.0.1:5000/hosts.toml" <<TOML
server = "http://127.0.0.1:5000"
[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
TOML
  cat >"$N/containerd.toml" <<TOML
version = 2
root = "$NODE_CACHE/containerd"
state = "$N/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_CACHE/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID").
  restrict_oom_score_adj = true
  # Non-root pods may bind ports below 1024 (CoreDNS on 53, Traefik on 80/443).
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$SHOP_BIN/cni"
    conf_dir = "$N/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$N/certs.d"
TOML
  cat >"$N/cni/net.d/10-shop.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "shop-pods",
  "plugins": [
    { "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$N/cni/ipam",
                "ranges": [[{ "subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP" }]],
                "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true }, "backend": "iptables" },
    { "type": "firewall", "backend": "iptables" }
  ]
}
JSON
  write_kubeconfig "$N/kubelet.kubeconfig" kubelet
  write_kubeconfig "$N/kube-proxy.kubeconfig" kube-proxy
  local taints=""
  [[ "$NODE_PLACEMENT" == simulated ]] && taints="registerWithTaints: [{ key: $REAL_TAINT_KEY, value: \"true\", effect: NoSchedule }]"
  cat >"$N/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $p/kubelet-serving.crt
tlsPrivateKeyFile: $p/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $p/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$CTRD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
# Only the cluster's DNS: an empty file would make containerd copy the machine's resolver into pods.
resolvConf: $N/resolv.conf
podLogsDir: $N/pod-logs
serializeImagePulls: false
maxPods: 110
evictionHard: { memory.available: 100Mi, nodefs.available: "2%", imagefs.available: "2%", nodefs.inodesFree: "2%" }
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
$taints
YAML
  cat >"$N/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $N/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the node's bridge address, never on the uplink's; not on 127.0.0.1 either (that
# would set route_localnet on every interface).
nodePortAddresses: ["$NODE_IP/32"]
iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: 30s, minSyncPeriod: 1s }
# Leave the host's conntrack sysctls alone.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
YAML
}

# third_party_ref NAME: the image reference scripts/images.sh recorded (by tag: its tag names its inputs).
third_party_ref() {
  local f="$SHOP_RUN/third-party-images.json" ref
  ref="$(sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" "$f" 2>/dev/null)"
  [[ -n "$ref" ]] || die "no image for $1 in $f: run scripts/images.sh third-party"
  echo "${ref%@*}"
}

node_start() {
  local b
  for b in "${NODE_BINS[@]}"; do [[ -x "$SHOP_BIN/$b" ]] || die "$b is not built: run scripts/toolchain.sh node"; done
  [[ -x "$SHOP_BIN/cni/bridge" ]] || die "the CNI plugins are not built: run scripts/toolchain.sh cni"
  node_certs
  node_write_config
  # Registry pulls go to 127.0.0.1:5000 only: any other registry meets a proxy that refuses, so no
  # name lookup or connection ever leaves the machine for an image.
  PATH="$NODE_PATH" HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
    spawn containerd /usr/bin/containerd --config "$N/containerd.toml"
  wait_for containerd 30 ctr --address "$CTRD_SOCK" version
  # The socket answers before the CRI service has recovered its state (longer the more the node's
  # cache holds); a kubelet started then fails "server is not initialized yet" and exits. The CRI
  # service logs this line just before it marks itself initialized (containerd 1.6 and 1.7).
  wait_for "containerd's CRI service" 60 grep -q 'msg="Start streaming server"' "$C/containerd.log"
  PATH="$NODE_PATH" spawn kubelet "$SHOP_BIN/kubelet" --config "$N/kubelet.yaml" --kubeconfig "$N/kubelet.kubeconfig" \
    --root-dir "$KUBELET_ROOT" --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" \
    --node-labels "$SIM_LABEL=false,topology.kubernetes.io/zone=local-0" --v=1
  PATH="$NODE_PATH" spawn kube-proxy "$SHOP_BIN/kube-proxy" --config "$N/kube-proxy.yaml" --v=1
}

# The Gateway API CRDs and the traefik GatewayClass the edge serves are installed before, once, by
# cluster.sh's gateway_api.
node_apply_addons() {
  addon_objects | kc apply -f - >/dev/null
  # The taint that matches the placement mode (a node re-registering keeps what was set before).
  if [[ "$NODE_PLACEMENT" == simulated ]]; then
    kc taint node "$NODE_NAME" "$REAL_TAINT_KEY=true:NoSchedule" --overwrite >/dev/null 2>&1 || true
  else
    kc taint node "$NODE_NAME" "$REAL_TAINT_KEY-" >/dev/null 2>&1 || true
  fi
}

# Pod placement of the cluster's own add-ons: the real node, whatever the placement mode.
addon_placement() {
  cat <<YAML
      nodeSelector: { $SIM_LABEL: "false" }
      tolerations: [{ key: $REAL_TAINT_KEY, operator: Exists, effect: NoSchedule }]
YAML
}

addon_security() {
  cat <<YAML
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities: { drop: [ALL] }
          seccompProfile: { type: RuntimeDefault }
YAML
}

addon_objects() {
  local coredns
  coredns="$(third_party_ref coredns)"
  cat <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
- { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
- { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "shop-local:node" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:node" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:node:$NODE_NAME" }]
---
# Cluster DNS: the cluster's names only. No forward: nothing may ask the machine's resolver, so any
# other name gets SERVFAIL.
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
        errors
        health {
            lameduck 2s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        prometheus :9153
        cache 30
        loop
        reload
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
$(addon_placement)
      containers:
      - name: coredns
        image: $coredns
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - { name: dns, containerPort: 53, protocol: UDP }
        - { name: dns-tcp, containerPort: 53, protocol: TCP }
        - { name: metrics, containerPort: 9153, protocol: TCP }
        resources: { requests: { cpu: 20m, memory: 32Mi }, limits: { memory: 128Mi } }
        readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
        livenessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: 10, failureThreshold: 5 }
$(addon_security)
        volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: $DNS_IP
  selector: { k8s-app: kube-dns }
  ports:
  - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
  - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
  - { name: metrics, port: 9153, protocol: TCP, targetPort: 9153 }
YAML
  metrics_server_objects
  [[ "$EDGE" == 1 ]] && edge_objects
  true
}

# metrics-server: serves metrics.k8s.io (CPU and memory of nodes and pods, read from each kubelet's
# /metrics/resource) through the API server's aggregation layer; the HPAs and `kubectl top` read it.
# Objects and RBAC as upstream's manifests (v0.8.0, manifests/base), least privilege. It scrapes the
# real node only (the simulated nodes have no kubelet) and verifies the kubelet's serving certificate
# with the cluster CA, which signed it (node_certs) and which every pod's service-account volume holds.
METRICS_SERVER_PORT=4443   # the container's HTTPS port (non-privileged; the kubelet has 10250)
metrics_server_objects() {
  local image; image="$(third_party_ref metrics-server)"
  cat <<YAML
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: metrics-server, namespace: kube-system, labels: { k8s-app: metrics-server } }
---
# Readers of the metrics API: aggregated into the view, edit and admin roles.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "system:aggregated-metrics-reader"
  labels:
    k8s-app: metrics-server
    rbac.authorization.k8s.io/aggregate-to-view: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
- { apiGroups: [metrics.k8s.io], resources: [pods, nodes], verbs: [get, list, watch] }
---
# What metrics-server itself reads: the kubelets' resource metrics, and the pods and nodes it reports on.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:metrics-server", labels: { k8s-app: metrics-server } }
rules:
- { apiGroups: [""], resources: [nodes/metrics], verbs: [get] }
- { apiGroups: [""], resources: [pods, nodes], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:metrics-server", labels: { k8s-app: metrics-server } }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:metrics-server" }
subjects: [{ kind: ServiceAccount, name: metrics-server, namespace: kube-system }]
---
# Delegated authentication and authorization of its callers (TokenReview, SubjectAccessReview) ...
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "metrics-server:system:auth-delegator", labels: { k8s-app: metrics-server } }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator" }
subjects: [{ kind: ServiceAccount, name: metrics-server, namespace: kube-system }]
---
# ... and the front proxy's CA and header names (kube-system/extension-apiserver-authentication).
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: metrics-server-auth-reader, namespace: kube-system, labels: { k8s-app: metrics-server } }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader }
subjects: [{ kind: ServiceAccount, name: metrics-server, namespace: kube-system }]
---
apiVersion: v1
kind: Service
metadata: { name: metrics-server, namespace: kube-system, labels: { k8s-app: metrics-server } }
spec:
  selector: { k8s-app: metrics-server }
  ports: [{ name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: metrics-server, namespace: kube-system, labels: { k8s-app: metrics-server } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: metrics-server } }
  strategy: { rollingUpdate: { maxUnavailable: 0 } }
  template:
    metadata: { labels: { k8s-app: metrics-server } }
    spec:
      serviceAccountName: metrics-server
      priorityClassName: system-cluster-critical
$(addon_placement)
      containers:
      - name: metrics-server
        image: $image
        args:
        - --cert-dir=/tmp
        - --secure-port=$METRICS_SERVER_PORT
        - --kubelet-preferred-address-types=InternalIP
        - --kubelet-use-node-status-port
        - --kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt
        - --node-selector=$SIM_LABEL=false
        - --metric-resolution=15s
        ports: [{ name: https, containerPort: $METRICS_SERVER_PORT, protocol: TCP }]
        resources: { requests: { cpu: 20m, memory: 48Mi }, limits: { memory: 192Mi } }
        readinessProbe: { httpGet: { path: /readyz, port: https, scheme: HTTPS }, periodSeconds: 5, failureThreshold: 3 }
        livenessProbe: { httpGet: { path: /livez, port: https, scheme: HTTPS }, periodSeconds: 10, failureThreshold: 3 }
$(addon_security)
        volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: { sizeLimit: 16Mi } }]
---
# The API server serves metrics.k8s.io by proxying to the Service's endpoints. metrics-server's serving
# certificate is self-signed (made in /tmp at start), hence insecureSkipTLSVerify, as upstream has it.
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: v1beta1.metrics.k8s.io, labels: { k8s-app: metrics-server } }
spec:
  service: { name: metrics-server, namespace: kube-system }
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
}

edge_objects() {
  local traefik; traefik="$(third_party_ref traefik)"
  cat <<YAML
---
apiVersion: v1
kind: Namespace
metadata: { name: traefik }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: traefik, namespace: traefik }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "shop-local:traefik-gateway" }
rules:
- { apiGroups: [""], resources: [namespaces], verbs: [list, watch] }
- { apiGroups: [""], resources: [services, secrets, configmaps], verbs: [get, list, watch] }
- { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses, gateways, httproutes, grpcroutes, tcproutes, tlsroutes, referencegrants, backendtlspolicies]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses/status, gateways/status, httproutes/status, grpcroutes/status, tcproutes/status, tlsroutes/status, referencegrants/status, backendtlspolicies/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "shop-local:traefik-gateway" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "shop-local:traefik-gateway" }
subjects: [{ kind: ServiceAccount, name: traefik, namespace: traefik }]
---
# The edge: Traefik serves the Gateway API routes on 127.0.0.1:80 and :443 (host ports bound to the
# loopback address only). A Gateway's listener port must be one of its entry points: 80 or 443.
apiVersion: apps/v1
kind: Deployment
metadata: { name: traefik, namespace: traefik, labels: { app.kubernetes.io/name: traefik } }
spec:
  replicas: 1
  strategy: { type: Recreate }
  selector: { matchLabels: { app.kubernetes.io/name: traefik } }
  template:
    metadata: { labels: { app.kubernetes.io/name: traefik } }
    spec:
      serviceAccountName: traefik
      priorityClassName: system-cluster-critical
$(addon_placement)
      containers:
      - name: traefik
        image: $traefik
        args:
        - --entryPoints.web.address=:80
        - --entryPoints.websecure.address=:443
        - --entryPoints.traefik.address=:8080
        - --providers.kubernetesgateway=true
        - --providers.kubernetesgateway.statusaddress.ip=127.0.0.1
        - --ping=true
        - --metrics.prometheus=true
        - --log.format=json
        - --accesslog=true
        - --accesslog.format=json
        - --global.checknewversion=false
        - --global.sendanonymoususage=false
        ports:
        - { name: web, containerPort: 80, hostPort: 80, hostIP: 127.0.0.1, protocol: TCP }
        - { name: websecure, containerPort: 443, hostPort: 443, hostIP: 127.0.0.1, protocol: TCP }
        - { name: traefik, containerPort: 8080, protocol: TCP }
        # The edge of every stack: CPU shares enough to keep answering while the node's 2 cores are
        # saturated (tests send hundreds of req/s during rollouts), memory for thousands of open
        # connections, and a liveness timeout that a starved but healthy process meets.
        resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { memory: 512Mi } }
        readinessProbe: { httpGet: { path: /ping, port: 8080 }, periodSeconds: 2 }
        livenessProbe: { httpGet: { path: /ping, port: 8080 }, periodSeconds: 10, failureThreshold: 5, timeoutSeconds: 5 }
$(addon_security)
        volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: { sizeLimit: 16Mi } }]
YAML
}

# node_wait_ready: the node's add-ons serving (start() has waited for the node itself and timed it).
node_wait_ready() {
  wait_for "CoreDNS" 120 kc -n kube-system rollout status deployment/coredns --timeout=1s
  wait_for "metrics-server" 120 kc -n kube-system rollout status deployment/metrics-server --timeout=1s
  wait_for "the metrics API (APIService v1beta1.metrics.k8s.io)" 60 kc wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=1s
  [[ "$EDGE" != 1 ]] || wait_for "Traefik" 120 kc -n traefik rollout status deployment/traefik --timeout=1s
}

# ---- stop: leaves no process, mount, netns, link, rule, cgroup or folder of the node behind ----
# stop_proc NAME: SIGTERM, then SIGKILL after 5 s, by PID file only.
stop_proc() {
  running "$1" || { rm -f "$C/$1.pid"; return 0; }
  local pid; pid="$(cat "$C/$1.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do running "$1" || break; sleep 0.1; done
  if running "$1"; then kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$C/$1.pid"
}

# node_stop_containers: every task of our containerd killed and deleted; the shims then exit.
node_stop_containers() {
  [[ -S "$CTRD_SOCK" ]] && running containerd || return 0
  local c="ctr --address $CTRD_SOCK --namespace k8s.io" id
  for id in $($c tasks ls -q 2>/dev/null); do $c tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for _ in $(seq 1 50); do
    [[ -z "$($c tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"')" ]] && break
    sleep 0.1
  done
  for id in $($c tasks ls -q 2>/dev/null); do $c tasks rm -f "$id" >/dev/null 2>&1 || true; done
  for id in $($c containers ls -q 2>/dev/null); do $c containers rm "$id" >/dev/null 2>&1 || true; done
}

# node_shims: PIDs of the runc shims that serve our containerd (named by its socket), if any are left.
node_shims() {
  local p
  for p in $(pgrep -x containerd-shim 2>/dev/null) $(pgrep -f '^/usr/bin/containerd-shim-runc-v2 ' 2>/dev/null); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-address $CTRD_SOCK " && echo "$p"
  done
}

# umount_under DIR: unmounts everything mounted at or below DIR, deepest first.
umount_under() {
  local m
  for m in $(awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# iptables_purge CMD: removes the chains the kubelet, kube-proxy and the CNI plugins leave behind
# (KUBE-*, CNI-*) and the jumps to them; other tools' rules are not touched.
iptables_purge() {
  local t rule chain
  for t in filter nat mangle; do
    "$1" -t "$t" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE-|CNI-)' | grep -vE '^-A (KUBE-|CNI-)' |
      while IFS= read -r rule; do eval "$1 -t $t ${rule/-A/-D}" 2>/dev/null || true; done || true
    for chain in $("$1" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      "$1" -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $("$1" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      "$1" -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
}

node_stop() {
  stop_proc kube-proxy
  stop_proc kubelet
  node_stop_containers
  stop_proc containerd
  local p
  for p in $(node_shims); do kill -9 "$p" 2>/dev/null || true; done
  # Mounts: pods' volumes and the kubelet's rshared bind mount of its root, the pods' network
  # namespaces (under containerd's state), overlay snapshots.
  umount_under "$KUBELET_ROOT"
  umount_under "$N/containerd/state"
  umount_under "$NODE_CACHE/containerd"
  # cgroups the kubelet made (kubepods, in every v1 hierarchy), deepest first, once their tasks are gone.
  local h
  for h in /sys/fs/cgroup/*/kubepods; do
    [[ -d "$h" ]] || continue
    find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  # Links: the pods' veths went with their namespaces; the bridge, its routes and route_localnet go here.
  ip link del "$BRIDGE" 2>/dev/null || true
  ip route del unreachable "$POD_CIDR" 2>/dev/null || true
  iptables -t nat -D OUTPUT -j SHOP-APISERVER 2>/dev/null || true
  iptables -t nat -F SHOP-APISERVER 2>/dev/null || true; iptables -t nat -X SHOP-APISERVER 2>/dev/null || true
  iptables_purge iptables
  iptables_purge ip6tables
  guard down
  # Host sysctls back to what they were; kube-proxy may set route_localnet.
  if [[ -f "$C/sysctl.saved" ]]; then
    local kv
    while IFS= read -r kv; do echo "${kv#*=}" >"/proc/sys/$(tr . / <<<"${kv%%=*}")" 2>/dev/null || true; done <"$C/sysctl.saved"
    rm -f "$C/sysctl.saved"
  fi
  echo 0 >/proc/sys/net/ipv4/conf/all/route_localnet 2>/dev/null || true
  # Folders: the node's own, and those the kubelet writes outside its root.
  # --one-file-system: a mount that could not be undone is never deleted through.
  rm -rf --one-file-system "${N:?}"
  umount_under /var/lib/kubelet
  rm -rf --one-file-system /var/lib/kubelet
  [[ -d /var/log/containers ]] && find /var/log/containers -maxdepth 1 -type l -delete && rmdir /var/log/containers 2>/dev/null || true
}
