/**
 * Helpers for the end-to-end suites: real Pulumi stacks (Automation API) on the local cluster.
 * The harness scripts make each stack's generated config (scripts/stack-config.sh), so no test
 * writes into a tracked file.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { Stack } from "@pulumi/pulumi/automation";
import { resolveSettings } from "../../automation/settings";
import { openWorkspace, workspaceDir } from "../../automation/stacks";
import { withTempDir } from "./temp";

export const REPO = path.resolve(__dirname, "..", "..");
export const CONFIG_DIR = path.join(REPO, ".pulumi-state", "config");

/** Runs a command and returns its stdout; throws with stderr on a non-zero exit. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  // Pulumi commands run in the ignored workspace folder: some of them (e.g. `stack history`) write the
  // stack's encryption salt into Pulumi.<stack>.yaml of their working folder.
  const cwd = cmd === "pulumi" ? workspaceDir(resolveSettings(process.env)) : REPO;
  return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 512 << 20 });
}

/** `kubectl get ... -o json`, or undefined when the object does not exist. */
export function kget(kind: string, name?: string, namespace?: string): any | undefined {
  const args = ["get", kind];
  if (name) args.push(name);
  if (namespace) args.push("-n", namespace);
  args.push("-o", "json");
  try {
    return JSON.parse(sh("kubectl", args));
  } catch (e: any) {
    if (String(e.stderr ?? e.message).includes("NotFound")) return undefined;
    throw e;
  }
}

/**
 * Runs SQL as the shop's MySQL user inside `namespace`'s mysql pod (its env holds the user and
 * password) and returns the rows, tab-separated, without a header.
 */
export function mysql(namespace: string, sql: string): string {
  return sh("kubectl", [
    "exec", "-n", namespace, "mysql-0", "-c", "mysql", "--",
    "sh", "-c", 'mysql -h127.0.0.1 -N -B -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -e "$1"', "sql", sql,
  ]).trim();
}

/**
 * Creates (or refreshes) a stack's generated config from a committed stack file plus overrides,
 * with the locally built images (or those of `opts.imagesFile`, a JSON map of binary to reference by
 * digest), and returns the Automation API stack and its config file. `opts.env` goes to
 * scripts/stack-config.sh (e.g. THIRD_PARTY_IMAGES).
 */
export async function prepareStack(name: string, base: string, overrides: Record<string, unknown>, opts: { imagesFile?: string; env?: NodeJS.ProcessEnv } = {}) {
  const images = opts.imagesFile ?? process.env.SHOP_IMAGES_JSON;
  if (!images) throw new Error("SHOP_IMAGES_JSON is not set: run the suite through scripts/e2e.sh");
  // stack-config.sh reads the overrides once, into the generated config file it prints.
  const configFile = withTempDir("shop-e2e-", (dir) => {
    const file = path.join(dir, "overrides.yaml");
    fs.writeFileSync(file, yaml.dump(overrides));
    return sh(path.join(REPO, "scripts", "stack-config.sh"), [name, images], { ...opts.env, BASE_STACK: base, OVERRIDES: file }).trim();
  });
  const ws = await openWorkspace(resolveSettings(process.env));
  const stack = await Stack.select(name, ws);
  return { stack, configFile };
}

/** The automation CLI as the scripts run it (scripts/automation.sh); returns its stdout. */
export function automation(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return sh(path.join(REPO, "scripts", "automation.sh"), args, env);
}

/**
 * Brings a test stack up from nothing (an earlier run's leftovers removed first) and waits, at most
 * 180 s, until its API answers through the edge on `host`; returns the stack, its config file and
 * how long that took.
 */
export async function upAnswering(name: string, host: string, overrides: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  removeStack(name);
  const t = Date.now();
  const { stack, configFile } = await prepareStack(name, "local", overrides, { env });
  const res = await stack.up({ configFile, color: "never" });
  assert.strictEqual(res.summary.result, "succeeded");
  await waitFor("the API answering through the edge", 180, async () => (await edgeRequest(host, "GET", "/api/products")).status === 200);
  return { stack, configFile, seconds: Math.round((Date.now() - t) / 100) / 10 };
}

/**
 * Destroys and removes a stack and its generated config, if they exist: `destroy --remove` of the
 * automation CLI (the file is the stack's generated config, as prepareStack returns it). A stack left
 * without its config file has nothing to destroy with: only its state is removed.
 */
export function removeStack(name: string, configFile = path.join(CONFIG_DIR, `Pulumi.${name}.yaml`)) {
  let exists = false;
  try {
    exists = JSON.parse(sh("pulumi", ["stack", "ls", "--json"])).some((s: any) => s.name === name);
  } catch { /* no stacks yet */ }
  if (exists) {
    if (fs.existsSync(configFile)) automation(["destroy", name, "--remove"]);
    else sh("pulumi", ["stack", "rm", name, "--yes", "--force"]);
  }
  fs.rmSync(configFile, { force: true });
}

/** The config of a generated stack file with secrets decrypted. */
export function stackConfig(name: string, configFile: string): Record<string, { value: string; secret: boolean }> {
  return JSON.parse(sh("pulumi", ["config", "--stack", name, "--config-file", configFile, "--show-secrets", "--json"]));
}

/** Leaf strings of a value (secrets may be whole objects such as `shop:secrets`). */
export function leafStrings(v: unknown): string[] {
  if (typeof v === "string") {
    try {
      const parsed = JSON.parse(v);
      if (parsed && typeof parsed === "object") return leafStrings(parsed);
    } catch { /* a plain string */ }
    return [v];
  }
  if (v && typeof v === "object") return Object.values(v).flatMap(leafStrings);
  return v === undefined || v === null ? [] : [String(v)];
}

/** Maps a Pulumi Kubernetes type token to a kubectl resource name, e.g. apps/v1:Deployment -> deployment.v1.apps. */
export function kubectlKind(type: string): string | undefined {
  const m = /^kubernetes:([^:]+):(.+)$/.exec(type);
  if (!m) return undefined;
  const [group, version] = m[1].includes("/") ? m[1].split("/") : ["core", m[1]];
  const kind = m[2].toLowerCase();
  return group === "core" ? kind : `${kind}.${version}.${group}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value, for at most `seconds`; fails with the last thing it saw. */
export async function waitFor<T>(what: string, seconds: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e: any) {
      last = String(e.stderr || e.message).trim().split("\n").slice(-3).join(" | ");
    }
    if (Date.now() > deadline) throw new Error(`${what}: not true after ${seconds}s${last ? ` (last: ${last})` : ""}`);
    await sleep(500);
  }
}

/**
 * The config of a slim test stack over the local stack (whose shop:scheduling puts every workload on the
 * real node, which has 2 CPUs for all stacks): its own namespace and route host, no observability, one pod
 * per service unless `services` says otherwise (an entry replaces that service's), and the gateway's
 * per-client limit (50/s) raised, since one client sends all of a test's load.
 */
export function slimStack(namespace: string, host: string, services: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "shop:namespace": namespace,
    "shop:routing": { host },
    "shop:monitoring": { enabled: false },
    "shop:logging": { enabled: false },
    "shop:services": {
      gateway: { replicas: 1, env: { RATE_LIMIT_RPS: "5000", RATE_LIMIT_BURST: "10000" } },
      user: { replicas: 1 },
      product: { replicas: 1 },
      order: { replicas: 1 },
      ...services,
    },
  };
}

/**
 * The environment scripts/stack-config.sh needs for a stack whose stores run on the real node: their
 * images built here (THIRD_PARTY_IMAGES; scripts/e2e.sh exports it, else the harness's last build),
 * since the node pulls only from 127.0.0.1:5000.
 */
export function storeImagesEnv(): NodeJS.ProcessEnv {
  if (process.env.THIRD_PARTY_IMAGES) return {};
  const run = process.env.SHOP_RUN || path.join(process.env.SHOP_CACHE || path.join(os.homedir(), ".cache", "shop-platform"), "run");
  const file = path.join(run, "third-party-images.json");
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: the stores on the real node need the images of scripts/images.sh third-party`);
  return { THIRD_PARTY_IMAGES: file };
}

/** The local cluster's real node, if it has one (scripts/cluster.sh starts it unless SHOP_REAL_NODE=0). */
export function realNode(): string | undefined {
  const nodes = kget("nodes")?.items ?? [];
  return nodes.find((n: any) => n.metadata.labels?.["shop.example.com/simulated"] === "false")?.metadata.name;
}

export interface EdgeResponse { status: number; headers: http.IncomingHttpHeaders; body: string; json?: any }

/**
 * One HTTP request to the edge at 127.0.0.1:80 (Traefik, serving the Gateway API routes) with the given
 * Host header, so no name is resolved. The body is sent as JSON; a JSON answer is parsed into `json`.
 */
export function edgeRequest(host: string, method: string, p: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<EdgeResponse> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { Host: host, ...(opts.headers ?? {}) };
  if (payload !== undefined) Object.assign(headers, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: 80, method, path: p, headers, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => {
        let json: any;
        try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} http://${host}${p}: no answer in ${opts.timeoutMs ?? 5000} ms`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
