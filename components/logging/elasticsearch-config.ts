/**
 * Configuration of the logging stack as typed data and small scripts:
 * elasticsearch.yml, the index lifecycle policy and template, the security
 * roles, the one-off setup scripts, Fluent Bit's pipeline and kibana.yml.
 */
import * as yaml from "js-yaml";

/** Every log index is `<INDEX_PREFIX><namespace>-YYYY.MM.DD`: one index family per namespace. */
export const INDEX_PREFIX = "shop-logs-";
/** Name of the index lifecycle policy that deletes old log indices. */
export const ILM_POLICY = "shop-logs-retention";
/** Id and name of the Kibana data view over the shop namespace's log indices. */
export const DATA_VIEW = { id: "shop-logs", name: "Shop logs" } as const;

/** The index pattern of one namespace's logs. */
export function namespaceIndexPattern(namespace: string): string {
  return `${INDEX_PREFIX}${namespace}-*`;
}
/** Elasticsearch users the setup Job creates, with their roles. */
export const ES_USERS = { fluentBit: "shop-fluent-bit", reader: "shop-logs-reader", kibana: "kibana_system" } as const;
/** Key of the transport keystore in the transport Secret. */
export const TRANSPORT_KEYSTORE = "transport.p12";

const ES_HOME = "/usr/share/elasticsearch";

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
    "http.port": 9200,
    "transport.port": 9300,
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
 * The script of the transport-certificate Job (runs in the Elasticsearch image,
 * which has `elasticsearch-certutil` and curl). Idempotent: when the Secret
 * already holds a keystore it does nothing, so certificates are made once.
 * Env: NAMESPACE, SECRET_NAME.
 */
export function transportCertScript(): string {
  return `#!/bin/bash
set -euo pipefail
sa=/var/run/secrets/kubernetes.io/serviceaccount
url="https://kubernetes.default.svc/api/v1/namespaces/\${NAMESPACE}/secrets/\${SECRET_NAME}"
api() { curl -fsS --retry 10 --retry-all-errors --retry-delay 3 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$@"; }
if api "$url" | grep -q '"${TRANSPORT_KEYSTORE}"'; then
  echo "transport keystore already present in \${SECRET_NAME}; nothing to do"
  exit 0
fi
cd /tmp
${ES_HOME}/bin/elasticsearch-certutil ca --silent --days 3650 --out /tmp/ca.p12 --pass ""
${ES_HOME}/bin/elasticsearch-certutil cert --silent --days 3650 --ca /tmp/ca.p12 --ca-pass "" --out /tmp/${TRANSPORT_KEYSTORE} --pass ""
printf '{"data":{"${TRANSPORT_KEYSTORE}":"%s"}}' "$(base64 -w0 /tmp/${TRANSPORT_KEYSTORE})" > /tmp/patch.json
api -X PATCH -H "Content-Type: application/merge-patch+json" --data-binary @/tmp/patch.json "$url" > /dev/null
echo "transport keystore stored in \${SECRET_NAME}"
`;
}

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

/**
 * The script of the Kibana data-view Job (curl image): waits for Kibana, then
 * creates the log data view with a fixed id (`override` makes a rerun replace
 * it rather than fail) and makes it the default. Env: KIBANA_URL, ELASTIC_PASSWORD.
 */
export function dataViewScript(): string {
  return `#!/bin/sh
set -eu
kb() { # kb PATH FILE
  curl -fsS --retry 10 --retry-all-errors --retry-delay 5 -u "elastic:\${ELASTIC_PASSWORD}" \\
    -X POST -H "kbn-xsrf: shop" -H "Content-Type: application/json" --data-binary "@$2" "\${KIBANA_URL}$1"
  echo
}
echo "waiting for Kibana at \${KIBANA_URL}"
until curl -fsS -o /dev/null -u "elastic:\${ELASTIC_PASSWORD}" "\${KIBANA_URL}/api/status"; do
  sleep 5
done
kb /api/data_views/data_view /config/data-view.json
kb /api/data_views/default /config/default-data-view.json
echo "data view ${DATA_VIEW.id} ready"
`;
}

/** The files of the data-view ConfigMap: the data view covers the shop namespace's indices. */
export function dataViewFiles(shopNamespace: string): Record<string, string> {
  return {
    "data-view.sh": dataViewScript(),
    "data-view.json": JSON.stringify({
      data_view: { id: DATA_VIEW.id, title: namespaceIndexPattern(shopNamespace), name: DATA_VIEW.name, timeFieldName: "@timestamp" },
      override: true,
    }),
    "default-data-view.json": JSON.stringify({ data_view_id: DATA_VIEW.id, force: true }),
  };
}

/** kibana.yml: served under `basePath`, connected as kibana_system, no phoning home. Env: KIBANA_PASSWORD, KIBANA_ENCRYPTION_KEY. */
export function kibanaYml(input: { elasticsearchUrl: string; basePath: string; publicBaseUrl?: string }): string {
  return yaml.dump(
    {
      "server.host": "0.0.0.0",
      "server.port": 5601,
      "server.name": "kibana",
      "server.basePath": input.basePath,
      "server.rewriteBasePath": true,
      ...(input.publicBaseUrl ? { "server.publicBaseUrl": input.publicBaseUrl } : {}),
      "elasticsearch.hosts": [input.elasticsearchUrl],
      "elasticsearch.username": ES_USERS.kibana,
      "elasticsearch.password": "${KIBANA_PASSWORD}",
      "path.data": "/usr/share/kibana/data",
      // The probes read /api/status; anonymous callers only see the overall level.
      "status.allowAnonymous": true,
      "xpack.encryptedSavedObjects.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "xpack.security.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "xpack.reporting.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "telemetry.optIn": false,
      "telemetry.allowChangingOptInStatus": false,
      "newsfeed.enabled": false,
    },
    { lineWidth: 200 },
  );
}

/** Where Fluent Bit keeps its tail offsets and its on-disk buffer (a hostPath, so both survive restarts). */
export const FLUENT_BIT_STATE_DIR = "/var/lib/fluent-bit";

/** What the Fluent Bit pipeline depends on. */
export interface FluentBitInput {
  /** Elasticsearch service host name. */
  elasticsearchHost: string;
  /** Disk budget of the output buffer, e.g. "2G". @default "2G" */
  bufferLimit?: string;
}

/**
 * Fluent Bit's pipeline (classic format): tail every container log (CRI or
 * Docker format), add Kubernetes metadata, parse JSON (slog) lines into fields,
 * route each record to `<INDEX_PREFIX><namespace>-<date>`, buffer on disk and
 * retry without limit. Env: POD_NAMESPACE, ES_USER, ES_PASSWORD.
 */
export function fluentBitConfig(input: FluentBitInput): { "fluent-bit.conf": string; "parsers.conf": string; "index.lua": string } {
  const section = (name: string, entries: [string, string | number][]) =>
    `[${name}]\n` + entries.map(([k, v]) => `    ${k.padEnd(28)} ${v}`).join("\n") + "\n";
  const conf = [
    section("SERVICE", [
      ["Flush", 2],
      ["Daemon", "Off"],
      ["Log_Level", "info"],
      ["Parsers_File", "/fluent-bit/etc/shop/parsers.conf"],
      ["HTTP_Server", "On"],
      ["HTTP_Listen", "0.0.0.0"],
      ["HTTP_Port", 2020],
      ["Health_Check", "On"],
      ["storage.path", `${FLUENT_BIT_STATE_DIR}/buffer`],
      ["storage.sync", "normal"],
      ["storage.checksum", "off"],
      ["storage.max_chunks_up", 128],
      ["storage.backlog.mem_limit", "16M"],
    ]),
    section("INPUT", [
      ["Name", "tail"],
      ["Tag", "kube.*"],
      ["Path", "/var/log/containers/*.log"],
      // Our own lines would loop back through the pipeline whenever shipping fails.
      ["Exclude_Path", "/var/log/containers/*_${POD_NAMESPACE}_fluent-bit-*.log"],
      ["multiline.parser", "cri, docker"],
      ["DB", `${FLUENT_BIT_STATE_DIR}/tail-containers.db`],
      ["DB.locking", "true"],
      ["storage.type", "filesystem"],
      ["Skip_Long_Lines", "On"],
      ["Refresh_Interval", 10],
    ]),
    section("FILTER", [
      ["Name", "kubernetes"],
      ["Match", "kube.*"],
      ["Kube_URL", "https://kubernetes.default.svc:443"],
      ["Kube_Tag_Prefix", "kube.var.log.containers."],
      ["Merge_Log", "Off"],
      ["Labels", "On"],
      ["Annotations", "Off"],
      ["K8S-Logging.Parser", "On"],
      ["K8S-Logging.Exclude", "On"],
      ["Buffer_Size", "256k"],
    ]),
    section("FILTER", [
      ["Name", "parser"],
      ["Match", "kube.*"],
      ["Key_Name", "log"],
      ["Parser", "slog"],
      // Keep the Kubernetes metadata; lines that are not JSON stay as they are, in `log`.
      ["Reserve_Data", "On"],
      ["Preserve_Key", "Off"],
    ]),
    section("FILTER", [
      ["Name", "lua"],
      ["Match", "kube.*"],
      ["script", "/fluent-bit/etc/shop/index.lua"],
      ["call", "shop_index"],
    ]),
    section("OUTPUT", [
      ["Name", "es"],
      ["Match", "kube.*"],
      ["Host", input.elasticsearchHost],
      ["Port", 9200],
      ["HTTP_User", "${ES_USER}"],
      ["HTTP_Passwd", "${ES_PASSWORD}"],
      ["Logstash_Format", "On"],
      ["Logstash_Prefix", `${INDEX_PREFIX}unknown`],
      ["Logstash_Prefix_Key", "$es_index"],
      ["Logstash_DateFormat", "%Y.%m.%d"],
      ["Suppress_Type_Name", "On"],
      ["Replace_Dots", "On"],
      // Deterministic ids: a chunk retried after a partial failure overwrites instead of duplicating.
      ["Generate_ID", "On"],
      ["Trace_Error", "On"],
      ["Buffer_Size", "512k"],
      ["Retry_Limit", "no_limits"],
      ["storage.total_limit_size", input.bufferLimit ?? "2G"],
    ]),
  ].join("\n");
  const parsers = section("PARSER", [
    ["Name", "slog"],
    ["Format", "json"],
  ]);
  const lua = `-- Routes each record to the index family of its namespace: ${INDEX_PREFIX}<namespace>-<date>.
function shop_index(tag, timestamp, record)
  local ns = "unknown"
  local k = record["kubernetes"]
  if type(k) == "table" and type(k["namespace_name"]) == "string" then
    ns = k["namespace_name"]
  end
  record["es_index"] = "${INDEX_PREFIX}" .. ns
  return 2, timestamp, record
end
`;
  return { "fluent-bit.conf": conf, "parsers.conf": parsers, "index.lua": lua };
}
