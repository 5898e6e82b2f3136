/**
 * Grafana: admin credentials, provisioned datasources and dashboards, the server under a path of the
 * shop's public host, and its NetworkPolicies: the edge namespace in on Grafana's port only;
 * Prometheus and (with logging) Elasticsearch out. The route to it belongs to the routing component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { filesChecksum, containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { ELASTICSEARCH } from "../logging/peers";
import { allDashboards } from "./dashboards";
import { dashboardProvider, DASHBOARDS_DIR, datasources, GRAFANA_ES_ENV } from "./grafana-config";
import { IMAGES } from "./images";
import { GRAFANA, PROMETHEUS } from "./peers";

/** uid of the Grafana image. */
const GRAFANA_UID = 472;

/** What Grafana needs from the composer. */
export interface GrafanaInput {
  services: string[];
  shopNamespace: pulumi.Output<string>;
  prometheusUrl: pulumi.Output<string>;
  path: string;
  publicHost: string;
  scheme: "http" | "https";
  edgeNamespace: string;
  adminPassword?: pulumi.Input<string>;
  /** Grafana's log datasource: Logging's Elasticsearch and its read-only user. */
  elasticsearch?: { url: pulumi.Input<string>; username: pulumi.Input<string>; password: pulumi.Input<string> };
}

/** What the composer gets back. */
export interface GrafanaParts {
  adminPassword: pulumi.Output<string>;
  url: pulumi.Output<string>;
  backend: { serviceName: pulumi.Output<string>; port: number };
}

/** Grafana of one Monitoring. */
export function createGrafana(s: WorkloadScope, input: GrafanaInput): GrafanaParts {
  const app = GRAFANA.app;
  const es = input.elasticsearch;

  // ---- credentials ----
  const adminPassword: pulumi.Output<string> =
    input.adminPassword !== undefined
      ? pulumi.secret(input.adminPassword)
      : new random.RandomPassword(`${s.name}-grafana-admin`, { length: 24, special: false }, { parent: s.parent }).result;
  const secretData: Record<string, pulumi.Input<string>> = { "admin-user": "admin", "admin-password": adminPassword };
  if (es) {
    secretData[GRAFANA_ES_ENV.user] = es.username;
    secretData[GRAFANA_ES_ENV.password] = pulumi.secret(es.password);
  }
  const secret = new k8s.core.v1.Secret(`${s.name}-grafana`, { metadata: s.meta(app), type: "Opaque", stringData: secretData }, s.opts);

  // ---- provisioning ----
  const dsYaml = pulumi.all([input.prometheusUrl, es?.url]).apply(([p, e]) => yaml.dump(datasources(p, e), { lineWidth: 200 }));
  const provisioning = new k8s.core.v1.ConfigMap(
    `${s.name}-grafana-provisioning`,
    { metadata: s.meta(app), data: { "datasources.yaml": dsYaml, "dashboards.yaml": yaml.dump(dashboardProvider()) } },
    s.opts,
  );
  const dashboardFiles = input.shopNamespace.apply((shopNamespace) => {
    const out: Record<string, string> = {};
    for (const [file, d] of Object.entries(allDashboards(input.services, shopNamespace))) out[file] = JSON.stringify(d, null, 1);
    return out;
  });
  const dashboards = new k8s.core.v1.ConfigMap(`${s.name}-grafana-dashboards`, { metadata: s.meta(app), data: dashboardFiles }, s.opts);

  // ---- server ----
  const publicBase = `${input.scheme}://${input.publicHost || "localhost"}${input.path}/`;
  const selector = s.selector(app);
  const fromSecret = (key: string) => ({ secretKeyRef: { name: secret.metadata.name, key } });
  const env: k8s.types.input.core.v1.EnvVar[] = [
    { name: "GF_SECURITY_ADMIN_USER", valueFrom: fromSecret("admin-user") },
    { name: "GF_SECURITY_ADMIN_PASSWORD", valueFrom: fromSecret("admin-password") },
    { name: "GF_SERVER_ROOT_URL", value: input.publicHost ? publicBase : `%(protocol)s://%(domain)s:%(http_port)s${input.path}/` },
    { name: "GF_SERVER_SERVE_FROM_SUB_PATH", value: "true" },
    { name: "GF_PATHS_PROVISIONING", value: "/etc/grafana/provisioning" },
    { name: "GF_PATHS_DATA", value: "/var/lib/grafana" },
    { name: "GF_USERS_ALLOW_SIGN_UP", value: "false" },
    { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" },
    { name: "GF_SECURITY_COOKIE_SECURE", value: String(input.scheme === "https") },
    { name: "GF_SECURITY_DISABLE_GRAVATAR", value: "true" },
    // No internet access is assumed: no update checks, usage reports or plugin downloads.
    { name: "GF_ANALYTICS_REPORTING_ENABLED", value: "false" },
    { name: "GF_ANALYTICS_CHECK_FOR_UPDATES", value: "false" },
    { name: "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", value: "false" },
    { name: "GF_PLUGINS_PREINSTALL_DISABLED", value: "true" },
    { name: "GF_LOG_MODE", value: "console" },
    { name: "GF_LOG_CONSOLE_FORMAT", value: "json" },
  ];
  if (es) {
    env.push(
      { name: GRAFANA_ES_ENV.user, valueFrom: fromSecret(GRAFANA_ES_ENV.user) },
      { name: GRAFANA_ES_ENV.password, valueFrom: fromSecret(GRAFANA_ES_ENV.password) },
    );
  }
  const health = { httpGet: { path: `${input.path}/api/health`, port: "http" } };
  s.deployment(app, {
    automountServiceAccountToken: false,
    securityContext: podSecurityContext(GRAFANA_UID, GRAFANA_UID),
    containers: [
      {
        name: "grafana",
        image: s.image(app, IMAGES.grafana),
        env,
        ports: [{ name: "http", containerPort: GRAFANA.port }],
        readinessProbe: { ...health, periodSeconds: 10 },
        livenessProbe: { ...health, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 5 },
        resources: resources("50m", "256Mi", "500m"),
        securityContext: containerSecurityContext(),
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
  }, { annotations: { "shop.io/config-checksum": pulumi.all([dsYaml, dashboardFiles]).apply(([ds, files]) => filesChecksum(ds, JSON.stringify(files))) } });
  const service = s.service(app, GRAFANA.port);
  s.allow(app, {
    ingress: [{ name: "edge", pods: selector, peer: { namespace: input.edgeNamespace }, ports: [GRAFANA.port] }],
    egress: [
      { name: "prometheus", pods: selector, peer: { pods: s.selector(PROMETHEUS.app) }, ports: [PROMETHEUS.port] },
      ...(es ? [{ name: "elasticsearch", pods: selector, peer: { pods: ELASTICSEARCH.pods }, ports: [ELASTICSEARCH.port] }] : []),
    ],
  });
  return {
    adminPassword: pulumi.secret(adminPassword),
    url: pulumi.output(input.publicHost ? publicBase : `${input.path}/`),
    backend: { serviceName: service.metadata.name, port: GRAFANA.port },
  };
}
