/**
 * Fluent Bit's pipeline (classic format) as typed data: fluent-bit.conf, parsers.conf and the Lua
 * filter that routes each record to its namespace's index and keeps clashing fields.
 */
import { INDEX_PREFIX } from "./elasticsearch-config";
import { ELASTICSEARCH, FLUENT_BIT_PORT } from "./peers";

/**
 * How often a failed chunk is retried before it is dropped (and counted in
 * `fluentbit_output_dropped_records_total`, which the `ShopLogRecordsDropped` alert watches). With the
 * scheduler's waits (random, between 5 s and 5 min, growing) 30 retries ride out about an hour of
 * Elasticsearch being away; a chunk Elasticsearch keeps rejecting no longer blocks the pipeline forever.
 */
export const RETRY_LIMIT = 30;
/** The longest wait between two retries, seconds. */
export const RETRY_CAP_SECONDS = 300;
/** Where a line's own `@timestamp` goes: the es output writes the time Fluent Bit read the line there. */
export const SOURCE_TIMESTAMP = "source_timestamp";

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
 * retry `RETRY_LIMIT` times. Env: POD_NAMESPACE, ES_USER, ES_PASSWORD.
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
      ["HTTP_Port", FLUENT_BIT_PORT],
      ["Health_Check", "On"],
      ["storage.path", `${FLUENT_BIT_STATE_DIR}/buffer`],
      ["storage.sync", "normal"],
      ["storage.checksum", "off"],
      ["storage.max_chunks_up", 128],
      ["storage.backlog.mem_limit", "16M"],
      ["scheduler.base", 5],
      ["scheduler.cap", RETRY_CAP_SECONDS],
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
      ["Port", ELASTICSEARCH.port],
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
      ["Retry_Limit", RETRY_LIMIT],
      ["storage.total_limit_size", input.bufferLimit ?? "2G"],
    ]),
  ].join("\n");
  const parsers = section("PARSER", [
    ["Name", "slog"],
    ["Format", "json"],
  ]);
  const lua = `-- Routes each record to the index family of its namespace: ${INDEX_PREFIX}<namespace>-<date>.
-- The es output adds its own @timestamp (when the line was read); a line that already carries one
-- (the ECS logs of Elasticsearch and Kibana) would be rejected as a duplicate field, so its own
-- value moves to ${SOURCE_TIMESTAMP}. Every other field is kept as it is.
function shop_index(tag, timestamp, record)
  local ns = "unknown"
  local k = record["kubernetes"]
  if type(k) == "table" and type(k["namespace_name"]) == "string" then
    ns = k["namespace_name"]
  end
  record["es_index"] = "${INDEX_PREFIX}" .. ns
  if record["@timestamp"] ~= nil then
    record["${SOURCE_TIMESTAMP}"] = record["@timestamp"]
    record["@timestamp"] = nil
  end
  return 2, timestamp, record
end
`;
  return { "fluent-bit.conf": conf, "parsers.conf": parsers, "index.lua": lua };
}
