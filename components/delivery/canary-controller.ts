/**
 * The CanaryRelease controller (`controller/`, docs/canary.md) as the platform runs it: the CRD from
 * the committed, generated YAML, a ServiceAccount with exactly the generated role's rules as a
 * namespaced Role (it watches only the shop's namespace), the controller Deployment (leader
 * election, probes, the kit's security contexts, scraped by Prometheus), its metrics Service and
 * its own NetworkPolicies; and, when given, one `CanaryRelease` that `pulumi up` waits on.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
// First: it loads config/, which the kit imports back (config/ must finish loading first).
import {
  CANARY_RELEASE_API_VERSION,
  CANARY_RELEASE_KIND,
  CanaryAnalysis,
  canaryReleaseSpec,
  releaseTimeoutMinutes,
  WAIT_FOR_PROMOTED,
} from "./canary-release";
import { ANYWHERE, API_SERVER_PORTS, containerSecurityContext, PART_OF, peer, podSecurityContext, resources, WorkloadScope } from "../kit";
import { PROMETHEUS } from "../monitoring/peers";

/** The controller's pods and metrics port, for NetworkPolicies elsewhere (Prometheus'). */
export const CANARY_CONTROLLER = peer("canary-controller", 8080);
/** `/healthz` and `/readyz`. */
export const CANARY_CONTROLLER_PROBE_PORT = 8081;
/** uid of the controller image (scratch-based runtime, like the services'). */
export const CANARY_CONTROLLER_UID = 65532;
/** Requests and limits of the controller container (also counted by the shop's ResourceQuota). */
// The 200-release benchmark peaks at 67 MiB RSS with its own client (docs/benchmarks.md).
export const CANARY_CONTROLLER_RESOURCES = { cpu: "50m", memory: "128Mi", cpuLimit: "250m", memoryLimit: "128Mi" } as const;
/** The Lease of leader election (the controller's default, named here so it is visible). */
export const LEADER_ELECTION_ID = "canary-controller.delivery.shop.dev";

const CONTROLLER_DIR = path.resolve(__dirname, "..", "..", "controller", "config");
/** The generated CRD and ClusterRole (controller-gen; see docs/canary.md). */
export const CRD_FILE = path.join(CONTROLLER_DIR, "crd", "delivery.shop.dev_canaryreleases.yaml");
export const ROLE_FILE = path.join(CONTROLLER_DIR, "rbac", "role.yaml");

/** The one document of a generated YAML file, checked to be of `kind`. */
function generated(file: string, kind: string): any {
  const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d);
  if (docs.length !== 1 || (docs[0] as any).kind !== kind) throw new Error(`${file}: expected exactly one ${kind}`);
  return docs[0];
}
/** The CRD as controller-gen wrote it. */
export function canaryReleaseCrd(): { metadata: { name: string; annotations?: Record<string, string> }; spec: any } {
  return generated(CRD_FILE, "CustomResourceDefinition");
}
/** The rules of the generated role (`+kubebuilder:rbac` markers of the reconciler). */
export function controllerRules(): k8s.types.input.rbac.v1.PolicyRule[] {
  return generated(ROLE_FILE, "ClusterRole").rules;
}

/** The `CanaryRelease` the component creates. */
export interface CanaryReleaseArgs {
  /** Object name of the release. */
  name: string;
  /** The HTTPRoute (in the component's namespace) whose weights the controller owns. */
  route: string;
  stable: { name: pulumi.Input<string>; port: number };
  canary: { name: pulumi.Input<string>; port: number };
  canaryDeployment: pulumi.Input<string>;
  /** The canary's image: a new one restarts the analysis. */
  canaryImage: pulumi.Input<string>;
  /** A digest of the canary's configuration: a new one restarts the analysis too. @default none */
  canaryConfig?: pulumi.Input<string>;
  /** Steps, interval and checks (`shop:routing.canary.analysis`). */
  analysis: CanaryAnalysis;
  /** What must exist first: the route, the canary's Deployment. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Arguments of {@link CanaryController}. */
export interface CanaryControllerArgs {
  /** The explicit Kubernetes provider every child uses. */
  provider: k8s.Provider;
  /** Where the controller runs and the only namespace it watches (its role is a namespaced Role there). */
  namespace: pulumi.Output<string>;
  /** The controller's image, pinned by digest (`shop:routing.canary.controller.image`). */
  image: pulumi.Input<string>;
  /** Prometheus' in-cluster URL, for the analysis queries. */
  prometheusUrl: pulumi.Input<string>;
  /** Namespace of Prometheus: it scrapes the metrics port, and the controller queries it. */
  prometheusNamespace: pulumi.Input<string>;
  /** slog level. @default "info" */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Reconcilers running in parallel. @default 4 */
  maxConcurrentReconciles?: number;
  /** Image pull Secrets of the pod. @default none */
  imagePullSecrets?: pulumi.Input<string>[];
  /** A release to create (the gray release of a stack with `shop:routing.canary.analysis`). @default none */
  release?: CanaryReleaseArgs;
}

/**
 * The canary controller of one namespace. Children are named `${name}-...`: the CRD, ServiceAccount,
 * Role and RoleBinding, Deployment, metrics Service, NetworkPolicies and the optional release.
 */
export class CanaryController extends pulumi.ComponentResource {
  /** The controller's metrics endpoint (`http://<service>.<namespace>.svc:8080/metrics`). */
  readonly metricsUrl: pulumi.Output<string>;
  /** The release's object name, when one was created. */
  readonly releaseName?: pulumi.Output<string>;

  constructor(name: string, args: CanaryControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:CanaryController", name, {}, opts);
    const s = new WorkloadScope(name, "delivery", this, args.provider, args.namespace, {}, PART_OF);

    // ---- inputs and defaults, in one place ----
    const logLevel = args.logLevel ?? "info";
    const workers = args.maxConcurrentReconciles ?? 4;
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw s.fail("maxConcurrentReconciles", `must be a whole number 1..64 (got ${workers})`);
    if (args.release) {
      const a = args.release.analysis;
      if (!a.steps.length || a.steps.some((w, i) => !Number.isInteger(w) || w < 1 || w > 100 || (i > 0 && w <= a.steps[i - 1]))) {
        throw s.fail("release.analysis.steps", `must be whole percentages 1..100, strictly ascending (got ${JSON.stringify(a.steps)})`);
      }
    }

    const app = CANARY_CONTROLLER.app;
    const objName = s.objectName(app);
    const crdDoc = canaryReleaseCrd();
    // retainOnDelete: deleting the CRD deletes every CanaryRelease with it; turning the controller off
    // must not take the releases' history (and their finalizers' route restores) down silently.
    const crd = new k8s.apiextensions.v1.CustomResourceDefinition(
      `${name}-crd`,
      { metadata: { name: crdDoc.metadata.name, labels: s.labels(app), ...(crdDoc.metadata.annotations ? { annotations: crdDoc.metadata.annotations } : {}) }, spec: crdDoc.spec },
      { ...s.opts, retainOnDelete: true },
    );

    // ---- RBAC: the generated rules, as a Role in the one namespace it watches ----
    const sa = new k8s.core.v1.ServiceAccount(`${name}-service-account`, { metadata: s.meta(app, objName) }, s.opts);
    const role = new k8s.rbac.v1.Role(`${name}-role`, { metadata: s.meta(app, objName), rules: controllerRules() }, s.opts);
    new k8s.rbac.v1.RoleBinding(
      `${name}-role-binding`,
      {
        metadata: s.meta(app, objName),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: args.namespace }],
      },
      s.opts,
    );

    // ---- the controller ----
    const r = CANARY_CONTROLLER_RESOURCES;
    const deployment = s.deployment(
      app,
      {
        serviceAccountName: sa.metadata.name,
        securityContext: podSecurityContext(CANARY_CONTROLLER_UID),
        ...(args.imagePullSecrets?.length ? { imagePullSecrets: args.imagePullSecrets.map((n) => ({ name: n })) } : {}),
        containers: [
          {
            name: "controller",
            image: args.image,
            args: [
              pulumi.interpolate`--prometheus-url=${args.prometheusUrl}`,
              pulumi.interpolate`--watch-namespaces=${args.namespace}`,
              // One active replica: during a rolling update the new pod waits for the Lease.
              "--leader-elect=true",
              `--leader-election-id=${LEADER_ELECTION_ID}`,
              `--metrics-bind-address=:${CANARY_CONTROLLER.port}`,
              `--health-probe-bind-address=:${CANARY_CONTROLLER_PROBE_PORT}`,
              `--max-concurrent-reconciles=${workers}`,
              `--log-level=${logLevel}`,
            ],
            // The Lease lives in the pod's own namespace.
            env: [{ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
            ports: [
              { name: "http", containerPort: CANARY_CONTROLLER.port },
              { name: "probes", containerPort: CANARY_CONTROLLER_PROBE_PORT },
            ],
            livenessProbe: { httpGet: { path: "/healthz", port: "probes" }, initialDelaySeconds: 5, periodSeconds: 15 },
            readinessProbe: { httpGet: { path: "/readyz", port: "probes" }, periodSeconds: 10 },
            resources: resources(r.cpu, r.memory, r.cpuLimit),
            securityContext: containerSecurityContext(),
          },
        ],
      },
      {
        // Prometheus' `kubernetes-pods` job scrapes pods that opt in (components/monitoring/prometheus-config.ts).
        annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(CANARY_CONTROLLER.port), "prometheus.io/path": "/metrics" },
        dependsOn: [crd],
      },
    );
    const service = s.service(app, CANARY_CONTROLLER.port);

    // ---- NetworkPolicies: Prometheus in (metrics); the API server and Prometheus out ----
    const pods = s.selector(app);
    const prometheus = { namespace: args.prometheusNamespace, pods: PROMETHEUS.pods };
    s.allow(app, {
      ingress: [{ name: "prometheus", pods, peer: prometheus, ports: [CANARY_CONTROLLER.port] }],
      egress: [
        { name: "api-server", pods, peer: { cidr: ANYWHERE }, ports: API_SERVER_PORTS },
        { name: "prometheus", pods, peer: prometheus, ports: [PROMETHEUS.port] },
      ],
    });

    this.metricsUrl = pulumi.interpolate`http://${service.metadata.name}.${args.namespace}.svc:${CANARY_CONTROLLER.port}/metrics`;
    if (args.release) this.releaseName = this.release(name, args.release, [crd, deployment], s);
    this.registerOutputs({ metricsUrl: this.metricsUrl, ...(this.releaseName ? { releaseName: this.releaseName } : {}) });
  }

  /**
   * The CanaryRelease: `pulumi up` waits until it is Promoted, at most the analysis' whole length
   * (unless `analysis.waitForPromotion` is false: then it returns once the release is written).
   */
  private release(name: string, rel: CanaryReleaseArgs, controller: pulumi.Resource[], s: WorkloadScope): pulumi.Output<string> {
    const timeout = `${releaseTimeoutMinutes(rel.analysis)}m`;
    const wait = rel.analysis.waitForPromotion !== false;
    const spec = pulumi
      .all([rel.stable.name, rel.canary.name, rel.canaryDeployment, rel.canaryImage, rel.canaryConfig])
      .apply(([stable, canary, canaryDeployment, canaryImage, canaryConfig]) =>
        canaryReleaseSpec(
          {
            route: rel.route,
            stable: { name: stable, port: rel.stable.port },
            canary: { name: canary, port: rel.canary.port },
            canaryDeployment,
            canaryImage,
            ...(canaryConfig ? { canaryConfig } : {}),
          },
          rel.analysis,
        ),
      );
    const cr = new k8s.apiextensions.CustomResource(
      `${name}-release`,
      {
        apiVersion: CANARY_RELEASE_API_VERSION,
        kind: CANARY_RELEASE_KIND,
        metadata: { name: rel.name, namespace: s.namespace, labels: s.labels("canary-release"), ...(wait ? { annotations: { ...WAIT_FOR_PROMOTED } } : {}) },
        spec,
      },
      {
        ...s.opts,
        // The controller must run (and the route exist) first; on delete the release goes first, so the
        // controller's finalizer can still restore the route to all-stable.
        dependsOn: [...controller, ...(rel.dependsOn ?? [])],
        ...(wait ? { customTimeouts: { create: timeout, update: timeout } } : {}),
      },
    );
    return cr.metadata.name;
  }
}
