/**
 * The one maker of a stack's generated config file, `.pulumi-state/config/Pulumi.<stack>.yaml`
 * (`stack-file <stack> [images.json]`, and scripts/stack-config.sh which calls it):
 *   the committed `Pulumi.<BASE_STACK or stack>.yaml`'s config
 *   + `OVERRIDES`: a YAML map of config keys deep-merged over it (review.ts's `deepMerge`: `null` removes a key)
 *   + `shop:images.prebuilt` from an images.json (scripts/images.sh), when given
 *   + `shop:images.thirdParty.<name>` from the third-party images built here (`THIRD_PARTY_IMAGES`:
 *     1 for `$SHOP_RUN/third-party-images.json`, or a file); a key the config sets itself wins
 *   + `shop:docker.host`: the local engine's address, unless the config sets one (a committed file
 *     cannot name the socket: it lives in this machine's cache)
 *   + `shop:secrets`: kept from the last generation; every one the stack does not have is generated
 *     once (`GENERATE_SECRETS`, default 1) and stored encrypted by Pulumi, never in plain text
 *   + the stack's secrets-provider keys (the passphrase's `encryptionsalt`): a new stack is created
 *     from a scratch copy of Pulumi.yaml, so `stack init` never writes into a tracked file.
 * This file also owns the format of stack files (read, written with mode 0600). Everything Pulumi
 * does for it goes through a {@link StackBackend}: the CLI's in automation/stacks.ts, a fake in the
 * unit tests.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { UsageError } from "./errors";
import { PROJECT, StackConfig, deepMerge } from "./review";
import { Settings, generatedConfigFile } from "./settings";

/** Top-level keys of a stack file other than `config` (encryption salt, secrets provider, encrypted key). */
export type SecretsKeys = Record<string, unknown>;

/** The `shop:secrets` a generated stack file always has: generated once when the stack has none of its own. */
export const GENERATED_SECRETS = ["jwtKey", "mysqlPassword", "redisPassword", "rabbitmqPassword", "grafanaAdminPassword", "elasticPassword"] as const;

/**
 * The third-party images scripts/images.sh builds, under the program's names (`shop:images.thirdParty`;
 * the MariaDB image stands in for mysql). The cluster's own (pause, coredns, traefik, metrics-server) are not the program's.
 */
export const BUILT_THIRD_PARTY: Readonly<Record<string, string>> = {
  mariadb: "mysql",
  redis: "redis",
  rabbitmq: "rabbitmq",
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  "kube-state-metrics": "kube-state-metrics",
};

const key = (k: string) => `${PROJECT}:${k}`;
const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === "object" && !Array.isArray(v);
const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`);

// ---------------------------------------------------------------------------------------------
// Stack files.

/** A YAML file's top-level mapping ({} for an empty file). */
export function readYaml(file: string): Record<string, any> {
  return (yaml.load(fs.readFileSync(file, "utf8")) as Record<string, any>) ?? {};
}

/** Writes a stack file: its secrets-provider keys, then `config`. Mode 0600: it holds encrypted secrets. */
export function writeStackFile(file: string, config: StackConfig, keys: SecretsKeys): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, yaml.dump({ ...keys, config }, { lineWidth: -1, noRefs: true }), { mode: 0o600 });
}

/** The secrets-provider keys of a stack file (everything but `config`). */
export function stackFileKeys(file: string): SecretsKeys {
  const doc = readYaml(file);
  delete doc.config;
  return doc;
}

/** The `config:` map of a generated stack file (encrypted values stay as they are). */
export function readStackFileConfig(file: string): StackConfig {
  return (readYaml(file).config as StackConfig) ?? {};
}

/** Replaces the `config:` map of a generated stack file, keeping its secrets-provider keys. */
export function writeStackFileConfig(file: string, config: StackConfig): void {
  writeStackFile(file, config, stackFileKeys(file));
}

// ---------------------------------------------------------------------------------------------
// The config of a generated stack file.

/** What a generated stack file's config is made of, read and checked by {@link stackFileRequest}. */
export interface ConfigParts {
  /** The committed stack file's `config:`. */
  base: StackConfig;
  /** Config keys merged over the base. */
  overrides?: StackConfig;
  /** Image of each service by digest: becomes `shop:images.prebuilt`. */
  images?: Record<string, unknown>;
  /** Third-party images built here, by their build names ({@link BUILT_THIRD_PARTY}). */
  thirdParty?: Record<string, unknown>;
  /** The Docker daemon the program builds with, unless the config names one. */
  dockerHost: string;
}

/** A mapping under `k` of the config (absent: {}); anything else cannot take the harness's additions. */
function mappingAt(config: StackConfig, k: string, what: string): Record<string, any> {
  const v = config[key(k)];
  if (v === undefined) return {};
  if (!isObject(v)) {
    throw new UsageError(`${key(k)}: must be a mapping for the harness to add ${what}, got ${kind(v)}; fix it in the committed stack file or in OVERRIDES`);
  }
  return v;
}

/** The config of a generated stack file, before its secrets: base + overrides + images + third-party images + docker host. */
export function composeConfig(parts: ConfigParts): StackConfig {
  const images = parts.images ? { [key("images")]: { prebuilt: parts.images } } : {};
  const config = deepMerge(deepMerge({ ...parts.base }, parts.overrides ?? {}), images) as StackConfig;
  for (const [k, v] of Object.entries(config)) if (v === null) delete config[k];
  if (parts.thirdParty) {
    const imagesKey = mappingAt(config, "images", "shop:images.thirdParty");
    const thirdParty = imagesKey.thirdParty ?? {};
    if (!isObject(thirdParty)) throw new UsageError(`${key("images")}.thirdParty: must be a mapping of image names to images, got ${kind(thirdParty)}`);
    const set: Record<string, unknown> = { ...thirdParty };
    const stores = mappingAt(config, "dataStores", "nothing (it is read to keep a store's own image)");
    for (const [from, to] of Object.entries(BUILT_THIRD_PARTY)) {
      // A key the config sets itself wins: its own thirdParty entry, or a data store's own image.
      if (parts.thirdParty[from] && set[to] === undefined && !(isObject(stores[to]) && stores[to].image)) set[to] = parts.thirdParty[from];
    }
    config[key("images")] = { ...imagesKey, thirdParty: set };
  }
  const docker = mappingAt(config, "docker", "shop:docker.host");
  if (!docker.host) config[key("docker")] = { ...docker, host: parts.dockerHost };
  return config;
}

/** Keeps the `shop:secrets` of the last generation (`previous`) when the new config sets none. */
export function keepSecrets(config: StackConfig, previous: StackConfig): StackConfig {
  const kept = previous[key("secrets")];
  return kept && !config[key("secrets")] ? { ...config, [key("secrets")]: kept } : config;
}

/** The `GENERATED_SECRETS` a stack that has `have` still lacks. */
export function missingSecrets(have: readonly string[]): string[] {
  return GENERATED_SECRETS.filter((k) => !have.includes(k));
}

// ---------------------------------------------------------------------------------------------
// The inputs, from the command line and the environment.

/** One `stack-file` run: which stack, from what, and where to. */
export interface StackFileRequest {
  stack: string;
  /** The generated file written. */
  file: string;
  /** The state backend (for messages). */
  backendUrl: string;
  parts: ConfigParts;
  /** Generate the secrets the stack lacks (`GENERATE_SECRETS`, default 1). */
  generateSecrets: boolean;
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function readJsonMapping(file: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`${what} ${file} is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new UsageError(`${what} ${file}: must be a JSON object of names to images, got ${kind(v)}`);
  return v;
}

function readYamlMapping(file: string, what: string, fix: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = yaml.load(fs.readFileSync(file, "utf8")) ?? {};
  } catch (e) {
    throw new UsageError(`${what} ${file} is not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!isObject(v)) throw new UsageError(`${what} ${file}: must be ${fix}, got ${kind(v)}`);
  return v;
}

/**
 * Reads and checks everything a run needs, before anything is touched: the stack name, the committed
 * base file (`BASE_STACK`), `OVERRIDES`, the images file, `THIRD_PARTY_IMAGES` (1: `$SHOP_RUN/third-party-images.json`;
 * unset, empty or 0: none), `GENERATE_SECRETS` and the docker host (`DOCKER_HOST`, else the local engine's
 * socket `$SHOP_RUN/docker.sock`). Relative paths are taken from the current folder. Throws `UsageError`
 * naming the variable or file at fault.
 */
export function stackFileRequest(s: Settings, env: NodeJS.ProcessEnv, stack: string, imagesFile?: string): StackFileRequest {
  if (!STACK_NAME.test(stack)) throw new UsageError(`bad stack name '${stack}': use letters, digits, '-', '_' and '.' (e.g. local)`);
  const baseStack = env.BASE_STACK || stack;
  if (!STACK_NAME.test(baseStack)) throw new UsageError(`BASE_STACK=${baseStack}: not a stack name; give a committed stack (e.g. local)`);
  const overridesFile = env.OVERRIDES ? path.resolve(env.OVERRIDES) : undefined;
  if (overridesFile && !fs.existsSync(overridesFile)) throw new UsageError(`overrides file ${env.OVERRIDES} not found (OVERRIDES)`);
  const committed = path.join(s.repoRoot, `Pulumi.${baseStack}.yaml`);
  if (!fs.existsSync(committed)) {
    const stacks = fs.readdirSync(s.repoRoot).map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1]).filter(Boolean).sort();
    throw new UsageError(`no Pulumi.${baseStack}.yaml in the repo${env.BASE_STACK ? " (BASE_STACK)" : ""} (stacks: ${stacks.join(" ")})`);
  }
  const images = imagesFile ? path.resolve(imagesFile) : undefined;
  if (images && !fs.existsSync(images)) throw new UsageError(`images file ${imagesFile} not found`);
  const tp = env.THIRD_PARTY_IMAGES ?? "";
  const thirdPartyFile = tp === "" || tp === "0" ? undefined : tp === "1" ? path.join(s.runDir, "third-party-images.json") : path.resolve(tp);
  if (thirdPartyFile && !fs.existsSync(thirdPartyFile)) {
    throw new UsageError(`third-party images file ${thirdPartyFile} not found (THIRD_PARTY_IMAGES=${tp}); run scripts/images.sh third-party first`);
  }

  const base = readYamlMapping(committed, "committed stack file", "a stack file (a mapping with a config: map)").config ?? {};
  if (!isObject(base)) throw new UsageError(`committed stack file ${committed}: config: must be a mapping of config keys, got ${kind(base)}`);
  const parts: ConfigParts = {
    base,
    overrides: overridesFile ? readYamlMapping(overridesFile, "overrides file (OVERRIDES)", `a YAML map of config keys (e.g. ${key("namespace")}: shop-bench)`) : undefined,
    images: images ? readJsonMapping(images, "images file") : undefined,
    thirdParty: thirdPartyFile ? readJsonMapping(thirdPartyFile, "third-party images file (THIRD_PARTY_IMAGES)") : undefined,
    dockerHost: env.DOCKER_HOST || `unix://${path.join(s.runDir, "docker.sock")}`,
  };
  composeConfig(parts); // a config the additions cannot go into is refused now, before the stack is created
  return {
    stack,
    file: path.resolve(generatedConfigFile(s, stack)),
    backendUrl: s.backendUrl,
    parts,
    generateSecrets: (env.GENERATE_SECRETS || "1") === "1",
  };
}

// ---------------------------------------------------------------------------------------------
// Making the file.

/** What making a stack file needs from Pulumi. */
export interface StackBackend {
  /** True when the state backend holds `stack`. */
  exists(stack: string): Promise<boolean>;
  /** Creates `stack` (from a scratch copy of Pulumi.yaml); returns the secrets-provider keys `stack init` wrote. */
  init(stack: string): Promise<SecretsKeys>;
  /** The names under the stack file's `shop:secrets` (which it has), decrypted. */
  secretNames(stack: string, file: string): Promise<string[]>;
  /** Stores `value` encrypted at config path `key` (e.g. `shop:secrets.jwtKey`) of the stack file. */
  setSecret(stack: string, file: string, key: string, value: string): Promise<void>;
}

/** A fresh secret: 48 hex digits. */
export const randomSecret = (): string => crypto.randomBytes(24).toString("hex");

/** Makes (or remakes) the stack's generated config file; returns its path. */
export async function makeStackFile(backend: StackBackend, req: StackFileRequest): Promise<string> {
  const { stack, file } = req;
  let keys: SecretsKeys;
  let previous: StackConfig = {};
  if (await backend.exists(stack)) {
    if (!fs.existsSync(file)) {
      throw new UsageError(`stack '${stack}' exists in ${req.backendUrl} but its generated config ${file} is gone; remove the stack (pulumi stack rm ${stack} --force) or restore the file`);
    }
    keys = stackFileKeys(file);
    previous = readStackFileConfig(file);
  } else {
    keys = await backend.init(stack);
    // Secrets of an earlier stack of this name were encrypted with another salt.
    fs.rmSync(file, { force: true });
  }
  if (!Object.keys(keys).length) throw new Error(`could not read the encryption salt (secrets-provider keys) of stack '${stack}'`);
  writeStackFile(file, keepSecrets(composeConfig(req.parts), previous), keys);
  if (req.generateSecrets) {
    // Pulumi decrypts the names (`shop:secrets` may be one encrypted mapping); a failure stops here
    // rather than generating over secrets it could not read.
    const have = readStackFileConfig(file)[key("secrets")] === undefined ? [] : await backend.secretNames(stack, file);
    for (const k of missingSecrets(have)) {
      await backend.setSecret(stack, file, `${key("secrets")}.${k}`, randomSecret());
    }
  }
  return file;
}
