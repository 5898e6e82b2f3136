/**
 * The one Kubernetes kit of the program: labels and selectors, security contexts, resources and
 * quantities, checksums for roll-on-change annotations, and NetworkPolicies rendered from
 * {@link NetworkAllow}s. Every component (the shop's and the observability ones) uses it.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { bytes, milliCpu } from "../config/units";

/** Quantities: one parser each, defined with the config schema that validates them. */
export { bytes, milliCpu };

/** Every shop service listens here and serves /healthz, /readyz and /metrics on it. */
export { HTTP_PORT } from "../catalog";
export const PART_OF = "shop";
/**
 * `part-of` of the observability objects (Monitoring, Logging): the value they were first deployed
 * with. Their labels carry no `component` label either: a changed pod-template label would roll every
 * observability pod of a deployed stack.
 */
export const OBSERVABILITY_PART_OF = "shop-observability";
export const MANAGED_BY = "pulumi";
/** Label keys the selectors and NetworkPolicies use. */
export const NAME_LABEL = "app.kubernetes.io/name";
export const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** Recommended labels; `name` is what the workload is (a binary, a store, `prometheus`), `instance` which one. */
export function appLabels(name: string, instance: string, component: string): Record<string, string> {
  return {
    [NAME_LABEL]: name,
    [INSTANCE_LABEL]: instance,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/**
 * The labels a workload's selector uses: immutable once created, so only identity labels.
 * A shop workload is one instance of the shop (`instance` + `part-of`); a component that runs several
 * workloads under one instance (Monitoring, Logging) adds which one it is (`name` + `instance`).
 * Changing either form would replace the workloads, so both stay as first deployed.
 */
export function selectorLabels(instance: string, name?: string): Record<string, string> {
  return name === undefined ? { [INSTANCE_LABEL]: instance, "app.kubernetes.io/part-of": PART_OF } : { [NAME_LABEL]: name, [INSTANCE_LABEL]: instance };
}

/** Peer labels: the pods of workload `name` (any instance), for NetworkPolicies across components. */
export function podsOf(name: string): Record<string, string> {
  return { [NAME_LABEL]: name };
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

/**
 * Container-level security for the `restricted` profile. `runAsNonRoot` is false only for the one
 * workload that must read root-owned host files (Fluent Bit); it still drops every capability.
 */
export function containerSecurityContext(readOnlyRootFilesystem = true, runAsNonRoot = true): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Requests and limits with memory request = limit (a pod is never OOM-killed for a neighbour's burst). */
export function resources(cpu: string, memory: string, cpuLimit: string): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory } };
}

/** One toleration of a pod: the subset of the Kubernetes `Toleration` a stack can configure. */
export interface Toleration {
  /** The taint key; empty with `Exists` tolerates every taint. */
  key?: string;
  /** `Equal` (key and value match) or `Exists` (key alone). @default "Equal" */
  operator?: "Equal" | "Exists";
  /** The taint value (`Equal` only). */
  value?: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`; absent tolerates every effect. */
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  /** Seconds a `NoExecute` taint is tolerated before eviction; absent: forever. */
  tolerationSeconds?: number;
}

/**
 * Where a workload's pods may run: nodes carrying every label of `nodeSelector`, and tainted nodes
 * whose taints `tolerations` tolerate. Validated by config/ (`shop:scheduling`, `shop:services.<name>.scheduling`).
 */
export interface Scheduling {
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly Readonly<Toleration>[];
}

/**
 * The pod-spec fields of a placement: `nodeSelector` and `tolerations`, each only when it has entries,
 * so a workload without a placement renders exactly as before (no diff on existing stacks).
 * `fallbackTolerations` are used when the placement gives none (Fluent Bit tolerates every taint so it
 * reads every node's logs; a configured list replaces that).
 */
export function placement(
  scheduling: Scheduling | undefined,
  fallbackTolerations: readonly Readonly<Toleration>[] = [],
): Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations"> {
  const selector = scheduling?.nodeSelector ?? {};
  const tolerations = scheduling?.tolerations?.length ? scheduling.tolerations : fallbackTolerations;
  return {
    ...(Object.keys(selector).length ? { nodeSelector: { ...selector } } : {}),
    ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
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

/**
 * Checksum of an observability pod template's config files (`shop.io/config-checksum`): sha256 over
 * each part followed by a NUL, first 16 hex digits. The format those pods were first deployed with:
 * another format would roll them on an unchanged config.
 */
export function filesChecksum(...parts: string[]): string {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

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

/**
 * The `.dockerconfigjson` of an image pull Secret (type `kubernetes.io/dockerconfigjson`) for one
 * registry: the same document `docker login` writes.
 */
export function dockerConfigJson(server: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [server]: { username, password, auth } } });
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

/** No stack change deletes a StatefulSet's data: its claims outlive the StatefulSet and a scale-down. */
export const RETAIN_CLAIMS = { whenDeleted: "Retain", whenScaled: "Retain" };

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

/** Image overrides and placements of a component's workloads, keyed by workload name. */
export interface WorkloadOverrides {
  /** Workload (or helper image, e.g. `curl`) -> image reference replacing the pinned default. */
  images?: Readonly<Record<string, string | undefined>>;
  /** Workload -> where its pods run. */
  scheduling?: Readonly<Record<string, Scheduling | undefined>>;
}

/**
 * What the workloads of one component instance share: the component (parent of every child, so a
 * workload moved into its own file keeps its URN), the explicit provider, the namespace, and the
 * naming of objects, labels, selectors and policies. Workload files are functions of a scope, like
 * pulumi-eks' `createCore`.
 */
export class WorkloadScope {
  constructor(
    /** The component's name: prefix of every child and the `instance` label. */
    readonly name: string,
    /** What the component is (`monitoring`, `logging`). */
    readonly component: string,
    readonly parent: pulumi.Resource,
    readonly provider: k8s.Provider,
    readonly namespace: pulumi.Output<string>,
    /** Per-workload image overrides and placements, keyed by workload (`prometheus`, `fluent-bit`). @default none */
    readonly workloads: WorkloadOverrides = {},
    /** The `part-of` label the component's objects were first deployed with. */
    readonly partOf: string = OBSERVABILITY_PART_OF,
  ) {}

  /** The image of workload `app`: its override, else the pinned `fallback`. */
  image(app: string, fallback: string): string {
    return this.workloads.images?.[app] ?? fallback;
  }

  /** The pod-spec placement (nodeSelector, tolerations) of workload `app`; see {@link placement}. */
  placement(app: string, fallbackTolerations: readonly Readonly<Toleration>[] = []) {
    return placement(this.workloads.scheduling?.[app], fallbackTolerations);
  }

  /** Options of every child: the component as parent, the explicit provider. */
  get opts(): pulumi.CustomResourceOptions {
    return { parent: this.parent, provider: this.provider };
  }

  /**
   * The labels of every object of workload `app`: its selector, `part-of` and `managed-by`. No
   * `component` label: these are the labels the objects were first deployed with, and a changed
   * pod-template label rolls the pods.
   */
  labels(app: string): Record<string, string> {
    return { ...this.selector(app), "app.kubernetes.io/part-of": this.partOf, "app.kubernetes.io/managed-by": MANAGED_BY };
  }

  /** The (immutable) selector of workload `app`. */
  selector(app: string): Record<string, string> {
    return selectorLabels(this.name, app);
  }

  /** Metadata of an object of workload `app`: auto-named unless `objectName` is given. */
  meta(app: string, objectName?: string, namespace: pulumi.Input<string> = this.namespace) {
    return { namespace, labels: this.labels(app), ...(objectName ? { name: objectName } : {}) };
  }

  /** The object name of workload `app`: `<name>-<app>` (also its logical name). */
  objectName(app: string): string {
    return `${this.name}-${app}`;
  }

  /**
   * A Deployment `<name>-<app>` of one replica running `pod`, selected by the workload's selector;
   * `annotations` go on the pod template (checksums that roll it); the workload's placement is added to `pod`.
   */
  deployment(
    app: string,
    pod: k8s.types.input.core.v1.PodSpec,
    extra: { annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>; dependsOn?: pulumi.Resource[] } = {},
  ): k8s.apps.v1.Deployment {
    return new k8s.apps.v1.Deployment(
      this.objectName(app),
      {
        metadata: this.meta(app, this.objectName(app)),
        spec: {
          replicas: 1,
          selector: { matchLabels: this.selector(app) },
          template: { metadata: { labels: this.labels(app), ...(extra.annotations ? { annotations: extra.annotations } : {}) }, spec: { ...this.placement(app), ...pod } },
        },
      },
      { ...this.opts, ...(extra.dependsOn ? { dependsOn: extra.dependsOn } : {}) },
    );
  }

  /** The ClusterIP Service `<name>-<app>` of workload `app`: port `port` to the container port named `http`. */
  service(app: string, port: number): k8s.core.v1.Service {
    return new k8s.core.v1.Service(
      this.objectName(app),
      { metadata: this.meta(app, this.objectName(app)), spec: { selector: this.selector(app), ports: [{ name: "http", port, targetPort: "http" }] } },
      this.opts,
    );
  }

  /** The `data` volume claim template of a StatefulSet of workload `app`. */
  dataClaim(app: string, storageSize: string, storageClass: string): k8s.types.input.core.v1.PersistentVolumeClaim {
    return {
      metadata: { name: "data", labels: this.labels(app) },
      spec: { accessModes: ["ReadWriteOnce"], storageClassName: storageClass, resources: { requests: { storage: storageSize } } },
    };
  }

  /** The NetworkPolicies of workload `app`: `<name>-<app>-<in|out>-<rule>`, in this scope's namespace. */
  allow(app: string, allows: NetworkAllows): k8s.networking.v1.NetworkPolicy[] {
    const prefix = `${this.name}-${app}`;
    return allowPolicies({ resourcePrefix: prefix, objectPrefix: prefix, namespace: this.namespace, labels: this.labels(app) }, allows, this.opts);
  }

  /** Bytes of the memory quantity `value` of argument `field`; a malformed one fails naming the field. */
  bytes(field: string, value: string): number {
    try {
      return bytes(value);
    } catch (e) {
      throw this.fail(field, `is invalid: ${(e as Error).message}; use a size like "1Gi"`);
    }
  }

  /** An error naming the component and the field. */
  fail(field: string, what: string): pulumi.ResourceError {
    return new pulumi.ResourceError(`${this.parent.constructor.name} ${this.name}: ${field} ${what}`, this.parent);
  }
}
