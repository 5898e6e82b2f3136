/**
 * Small readers of Kubernetes resource inputs as the policy engine hands them over
 * (`type` like `kubernetes:apps/v1:Deployment`, `props` the resource's inputs).
 * Pure functions: the policies and their tests share them.
 */

/** A resource as a policy sees it. */
export interface KubeResource {
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`. */
  type: string;
  /** Pulumi resource name (the logical name, not metadata.name). */
  name: string;
  /** The resource's inputs. */
  props: Record<string, any>;
  /** The resource's URN, when known (stack policies). */
  urn?: string;
}

/** One container of a pod spec, with where it was found. */
export interface ContainerRef {
  container: Record<string, any>;
  /** `containers` or `initContainers`. */
  list: "containers" | "initContainers";
  podSpec: Record<string, any>;
}

const WORKLOADS_WITH_TEMPLATE = new Set([
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:apps/v1:ReplicaSet",
  "kubernetes:batch/v1:Job",
]);

/** The Kubernetes kind of a type token (`kubernetes:apps/v1:Deployment` -> `Deployment`). */
export function kindOf(type: string): string {
  const parts = type.split(":");
  return parts[parts.length - 1];
}

/** `Kind/name` for messages: the object's metadata.name when given, else the Pulumi name. */
export function describe(r: KubeResource): string {
  const metaName = r.props?.metadata?.name;
  return `${kindOf(r.type)} ${typeof metaName === "string" && metaName ? metaName : r.name}`;
}

/** The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), else undefined. */
export function podSpecOf(r: KubeResource): Record<string, any> | undefined {
  if (r.type === "kubernetes:core/v1:Pod") return r.props?.spec;
  if (WORKLOADS_WITH_TEMPLATE.has(r.type)) return r.props?.spec?.template?.spec;
  if (r.type === "kubernetes:batch/v1:CronJob") return r.props?.spec?.jobTemplate?.spec?.template?.spec;
  return undefined;
}

/** True for the long-running workload kinds whose containers must be probed. */
export function isLongRunning(r: KubeResource): boolean {
  return r.type === "kubernetes:core/v1:Pod" || (WORKLOADS_WITH_TEMPLATE.has(r.type) && r.type !== "kubernetes:batch/v1:Job");
}

/** Every container and init container of the resource's pod spec (none for non-workloads). */
export function containersOf(r: KubeResource): ContainerRef[] {
  const podSpec = podSpecOf(r);
  if (!podSpec) return [];
  const out: ContainerRef[] = [];
  for (const list of ["initContainers", "containers"] as const) {
    const cs = podSpec[list];
    if (Array.isArray(cs)) for (const c of cs) out.push({ container: c ?? {}, list, podSpec });
  }
  return out;
}

/** Parsed container image reference. */
export interface ImageRef {
  /** Registry host (with port), `docker.io` when the reference names none. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses `[registry/]repo[:tag][@sha256:...]` the way container runtimes do. */
export function parseImage(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry = "docker.io";
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { registry, repository: rest, tag, digest };
}

/** True when the digest is a well-formed sha256 digest. */
export function isSha256Digest(d: string | undefined): boolean {
  return typeof d === "string" && /^sha256:[0-9a-f]{64}$/.test(d);
}

/** The stack name inside a URN (`urn:pulumi:<stack>::<project>::...`), else undefined. */
export function stackOfUrn(urn: string | undefined): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn ?? "");
  return m ? m[1] : undefined;
}

/** True when every key/value of `selector` is in `labels` (and the selector is not empty). */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !labels) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}
