/**
 * Defaults of the pack derived from the repository: the registries the
 * project's stacks push to are the allowed ones.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PackConfig, defaultConfig } from "./policies";

/**
 * Third-party images reviewed for use at exactly these versions (data stores, observability).
 * A unit test keeps this list in step with the program's image tables: bumping an image there
 * needs a review here.
 */
export const VETTED_IMAGES: readonly string[] = [
  "mysql:8.4.6",
  "redis:7.4.6-alpine",
  "rabbitmq:4.1.4-alpine",
  "quay.io/prometheus/prometheus:v2.55.1",
  "quay.io/prometheus/alertmanager:v0.27.0",
  "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
  "docker.io/grafana/grafana:11.3.1",
  "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
  "docker.elastic.co/kibana/kibana:8.15.3",
  "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
  "docker.io/curlimages/curl:8.10.1",
];

/**
 * Reviewed exceptions of the program. The node log collector (Fluent Bit DaemonSet) reads root-owned
 * container logs from the host, so it runs as root, in the observability namespace that enforces the
 * privileged Pod Security level. It keeps every other hardening rule (read-only root fs, no privilege
 * escalation, ALL capabilities dropped, probes, limits).
 */
export const REVIEWED_EXCEPTIONS = {
  privilegedNamespaces: ["*-observability"],
  rootAllowed: ["DaemonSet/*fluent-bit"],
  /**
   * Observability singletons, exempt from the prod replica/PDB rule: kube-state-metrics (a second
   * replica duplicates every series), Grafana (its state is on a single-writer volume), Alertmanager
   * (HA needs peer clustering, not configured), Kibana (a UI; its state lives in Elasticsearch).
   */
  haExempt: ["Deployment/*kube-state-metrics", "Deployment/*grafana", "Deployment/*alertmanager", "Deployment/*kibana"],
};

/** Registry hosts named by `shop:registry.server` in the repo's `Pulumi.<stack>.yaml` files. */
export function registriesOfStacks(repoRoot: string): string[] {
  const out = new Set<string>();
  for (const f of fs.readdirSync(repoRoot)) {
    if (!/^Pulumi\.[^.]+\.yaml$/.test(f)) continue;
    const doc = (yaml.load(fs.readFileSync(path.join(repoRoot, f), "utf8")) as any) ?? {};
    const server = doc?.config?.["shop:registry"]?.server;
    if (typeof server === "string" && server) out.add(server.replace(/^https?:\/\//, "").replace(/\/.*$/, ""));
  }
  return [...out].sort();
}

/** The pack's default config: `defaultConfig` plus every registry the repo's stacks use. */
export function packDefaults(repoRoot: string): PackConfig {
  const registries = new Set([...defaultConfig.allowedRegistries, ...registriesOfStacks(repoRoot)]);
  return {
    ...defaultConfig,
    allowedRegistries: [...registries],
    vettedImages: [...VETTED_IMAGES],
    ...REVIEWED_EXCEPTIONS,
  };
}
