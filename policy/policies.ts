/**
 * The shop's mandatory policies as plain functions: each takes resource inputs
 * (and the pack's config) and returns the violation messages. `index.ts` wires
 * them into the CrossGuard pack; the unit tests call them directly.
 */
import {
  KubeResource,
  containersOf,
  describe,
  isLongRunning,
  isSha256Digest,
  kindOf,
  parseImage,
  selectorMatches,
  stackOfUrn,
} from "./kube";

/** Settings of the pack (CrossGuard policy config; defaults in `defaultConfig`). */
export interface PackConfig {
  /** Registry hosts images may come from, e.g. `127.0.0.1:5000`. */
  allowedRegistries: string[];
  /**
   * Reviewed third-party images allowed by exact reference (repository and version tag) from their
   * upstream registry: the data stores' and observability stack's images. Pinning them by digest
   * from an allowed registry needs no entry here.
   */
  vettedImages: string[];
  /** Stack names whose Deployments need >= 2 replicas and a PodDisruptionBudget. */
  prodStacks: string[];
  /** Pod Security Admission levels a namespace may enforce. */
  podSecurityLevels: string[];
  /**
   * Reviewed exceptions: namespaces (name globs) that may enforce the `privileged` level, e.g. the one
   * running the node log collector.
   */
  privilegedNamespaces: string[];
  /**
   * Reviewed exceptions: workloads (`Kind/name` globs) whose containers may run as root, e.g. the node
   * log collector reading root-owned host logs. Every other hardening rule still applies to them.
   */
  rootAllowed: string[];
  /**
   * Reviewed exceptions: prod Deployments (`Kind/name` globs) that are singletons by design and so
   * exempt from the replica and PodDisruptionBudget rule.
   */
  haExempt: string[];
  /** Labels that mark a Service as part of the ingress controller (allowed to be LoadBalancer/NodePort). */
  ingressServiceLabels: Record<string, string>;
}

export const defaultConfig: PackConfig = {
  allowedRegistries: ["127.0.0.1:5000"],
  vettedImages: [],
  prodStacks: ["prod"],
  podSecurityLevels: ["restricted", "baseline"],
  privilegedNamespaces: [],
  rootAllowed: [],
  haExempt: [],
  ingressServiceLabels: { "app.kubernetes.io/name": "ingress-nginx" },
};

/** True when `text` matches the glob (`*` = any run of characters). */
export function globMatch(glob: string, text: string): boolean {
  const re = new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(text);
}

/** `Kind/name` of a resource, as the exception lists name it. */
export function kindAndName(r: KubeResource): string {
  return describe(r).replace(" ", "/");
}

/** A policy over one resource. */
export interface ResourcePolicy {
  name: string;
  description: string;
  remediation: string;
  check(r: KubeResource, cfg: PackConfig): string[];
}

/** A violation of a stack policy, attached to a resource. */
export interface StackViolation {
  message: string;
  urn?: string;
}

/** A policy over the whole stack. */
export interface StackPolicy {
  name: string;
  description: string;
  remediation: string;
  check(resources: KubeResource[], cfg: PackConfig): StackViolation[];
}

const containerLabel = (c: Record<string, any>, list: string) =>
  `${list === "initContainers" ? "init container" : "container"} "${c.name ?? "?"}"`;

export const imagesPinnedByDigest: ResourcePolicy = {
  name: "images-pinned-by-digest",
  description: "Every container image is pinned by a sha256 digest and never uses the `latest` tag.",
  remediation: "Reference images as <registry>/<repo>@sha256:<digest> (the program's prebuilt/pushed image digests).",
  check(r, cfg) {
    const out: string[] = [];
    for (const { container, list } of containersOf(r)) {
      const image = container.image;
      const who = `${describe(r)}: ${containerLabel(container, list)}`;
      if (typeof image !== "string" || image === "") {
        out.push(`${who} has no image`);
        continue;
      }
      const ref = parseImage(image);
      if (ref.tag === "latest" || (!ref.tag && !ref.digest)) out.push(`${who} uses the "latest" tag (${image}): pin it by digest`);
      else if (!isSha256Digest(ref.digest) && !cfg.vettedImages.includes(image)) {
        out.push(`${who} image "${image}" is not pinned by digest: use name@sha256:<64 hex> (or add it to the pack's vettedImages after review)`);
      }
    }
    return out;
  },
};

export const imagesFromAllowedRegistry: ResourcePolicy = {
  name: "images-from-allowed-registry",
  description: "Every container image comes from one of the allowed registries.",
  remediation: "Push the image to an allowed registry (policy config allowedRegistries) and reference it there.",
  check(r, cfg) {
    const out: string[] = [];
    for (const { container, list } of containersOf(r)) {
      if (typeof container.image !== "string" || container.image === "") continue;
      const { registry } = parseImage(container.image);
      if (!cfg.allowedRegistries.includes(registry) && !cfg.vettedImages.includes(container.image)) {
        out.push(
          `${describe(r)}: ${containerLabel(container, list)} image "${container.image}" is from registry "${registry}", ` +
            `allowed: ${cfg.allowedRegistries.join(", ")}`,
        );
      }
    }
    return out;
  },
};

export const resourcesRequestedAndLimited: ResourcePolicy = {
  name: "containers-have-requests-and-limits",
  description: "Every container sets cpu and memory requests and limits.",
  remediation: "Set resources.requests.{cpu,memory} and resources.limits.{cpu,memory} on the container.",
  check(r) {
    const out: string[] = [];
    for (const { container, list } of containersOf(r)) {
      const missing: string[] = [];
      for (const kind of ["requests", "limits"] as const) {
        for (const res of ["cpu", "memory"]) {
          const v = container.resources?.[kind]?.[res];
          if (v === undefined || v === null || v === "") missing.push(`${kind}.${res}`);
        }
      }
      if (missing.length) out.push(`${describe(r)}: ${containerLabel(container, list)} has no resources.${missing.join(", resources.")}`);
    }
    return out;
  },
};

export const restrictedSecurityContext: ResourcePolicy = {
  name: "containers-run-restricted",
  description:
    "Every container runs as non-root with a read-only root filesystem, no privilege escalation and ALL capabilities dropped.",
  remediation:
    "Set securityContext runAsNonRoot: true (pod or container), readOnlyRootFilesystem: true, " +
    "allowPrivilegeEscalation: false, capabilities.drop: [ALL].",
  check(r, cfg) {
    const out: string[] = [];
    const rootAllowed = cfg.rootAllowed.some((g) => globMatch(g, kindAndName(r)));
    for (const { container, list, podSpec } of containersOf(r)) {
      const sc = container.securityContext ?? {};
      const podSc = podSpec.securityContext ?? {};
      const problems: string[] = [];
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (!rootAllowed && nonRoot !== true) problems.push("runAsNonRoot is not true");
      if (!rootAllowed && uid === 0) problems.push("runAsUser is 0 (root)");
      if (sc.privileged === true) problems.push("privileged is true");
      if (sc.readOnlyRootFilesystem !== true) problems.push("readOnlyRootFilesystem is not true");
      if (sc.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
      const drop: unknown = sc.capabilities?.drop;
      if (!Array.isArray(drop) || !drop.includes("ALL")) problems.push("capabilities.drop does not include ALL");
      if (problems.length) out.push(`${describe(r)}: ${containerLabel(container, list)}: ${problems.join("; ")}`);
    }
    return out;
  },
};

export const probesConfigured: ResourcePolicy = {
  name: "containers-have-probes",
  description: "Every container of a long-running workload has a liveness and a readiness probe.",
  remediation: "Add livenessProbe and readinessProbe (e.g. httpGet /healthz and /readyz on the service port).",
  check(r) {
    if (!isLongRunning(r)) return [];
    const out: string[] = [];
    for (const { container, list } of containersOf(r)) {
      if (list !== "containers") continue;
      const missing = ["livenessProbe", "readinessProbe"].filter((p) => !container[p]);
      if (missing.length) out.push(`${describe(r)}: ${containerLabel(container, list)} has no ${missing.join(" and no ")}`);
    }
    return out;
  },
};

export const noExternalServices: ResourcePolicy = {
  name: "no-loadbalancer-or-nodeport-services",
  description: "No Service of type LoadBalancer or NodePort outside the ingress controller.",
  remediation: "Use a ClusterIP Service and route external traffic through the Ingress.",
  check(r, cfg) {
    if (r.type !== "kubernetes:core/v1:Service") return [];
    const type = r.props?.spec?.type;
    if (type !== "LoadBalancer" && type !== "NodePort") return [];
    const labels: Record<string, string> = r.props?.metadata?.labels ?? {};
    const isIngress = Object.entries(cfg.ingressServiceLabels).every(([k, v]) => labels[k] === v);
    return isIngress ? [] : [`${describe(r)} is of type ${type}: only the ingress controller may be exposed this way, use ClusterIP`];
  },
};

/** Config map keys that look like they hold a credential. */
const SECRET_WORDS = /(^|[^a-z])(password|passwd|pwd|secret|token|api[-_]?key|private[-_]?key|credentials?|access[-_]?key)([^a-z]|$)/i;
/** Suffixes that name a reference to a secret rather than the secret itself. */
const REFERENCE_SUFFIX = /[-_.](file|path|name|ref|ttl|enabled|mount)$/i;

/** True when a ConfigMap key looks like it holds a credential. */
export function looksSecret(key: string): boolean {
  return SECRET_WORDS.test(key) && !REFERENCE_SUFFIX.test(key);
}

export const noSecretsInConfigMaps: ResourcePolicy = {
  name: "no-secrets-in-configmaps",
  description: "ConfigMaps hold no secret-looking keys (password, secret, token, api key, private key, credentials).",
  remediation: "Move the value into a Kubernetes Secret (secret config) and reference it with secretKeyRef.",
  check(r) {
    if (r.type !== "kubernetes:core/v1:ConfigMap") return [];
    const keys = [...Object.keys(r.props?.data ?? {}), ...Object.keys(r.props?.binaryData ?? {})];
    const bad = keys.filter(looksSecret);
    return bad.length ? [`${describe(r)} has secret-looking keys ${bad.map((k) => `"${k}"`).join(", ")}: put them in a Secret`] : [];
  },
};

const PSA_ENFORCE = "pod-security.kubernetes.io/enforce";

export const namespacesHavePodSecurity: ResourcePolicy = {
  name: "namespaces-have-pod-security-labels",
  description: "Every Namespace enforces a Pod Security Admission level.",
  remediation: `Label the namespace ${PSA_ENFORCE}: restricted (and the matching audit/warn labels).`,
  check(r, cfg) {
    if (r.type !== "kubernetes:core/v1:Namespace") return [];
    const level = r.props?.metadata?.labels?.[PSA_ENFORCE];
    if (level === undefined) return [`${describe(r)} has no ${PSA_ENFORCE} label`];
    const name = String(r.props?.metadata?.name ?? r.name);
    if (level === "privileged" && cfg.privilegedNamespaces.some((g) => globMatch(g, name))) return [];
    if (!cfg.podSecurityLevels.includes(level)) {
      return [`${describe(r)} enforces Pod Security level "${level}", allowed: ${cfg.podSecurityLevels.join(", ")}`];
    }
    return [];
  },
};

export const prodDeploymentsHighlyAvailable: StackPolicy = {
  name: "prod-deployments-ha",
  description: "In production stacks every Deployment runs >= 2 replicas (or an HPA with minReplicas >= 2) and has a PodDisruptionBudget.",
  remediation: "Set replicas >= 2 (or autoscaling.minReplicas >= 2) and add a PodDisruptionBudget selecting the pods.",
  check(resources, cfg) {
    const out: StackViolation[] = [];
    const inProd = resources.filter((r) => cfg.prodStacks.includes(stackOfUrn(r.urn) ?? ""));
    const pdbs = inProd.filter((r) => kindOf(r.type) === "PodDisruptionBudget" && r.type.startsWith("kubernetes:policy/"));
    const hpas = inProd.filter((r) => kindOf(r.type) === "HorizontalPodAutoscaler" && r.type.startsWith("kubernetes:autoscaling/"));
    const deployments = inProd.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
    for (const d of deployments.filter((x) => !cfg.haExempt.some((g) => globMatch(g, kindAndName(x))))) {
      const ns = d.props?.metadata?.namespace;
      const depName = d.props?.metadata?.name;
      const podLabels: Record<string, string> | undefined = d.props?.spec?.template?.metadata?.labels;
      const sameNs = (r: KubeResource) => (r.props?.metadata?.namespace ?? ns) === ns;
      const hpa = hpas.find(
        (h) => sameNs(h) && h.props?.spec?.scaleTargetRef?.kind === "Deployment" && depName && h.props?.spec?.scaleTargetRef?.name === depName,
      );
      const replicas: number = hpa ? (hpa.props?.spec?.minReplicas ?? 1) : (d.props?.spec?.replicas ?? 1);
      if (replicas < 2) {
        out.push({
          message: `${describe(d)} runs ${replicas} replica${replicas === 1 ? "" : "s"}${hpa ? " at minimum (HPA)" : ""} in a production stack: at least 2 are required`,
          urn: d.urn,
        });
      }
      const hasPdb = pdbs.some((p) => sameNs(p) && selectorMatches(p.props?.spec?.selector?.matchLabels, podLabels));
      if (!hasPdb) out.push({ message: `${describe(d)} has no PodDisruptionBudget selecting its pods in a production stack`, urn: d.urn });
    }
    return out;
  },
};

/** Annotations only the retired ingress-nginx controller reads. */
const INGRESS_NGINX_PREFIX = "nginx.ingress.kubernetes.io/";

export const noIngressNginxAnnotations: ResourcePolicy = {
  name: "no-ingress-nginx-annotations",
  description: "No object carries ingress-nginx-only annotations (nginx.ingress.kubernetes.io/*): that controller is retired and nothing else reads them.",
  remediation: "Route with the Gateway API: weighted backendRefs for a canary, a RequestRedirect filter for HTTPS, timeouts.request for timeouts (shop:routing, docs/config.md).",
  check(r) {
    const keys = Object.keys(r.props?.metadata?.annotations ?? {}).filter((k) => k.startsWith(INGRESS_NGINX_PREFIX));
    return keys.length
      ? [`${describe(r)} has ingress-nginx-only annotations ${keys.map((k) => `"${k}"`).join(", ")}: ingress-nginx is retired; use the Gateway API (HTTPRoute) instead`]
      : [];
  },
};

export const httpRoutesHaveParents: ResourcePolicy = {
  name: "httproutes-have-parent-refs",
  description: "Every HTTPRoute attaches to a Gateway through spec.parentRefs (each naming the Gateway).",
  remediation: "Set spec.parentRefs to the Gateway (namespace, name and listener sectionName) the route belongs to.",
  check(r) {
    if (!r.type.startsWith("kubernetes:gateway.networking.k8s.io/") || kindOf(r.type) !== "HTTPRoute") return [];
    const refs = r.props?.spec?.parentRefs;
    if (!Array.isArray(refs) || refs.length === 0) return [`${describe(r)} has no spec.parentRefs: it attaches to no Gateway and serves nothing`];
    const unnamed = refs.filter((p: any) => !p || typeof p.name !== "string" || p.name === "").length;
    return unnamed ? [`${describe(r)} has ${unnamed} parentRef(s) without a Gateway name`] : [];
  },
};

/** Every per-resource policy of the pack, in report order. */
export const resourcePolicies: ResourcePolicy[] = [
  imagesPinnedByDigest,
  imagesFromAllowedRegistry,
  resourcesRequestedAndLimited,
  restrictedSecurityContext,
  probesConfigured,
  noExternalServices,
  noSecretsInConfigMaps,
  namespacesHavePodSecurity,
  noIngressNginxAnnotations,
  httpRoutesHaveParents,
];

/** Every stack policy of the pack. */
export const stackPolicies: StackPolicy[] = [prodDeploymentsHighlyAvailable];
