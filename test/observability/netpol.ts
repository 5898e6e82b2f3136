/**
 * Evaluates the NetworkPolicies the program recorded the way a policy-enforcing CNI does, so tests can
 * assert which flows are effectively open (every policy of both ends counted, namespace-wide ones
 * included) instead of reading one policy in isolation.
 *
 * Model: a pod is isolated for a direction once any policy selecting it lists that direction; it then
 * accepts a flow only if some rule of such a policy matches the peer and the port. `ipBlock` peers are
 * taken to match every address, pods included (CNIs differ; this is the conservative reading).
 */
import * as h from "../unit/harness";
import { plain } from "./helpers";

/** A pod (by its workload's template) or a party outside the cluster's pods. */
export interface Party {
  /** Readable id: the pod's `app.kubernetes.io/name`, or e.g. "edge", "internet". */
  id: string;
  /** Namespace of a pod; undefined outside the cluster's pods. */
  namespace?: string;
  labels: Record<string, string>;
  /** The ports its containers listen on. */
  ports: number[];
}

interface Policy {
  namespace: string;
  podSelector: any;
  policyTypes: string[];
  ingress: any[];
  egress: any[];
}

/** Every NetworkPolicy recorded since the last reset. */
export function recordedPolicies(): Policy[] {
  return h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => {
    const p = plain(r.inputs);
    return { namespace: p.metadata.namespace, podSelector: p.spec.podSelector, policyTypes: p.spec.policyTypes, ingress: p.spec.ingress ?? [], egress: p.spec.egress ?? [] };
  });
}

/** Every pod template recorded since the last reset (Deployments, StatefulSets, DaemonSets, Jobs), one per name. */
export function recordedPods(): Party[] {
  const kinds = ["apps/v1:Deployment", "apps/v1:StatefulSet", "apps/v1:DaemonSet", "batch/v1:Job"].map((k) => `kubernetes:${k}`);
  const out = new Map<string, Party>();
  for (const r of h.recorded.filter((x) => kinds.includes(x.type))) {
    const w = plain(r.inputs);
    const labels = w.spec.template.metadata.labels;
    const id = labels["app.kubernetes.io/name"] ?? r.name;
    const ports = w.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort));
    out.set(`${w.metadata.namespace}/${id}`, { id, namespace: w.metadata.namespace, labels, ports });
  }
  return [...out.values()];
}

function selects(selector: any, labels: Record<string, string>): boolean {
  if (selector?.matchExpressions?.length) throw new Error("matchExpressions are not modelled");
  return Object.entries<string>(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: any, policyNamespace: string, other: Party): boolean {
  if (peer.ipBlock) return true;
  if (other.namespace === undefined) return false;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": other.namespace })) return false;
    return peer.podSelector ? selects(peer.podSelector, other.labels) : true;
  }
  return other.namespace === policyNamespace && selects(peer.podSelector, other.labels);
}

function portMatches(ports: any[] | undefined, port: number): boolean {
  return !ports?.length || ports.some((p) => (p.protocol ?? "TCP") === "TCP" && (p.port === undefined || p.port === port));
}

function admits(policies: Policy[], self: Party, other: Party, port: number, dir: "Ingress" | "Egress"): boolean {
  if (self.namespace === undefined) return true;
  const mine = policies.filter((p) => p.namespace === self.namespace && p.policyTypes.includes(dir) && selects(p.podSelector, self.labels));
  if (mine.length === 0) return true;
  const key = dir === "Ingress" ? "from" : "to";
  return mine.some((p) =>
    (dir === "Ingress" ? p.ingress : p.egress).some(
      (rule) => (!rule[key] || rule[key].length === 0 || rule[key].some((peer: any) => peerMatches(peer, p.namespace, other))) && portMatches(rule.ports, port),
    ),
  );
}

/** True when `from` may open a TCP connection to `to` on `port`. */
export function allowed(policies: Policy[], from: Party, to: Party, port: number): boolean {
  return admits(policies, from, to, port, "Egress") && admits(policies, to, from, port, "Ingress");
}

/** Every open flow from `sources` to the listening ports of `targets`, as "<from> -> <to>:<port>", sorted. */
export function openFlows(policies: Policy[], sources: Party[], targets: Party[]): string[] {
  const out = new Set<string>();
  for (const from of sources) for (const to of targets) for (const port of to.ports) if (allowed(policies, from, to, port)) out.add(`${from.id} -> ${to.id}:${port}`);
  return [...out].sort();
}
