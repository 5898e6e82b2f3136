/**
 * Small, typed building blocks shared by the Monitoring and Logging components:
 * labels, hardened security contexts, NetworkPolicy peers and Kubernetes
 * quantity parsing. Plain data, no resources: easy to test and to reuse.
 */
import * as crypto from "crypto";
import type * as k8s from "@pulumi/kubernetes";

type Container = k8s.types.input.core.v1.Container;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type PolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type PolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Value of `app.kubernetes.io/part-of` on every object of both stacks. */
export const PART_OF = "shop-observability";

/** Label keys the NetworkPolicies select on. */
export const NAME_LABEL = "app.kubernetes.io/name";
export const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** The selector labels of one workload: which app, which component instance. */
export function selectorLabels(app: string, instance: string): Record<string, string> {
  return { [NAME_LABEL]: app, [INSTANCE_LABEL]: instance };
}

/** Selector labels plus the descriptive ones (`part-of`, `managed-by`). */
export function objectLabels(app: string, instance: string): Record<string, string> {
  return { ...selectorLabels(app, instance), "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi" };
}

/** Pod-level security context: non-root `uid`, files group-owned by `uid`, RuntimeDefault seccomp. */
export function podSecurity(uid: number): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level security context: no privilege escalation, no capabilities, read-only root fs. */
export const hardened: SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/** Resource requests and limits (limit memory = request memory: the pod is never OOM-killed by neighbours). */
export function resources(cpu: string, memory: string, cpuLimit: string): Container["resources"] {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory } };
}

/** A peer: the pods of `app` in the policy's own namespace. */
export function podPeer(app: string, instance?: string): PolicyPeer {
  return { podSelector: { matchLabels: instance ? selectorLabels(app, instance) : { [NAME_LABEL]: app } } };
}

/** A peer: pods with these labels in the namespace named `namespace` (any pod when `labels` is omitted). */
export function namespacePeer(namespace: string, labels?: Record<string, string>): PolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    ...(labels ? { podSelector: { matchLabels: labels } } : {}),
  };
}

/** TCP ports for a NetworkPolicy rule. */
export function tcp(...ports: number[]): PolicyPort[] {
  return ports.map((port) => ({ protocol: "TCP", port }));
}

/** Egress to the cluster DNS (kube-dns / CoreDNS in kube-system) on port 53. */
export const dnsEgress: EgressRule = {
  to: [namespacePeer("kube-system", { "k8s-app": "kube-dns" })],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

/**
 * Egress to the Kubernetes API server. Its address is not a pod and differs per
 * cluster, so the rule opens the two usual API ports (443 behind the service
 * DNAT, 6443 on most control planes) and nothing else.
 */
export const apiServerEgress: EgressRule = {
  to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
  ports: tcp(443, 6443),
};

const BINARY_UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * Parses a Kubernetes memory quantity (`512Mi`, `2Gi`, `1G`, `1073741824`) into
 * bytes. Throws an Error naming `field` and the accepted forms when malformed.
 */
export function memoryBytes(quantity: string, field: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!m) {
    throw new Error(`${field}: "${quantity}" is not a memory quantity; use e.g. "2Gi", "1536Mi" or "2G"`);
  }
  const unit = m[2] ?? "";
  const factor = BINARY_UNITS[unit] ?? DECIMAL_UNITS[unit];
  return Math.round(Number(m[1]) * factor);
}

/** Parses a Prometheus duration (`15d`, `12h`, `2w`, `1y`); throws naming `field` when malformed. */
export function checkPromDuration(value: string, field: string): string {
  if (!/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(value)) {
    throw new Error(`${field}: "${value}" is not a Prometheus duration; use e.g. "15d", "12h" or "2w"`);
  }
  return value;
}

/** Short content hash, used as a pod annotation so a config change rolls the pods. */
export function checksum(...parts: string[]): string {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * A password derived from a parent secret and a purpose, so one given or
 * generated secret can seed several independent service credentials without a
 * further `random` resource. HMAC-SHA256, base64url, 32 characters.
 */
export function derivePassword(parent: string, purpose: string): string {
  return crypto.createHmac("sha256", parent).update(`shop-observability/${purpose}`).digest("base64url").slice(0, 32);
}
