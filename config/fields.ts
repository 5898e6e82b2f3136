/**
 * The building blocks of the stack config's schema (config/schema.ts): the names and env vars the
 * program owns, and the zod types of quantities, images, placement, services, image builds and the
 * gray release. `.meta({ example })` feeds the "e.g." part of the problems config/problems.ts writes.
 */
import { durationSeconds } from "../components/monitoring/prometheus-config";
import { z } from "zod";
import { BINARIES } from "../catalog";
// Quantities and durations (config/units.ts): the schema validates with them, the components size with them.
import { bytes, goDurationMs, isSize, milliCpu } from "./units";

export const NAMESPACE = "shop";

/** How the public entries are routed: Gateway API HTTPRoutes, or plain Ingresses. */
export const ROUTING_MODES = ["gateway", "ingress"] as const;
/** The GatewayClass of the Gateway the local stack creates (scripts/cluster.sh makes it). */
export const LOCAL_GATEWAY_CLASS = "traefik";

/** Env vars fed from Kubernetes Secrets: never settable through `shop:services.<name>.env`. */
export const SECRET_ENV = ["JWT_SECRET", "MYSQL_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD"] as const;
/** Env vars the program owns, and where their value comes from instead. */
export const PROGRAM_ENV: Record<string, string> = {
  HTTP_ADDR: "the program sets it",
  GOMEMLIMIT: "the program derives it from resources.memoryLimit",
  SERVICE_VERSION: "the program sets it to the digest of the image the service runs",
  UPSTREAM_TIMEOUT: "the timeout budgets are set, in order, by components/request-budgets.ts",
  REQUEST_TIMEOUT: "the timeout budgets are set, in order, by components/request-budgets.ts",
  PRODUCT_TIMEOUT: "the timeout budgets are set, in order, by components/request-budgets.ts",
  ORDER_PAYMENT_TIMEOUT: "set shop:order.paymentTimeout",
  TRUSTED_PROXY_HOPS: "set shop:gateway.trustedProxyHops",
};
/** Env names no `shop:services.<name>.env` may set: the program or the secrets own them. */
export const RESERVED_ENV = [...Object.keys(PROGRAM_ENV), ...SECRET_ENV];

// ---------------------------------------------------------------------------------------------
// Schema building blocks. `.meta({ example })` feeds the "e.g." part of error messages.

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = (example: string, max = 63) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .regex(DNS_LABEL, { error: "must be a DNS label: lower-case letters, digits and '-', starting and ending alphanumeric" })
    .meta({ example });

export const cpu = (example: string) =>
  z.string().regex(/^(\d+m|\d+(\.\d{1,3})?)$/, { error: "must be a CPU quantity (millicores like 250m, or cores like 0.5)" }).meta({ example });
export const memory = (example: string) =>
  z.string().regex(/^[1-9]\d*(Ki|Mi|Gi|Ti)$/, { error: "must be a size with a binary suffix (Ki, Mi, Gi, Ti)" }).meta({ example });
export const digestRef = (svc: string) =>
  z
    .string()
    .regex(/^[a-z0-9][^\s@]*@sha256:[0-9a-f]{64}$/, { error: "must be an image reference pinned by digest (<repository>@sha256:<64 hex digits>)" })
    .meta({ example: `127.0.0.1:5000/shop/${svc}@sha256:${"0123456789abcdef".repeat(4)}` });
export const imageRef = (example: string) =>
  z.string().regex(/^[a-z0-9][^\s]*$/, { error: "must be an image reference" }).meta({ example });
export const positiveInt = (example: number, max: number) =>
  z.number().int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(max, { error: `must be at most ${max}` }).meta({ example });

// Placement: Kubernetes label keys (an optional DNS-subdomain prefix and "/", then a name of at most
// 63 characters) and values, and the tolerations a stack may give.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** True when `k` is a valid label (or taint) key. */
export function isLabelKey(k: string): boolean {
  const slash = k.lastIndexOf("/");
  const [prefix, name] = slash < 0 ? [undefined, k] : [k.slice(0, slash), k.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}
const LABEL_KEY_RULE = "must be a label key like shop.example.com/pool or kubernetes.io/arch (an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)";
const labelKey = z.string().refine(isLabelKey, { error: LABEL_KEY_RULE }).meta({ example: "shop.example.com/pool" });
const labelValue = z
  .string({ error: "must be a string (quote true, false and numbers)" })
  .max(63, { error: "must be at most 63 characters" })
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, { error: "must be a label value: letters, digits, '-', '_' or '.', starting and ending alphanumeric" })
  .meta({ example: "observability" });

const toleration = z
  .strictObject({
    key: labelKey.optional(),
    operator: z.enum(["Equal", "Exists"], { error: "must be Equal or Exists" }).meta({ example: "Equal" }).optional(),
    value: labelValue.optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"], { error: "must be NoSchedule, PreferNoSchedule or NoExecute (or left out: every effect)" }).meta({ example: "NoSchedule" }).optional(),
    tolerationSeconds: z.number().int({ error: "must be a whole number" }).min(0, { error: "must be at least 0" }).meta({ example: 300 }).optional(),
  })
  .superRefine((t, ctx) => {
    const exists = t.operator === "Exists";
    if (exists && t.value !== undefined) ctx.addIssue({ code: "custom", path: ["value"], message: "must be left out with operator Exists (it matches the key alone); remove it, or use operator Equal" });
    if (t.key === undefined && !exists) ctx.addIssue({ code: "custom", path: ["key"], message: "is required unless operator is Exists (no key with Exists tolerates every taint)" });
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") ctx.addIssue({ code: "custom", path: ["tolerationSeconds"], message: "applies to effect NoExecute only; set effect: NoExecute or remove it" });
  });

/** Where a workload's pods run: `nodeSelector` labels every node must carry, `tolerations` of taints. */
export const scheduling = z.strictObject({
  nodeSelector: z.record(labelKey, labelValue).optional(),
  tolerations: z.array(toleration).optional(),
});

/** The third-party workloads a stack can place (`shop:scheduling.<workload>`): their `app.kubernetes.io/name`. */
export const THIRD_PARTY_WORKLOADS = ["mysql", "redis", "rabbitmq", "prometheus", "alertmanager", "kube-state-metrics", "grafana", "elasticsearch", "kibana", "fluent-bit"] as const;
export type ThirdPartyWorkload = (typeof THIRD_PARTY_WORKLOADS)[number];
/** The third-party images a stack can override (`shop:images.thirdParty.<name>`): the workloads' and the logging setup Jobs' `curl`. */
export const THIRD_PARTY_IMAGES = [...THIRD_PARTY_WORKLOADS, "curl"] as const;
export type ThirdPartyImage = (typeof THIRD_PARTY_IMAGES)[number];

export const resources = z
  .strictObject({
    cpu: cpu("100m").default("50m"),
    memory: memory("64Mi").default("64Mi"),
    cpuLimit: cpu("500m").default("250m"),
    memoryLimit: memory("128Mi").default("128Mi"),
  })
  .superRefine((r, ctx) => {
    if (milliCpu(r.cpu) > milliCpu(r.cpuLimit)) ctx.addIssue({ code: "custom", path: ["cpuLimit"], message: `must be at least the request cpu (${r.cpu})` });
    // Refinements run even when a field failed its own check: compare only sizes that parsed.
    if (isSize(r.memory) && isSize(r.memoryLimit) && bytes(r.memory) > bytes(r.memoryLimit)) ctx.addIssue({ code: "custom", path: ["memoryLimit"], message: `must be at least the request memory (${r.memory})` });
  });

/** The API server's limit of an HPA's `stabilizationWindowSeconds`. */
export const MAX_HPA_STABILIZATION_SECONDS = 3600;

const autoscaling = z
  .strictObject({
    minReplicas: positiveInt(3, 100),
    maxReplicas: positiveInt(10, 100),
    cpuPercent: z.number().int({ error: "must be a whole number" }).min(10).max(100).meta({ example: 70 }).default(70),
    /**
     * How long the HPA keeps the highest recommendation of the window before it scales in
     * (`behavior.scaleDown.stabilizationWindowSeconds`); left out: Kubernetes' default, 300 s.
     */
    scaleDownStabilizationSeconds: z
      .number()
      .int({ error: "must be a whole number of seconds" })
      .min(0, { error: "must be at least 0 (0 scales in as soon as the load drops)" })
      .max(MAX_HPA_STABILIZATION_SECONDS, { error: `must be at most ${MAX_HPA_STABILIZATION_SECONDS} (one hour, the API server's limit); leave it out for Kubernetes' default of 300` })
      .meta({ example: 300 })
      .optional(),
  })
  .superRefine((a, ctx) => {
    if (a.minReplicas > a.maxReplicas) ctx.addIssue({ code: "custom", path: ["maxReplicas"], message: `must be at least minReplicas (${a.minReplicas})` });
  });

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "must be an env var name like RATE_LIMIT_RPS" });

export const service = z
  .strictObject({
    /** Which binary of `services/cmd` this service runs; defaults to the service's own name. */
    binary: z.enum(BINARIES, { error: `must be one of ${BINARIES.join(", ")}` }).meta({ example: "product" }).optional(),
    replicas: positiveInt(2, 100).default(1),
    resources: resources.prefault({}),
    autoscaling: autoscaling.optional(),
    /** Where the service's pods run; default: `shop:scheduling.default`. */
    scheduling: scheduling.optional(),
    /** PodDisruptionBudget minAvailable; default: replicas - 1 (or maxUnavailable 1 for one replica). */
    minAvailable: z.number().int().min(1).max(100).meta({ example: 2 }).optional(),
    env: z
      .record(envName, z.string({ error: "must be a string (quote numbers)" }).meta({ example: "50" }))
      .superRefine((env, ctx) => {
        for (const k of Object.keys(env)) {
          if (RESERVED_ENV.includes(k)) {
            const fix = (SECRET_ENV as readonly string[]).includes(k) ? "it comes from shop:secrets / the data stores" : PROGRAM_ENV[k];
            ctx.addIssue({ code: "custom", path: [k], message: `${k} cannot be set here: ${fix}` });
          }
        }
      })
      .default({}),
  })
  .superRefine((s, ctx) => {
    const floor = s.autoscaling?.minReplicas ?? s.replicas;
    if (s.minAvailable !== undefined && s.minAvailable >= floor && floor > 0) {
      ctx.addIssue({ code: "custom", path: ["minAvailable"], message: `must be below the replica floor (${floor}) or no pod could ever be evicted` });
    }
  });

export const storeCommon = {
  storageSize: memory("1Gi").default("1Gi"),
  host: z.string().min(1).meta({ example: "mysql.internal.example.com" }).optional(),
  port: z.number().int().min(1).max(65535).meta({ example: 3306 }).optional(),
  image: imageRef("mysql:8.4.6").optional(),
  resources: resources.optional(),
};

/** Build args the program sets itself (from the service and `shop:images.build`), and why each is refused. */
const OWNED_BUILD_ARGS: Record<string, string> = {
  SERVICE: "the program sets it to each service's binary",
  BUILDER_IMAGE: "set shop:images.build.builderImage instead",
  RUNTIME_IMAGE: "set shop:images.build.runtimeImage instead",
  BUILDKIT_INLINE_CACHE: "it writes the build stage's cache keys into every image's config, so any edit under services/ would change every digest",
};

/**
 * `shop:images.build`: how the service images are built. Exported because the harness builds with the
 * same settings (components/image-build.ts reads a stack file through it), so the defaults live here once.
 */
export const imageBuildSchema = z.strictObject({
  builderImage: imageRef("golang:1.25-bookworm").default("shop/go-builder:local"),
  runtimeImage: imageRef("gcr.io/distroless/static-debian12:nonroot").default("shop/static:1"),
  platform: z.enum(["linux/amd64", "linux/arm64"], { error: "must be linux/amd64 or linux/arm64" }).meta({ example: "linux/amd64" }).default("linux/amd64"),
  /** The network of the build's RUN steps; `host` for an engine without a bridge (the local one). */
  network: z.enum(["host", "default", "none"], { error: "must be host, default or none" }).meta({ example: "default" }).default("host"),
  /** Extra build args for the Dockerfile. */
  args: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be a build arg name like GOPROXY" }),
      z.string({ error: "must be a string (quote numbers)" }).meta({ example: "https://proxy.golang.org" }),
    )
    .superRefine((args, ctx) => {
      for (const k of Object.keys(args)) {
        if (OWNED_BUILD_ARGS[k]) ctx.addIssue({ code: "custom", path: [k], message: `${k} cannot be set here: ${OWNED_BUILD_ARGS[k]}` });
      }
    })
    .default({}),
  /** A cache image per service that something else writes (e.g. CI); `{service}` is replaced by the binary. */
  cacheFrom: z
    .string()
    .regex(/^[a-z0-9][^\s@]*\{service\}[^\s@]*$/, { error: "must be an image reference containing {service}" })
    .meta({ example: "registry.example.com/shop/{service}:buildcache" })
    .optional(),
});

/** `shop:routing.canary.analysis`: the steps, interval and checks of an automated gray release. */
/** A Prometheus scrape or evaluation interval: 1s to 5m. */
export const promInterval = z
  .string()
  .regex(/^(\d+[sm])+$/, { error: "must be a Prometheus duration of seconds or minutes like 15s, 1m or 1m30s" })
  .refine((d) => { const s = durationSeconds(d); return s >= 1 && s <= 300; }, { error: "must be from 1s to 5m" })
  .meta({ example: "30s" });

/** The default of `shop:delivery.progressDeadlineSeconds` (docs/delivery.md). */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 120;

export const canaryAnalysis = z
  .strictObject({
    /** Canary weights in percent, strictly ascending, 1..100. */
    steps: z
      .array(z.number().int({ error: "must be whole numbers" }).min(1, { error: "must be at least 1" }).max(100, { error: "must be at most 100" }), { error: "must be a list of percentages" })
      .min(1, { error: "must list at least one step" })
      .max(20, { error: "must list at most 20 steps" })
      .refine((a) => a.every((w, i) => i === 0 || w > a[i - 1]), { error: "must be strictly ascending (e.g. [5, 25, 50, 100])" })
      .meta({ example: [5, 25, 50, 100] })
      .default([5, 25, 50, 100]),
    /** How long each step runs before its analysis (a Go duration, at least 1s). */
    interval: z
      .string()
      .refine((d) => (goDurationMs(d) ?? 0) >= 1000, { error: "must be a duration of at least 1s like 30s, 1m or 1m30s" })
      .meta({ example: "1m" })
      .default("1m"),
    /** Failed checks tolerated; the next one aborts. */
    failureLimit: z.number().int({ error: "must be a whole number" }).min(0).max(100).meta({ example: 1 }).default(1),
    /** Lowest share of non-5xx responses of the canary that passes. */
    minSuccessRate: z.number({ error: "must be a number" }).gt(0, { error: "must be above 0" }).max(1, { error: "must be at most 1" }).meta({ example: 0.99 }).default(0.99),
    /** Highest p99 latency (seconds) of the canary that passes. */
    maxP99Seconds: z.number({ error: "must be a number" }).gt(0, { error: "must be above 0" }).max(60, { error: "must be at most 60" }).meta({ example: 0.5 }).default(0.5),
    /** `pulumi up` waits for the release's outcome (and fails when it is aborted); false: it returns once the release is written. */
    waitForPromotion: z.boolean({ error: "must be true or false" }).meta({ example: true }).default(true),
  });
