/**
 * Helpers shared by the Monitoring and Logging unit tests: find recorded
 * objects by kind and logical name, walk every container of every workload.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as h from "../unit/harness";
import type * as k8s from "@pulumi/kubernetes";
import type { MonitoringArgs } from "../../components/monitoring";

/** Type tokens of the Kubernetes kinds the observability components create. */
export const T = {
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  service: "kubernetes:core/v1:Service",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  job: "kubernetes:batch/v1:Job",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

/** The inputs of the one recorded resource of `type` named `name`; throws naming what exists. */
export function get(type: string, name: string): any {
  const r = h.ofType(type).find((x) => x.name === name);
  if (!r) throw new Error(`no ${type} named ${name}; have: ${h.ofType(type).map((x) => x.name).join(", ")}`);
  return plain(r.inputs);
}

/** Every workload (Deployment, StatefulSet, DaemonSet, Job) with its pod spec. */
export function workloads(): { kind: string; name: string; pod: any }[] {
  return [T.deployment, T.statefulSet, T.daemonSet, T.job].flatMap((type) =>
    h.ofType(type).map((r) => ({ kind: type.split(":").pop()!, name: r.name, pod: plain(r.inputs).spec.template.spec })),
  );
}

/** Every container and init container of every workload. */
export function containers(): { workload: string; init: boolean; pod: any; c: any }[] {
  return workloads().flatMap((w) => [
    ...(w.pod.initContainers ?? []).map((c: any) => ({ workload: w.name, init: true, pod: w.pod, c })),
    ...w.pod.containers.map((c: any) => ({ workload: w.name, init: false, pod: w.pod, c })),
  ]);
}

/** The NetworkPolicy named `name`, as { ingress, egress } rules. */
export function policy(name: string): { podSelector: any; policyTypes: string[]; ingress: any[]; egress: any[] } {
  const spec = get(T.networkPolicy, name).spec;
  return { podSelector: spec.podSelector, policyTypes: spec.policyTypes, ingress: spec.ingress ?? [], egress: spec.egress ?? [] };
}

/** The TCP ports a list of policy rules opens, sorted. */
export function ports(rules: any[]): number[] {
  return rules.flatMap((r) => (r.ports ?? []).map((p: any) => p.port)).sort((a: number, b: number) => a - b);
}

/**
 * A readable form of a policy peer: `app:<name>` (by `app.kubernetes.io/name`), `<key>=<value>` for
 * other pod labels, prefixed with `ns:<namespace>/` when it selects a namespace, or `cidr:<block>`.
 */
export function peer(p: any): string {
  if (p.ipBlock) return `cidr:${p.ipBlock.cidr}`;
  const labels: Record<string, string> = p.podSelector?.matchLabels ?? {};
  const app = labels["app.kubernetes.io/name"];
  const pods = app ? `app:${app}` : Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  const ns = p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"];
  if (ns) return pods ? `ns:${ns}/${pods}` : `ns:${ns}`;
  return pods;
}

/** Rules as "peer -> port" strings, e.g. "app:grafana:9090", for whole-policy comparisons. */
export function flows(rules: any[], dir: "from" | "to"): string[] {
  return rules
    .flatMap((r) => (r[dir] ?? []).flatMap((p: any) => (r.ports ?? []).map((port: any) => `${peer(p)}:${port.protocol ?? "TCP"}/${port.port}`)))
    .sort();
}

/** The mock engine hands secret inputs over wrapped as `{ <sig>: <secret sig>, value }`; this unwraps them everywhere. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export function plain(v: any): any {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return plain(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** True when the recorded input value (or a part of it) was passed as a secret. */
export function wasSecret(v: any): boolean {
  if (Array.isArray(v)) return v.some(wasSecret);
  if (v && typeof v === "object") return SECRET_SIG in v || Object.values(v).some(wasSecret);
  return false;
}

/**
 * Asserts that each `[type, name]` child was registered under the component type `parent` (a child of
 * the component itself) in the dev stack: the URN a stack deployed before carries, so a preview shows no
 * replacement. Reads the URNs the mock monitor registered since the last reset.
 */
export function assertUrnsKept(parent: string, children: [type: string, name: string][]): void {
  const urns = new Set<string>([...(pulumi.runtime.getMonitor() as any).resources.keys()]);
  for (const [type, name] of children) {
    const urn = `urn:pulumi:dev::shop::${parent}$${type}::${name}`;
    assert.ok(urns.has(urn), `${urn} is gone; registered as: ${[...urns].filter((u) => u.endsWith(`::${name}`)).join(", ")}`);
  }
}

/** The arguments of the Monitoring the unit tests create: every service, dev-like sizes, `over` on top. */
export function monitoringArgs(provider: k8s.Provider, over: Partial<MonitoringArgs> = {}): MonitoringArgs {
  return {
    namespace: "obs",
    provider,
    services: ["gateway", "user", "product", "order"],
    shopNamespace: "shop-test",
    retention: "7d",
    storageSize: "5Gi",
    storageClass: "fast-ssd",
    grafanaPath: "/grafana",
    edgeNamespace: "ingress-nginx",
    publicHost: "shop.example.com",
    grafanaAdminPassword: pulumi.secret("given-grafana-password"),
    ...over,
  };
}
