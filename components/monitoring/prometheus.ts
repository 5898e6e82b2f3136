/**
 * Prometheus: RBAC for service discovery, its configuration and rules, the server (a StatefulSet with
 * a retained volume) and its NetworkPolicies: Grafana in, its scrape targets and Alertmanager out,
 * plus the policy in the shop's namespace that admits it to the services' metrics port.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import {
  ANYWHERE,
  API_SERVER_PORTS,
  filesChecksum,
  RETAIN_CLAIMS,
  containerSecurityContext,
  HTTP_PORT,
  namespaceSelector,
  podSecurityContext,
  resources,
  WorkloadScope,
} from "../kit";
import { FLUENT_BIT } from "../logging/peers";
import { IMAGES } from "./images";
import { ALERTMANAGER, GRAFANA, KUBE_STATE_METRICS, KUBELET_PORT, NOBODY, PROMETHEUS } from "./peers";
import { prometheusConfig } from "./prometheus-config";
import { AlertThresholds, logPipelineRules, shopAlertRules } from "./rules";

const RULES_DIR = "/etc/prometheus/rules";
/** Prometheus' feature flags (`--enable-feature`): created timestamps as zero samples, see the args. */
const PROMETHEUS_FEATURES = ["created-timestamp-zero-ingestion"] as const;

/** A workload (pods of another namespace) allowed to query Prometheus' API. */
export interface PrometheusQuerier {
  /** DNS label naming the flow: the policy is `<monitoring>-prometheus-in-<name>`. */
  name: string;
  namespace: pulumi.Input<string>;
  pods: Record<string, string>;
}

/** What Prometheus needs from the composer. */
export interface PrometheusInput {
  services: string[];
  shopNamespace: pulumi.Output<string>;
  retention: string;
  storageSize: string;
  storageClass: string;
  cluster: string;
  thresholds?: AlertThresholds;
  /** `global.scrape_interval`. @default "30s" */
  scrapeInterval?: string;
  /** `global.evaluation_interval`. @default "30s" */
  evaluationInterval?: string;
  /** Replaces every alert's `for:`. @default each rule's own */
  alertPendingFor?: string;
  /** Other namespaces' workloads admitted to the API port. @default none */
  queriers?: PrometheusQuerier[];
}

/** Prometheus of one Monitoring; returns its in-cluster URL. */
export function createPrometheus(s: WorkloadScope, input: PrometheusInput): { url: pulumi.Output<string> } {
  const app = PROMETHEUS.app;
  const objName = `${s.name}-prometheus`;
  const ns = s.namespace;

  // ---- RBAC: read-only discovery, kubelet metrics and the API server's /metrics ----
  const sa = new k8s.core.v1.ServiceAccount(`${s.name}-prometheus`, { metadata: s.meta(app, objName) }, s.opts);
  const role = new k8s.rbac.v1.ClusterRole(
    `${s.name}-prometheus`,
    {
      metadata: { labels: s.labels(app) },
      rules: [
        // Service discovery: read-only on the objects the kubernetes_sd roles watch.
        { apiGroups: [""], resources: ["pods", "services", "endpoints", "nodes"], verbs: ["get", "list", "watch"] },
        // cAdvisor on each kubelet (memory / CPU of containers).
        { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
        // The API server's own /metrics.
        { nonResourceURLs: ["/metrics"], verbs: ["get"] },
      ],
    },
    s.opts,
  );
  new k8s.rbac.v1.ClusterRoleBinding(
    `${s.name}-prometheus`,
    {
      metadata: { labels: s.labels(app) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }],
    },
    s.opts,
  );

  // ---- configuration and rules ----
  const dump = (v: unknown) => yaml.dump(v, { lineWidth: 200, noRefs: true });
  const promYaml = pulumi.all([ns, input.shopNamespace]).apply(([namespace, shopNamespace]) =>
    dump(
      prometheusConfig({
        namespace,
        shopNamespace,
        alertmanager: `${s.name}-alertmanager.${namespace}.svc:${ALERTMANAGER.port}`,
        kubeStateMetrics: `${s.name}-kube-state-metrics.${namespace}.svc:${KUBE_STATE_METRICS.port}`,
        rulesDir: RULES_DIR,
        cluster: input.cluster,
        ...(input.scrapeInterval ? { scrapeInterval: input.scrapeInterval } : {}),
        ...(input.evaluationInterval ? { evaluationInterval: input.evaluationInterval } : {}),
      }),
    ),
  );
  const rulesYaml = input.shopNamespace.apply((shopNamespace) =>
    dump(shopAlertRules({ services: input.services, shopNamespace, thresholds: input.thresholds, pendingFor: input.alertPendingFor })),
  );
  const logRulesYaml = ns.apply((namespace) => dump(logPipelineRules({ namespace })));
  // Auto-named, like every other ConfigMap of the program: the provider replaces a ConfigMap whose data
  // changes, and with a fixed name that replace is delete-before-create, which also replaced the
  // StatefulSet mounting it (and, while its claims were not retained, deleted Prometheus' data). With a
  // new name per content the new ConfigMap comes first and the StatefulSet rolls to it.
  const config = new k8s.core.v1.ConfigMap(`${s.name}-prometheus`, { metadata: s.meta(app), data: { "prometheus.yml": promYaml } }, s.opts);
  const rules = new k8s.core.v1.ConfigMap(
    `${s.name}-prometheus-rules`,
    { metadata: s.meta(app), data: { "shop.yml": rulesYaml, "logging.yml": logRulesYaml } },
    s.opts,
  );

  // ---- server ----
  const selector = s.selector(app);
  s.service(app, PROMETHEUS.port);
  new k8s.apps.v1.StatefulSet(
    `${s.name}-prometheus`,
    {
      metadata: s.meta(app, objName),
      spec: {
        serviceName: objName,
        persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: s.labels(app),
            annotations: { "shop.io/config-checksum": pulumi.all([promYaml, rulesYaml, logRulesYaml]).apply((files) => filesChecksum(...files)) },
          },
          spec: {
            ...s.placement(app),
            serviceAccountName: sa.metadata.name,
            securityContext: podSecurityContext(NOBODY, NOBODY),
            containers: [
              {
                name: "prometheus",
                image: s.image(app, IMAGES.prometheus),
                args: [
                  "--config.file=/etc/prometheus/prometheus.yml",
                  "--storage.tsdb.path=/prometheus",
                  `--storage.tsdb.retention.time=${input.retention}`,
                  `--web.listen-address=:${PROMETHEUS.port}`,
                  // A counter series' first increments count: rate() needs a sample before them, and a
                  // new series (a new pod's, or its first 500) has none. With this flag Prometheus
                  // scrapes protobuf first and writes a 0 at the series' creation time, which the
                  // services' client library exposes. Without it a canary failing half its requests
                  // passed its first check (its 5xx series were new); alerts on error rates lagged too.
                  `--enable-feature=${PROMETHEUS_FEATURES.join(",")}`,
                ],
                ports: [{ name: "http", containerPort: PROMETHEUS.port }],
                readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10, failureThreshold: 6 },
                livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 4 },
                resources: resources("200m", "1Gi", "1"),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "config", mountPath: "/etc/prometheus/prometheus.yml", subPath: "prometheus.yml", readOnly: true },
                  { name: "rules", mountPath: RULES_DIR, readOnly: true },
                  { name: "data", mountPath: "/prometheus" },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: config.metadata.name } },
              { name: "rules", configMap: { name: rules.metadata.name } },
            ],
          },
        },
        volumeClaimTemplates: [
          s.dataClaim(app, input.storageSize, input.storageClass),
        ],
      },
    },
    s.opts,
  );

  // ---- NetworkPolicies ----
  const pods = selector;
  s.allow(app, {
    ingress: [
      { name: "grafana", pods, peer: { pods: s.selector(GRAFANA.app) }, ports: [PROMETHEUS.port] },
      ...(input.queriers ?? []).map((q) => ({ name: q.name, pods, peer: { namespace: q.namespace, pods: q.pods }, ports: [PROMETHEUS.port] })),
    ],
    egress: [
      // The scrape targets: the services' metrics port, Fluent Bit, kube-state-metrics, kubelets, the API server.
      { name: "shop-metrics", pods, peer: { namespace: input.shopNamespace }, ports: [HTTP_PORT] },
      { name: "fluent-bit", pods, peer: { pods: FLUENT_BIT.pods }, ports: [FLUENT_BIT.port] },
      { name: "kube-state-metrics", pods, peer: { pods: s.selector(KUBE_STATE_METRICS.app) }, ports: [KUBE_STATE_METRICS.port] },
      { name: "kubelets", pods, peer: { cidr: ANYWHERE }, ports: [KUBELET_PORT] },
      { name: "api-server", pods, peer: { cidr: ANYWHERE }, ports: API_SERVER_PORTS },
      { name: "alertmanager", pods, peer: { pods: s.selector(ALERTMANAGER.app) }, ports: [ALERTMANAGER.port] },
    ],
  });
  // In the shop's namespace: admit Prometheus to the services' metrics port (additive to the shop's own policies).
  new k8s.networking.v1.NetworkPolicy(
    `${s.name}-allow-scrape`,
    {
      metadata: s.meta(app, undefined, input.shopNamespace),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ namespaceSelector: namespaceSelector(ns), podSelector: { matchLabels: selector } }], ports: [{ protocol: "TCP", port: HTTP_PORT }] }],
      },
    },
    s.opts,
  );
  return { url: pulumi.interpolate`http://${objName}.${ns}.svc:${PROMETHEUS.port}` };
}
