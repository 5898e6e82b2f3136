#!/usr/bin/env bash
# Network guards of the local node: nothing of the pod network may leave through the machine's uplink,
# and nothing from the uplink may reach the pods, the Services or the node's listeners.
#   scripts/netguard.sh up | down | check
# `up` runs before the pod bridge exists and before any pod starts (scripts/cluster.sh start calls it
# first); `down` removes exactly what `up` added. Every rule lives in chains named SHOP-GUARD-*, hooked
# in at position 1 of the built-in chains, so rules that kube-proxy and the CNI plugins insert later
# (ahead of anything in FORWARD) cannot open a way around them:
#   mangle FORWARD      anything forwarded from or to the uplink is dropped (mangle runs before filter)
#   mangle POSTROUTING  anything leaving by the uplink from or to the pod or Service range is dropped
#                       (before nat's MASQUERADE could rewrite the source)
#   mangle PREROUTING   anything arriving on the uplink for the pod or Service range or for loopback
#                       addresses is dropped (before nat's DNAT)
#   filter INPUT        the uplink cannot reach the API server's and kubelet's ports; pods reach only
#                       those two (both authenticate every client) and answers to the node's connections
#   filter CNI-ADMIN    pre-created for the CNI firewall plugin (it jumps there before its per-pod
#                       ACCEPTs) with the same drops, then kube-proxy's rejects of Services without
#                       endpoints (which FORWARD would otherwise reach only after those ACCEPTs)
#   ip6tables           the pod bridge carries no IPv6 in either direction
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The cluster's ranges, bridge, node address and ports: the same file scripts/cluster.sh reads.
source "$REPO_ROOT/scripts/cluster-network.sh"
# The uplink: the interface of the default route (eth0 here). Guards name it explicitly.
UPLINK="${UPLINK:-$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')}"

# ensure_chain CMD TABLE CHAIN: an empty chain (created or flushed).
ensure_chain() { "$1" -t "$2" -N "$3" 2>/dev/null || "$1" -t "$2" -F "$3"; }
# hook CMD TABLE BUILTIN CHAIN: jump from BUILTIN to CHAIN at position 1, once.
hook() { "$1" -t "$2" -C "$3" -j "$4" 2>/dev/null || "$1" -t "$2" -I "$3" 1 -j "$4"; }
unhook() { while "$1" -t "$2" -D "$3" -j "$4" 2>/dev/null; do :; done; "$1" -t "$2" -F "$4" 2>/dev/null || true; "$1" -t "$2" -X "$4" 2>/dev/null || true; }

up() {
  [[ -n "$UPLINK" ]] || die "no default route: cannot tell which interface is the uplink (set UPLINK=<interface>)"
  local r
  ensure_chain iptables mangle SHOP-GUARD-FWD
  iptables -t mangle -A SHOP-GUARD-FWD -i "$UPLINK" -j DROP
  iptables -t mangle -A SHOP-GUARD-FWD -o "$UPLINK" -j DROP
  hook iptables mangle FORWARD SHOP-GUARD-FWD

  ensure_chain iptables mangle SHOP-GUARD-OUT
  for r in "$POD_CIDR" "$SERVICE_CIDR"; do
    iptables -t mangle -A SHOP-GUARD-OUT -o "$UPLINK" -s "$r" -j DROP
    iptables -t mangle -A SHOP-GUARD-OUT -o "$UPLINK" -d "$r" -j DROP
  done
  hook iptables mangle POSTROUTING SHOP-GUARD-OUT

  ensure_chain iptables mangle SHOP-GUARD-IN
  for r in "$POD_CIDR" "$SERVICE_CIDR" 127.0.0.0/8; do
    iptables -t mangle -A SHOP-GUARD-IN -i "$UPLINK" -d "$r" -j DROP
  done
  hook iptables mangle PREROUTING SHOP-GUARD-IN

  ensure_chain iptables filter SHOP-GUARD-INPUT
  iptables -A SHOP-GUARD-INPUT -i "$UPLINK" -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j DROP
  for r in "$POD_CIDR" "$SERVICE_CIDR"; do iptables -A SHOP-GUARD-INPUT -i "$UPLINK" -d "$r" -j DROP; done
  # From the pods: the API server (the `kubernetes` Service's endpoint), the kubelet (metrics), and
  # answers to the node's own connections (probes); nothing else listening on the node.
  iptables -A SHOP-GUARD-INPUT -i "$BRIDGE" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  iptables -A SHOP-GUARD-INPUT -i "$BRIDGE" -d "$NODE_IP" -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j ACCEPT
  iptables -A SHOP-GUARD-INPUT -i "$BRIDGE" -j DROP
  hook iptables filter INPUT SHOP-GUARD-INPUT

  # The CNI firewall plugin's admin chain, made before the plugin makes it empty.
  iptables -N CNI-ADMIN 2>/dev/null || true
  for r in "$POD_CIDR" "$SERVICE_CIDR"; do
    iptables -C CNI-ADMIN -o "$UPLINK" -s "$r" -j DROP 2>/dev/null || iptables -A CNI-ADMIN -o "$UPLINK" -s "$r" -j DROP
    iptables -C CNI-ADMIN -i "$UPLINK" -d "$r" -j DROP 2>/dev/null || iptables -A CNI-ADMIN -i "$UPLINK" -d "$r" -j DROP
  done

  # A connection to a Service without a ready endpoint must be refused at once: kube-proxy rejects it
  # in its filter chain KUBE-SERVICES, but that comes after the firewall plugin's per-pod ACCEPTs in
  # FORWARD, so from a pod the packet went on to nowhere and the client waited for its connect timeout
  # (e.g. the gateway for 2 s per request while the product service was unready). The plugin jumps to
  # CNI-ADMIN before its ACCEPTs; kube-proxy fills the chain made here.
  iptables -N KUBE-SERVICES 2>/dev/null || true
  iptables -C CNI-ADMIN -m conntrack --ctstate NEW -j KUBE-SERVICES 2>/dev/null || iptables -A CNI-ADMIN -m conntrack --ctstate NEW -j KUBE-SERVICES

  ensure_chain ip6tables mangle SHOP-GUARD-FWD
  ip6tables -t mangle -A SHOP-GUARD-FWD -i "$BRIDGE" -j DROP
  ip6tables -t mangle -A SHOP-GUARD-FWD -o "$BRIDGE" -j DROP
  ip6tables -t mangle -A SHOP-GUARD-FWD -i "$UPLINK" -j DROP
  hook ip6tables mangle FORWARD SHOP-GUARD-FWD
  ensure_chain ip6tables filter SHOP-GUARD-INPUT
  ip6tables -A SHOP-GUARD-INPUT -i "$BRIDGE" -j DROP
  hook ip6tables filter INPUT SHOP-GUARD-INPUT
}

down() {
  unhook iptables mangle FORWARD SHOP-GUARD-FWD
  unhook iptables mangle POSTROUTING SHOP-GUARD-OUT
  unhook iptables mangle PREROUTING SHOP-GUARD-IN
  unhook iptables filter INPUT SHOP-GUARD-INPUT
  unhook ip6tables mangle FORWARD SHOP-GUARD-FWD
  unhook ip6tables filter INPUT SHOP-GUARD-INPUT
  # CNI-ADMIN goes with the CNI plugins' other chains (scripts/cluster.sh stop).
}

# check: every guard is hooked in first; exits 1 naming what is missing.
check() {
  local bad=() c
  # Only these scripts use the mangle hooks: their guards must come first there.
  for c in "mangle FORWARD SHOP-GUARD-FWD" "mangle POSTROUTING SHOP-GUARD-OUT" "mangle PREROUTING SHOP-GUARD-IN"; do
    set -- $c
    [[ "$(iptables -t "$1" -S "$2" | sed -n 2p)" == "-A $2 -j $3" ]] || bad+=("iptables $1 $2 -> $3 (first)")
  done
  iptables -C INPUT -j SHOP-GUARD-INPUT 2>/dev/null || bad+=("iptables filter INPUT -> SHOP-GUARD-INPUT")
  for c in "mangle FORWARD SHOP-GUARD-FWD" "filter INPUT SHOP-GUARD-INPUT"; do
    set -- $c
    ip6tables -t "$1" -C "$2" -j "$3" 2>/dev/null || bad+=("ip6tables $1 $2 -> $3")
  done
  iptables -C CNI-ADMIN -o "$UPLINK" -s "$POD_CIDR" -j DROP 2>/dev/null || bad+=("CNI-ADMIN drops")
  ((${#bad[@]} == 0)) || { echo "network guards missing or not first: ${bad[*]}" >&2; return 1; }
  echo "network guards in place (uplink $UPLINK)"
}

[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0
case "${1:-check}" in
  up) up ;;
  down) down ;;
  check) check ;;
  *) die "unknown command '$1' (use up|down|check)" ;;
esac
