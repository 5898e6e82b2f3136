/**
 * Third-party images of the monitoring and logging stacks, each pinned to an
 * exact release tag. Upgrading one is a one-line change here; Elasticsearch and
 * Kibana must move together (Kibana refuses an Elasticsearch of another minor).
 */
export const IMAGES = {
  prometheus: "quay.io/prometheus/prometheus:v2.55.1",
  alertmanager: "quay.io/prometheus/alertmanager:v0.27.0",
  kubeStateMetrics: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
  grafana: "docker.io/grafana/grafana:11.3.1",
  elasticsearch: "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
  kibana: "docker.elastic.co/kibana/kibana:8.15.3",
  fluentBit: "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
  curl: "docker.io/curlimages/curl:8.10.1",
} as const;

export type ImageKey = keyof typeof IMAGES;
