/**
 * Derives the config of a review stack `pr-<n>` from the dev stack's config:
 * its own namespace (suffix `-pr-<n>`) and routing host, the smallest footprint
 * (1 replica, no autoscaling, no monitoring/logging, smallest volumes), then the
 * given overrides. Pure: works on the `config:` map of a stack file.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import { UsageError } from "./errors";

export const PROJECT = "shop";

/** Config of a stack file: full keys (`shop:namespace`) to values; secrets are `{ secure: <ciphertext> }`. */
export type StackConfig = Record<string, unknown>;

/** A derived review config: plain values, and which keys must be stored as secrets. */
export interface ReviewConfig {
  config: Record<string, unknown>;
  secretKeys: string[];
}

/** Volume size every review-stack volume gets. */
export const REVIEW_VOLUME_SIZE = "1Gi";
/** Keys that always hold secrets. */
const SECRET_KEYS = new Set([`${PROJECT}:secrets`]);
/** Fields whose presence makes a whole config key secret. */
const SECRET_FIELDS = new Set(["password", "kubeconfig"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isSecure = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";

/** Full key for `key` (`namespace` -> `shop:namespace`). */
export function fullKey(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/** True when the value holds an encrypted (`secure:`) value anywhere. */
export function containsSecure(v: unknown): boolean {
  if (isSecure(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecure);
  if (isObject(v)) return Object.values(v).some(containsSecure);
  return false;
}

function hasSecretField(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasSecretField);
  if (!isObject(v)) return false;
  return Object.entries(v).some(([k, x]) => (SECRET_FIELDS.has(k) && x !== undefined && x !== "") || hasSecretField(x));
}

/** Recursively merges `over` into `base`: objects merge, `null` removes a field, everything else replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over) || isSecure(base)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = k in base ? deepMerge(base[k], v) : v;
  }
  return out;
}

/** `<label>-pr-<n>`, cut so the result stays a DNS label (<= 63 chars). */
export function reviewNamespace(base: string, pr: number): string {
  const suffix = `-pr-${pr}`;
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/**
 * The review stack's config for pull request `pr`.
 * Throws `UsageError` when the dev config has no namespace, or still holds
 * encrypted values (encrypted for the dev stack) that the overrides do not replace.
 */
export function deriveReviewConfig(dev: StackConfig, pr: number, overrides: Record<string, unknown> = {}): ReviewConfig {
  const cfg: Record<string, unknown> = structuredClone(dev);
  const ns = cfg[`${PROJECT}:namespace`];
  if (typeof ns !== "string" || !ns) {
    throw new UsageError("the dev stack's config has no shop:namespace: the review namespace is derived from it");
  }
  cfg[`${PROJECT}:namespace`] = reviewNamespace(ns, pr);

  const services = cfg[`${PROJECT}:services`];
  if (isObject(services)) {
    for (const svc of Object.values(services)) {
      if (!isObject(svc)) continue;
      svc.replicas = 1;
      delete svc.autoscaling;
    }
  }
  const routing = cfg[`${PROJECT}:routing`];
  if (isObject(routing)) {
    if (typeof routing.host === "string" && routing.host) routing.host = `pr-${pr}.${routing.host}`;
    if (isObject(routing.canary)) routing.canary.enabled = false;
  }
  for (const key of ["monitoring", "logging"]) {
    const v = cfg[`${PROJECT}:${key}`];
    cfg[`${PROJECT}:${key}`] = { ...(isObject(v) ? v : {}), enabled: false };
  }
  const stores = cfg[`${PROJECT}:dataStores`];
  if (isObject(stores)) {
    for (const name of ["mysql", "redis", "rabbitmq"]) {
      const s = stores[name];
      if (isObject(s) && "storageSize" in s) s.storageSize = REVIEW_VOLUME_SIZE;
    }
  }
  const logging = cfg[`${PROJECT}:logging`] as Record<string, unknown>;
  if (isObject(logging.elasticsearch)) {
    logging.elasticsearch.replicas = 1;
    if ("storageSize" in logging.elasticsearch) logging.elasticsearch.storageSize = REVIEW_VOLUME_SIZE;
  }
  const monitoring = cfg[`${PROJECT}:monitoring`] as Record<string, unknown>;
  if ("storageSize" in monitoring) monitoring.storageSize = REVIEW_VOLUME_SIZE;

  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(dev)) if (containsSecure(v)) secretKeys.add(k);
  for (const [rawKey, v] of Object.entries(overrides)) {
    const key = fullKey(rawKey);
    if (v === null) delete cfg[key];
    else cfg[key] = deepMerge(cfg[key], v);
  }
  const stillEncrypted = Object.entries(cfg)
    .filter(([, v]) => containsSecure(v))
    .map(([k]) => k);
  if (stillEncrypted.length) {
    throw new UsageError(
      `the dev config's ${stillEncrypted.join(", ")} ${stillEncrypted.length === 1 ? "is" : "are"} encrypted for the dev stack: ` +
        "give the value in --overrides (it is stored encrypted for the review stack)",
    );
  }
  for (const [k, v] of Object.entries(cfg)) if (SECRET_KEYS.has(k) || hasSecretField(v)) secretKeys.add(k);
  return { config: cfg, secretKeys: [...secretKeys].filter((k) => k in cfg).sort() };
}

/** Reads an overrides file: a YAML map of config keys (`shop:` prefix optional). Throws `UsageError`. */
export function readOverrides(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new UsageError(`overrides file ${file} does not exist`);
  let doc: unknown;
  try {
    doc = yaml.load(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`overrides file ${file} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === undefined || doc === null) return {};
  if (!isObject(doc)) throw new UsageError(`overrides file ${file} must be a YAML map of config keys, e.g. "shop:registry: {server: 127.0.0.1:5000}"`);
  const config = isObject(doc.config) && Object.keys(doc).length === 1 ? doc.config : doc;
  for (const k of Object.keys(config)) {
    if (k.includes(":") && !k.startsWith(`${PROJECT}:`)) {
      throw new UsageError(`overrides file ${file}: key '${k}' is not in the '${PROJECT}:' namespace`);
    }
  }
  return config;
}

/** Reads the `config:` map of a stack file. */
export function readStackConfig(file: string): StackConfig {
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  return isObject(doc) && isObject(doc.config) ? doc.config : {};
}
