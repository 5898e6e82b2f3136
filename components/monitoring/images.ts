/** Third-party images of the monitoring stack, each pinned to an exact release tag. */
export const IMAGES = {
  prometheus: "quay.io/prometheus/prometheus:v2.55.1",
  alertmanager: "quay.io/prometheus/alertmanager:v0.27.0",
  kubeStateMetrics: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
  grafana: "docker.io/grafana/grafana:11.3.1",
} as const;
