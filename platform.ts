/**
 * Composes the platform from a validated `ShopConfig`: one explicit Kubernetes provider, the shop and
 * observability namespaces, the images, the data stores, the services, monitoring, logging and the
 * public routing of all three. Reads no config itself.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { CATALOG } from "./catalog";
import { Binary, bytes, LOCAL_GATEWAY_CLASS, milliCpu, ServiceConfig, ShopConfig } from "./config";
import { ClusterPrerequisites } from "./components/cluster-prerequisites";
import { clusterPrerequisites } from "./checks";
import { ConfigGuard, fingerprint, guardedBy } from "./components/config-guard";
import { DataStores, STORE_KINDS, STORE_PORTS, STORE_RESOURCES, StoreKind } from "./components/data-stores";
import { Environment, NetworkAllow } from "./components/environment";
import { dockerConfigJson, HTTP_PORT } from "./components/kit";
import { MicroService, MicroServiceArgs } from "./components/microservice";
import { Logging } from "./components/logging";
import { Monitoring } from "./components/monitoring";
import { ACME_SOLVER_LABELS, ACME_SOLVER_PORT, Backend, RouteArgs, Routing, RoutingArgs } from "./components/routing";
import { dockerProvider, ServiceImage } from "./components/service-image";
import { budgetEnv, goDuration, REQUEST_BUDGETS } from "./components/request-budgets";
import { CANARY_CONTROLLER, CANARY_CONTROLLER_RESOURCES, CanaryController } from "./components/delivery/canary-controller";
import { configDigest } from "./components/delivery/canary-release";

/** Env from stack config and the ordered timeout budgets (components/request-budgets.ts), per binary. */
export function configEnv(cfg: ShopConfig, binary: Binary): Record<string, string> {
  const env = budgetEnv(binary);
  if (binary === "gateway") env.TRUSTED_PROXY_HOPS = String(cfg.gateway.trustedProxyHops);
  if (binary === "order") env.ORDER_PAYMENT_TIMEOUT = cfg.order.paymentTimeout;
  return env;
}
export { CATALOG } from "./catalog";

/**
 * Termination budget: the preStop sleep (endpoints drain), then after SIGTERM the service reports
 * unready for SHUTDOWN_DRAIN and shuts down within SHUTDOWN_TIMEOUT; the grace period covers all three.
 */
const PRE_STOP_SECONDS = 5;
/**
 * The edge's budget for one API request (HTTPRoute `timeouts.request`): the first of the ordered
 * request budgets (edge > gateway > service > its calls), components/request-budgets.ts.
 */
const EDGE_REQUEST_TIMEOUT = goDuration(REQUEST_BUDGETS.edge);
const DRAIN_SECONDS = 2;
const SHUTDOWN_SECONDS = 20;

/** The public entry (and HTTPRoute name) of the shop's API: the route a gray release shifts. */
export const API_ROUTE = "api";

export { MIN_KUBERNETES_MINOR } from "./checks";

/** The stack outputs. */
export interface PlatformOutputs {
  namespace: pulumi.Output<string>;
  /** The public URL of the shop's API (`<scheme>://<host>/api`). */
  apiUrl: pulumi.Output<string>;
  /** Binary -> image reference pinned by digest. */
  imageDigests: Record<string, pulumi.Output<string>>;
  /** Service -> in-cluster URL. */
  serviceEndpoints: Record<string, pulumi.Output<string>>;
  observabilityNamespace?: pulumi.Output<string>;
  grafanaUrl?: pulumi.Output<string>;
  prometheusUrl?: pulumi.Output<string>;
  kibanaUrl?: pulumi.Output<string>;
  elasticsearchUrl?: pulumi.Output<string>;
}

const label = (b: string) => ({ "app.kubernetes.io/name": b });

/** The NetworkPolicy allows of the shop namespace, derived from the catalogue and the config. */
export function shopNetwork(cfg: ShopConfig): { ingress: NetworkAllow[]; egress: NetworkAllow[] } {
  const ingress: NetworkAllow[] = [];
  const egress: NetworkAllow[] = [];
  const binaries = new Set(Object.values(cfg.services).map((s) => s.binary));
  // The edge reaches the gateway pods (stable and canary) on their port only.
  ingress.push({ name: "edge-to-gateway", pods: label("gateway"), peer: { namespace: cfg.routing.edgeNamespace }, ports: [HTTP_PORT] });
  if (cfg.routing.tls.enabled && cfg.routing.tls.clusterIssuer) {
    // cert-manager runs its ACME HTTP-01 solver pods next to the Gateway (or Ingress) it issues for.
    ingress.push({ name: "edge-to-acme-solver", pods: { ...ACME_SOLVER_LABELS }, peer: { namespace: cfg.routing.edgeNamespace }, ports: [ACME_SOLVER_PORT] });
  }
  for (const b of [...binaries].sort()) {
    for (const callee of CATALOG[b].calls) {
      ingress.push({ name: `${b}-to-${callee}`, pods: label(callee), peer: { pods: label(b) }, ports: [HTTP_PORT] });
      egress.push({ name: `${b}-to-${callee}`, pods: label(b), peer: { pods: label(callee) }, ports: [HTTP_PORT] });
    }
    for (const store of CATALOG[b].stores) {
      const port = cfg.dataStores[store].port ?? STORE_PORTS[store];
      if (cfg.dataStores.mode === "in-cluster") {
        ingress.push({ name: `${b}-to-${store}`, pods: label(store), peer: { pods: label(b) }, ports: [port] });
        egress.push({ name: `${b}-to-${store}`, pods: label(b), peer: { pods: label(store) }, ports: [port] });
      } else {
        // External servers have no pod labels; the port is the narrowest rule available.
        egress.push({ name: `${b}-to-${store}`, pods: label(b), peer: { cidr: "0.0.0.0/0" }, ports: [port] });
      }
    }
  }
  // Prometheus' scrape path into this namespace is the Prometheus workload's own policy (components/monitoring/prometheus.ts).
  return { ingress, egress };
}

/** A ResourceQuota sized from the config: every pod at its ceiling plus one surge pod, 50% headroom. */
export function shopQuota(cfg: ShopConfig) {
  let pods = 0, cpuReq = 0, cpuLim = 0, memReq = 0, memLim = 0, pvcs = 0, storage = 0;
  const add = (n: number, r: { cpu: string; memory: string; cpuLimit: string; memoryLimit: string }) => {
    pods += n;
    cpuReq += n * milliCpu(r.cpu);
    cpuLim += n * milliCpu(r.cpuLimit);
    memReq += n * bytes(r.memory);
    memLim += n * bytes(r.memoryLimit);
  };
  for (const s of Object.values(cfg.services)) add((s.autoscaling?.maxReplicas ?? s.replicas) + 1, s.resources);
  if (cfg.routing.canary.enabled) add(2, cfg.services.gateway.resources);
  // The canary controller: one pod, plus the new one of a rolling update.
  if (cfg.routing.canary.analysis) add(2, CANARY_CONTROLLER_RESOURCES);
  if (cfg.dataStores.mode === "in-cluster") {
    for (const k of STORE_KINDS) {
      add(1, cfg.dataStores[k].resources ?? STORE_RESOURCES[k]);
      pvcs += 1;
      storage += bytes(cfg.dataStores[k].storageSize);
    }
  }
  const up = (x: number) => Math.ceil(x * 1.5);
  const mi = (b: number) => `${Math.ceil(up(b) / 2 ** 20)}Mi`;
  return {
    requestsCpu: `${up(cpuReq)}m`,
    limitsCpu: `${up(cpuLim)}m`,
    requestsMemory: mi(memReq),
    limitsMemory: mi(memLim),
    pods: up(pods),
    persistentVolumeClaims: pvcs + 2,
    requestsStorage: mi(storage + 2 * 2 ** 30),
  };
}

/** Given secret, or one generated with `@pulumi/random` (a secret output either way). */
function secretOrGenerated(name: string, given: pulumi.Output<string> | undefined, length: number): pulumi.Output<string> {
  if (given) return given;
  return pulumi.secret(new random.RandomPassword(name, { length, special: false }).result);
}

/** The guards of each stateful part; a part's resources wait for (and are refused with) its guards. */
export interface PlatformGuards {
  dataStores: ConfigGuard[];
  monitoring: ConfigGuard[];
  logging: ConfigGuard[];
}

/** How to grow a StatefulSet's volume without replacing it; `claim` undefined: every claim of the namespace's StatefulSet. */
const resize = (namespace: string, size: string, claim?: string) =>
  `To grow a volume, expand its claim in place where the storage class allows it (allowVolumeExpansion: true): ` +
  (claim ? "" : `list the claims with kubectl -n ${namespace} get pvc, then for each one `) +
  `kubectl -n ${namespace} patch pvc ${claim ?? "<claim>"} -p '{"spec":{"resources":{"requests":{"storage":"${size}"}}}}' ` +
  `(a claim only grows); the StatefulSet's claim template keeps the deployed size.`;

/**
 * Guards for the settings no stack config change may alter on an existing stack (see ConfigGuard):
 * the claim templates of every StatefulSet (sizes and class; a new value would replace the
 * StatefulSet), and the MySQL and RabbitMQ passwords of in-cluster stores (applied only when the
 * volume is initialised). Redis takes its password from its arguments at every start, and an
 * external store's password is rotated on the server first: neither is guarded.
 */
export function configGuards(cfg: ShopConfig): PlatformGuards {
  const obsNs = `${cfg.namespace}-observability`;
  const guard = (key: string, value: pulumi.Input<string>, remedy: string, hidden = false) =>
    new ConfigGuard(`guard-${key.replace(/\./g, "-")}`, { key: `shop:${key}`, value, remedy, hidden });
  const guards: PlatformGuards = { dataStores: [], monitoring: [], logging: [] };
  const inCluster = cfg.dataStores.mode === "in-cluster";

  if (inCluster) {
    for (const kind of STORE_KINDS) {
      const size = cfg.dataStores[kind].storageSize;
      guards.dataStores.push(guard(`dataStores.${kind}.storageSize`, size, resize(cfg.namespace, size, `data-${kind}-0`)));
    }
    const rotate: Record<"mysql" | "rabbitmq", string> = {
      mysql:
        `MySQL applies the password only when it initialises its volume, so the server would keep the old one and every service would be locked out. ` +
        `Rotate it on the server first: kubectl -n ${cfg.namespace} exec -it mysql-0 -c mysql -- mysql -u ${cfg.dataStores.mysql.user} -p -e "ALTER USER CURRENT_USER() IDENTIFIED BY '<new password>'", then set the new value.`,
      rabbitmq:
        `RabbitMQ applies the password only when it initialises its volume, so the server would keep the old one and every service would be locked out. ` +
        `Rotate it on the server first: kubectl -n ${cfg.namespace} exec -it rabbitmq-0 -- rabbitmqctl change_password ${cfg.dataStores.rabbitmq.user} '<new password>', then set the new value.`,
    };
    for (const [kind, key] of [["mysql", "mysqlPassword"], ["rabbitmq", "rabbitmqPassword"]] as const) {
      const given = cfg.secrets[key];
      const value = given ? fingerprint(`shop:secrets.${key}`, given) : pulumi.output("generated");
      guards.dataStores.push(guard(`secrets.${key}`, value, rotate[kind], true));
    }
  }
  if (cfg.monitoring.enabled) {
    guards.monitoring.push(guard("monitoring.storageSize", cfg.monitoring.storageSize, resize(obsNs, cfg.monitoring.storageSize)));
  }
  if (cfg.logging.enabled) {
    guards.logging.push(guard("logging.elasticsearch.storageSize", cfg.logging.elasticsearch.storageSize, resize(obsNs, cfg.logging.elasticsearch.storageSize)));
  }
  if (inCluster || cfg.monitoring.enabled || cfg.logging.enabled) {
    const cls = guard(
      "storageClass",
      cfg.storageClass,
      "A claim's storage class cannot change; moving the data to another class means new claims and a copy of the data (back up, then restore into a stack made with the new class).",
    );
    if (inCluster) guards.dataStores.push(cls);
    if (cfg.monitoring.enabled) guards.monitoring.push(cls);
    if (cfg.logging.enabled) guards.logging.push(cls);
  }
  return guards;
}

/**
 * The image pull Secret for the stack's registry, in the shop namespace: none when the registry needs
 * no credentials (no `shop:registry.username`/`password`, e.g. the local registry).
 */
function registryPullSecret(cfg: ShopConfig, namespace: pulumi.Output<string>, provider: k8s.Provider): k8s.core.v1.Secret | undefined {
  const { server, username, password } = cfg.registry;
  if (username === undefined || password === undefined) return undefined;
  return new k8s.core.v1.Secret(
    "shop-registry-pull",
    {
      metadata: { namespace, labels: { "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/component": "registry-credentials" } },
      type: "kubernetes.io/dockerconfigjson",
      stringData: pulumi.secret(password.apply((p) => ({ ".dockerconfigjson": dockerConfigJson(server, username, p) }))),
    },
    { provider },
  );
}

/**
 * Deploys the whole platform described by `cfg`. `prerequisites`: the cluster check, when the caller
 * registered it already (index.ts does, before loading this module).
 */
export function deployPlatform(cfg: ShopConfig, prerequisites: ClusterPrerequisites = clusterPrerequisites(cfg)): PlatformOutputs {
  const provider = new k8s.Provider("shop-k8s", {
    ...(cfg.cluster.kubeconfig ? { kubeconfig: cfg.cluster.kubeconfig } : {}),
    ...(cfg.cluster.context ? { context: cfg.cluster.context } : {}),
    // Through the provider every Kubernetes object waits for the cluster check, and none is
    // registered when the cluster lacks a prerequisite.
    enableServerSideApply: guardedBy(true, [prerequisites]),
  });

  const guards = configGuards(cfg);
  const observability = cfg.monitoring.enabled || cfg.logging.enabled;
  const obsNamespaceName = `${cfg.namespace}-observability`;
  const network = shopNetwork(cfg);
  const env = new Environment("shop", {
    namespace: cfg.namespace,
    provider,
    quota: shopQuota(cfg),
    limitRange: { defaultRequestCpu: "50m", defaultRequestMemory: "64Mi", defaultCpu: "250m", defaultMemory: "256Mi" },
    ingress: network.ingress,
    egress: network.egress,
    dns: cfg.network.dns,
  });
  const namespace = env.namespace;
  const pullSecret = registryPullSecret(cfg, namespace, provider);
  const imagePullSecrets = pullSecret ? [pullSecret.metadata.name] : [];

  // Images: one per binary in use.
  const binaries = [...new Set(Object.values(cfg.services).map((s) => s.binary))].sort();
  // Built images need one explicit docker provider (shop:docker.host, required by loadConfig then);
  // prebuilt ones need no daemon and no docker plugin.
  const docker = cfg.images.prebuilt ? undefined : dockerProvider("shop-docker", { host: cfg.docker.host!, registry: cfg.registry });
  const images: Record<string, ServiceImage> = {};
  for (const b of binaries) {
    images[b] = new ServiceImage(b, {
      service: b,
      prebuilt: cfg.images.prebuilt?.[b],
      build: cfg.images.build,
      registry: cfg.registry,
      ...(docker ? { provider: docker } : {}),
    });
  }

  const jwtKey = secretOrGenerated("shop-jwt-key", cfg.secrets.jwtKey, 48);

  const consumers: Record<string, readonly StoreKind[]> = {};
  for (const [name, s] of Object.entries(cfg.services)) consumers[name] = CATALOG[s.binary].stores;
  const stores = new DataStores("shop-data", {
    namespace: guardedBy(namespace, guards.dataStores),
    provider,
    mode: cfg.dataStores.mode,
    storageClass: cfg.storageClass,
    mysql: storeArgs(cfg, "mysql"),
    redis: storeArgs(cfg, "redis"),
    rabbitmq: storeArgs(cfg, "rabbitmq"),
    passwords: {
      ...(cfg.secrets.mysqlPassword ? { mysql: cfg.secrets.mysqlPassword } : {}),
      ...(cfg.secrets.redisPassword ? { redis: cfg.secrets.redisPassword } : {}),
      ...(cfg.secrets.rabbitmqPassword ? { rabbitmq: cfg.secrets.rabbitmqPassword } : {}),
    },
    consumers,
    ...(pullSecret ? { imagePullSecret: { server: cfg.registry.server, name: pullSecret.metadata.name } } : {}),
  }, { dependsOn: guards.dataStores });

  const serviceArgs = (name: string, s: ServiceConfig): MicroServiceArgs => {
    const spec = CATALOG[s.binary];
    return {
      namespace,
      provider,
      binary: s.binary,
      image: images[s.binary].ref,
      replicas: s.replicas,
      resources: s.resources,
      ...(s.autoscaling ? { autoscaling: s.autoscaling } : {}),
      ...(s.minAvailable !== undefined ? { minAvailable: s.minAvailable } : {}),
      env: {
        HTTP_ADDR: `:${HTTP_PORT}`,
        LOG_LEVEL: cfg.logLevel,
        SHUTDOWN_TIMEOUT: `${SHUTDOWN_SECONDS}s`,
        SHUTDOWN_DRAIN: `${DRAIN_SECONDS}s`,
        ...spec.env,
        ...configEnv(cfg, s.binary),
        ...s.env,
      },
      secretEnv: spec.jwt ? { JWT_SECRET: jwtKey } : ({} as Record<string, pulumi.Input<string>>),
      envFromSecrets: stores.connectionSecrets[name] ? [stores.connectionSecrets[name]] : [],
      spreadTopology: cfg.environment === "prod",
      preStopSeconds: PRE_STOP_SECONDS,
      terminationGracePeriodSeconds: PRE_STOP_SECONDS + DRAIN_SECONDS + SHUTDOWN_SECONDS + 3,
      imagePullSecrets,
      ...(s.scheduling ? { scheduling: s.scheduling } : {}),
      progressDeadlineSeconds: cfg.delivery.progressDeadlineSeconds,
    };
  };

  const services: Record<string, MicroService> = {};
  for (const [name, s] of Object.entries(cfg.services)) {
    const dependsOn = CATALOG[s.binary].stores.length ? [stores] : [];
    services[name] = new MicroService(name, serviceArgs(name, s), { dependsOn });
  }

  let canary: MicroService | undefined;
  let canaryEnv: Record<string, string> = {};
  if (cfg.routing.canary.enabled) {
    const base = serviceArgs("gateway", cfg.services.gateway);
    // Fault injection (a drill of the analysis) on the canary only; loadConfig keeps it out of prod.
    const fault = cfg.routing.canary.faultErrorRatio;
    canaryEnv = { ...base.env, ...(fault > 0 ? { FAULT_ERROR_RATIO: String(fault) } : {}) };
    canary = new MicroService("gateway-canary", {
      ...base,
      image: cfg.routing.canary.image ?? base.image,
      env: canaryEnv,
      // Prod keeps two so a drain never takes the canary's share of traffic down.
      replicas: cfg.environment === "prod" ? 2 : 1,
      autoscaling: undefined,
      minAvailable: undefined,
      track: "canary",
    });
  }

  const outputs: PlatformOutputs = {
    namespace,
    apiUrl: pulumi.output(""),
    imageDigests: Object.fromEntries(Object.entries(images).map(([b, i]) => [b, i.ref])),
    serviceEndpoints: Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.endpoint])),
  };

  const routes: Record<string, RouteArgs> = {
    [API_ROUTE]: {
      namespace,
      path: "/api",
      backend: { serviceName: services.gateway.serviceName, port: HTTP_PORT },
      ...(canary
        ? {
            canary: {
              backend: { serviceName: canary.serviceName, port: HTTP_PORT },
              // With an analysis the CanaryRelease controller owns the weights and starts the canary at 0.
              ...(cfg.routing.canary.analysis ? { weight: 0, controlled: true } : { weight: cfg.routing.canary.weight }),
            },
          }
        : {}),
      requestTimeout: EDGE_REQUEST_TIMEOUT,
    },
  };

  if (observability) {
    // Fluent Bit reads container logs through hostPath mounts, which only the `privileged` level
    // admits; audit and warn stay `restricted` so every other workload's violations still show.
    // Default-deny plus DNS only: each workload of Monitoring and Logging owns exactly the flows it needs.
    const obs = new Environment("observability", {
      namespace: obsNamespaceName,
      provider,
      podSecurity: { enforce: "privileged", audit: "restricted", warn: "restricted" },
      dns: cfg.network.dns,
    });
    outputs.observabilityNamespace = obs.namespace;
    const consoles = wireObservability(cfg, provider, obs.namespace, namespace, binaries, outputs, guards);
    if (consoles.grafana) routes.grafana = { namespace: obs.namespace, path: cfg.monitoring.grafanaPath, backend: consoles.grafana };
    if (consoles.kibana) routes.kibana = { namespace: obs.namespace, path: cfg.logging.kibanaPath, backend: consoles.kibana };
  }

  const routing = new Routing("shop-routing", { ...routingArgs(cfg, provider, namespace), routes });
  outputs.apiUrl = routing.urls.api;
  const analysis = cfg.routing.canary.analysis;
  if (analysis) {
    const c = cfg.routing.canary;
    // loadConfig guarantees the image, gateway mode and monitoring (hence Prometheus) with an analysis.
    new CanaryController("delivery", {
      provider,
      namespace,
      image: c.controller.image!,
      prometheusUrl: outputs.prometheusUrl!,
      prometheusNamespace: outputs.observabilityNamespace!,
      logLevel: cfg.logLevel,
      imagePullSecrets,
      ...(canary
        ? {
            release: {
              name: "gateway",
              route: API_ROUTE,
              stable: { name: services.gateway.serviceName, port: HTTP_PORT },
              canary: { name: canary.serviceName, port: HTTP_PORT },
              canaryDeployment: canary.deploymentName,
              canaryImage: c.image ?? images.gateway.ref,
              canaryConfig: configDigest(canaryEnv),
              analysis,
              dependsOn: [routing.routes[API_ROUTE], canary],
            },
          }
        : {}),
    });
  }
  // The consoles' URLs end with "/" (their base path), as Grafana's root_url and Kibana's basePath do.
  if (routing.urls.grafana) outputs.grafanaUrl = pulumi.interpolate`${routing.urls.grafana}/`;
  if (routing.urls.kibana) outputs.kibanaUrl = pulumi.interpolate`${routing.urls.kibana}/`;
  return outputs;
}

/** The Routing arguments the stack config decides (everything but the routes). */
export function routingArgs(cfg: ShopConfig, provider: k8s.Provider, namespace: pulumi.Input<string>): Omit<RoutingArgs, "routes"> {
  const r = cfg.routing;
  const g = r.gateway;
  return {
    provider,
    mode: r.mode,
    host: r.host,
    namespace,
    ...(r.mode === "gateway"
      ? {
          gateway:
            g.name !== undefined && g.namespace !== undefined
              ? { shared: { namespace: g.namespace, name: g.name, httpListener: g.httpListener, httpsListener: g.httpsListener } }
              : { className: g.className ?? LOCAL_GATEWAY_CLASS },
        }
      : r.ingress.className !== undefined
        ? { ingressClassName: r.ingress.className }
        : {}),
    tls: {
      enabled: r.tls.enabled,
      secretName: r.tls.secretName,
      ...(r.tls.secretNamespace !== undefined ? { secretNamespace: r.tls.secretNamespace } : {}),
      ...(r.tls.clusterIssuer !== undefined ? { clusterIssuer: r.tls.clusterIssuer } : {}),
    },
  };
}

/** A data store's config with its image (`shop:images.thirdParty.<store>`, else `dataStores.<store>.image`) and placement. */
function storeArgs<K extends StoreKind>(cfg: ShopConfig, kind: K) {
  const image = cfg.images.thirdParty[kind] ?? cfg.dataStores[kind].image;
  const scheduling = cfg.scheduling[kind];
  return { ...cfg.dataStores[kind], ...(image !== undefined ? { image } : {}), ...(scheduling ? { scheduling } : {}) };
}

/** Monitoring and logging, each when enabled; returns the consoles' backends for the public routes. */
function wireObservability(
  cfg: ShopConfig,
  provider: k8s.Provider,
  obsNamespace: pulumi.Output<string>,
  shopNamespace: pulumi.Output<string>,
  binaries: string[],
  outputs: PlatformOutputs,
  guards: PlatformGuards,
): { grafana?: Backend; kibana?: Backend } {
  const common = {
    namespace: obsNamespace,
    provider,
    // Image overrides and placements, keyed by workload (`prometheus`, `fluent-bit`, ...).
    workloads: { images: cfg.images.thirdParty, scheduling: cfg.scheduling },
    shopNamespace,
    storageClass: cfg.storageClass,
    edgeNamespace: cfg.routing.edgeNamespace,
    publicHost: cfg.routing.host,
    publicScheme: cfg.routing.tls.enabled ? ("https" as const) : ("http" as const),
  };
  const consoles: { grafana?: Backend; kibana?: Backend } = {};
  let logging: Logging | undefined;
  if (cfg.logging.enabled) {
    logging = new Logging("logging", {
      ...common,
      namespace: guardedBy(obsNamespace, guards.logging),
      replicas: cfg.logging.elasticsearch.replicas,
      storageSize: cfg.logging.elasticsearch.storageSize,
      memory: cfg.logging.elasticsearch.memory,
      retentionDays: cfg.logging.retentionDays,
      kibanaPath: cfg.logging.kibanaPath,
      ...(cfg.secrets.elasticPassword ? { elasticPassword: cfg.secrets.elasticPassword } : {}),
    }, { dependsOn: guards.logging });
    consoles.kibana = logging.kibanaBackend;
    outputs.elasticsearchUrl = logging.elasticsearchUrl;
  }
  if (cfg.monitoring.enabled) {
    const monitoring = new Monitoring("monitoring", {
      ...common,
      namespace: guardedBy(obsNamespace, guards.monitoring),
      services: binaries,
      retention: cfg.monitoring.retention,
      storageSize: cfg.monitoring.storageSize,
      grafanaPath: cfg.monitoring.grafanaPath,
      scrapeInterval: cfg.monitoring.scrapeInterval,
      evaluationInterval: cfg.monitoring.evaluationInterval,
      ...(cfg.monitoring.alertPendingFor ? { alertPendingFor: cfg.monitoring.alertPendingFor } : {}),
      clusterLabel: cfg.stack,
      ...(cfg.routing.canary.analysis ? { queriers: [{ name: CANARY_CONTROLLER.app, namespace: shopNamespace, pods: CANARY_CONTROLLER.pods }] } : {}),
      ...(logging
        ? { elasticsearchUrl: logging.elasticsearchUrl, elasticsearchUsername: logging.readerUsername, elasticsearchPassword: logging.readerPassword }
        : {}),
      ...(cfg.secrets.grafanaAdminPassword ? { grafanaAdminPassword: cfg.secrets.grafanaAdminPassword } : {}),
      ...(cfg.secrets.alertWebhookUrl ? { alertWebhookUrl: cfg.secrets.alertWebhookUrl } : {}),
    }, { dependsOn: guards.monitoring });
    consoles.grafana = monitoring.grafanaBackend;
    outputs.prometheusUrl = monitoring.prometheusUrl;
  }
  return consoles;
}
