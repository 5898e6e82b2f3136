/**
 * NetworkPolicies: the flows ({@link NetworkAllow}) a workload allows on top of default-deny, each
 * rendered as its own policy; DNS egress; the peers (other workloads, the API server, anywhere).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { podsOf } from "./labels";

/** `kubernetes.io/metadata.name` is set by the API server on every namespace (1.21+). */
export function namespaceSelector(namespace: pulumi.Input<string>): k8s.types.input.meta.v1.LabelSelector {
  return { matchLabels: { "kubernetes.io/metadata.name": namespace } };
}

/**
 * Where pods send DNS queries: cluster DNS pods (`namespace`, narrowed by `pods`), and/or addresses
 * (`cidrs`) for resolvers that are not pods of the cluster network, e.g. NodeLocal DNSCache on
 * 169.254.20.10 (host network).
 */
export interface DnsPeer {
  namespace?: string;
  pods?: Record<string, string>;
  cidrs?: readonly string[];
}

/** CoreDNS / kube-dns as kubeadm, EKS, GKE and AKS deploy it. */
export const DEFAULT_DNS_PEER: Readonly<DnsPeer> = Object.freeze({ namespace: "kube-system", pods: Object.freeze({ "k8s-app": "kube-dns" }) });

/** The NetworkPolicy egress rule that lets a pod resolve names through `dns`, on port 53 UDP and TCP. */
export function dnsEgressRule(dns: DnsPeer): k8s.types.input.networking.v1.NetworkPolicyEgressRule {
  const to: k8s.types.input.networking.v1.NetworkPolicyPeer[] = [];
  if (dns.namespace) to.push({ namespaceSelector: namespaceSelector(dns.namespace), ...(dns.pods && Object.keys(dns.pods).length ? { podSelector: { matchLabels: { ...dns.pods } } } : {}) });
  for (const cidr of dns.cidrs ?? []) to.push({ ipBlock: { cidr } });
  if (!to.length) throw new Error("dnsEgressRule: the DNS peer needs a namespace or at least one CIDR");
  return { to, ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
}

/** One allowed traffic flow, rendered as its own NetworkPolicy. */
export interface NetworkAllow {
  /** Short DNS-label name; the policy is called `<prefix>-<in|out>-<name>`. */
  name: string;
  /** The pods of this namespace the rule is about (`{}` = all pods). */
  pods: Record<string, string>;
  /**
   * The other side: pods of this namespace (`pods`), pods of another namespace (`namespace`, optionally
   * narrowed by `pods`), or addresses outside the cluster (`cidr`).
   */
  peer: { pods?: Record<string, string>; namespace?: pulumi.Input<string>; cidr?: string };
  /** TCP ports (on the receiving side) the flow may use; empty = every port. */
  ports: pulumi.Input<number>[];
}

/** The flows a workload (or a namespace) allows on top of default-deny. */
export interface NetworkAllows {
  ingress?: NetworkAllow[];
  egress?: NetworkAllow[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The problem with a flow, or undefined: exactly one peer kind, a DNS-label name. */
export function allowProblem(rule: NetworkAllow): string | undefined {
  const peers = [rule.peer.pods && !rule.peer.namespace, rule.peer.namespace, rule.peer.cidr].filter(Boolean).length;
  if (peers !== 1) return `network rule ${rule.name} needs exactly one peer kind (pods, namespace or cidr)`;
  if (!DNS_LABEL.test(rule.name)) return `network rule name ${JSON.stringify(rule.name)} must be a DNS label`;
  return undefined;
}

/** Where {@link allowPolicies} puts its policies and how it names them. */
export interface AllowPolicyTarget {
  /** Prefix of the logical names: `<resourcePrefix>-<in|out>-<rule>`. */
  resourcePrefix: string;
  /** Prefix of the object names: `<objectPrefix>-<in|out>-<rule>`. */
  objectPrefix: string;
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
}

/**
 * Renders each flow as its own NetworkPolicy (one policy type, one peer, its ports), so every
 * allowed path can be read, named and tested on its own. Throws naming the bad rule.
 */
export function allowPolicies(target: AllowPolicyTarget, allows: NetworkAllows, opts: pulumi.CustomResourceOptions): k8s.networking.v1.NetworkPolicy[] {
  const peer = (p: NetworkAllow["peer"]): k8s.types.input.networking.v1.NetworkPolicyPeer => {
    if (p.cidr) return { ipBlock: { cidr: p.cidr } };
    if (p.namespace) return { namespaceSelector: namespaceSelector(p.namespace), ...(p.pods ? { podSelector: { matchLabels: p.pods } } : {}) };
    return { podSelector: { matchLabels: p.pods } };
  };
  const ports = (r: NetworkAllow) => (r.ports.length ? { ports: r.ports.map((port) => ({ protocol: "TCP", port })) } : {});
  const render = (dir: "in" | "out", r: NetworkAllow) => {
    const problem = allowProblem(r);
    if (problem) throw new Error(problem);
    const spec: k8s.types.input.networking.v1.NetworkPolicySpec =
      dir === "in"
        ? { podSelector: { matchLabels: r.pods }, policyTypes: ["Ingress"], ingress: [{ from: [peer(r.peer)], ...ports(r) }] }
        : { podSelector: { matchLabels: r.pods }, policyTypes: ["Egress"], egress: [{ to: [peer(r.peer)], ...ports(r) }] };
    return new k8s.networking.v1.NetworkPolicy(
      `${target.resourcePrefix}-${dir}-${r.name}`,
      { metadata: { name: `${target.objectPrefix}-${dir}-${r.name}`, namespace: target.namespace, labels: target.labels }, spec },
      opts,
    );
  };
  return [...(allows.ingress ?? []).map((r) => render("in", r)), ...(allows.egress ?? []).map((r) => render("out", r))];
}

/** Addresses outside the cluster's pods (webhooks, external stores, the API server, kubelets). */
export const ANYWHERE = "0.0.0.0/0";
/**
 * The Kubernetes API server is not a pod and its address differs per cluster: a flow to it opens the usual
 * API ports to any address, nothing else. Pods reach it through the `kubernetes` Service (443), which
 * kube-proxy DNATs to the API server's own port before a policy sees the packet, so the policy must name
 * that port: 443 (managed clusters), 6443 (kubeadm and most control planes), 16443 (MicroK8s, and the
 * local cluster of scripts/cluster.sh).
 */
export const API_SERVER_PORTS = [443, 6443, 16443];

/** A workload another component's NetworkPolicies name: its `app.kubernetes.io/name` pods and its port. */
export interface Peer {
  app: string;
  port: number;
  pods: Record<string, string>;
}
/** The {@link Peer} of workload `app` serving `port`. */
export function peer(app: string, port: number): Peer {
  return { app, port, pods: podsOf(app) };
}
