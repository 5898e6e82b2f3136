import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { IMAGES } from "./observability/images";
import {
  apiServerEgress,
  checksum,
  derivePassword,
  dnsEgress,
  hardened,
  memoryBytes,
  namespacePeer,
  objectLabels,
  podPeer,
  podSecurity,
  resources,
  selectorLabels,
  tcp,
} from "./observability/k8s";
import {
  dataViewFiles,
  elasticsearchSetupFiles,
  elasticsearchYml,
  ES_USERS,
  FLUENT_BIT_STATE_DIR,
  fluentBitConfig,
  heapMegabytes,
  kibanaYml,
  TRANSPORT_KEYSTORE,
  transportCertScript,
} from "./observability/logging-config";

/** Arguments of {@link Logging}. */
export interface LoggingArgs {
  /** The observability namespace (PSA privileged: Fluent Bit mounts host paths). */
  namespace: pulumi.Input<string>;
  /** The explicit Kubernetes provider every child uses. */
  provider: k8s.Provider;
  /** Namespace the shop's services run in (its logs are shipped like every other namespace's). */
  shopNamespace: pulumi.Input<string>;
  /** Elasticsearch nodes: 1 (single-node discovery) or 3+ (master-eligible data nodes). */
  replicas: number;
  /** Size of each Elasticsearch node's volume, e.g. `10Gi`. */
  storageSize: string;
  /** Storage class of the Elasticsearch volumes. */
  storageClass: string;
  /** Memory request and limit of each Elasticsearch node; the JVM heap is half of it. At least `1Gi`. */
  memory: string;
  /** Days a log index is kept before the lifecycle policy deletes it. */
  retentionDays: number;
  /** Path Kibana is served under, e.g. `/kibana`. */
  kibanaPath: string;
  /** Namespace of the edge (the Gateway implementation's pods), admitted to Kibana's port only. */
  edgeNamespace: string;
  /** Password of the `elastic` superuser (secret). @default generated with `@pulumi/random` */
  elasticPassword?: pulumi.Input<string>;
  /** Disk budget of Fluent Bit's on-disk buffer per node. @default "2G" */
  fluentBitBufferLimit?: string;
  /** Memory request and limit of Kibana. @default "1Gi" */
  kibanaMemory?: string;
}

const ES_HTTP = 9200;
const ES_TRANSPORT = 9300;
const KIBANA_PORT = 5601;
const FLUENT_BIT_PORT = 2020;
/** uid of the Elasticsearch and Kibana images. */
const ELASTIC_UID = 1000;
const ES_HOME = "/usr/share/elasticsearch";
const JOB_DEADLINE_SECONDS = 1800;

/**
 * Searchable logs for the cluster: Elasticsearch (security on, transport TLS,
 * index lifecycle deletion after the retention), Fluent Bit on every node
 * (tails container logs, adds Kubernetes metadata, parses the services' JSON
 * lines, ships to one index family per namespace, buffers on disk), and Kibana
 * served under `kibanaPath` with a data view over the logs (the route to it is the caller's: `kibanaBackend`).
 */
export class Logging extends pulumi.ComponentResource {
  /** In-cluster URL of Elasticsearch. */
  readonly elasticsearchUrl: pulumi.Output<string>;
  /** Kibana's Service and port, for the public route (made by the caller). */
  readonly kibanaBackend: { serviceName: pulumi.Output<string>; port: number };
  /** Password of the `elastic` superuser (secret). */
  readonly elasticPassword: pulumi.Output<string>;
  /** Read-only user for the log indices (Grafana's Elasticsearch datasource). */
  readonly readerUsername: pulumi.Output<string>;
  /** Its password (secret). */
  readonly readerPassword: pulumi.Output<string>;

  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Logging", name, {}, opts);
    const fail = (field: string, what: string) => new pulumi.ResourceError(`Logging ${name}: ${field} ${what}`, this);

    // ---- inputs and defaults, in one place ----
    if (!Number.isInteger(args.replicas) || args.replicas < 1 || args.replicas === 2) {
      throw fail("replicas", `is ${args.replicas}; use 1 (single node) or 3 or more (a 2-node cluster cannot elect a master after losing one)`);
    }
    if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1) {
      throw fail("retentionDays", `is ${args.retentionDays}; use a whole number of days, at least 1`);
    }
    const bytes = (v: string, field: string) => {
      try {
        return memoryBytes(v, field);
      } catch (e) {
        throw fail(field, `is invalid: ${(e as Error).message}`);
      }
    };
    const esMemory = bytes(args.memory, "memory");
    if (esMemory < 2 ** 30) throw fail("memory", `is ${args.memory}; Elasticsearch needs at least 1Gi (half of it becomes the heap)`);
    bytes(args.storageSize, "storageSize");
    const kibanaMemory = args.kibanaMemory ?? "1Gi";
    const kibanaBytes = bytes(kibanaMemory, "kibanaMemory");
    if (!/^\/[a-zA-Z0-9._~/-]*[a-zA-Z0-9._~-]$/.test(args.kibanaPath)) {
      throw fail("kibanaPath", `"${args.kibanaPath}" must start with "/" and not end with "/", e.g. "/kibana"`);
    }
    if (!args.storageClass) throw fail("storageClass", "is empty; name the storage class of the Elasticsearch volumes");
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.edgeNamespace ?? "")) throw fail("edgeNamespace", "must be a namespace name (e.g. envoy-gateway-system)");
    const edgeNs = args.edgeNamespace;
    const bufferLimit = args.fluentBitBufferLimit ?? "2G";
    const heapMb = heapMegabytes(esMemory);

    const provider = args.provider;
    const child = { parent: this, provider };
    const ns = pulumi.output(args.namespace);
    const n = {
      es: `${name}-elasticsearch`,
      esHeadless: `${name}-elasticsearch-nodes`,
      transport: `${name}-elasticsearch-transport`,
      kibana: `${name}-kibana`,
      fluentBit: `${name}-fluent-bit`,
    };
    const meta = (app: string, objectName?: string) => ({ namespace: ns, labels: objectLabels(app, name), ...(objectName ? { name: objectName } : {}) });
    const esUrl = pulumi.interpolate`http://${n.es}.${ns}.svc:${ES_HTTP}`;

    // ---- credentials: one superuser password, the service users' passwords derived from it ----
    const elasticPassword: pulumi.Output<string> =
      args.elasticPassword !== undefined
        ? pulumi.secret(args.elasticPassword)
        : new random.RandomPassword(`${name}-elastic`, { length: 24, special: false }, { parent: this }).result;
    const derived = (purpose: string) => pulumi.secret(elasticPassword.apply((p) => derivePassword(p, purpose)));
    const KEYS = {
      elastic: "elastic-password",
      fluentBit: "fluent-bit-password",
      reader: "reader-password",
      kibana: "kibana-system-password",
      kibanaKey: "kibana-encryption-key",
    };
    const readerPassword = derived("reader");
    const credentials = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: meta("elasticsearch"),
        type: "Opaque",
        stringData: {
          [KEYS.elastic]: elasticPassword,
          [KEYS.fluentBit]: derived("fluent-bit"),
          [KEYS.reader]: readerPassword,
          [KEYS.kibana]: derived("kibana-system"),
          [KEYS.kibanaKey]: derived("kibana-encryption-key"),
        },
      },
      child,
    );
    const secretEnv = (env: string, key: string): k8s.types.input.core.v1.EnvVar => ({
      name: env,
      valueFrom: { secretKeyRef: { name: credentials.metadata.name, key } },
    });

    // ---- transport TLS: a Job makes the node certificate once and stores it in a Secret we own ----
    const transportSecret = new k8s.core.v1.Secret(
      `${name}-elasticsearch-transport`,
      { metadata: meta("elasticsearch", n.transport), type: "Opaque" },
      // The certificate Job writes the keystore into this Secret; Pulumi owns the object, not its data.
      { ...child, ignoreChanges: ["data", "stringData"] },
    );
    const certSa = new k8s.core.v1.ServiceAccount(`${name}-transport-cert`, { metadata: meta("transport-cert") }, child);
    const certRole = new k8s.rbac.v1.Role(
      `${name}-transport-cert`,
      {
        metadata: meta("transport-cert"),
        // Read and patch exactly one Secret.
        rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [n.transport], verbs: ["get", "patch"] }],
      },
      child,
    );
    const certBinding = new k8s.rbac.v1.RoleBinding(
      `${name}-transport-cert`,
      {
        metadata: meta("transport-cert"),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: certRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: certSa.metadata.name, namespace: ns }],
      },
      child,
    );
    const certScript = new k8s.core.v1.ConfigMap(
      `${name}-transport-cert`,
      { metadata: meta("transport-cert"), data: { "transport-cert.sh": transportCertScript() } },
      child,
    );
    const certJob = new k8s.batch.v1.Job(
      `${name}-transport-cert`,
      {
        metadata: meta("transport-cert"),
        spec: {
          backoffLimit: 6,
          activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
          template: {
            metadata: { labels: objectLabels("transport-cert", name) },
            spec: {
              restartPolicy: "OnFailure",
              serviceAccountName: certSa.metadata.name,
              securityContext: podSecurity(ELASTIC_UID),
              containers: [
                {
                  name: "transport-cert",
                  image: IMAGES.elasticsearch,
                  command: ["bash", "/scripts/transport-cert.sh"],
                  env: [
                    { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "SECRET_NAME", value: n.transport },
                    { name: "CLI_JAVA_OPTS", value: "-Xms64m -Xmx256m" },
                  ],
                  resources: resources("100m", "512Mi", "1"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "scripts", mountPath: "/scripts", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "scripts", configMap: { name: certScript.metadata.name } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
              ],
            },
          },
        },
      },
      { ...child, dependsOn: [transportSecret, certBinding] },
    );

    // ---- Elasticsearch ----
    const esYmlText = elasticsearchYml({ clusterName: name, replicas: args.replicas, statefulSet: n.es, headlessService: n.esHeadless });
    const esConfig = new k8s.core.v1.ConfigMap(
      `${name}-elasticsearch`,
      {
        metadata: meta("elasticsearch"),
        data: { "elasticsearch.yml": esYmlText },
      },
      child,
    );
    const esSelector = selectorLabels("elasticsearch", name);
    new k8s.core.v1.Service(
      `${name}-elasticsearch-nodes`,
      {
        metadata: meta("elasticsearch", n.esHeadless),
        spec: {
          clusterIP: "None",
          // Discovery must resolve nodes that are not ready yet (they become ready only once a master is elected).
          publishNotReadyAddresses: true,
          selector: esSelector,
          ports: [
            { name: "http", port: ES_HTTP, targetPort: "http" },
            { name: "transport", port: ES_TRANSPORT, targetPort: "transport" },
          ],
        },
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-elasticsearch`,
      {
        metadata: meta("elasticsearch", n.es),
        spec: { selector: esSelector, ports: [{ name: "http", port: ES_HTTP, targetPort: "http" }] },
      },
      child,
    );
    const es = new k8s.apps.v1.StatefulSet(
      `${name}-elasticsearch`,
      {
        metadata: meta("elasticsearch", n.es),
        spec: {
          serviceName: n.esHeadless,
          // `pulumi destroy` frees the claims; scaling down keeps them.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
          replicas: args.replicas,
          // All nodes start together: a multi-node cluster elects its first master only when a quorum is up.
          podManagementPolicy: "Parallel",
          selector: { matchLabels: esSelector },
          template: {
            metadata: { labels: objectLabels("elasticsearch", name), annotations: { "shop.io/config-checksum": checksum(esYmlText) } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: podSecurity(ELASTIC_UID),
              terminationGracePeriodSeconds: 120,
              ...(args.replicas > 1
                ? {
                    affinity: {
                      podAntiAffinity: {
                        preferredDuringSchedulingIgnoredDuringExecution: [
                          { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: esSelector } } },
                        ],
                      },
                    },
                  }
                : {}),
              initContainers: [
                {
                  // The image's config directory must be writable (keystore) while the root fs stays read-only:
                  // copy it to an emptyDir and lay our elasticsearch.yml over it.
                  name: "config",
                  image: IMAGES.elasticsearch,
                  command: ["bash", "-c", `cp -a ${ES_HOME}/config/. /config/ && cp /custom/elasticsearch.yml /config/elasticsearch.yml`],
                  resources: resources("50m", "64Mi", "200m"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: "/config" },
                    { name: "custom", mountPath: "/custom", readOnly: true },
                  ],
                },
              ],
              containers: [
                {
                  name: "elasticsearch",
                  image: IMAGES.elasticsearch,
                  env: [
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    { name: "ES_JAVA_OPTS", value: `-Xms${heapMb}m -Xmx${heapMb}m` },
                    // The image's entrypoint sets the `elastic` user's bootstrap password from this.
                    secretEnv("ELASTIC_PASSWORD", KEYS.elastic),
                  ],
                  ports: [
                    { name: "http", containerPort: ES_HTTP },
                    { name: "transport", containerPort: ES_TRANSPORT },
                  ],
                  startupProbe: { tcpSocket: { port: "http" }, periodSeconds: 10, failureThreshold: 60 },
                  readinessProbe: {
                    exec: {
                      command: [
                        "bash",
                        "-c",
                        `curl -fsS -o /dev/null -u "elastic:\${ELASTIC_PASSWORD}" "http://127.0.0.1:${ES_HTTP}/_cluster/health?local=true&timeout=2s"`,
                      ],
                    },
                    periodSeconds: 10,
                    timeoutSeconds: 5,
                    failureThreshold: 3,
                  },
                  livenessProbe: { tcpSocket: { port: "transport" }, periodSeconds: 20, failureThreshold: 5 },
                  resources: resources("500m", args.memory, "2"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: `${ES_HOME}/config` },
                    { name: "transport", mountPath: `${ES_HOME}/config/certs`, readOnly: true },
                    { name: "data", mountPath: `${ES_HOME}/data` },
                    { name: "logs", mountPath: `${ES_HOME}/logs` },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "config", emptyDir: { sizeLimit: "64Mi" } },
                { name: "custom", configMap: { name: esConfig.metadata.name } },
                { name: "transport", secret: { secretName: n.transport, items: [{ key: TRANSPORT_KEYSTORE, path: TRANSPORT_KEYSTORE }] } },
                { name: "logs", emptyDir: { sizeLimit: "512Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data", labels: objectLabels("elasticsearch", name) },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: args.storageClass,
                resources: { requests: { storage: args.storageSize } },
              },
            },
          ],
        },
      },
      { ...child, dependsOn: [certJob] },
    );
    if (args.replicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-elasticsearch`,
        { metadata: meta("elasticsearch"), spec: { maxUnavailable: 1, selector: { matchLabels: esSelector } } },
        child,
      );
    }

    // ---- setup Job: lifecycle policy, index template, roles and users (every call idempotent) ----
    const setupFiles = new k8s.core.v1.ConfigMap(
      `${name}-es-setup`,
      { metadata: meta("es-setup"), data: elasticsearchSetupFiles(args.retentionDays, args.replicas) },
      child,
    );
    const curlJob = (
      suffix: string,
      app: string,
      files: k8s.core.v1.ConfigMap,
      script: string,
      env: k8s.types.input.core.v1.EnvVar[],
      dependsOn: pulumi.Resource[],
    ) =>
      new k8s.batch.v1.Job(
        `${name}-${suffix}`,
        {
          metadata: meta(app),
          spec: {
            backoffLimit: 6,
            activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
            template: {
              metadata: { labels: objectLabels(app, name) },
              spec: {
                restartPolicy: "OnFailure",
                automountServiceAccountToken: false,
                // The curl image's user.
                securityContext: podSecurity(100),
                containers: [
                  {
                    name: suffix,
                    image: IMAGES.curl,
                    command: ["sh", `/config/${script}`],
                    env,
                    resources: resources("10m", "32Mi", "100m"),
                    securityContext: hardened,
                    volumeMounts: [
                      { name: "config", mountPath: "/config", readOnly: true },
                      { name: "tmp", mountPath: "/tmp" },
                    ],
                  },
                ],
                volumes: [
                  { name: "config", configMap: { name: files.metadata.name } },
                  { name: "tmp", emptyDir: { sizeLimit: "16Mi", medium: "Memory" } },
                ],
              },
            },
          },
        },
        { ...child, dependsOn },
      );
    const setupJob = curlJob(
      "es-setup",
      "es-setup",
      setupFiles,
      "setup.sh",
      [
        { name: "ES_URL", value: esUrl },
        secretEnv("ELASTIC_PASSWORD", KEYS.elastic),
        secretEnv("FLUENT_BIT_PASSWORD", KEYS.fluentBit),
        secretEnv("READER_PASSWORD", KEYS.reader),
        secretEnv("KIBANA_PASSWORD", KEYS.kibana),
      ],
      [es],
    );

    // ---- Fluent Bit ----
    const fbSa = new k8s.core.v1.ServiceAccount(`${name}-fluent-bit`, { metadata: meta("fluent-bit", n.fluentBit) }, child);
    const fbRole = new k8s.rbac.v1.ClusterRole(
      `${name}-fluent-bit`,
      {
        metadata: { labels: objectLabels("fluent-bit", name) },
        // The kubernetes filter only GETs the pod a log line came from.
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
      },
      child,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-fluent-bit`,
      {
        metadata: { labels: objectLabels("fluent-bit", name) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: fbRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: fbSa.metadata.name, namespace: ns }],
      },
      child,
    );
    const fbFiles = ns.apply((namespace) => fluentBitConfig({ elasticsearchHost: `${n.es}.${namespace}.svc`, bufferLimit }));
    const fbConfig = new k8s.core.v1.ConfigMap(`${name}-fluent-bit`, { metadata: meta("fluent-bit"), data: fbFiles }, child);
    const fbSelector = selectorLabels("fluent-bit", name);
    new k8s.apps.v1.DaemonSet(
      `${name}-fluent-bit`,
      {
        metadata: meta("fluent-bit", n.fluentBit),
        spec: {
          selector: { matchLabels: fbSelector },
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: {
              labels: objectLabels("fluent-bit", name),
              annotations: {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(FLUENT_BIT_PORT),
                "prometheus.io/path": "/api/v1/metrics/prometheus",
              },
            },
            spec: {
              serviceAccountName: fbSa.metadata.name,
              // Container logs on the host are root-owned (0640): the one workload that runs as uid 0,
              // still without capabilities, privilege escalation or a writable root fs.
              securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: "RuntimeDefault" } },
              // Every node's logs, including tainted nodes'.
              tolerations: [{ operator: "Exists" }],
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: "fluent-bit",
                  image: IMAGES.fluentBit,
                  command: ["/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/shop/fluent-bit.conf"],
                  env: [
                    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "ES_USER", value: ES_USERS.fluentBit },
                    secretEnv("ES_PASSWORD", KEYS.fluentBit),
                  ],
                  ports: [{ name: "http", containerPort: FLUENT_BIT_PORT }],
                  livenessProbe: { httpGet: { path: "/api/v1/health", port: "http" }, initialDelaySeconds: 10, periodSeconds: 15, failureThreshold: 4 },
                  readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
                  resources: resources("50m", "128Mi", "500m"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: "/fluent-bit/etc/shop", readOnly: true },
                    { name: "varlog", mountPath: "/var/log", readOnly: true },
                    { name: "state", mountPath: FLUENT_BIT_STATE_DIR },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: fbConfig.metadata.name } },
                { name: "varlog", hostPath: { path: "/var/log", type: "Directory" } },
                // Tail offsets and the output buffer survive pod restarts: nothing is lost while Elasticsearch is away.
                { name: "state", hostPath: { path: FLUENT_BIT_STATE_DIR, type: "DirectoryOrCreate" } },
              ],
            },
          },
        },
      },
      { ...child, dependsOn: [setupJob] },
    );

    // ---- Kibana ----
    const kibanaConfig = new k8s.core.v1.ConfigMap(
      `${name}-kibana`,
      {
        metadata: meta("kibana"),
        data: { "kibana.yml": esUrl.apply((u) => kibanaYml({ elasticsearchUrl: u, basePath: args.kibanaPath })) },
      },
      child,
    );
    const kibanaSelector = selectorLabels("kibana", name);
    const statusPath = `${args.kibanaPath}/api/status`;
    const kibana = new k8s.apps.v1.Deployment(
      `${name}-kibana`,
      {
        metadata: meta("kibana", n.kibana),
        spec: {
          replicas: 1,
          selector: { matchLabels: kibanaSelector },
          template: {
            metadata: { labels: objectLabels("kibana", name) },
            spec: {
              automountServiceAccountToken: false,
              securityContext: podSecurity(ELASTIC_UID),
              containers: [
                {
                  name: "kibana",
                  image: IMAGES.kibana,
                  env: [
                    secretEnv("KIBANA_PASSWORD", KEYS.kibana),
                    secretEnv("KIBANA_ENCRYPTION_KEY", KEYS.kibanaKey),
                    { name: "NODE_OPTIONS", value: `--max-old-space-size=${Math.floor((kibanaBytes / 2 ** 20) * 0.7)}` },
                  ],
                  ports: [{ name: "http", containerPort: KIBANA_PORT }],
                  startupProbe: { httpGet: { path: statusPath, port: "http" }, periodSeconds: 10, failureThreshold: 60 },
                  readinessProbe: { httpGet: { path: statusPath, port: "http" }, periodSeconds: 10, timeoutSeconds: 5 },
                  livenessProbe: { tcpSocket: { port: "http" }, periodSeconds: 20, failureThreshold: 5 },
                  resources: resources("100m", kibanaMemory, "1"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: "/usr/share/kibana/config/kibana.yml", subPath: "kibana.yml", readOnly: true },
                    { name: "data", mountPath: "/usr/share/kibana/data" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: kibanaConfig.metadata.name } },
                { name: "data", emptyDir: { sizeLimit: "256Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
              ],
            },
          },
        },
      },
      // kibana_system's password is set by the setup Job.
      { ...child, dependsOn: [setupJob] },
    );
    const kibanaSvc = new k8s.core.v1.Service(
      `${name}-kibana`,
      {
        metadata: meta("kibana", n.kibana),
        spec: { selector: kibanaSelector, ports: [{ name: "http", port: KIBANA_PORT, targetPort: "http" }] },
      },
      child,
    );
    const dataViewConfig = new k8s.core.v1.ConfigMap(
      `${name}-data-view`,
      { metadata: meta("data-view"), data: pulumi.output(args.shopNamespace).apply(dataViewFiles) },
      child,
    );
    curlJob(
      "data-view",
      "data-view",
      dataViewConfig,
      "data-view.sh",
      [{ name: "KIBANA_URL", value: pulumi.interpolate`http://${n.kibana}.${ns}.svc:${KIBANA_PORT}${args.kibanaPath}` }, secretEnv("ELASTIC_PASSWORD", KEYS.elastic)],
      [kibana],
    );

    // ---- NetworkPolicies: each workload gets exactly the paths it needs, in and out ----
    const policy = (
      app: string,
      ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[],
      egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[],
    ) =>
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${app}`,
        {
          metadata: meta(app),
          spec: { podSelector: { matchLabels: selectorLabels(app, name) }, policyTypes: ["Ingress", "Egress"], ingress, egress },
        },
        child,
      );
    const toEs = { to: [podPeer("elasticsearch", name)], ports: tcp(ES_HTTP) };
    policy(
      "elasticsearch",
      [
        // Fluent Bit -> ES, Kibana -> ES, the setup Job -> ES, Grafana (Monitoring, same namespace) -> ES.
        {
          from: [podPeer("fluent-bit", name), podPeer("kibana", name), podPeer("es-setup", name), podPeer("grafana")],
          ports: tcp(ES_HTTP),
        },
        { from: [podPeer("elasticsearch", name)], ports: tcp(ES_TRANSPORT) },
      ],
      [{ to: [podPeer("elasticsearch", name)], ports: tcp(ES_TRANSPORT) }, dnsEgress],
    );
    policy(
      "fluent-bit",
      // Prometheus (Monitoring, same namespace) scrapes Fluent Bit's metrics.
      [{ from: [podPeer("prometheus")], ports: tcp(FLUENT_BIT_PORT) }],
      [toEs, apiServerEgress, dnsEgress],
    );
    policy(
      "kibana",
      [
        { from: [namespacePeer(edgeNs)], ports: tcp(KIBANA_PORT) },
        { from: [podPeer("data-view", name)], ports: tcp(KIBANA_PORT) },
      ],
      [toEs, dnsEgress],
    );
    policy("es-setup", [], [toEs, dnsEgress]);
    policy("data-view", [], [{ to: [podPeer("kibana", name)], ports: tcp(KIBANA_PORT) }, dnsEgress]);
    policy("transport-cert", [], [apiServerEgress, dnsEgress]);

    this.elasticsearchUrl = esUrl;
    this.kibanaBackend = { serviceName: kibanaSvc.metadata.name, port: KIBANA_PORT };
    this.elasticPassword = pulumi.secret(elasticPassword);
    this.readerUsername = pulumi.output(ES_USERS.reader);
    this.readerPassword = readerPassword;
    this.registerOutputs({
      elasticsearchUrl: this.elasticsearchUrl,
      kibanaBackend: this.kibanaBackend,
      elasticPassword: this.elasticPassword,
      readerUsername: this.readerUsername,
      readerPassword: this.readerPassword,
    });
  }
}
