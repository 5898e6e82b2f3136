# shellcheck shell=bash disable=SC2034  # variables for the scripts that source it
# The local cluster's network, in one place: the ranges, the node's address and bridge, and the two
# ports the network guards leave open. Sourced by scripts/cluster.sh (scripts/node.sh uses them too)
# and scripts/netguard.sh, so the guards always match the cluster (also `netguard.sh check` run alone).
# Only the API server's port follows the environment (bench/local-stack.sh's throwaway second cluster).
APISERVER_PORT="${APISERVER_PORT:-16443}"
KUBELET_PORT=10250
SERVICE_CIDR=10.96.0.0/16   # ClusterIPs; kube-proxy and the network guards use the same range
POD_CIDR=10.244.0.0/16      # the cluster's pod range (guards, kube-proxy's clusterCIDR)
BRIDGE=cni0                 # the pod bridge of the real node
NODE_IP=10.244.0.1          # the node's address on it
