import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { DEFAULT_PROGRESS_DEADLINE_SECONDS, MAX_HPA_STABILIZATION_SECONDS } from "../config";
import { VERSION_ENV } from "../contracts";
import { DIGEST_REF } from "./service-image";
import { appLabels, checksum, containerSecurityContext, HTTP_PORT, placement, podSecurityContext, Scheduling, selectorLabels } from "./kit";

/** Share of the container memory limit given to Go's soft memory limit (GOMEMLIMIT): the rest is headroom
 * for what the Go heap limit does not count (stacks, the binary, cgroup page cache) before the OOM killer. */
export const GO_MEMORY_SHARE = 0.9;

/**
 * GOMEMLIMIT for a container memory limit: {@link GO_MEMORY_SHARE} of it, in whole MiB (`115MiB` for
 * `128Mi`). Throws on a limit that is not a binary-suffixed quantity or leaves less than 1 MiB.
 */
export function goMemLimit(memoryLimit: string): string {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(memoryLimit);
  if (!m) throw new Error(`memory limit must be a quantity with a binary suffix (e.g. 128Mi), got ${JSON.stringify(memoryLimit)}`);
  const mib = Math.floor((Number(m[1]) * units[m[2]] * GO_MEMORY_SHARE) / 2 ** 20);
  if (mib < 1) throw new Error(`memory limit ${memoryLimit} is too small for a Go service (under 1MiB after headroom)`);
  return `${mib}MiB`;
}

/** What the provider's wait allows, on top of the progress deadline, for each pod a rollout replaces. */
export const ROLLOUT_SECONDS_PER_POD = 30;

/**
 * How long `pulumi up` waits for a Deployment's rollout (its create/update customTimeouts): the progress
 * deadline plus {@link ROLLOUT_SECONDS_PER_POD} for each pod of the replica ceiling. A rollout that
 * progresses pod by pod finishes within it; one whose new pod never becomes ready is marked
 * ProgressDeadlineExceeded by the Deployment controller at the deadline, and the provider's wait then
 * ends with that reason in its error instead of its own 10-minute default.
 */
export function rolloutTimeoutSeconds(progressDeadlineSeconds: number, replicaCeiling: number): number {
  return progressDeadlineSeconds + ROLLOUT_SECONDS_PER_POD * replicaCeiling;
}

/** The version a service reports ({@link VERSION_ENV}): the digest of its image reference (`sha256:<hex>`). */
export function imageVersion(image: string): string {
  const m = DIGEST_REF.exec(image);
  if (!m) throw new Error(`image ${JSON.stringify(image)} is not pinned by digest (<repository>@sha256:<64 hex>): the service's version is its image's digest`);
  return m[2];
}

/** The uid the service image runs as (services/Dockerfile: `USER 65532:65532`). */
export const SERVICE_UID = 65532;

/** Arguments of {@link MicroService}. */
export interface MicroServiceArgs {
  /** Namespace to deploy into. */
  namespace: pulumi.Input<string>;
  /** The explicit Kubernetes provider. */
  provider: k8s.Provider;
  /** The binary the image runs (`app.kubernetes.io/name`, used by NetworkPolicies). */
  binary: string;
  /** The image, pinned by digest (`repo@sha256:...`); its digest is the version the service reports. */
  image: pulumi.Input<string>;
  /** Replicas when there is no autoscaling. */
  replicas: number;
  /** Requests and limits of the container. */
  resources: { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };
  /**
   * A HorizontalPodAutoscaler on CPU; none when absent. `scaleDownStabilizationSeconds` (0-3600) is its
   * scale-down window (`behavior.scaleDown.stabilizationWindowSeconds`).
   * @default no behavior set: Kubernetes' scale-down window of 300 s
   */
  autoscaling?: { minReplicas: number; maxReplicas: number; cpuPercent: number; scaleDownStabilizationSeconds?: number };
  /**
   * PodDisruptionBudget minAvailable.
   * @default replica floor - 1, or `maxUnavailable: 1` when the floor is one pod
   */
  minAvailable?: number;
  /** Plain env, stored in the service's ConfigMap. */
  env: Record<string, string>;
  /** Secret env (e.g. `JWT_SECRET`), stored in the service's Secret. @default {} */
  secretEnv?: Record<string, pulumi.Input<string>>;
  /** Names of more Secrets to load as env (the data-store connection Secret). @default [] */
  envFromSecrets?: pulumi.Input<string>[];
  /** `stable` or `canary`; becomes the `track` label. @default "stable" */
  track?: "stable" | "canary";
  /** Spread pods across zones and nodes (best effort). @default false */
  spreadTopology?: boolean;
  /** Seconds the pod keeps serving after it is marked terminating, so endpoints drain. @default 5 */
  preStopSeconds?: number;
  /** Grace period; must exceed preStop + the service's SHUTDOWN_TIMEOUT. @default 30 */
  terminationGracePeriodSeconds?: number;
  /** Names of image pull Secrets put on the service's ServiceAccount (a private registry). @default [] */
  imagePullSecrets?: pulumi.Input<string>[];
  /** Where the pods run (nodeSelector, tolerations). @default no placement: any untainted node */
  scheduling?: Scheduling;
  /**
   * The Deployment's `progressDeadlineSeconds`; `pulumi up` waits at most {@link rolloutTimeoutSeconds}
   * of it for a rollout. @default 120 ({@link DEFAULT_PROGRESS_DEADLINE_SECONDS})
   */
  progressDeadlineSeconds?: number;
}

/**
 * One Go service: ServiceAccount without token, ConfigMap and Secret (auto-named, so a content change
 * gives a new name and rolls the pods; the ConfigMap's checksum is also on the pod template), a
 * hardened Deployment, its Service, a PodDisruptionBudget and optionally an HPA.
 */
export class MicroService extends pulumi.ComponentResource {
  /** The Service's name (DNS name inside the namespace). */
  readonly serviceName: pulumi.Output<string>;
  /** `http://<service>.<namespace>.svc:8080` (no cluster domain: it resolves under any). */
  readonly endpoint: pulumi.Output<string>;
  /** The Deployment's name. */
  readonly deploymentName: pulumi.Output<string>;

  constructor(name: string, args: MicroServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:MicroService", name, {}, opts);
    const fail = (field: string, what: string) => new pulumi.ResourceError(`MicroService ${name}: ${field} ${what}`, this);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 50) throw fail("name", "must be a DNS label of at most 50 characters (e.g. product)");
    if (!Number.isInteger(args.replicas) || args.replicas < 1) throw fail("replicas", `must be a whole number >= 1 (got ${args.replicas})`);
    const a = args.autoscaling;
    if (a && (a.minReplicas < 1 || a.minReplicas > a.maxReplicas)) throw fail("autoscaling", `needs 1 <= minReplicas <= maxReplicas (got ${a.minReplicas}..${a.maxReplicas})`);
    const window = a?.scaleDownStabilizationSeconds;
    if (window !== undefined && (!Number.isInteger(window) || window < 0 || window > MAX_HPA_STABILIZATION_SECONDS)) {
      throw fail("autoscaling.scaleDownStabilizationSeconds", `must be a whole number of seconds from 0 to ${MAX_HPA_STABILIZATION_SECONDS} (got ${window}); leave it out for Kubernetes' default of 300`);
    }
    for (const k of Object.keys(args.secretEnv ?? {})) {
      if (k in args.env) throw fail("env", `and secretEnv both set ${k}`);
    }

    const track = args.track ?? "stable";
    const preStop = args.preStopSeconds ?? 5;
    const grace = args.terminationGracePeriodSeconds ?? 30;
    if (grace <= preStop) throw fail("terminationGracePeriodSeconds", `must exceed preStopSeconds (${preStop})`);
    const deadline = args.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
    if (!Number.isInteger(deadline) || deadline < 1) throw fail("progressDeadlineSeconds", `must be a whole number >= 1 (got ${deadline})`);
    let goMemory: string;
    try {
      goMemory = goMemLimit(args.resources.memoryLimit);
    } catch (e) {
      throw fail("resources.memoryLimit", (e as Error).message);
    }
    const floor = a?.minReplicas ?? args.replicas;
    const rollout = rolloutTimeoutSeconds(deadline, a?.maxReplicas ?? args.replicas);
    const labels = { ...appLabels(args.binary, name, "service"), track };
    const selector = selectorLabels(name);
    const child = { parent: this, provider: args.provider };

    const meta = (extra: Partial<k8s.types.input.meta.v1.ObjectMeta> = {}) => ({ namespace: args.namespace, labels, ...extra });

    const pullSecrets = (args.imagePullSecrets ?? []).map((n) => ({ name: n }));
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: meta({ name }), automountServiceAccountToken: false, ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}) },
      child,
    );

    // Auto-named: Pulumi replaces a ConfigMap/Secret whose data changes, under a new name.
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta(), data: args.env }, child);
    const envFrom: k8s.types.input.core.v1.EnvFromSource[] = [{ configMapRef: { name: config.metadata.name } }];
    if (args.secretEnv && Object.keys(args.secretEnv).length) {
      const secret = new k8s.core.v1.Secret(
        `${name}-secret`,
        { metadata: meta(), type: "Opaque", stringData: pulumi.secret(pulumi.output(args.secretEnv)) },
        child,
      );
      envFrom.push({ secretRef: { name: secret.metadata.name } });
    }
    for (const s of args.envFromSecrets ?? []) envFrom.push({ secretRef: { name: s } });

    const podSpec: k8s.types.input.core.v1.PodSpec = {
      ...placement(args.scheduling),
      serviceAccountName: sa.metadata.name,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext(SERVICE_UID, SERVICE_UID),
      terminationGracePeriodSeconds: grace,
      containers: [
        {
          name: "app",
          image: args.image,
          imagePullPolicy: "IfNotPresent",
          ports: [{ name: "http", containerPort: HTTP_PORT, protocol: "TCP" }],
          envFrom,
          env: [
            // Go's soft memory limit, below the container limit: the GC works hard before the cgroup edge.
            { name: "GOMEMLIMIT", value: goMemory },
            // The build the service reports (/healthz, X-Service-Version): its image's digest. Given here,
            // not built into the image, so a digest depends on the service's own code only.
            { name: VERSION_ENV, value: pulumi.output(args.image).apply((ref) => {
              try {
                return imageVersion(ref);
              } catch (e) {
                throw new pulumi.ResourceError(`MicroService ${name}: ${(e as Error).message}`, this);
              }
            }) },
          ],
          resources: {
            requests: { cpu: args.resources.cpu, memory: args.resources.memory },
            limits: { cpu: args.resources.cpuLimit, memory: args.resources.memoryLimit },
          },
          startupProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
          // Liveness only catches a wedged process, so it is lenient: a node whose CPU is saturated for
          // half a minute (seen on the 2-core local node while a stack was destroyed beside it) made
          // /healthz miss 2 s three times and the kubelet restart healthy pods, which deepened the
          // overload. Readiness stays quick: it only takes a slow pod out of its Service.
          livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
          readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
          // The image has no shell: the kubelet's own sleep handler keeps the pod serving while
          // the endpoint removal propagates, then SIGTERM starts the graceful shutdown.
          lifecycle: { preStop: { sleep: { seconds: preStop } } },
          securityContext: containerSecurityContext(true),
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        },
      ],
      volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
    };
    if (args.spreadTopology) {
      // Best effort (ScheduleAnyway): a single-zone or single-node cluster still schedules every pod.
      podSpec.topologySpreadConstraints = ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
        topologyKey,
        maxSkew: 1,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector },
        matchLabelKeys: ["pod-template-hash"],
      }));
    }

    const deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: meta({ name }),
        spec: {
          // With an HPA the replica count is the HPA's: leaving it out keeps `pulumi up` from resetting it.
          ...(a ? {} : { replicas: args.replicas }),
          revisionHistoryLimit: 5,
          // A rollout without progress for this long is marked failed (ProgressDeadlineExceeded); with
          // maxUnavailable 0 the old pods keep serving meanwhile.
          progressDeadlineSeconds: deadline,
          selector: { matchLabels: selector },
          // One extra pod at a time and never fewer ready pods than wanted: traffic is unaffected by a
          // rollout, and by one whose new pods never become ready.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: {
              labels: { ...labels, ...selector },
              annotations: {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(HTTP_PORT),
                "prometheus.io/path": "/metrics",
                // Plain config only; secret changes roll the pods through the Secret's new name.
                "checksum/config": checksum(args.env),
              },
            },
            spec: podSpec,
          },
        },
      },
      { ...child, customTimeouts: { create: `${rollout}s`, update: `${rollout}s` } },
    );

    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: meta({ name }),
        spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" }] },
      },
      { ...child, dependsOn: [deployment] },
    );

    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: meta({ name }),
        spec: {
          selector: { matchLabels: selector },
          ...(args.minAvailable !== undefined
            ? { minAvailable: args.minAvailable }
            : floor > 1
              ? { minAvailable: floor - 1 }
              : { maxUnavailable: 1 }),
        },
      },
      child,
    );

    if (a) {
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-hpa`,
        {
          metadata: meta({ name }),
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
            minReplicas: a.minReplicas,
            maxReplicas: a.maxReplicas,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.cpuPercent } } }],
            ...(window !== undefined ? { behavior: { scaleDown: { stabilizationWindowSeconds: window } } } : {}),
          },
        },
        child,
      );
    }

    this.serviceName = service.metadata.name;
    this.deploymentName = deployment.metadata.name;
    this.endpoint = pulumi.interpolate`http://${service.metadata.name}.${service.metadata.namespace}.svc:${HTTP_PORT}`;
    this.registerOutputs({ serviceName: this.serviceName, endpoint: this.endpoint, deploymentName: this.deploymentName });
  }
}
