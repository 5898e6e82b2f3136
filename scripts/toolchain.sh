#!/usr/bin/env bash
# Builds the offline toolchain from Go modules into $SHOP_CACHE/bin, once:
#   pulumi CLI, the Node.js language host, the Kubernetes resource provider,
#   etcd, kube-apiserver/-controller-manager/-scheduler, kubectl and kwok;
#   for the real node: kubelet, kube-proxy, the CNI plugins, CoreDNS; for the edge and monitoring:
#   Traefik, Prometheus, kube-state-metrics, metrics-server and the NetworkPolicy analyzer cyclonus
#   (`node`, not in `all` while the real node is opt-in); and the launcher of the Node.js dynamic provider host (ConfigGuard resources).
# Each part is skipped when its versioned stamp exists. Usage:
#   scripts/toolchain.sh [all|pulumi|langhost|k8s-provider|etcd|kube|kubectl|kwok|node|kubelet|kube-proxy|
#                         cni|coredns|traefik|prometheus|kube-state-metrics|metrics-server|cyclonus|
#                         dynamic-provider]...
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PULUMI_VERSION=v3.274.1
LANGHOST_SDK_VERSION=v3.68.0
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
K8S_PROVIDER_PLUGIN_VERSION=4.24.1
K8S_PROVIDER_SDK_VERSION=v4.24.0
ETCD_VERSION=v3.6.5
KUBE_VERSION=v1.35.4
KWOK_VERSION=v0.8.0
CNI_PLUGINS_VERSION=v1.10.0
COREDNS_VERSION=v1.15.0
TRAEFIK_VERSION=v3.6.12
PROMETHEUS_MODULE_VERSION=v0.55.1   # the Go module version of Prometheus release 2.55.1
PROMETHEUS_VERSION=2.55.1
KSM_VERSION=v2.18.0                 # client-go v0.34: the newest the Go proxy serves (v2.17.0 is not served)
CYCLONUS_VERSION=v0.5.6             # NetworkPolicy analyzer: test/e2e/checks/network-policy.ts
METRICS_SERVER_VERSION=v0.8.0       # resource metrics API (metrics.k8s.io) for HPAs and `kubectl top`

WORK="$SHOP_CACHE/build"
mkdir -p "$WORK"
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0

stamp() { echo "$SHOP_BIN/.$1-$2"; }
done_already() { [[ -f "$(stamp "$1" "$2")" ]]; }
# mark NAME VERSION: records that NAME is built, with the seconds its cold build took (bench/ reads it).
mark() { echo "$((SECONDS - ${BUILD_T0:-0}))" >"$(stamp "$1" "$2")"; }
begin() { BUILD_T0=$SECONDS; log "$@"; }

# wrapper DIR MODULE_LINES... : writes a throwaway module that requires the given deps.
wrapper() {
  local dir="$1"; shift
  rm -rf "$dir"; mkdir -p "$dir"
  printf 'module shopplatform/toolchain\n\ngo 1.25\n' > "$dir/go.mod"
  printf '%s\n' "$@" >> "$dir/go.mod"
}

build_pulumi() {
  done_already pulumi "$PULUMI_VERSION" && return 0
  begin "building pulumi CLI $PULUMI_VERSION (about 10 min cold)"
  local d="$WORK/pulumi"
  wrapper "$d" \
    "require (" \
    "  github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION" \
    "  github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION" \
    ")" \
    "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$SHOP_BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mark pulumi "$PULUMI_VERSION"
}

build_langhost() {
  done_already langhost "$LANGHOST_SDK_VERSION" && return 0
  begin "building pulumi-language-nodejs from sdk $LANGHOST_SDK_VERSION"
  local d="$WORK/langhost"
  wrapper "$d" "require github.com/pulumi/pulumi/sdk/v3 $LANGHOST_SDK_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_SDK_VERSION" \
      -o "$SHOP_BIN/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
  # Policy packs: this language host cannot start a pack folder (it answers "not supported"); the pack
  # is started through policy/analyzer.sh instead (docs/delivery.md).
  mark langhost "$LANGHOST_SDK_VERSION"
}

build_k8s_provider() {
  done_already k8s-provider "$K8S_PROVIDER_PLUGIN_VERSION" && return 0
  begin "building pulumi-resource-kubernetes $K8S_PROVIDER_PLUGIN_VERSION (about 7 min cold)"
  local d="$WORK/k8s-provider" mod="github.com/pulumi/pulumi-kubernetes/provider/v4"
  (cd /tmp && go mod download "$mod@$K8S_PROVIDER_MODULE_VERSION")
  local src; src="$(go env GOMODCACHE)/$mod@$K8S_PROVIDER_MODULE_VERSION"
  rm -rf "$d"; cp -r "$src" "$d"; chmod -R u+w "$d"
  (
    cd "$d"
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
      -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_PROVIDER_SDK_VERSION"
    go mod tidy
    # The module zip lacks the embedded schema files; its own generator derives them.
    (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PROVIDER_PLUGIN_VERSION" go run generate.go)
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_PLUGIN_VERSION" \
      -o "$SHOP_BIN/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  )
  mark k8s-provider "$K8S_PROVIDER_PLUGIN_VERSION"
}

build_etcd() {
  done_already etcd "$ETCD_VERSION" && return 0
  begin "building etcd $ETCD_VERSION"
  local d="$WORK/etcd"
  # etcd's own go.mod replaces its sibling modules with ../ paths; pin them to the same tag instead.
  wrapper "$d" \
    "require (" \
    "  go.etcd.io/etcd/server/v3 $ETCD_VERSION" \
    "  go.etcd.io/etcd/api/v3 $ETCD_VERSION" \
    "  go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION" \
    "  go.etcd.io/etcd/client/v3 $ETCD_VERSION" \
    "  go.etcd.io/etcd/pkg/v3 $ETCD_VERSION" \
    ")"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$SHOP_BIN/etcd" go.etcd.io/etcd/server/v3)
  mark etcd "$ETCD_VERSION"
}

KUBE_STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
  csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
  pod-security-admission sample-apiserver sample-cli-plugin sample-controller)

build_kube() {
  done_already kube "$KUBE_VERSION" && return 0
  begin "building kube-apiserver, kube-controller-manager, kube-scheduler $KUBE_VERSION (6-11 min cold)"
  local d="$WORK/kube" staging_version="v0${KUBE_VERSION#v1}" lines=() m
  # k8s.io/kubernetes replaces its staging modules with ./staging paths; point each at its published tag.
  lines+=("require k8s.io/kubernetes $KUBE_VERSION" "replace (")
  for m in "${KUBE_STAGING[@]}"; do lines+=("  k8s.io/$m => k8s.io/$m $staging_version"); done
  lines+=(")")
  wrapper "$d" "${lines[@]}"
  printf '//go:build tools\n\npackage tools\n\nimport (\n' > "$d/tools.go"
  for m in kube-apiserver kube-controller-manager kube-scheduler; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$m" >> "$d/tools.go"
  done
  printf ')\n' >> "$d/tools.go"
  local ver_pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $ver_pkg.gitVersion=$KUBE_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")"
  (cd "$d" && go mod tidy && for m in kube-apiserver kube-controller-manager kube-scheduler; do
     go build -trimpath -ldflags "$ldflags" -o "$SHOP_BIN/$m" "k8s.io/kubernetes/cmd/$m"; done)
  mark kube "$KUBE_VERSION"
}

build_kubectl() {
  done_already kubectl "$KUBE_VERSION" && return 0
  build_kube
  begin "building kubectl $KUBE_VERSION (the client that matches the API server)"
  local d="$WORK/kube" ver_pkg=k8s.io/component-base/version
  [[ -f "$d/go.mod" ]] || { rm -f "$(stamp kube "$KUBE_VERSION")"; build_kube; }
  grep -q 'cmd/kubectl"' "$d/tools.go" || sed -i 's|^)$|\t_ "k8s.io/kubernetes/cmd/kubectl"\n)|' "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath \
     -ldflags "-s -w -X $ver_pkg.gitVersion=$KUBE_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")" \
     -o "$SHOP_BIN/kubectl" k8s.io/kubernetes/cmd/kubectl)
  mark kubectl "$KUBE_VERSION"
}

build_kwok() {
  done_already kwok "$KWOK_VERSION" && return 0
  begin "building kwok $KWOK_VERSION"
  GOBIN="$SHOP_BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # Stage definitions (fake pod/node lifecycles) ship in the module; keep a copy beside the binary.
  local src; src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  rm -rf "$SHOP_CACHE/kwok-stages"; cp -r "$src" "$SHOP_CACHE/kwok-stages"; chmod -R u+w "$SHOP_CACHE/kwok-stages"
  mark kwok "$KWOK_VERSION"
}

# The engine runs `pulumi.dynamic.Resource`s in the bundled plugin pulumi-resource-pulumi-nodejs, which
# it looks for next to the pulumi binary. Pulumi's release archives ship it as a small script; a CLI
# built from source has none, so write one: it starts the dynamic provider host of the @pulumi/pulumi
# the program itself uses, resolved by Node from the folder the engine starts plugins in (the project).
write_dynamic_provider() {
  local f="$SHOP_BIN/pulumi-resource-pulumi-nodejs"
  cat >"$f.tmp" <<'SH'
#!/bin/sh
# Generated by scripts/toolchain.sh: the Node.js dynamic provider host of the project's @pulumi/pulumi.
host=$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider"))') || {
  echo "pulumi-resource-pulumi-nodejs: @pulumi/pulumi is not installed above $PWD (run npm ci in the project)" >&2
  exit 1
}
exec node "$host" "$@"
SH
  chmod 0755 "$f.tmp"
  mv "$f.tmp" "$f"
}

# kube_ldflags: stamps the version into a Kubernetes binary (without it the kubelet reports v0.0.0-master).
kube_ldflags() {
  local ver_pkg=k8s.io/component-base/version
  echo "-s -w -X $ver_pkg.gitVersion=$KUBE_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")"
}

# build_kube_cmd NAME: one more command of k8s.io/kubernetes (kubelet, kube-proxy), built in the same
# wrapper module as the control plane, so every Kubernetes binary comes from one set of versions.
build_kube_cmd() {
  local n="$1" d="$WORK/kube"
  done_already "$n" "$KUBE_VERSION" && return 0
  build_kube
  begin "building $n $KUBE_VERSION (same wrapper module as the control plane)"
  [[ -f "$d/go.mod" ]] || { rm -f "$(stamp kube "$KUBE_VERSION")"; build_kube; }
  grep -q "cmd/$n\"" "$d/tools.go" || sed -i "s|^)\$|\t_ \"k8s.io/kubernetes/cmd/$n\"\n)|" "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "$(kube_ldflags)" -o "$SHOP_BIN/$n" "k8s.io/kubernetes/cmd/$n")
  mark "$n" "$KUBE_VERSION"
}

# CNI plugins the node's pod network uses, into $SHOP_BIN/cni (containerd's bin_dir).
CNI_PLUGINS=(main/bridge main/loopback ipam/host-local meta/portmap meta/firewall)
build_cni() {
  done_already cni "$CNI_PLUGINS_VERSION" && return 0
  begin "building CNI plugins $CNI_PLUGINS_VERSION: ${CNI_PLUGINS[*]##*/}"
  mkdir -p "$SHOP_BIN/cni"
  local p
  for p in "${CNI_PLUGINS[@]}"; do
    GOBIN="$SHOP_BIN/cni" go install -trimpath \
      -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
      "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
  done
  mark cni "$CNI_PLUGINS_VERSION"
}

# CoreDNS: its go.mod has no replace directives, so a plain `go install` builds it.
build_coredns() {
  done_already coredns "$COREDNS_VERSION" && return 0
  begin "building CoreDNS $COREDNS_VERSION (about 3.5 min cold)"
  GOBIN="$SHOP_BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  mark coredns "$COREDNS_VERSION"
}

# Traefik, the Gateway API implementation of the local edge. Its go.mod replaces three modules and
# excludes one version: `go install` refuses that, so a wrapper module copies them.
build_traefik() {
  done_already traefik "$TRAEFIK_VERSION" && return 0
  begin "building Traefik $TRAEFIK_VERSION (4.5-5 min cold)"
  local d="$WORK/traefik"
  wrapper "$d" \
    "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION" \
    "replace (" \
    "  github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e" \
    "  github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59" \
    "  github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595" \
    ")" \
    "exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/traefik/traefik/v3/cmd/traefik"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath \
     -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
     -o "$SHOP_BIN/traefik" github.com/traefik/traefik/v3/cmd/traefik)
  mark traefik "$TRAEFIK_VERSION"
}

# Prometheus 2.55.1 (module v0.55.1): Debian's 2.42 lacks Kubernetes service discovery. Its go.mod
# replaces klog with a go-kit shim and excludes three versions: a wrapper module copies them.
# The module carries no built web UI (only its sources): the API and /metrics work, the UI pages do not.
build_prometheus() {
  done_already prometheus "$PROMETHEUS_VERSION" && return 0
  begin "building Prometheus $PROMETHEUS_VERSION (module $PROMETHEUS_MODULE_VERSION)"
  local d="$WORK/prometheus" v=github.com/prometheus/common/version
  wrapper "$d" \
    "require github.com/prometheus/prometheus $PROMETHEUS_MODULE_VERSION" \
    "replace (" \
    "  k8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0" \
    "  k8s.io/klog/v2 => github.com/simonpasquier/klog-gokit/v3 v3.5.0" \
    ")" \
    "exclude (" \
    "  github.com/linode/linodego v1.0.0" \
    "  github.com/grpc-ecosystem/grpc-gateway v1.14.7" \
    "  google.golang.org/api v0.30.0" \
    ")"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/prometheus"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -tags netgo,stringlabels \
     -ldflags "-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Branch=release -X $v.Revision=$PROMETHEUS_MODULE_VERSION" \
     -o "$SHOP_BIN/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
  mark prometheus "$PROMETHEUS_VERSION"
}

# kube-state-metrics: `go install k8s.io/kube-state-metrics/v2@v2.18.0` fails here (it reads the module's
# version list for deprecations, and the proxy answers 403 for it), so a wrapper module requires it.
build_ksm() {
  done_already kube-state-metrics "$KSM_VERSION" && return 0
  begin "building kube-state-metrics $KSM_VERSION"
  local d="$WORK/kube-state-metrics" v=github.com/prometheus/common/version
  wrapper "$d" "require k8s.io/kube-state-metrics/v2 $KSM_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kube-state-metrics/v2"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w -X $v.Version=$KSM_VERSION -X $v.Branch=release" \
     -o "$SHOP_BIN/kube-state-metrics" k8s.io/kube-state-metrics/v2)
  mark kube-state-metrics "$KSM_VERSION"
}

# cyclonus, the NetworkPolicy analyzer: no enforcing policy agent runs on the local node's kernel, so the
# e2e suite proves the deployed policies by analysis (`cyclonus analyze --mode query-traffic`). Its
# go.mod has no replace directives and the proxy serves its version list, so a plain `go install` builds it.
build_cyclonus() {
  done_already cyclonus "$CYCLONUS_VERSION" && return 0
  begin "building cyclonus $CYCLONUS_VERSION"
  GOBIN="$SHOP_BIN" go install -trimpath -ldflags "-s -w" "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION"
  mark cyclonus "$CYCLONUS_VERSION"
}

# metrics-server: the resource metrics API the HPAs read (metrics.k8s.io, served through the aggregation
# layer). Its go.mod has no replace directives, but a wrapper module requires it, as for kube-state-metrics,
# so no `go install ...@version` depends on the proxy answering the module's version list.
build_metrics_server() {
  done_already metrics-server "$METRICS_SERVER_VERSION" && return 0
  begin "building metrics-server $METRICS_SERVER_VERSION"
  local d="$WORK/metrics-server" v=k8s.io/client-go/pkg/version
  wrapper "$d" "require sigs.k8s.io/metrics-server $METRICS_SERVER_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/metrics-server/cmd/metrics-server"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w -X $v.gitVersion=$METRICS_SERVER_VERSION" \
     -o "$SHOP_BIN/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server)
  mark metrics-server "$METRICS_SERVER_VERSION"
}

# Everything the real node and its in-cluster add-ons need, beside the control plane, and the analyzer
# that proves its NetworkPolicies.
build_node() { build_cni; build_coredns; build_traefik; build_prometheus; build_ksm
  build_metrics_server; build_kube_cmd kubelet; build_kube_cmd kube-proxy; build_cyclonus; }

install_k8s_plugin() {
  [[ -x "$SHOP_BIN/pulumi" && -x "$SHOP_BIN/pulumi-resource-kubernetes" ]] || return 0
  if ! pulumi plugin ls 2>/dev/null | grep -q "kubernetes.*$K8S_PROVIDER_PLUGIN_VERSION"; then
    pulumi plugin install resource kubernetes "$K8S_PROVIDER_PLUGIN_VERSION" --file "$SHOP_BIN/pulumi-resource-kubernetes" >/dev/null
  fi
}

main() {
  local what=("$@"); [[ ${#what[@]} -eq 0 ]] && what=(all)
  for w in "${what[@]}"; do
    case "$w" in
      all) build_pulumi; build_langhost; build_k8s_provider; build_etcd; build_kube; build_kubectl; build_kwok; write_dynamic_provider ;;
      pulumi) build_pulumi ;;
      langhost) build_langhost ;;
      k8s-provider) build_k8s_provider ;;
      etcd) build_etcd ;;
      kube) build_kube ;;
      kubectl) build_kubectl ;;
      kwok) build_kwok ;;
      dynamic-provider) write_dynamic_provider ;;
      node) build_node ;;
      kubelet|kube-proxy) build_kube_cmd "$w" ;;
      cni) build_cni ;;
      coredns) build_coredns ;;
      traefik) build_traefik ;;
      prometheus) build_prometheus ;;
      kube-state-metrics) build_ksm ;;
      cyclonus) build_cyclonus ;;
      metrics-server) build_metrics_server ;;
      *) die "unknown toolchain part '$w' (use all|pulumi|langhost|k8s-provider|etcd|kube|kubectl|kwok|node|kubelet|kube-proxy|cni|coredns|traefik|prometheus|kube-state-metrics|metrics-server|cyclonus|dynamic-provider)" ;;
    esac
  done
  install_k8s_plugin
}
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
