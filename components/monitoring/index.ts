/**
 * Monitoring: a thin composer of the monitoring workloads, each in its own file with its own
 * NetworkPolicies: `prometheus.ts`, `kube-state-metrics.ts`, `alertmanager.ts`, `grafana.ts`. What
 * they run is rendered from typed data in `prometheus-config.ts`, `rules.ts`, `alertmanager-config.ts`,
 * `grafana-config.ts` and `dashboards.ts`. Every child keeps this component as its parent.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { WorkloadOverrides, WorkloadScope } from "../kit";
import { createAlertmanager } from "./alertmanager";
import { createGrafana } from "./grafana";
import { createKubeStateMetrics } from "./kube-state-metrics";
import { createPrometheus, PrometheusQuerier } from "./prometheus";
import { AlertThresholds } from "./rules";

export type { AlertThresholds, PrometheusQuerier };

/**
 * Arguments of {@link Monitoring}. Values from the stack config arrive validated by `config/`;
 * the component checks only what the config cannot (its own wiring).
 */
export interface MonitoringArgs {
  /** The observability namespace (PSA privileged because Fluent Bit shares it). */
  namespace: pulumi.Input<string>;
  /** The explicit Kubernetes provider every child uses. */
  provider: k8s.Provider;
  /** The microservices (their `app.kubernetes.io/name`): one RED dashboard and one "down" alert each. */
  services: string[];
  /** Namespace the services run in; its annotated pods are scraped. */
  shopNamespace: pulumi.Input<string>;
  /** Prometheus TSDB retention (`shop:monitoring.retention`), e.g. `15d`. */
  retention: string;
  /** Size of Prometheus' volume (`shop:monitoring.storageSize`), e.g. `10Gi`. */
  storageSize: string;
  /** Storage class of Prometheus' volume. */
  storageClass: string;
  /** Path Grafana is served under (`shop:monitoring.grafanaPath`), e.g. `/grafana`. */
  grafanaPath: string;
  /** Namespace of the edge (gateway / ingress controller) admitted to Grafana's port. */
  edgeNamespace: string;
  /** The public host Grafana's links (root_url) are built on; empty for any host. @default "" */
  publicHost?: string;
  /** Scheme of the public URL; `https` also makes Grafana's cookies secure. @default "http" */
  publicScheme?: "http" | "https";
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
  /** Prometheus' scrape interval (`shop:monitoring.scrapeInterval`). @default "30s" */
  scrapeInterval?: string;
  /** How often Prometheus evaluates the rules (`shop:monitoring.evaluationInterval`). @default "30s" */
  evaluationInterval?: string;
  /**
   * Replaces the `for:` of every alert that waits (`shop:monitoring.alertPendingFor`), so a test stack
   * sees induced alerts fire in seconds. @default each rule's own duration (2m to 10m)
   */
  alertPendingFor?: string;
  /** `external_labels.cluster` of Prometheus. @default the stack name */
  clusterLabel?: string;
  /**
   * Image overrides (`prometheus`, `alertmanager`, `kube-state-metrics`, `grafana`) and placements
   * (same keys) of the workloads. @default the pinned images of `images.ts`, no placement
   */
  workloads?: WorkloadOverrides;
  /**
   * Workloads of other namespaces that query Prometheus' API (the canary controller's analysis):
   * Prometheus' own policy admits each to its port. @default none
   */
  queriers?: PrometheusQuerier[];
}

/**
 * Metrics, alerts and dashboards for the shop: Prometheus (scrapes the services' annotated pods, the
 * API server, cAdvisor and kube-state-metrics), the shop's alert rules, Alertmanager with a webhook
 * receiver, and Grafana with provisioned datasources and dashboards. Creates no route: the routing
 * component serves {@link grafanaBackend} under `grafanaPath`.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** External URL of Grafana, e.g. `http://shop.localhost/grafana/`. */
  readonly grafanaUrl: pulumi.Output<string>;
  /** The Service and port a route to Grafana points at. */
  readonly grafanaBackend: { serviceName: pulumi.Output<string>; port: number };
  /** In-cluster URL of Prometheus. */
  readonly prometheusUrl: pulumi.Output<string>;
  /** In-cluster URL of Alertmanager. */
  readonly alertmanagerUrl: pulumi.Output<string>;
  /** Grafana's admin password (secret). */
  readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Monitoring", name, {}, opts);
    const s = new WorkloadScope(name, "monitoring", this, args.provider, pulumi.output(args.namespace), args.workloads ?? {});

    // ---- invariants of the arguments (config values are validated by config/) ----
    if (args.services.length === 0) throw s.fail("services", "is empty; pass the microservice names to monitor");
    for (const svc of args.services) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(svc)) throw s.fail("services", `entry "${svc}" is not a DNS label (the pods' app.kubernetes.io/name)`);
    }
    if (new Set(args.services).size !== args.services.length) throw s.fail("services", "has duplicates");
    if (args.elasticsearchUrl !== undefined && args.elasticsearchPassword === undefined) {
      throw s.fail("elasticsearchPassword", "is required with elasticsearchUrl (pass Logging.readerPassword)");
    }

    const services = [...args.services];
    const shopNamespace = pulumi.output(args.shopNamespace);
    const prometheus = createPrometheus(s, {
      services,
      shopNamespace,
      retention: args.retention,
      storageSize: args.storageSize,
      storageClass: args.storageClass,
      cluster: args.clusterLabel ?? pulumi.getStack(),
      thresholds: args.thresholds,
      scrapeInterval: args.scrapeInterval,
      evaluationInterval: args.evaluationInterval,
      alertPendingFor: args.alertPendingFor,
      queriers: args.queriers ?? [],
    });
    createKubeStateMetrics(s, shopNamespace);
    const alertmanager = createAlertmanager(s, args.alertWebhookUrl);
    const grafana = createGrafana(s, {
      services,
      shopNamespace,
      prometheusUrl: prometheus.url,
      path: args.grafanaPath,
      publicHost: args.publicHost ?? "",
      scheme: args.publicScheme ?? "http",
      edgeNamespace: args.edgeNamespace,
      adminPassword: args.grafanaAdminPassword,
      ...(args.elasticsearchUrl !== undefined
        ? {
            elasticsearch: {
              url: args.elasticsearchUrl,
              username: args.elasticsearchUsername ?? "shop-logs-reader",
              password: args.elasticsearchPassword!,
            },
          }
        : {}),
    });

    this.grafanaAdminPassword = grafana.adminPassword;
    this.grafanaUrl = grafana.url;
    this.grafanaBackend = grafana.backend;
    this.prometheusUrl = prometheus.url;
    this.alertmanagerUrl = alertmanager.url;
    this.registerOutputs({
      grafanaUrl: this.grafanaUrl,
      grafanaBackend: this.grafanaBackend,
      prometheusUrl: this.prometheusUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}
