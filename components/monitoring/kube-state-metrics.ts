/**
 * kube-state-metrics: pod restarts and resource limits of the shop's and the observability namespace
 * only (namespaced Roles, no ClusterRole). Prometheus in; the API server out.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ANYWHERE, API_SERVER_PORTS, containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { IMAGES } from "./images";
import { KSM_TELEMETRY_PORT, KUBE_STATE_METRICS, NOBODY, PROMETHEUS } from "./peers";

/** kube-state-metrics of one Monitoring, watching `shopNamespace` and the scope's namespace. */
export function createKubeStateMetrics(s: WorkloadScope, shopNamespace: pulumi.Output<string>): void {
  const app = KUBE_STATE_METRICS.app;
  const objName = `${s.name}-kube-state-metrics`;
  const sa = new k8s.core.v1.ServiceAccount(`${s.name}-kube-state-metrics`, { metadata: s.meta(app, objName) }, s.opts);
  const watched: [string, pulumi.Output<string>][] = [
    ["shop", shopNamespace],
    ["self", s.namespace],
  ];
  for (const [key, namespace] of watched) {
    // Namespaced Roles, not a ClusterRole: it only lists pods, and only in these namespaces.
    const role = new k8s.rbac.v1.Role(
      `${s.name}-kube-state-metrics-${key}`,
      { metadata: { namespace, labels: s.labels(app) }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }] },
      s.opts,
    );
    new k8s.rbac.v1.RoleBinding(
      `${s.name}-kube-state-metrics-${key}`,
      {
        metadata: { namespace, labels: s.labels(app) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: s.namespace }],
      },
      s.opts,
    );
  }
  const selector = s.selector(app);
  s.deployment(app, {
    serviceAccountName: sa.metadata.name,
    securityContext: podSecurityContext(NOBODY, NOBODY),
    containers: [
      {
        name: "kube-state-metrics",
        image: s.image(app, IMAGES.kubeStateMetrics),
        args: [
          "--resources=pods",
          pulumi.interpolate`--namespaces=${shopNamespace},${s.namespace}`,
          `--port=${KUBE_STATE_METRICS.port}`,
          `--telemetry-port=${KSM_TELEMETRY_PORT}`,
        ],
        ports: [
          { name: "http", containerPort: KUBE_STATE_METRICS.port },
          { name: "telemetry", containerPort: KSM_TELEMETRY_PORT },
        ],
        livenessProbe: { httpGet: { path: "/livez", port: "http" }, initialDelaySeconds: 5, periodSeconds: 15 },
        readinessProbe: { httpGet: { path: "/readyz", port: "telemetry" }, periodSeconds: 10 },
        resources: resources("20m", "64Mi", "200m"),
        securityContext: containerSecurityContext(),
      },
    ],
  });
  s.service(app, KUBE_STATE_METRICS.port);
  s.allow(app, {
    ingress: [{ name: "prometheus", pods: selector, peer: { pods: s.selector(PROMETHEUS.app) }, ports: [KUBE_STATE_METRICS.port] }],
    egress: [{ name: "api-server", pods: selector, peer: { cidr: ANYWHERE }, ports: API_SERVER_PORTS }],
  });
}
