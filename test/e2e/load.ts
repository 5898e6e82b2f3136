/**
 * Load through the edge for the suites that change the running platform (deliveries, outages): each
 * load is test/e2e/edge-load.ts in its own process (the suites' `kubectl` and Pulumi calls block their
 * event loop), stopped when the change it watches is done; and the shopper every load acts as.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { edgeRequest, REPO } from "./support";
import type { LoadResult, LoadSpec } from "./edge-load";

/** A load running in its own process; `stop()` ends it and resolves to its summary. */
export interface Load {
  stop(): Promise<LoadResult>;
}

const running: ChildProcess[] = [];

/** Starts a load; resolves once it sends. */
export async function startLoad(spec: LoadSpec): Promise<Load> {
  const child = spawn(process.execPath, ["-r", "ts-node/register", path.join(__dirname, "edge-load.ts"), JSON.stringify(spec)], {
    cwd: REPO,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (c) => (out += c));
  const exited = new Promise<LoadResult>((resolve, reject) =>
    child.on("exit", (code) => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? ""));
      } catch {
        reject(new Error(`the load generator exited ${code} without a summary: ${err.slice(-2000)}`));
      }
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (c) => {
      err += c;
      if (err.includes("started\n")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`the load generator exited ${code} before starting: ${err.slice(-2000)}`)));
  });
  return {
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Kills every load still running (for a suite's `after`). */
export function killLoads(): void {
  for (const c of running) if (c.exitCode === null) c.kill("SIGKILL");
}

/** Prints a load's figures under `what`. */
export function report(what: string, r: LoadResult, extra = ""): void {
  const reasons = Object.entries(r.reasons).map(([k, v]) => `${k}: ${v}`).join(", ");
  console.log(`    [${what}] ${r.sent} requests in ${r.seconds}s (${r.rps}/s; target ${r.target.rate}/s from ${r.target.users} users), ${r.ok} ok, ${r.failed} failed${reasons ? ` (${reasons})` : ""}; latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms${extra ? `; ${extra}` : ""}`);
  for (const e of r.examples) console.log(`      ${e}`);
}

/** The failures of a load for an assertion's message: counts by reason and the first examples (the call, when, and the answer's body, which tells an answer of the edge, the gateway or a service apart). */
export function failures(r: LoadResult): string {
  return `${JSON.stringify(r.reasons)}${r.examples.length ? `; first: ${r.examples.slice(0, 3).join(" | ")}` : ""}`;
}

/** A signed-in shopper and a product with ample stock, made through the edge on `host`. */
export async function seedShopper(host: string, name: string): Promise<{ token: string; productId: number }> {
  const call = async (method: string, p: string, body: unknown, token?: string) => {
    const r = await edgeRequest(host, method, p, { body, headers: token ? { Authorization: `Bearer ${token}` } : {}, timeoutMs: 15_000 });
    return { status: r.status, body: r.json ?? r.body };
  };
  const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
  const password = `${name.toLowerCase()}-e2e-pw`;
  const reg = await call("POST", "/api/users/register", { email, password, name });
  if (reg.status !== 201) throw new Error(`register on ${host}: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await call("POST", "/api/users/login", { email, password });
  if (login.status !== 200) throw new Error(`login on ${host}: ${login.status} ${JSON.stringify(login.body)}`);
  const product = await call("POST", "/api/products", { name: `${name} mug`, description: "ordered under load", price_cents: 900, stock: 1_000_000 }, login.body.token);
  if (product.status !== 201) throw new Error(`new product on ${host}: ${product.status} ${JSON.stringify(product.body)}`);
  return { token: login.body.token, productId: product.body.id };
}
