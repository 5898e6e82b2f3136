/**
 * Kubernetes defaults shared by the shop's components: labels, the restricted security
 * context, the service port and a stable checksum for roll-on-change annotations.
 */
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";

/** Every shop service listens here and serves /healthz, /readyz and /metrics on it. */
export const HTTP_PORT = 8080;
export const PART_OF = "shop";
export const MANAGED_BY = "pulumi";

/** Recommended labels; `name` is what the workload is (a binary or a store), `instance` which one. */
export function appLabels(name: string, instance: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": instance,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/** The labels a workload's selector uses: immutable, so only the identity ones. */
export function selectorLabels(instance: string): Record<string, string> {
  return { "app.kubernetes.io/instance": instance, "app.kubernetes.io/part-of": PART_OF };
}

/**
 * Pod-level security for the Pod Security Admission `restricted` profile: runs as `uid:gid`; with
 * `fsGroup` the kubelet makes volumes group-owned (and group-writable) by that group.
 */
export function podSecurityContext(uid: number, fsGroup?: number, gid = uid): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    ...(fsGroup !== undefined ? { fsGroup, fsGroupChangePolicy: "OnRootMismatch" } : {}),
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level security for the `restricted` profile. */
export function containerSecurityContext(readOnlyRootFilesystem = true): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** JSON with sorted keys, so equal content always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** sha256 of the canonical JSON of `v` (for checksum annotations; never feed it secret values). */
export function checksum(v: unknown): string {
  return crypto.createHash("sha256").update(canonical(v)).digest("hex");
}

/** `kubernetes.io/metadata.name` is set by the API server on every namespace (1.21+). */
export function namespaceSelector(namespace: string): k8s.types.input.meta.v1.LabelSelector {
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

/**
 * The `.dockerconfigjson` of an image pull Secret (type `kubernetes.io/dockerconfigjson`) for one
 * registry: the same document `docker login` writes.
 */
export function dockerConfigJson(server: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [server]: { username, password, auth } } });
}
