/**
 * Third-party images of the logging stack, each pinned to an exact release tag. Elasticsearch and
 * Kibana must move together (Kibana refuses an Elasticsearch of another minor).
 */
export const IMAGES = {
  elasticsearch: "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
  kibana: "docker.elastic.co/kibana/kibana:8.15.3",
  fluentBit: "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
  curl: "docker.io/curlimages/curl:8.10.1",
} as const;
