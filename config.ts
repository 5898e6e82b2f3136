/**
 * The one reader of stack config. `loadConfig()` reads every `shop:*` key once, validates the whole
 * thing with zod and returns a deep-frozen plain object. Every problem is collected and reported in
 * ONE error, one line per problem: the key path, what was wrong and an example of a right value.
 *
 * Defaults are the `local` stack's (the embedded default): an empty config deploys the local stack.
 * Secret-bearing keys (`shop:secrets`, `shop:registry.password`, `shop:cluster.kubeconfig`) must be
 * secret config and come back wrapped in `pulumi.secret()`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { BINARIES, Binary } from "./catalog";
import { bytes, goDurationMs, isSize, milliCpu } from "./config/units";
import { DEFAULT_DNS_PEER } from "./components/k8s-defaults";

export const NAMESPACE = "shop";

// The service list lives in catalog.ts; re-exported here for the callers that read it with the config.
export { BINARIES };
export type { Binary };

/** How the public entries are routed: Gateway API HTTPRoutes, or plain Ingresses. */
export const ROUTING_MODES = ["gateway", "ingress"] as const;
/** The GatewayClass of the Gateway the local stack creates (scripts/cluster.sh makes it). */
export const LOCAL_GATEWAY_CLASS = "traefik";

/** Env vars fed from Kubernetes Secrets: never settable through `shop:services.<name>.env`. */
export const SECRET_ENV = ["JWT_SECRET", "MYSQL_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD"] as const;
/** Env vars the program owns, and where their value comes from instead. */
const PROGRAM_ENV: Record<string, string> = {
  HTTP_ADDR: "the program sets it",
  GOMEMLIMIT: "the program derives it from resources.memoryLimit",
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

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (example: string, max = 63) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .regex(DNS_LABEL, { error: "must be a DNS label: lower-case letters, digits and '-', starting and ending alphanumeric" })
    .meta({ example });

const cpu = (example: string) =>
  z.string().regex(/^(\d+m|\d+(\.\d{1,3})?)$/, { error: "must be a CPU quantity (millicores like 250m, or cores like 0.5)" }).meta({ example });
const memory = (example: string) =>
  z.string().regex(/^[1-9]\d*(Ki|Mi|Gi|Ti)$/, { error: "must be a size with a binary suffix (Ki, Mi, Gi, Ti)" }).meta({ example });
const digestRef = (svc: string) =>
  z
    .string()
    .regex(/^[a-z0-9][^\s@]*@sha256:[0-9a-f]{64}$/, { error: "must be an image reference pinned by digest (<repository>@sha256:<64 hex digits>)" })
    .meta({ example: `127.0.0.1:5000/shop/${svc}@sha256:${"0123456789abcdef".repeat(4)}` });
const imageRef = (example: string) =>
  z.string().regex(/^[a-z0-9][^\s]*$/, { error: "must be an image reference" }).meta({ example });
const positiveInt = (example: number, max: number) =>
  z.number().int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(max, { error: `must be at most ${max}` }).meta({ example });

// Quantities and durations (config/units.ts): the schema validates with them, the components size with them.
export { bytes, goDurationMs, milliCpu };

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
const scheduling = z.strictObject({
  nodeSelector: z.record(labelKey, labelValue).optional(),
  tolerations: z.array(toleration).optional(),
});

/** The third-party workloads a stack can place (`shop:scheduling.<workload>`): their `app.kubernetes.io/name`. */
export const THIRD_PARTY_WORKLOADS = ["mysql", "redis", "rabbitmq", "prometheus", "alertmanager", "kube-state-metrics", "grafana", "elasticsearch", "kibana", "fluent-bit"] as const;
export type ThirdPartyWorkload = (typeof THIRD_PARTY_WORKLOADS)[number];
/** The third-party images a stack can override (`shop:images.thirdParty.<name>`): the workloads' and the logging setup Jobs' `curl`. */
export const THIRD_PARTY_IMAGES = [...THIRD_PARTY_WORKLOADS, "curl"] as const;
export type ThirdPartyImage = (typeof THIRD_PARTY_IMAGES)[number];

const resources = z
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

const autoscaling = z
  .strictObject({
    minReplicas: positiveInt(3, 100),
    maxReplicas: positiveInt(10, 100),
    cpuPercent: z.number().int({ error: "must be a whole number" }).min(10).max(100).meta({ example: 70 }).default(70),
  })
  .superRefine((a, ctx) => {
    if (a.minReplicas > a.maxReplicas) ctx.addIssue({ code: "custom", path: ["maxReplicas"], message: `must be at least minReplicas (${a.minReplicas})` });
  });

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "must be an env var name like RATE_LIMIT_RPS" });

const service = z
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

const storeCommon = {
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
const canaryAnalysis = z
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

const schema = z.strictObject({
  environment: z.enum(["local", "dev", "prod"], { error: "must be one of local, dev, prod" }).meta({ example: "dev" }).default("local"),
  // <namespace>-observability must also fit in 63 characters.
  namespace: dnsLabel("shop-dev", 49).default("shop-local"),
  cluster: z
    .strictObject({
      context: z.string().min(1).meta({ example: "dev-cluster" }).optional(),
      kubeconfig: z.string().min(1).meta({ example: "<kubeconfig contents, as secret config>" }).optional(),
    })
    .prefault({}),
  registry: z
    .strictObject({
      server: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$/, { error: "must be host[:port] without a scheme or path" })
        .meta({ example: "registry.example.com" })
        .default("127.0.0.1:5000"),
      project: z
        .string()
        .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, { error: "must be a repository path like shop or team/shop" })
        .meta({ example: "shop" })
        .default("shop"),
      username: z.string().min(1).meta({ example: "ci-bot" }).optional(),
      password: z.string().min(1).meta({ example: "<token, as secret config>" }).optional(),
    })
    .superRefine((r, ctx) => {
      if ((r.username === undefined) !== (r.password === undefined)) {
        ctx.addIssue({ code: "custom", path: [r.username === undefined ? "username" : "password"], message: "username and password go together: give both or neither" });
      }
    })
    .prefault({}),
  images: z
    .strictObject({
      build: imageBuildSchema.prefault({}),
      prebuilt: z
        .strictObject({ gateway: digestRef("gateway"), user: digestRef("user"), product: digestRef("product"), order: digestRef("order") })
        .optional(),
      /** Replacements of the pinned third-party images (e.g. a mirror, or images built locally). */
      thirdParty: z
        .strictObject(Object.fromEntries(THIRD_PARTY_IMAGES.map((n) => [n, imageRef(`registry.example.com/mirror/${n}@sha256:${"0123456789abcdef".repeat(4)}`).optional()])) as Record<ThirdPartyImage, z.ZodOptional<ReturnType<typeof imageRef>>>)
        .prefault({}),
    })
    .prefault({}),
  /** The Docker daemon that builds the images (the explicit docker provider); unused with prebuilt images. */
  docker: z
    .strictObject({
      host: z
        .string()
        .regex(/^(unix|tcp|ssh|npipe):\/\/\S+$/, { error: "must be a daemon address with a scheme (unix://, tcp://, ssh:// or npipe://)" })
        .meta({ example: "unix:///var/run/docker.sock" })
        .optional(),
    })
    .prefault({}),
  services: z
    .record(
      z.string().max(50).regex(DNS_LABEL, { error: "service names must be DNS labels" }),
      service.prefault({}),
    )
    .superRefine((services, ctx) => {
      for (const [name, s] of Object.entries(services)) {
        if (!s.binary && !(BINARIES as readonly string[]).includes(name)) {
          ctx.addIssue({ code: "custom", path: [name, "binary"], message: `is required for a service not named after a binary (${BINARIES.join(", ")})` });
        }
      }
    })
    .default({}),
  logLevel: z.enum(["debug", "info", "warn", "error"], { error: "must be one of debug, info, warn, error" }).meta({ example: "info" }).default("info"),
  routing: z
    .strictObject({
      /** `gateway` (Gateway API HTTPRoutes, the default) or `ingress` (plain networking.k8s.io/v1 Ingress). */
      mode: z.enum(ROUTING_MODES, { error: "must be gateway or ingress" }).meta({ example: "gateway" }).default("gateway"),
      host: z
        .string()
        .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: "must be a DNS host name (no scheme, no path)" })
        .meta({ example: "shop.example.com" })
        .default("shop.localhost"),
      /** Namespace of the edge (the Gateway implementation's or ingress controller's pods); admitted by NetworkPolicy. */
      edgeNamespace: dnsLabel("envoy-gateway-system").default("traefik"),
      gateway: z
        .strictObject({
          /** A shared Gateway the routes attach to (with `namespace`); excludes `className`. */
          name: dnsLabel("shared-gateway", 253).optional(),
          namespace: dnsLabel("gateway-system").optional(),
          /** The GatewayClass of a Gateway the program creates in the shop namespace. */
          className: dnsLabel("envoy", 253).optional(),
          /** Listener (sectionName) of the shared Gateway for plain HTTP. */
          httpListener: dnsLabel("http", 253).default("http"),
          /** Listener (sectionName) of the shared Gateway for HTTPS (used when tls.enabled). */
          httpsListener: dnsLabel("https", 253).default("https"),
        })
        .prefault({}),
      ingress: z
        .strictObject({
          /** IngressClass of the plain Ingresses; default: the cluster's default class. */
          className: dnsLabel("nginx", 253).optional(),
        })
        .prefault({}),
      tls: z
        .strictObject({
          enabled: z.boolean({ error: "must be true or false" }).meta({ example: true }).default(false),
          secretName: dnsLabel("shop-tls", 253).default("shop-tls"),
          /** Namespace of the certificate Secret when it is not the Gateway's (a ReferenceGrant is made there). */
          secretNamespace: dnsLabel("certificates").optional(),
          /** When set, cert-manager issues the certificate into `secretName`; otherwise the secret must exist. */
          clusterIssuer: z.string().min(1).meta({ example: "letsencrypt-prod" }).optional(),
        })
        .prefault({}),
      canary: z
        .strictObject({
          enabled: z.boolean({ error: "must be true or false" }).meta({ example: true }).default(false),
          weight: z.number().int({ error: "must be a whole number" }).min(0).max(100).meta({ example: 10 }).default(10),
          /** The gateway image to send `weight`% of requests to; default: the current gateway image. */
          image: digestRef("gateway").optional(),
          /**
           * Fault injection on the canary only: the share (0..1) of its requests it answers with 500
           * (`FAULT_ERROR_RATIO`; probes and scrapes excepted). A drill of the analysis and rollback;
           * 0 (off) by default, refused in prod.
           */
          faultErrorRatio: z.number({ error: "must be a number" }).min(0, { error: "must be at least 0" }).max(1, { error: "must be at most 1" }).meta({ example: 0.3 }).default(0),
          /**
           * Automated analysis by the CanaryRelease controller instead of the fixed `weight`: the
           * controller (deployed whenever this is set) moves the weight step by step while the
           * canary's success rate and p99 latency hold, and sets it to 0 when they do not.
           */
          analysis: canaryAnalysis.optional(),
          /** The CanaryRelease controller's image (`scripts/images.sh controller`); required with `analysis`. */
          controller: z.strictObject({ image: digestRef("canary-controller").optional() }).prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  dataStores: z
    .strictObject({
      mode: z.enum(["in-cluster", "external"], { error: "must be in-cluster or external" }).meta({ example: "in-cluster" }).default("in-cluster"),
      mysql: z
        .strictObject({
          ...storeCommon,
          database: z.string().regex(/^[a-z_][a-z0-9_]*$/).meta({ example: "shop" }).default("shop"),
          user: z.string().regex(/^[a-z_][a-z0-9_]*$/).meta({ example: "shop" }).default("shop"),
        })
        .prefault({}),
      redis: z.strictObject({ ...storeCommon }).prefault({}),
      rabbitmq: z
        .strictObject({
          ...storeCommon,
          user: z.string().regex(/^[a-z_][a-z0-9_]*$/).meta({ example: "shop" }).default("shop"),
          vhost: z.string().min(1).meta({ example: "/" }).default("/"),
        })
        .prefault({}),
    })
    .superRefine((d, ctx) => {
      if (d.mode !== "external") return;
      for (const store of ["mysql", "redis", "rabbitmq"] as const) {
        if (!d[store].host) ctx.addIssue({ code: "custom", path: [store, "host"], message: "is required when mode is external" });
      }
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /**
       * How many proxies in front of the gateway append to X-Forwarded-For (the edge's load balancer, the
       * ingress controller); the anonymous rate limit keys on the address that many hops from the right.
       * 0: the TCP peer. docs/config.md says what the edge must preserve.
       */
      trustedProxyHops: z.number().int({ error: "must be a whole number" }).min(0, { error: "must be at least 0 (0: the TCP peer)" }).max(10, { error: "must be at most 10" }).meta({ example: 1 }).default(1),
    })
    .prefault({}),
  order: z
    .strictObject({
      /** How long an order may stay unpaid before it expires and its stock is released (Go duration, 1s to 168h). */
      paymentTimeout: z
        .string()
        .refine((d) => { const ms = goDurationMs(d); return ms !== undefined && ms >= 1000 && ms <= 168 * 3600 * 1000; }, { error: "must be a Go duration from 1s to 168h" })
        .meta({ example: "15m" })
        .default("15m"),
    })
    .prefault({}),
  /**
   * Where the third-party workloads run (`<workload>`), and `default`: the placement of every workload,
   * the services included, that has none of its own. A workload's own entry replaces the default whole.
   */
  scheduling: z
    .strictObject(Object.fromEntries(["default", ...THIRD_PARTY_WORKLOADS].map((w) => [w, scheduling.optional()])) as Record<"default" | ThirdPartyWorkload, z.ZodOptional<typeof scheduling>>)
    .prefault({}),
  storageClass: dnsLabel("standard", 253).default("local-storage"),
  network: z
    .strictObject({
      /**
       * The cluster DNS every pod may query on port 53: DNS pods (`namespace`, narrowed by `pods`)
       * and/or `cidrs` (NodeLocal DNSCache: 169.254.20.10/32). Replaces the default as a whole.
       */
      dns: z
        .strictObject({
          namespace: dnsLabel("kube-system").optional(),
          pods: z
            .record(
              z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { error: "must be a label key like k8s-app" }),
              z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, { error: "must be a label value like kube-dns" }).meta({ example: "kube-dns" }),
            )
            .optional(),
          cidrs: z
            .array(z.union([z.cidrv4(), z.cidrv6()], { error: "must be a CIDR like 169.254.20.10/32" }).meta({ example: "169.254.20.10/32" }))
            .min(1, { error: "must list at least one CIDR (or leave it out)" })
            .optional(),
        })
        .superRefine((d, ctx) => {
          if (!d.namespace && !d.cidrs) ctx.addIssue({ code: "custom", path: [], message: "needs namespace (the DNS pods' namespace) or cidrs (e.g. [169.254.20.10/32]), or both" });
          if (d.pods && !d.namespace) ctx.addIssue({ code: "custom", path: ["pods"], message: "needs namespace: pods are selected in that namespace" });
        })
        .default({ namespace: DEFAULT_DNS_PEER.namespace!, pods: { ...DEFAULT_DNS_PEER.pods } }),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      jwtKey: z.string().min(32, { error: "must be at least 32 characters" }).meta({ example: "<32+ random characters>" }).optional(),
      mysqlPassword: z.string().min(12, { error: "must be at least 12 characters" }).meta({ example: "<12+ random characters>" }).optional(),
      redisPassword: z.string().min(12, { error: "must be at least 12 characters" }).meta({ example: "<12+ random characters>" }).optional(),
      rabbitmqPassword: z.string().min(12, { error: "must be at least 12 characters" }).meta({ example: "<12+ random characters>" }).optional(),
      grafanaAdminPassword: z.string().min(12, { error: "must be at least 12 characters" }).meta({ example: "<12+ random characters>" }).optional(),
      elasticPassword: z.string().min(12, { error: "must be at least 12 characters" }).meta({ example: "<12+ random characters>" }).optional(),
      alertWebhookUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).meta({ example: "https://hooks.example.com/alerts" }).optional(),
    })
    .prefault({}),
  monitoring: z
    .strictObject({
      enabled: z.boolean({ error: "must be true or false" }).meta({ example: true }).default(true),
      retention: z.string().regex(/^\d+(h|d|w|y)$/, { error: "must be a Prometheus retention like 15d" }).meta({ example: "15d" }).default("1d"),
      /**
       * How often Prometheus scrapes every target. A canary analysis' `rate()` over one interval needs
       * two samples in it, so `routing.canary.analysis.interval` must be at least twice this.
       */
      scrapeInterval: z
        .string()
        .regex(/^[1-9]\d*(s|m)$/, { error: "must be whole seconds or minutes like 15s or 1m" })
        .refine((d) => { const ms = goDurationMs(d) ?? 0; return ms >= 1000 && ms <= 300_000; }, { error: "must be from 1s to 5m" })
        .meta({ example: "15s" })
        .default("30s"),
      storageSize: memory("10Gi").default("1Gi"),
      grafanaPath: z.string().regex(/^\/[a-z0-9-]+$/, { error: "must be a path like /grafana" }).meta({ example: "/grafana" }).default("/grafana"),
    })
    .prefault({}),
  logging: z
    .strictObject({
      enabled: z.boolean({ error: "must be true or false" }).meta({ example: true }).default(true),
      retentionDays: positiveInt(7, 3650).default(1),
      elasticsearch: z
        .strictObject({
          replicas: positiveInt(3, 9).default(1),
          storageSize: memory("20Gi").default("1Gi"),
          memory: memory("2Gi").default("1Gi"),
        })
        .superRefine((es, ctx) => {
          // Two master-eligible nodes cannot elect a master once one is gone.
          if (es.replicas === 2) ctx.addIssue({ code: "custom", path: ["replicas"], message: "must be 1 (single node) or 3 or more (a quorum); got 2" });
          if (isSize(es.memory) && bytes(es.memory) < 2 ** 30) ctx.addIssue({ code: "custom", path: ["memory"], message: `must be at least 1Gi (the JVM heap is half of it); got ${es.memory}` });
        })
        .prefault({}),
      kibanaPath: z.string().regex(/^\/[a-z0-9-]+$/, { error: "must be a path like /kibana" }).meta({ example: "/kibana" }).default("/kibana"),
    })
    .prefault({}),
});

type Parsed = z.output<typeof schema>;
type ServiceParsed = z.output<typeof service>;

// ---------------------------------------------------------------------------------------------
// The returned shape.

type DeepReadonly<T> = T extends pulumi.Output<any>
  ? T
  : T extends (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** Secret values, each a Pulumi secret Output; absent ones are generated by the program. */
export type Secrets = { [K in keyof Parsed["secrets"]]?: pulumi.Output<string> };

/** One service as deployed: `binary` always resolved. */
export type ServiceConfig = DeepReadonly<Omit<ServiceParsed, "binary"> & { binary: Binary }>;

/** The validated, frozen stack config. */
export type ShopConfig = DeepReadonly<
  Omit<Parsed, "secrets" | "registry" | "cluster" | "services"> & {
    /** The Pulumi stack name (e.g. `dev`). */
    stack: string;
    cluster: { context?: string; kubeconfig?: pulumi.Output<string> };
    registry: Omit<Parsed["registry"], "password"> & { password?: pulumi.Output<string> };
    services: Record<string, Omit<ServiceParsed, "binary"> & { binary: Binary }>;
    secrets: Secrets;
  }
>;

/**
 * Every problem found in a stack's config, one line each. A `RunError`, so the engine prints just the
 * message (no stack trace, no program source).
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** Top-level keys whose value is structured (JSON from the engine). */
const OBJECT_KEYS = new Set(["cluster", "registry", "images", "docker", "services", "routing", "dataStores", "network", "secrets", "monitoring", "logging", "gateway", "order", "scheduling"]);
/** Fields that hold secrets and so must be given as secret config. */
const SECRET_FIELDS: [top: string, field?: string][] = [["secrets"], ["registry", "password"], ["cluster", "kubeconfig"]];

/**
 * True when the engine handed `fullKey` to the program as secret config. The SDK keeps the list of
 * secret keys next to the config in its store (`isConfigSecret`, internal but exported at runtime);
 * fall back to the env var the language host sets should that function ever move.
 */
function isSecretKey(fullKey: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const internal = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  // Older language hosts spell keys `<namespace>:config:<name>`; accept both spellings.
  const [ns, ...rest] = fullKey.split(":");
  const spellings = [fullKey, `${ns}:config:${rest.join(":")}`];
  if (typeof internal.isConfigSecret === "function") return spellings.some((k) => internal.isConfigSecret!(k));
  const keys = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS || "[]") as string[];
  return spellings.some((k) => keys.includes(k));
}

/** Top-level keys of earlier versions and what replaced them. */
const RETIRED_KEYS: Record<string, string> = {
  ingress: `did you mean ${NAMESPACE}:routing? It replaced ${NAMESPACE}:ingress (className -> routing.ingress.className with routing.mode ingress, controllerNamespace -> routing.edgeNamespace; host, tls and canary keep their names); see docs/config.md`,
};

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
  return d[a.length][b.length];
}
function nearest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(key, c);
    if (dd < bestD) { best = c; bestD = dd; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Unwraps optional/default/prefault/pipe wrappers, collecting `example` metas on the way. */
function unwrap(s: z.ZodType | undefined, examples: unknown[]): z.ZodType | undefined {
  while (s) {
    const meta = s.meta() as { example?: unknown } | undefined;
    if (meta?.example !== undefined) examples.push(meta.example);
    const def = (s as any).def;
    if (def?.innerType) s = def.innerType;
    else if (def?.type === "pipe") s = def.in;
    else break;
  }
  return s;
}

/** The schema node at `path` (objects by key, records by value) and the nearest example found. */
function describeAt(path: PropertyKey[]): { node?: z.ZodType; example?: unknown } {
  const examples: unknown[] = [];
  let node = unwrap(schema, examples);
  for (const seg of path) {
    const def = (node as any)?.def;
    if (def?.type === "object") node = unwrap(def.shape[seg as string], examples);
    else if (def?.type === "record") node = unwrap(def.valueType, examples);
    else { node = undefined; break; }
  }
  return { node, example: examples.length ? examples[examples.length - 1] : undefined };
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: any = raw;
  for (const seg of path) v = v == null ? undefined : v[seg as any];
  return v;
}

const keyPath = (path: PropertyKey[]) => `${NAMESPACE}:` + path.map(String).join(".");
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));
const eg = (ex: unknown) => (ex === undefined ? "" : ` (e.g. ${typeof ex === "string" ? ex : JSON.stringify(ex)})`);

function problemLines(issues: z.core.$ZodIssue[], raw: unknown, secretTops: Set<string>): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === "unrecognized_keys") {
      const { node } = describeAt(path);
      const valid = Object.keys((node as any)?.def?.shape ?? {});
      for (const key of issue.keys) {
        const retired = path.length === 0 ? RETIRED_KEYS[key] : undefined;
        if (retired) {
          lines.push(`${NAMESPACE}:${key}: unknown key; ${retired}`);
          continue;
        }
        const hint = nearest(key, valid);
        const full = path.length === 0 ? `${NAMESPACE}:${key}` : keyPath([...path, key]);
        lines.push(`${full}: unknown key${hint ? `; did you mean ${path.length === 0 ? `${NAMESPACE}:${hint}` : keyPath([...path, hint])}?` : ""} (valid here: ${valid.join(", ")})`);
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      const inner = (issue as any).issues?.[0]?.message ?? issue.message;
      lines.push(`${keyPath(path)}: bad key ${JSON.stringify(String(path[path.length - 1]))}: ${inner}`);
      continue;
    }
    const { example } = describeAt(path);
    // Never echo a secret value back.
    const secret = SECRET_FIELDS.some(([top, field]) => secretTops.has(top) && path[0] === top && (field === undefined || path[1] === field));
    const got = secret ? "[secret]" : show(valueAt(raw, path));
    let what: string;
    if (issue.code === "invalid_type") what = `expected ${(issue as any).expected}, got ${got}`;
    else if (issue.code === "invalid_value") what = `${issue.message.replace(/^Invalid option: /, "")}; got ${got}`;
    else what = `${issue.message}; got ${got}`;
    lines.push(`${keyPath(path)}: ${what}${eg(example)}`);
  }
  return lines;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !pulumi.Output.isInstance(o) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Cross-key checks of `shop:routing`: which Gateway, which TLS, and what each mode can do. */
function routingProblems(p: Parsed): string[] {
  const r = p.routing;
  const k = (path: string) => `${NAMESPACE}:routing.${path}`;
  const out: string[] = [];
  const g = r.gateway;
  if (r.mode === "ingress") {
    if (r.canary.enabled) {
      out.push(`${k("canary.enabled")}: a gray release needs weighted backendRefs, which only the Gateway API has; set ${k("mode")} to gateway, or ${k("canary.enabled")} to false`);
    }
    for (const f of ["name", "namespace", "className"] as const) {
      if (g[f] !== undefined) out.push(`${k(`gateway.${f}`)}: applies to ${k("mode")} gateway only; remove it or set the mode to gateway`);
    }
    if (r.tls.secretNamespace !== undefined) {
      out.push(`${k("tls.secretNamespace")}: an Ingress can only use a Secret of its own namespace; remove it (the Secret must live in the shop namespace)`);
    }
    return out;
  }
  if (r.ingress.className !== undefined) out.push(`${k("ingress.className")}: applies to ${k("mode")} ingress only; remove it`);
  const shared = g.name !== undefined || g.namespace !== undefined;
  if (g.namespace !== undefined && g.name === undefined) {
    out.push(`${k("gateway.name")}: is required with ${k("gateway.namespace")}: the name of the shared Gateway to attach to (e.g. shared-gateway)`);
  }
  if (g.name !== undefined && g.namespace === undefined) {
    out.push(`${k("gateway.namespace")}: is required with ${k("gateway.name")}: the namespace of the shared Gateway (e.g. gateway-system)`);
  }
  if (shared && g.className !== undefined) {
    out.push(`${k("gateway.className")}: give either a shared Gateway (gateway.name and gateway.namespace) or a class for a Gateway the program creates, not both`);
  }
  if (!shared && g.className === undefined && p.environment !== "local") {
    out.push(`${k("gateway.name")}: is required in ${p.environment}: name the shared Gateway (gateway.name and gateway.namespace), or set ${k("gateway.className")} for a Gateway the program creates`);
  }
  if (shared) {
    if (r.tls.clusterIssuer !== undefined) {
      out.push(`${k("tls.clusterIssuer")}: a shared Gateway's certificate is its owner's business (cert-manager reads the issuer from the Gateway); remove it, or let the program create the Gateway (gateway.className)`);
    }
    if (r.tls.secretNamespace !== undefined) {
      out.push(`${k("tls.secretNamespace")}: a shared Gateway's listeners are its owner's; remove it (tls.enabled only attaches the routes to the ${g.httpsListener} listener)`);
    }
  } else {
    if (g.httpListener !== "http" || g.httpsListener !== "https") {
      out.push(`${k(g.httpListener !== "http" ? "gateway.httpListener" : "gateway.httpsListener")}: applies to a shared Gateway only (the program names its own listeners http and https); remove it`);
    }
    if (r.tls.secretNamespace !== undefined && r.tls.clusterIssuer !== undefined) {
      out.push(`${k("tls.secretNamespace")}: cert-manager issues the certificate into the Gateway's own namespace; remove it when ${k("tls.clusterIssuer")} is set`);
    }
  }
  return out;
}

/** Cross-key checks of the automated gray release (`shop:routing.canary.analysis`). */
function canaryProblems(p: Parsed, raw: Record<string, unknown>): string[] {
  const c = p.routing.canary;
  const k = (path: string) => `${NAMESPACE}:routing.canary.${path}`;
  const out: string[] = [];
  if (c.faultErrorRatio > 0) {
    if (!c.enabled) out.push(`${k("faultErrorRatio")}: fails a share of the canary's requests, and there is no canary; set ${k("enabled")} to true, or remove it`);
    if (p.environment === "prod") out.push(`${k("faultErrorRatio")}: fault injection is a drill for local and dev stacks, never prod's users; remove it`);
  }
  if (!c.analysis) {
    if (c.controller.image !== undefined) out.push(`${k("controller.image")}: the controller runs only with ${k("analysis")}; set the analysis or remove the image`);
    return out;
  }
  if (p.routing.mode !== "gateway") out.push(`${k("analysis")}: the controller moves HTTPRoute weights, which only ${NAMESPACE}:routing.mode gateway has; remove it or set the mode to gateway`);
  if (c.controller.image === undefined) {
    out.push(`${k("controller.image")}: is required with ${k("analysis")}: the canary controller's image pinned by digest, as scripts/images.sh controller writes it to controller-image.json (e.g. 127.0.0.1:5000/shop/canary-controller@sha256:<64 hex digits>)`);
  }
  if (!p.monitoring.enabled) out.push(`${k("analysis")}: the analysis queries the stack's Prometheus; set ${NAMESPACE}:monitoring.enabled to true, or remove the analysis`);
  else {
    // rate() over the interval needs two samples of the canary's counters, or every check is "no data".
    const interval = goDurationMs(c.analysis.interval) ?? 0;
    const scrape = goDurationMs(p.monitoring.scrapeInterval) ?? 0;
    if (interval < 2 * scrape) {
      out.push(`${k("analysis.interval")}: ${c.analysis.interval} is shorter than twice ${NAMESPACE}:monitoring.scrapeInterval (${p.monitoring.scrapeInterval}): its rate() would see fewer than two samples and every check would fail with no data; make the interval at least ${(2 * scrape) / 1000}s or scrape more often`);
    }
  }
  const given = (raw.routing as any)?.canary?.weight;
  if (given !== undefined) out.push(`${k("weight")}: the controller owns the weights when ${k("analysis")} is set (its steps say them); remove the weight`);
  return out;
}

/**
 * Reads, validates and freezes the stack config. Throws a `ConfigError` listing every problem.
 * Nothing else in the program reads config.
 */
export function loadConfig(): ShopConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const prefix = `${NAMESPACE}:`;
  for (const fullKey of Object.keys(pulumi.runtime.allConfig()).sort()) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const text = pulumi.runtime.getConfig(fullKey) ?? "";
    if (!OBJECT_KEYS.has(key)) { raw[key] = text; continue; }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      const { example } = describeAt([key]);
      problems.push(`${fullKey}: expected a YAML mapping (structured config), got ${isSecretKey(fullKey) ? "[secret]" : JSON.stringify(text)}${eg(example ?? "see docs/config.md")}`);
    }
  }

  // Secret-bearing fields must be secret config, or their value ends up in plain text in the stack file.
  const secretTops = new Set<string>();
  for (const [top, field] of SECRET_FIELDS) {
    const v = raw[top];
    const present = field === undefined ? v !== undefined : v !== null && typeof v === "object" && (v as any)[field] !== undefined;
    if (!present) continue;
    secretTops.add(top);
    if (!isSecretKey(prefix + top)) {
      const where = field ? `${prefix}${top}.${field}` : `${prefix}${top}`;
      problems.push(`${where}: holds a secret but is not secret config; set it with \`pulumi config set --secret --path '${field ? where : `${where}.<name>`}' <value>\``);
    }
  }

  const result = schema.safeParse(raw);
  if (!result.success) problems.push(...problemLines(result.error.issues, raw, secretTops));

  if (result.success) {
    const p = result.data;
    // Cross-key checks.
    if (p.dataStores.mode === "external") {
      for (const [store, key] of [["mysql", "mysqlPassword"], ["redis", "redisPassword"], ["rabbitmq", "rabbitmqPassword"]] as const) {
        if (!p.secrets[key]) problems.push(`${prefix}secrets.${key}: is required when ${prefix}dataStores.mode is external (the ${store} password of the external server; set it with \`pulumi config set --secret --path '${prefix}secrets.${key}' <value>\`)`);
      }
    }
    if (!p.images.prebuilt && !p.docker.host) {
      problems.push(`${prefix}docker.host: is required when the program builds the images (no ${prefix}images.prebuilt): the address of the Docker daemon that builds them, e.g. unix:///var/run/docker.sock (the local harness writes its engine's address into the generated stack config); or give ${prefix}images.prebuilt`);
    }
    for (const store of ["mysql", "redis", "rabbitmq"] as const) {
      if (p.dataStores[store].image !== undefined && p.images.thirdParty[store] !== undefined) {
        problems.push(`${prefix}dataStores.${store}.image: and ${prefix}images.thirdParty.${store} both set the ${store} image; keep one (${prefix}images.thirdParty.${store} is where every third-party image is set)`);
      }
    }
    if (p.routing.canary.enabled && p.services["gateway-canary"]) {
      problems.push(`${prefix}services.gateway-canary: the name is taken by the canary gateway while ${prefix}routing.canary.enabled is true; rename the service (e.g. gateway-2)`);
    }
    problems.push(...routingProblems(p));
    problems.push(...canaryProblems(p, raw));
  }

  if (problems.length) throw new ConfigError(problems);
  const p = (result as { data: Parsed }).data;

  // The four binaries always run as services of their own name, with defaults unless configured.
  const services: Record<string, Omit<ServiceParsed, "binary"> & { binary: Binary }> = {};
  for (const b of BINARIES) services[b] = { ...service.parse({}), binary: b };
  for (const [name, s] of Object.entries(p.services)) services[name] = { ...s, binary: (s.binary ?? name) as Binary };
  // Placement: a workload without its own takes shop:scheduling.default (replaced whole, never merged).
  const fallback = p.scheduling.default;
  for (const s of Object.values(services)) if (s.scheduling === undefined && fallback !== undefined) s.scheduling = fallback;
  const placed: Parsed["scheduling"] = { ...p.scheduling };
  for (const w of THIRD_PARTY_WORKLOADS) if (placed[w] === undefined && fallback !== undefined) placed[w] = fallback;

  const secrets: Secrets = {};
  for (const [k, v] of Object.entries(p.secrets)) if (v !== undefined) (secrets as any)[k] = pulumi.secret(v);

  const cfg = {
    ...p,
    stack: pulumi.getStack(),
    cluster: {
      ...(p.cluster.context !== undefined ? { context: p.cluster.context } : {}),
      ...(p.cluster.kubeconfig !== undefined ? { kubeconfig: pulumi.secret(p.cluster.kubeconfig) } : {}),
    },
    registry: {
      server: p.registry.server,
      project: p.registry.project,
      ...(p.registry.username !== undefined ? { username: p.registry.username } : {}),
      ...(p.registry.password !== undefined ? { password: pulumi.secret(p.registry.password) } : {}),
    },
    services,
    scheduling: placed,
    secrets,
  };
  return deepFreeze(cfg) as ShopConfig;
}
