/**
 * Elasticsearch's configuration as typed data and a small script: index naming, elasticsearch.yml,
 * the index lifecycle policy and template, the security roles and users, and the setup Job's files.
 */
import * as yaml from "js-yaml";
import { ELASTICSEARCH, ES_TRANSPORT_PORT } from "./peers";

/** Every log index is `<INDEX_PREFIX><namespace>-YYYY.MM.DD`: one index family per namespace. */
export const INDEX_PREFIX = "shop-logs-";
/** Name of the index lifecycle policy that deletes old log indices. */
export const ILM_POLICY = "shop-logs-retention";
/** Id and name of the Kibana data view over the shop namespace's log indices. */
export const DATA_VIEW = { id: "shop-logs", name: "Shop logs" } as const;

/**
 * The index pattern of one namespace's logs and nothing else. `<prefix><ns>-*` alone would also match
 * every namespace whose name extends `<ns>-` (the observability namespace `<ns>-observability` among
 * them); dates (`YYYY.MM.DD`) have no `-`, so excluding `<prefix><ns>-*-*` leaves exactly `<ns>`'s indices.
 */
export function namespaceIndexPattern(namespace: string): string {
  return `${INDEX_PREFIX}${namespace}-*,-${INDEX_PREFIX}${namespace}-*-*`;
}
/** Elasticsearch users the setup Job creates, with their roles. */
export const ES_USERS = { fluentBit: "shop-fluent-bit", reader: "shop-logs-reader", kibana: "kibana_system" } as const;
/** Key of the transport keystore in the transport Secret. */
export const TRANSPORT_KEYSTORE = "transport.p12";

export const ES_HOME = "/usr/share/elasticsearch";

/** What elasticsearch.yml depends on. */
export interface ElasticsearchYmlInput {
  clusterName: string;
  replicas: number;
  /** StatefulSet name: pod names are `<statefulSet>-<ordinal>`. */
  statefulSet: string;
  /** Headless Service that resolves to every node. */
  headlessService: string;
}

/** elasticsearch.yml: security on, transport TLS, no mmap (no privileged sysctl init), discovery by replica count. */
export function elasticsearchYml(input: ElasticsearchYmlInput): string {
  const discovery =
    input.replicas === 1
      ? { "discovery.type": "single-node" }
      : {
          "discovery.seed_hosts": [input.headlessService],
          "cluster.initial_master_nodes": Array.from({ length: input.replicas }, (_, i) => `${input.statefulSet}-${i}`),
        };
  const doc = {
    "cluster.name": input.clusterName,
    "node.name": "${POD_NAME}",
    "network.host": "0.0.0.0",
    "http.port": ELASTICSEARCH.port,
    "transport.port": ES_TRANSPORT_PORT,
    "path.data": `${ES_HOME}/data`,
    // Without mmap the node needs no vm.max_map_count sysctl, so no privileged init container.
    "node.store.allow_mmap": false,
    ...discovery,
    "xpack.security.enabled": true,
    // HTTP stays plain inside the cluster (NetworkPolicies limit who reaches it); node-to-node traffic is TLS.
    "xpack.security.http.ssl.enabled": false,
    "xpack.security.transport.ssl.enabled": true,
    "xpack.security.transport.ssl.verification_mode": "certificate",
    "xpack.security.transport.ssl.keystore.path": `certs/${TRANSPORT_KEYSTORE}`,
    "xpack.security.transport.ssl.truststore.path": `certs/${TRANSPORT_KEYSTORE}`,
    "xpack.ml.enabled": false,
    // No internet access is assumed: do not try to download GeoIP databases.
    "ingest.geoip.downloader.enabled": false,
    "action.destructive_requires_name": true,
  };
  return yaml.dump(doc, { lineWidth: 200 });
}

/** JVM heap for a container memory limit: half of it (the rest is off-heap and page cache), at most 31 GiB. */
export function heapMegabytes(memoryLimitBytes: number): number {
  const mb = Math.floor(memoryLimitBytes / 2 / 2 ** 20);
  return Math.min(mb, 31 * 1024);
}

/** The index lifecycle policy: delete an index `retentionDays` after it was created. */
export function ilmPolicy(retentionDays: number) {
  return { policy: { phases: { delete: { min_age: `${retentionDays}d`, actions: { delete: {} } } } } };
}

/** The index template of the log indices: lifecycle policy, shard/replica counts, slog field types. */
export function indexTemplate(replicas: number) {
  return {
    index_patterns: [`${INDEX_PREFIX}*`],
    // Above the built-in templates (priority 100), so no built-in data stream template ever applies.
    priority: 200,
    template: {
      settings: {
        "index.lifecycle.name": ILM_POLICY,
        "index.number_of_shards": 1,
        "index.number_of_replicas": replicas > 1 ? 1 : 0,
        // Every namespace's logs share these field types; a value of another shape (Grafana logs
        // `duration: "4.6ms"`, slog an integer) is kept in the document, only left unindexed,
        // instead of failing the whole line.
        "index.mapping.ignore_malformed": true,
      },
      mappings: {
        properties: {
          "@timestamp": { type: "date" },
          level: { type: "keyword" },
          msg: { type: "text" },
          request_id: { type: "keyword" },
          route: { type: "keyword" },
          method: { type: "keyword" },
          path: { type: "keyword" },
          status: { type: "long" },
          // slog writes durations as integer nanoseconds.
          duration: { type: "long" },
          service: { type: "keyword" },
          log: { type: "text" },
          stream: { type: "keyword" },
          es_index: { type: "keyword" },
        },
      },
    },
  };
}

/** Security roles: Fluent Bit may only write log indices, the reader (Grafana) may only read them. */
export function roles() {
  return {
    "shop-logs-writer": {
      cluster: ["monitor"],
      indices: [{ names: [`${INDEX_PREFIX}*`], privileges: ["create_index", "index", "auto_configure"] }],
    },
    "shop-logs-read": {
      cluster: ["monitor"],
      indices: [{ names: [`${INDEX_PREFIX}*`], privileges: ["read", "view_index_metadata"] }],
    },
  };
}

/** Which role each created user gets. */
export const USER_ROLES: Record<string, string> = { [ES_USERS.fluentBit]: "shop-logs-writer", [ES_USERS.reader]: "shop-logs-read" };

/**
 * The script of the Elasticsearch setup Job (curl image). Every call is a PUT
 * of the desired state, so running it again changes nothing. Files come from
 * the setup ConfigMap at /config; passwords from env: ELASTIC_PASSWORD,
 * FLUENT_BIT_PASSWORD, READER_PASSWORD, KIBANA_PASSWORD; ES_URL.
 */
export function elasticsearchSetupScript(): string {
  const passwordEnv: Record<string, string> = { [ES_USERS.fluentBit]: "FLUENT_BIT_PASSWORD", [ES_USERS.reader]: "READER_PASSWORD" };
  const userCalls = Object.entries(USER_ROLES)
    .map(
      ([user, role]) =>
        `printf '{"password":"%s","roles":["${role}"]}' "\${${passwordEnv[user]}}" > /tmp/user.json\n` +
        `es PUT "/_security/user/${user}" /tmp/user.json`,
    )
    .join("\n");
  return `#!/bin/sh
set -eu
es() { # es METHOD PATH FILE
  curl -fsS --retry 10 --retry-all-errors --retry-delay 5 -u "elastic:\${ELASTIC_PASSWORD}" \\
    -X "$1" -H "Content-Type: application/json" --data-binary "@$3" "\${ES_URL}$2"
  echo
}
echo "waiting for Elasticsearch at \${ES_URL}"
until curl -fsS -o /dev/null -u "elastic:\${ELASTIC_PASSWORD}" "\${ES_URL}/_cluster/health?wait_for_status=yellow&timeout=10s"; do
  sleep 5
done
es PUT "/_ilm/policy/${ILM_POLICY}" /config/ilm-policy.json
es PUT "/_index_template/${ILM_POLICY}" /config/index-template.json
# Indices created before the template existed get the policy too.
es PUT "/${INDEX_PREFIX}*/_settings?allow_no_indices=true" /config/index-settings.json
for role in shop-logs-writer shop-logs-read; do
  es PUT "/_security/role/$role" "/config/role-$role.json"
done
${userCalls}
printf '{"password":"%s"}' "\${KIBANA_PASSWORD}" > /tmp/kibana.json
es POST "/_security/user/${ES_USERS.kibana}/_password" /tmp/kibana.json
rm -f /tmp/user.json /tmp/kibana.json
echo "Elasticsearch setup done"
`;
}

/** The files of the setup ConfigMap, keyed by file name. */
export function elasticsearchSetupFiles(retentionDays: number, replicas: number): Record<string, string> {
  const r = roles();
  return {
    "setup.sh": elasticsearchSetupScript(),
    "ilm-policy.json": JSON.stringify(ilmPolicy(retentionDays)),
    "index-template.json": JSON.stringify(indexTemplate(replicas)),
    "index-settings.json": JSON.stringify({ "index.lifecycle.name": ILM_POLICY }),
    "role-shop-logs-writer.json": JSON.stringify(r["shop-logs-writer"]),
    "role-shop-logs-read.json": JSON.stringify(r["shop-logs-read"]),
  };
}

