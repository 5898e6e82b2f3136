/**
 * The schema of the stack config (every `shop:*` key, with the `local` stack's defaults: an empty
 * config deploys the local stack) and the shape the loader returns.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { BINARIES, Binary } from "../catalog";
import { DEFAULT_DNS_PEER } from "../components/kit";
import { bytes, goDurationMs, isSize } from "./units";
import {
  canaryAnalysis,
  promInterval,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  digestRef,
  DNS_LABEL,
  dnsLabel,
  imageBuildSchema,
  imageRef,
  memory,
  positiveInt,
  ROUTING_MODES,
  scheduling,
  service,
  storeCommon,
  THIRD_PARTY_IMAGES,
  THIRD_PARTY_WORKLOADS,
  ThirdPartyImage,
  ThirdPartyWorkload,
} from "./fields";

export const schema = z.strictObject({
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
  /** How a new version of a service rolls out (docs/delivery.md). */
  delivery: z
    .strictObject({
      /**
       * Seconds a service's rollout may go without progress (a new pod becoming ready) before its
       * Deployment reports ProgressDeadlineExceeded; `pulumi up` then fails shortly after, naming it.
       */
      progressDeadlineSeconds: z
        .number({ error: "must be a number of seconds" })
        .int({ error: "must be a whole number of seconds" })
        .min(30, { error: "must be at least 30 (below that a slow but healthy start fails the rollout)" })
        .max(3600, { error: "must be at most 3600 (an hour without progress is a failed rollout)" })
        .meta({ example: 300 })
        .default(DEFAULT_PROGRESS_DEADLINE_SECONDS),
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
      storageSize: memory("10Gi").default("1Gi"),
      grafanaPath: z.string().regex(/^\/[a-z0-9-]+$/, { error: "must be a path like /grafana" }).meta({ example: "/grafana" }).default("/grafana"),
      /** Prometheus' scrape interval. */
      scrapeInterval: promInterval.default("30s"),
      /** How often Prometheus evaluates the alert rules. */
      evaluationInterval: promInterval.default("30s"),
      /** When set, replaces the `for:` of every alert that waits (a test stack shortens it; 0s fires at once). */
      alertPendingFor: z
        .string()
        .regex(/^(\d+[smh])+$/, { error: "must be a Prometheus duration like 30s, 1m or 1m30s" })
        .meta({ example: "30s" })
        .optional(),
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

/** The stack config as zod returns it (defaults applied), before the loader resolves and freezes it. */
export type Parsed = z.output<typeof schema>;
export type ServiceParsed = z.output<typeof service>;

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

/** Top-level keys whose value is structured (JSON from the engine). */
export const OBJECT_KEYS = new Set(["cluster", "registry", "images", "delivery", "docker", "services", "routing", "dataStores", "network", "secrets", "monitoring", "logging", "gateway", "order", "scheduling"]);
/** Fields that hold secrets and so must be given as secret config. */
export const SECRET_FIELDS: [top: string, field?: string][] = [["secrets"], ["registry", "password"], ["cluster", "kubeconfig"]];
