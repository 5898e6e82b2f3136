/**
 * The shop's alerting rules, written as data. Serialised into the Prometheus
 * rules file; `test/observability/rules.test.yml` holds their promtool unit
 * tests (fire and don't-fire cases), run by `scripts/check-observability.sh`.
 */
import { JOBS } from "./prometheus-config";
import { METRICS } from "../../contracts";

/** One alerting rule, as in a Prometheus rules file. */
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning" } & Record<string, string>;
  annotations: { summary: string; description: string };
}

/** One rule group. */
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertingRule[];
}

/** A Prometheus rules file. */
export interface RuleFile {
  groups: RuleGroup[];
}

/** Alert thresholds. Every field is optional; the defaults are below. */
export interface AlertThresholds {
  /** Share of 5xx responses above which a service alerts. @default 0.05 */
  errorRatio?: number;
  /** p99 request latency (seconds) above which a service alerts. @default 1 */
  p99LatencySeconds?: number;
  /** Container restarts within 15 minutes that count as "restarting". @default 3 */
  restartsIn15m?: number;
  /** Working set / memory limit above which a container alerts. @default 0.9 */
  memoryLimitRatio?: number;
  /** Pending order outbox messages above which the queue counts as backed up. @default 100 */
  orderBacklog?: number;
}

/** The defaults of `AlertThresholds`, applied in one place. */
export function withDefaults(t: AlertThresholds = {}): Required<AlertThresholds> {
  return {
    errorRatio: t.errorRatio ?? 0.05,
    p99LatencySeconds: t.p99LatencySeconds ?? 1,
    restartsIn15m: t.restartsIn15m ?? 3,
    memoryLimitRatio: t.memoryLimitRatio ?? 0.9,
    orderBacklog: t.orderBacklog ?? 100,
  };
}

/** Metric names the services expose (see docs/observability.md), shared with the Go side in contracts.ts. */
export { METRICS };

/** The canary controller's metrics (controller/, docs/canary.md): releases by `phase`, each release's weight, its checks. */
export const CANARY_METRICS = {
  canaryReleases: "shop_canary_releases",
  canaryWeight: "shop_canary_release_weight",
  canaryChecks: "shop_canary_analysis_checks_total",
} as const;

/** Fluent Bit's counter of records dropped after their retries ran out (or rejected for good). */
export const FLUENT_BIT_DROPPED = "fluentbit_output_dropped_records_total";

/**
 * The routes of the services' probe and scrape endpoints (the `route` label is the ServeMux pattern,
 * e.g. `GET /healthz`, see services/internal/metrics). Startup 503s of /readyz and the steady scrape
 * traffic are not user traffic: the error and latency alerts and the dashboards leave them out.
 */
export const PROBE_ROUTES = ["/healthz", "/readyz", "/metrics"] as const;
/** The label matcher that leaves the probe and scrape routes out. */
export const NOT_PROBES = `route!~"([A-Z]+ )?(${PROBE_ROUTES.join("|")})"`;

/** What the rules depend on. */
export interface RulesInput {
  /** The microservices; each gets its own "down" alert. */
  services: string[];
  /** Namespace the services run in. */
  shopNamespace: string;
  thresholds?: AlertThresholds;
  /**
   * When set, every rule that waits (`for:`) waits this long instead of its own duration (a test stack
   * shortens it so induced alerts fire in seconds, not minutes). @default each rule's own `for`
   */
  pendingFor?: string;
}

/** Renders the shop's alerting rules. */
export function shopAlertRules(input: RulesInput): RuleFile {
  const rules = renderShopAlertRules(input);
  const pendingFor = input.pendingFor;
  if (pendingFor === undefined) return rules;
  return { groups: rules.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.for === undefined ? r : { ...r, for: pendingFor })) })) };
}

function renderShopAlertRules(input: RulesInput): RuleFile {
  const t = withDefaults(input.thresholds);
  const ns = `namespace="${input.shopNamespace}"`;
  const percent = (r: number) => `${Math.round(r * 1000) / 10}%`;
  const down: AlertingRule[] = input.services.map((service) => ({
    alert: "ShopServiceDown",
    // `absent(... == 1)` also fires when the service has no scrape target at all (scaled to 0, crash loop).
    expr: `absent(up{job="${JOBS.pods}", ${ns}, service="${service}"} == 1)`,
    for: "2m",
    labels: { severity: "critical", namespace: input.shopNamespace, service },
    annotations: {
      summary: `${service} is down`,
      description: `No instance of ${service} in ${input.shopNamespace} has answered a metrics scrape for 2 minutes.`,
    },
  }));
  const byService = "sum by (namespace, service)";
  return {
    groups: [
      { name: "shop-availability", rules: down },
      {
        name: "shop-red",
        rules: [
          {
            alert: "ShopHighErrorRatio",
            expr:
              `${byService} (rate(${METRICS.requests}{${ns}, ${NOT_PROBES}, code=~"5.."}[5m]))\n` +
              `  / ${byService} (rate(${METRICS.requests}{${ns}, ${NOT_PROBES}}[5m]))\n` +
              `> ${t.errorRatio}`,
            for: "5m",
            labels: { severity: "critical" },
            annotations: {
              summary: "{{ $labels.service }} answers too many 5xx",
              description: `{{ $labels.service }} answered {{ $value | humanizePercentage }} of requests with 5xx over 5 minutes (threshold ${percent(t.errorRatio)}).`,
            },
          },
          {
            alert: "ShopHighLatencyP99",
            expr:
              `histogram_quantile(0.99, sum by (namespace, service, le) (rate(${METRICS.durationBucket}{${ns}, ${NOT_PROBES}}[5m])))\n` +
              `> ${t.p99LatencySeconds}`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.service }} is slow",
              description: `p99 latency of {{ $labels.service }} is {{ $value | humanizeDuration }} (threshold ${t.p99LatencySeconds}s).`,
            },
          },
          {
            alert: "ShopOrderQueueBacklog",
            expr: `max by (namespace) (${METRICS.orderBacklog}{${ns}}) > ${t.orderBacklog}`,
            for: "10m",
            labels: { severity: "warning", service: "order" },
            annotations: {
              summary: "Order messages are piling up",
              description: `{{ $value }} order messages are waiting to be published in {{ $labels.namespace }} (threshold ${t.orderBacklog}).`,
            },
          },
          {
            alert: "ShopOrderEventsStalled",
            // Orders keep coming in but the outbox relay publishes nothing: events pile up in the outbox.
            expr:
              `sum by (namespace) (increase(${METRICS.ordersCreated}{${ns}}[10m])) > 0\n` +
              `unless sum by (namespace) (increase(${METRICS.orderEventsPublished}{${ns}}[10m])) > 0`,
            for: "5m",
            labels: { severity: "warning", service: "order" },
            annotations: {
              summary: "Order events are not being published",
              description: "Orders were placed in {{ $labels.namespace }} during the last 10 minutes but no order event reached RabbitMQ.",
            },
          },
        ],
      },
      {
        name: "shop-pods",
        rules: [
          {
            alert: "ShopPodRestarting",
            expr: `increase(kube_pod_container_status_restarts_total{${ns}}[15m]) >= ${t.restartsIn15m}`,
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.pod }} keeps restarting",
              description: `Container {{ $labels.container }} of {{ $labels.pod }} restarted {{ $value | printf "%.0f" }} times in 15 minutes (threshold ${t.restartsIn15m}).`,
            },
          },
          {
            alert: "ShopMemoryNearLimit",
            expr:
              `max by (namespace, pod, container) (container_memory_working_set_bytes{${ns}, container!="", container!="POD"})\n` +
              `  / max by (namespace, pod, container) (kube_pod_container_resource_limits{${ns}, resource="memory"})\n` +
              `> ${t.memoryLimitRatio}`,
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.pod }} is close to its memory limit",
              description: `Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit (threshold ${percent(t.memoryLimitRatio)}).`,
            },
          },
        ],
      },
      {
        name: "shop-delivery",
        rules: [
          {
            // No `for`: the controller aborts only after the failure limit, so one sample already means it.
            alert: "ShopCanaryReleaseAborted",
            expr: `max by (namespace) (${CANARY_METRICS.canaryReleases}{${ns}, phase="Aborted"}) > 0`,
            labels: { severity: "warning", service: "canary-controller" },
            annotations: {
              summary: "A canary release was aborted",
              description:
                "{{ $value | printf \"%.0f\" }} CanaryRelease(s) in {{ $labels.namespace }} are Aborted: the canary failed its analysis and gets no traffic. " +
                "kubectl -n {{ $labels.namespace }} get canaryreleases -o wide shows the failing query, its value and the threshold.",
            },
          },
        ],
      },
    ],
  };
}

/**
 * Alerts on the log pipeline itself, scoped to the observability namespace: Fluent Bit retries a
 * failed chunk a bounded number of times (`Retry_Limit`), then drops it and counts the records.
 */
export function logPipelineRules(input: { namespace: string }): RuleFile {
  return {
    groups: [
      {
        name: "shop-log-pipeline",
        rules: [
          {
            alert: "ShopLogRecordsDropped",
            expr: `sum by (namespace, pod) (increase(${FLUENT_BIT_DROPPED}{namespace="${input.namespace}"}[15m])) > 0`,
            labels: { severity: "warning", service: "fluent-bit" },
            annotations: {
              summary: "Fluent Bit dropped log records",
              description:
                "{{ $labels.pod }} dropped {{ $value | printf \"%.0f\" }} log records in 15 minutes: Elasticsearch rejected them or stayed unreachable through every retry. Its log names the error.",
            },
          },
        ],
      },
    ],
  };
}
