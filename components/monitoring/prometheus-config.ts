/**
 * The Prometheus server configuration, generated as typed data. Serialised
 * with js-yaml into the Prometheus ConfigMap and, by `render.ts`, into the
 * files `promtool check config` validates.
 */
/** One `relabel_configs` / `metric_relabel_configs` entry. */
export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: "replace" | "keep" | "drop" | "labelmap" | "labeldrop" | "labelkeep";
}

/** The subset of a `scrape_config` this program uses. */
export interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  metrics_path?: string;
  scheme?: "http" | "https";
  honor_labels?: boolean;
  authorization?: { credentials_file: string };
  tls_config?: { ca_file?: string; insecure_skip_verify?: boolean };
  kubernetes_sd_configs?: { role: "pod" | "node" | "endpoints" | "service"; namespaces?: { names: string[] } }[];
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  relabel_configs?: RelabelConfig[];
  metric_relabel_configs?: RelabelConfig[];
}

/** The subset of the Prometheus configuration file this program uses. */
export interface PrometheusConfig {
  global: { scrape_interval: string; evaluation_interval: string; scrape_timeout: string; external_labels: Record<string, string> };
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: ScrapeConfig[];
}

/** What the configuration depends on. */
export interface PrometheusConfigInput {
  /** Namespace the shop's services run in (scraped through their `prometheus.io/*` annotations). */
  shopNamespace: string;
  /** Namespace of the observability stacks (Fluent Bit's metrics are scraped the same way). */
  namespace: string;
  /** `host:port` of the Alertmanager service. */
  alertmanager: string;
  /** `host:port` of the kube-state-metrics service. */
  kubeStateMetrics: string;
  /** Directory the rule files are mounted in. */
  rulesDir: string;
  /** `external_labels.cluster`, so alerts say where they come from. */
  cluster: string;
  /** `global.scrape_interval`, in seconds or minutes (`15s`, `1m`). @default "30s" */
  scrapeInterval?: string;
  /** `global.evaluation_interval`: how often the rules run. @default "30s" */
  evaluationInterval?: string;
  /** Where the pod's service account token and CA are mounted. @default "/var/run/secrets/kubernetes.io/serviceaccount" */
  serviceAccountDir?: string;
}

/** Job names, shared with the rules and their unit tests. */
export const JOBS = {
  prometheus: "prometheus",
  apiServer: "kubernetes-apiservers",
  cadvisor: "kubernetes-cadvisor",
  kubeStateMetrics: "kube-state-metrics",
  pods: "kubernetes-pods",
} as const;

const SA_DIR_DEFAULT = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The cAdvisor series the rules and dashboards use; the rest is dropped at scrape time. */
const CADVISOR_KEEP = ["container_memory_working_set_bytes", "container_cpu_usage_seconds_total", "container_spec_memory_limit_bytes"];

/**
 * Relabelling for pods that opt in with the annotations `MicroService` sets:
 * `prometheus.io/scrape: "true"`, `prometheus.io/port`, `prometheus.io/path`
 * (and optionally `prometheus.io/scheme`). Targets get `namespace`, `pod`,
 * `container` and `service` (from `app.kubernetes.io/name`, else `app`).
 */
export function podRelabelling(): RelabelConfig[] {
  const ann = (k: string) => `__meta_kubernetes_pod_annotation_prometheus_io_${k}`;
  return [
    { source_labels: [ann("scrape")], regex: "true", action: "keep" },
    // Pods that finished or have not started have no endpoint to scrape.
    { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Pending|Succeeded|Failed", action: "drop" },
    { source_labels: [ann("scheme")], regex: "(https?)", target_label: "__scheme__", replacement: "$1", action: "replace" },
    { source_labels: [ann("path")], regex: "(.+)", target_label: "__metrics_path__", replacement: "$1", action: "replace" },
    {
      source_labels: ["__address__", ann("port")],
      regex: "([^:]+)(?::[0-9]+)?;([0-9]+)",
      target_label: "__address__",
      replacement: "$1:$2",
      action: "replace",
    },
    { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace", action: "replace" },
    { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod", action: "replace" },
    { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container", action: "replace" },
    // `service`: the pod's `app` label, overridden by the recommended `app.kubernetes.io/name` when set.
    { source_labels: ["__meta_kubernetes_pod_label_app"], regex: "(.+)", target_label: "service", replacement: "$1", action: "replace" },
    {
      source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
      regex: "(.+)",
      target_label: "service",
      replacement: "$1",
      action: "replace",
    },
  ];
}

/** Seconds of a Prometheus duration made of s/m/h parts (`30s`, `1m`, `1m30s`); NaN for anything else. */
export function durationSeconds(d: string): number {
  if (!/^(\d+[smh])+$/.test(d)) return NaN;
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)([smh])/g)) total += Number(n) * { s: 1, m: 60, h: 3600 }[unit as "s" | "m" | "h"];
  return total;
}

/** Renders the Prometheus configuration. */
export function prometheusConfig(input: PrometheusConfigInput): PrometheusConfig {
  const namespaces = [...new Set([input.shopNamespace, input.namespace])];
  const SA_DIR = input.serviceAccountDir ?? SA_DIR_DEFAULT;
  const scrapeInterval = input.scrapeInterval ?? "30s";
  return {
    global: {
      scrape_interval: scrapeInterval,
      // The timeout may not exceed the interval: 10s, or the interval when it is shorter.
      scrape_timeout: durationSeconds(scrapeInterval) < 10 ? scrapeInterval : "10s",
      evaluation_interval: input.evaluationInterval ?? "30s",
      external_labels: { cluster: input.cluster },
    },
    rule_files: [`${input.rulesDir}/*.yml`],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [input.alertmanager] }] }] },
    scrape_configs: [
      { job_name: JOBS.prometheus, static_configs: [{ targets: ["localhost:9090"] }] },
      {
        job_name: JOBS.apiServer,
        scheme: "https",
        kubernetes_sd_configs: [{ role: "endpoints", namespaces: { names: ["default"] } }],
        tls_config: { ca_file: `${SA_DIR}/ca.crt` },
        authorization: { credentials_file: `${SA_DIR}/token` },
        relabel_configs: [
          {
            source_labels: ["__meta_kubernetes_namespace", "__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
            regex: "default;kubernetes;https",
            action: "keep",
          },
        ],
      },
      {
        job_name: JOBS.cadvisor,
        scheme: "https",
        metrics_path: "/metrics/cadvisor",
        kubernetes_sd_configs: [{ role: "node" }],
        // Kubelet serving certificates are self-signed on most clusters; the bearer token still authenticates us.
        tls_config: { ca_file: `${SA_DIR}/ca.crt`, insecure_skip_verify: true },
        authorization: { credentials_file: `${SA_DIR}/token` },
        relabel_configs: [{ source_labels: ["__meta_kubernetes_node_name"], target_label: "node", action: "replace" }],
        metric_relabel_configs: [
          { source_labels: ["__name__"], regex: CADVISOR_KEEP.join("|"), action: "keep" },
          { source_labels: ["namespace"], regex: namespaces.join("|"), action: "keep" },
        ],
      },
      {
        job_name: JOBS.kubeStateMetrics,
        // kube-state-metrics reports on other objects: their namespace/pod labels must win over the target's.
        honor_labels: true,
        static_configs: [{ targets: [input.kubeStateMetrics] }],
      },
      {
        job_name: JOBS.pods,
        kubernetes_sd_configs: [{ role: "pod", namespaces: { names: namespaces } }],
        relabel_configs: podRelabelling(),
        // The services label their own series with `service` too; the target's (same) value is kept.
        metric_relabel_configs: [{ regex: "exported_service", action: "labeldrop" }],
      },
    ],
  };
}
