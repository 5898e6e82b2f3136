/**
 * Shared Pulumi mock harness for the unit tests. Import it before anything that
 * creates resources: importing it calls `pulumi.runtime.setMocks`.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "shop";
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** One resource registered with the mock engine. */
export interface Recorded {
  type: string;
  name: string;
  inputs: any;
  provider?: string;
  parent?: string;
}

/** Every custom resource registered since the last `reset()`. */
export const recorded: Recorded[] = [];

const mocks: pulumi.runtime.Mocks = {
  newResource(args: pulumi.runtime.MockResourceArgs) {
    recorded.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
    const state = { ...args.inputs };
    // Kubernetes objects get their name from the provider when none is given: mimic auto-naming.
    if (args.type.startsWith("kubernetes:") && state.metadata && !state.metadata.name) {
      state.metadata = { ...state.metadata, name: `${args.name}-auto` };
    }
    // Provider outputs the program reads: a pushed image's digest, a generated password.
    if (args.type === "docker:index/image:Image") {
      const repo = String(args.inputs.imageName).replace(/:[^:/]+$/, "");
      state.repoDigest = `${repo}@sha256:${crypto.createHash("sha256").update(String(args.inputs.imageName)).digest("hex")}`;
    }
    if (args.type === "random:index/randomPassword:RandomPassword") {
      state.result = `generated-${args.name}-${"x".repeat(Math.max(0, Number(args.inputs.length ?? 16) - 12))}`;
    }
    return { id: `${args.name}-id`, state };
  },
  call(args: pulumi.runtime.MockCallArgs) {
    return args.inputs;
  },
};

/** Points the mock engine at `stack`, forgets what was recorded and installs `config`. */
export async function reset(stack = "local", config: Record<string, unknown> = {}, secretKeys: string[] = []) {
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
  recorded.length = 0;
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    flat[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(flat, secretKeys.map((k) => (k.includes(":") ? k : `${PROJECT}:${k}`)));
}
void pulumi.runtime.setMocks(mocks, PROJECT, "local", false);

/**
 * Reads `Pulumi.<stack>.yaml` from the repo as the engine would hand it to the
 * program: a map of full keys to values, plus the keys given as secrets.
 * Secure (encrypted) values are replaced by a placeholder string.
 */
export function stackFile(stack: string): { config: Record<string, unknown>; secretKeys: string[] } {
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) as any) ?? {};
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries<any>(doc.config ?? {})) {
    if (v && typeof v === "object" && "secure" in v) {
      config[k] = "mock-secret-value";
      secretKeys.push(k);
    } else {
      config[k] = v;
    }
  }
  return { config, secretKeys };
}

/** Resolves an Output (or plain value) to its value under mocks. */
export function promiseOf<T>(o: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o as any).apply((v: any) => resolve(v)));
}

/** True when the Output is marked secret. */
export async function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(o);
}

/** Waits until the mock engine has seen every registration the program started. */
export async function settle(): Promise<void> {
  let last = -1;
  let stableTicks = 0;
  while (stableTicks < 5) {
    await new Promise((r) => setTimeout(r, 2));
    if (recorded.length === last) stableTicks++;
    else { stableTicks = 0; last = recorded.length; }
  }
}

/** The recorded resources of one type token, e.g. "kubernetes:apps/v1:Deployment". */
export function ofType(type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

/** The one recorded resource with this logical name; throws when absent. */
export function named(name: string): Recorded {
  const r = recorded.find((x) => x.name === name);
  if (!r) throw new Error(`no resource named ${name}; have: ${recorded.map((x) => x.name).join(", ")}`);
  return r;
}

/** The marker the engine puts on secret values in resource inputs. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when a recorded input value was sent to the engine as a secret. */
export function isSecretInput(v: unknown): boolean {
  return !!v && typeof v === "object" && (v as any)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** A recorded input value with secret markers removed (recursively). */
export function plain<T = any>(v: unknown): T {
  if (isSecretInput(v)) return plain((v as any).value);
  if (Array.isArray(v)) return v.map((x) => plain(x)) as any;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as any;
  return v as T;
}

/** The recorded resources whose logical name starts with `prefix`. */
export function namedLike(prefix: string): Recorded[] {
  return recorded.filter((r) => r.name.startsWith(prefix));
}

/** A sha256 digest made of one repeated hex character. */
export const DIGEST = (c: string) => c.repeat(64);
/** Image references pinned by digest, as the local harness passes them (`shop:images.prebuilt`). */
export const PREBUILT: Record<string, string> = Object.fromEntries(
  ["gateway", "user", "product", "order"].map((s, i) => [s, `127.0.0.1:5000/shop/${s}@sha256:${DIGEST(String(i + 1))}`]),
);
/** Prod deploys digests promoted from dev. */
export const PROMOTED: Record<string, string> = Object.fromEntries(Object.entries(PREBUILT).map(([s, r]) => [s, r.replace("127.0.0.1:5000", "registry.example.com")]));
/** The secrets the local harness generates once into the stack config (`shop:secrets`). */
export const SECRETS = {
  jwtKey: "jwt-key-0123456789abcdef0123456789abcdef",
  mysqlPassword: "mysql-pw-0123456789",
  redisPassword: "redis-pw-0123456789",
  rabbitmqPassword: "rabbit-pw-0123456789",
  grafanaAdminPassword: "grafana-pw-0123456789",
  elasticPassword: "elastic-pw-0123456789",
};
