/**
 * Grafana dashboards as code: one RED dashboard (rate, errors, duration) per
 * service, generated from the service list, plus a platform overview. Panels
 * query the provisioned Prometheus datasource by its fixed uid.
 */
import { JOBS } from "./prometheus-config";
import { CANARY_METRICS, METRICS, NOT_PROBES } from "./rules";

/** Fixed datasource uids, shared with the datasource provisioning file. */
export const DATASOURCE_UIDS = { prometheus: "shop-prometheus", elasticsearch: "shop-elasticsearch" } as const;

/** One PromQL query of a panel. */
export interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: "prometheus"; uid: string };
}

/** The subset of a Grafana panel this program uses. */
export interface Panel {
  id: number;
  type: "timeseries" | "stat" | "table";
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: "prometheus"; uid: string };
  targets: Target[];
  fieldConfig: { defaults: { unit: string; min?: number; max?: number; thresholds?: unknown }; overrides: unknown[] };
  options?: Record<string, unknown>;
}

/** The subset of a Grafana dashboard model this program uses. */
export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  timezone: string;
  panels: Panel[];
  templating: { list: unknown[] };
  annotations: { list: unknown[] };
  links: unknown[];
}

const DS = { type: "prometheus" as const, uid: DATASOURCE_UIDS.prometheus };
const RATE = "[$__rate_interval]";

/** Builds panels on a 24-column grid, two per row, with ids in order. */
class Layout {
  private readonly panels: Panel[] = [];
  private x = 0;
  private y = 0;

  add(type: Panel["type"], title: string, unit: string, queries: [expr: string, legend: string][], width = 12, extra: Partial<Panel> = {}): this {
    const h = type === "stat" ? 4 : 8;
    if (this.x + width > 24) {
      this.x = 0;
      this.y += 8;
    }
    this.panels.push({
      id: this.panels.length + 1,
      type,
      title,
      gridPos: { x: this.x, y: this.y, w: width, h },
      datasource: DS,
      targets: queries.map(([expr, legendFormat], i) => ({ refId: String.fromCharCode(65 + i), expr, legendFormat, datasource: DS })),
      fieldConfig: { defaults: { unit }, overrides: [] },
      ...extra,
    });
    this.x += width;
    return this;
  }

  build(): Panel[] {
    return this.panels;
  }
}

function dashboard(uid: string, title: string, tags: string[], panels: Panel[]): Dashboard {
  return {
    uid,
    title,
    tags: ["shop", ...tags],
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "utc",
    panels,
    templating: { list: [] },
    annotations: { list: [] },
    links: [],
  };
}

/** Grafana uids are at most 40 characters of `[a-zA-Z0-9_-]`. */
function uidFor(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^a-zA-Z0-9_-]/g, "-")}`.slice(0, 40);
}

/** The RED dashboard of one service: request rate, errors and duration, overall and per route. */
export function redDashboard(service: string, shopNamespace: string): Dashboard {
  const sel = `namespace="${shopNamespace}", service="${service}"`;
  // Request panels count user traffic only: probes and scrapes are left out.
  const req = (extra = "") => `${METRICS.requests}{${sel}, ${NOT_PROBES}${extra}}`;
  const q = (quantile: number, by = "le") =>
    `histogram_quantile(${quantile}, sum by (${by}) (rate(${METRICS.durationBucket}{${sel}, ${NOT_PROBES}}${RATE})))`;
  const panels = new Layout()
    .add("stat", "Instances up", "none", [[`sum(up{job="${JOBS.pods}", ${sel}})`, "up"]], 6)
    .add("stat", "Requests / s", "reqps", [[`sum(rate(${req()}${RATE}))`, "rps"]], 6)
    // `or vector(0)`: no 5xx at all is a ratio of 0, not "No data".
    .add("stat", "5xx ratio", "percentunit", [[`(sum(rate(${req(', code=~"5.."')}${RATE})) or vector(0)) / sum(rate(${req()}${RATE}))`, "5xx"]], 6)
    .add("stat", "p99 latency", "s", [[q(0.99), "p99"]], 6)
    .add("timeseries", "Rate: requests / s by route", "reqps", [[`sum by (route) (rate(${req()}${RATE}))`, "{{route}}"]])
    .add("timeseries", "Errors: 4xx and 5xx / s by route and code", "reqps", [
      [`sum by (route, code) (rate(${req(', code=~"4..|5.."')}${RATE}))`, "{{route}} {{code}}"],
    ])
    .add("timeseries", "Duration: p50 / p95 / p99", "s", [
      [q(0.5), "p50"],
      [q(0.95), "p95"],
      [q(0.99), "p99"],
    ])
    .add("timeseries", "Duration: p99 by route", "s", [[q(0.99, "route, le"), "{{route}}"]])
    .build();
  return dashboard(uidFor("shop-red", service), `Shop / ${service} (RED)`, ["red", service], panels);
}

/** The platform overview: every service's health side by side, pods, memory and the order queue. */
export function overviewDashboard(services: string[], shopNamespace: string): Dashboard {
  const ns = `namespace="${shopNamespace}"`;
  const svc = `service=~"${services.join("|")}"`;
  const traffic = `${ns}, ${NOT_PROBES}`;
  const panels = new Layout()
    .add("timeseries", "Instances up by service", "none", [[`sum by (service) (up{job="${JOBS.pods}", ${ns}, ${svc}})`, "{{service}}"]])
    .add("table", "Firing alerts", "none", [[`sum by (alertname, severity, service) (ALERTS{alertstate="firing"})`, "{{alertname}}"]], 12, {
      options: { showHeader: true },
    })
    .add("timeseries", "Requests / s by service", "reqps", [[`sum by (service) (rate(${METRICS.requests}{${traffic}}${RATE}))`, "{{service}}"]])
    .add("timeseries", "5xx ratio by service", "percentunit", [
      [
        // A service with traffic but no 5xx shows 0 rather than no line.
        `(sum by (service) (rate(${METRICS.requests}{${traffic}, code=~"5.."}${RATE})) or 0 * sum by (service) (rate(${METRICS.requests}{${traffic}}${RATE})))` +
          ` / sum by (service) (rate(${METRICS.requests}{${traffic}}${RATE}))`,
        "{{service}}",
      ],
    ])
    .add("timeseries", "p99 latency by service", "s", [
      [`histogram_quantile(0.99, sum by (service, le) (rate(${METRICS.durationBucket}{${traffic}}${RATE})))`, "{{service}}"],
    ])
    .add("timeseries", "Container restarts (1h)", "none", [
      [`sum by (pod) (increase(kube_pod_container_status_restarts_total{${ns}}[1h]))`, "{{pod}}"],
    ])
    // Pod-level cgroups (`container=""`, `pod` set): every kubelet's cAdvisor reports them, while some
    // (the local cluster's real node) report no per-container cgroup at all. A pod's limit is the sum of
    // its containers' limits.
    .add("timeseries", "Memory: working set / limit by pod", "percentunit", [
      [
        `max by (pod) (container_memory_working_set_bytes{${ns}, container="", pod!=""}) / sum by (pod) (kube_pod_container_resource_limits{${ns}, resource="memory"})`,
        "{{pod}}",
      ],
    ])
    .add("timeseries", "Order events: outbox backlog, created and published / s", "none", [
      [`max(${METRICS.orderBacklog}{${ns}})`, "pending in outbox"],
      [`sum(rate(${METRICS.ordersCreated}{${ns}}${RATE}))`, "orders created / s"],
      [`sum(rate(${METRICS.orderEventsPublished}{${ns}}${RATE}))`, "events published / s"],
    ])
    .add("timeseries", "CPU by pod (cores)", "none", [
      [`sum by (pod) (rate(container_cpu_usage_seconds_total{${ns}, container="", pod!=""}${RATE}))`, "{{pod}}"],
    ])
    // The canary controller (shop:routing.canary.analysis): where each gray release stands.
    .add("timeseries", "Canary releases: weight (%) and releases by phase", "none", [
      [`max by (release) (${CANARY_METRICS.canaryWeight}{${ns}})`, "{{release}} weight %"],
      [`max by (phase) (${CANARY_METRICS.canaryReleases}{${ns}})`, "{{phase}}"],
    ])
    .add("timeseries", "Canary analysis: checks / s by result", "none", [
      [`sum by (release, query, result) (rate(${CANARY_METRICS.canaryChecks}{${ns}}${RATE}))`, "{{release}} {{query}} {{result}}"],
    ])
    .build();
  return dashboard("shop-overview", "Shop / Platform overview", ["overview"], panels);
}

/** Every dashboard, keyed by its file name in the dashboards ConfigMap. */
export function allDashboards(services: string[], shopNamespace: string): Record<string, Dashboard> {
  const out: Record<string, Dashboard> = { "shop-overview.json": overviewDashboard(services, shopNamespace) };
  for (const s of services) out[`shop-red-${s}.json`] = redDashboard(s, shopNamespace);
  return out;
}
