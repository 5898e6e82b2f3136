/**
 * Fluent Bit on every node: RBAC (get pods), its pipeline (`pipeline.ts`), the DaemonSet, and its
 * NetworkPolicies: Prometheus in on the metrics port; Elasticsearch and the API server out.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ANYWHERE, API_SERVER_PORTS, containerSecurityContext, resources, WorkloadScope } from "../kit";
import { PROMETHEUS } from "../monitoring/peers";
import { Credentials, KEYS } from "./credentials";
import { ES_USERS } from "./elasticsearch-config";
import { IMAGES } from "./images";
import { ELASTICSEARCH, FLUENT_BIT } from "./peers";
import { FLUENT_BIT_STATE_DIR, fluentBitConfig } from "./pipeline";

/** Fluent Bit of one Logging, shipping to `elasticsearchHost` once `after` (the setup Job) is done. */
export function createFluentBit(
  s: WorkloadScope,
  input: { credentials: Credentials; bufferLimit: string; after: pulumi.Resource },
): void {
  const app = FLUENT_BIT.app;
  const objName = `${s.name}-fluent-bit`;
  const sa = new k8s.core.v1.ServiceAccount(`${s.name}-fluent-bit`, { metadata: s.meta(app, objName) }, s.opts);
  const role = new k8s.rbac.v1.ClusterRole(
    `${s.name}-fluent-bit`,
    {
      metadata: { labels: s.labels(app) },
      // The kubernetes filter only GETs the pod a log line came from.
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
    },
    s.opts,
  );
  new k8s.rbac.v1.ClusterRoleBinding(
    `${s.name}-fluent-bit`,
    {
      metadata: { labels: s.labels(app) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: s.namespace }],
    },
    s.opts,
  );
  const files = s.namespace.apply((namespace) =>
    fluentBitConfig({ elasticsearchHost: `${s.name}-elasticsearch.${namespace}.svc`, bufferLimit: input.bufferLimit }),
  );
  const config = new k8s.core.v1.ConfigMap(`${s.name}-fluent-bit`, { metadata: s.meta(app), data: files }, s.opts);
  const selector = s.selector(app);
  new k8s.apps.v1.DaemonSet(
    `${s.name}-fluent-bit`,
    {
      metadata: s.meta(app, objName),
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: {
            labels: s.labels(app),
            annotations: {
              "prometheus.io/scrape": "true",
              "prometheus.io/port": String(FLUENT_BIT.port),
              "prometheus.io/path": "/api/v1/metrics/prometheus",
            },
          },
          spec: {
            serviceAccountName: sa.metadata.name,
            // Container logs on the host are root-owned (0640): the one workload that runs as uid 0,
            // still without capabilities, privilege escalation or a writable root fs.
            securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: "RuntimeDefault" } },
            // Every node's logs, including tainted nodes' (a configured placement narrows it: its
            // nodeSelector picks the nodes, its tolerations, when given, replace tolerating every taint).
            ...s.placement(app, [{ operator: "Exists" }]),
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: "fluent-bit",
                image: s.image(app, IMAGES.fluentBit),
                command: ["/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/shop/fluent-bit.conf"],
                env: [
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  { name: "ES_USER", value: ES_USERS.fluentBit },
                  input.credentials.env("ES_PASSWORD", KEYS.fluentBit),
                ],
                ports: [{ name: "http", containerPort: FLUENT_BIT.port }],
                livenessProbe: { httpGet: { path: "/api/v1/health", port: "http" }, initialDelaySeconds: 10, periodSeconds: 15, failureThreshold: 4 },
                readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
                resources: resources("50m", "128Mi", "500m"),
                securityContext: containerSecurityContext(true, false),
                volumeMounts: [
                  { name: "config", mountPath: "/fluent-bit/etc/shop", readOnly: true },
                  { name: "varlog", mountPath: "/var/log", readOnly: true },
                  { name: "state", mountPath: FLUENT_BIT_STATE_DIR },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: config.metadata.name } },
              { name: "varlog", hostPath: { path: "/var/log", type: "Directory" } },
              // Tail offsets and the output buffer survive pod restarts: nothing is lost while Elasticsearch is away.
              { name: "state", hostPath: { path: FLUENT_BIT_STATE_DIR, type: "DirectoryOrCreate" } },
            ],
          },
        },
      },
    },
    { ...s.opts, dependsOn: [input.after] },
  );
  s.allow(app, {
    // Prometheus (Monitoring, same namespace) scrapes Fluent Bit's metrics, the dropped records among them.
    ingress: [{ name: "prometheus", pods: selector, peer: { pods: PROMETHEUS.pods }, ports: [FLUENT_BIT.port] }],
    egress: [
      { name: "elasticsearch", pods: selector, peer: { pods: s.selector(ELASTICSEARCH.app) }, ports: [ELASTICSEARCH.port] },
      { name: "api-server", pods: selector, peer: { cidr: ANYWHERE }, ports: API_SERVER_PORTS },
    ],
  });
}
