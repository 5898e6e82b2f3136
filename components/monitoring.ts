import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { alertmanagerConfig, webhookPort } from "./observability/alertmanager-config";
import { allDashboards } from "./observability/dashboards";
import { dashboardProvider, DASHBOARDS_DIR, datasources, GRAFANA_ES_ENV } from "./observability/grafana-config";
import { IMAGES } from "./observability/images";
import {
  apiServerEgress,
  checkPromDuration,
  checksum,
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
import { prometheusConfig } from "./observability/prometheus-config";
import { AlertThresholds, shopAlertRules } from "./observability/rules";

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
  /** The observability namespace (PSA privileged because Fluent Bit shares it). */
  namespace: pulumi.Input<string>;
  /** The explicit Kubernetes provider every child uses. */
  provider: k8s.Provider;
  /** The microservices (their `app.kubernetes.io/name`): one RED dashboard and one "down" alert each. */
  services: string[];
  /** Namespace the services run in; its annotated pods are scraped. */
  shopNamespace: pulumi.Input<string>;
  /** Prometheus TSDB retention, a Prometheus duration such as `15d`. */
  retention: string;
  /** Size of Prometheus' volume, e.g. `10Gi`. */
  storageSize: string;
  /** Storage class of Prometheus' volume. */
  storageClass: string;
  /** Path Grafana is served under, e.g. `/grafana`. */
  grafanaPath: string;
  /** Namespace of the edge (the Gateway implementation's pods), admitted to Grafana's port only. */
  edgeNamespace: string;
  /** Grafana's admin password (secret). @default generated with `@pulumi/random` */
  grafanaAdminPassword?: pulumi.Input<string>;
  /** Webhook every alert is sent to (secret). @default none: alerts are grouped but not sent */
  alertWebhookUrl?: pulumi.Input<string>;
  /** Elasticsearch URL for Grafana's log datasource (logging on). @default no Elasticsearch datasource */
  elasticsearchUrl?: pulumi.Input<string>;
  /** Read-only Elasticsearch user for that datasource (`Logging.readerUsername`). @default "shop-logs-reader" */
  elasticsearchUsername?: pulumi.Input<string>;
  /** Its password (`Logging.readerPassword`, secret). Required with `elasticsearchUrl`. */
  elasticsearchPassword?: pulumi.Input<string>;
  /** Alert thresholds. @default see `AlertThresholds` */
  thresholds?: AlertThresholds;
  /** `external_labels.cluster` of Prometheus. @default the stack name */
  clusterLabel?: string;
}

const PROMETHEUS_PORT = 9090;
const ALERTMANAGER_PORT = 9093;
const GRAFANA_PORT = 3000;
const KSM_PORT = 8080;
const KSM_TELEMETRY_PORT = 8081;
/** The port the shop's services serve /metrics on (docs/architecture.md). */
const SERVICE_METRICS_PORT = 8080;
/** Fluent Bit's HTTP server (metrics, health). */
const FLUENT_BIT_PORT = 2020;
const KUBELET_PORT = 10250;
const RULES_DIR = "/etc/prometheus/rules";
/** uid of the Prometheus, Alertmanager and kube-state-metrics images (`nobody`). */
const NOBODY = 65534;
/** uid of the Grafana image. */
const GRAFANA_UID = 472;

/**
 * Metrics, alerts and dashboards for the shop: Prometheus (scrapes the
 * services' annotated pods, the API server, cAdvisor and kube-state-metrics),
 * the shop's alert rules, Alertmanager with a webhook receiver, and Grafana with
 * provisioned datasources and dashboards, served under `grafanaPath` (the route to it is the caller's:
 * `grafanaBackend`).
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Grafana's Service and port, for the public route (made by the caller). */
  readonly grafanaBackend: { serviceName: pulumi.Output<string>; port: number };
  /** In-cluster URL of Prometheus. */
  readonly prometheusUrl: pulumi.Output<string>;
  /** In-cluster URL of Alertmanager. */
  readonly alertmanagerUrl: pulumi.Output<string>;
  /** Grafana's admin password (secret). */
  readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Monitoring", name, {}, opts);
    const fail = (field: string, what: string) => new pulumi.ResourceError(`Monitoring ${name}: ${field} ${what}`, this);

    // ---- inputs and defaults, in one place ----
    if (args.services.length === 0) throw fail("services", "is empty; pass the microservice names to monitor");
    for (const s of args.services) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)) throw fail("services", `entry "${s}" is not a DNS label (the pods' app.kubernetes.io/name)`);
    }
    if (new Set(args.services).size !== args.services.length) throw fail("services", "has duplicates");
    const tryOr = (fn: () => unknown, field: string) => {
      try {
        fn();
      } catch (e) {
        throw fail(field, `is invalid: ${(e as Error).message}`);
      }
    };
    tryOr(() => checkPromDuration(args.retention, "retention"), "retention");
    tryOr(() => memoryBytes(args.storageSize, "storageSize"), "storageSize");
    if (!/^\/[a-zA-Z0-9._~/-]*[a-zA-Z0-9._~-]$/.test(args.grafanaPath)) {
      throw fail("grafanaPath", `"${args.grafanaPath}" must start with "/" and not end with "/", e.g. "/grafana"`);
    }
    if (!args.storageClass) throw fail("storageClass", "is empty; name the storage class of Prometheus' volume");
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.edgeNamespace ?? "")) throw fail("edgeNamespace", "must be a namespace name (e.g. envoy-gateway-system)");
    if (args.elasticsearchUrl !== undefined && args.elasticsearchPassword === undefined) {
      throw fail("elasticsearchPassword", "is required with elasticsearchUrl (pass Logging.readerPassword)");
    }
    const services = [...args.services];
    const edgeNs = args.edgeNamespace;
    const cluster = args.clusterLabel ?? pulumi.getStack();
    const esUser = args.elasticsearchUsername ?? "shop-logs-reader";
    const withLogs = args.elasticsearchUrl !== undefined;

    const provider = args.provider;
    const child = { parent: this, provider };
    const ns = pulumi.output(args.namespace);
    const shopNs = pulumi.output(args.shopNamespace);
    const n = {
      prometheus: `${name}-prometheus`,
      alertmanager: `${name}-alertmanager`,
      ksm: `${name}-kube-state-metrics`,
      grafana: `${name}-grafana`,
    };
    const meta = (app: string, objectName?: string, namespace: pulumi.Input<string> = ns) => ({
      namespace,
      labels: objectLabels(app, name),
      ...(objectName ? { name: objectName } : {}),
    });
    const promUrl = pulumi.interpolate`http://${n.prometheus}.${ns}.svc:${PROMETHEUS_PORT}`;

    // ---- Prometheus: RBAC ----
    const promSa = new k8s.core.v1.ServiceAccount(`${name}-prometheus`, { metadata: meta("prometheus", n.prometheus) }, child);
    const promRole = new k8s.rbac.v1.ClusterRole(
      `${name}-prometheus`,
      {
        metadata: { labels: objectLabels("prometheus", name) },
        rules: [
          // Service discovery: read-only on the objects the kubernetes_sd roles watch.
          { apiGroups: [""], resources: ["pods", "services", "endpoints", "nodes"], verbs: ["get", "list", "watch"] },
          // cAdvisor on each kubelet (memory / CPU of containers).
          { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
          // The API server's own /metrics.
          { nonResourceURLs: ["/metrics"], verbs: ["get"] },
        ],
      },
      child,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-prometheus`,
      {
        metadata: { labels: objectLabels("prometheus", name) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: promRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: promSa.metadata.name, namespace: ns }],
      },
      child,
    );

    // ---- Prometheus: configuration and rules ----
    const promYaml = pulumi.all([ns, shopNs]).apply(([namespace, shopNamespace]) =>
      yaml.dump(
        prometheusConfig({
          namespace,
          shopNamespace,
          alertmanager: `${n.alertmanager}.${namespace}.svc:${ALERTMANAGER_PORT}`,
          kubeStateMetrics: `${n.ksm}.${namespace}.svc:${KSM_PORT}`,
          rulesDir: RULES_DIR,
          cluster,
        }),
        { lineWidth: 200, noRefs: true },
      ),
    );
    const rulesYaml = shopNs.apply((shopNamespace) =>
      yaml.dump(shopAlertRules({ services, shopNamespace, thresholds: args.thresholds }), { lineWidth: 200, noRefs: true }),
    );
    const promConfig = new k8s.core.v1.ConfigMap(
      `${name}-prometheus`,
      { metadata: meta("prometheus", n.prometheus), data: { "prometheus.yml": promYaml } },
      child,
    );
    const promRules = new k8s.core.v1.ConfigMap(
      `${name}-prometheus-rules`,
      { metadata: meta("prometheus", `${n.prometheus}-rules`), data: { "shop.yml": rulesYaml } },
      child,
    );

    // ---- Prometheus: server ----
    const promSelector = selectorLabels("prometheus", name);
    new k8s.core.v1.Service(
      `${name}-prometheus`,
      {
        metadata: meta("prometheus", n.prometheus),
        spec: { selector: promSelector, ports: [{ name: "http", port: PROMETHEUS_PORT, targetPort: "http" }] },
      },
      child,
    );
    new k8s.apps.v1.StatefulSet(
      `${name}-prometheus`,
      {
        metadata: meta("prometheus", n.prometheus),
        spec: {
          serviceName: n.prometheus,
          // `pulumi destroy` frees the claims; scaling down keeps them.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
          replicas: 1,
          selector: { matchLabels: promSelector },
          template: {
            metadata: {
              labels: objectLabels("prometheus", name),
              annotations: { "shop.io/config-checksum": pulumi.all([promYaml, rulesYaml]).apply(([a, b]) => checksum(a, b)) },
            },
            spec: {
              serviceAccountName: promSa.metadata.name,
              securityContext: podSecurity(NOBODY),
              containers: [
                {
                  name: "prometheus",
                  image: IMAGES.prometheus,
                  args: [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus",
                    `--storage.tsdb.retention.time=${args.retention}`,
                    "--web.listen-address=:9090",
                  ],
                  ports: [{ name: "http", containerPort: PROMETHEUS_PORT }],
                  readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10, failureThreshold: 6 },
                  livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 4 },
                  resources: resources("200m", "1Gi", "1"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: "/etc/prometheus/prometheus.yml", subPath: "prometheus.yml", readOnly: true },
                    { name: "rules", mountPath: RULES_DIR, readOnly: true },
                    { name: "data", mountPath: "/prometheus" },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: promConfig.metadata.name } },
                { name: "rules", configMap: { name: promRules.metadata.name } },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data", labels: objectLabels("prometheus", name) },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: args.storageClass,
                resources: { requests: { storage: args.storageSize } },
              },
            },
          ],
        },
      },
      child,
    );

    // ---- kube-state-metrics: pod restarts and resource limits, for the shop's and our namespace only ----
    const ksmSa = new k8s.core.v1.ServiceAccount(`${name}-kube-state-metrics`, { metadata: meta("kube-state-metrics", n.ksm) }, child);
    const watched: [string, pulumi.Output<string>][] = [
      ["shop", shopNs],
      ["self", ns],
    ];
    for (const [key, namespace] of watched) {
      // Namespaced Roles, not a ClusterRole: it only lists pods, and only in these namespaces.
      const role = new k8s.rbac.v1.Role(
        `${name}-kube-state-metrics-${key}`,
        {
          metadata: { namespace, labels: objectLabels("kube-state-metrics", name) },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }],
        },
        child,
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-kube-state-metrics-${key}`,
        {
          metadata: { namespace, labels: objectLabels("kube-state-metrics", name) },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
          subjects: [{ kind: "ServiceAccount", name: ksmSa.metadata.name, namespace: ns }],
        },
        child,
      );
    }
    const ksmSelector = selectorLabels("kube-state-metrics", name);
    new k8s.apps.v1.Deployment(
      `${name}-kube-state-metrics`,
      {
        metadata: meta("kube-state-metrics", n.ksm),
        spec: {
          replicas: 1,
          selector: { matchLabels: ksmSelector },
          template: {
            metadata: { labels: objectLabels("kube-state-metrics", name) },
            spec: {
              serviceAccountName: ksmSa.metadata.name,
              securityContext: podSecurity(NOBODY),
              containers: [
                {
                  name: "kube-state-metrics",
                  image: IMAGES.kubeStateMetrics,
                  args: [
                    "--resources=pods",
                    pulumi.interpolate`--namespaces=${shopNs},${ns}`,
                    `--port=${KSM_PORT}`,
                    `--telemetry-port=${KSM_TELEMETRY_PORT}`,
                  ],
                  ports: [
                    { name: "http", containerPort: KSM_PORT },
                    { name: "telemetry", containerPort: KSM_TELEMETRY_PORT },
                  ],
                  livenessProbe: { httpGet: { path: "/livez", port: "http" }, initialDelaySeconds: 5, periodSeconds: 15 },
                  readinessProbe: { httpGet: { path: "/readyz", port: "telemetry" }, periodSeconds: 10 },
                  resources: resources("20m", "64Mi", "200m"),
                  securityContext: hardened,
                },
              ],
            },
          },
        },
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-kube-state-metrics`,
      {
        metadata: meta("kube-state-metrics", n.ksm),
        spec: { selector: ksmSelector, ports: [{ name: "http", port: KSM_PORT, targetPort: "http" }] },
      },
      child,
    );

    // ---- Alertmanager ----
    const webhook = args.alertWebhookUrl !== undefined ? pulumi.output(args.alertWebhookUrl) : undefined;
    const amYaml = webhook
      ? pulumi.secret(webhook.apply((url) => yaml.dump(alertmanagerConfig(url), { lineWidth: 200 })))
      : pulumi.output(yaml.dump(alertmanagerConfig(), { lineWidth: 200 }));
    // A Secret, not a ConfigMap: the rendered configuration holds the webhook URL.
    const amSecret = new k8s.core.v1.Secret(
      `${name}-alertmanager`,
      { metadata: meta("alertmanager"), type: "Opaque", stringData: { "alertmanager.yml": amYaml } },
      child,
    );
    const amSelector = selectorLabels("alertmanager", name);
    new k8s.apps.v1.Deployment(
      `${name}-alertmanager`,
      {
        metadata: meta("alertmanager", n.alertmanager),
        spec: {
          replicas: 1,
          selector: { matchLabels: amSelector },
          template: {
            metadata: { labels: objectLabels("alertmanager", name) },
            spec: {
              automountServiceAccountToken: false,
              securityContext: podSecurity(NOBODY),
              containers: [
                {
                  name: "alertmanager",
                  image: IMAGES.alertmanager,
                  args: [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/alertmanager",
                    `--web.listen-address=:${ALERTMANAGER_PORT}`,
                    // One replica: no gossip cluster.
                    "--cluster.listen-address=",
                  ],
                  ports: [{ name: "http", containerPort: ALERTMANAGER_PORT }],
                  readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
                  livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 10, periodSeconds: 15 },
                  resources: resources("20m", "64Mi", "200m"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "config", mountPath: "/etc/alertmanager", readOnly: true },
                    { name: "data", mountPath: "/alertmanager" },
                  ],
                },
              ],
              volumes: [
                // The Secret's name changes with its content (auto-named), which rolls the pod.
                { name: "config", secret: { secretName: amSecret.metadata.name } },
                { name: "data", emptyDir: { sizeLimit: "256Mi" } },
              ],
            },
          },
        },
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-alertmanager`,
      {
        metadata: meta("alertmanager", n.alertmanager),
        spec: { selector: amSelector, ports: [{ name: "http", port: ALERTMANAGER_PORT, targetPort: "http" }] },
      },
      child,
    );

    // ---- Grafana: credentials ----
    const adminPassword: pulumi.Output<string> =
      args.grafanaAdminPassword !== undefined
        ? pulumi.secret(args.grafanaAdminPassword)
        : new random.RandomPassword(`${name}-grafana-admin`, { length: 24, special: false }, { parent: this }).result;
    const grafanaSecretData: Record<string, pulumi.Input<string>> = { "admin-user": "admin", "admin-password": adminPassword };
    if (withLogs) {
      grafanaSecretData[GRAFANA_ES_ENV.user] = esUser;
      grafanaSecretData[GRAFANA_ES_ENV.password] = pulumi.secret(args.elasticsearchPassword!);
    }
    const grafanaSecret = new k8s.core.v1.Secret(
      `${name}-grafana`,
      { metadata: meta("grafana"), type: "Opaque", stringData: grafanaSecretData },
      child,
    );

    // ---- Grafana: provisioning ----
    const dsYaml = pulumi
      .all([promUrl, args.elasticsearchUrl])
      .apply(([p, es]) => yaml.dump(datasources(p, es), { lineWidth: 200 }));
    const provisioning = new k8s.core.v1.ConfigMap(
      `${name}-grafana-provisioning`,
      {
        metadata: meta("grafana"),
        data: { "datasources.yaml": dsYaml, "dashboards.yaml": yaml.dump(dashboardProvider()) },
      },
      child,
    );
    const dashboardFiles = shopNs.apply((shopNamespace) => {
      const out: Record<string, string> = {};
      for (const [file, d] of Object.entries(allDashboards(services, shopNamespace))) out[file] = JSON.stringify(d, null, 1);
      return out;
    });
    const dashboards = new k8s.core.v1.ConfigMap(`${name}-grafana-dashboards`, { metadata: meta("grafana"), data: dashboardFiles }, child);

    // ---- Grafana: server ----
    const grafanaSelector = selectorLabels("grafana", name);
    const fromSecret = (key: string) => ({ secretKeyRef: { name: grafanaSecret.metadata.name, key } });
    const grafanaEnv: k8s.types.input.core.v1.EnvVar[] = [
      { name: "GF_SECURITY_ADMIN_USER", valueFrom: fromSecret("admin-user") },
      { name: "GF_SECURITY_ADMIN_PASSWORD", valueFrom: fromSecret("admin-password") },
      // The sub path is what serve_from_sub_path needs; the public host and scheme are the route's.
      { name: "GF_SERVER_ROOT_URL", value: `%(protocol)s://%(domain)s:%(http_port)s${args.grafanaPath}/` },
      { name: "GF_SERVER_SERVE_FROM_SUB_PATH", value: "true" },
      { name: "GF_PATHS_PROVISIONING", value: "/etc/grafana/provisioning" },
      { name: "GF_PATHS_DATA", value: "/var/lib/grafana" },
      { name: "GF_USERS_ALLOW_SIGN_UP", value: "false" },
      { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" },
      { name: "GF_SECURITY_DISABLE_GRAVATAR", value: "true" },
      // No internet access is assumed: no update checks, usage reports or plugin downloads.
      { name: "GF_ANALYTICS_REPORTING_ENABLED", value: "false" },
      { name: "GF_ANALYTICS_CHECK_FOR_UPDATES", value: "false" },
      { name: "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", value: "false" },
      { name: "GF_PLUGINS_PREINSTALL_DISABLED", value: "true" },
      { name: "GF_LOG_MODE", value: "console" },
      { name: "GF_LOG_CONSOLE_FORMAT", value: "json" },
    ];
    if (withLogs) {
      grafanaEnv.push(
        { name: GRAFANA_ES_ENV.user, valueFrom: fromSecret(GRAFANA_ES_ENV.user) },
        { name: GRAFANA_ES_ENV.password, valueFrom: fromSecret(GRAFANA_ES_ENV.password) },
      );
    }
    new k8s.apps.v1.Deployment(
      `${name}-grafana`,
      {
        metadata: meta("grafana", n.grafana),
        spec: {
          replicas: 1,
          selector: { matchLabels: grafanaSelector },
          template: {
            metadata: {
              labels: objectLabels("grafana", name),
              annotations: {
                "shop.io/config-checksum": pulumi.all([dsYaml, dashboardFiles]).apply(([d, f]) => checksum(d, JSON.stringify(f))),
              },
            },
            spec: {
              automountServiceAccountToken: false,
              securityContext: podSecurity(GRAFANA_UID),
              containers: [
                {
                  name: "grafana",
                  image: IMAGES.grafana,
                  env: grafanaEnv,
                  ports: [{ name: "http", containerPort: GRAFANA_PORT }],
                  readinessProbe: { httpGet: { path: `${args.grafanaPath}/api/health`, port: "http" }, periodSeconds: 10 },
                  livenessProbe: {
                    httpGet: { path: `${args.grafanaPath}/api/health`, port: "http" },
                    initialDelaySeconds: 30,
                    periodSeconds: 15,
                    failureThreshold: 5,
                  },
                  resources: resources("50m", "256Mi", "500m"),
                  securityContext: hardened,
                  volumeMounts: [
                    { name: "provisioning", mountPath: "/etc/grafana/provisioning", readOnly: true },
                    { name: "dashboards", mountPath: DASHBOARDS_DIR, readOnly: true },
                    { name: "data", mountPath: "/var/lib/grafana" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                {
                  name: "provisioning",
                  projected: {
                    sources: [
                      {
                        configMap: {
                          name: provisioning.metadata.name,
                          items: [
                            { key: "datasources.yaml", path: "datasources/shop.yaml" },
                            { key: "dashboards.yaml", path: "dashboards/shop.yaml" },
                          ],
                        },
                      },
                    ],
                  },
                },
                { name: "dashboards", configMap: { name: dashboards.metadata.name } },
                // Dashboards and datasources are provisioned from code; the sqlite state is disposable.
                { name: "data", emptyDir: { sizeLimit: "1Gi" } },
                { name: "tmp", emptyDir: { sizeLimit: "128Mi" } },
              ],
            },
          },
        },
      },
      child,
    );
    const grafanaSvc = new k8s.core.v1.Service(
      `${name}-grafana`,
      {
        metadata: meta("grafana", n.grafana),
        spec: { selector: grafanaSelector, ports: [{ name: "http", port: GRAFANA_PORT, targetPort: "http" }] },
      },
      child,
    );
    // ---- NetworkPolicies: each workload gets exactly the paths it needs, in and out ----
    const policy = (
      suffix: string,
      app: string,
      ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[],
      egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[],
    ) =>
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${suffix}`,
        {
          metadata: meta(app),
          spec: { podSelector: { matchLabels: selectorLabels(app, name) }, policyTypes: ["Ingress", "Egress"], ingress, egress },
        },
        child,
      );
    policy(
      "prometheus",
      "prometheus",
      [{ from: [podPeer("grafana", name)], ports: tcp(PROMETHEUS_PORT) }],
      [
        // Prometheus -> targets: the services' metrics port, Fluent Bit, kube-state-metrics, kubelets, the API server.
        { to: [shopNs.apply((s) => namespacePeer(s))], ports: tcp(SERVICE_METRICS_PORT) },
        { to: [podPeer("fluent-bit")], ports: tcp(FLUENT_BIT_PORT) },
        { to: [podPeer("kube-state-metrics", name)], ports: tcp(KSM_PORT) },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(KUBELET_PORT) },
        apiServerEgress,
        // Prometheus -> Alertmanager.
        { to: [podPeer("alertmanager", name)], ports: tcp(ALERTMANAGER_PORT) },
        dnsEgress,
      ],
    );
    policy(
      "kube-state-metrics",
      "kube-state-metrics",
      [{ from: [podPeer("prometheus", name)], ports: tcp(KSM_PORT) }],
      [apiServerEgress],
    );
    policy(
      "alertmanager",
      "alertmanager",
      [{ from: [podPeer("prometheus", name)], ports: tcp(ALERTMANAGER_PORT) }],
      webhook
        ? [
            // The webhook lives outside the cluster at an address only known at run time: open its port only
            // (the port number is not secret, the URL is).
            { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: pulumi.unsecret(webhook.apply(webhookPort)) }] },
            dnsEgress,
          ]
        : [dnsEgress],
    );
    policy(
      "grafana",
      "grafana",
      [{ from: [namespacePeer(edgeNs)], ports: tcp(GRAFANA_PORT) }],
      [
        { to: [podPeer("prometheus", name)], ports: tcp(PROMETHEUS_PORT) },
        ...(withLogs ? [{ to: [podPeer("elasticsearch")], ports: tcp(9200) }] : []),
        dnsEgress,
      ],
    );
    // In the shop's namespace: admit Prometheus to the services' metrics port (additive to the shop's own policies).
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-scrape`,
      {
        metadata: meta("prometheus", undefined, shopNs),
        spec: {
          podSelector: {},
          policyTypes: ["Ingress"],
          ingress: [{ from: [ns.apply((o) => namespacePeer(o, selectorLabels("prometheus", name)))], ports: tcp(SERVICE_METRICS_PORT) }],
        },
      },
      child,
    );

    this.grafanaAdminPassword = pulumi.secret(adminPassword);
    this.prometheusUrl = promUrl;
    this.alertmanagerUrl = pulumi.interpolate`http://${n.alertmanager}.${ns}.svc:${ALERTMANAGER_PORT}`;
    this.grafanaBackend = { serviceName: grafanaSvc.metadata.name, port: GRAFANA_PORT };
    this.registerOutputs({
      grafanaBackend: this.grafanaBackend,
      prometheusUrl: this.prometheusUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}
