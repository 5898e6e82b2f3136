/**
 * Deliveries on the running platform: a stack of its own (`e2e-delivery`, namespace `e2e-delivery`,
 * two pods per service on the real node) takes a steady load through the edge at 127.0.0.1 (the
 * stack's route in the Host header; test/e2e/edge-load.ts, its own process) while it
 *   - rolls the product service to a new build (a code edit, built and pushed like the harness's
 *     images): 0 failed requests, and afterwards every answer comes from the new build;
 *   - tries a version whose pods never become ready: `pulumi up` fails within the rollout bound
 *     (shop:delivery.progressDeadlineSeconds), naming the Deployment and why; traffic is unaffected;
 *   - rolls back with `automation/cli.ts rollback`: healthy again (the time from the command is
 *     printed), after which `up` changes nothing;
 *   - loses a serving pod of each service: 0 failed requests.
 * Every figure is printed. Needs the cluster with its real node (skipped, saying why, without one), the
 * local engine and registry (scripts/images.sh), and the harness's environment (SHOP_IMAGES_JSON).
 */
import * as assert from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { edgeRequest, prepareStack, realNode, REPO, removeStack, sh, storeImagesEnv, upAnswering, waitFor } from "./support";
import type { LoadResult, LoadSpec } from "./edge-load";
import { failures, killLoads, report, seedShopper, startLoad as startEdgeLoad } from "./load";
import { rolloutTimeoutSeconds } from "../../components/microservice";
import { HEADERS } from "../../contracts";

const STACK = "e2e-delivery";
const NS = "e2e-delivery";
const HOST = "delivery.localhost";
const SERVICES = ["gateway", "user", "product", "order"] as const;
const REPLICAS = 2;
/** Short, so a stuck rollout fails the `up` within rolloutTimeoutSeconds(60, 2) = 120 s. */
const DEADLINE = 60;
/**
 * Target requests per second through the edge while something changes (test/e2e/edge-load.ts: a
 * closed-loop load, so a node slowed by an `up` on its 2 shared cores shows as latency and a lower
 * achieved rate, printed, never as a backlog of timeouts).
 */
const RATE = 100;
/** The target while a rollback or pod loss replaces pods. */
const REPLACE_RATE = 60;
/** The longest any one load runs (each is stopped when its change is done). */
const MAX_LOAD_SECONDS = 600;
/**
 * What the engine may add to a Deployment's own wait before `up` gives up: starting the program (ts-node
 * compiles it) and registering every resource, on 2 shared cores under the test's load.
 */
const ENGINE_SLACK_SECONDS = 120;
/** What the provider may add to a Deployment's wait before it reports the failure. */
const PROVIDER_SLACK_SECONDS = 30;

const kubectl = (...args: string[]) => sh("kubectl", args);
const kjson = (...args: string[]): any => JSON.parse(kubectl(...args, "-o", "json"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secondsSince = (t: number) => Math.round((Date.now() - t) / 100) / 10;

/** One request to the edge at 127.0.0.1 with the stack's route as Host. */
async function edge(method: string, p: string, body?: unknown, token?: string) {
  const r = await edgeRequest(HOST, method, p, { body, headers: token ? { Authorization: `Bearer ${token}` } : {}, timeoutMs: 15_000 });
  return { status: r.status, body: r.json ?? r.body, headers: r.headers };
}

/** A load at RATE through this suite's route, for at most MAX_LOAD_SECONDS unless `spec` says otherwise. */
const startLoad = (spec: Omit<LoadSpec, "host" | "rate" | "maxSeconds"> & Partial<LoadSpec>) =>
  startEdgeLoad({ host: HOST, rate: RATE, maxSeconds: MAX_LOAD_SECONDS, ...spec });

/** The X-Service-Version values of `service` seen on the answers to `calls`. */
function versionsOf(r: LoadResult, service: string, calls: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) for (const [v, n] of Object.entries(r.versions[c] ?? {})) if (v.startsWith(`${service}=`)) out[v] = (out[v] ?? 0) + n;
  return out;
}

/** The service's pods: name, image, ready, deleting. */
function pods(service: string) {
  return kjson("get", "pods", "-n", NS, "-l", `app.kubernetes.io/name=${service}`).items.map((p: any) => ({
    name: p.metadata.name as string,
    image: p.spec.containers[0].image as string,
    ready: !!p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
    deleting: !!p.metadata.deletionTimestamp,
  }));
}

/** True when every service's Deployment has rolled out completely: all pods updated, available, none extra. */
function rolledOut(): boolean {
  for (const s of SERVICES) {
    const d = kjson("get", "deployment", s, "-n", NS);
    const st = d.status ?? {};
    if (st.observedGeneration !== d.metadata.generation || st.updatedReplicas !== REPLICAS || st.availableReplicas !== REPLICAS || st.replicas !== REPLICAS) return false;
  }
  return true;
}

/** Runs a function of scripts/images.sh (the harness's engine and build settings) and returns its output. */
function images(fn: string, ...args: string[]): string {
  return execFileSync("bash", ["-c", `source "${REPO}/scripts/images.sh"; "$@"`, "images.sh", fn, ...args], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, IMAGE_STACK_FILE: path.join(REPO, "Pulumi.local.yaml") },
  }).trim();
}

/** Builds and pushes the product service with a code edit (a new build); returns its reference by digest. */
function buildNewProduct(tmp: string): string {
  const ctx = path.join(tmp, "services");
  fs.cpSync(path.join(REPO, "services"), ctx, { recursive: true });
  fs.writeFileSync(path.join(ctx, "cmd", "product", "zz_e2e_delivery.go"), 'package main\n\nimport "os"\n\nfunc init() { _ = os.Setenv("SHOP_E2E_DELIVERY", "build 2") }\n');
  const tag = "127.0.0.1:5000/shop/product:e2e-delivery";
  images("build_image", ctx, "product", tag);
  images("docker_cli", "push", "--quiet", tag);
  const ref = images("docker_cli", "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", tag)
    .split("\n")
    .find((l) => l.startsWith("127.0.0.1:5000/shop/product@sha256:"));
  if (!ref) throw new Error(`no registry digest for ${tag} after the push`);
  return ref.trim();
}

/**
 * The stack's config over the local stack (whose shop:scheduling puts every workload of it on the real
 * node): lean (no observability), two pods per service (one pod of each is deleted under load), a short
 * progress deadline.
 */
function overrides(productEnv: Record<string, string> = {}): Record<string, unknown> {
  const svc = (env: Record<string, string> = {}) => ({ replicas: REPLICAS, env });
  return {
    "shop:namespace": NS,
    "shop:routing": { host: HOST },
    "shop:monitoring": { enabled: false },
    "shop:logging": { enabled: false },
    "shop:delivery": { progressDeadlineSeconds: DEADLINE },
    // One client sends all of the load: the per-client limit (50/s) would refuse most of it.
    "shop:services": { gateway: svc({ RATE_LIMIT_RPS: "5000", RATE_LIMIT_BURST: "10000" }), user: svc(), product: svc(productEnv), order: svc() },
  };
}

/** The version a reference by digest runs as (its digest). */
const versionOf = (ref: string) => ref.split("@")[1];

/** Runs the automation CLI without blocking the event loop; resolves to its exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register", path.join(REPO, "automation", "cli.ts"), ...args], {
      cwd: REPO,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("deliveries on the running platform (rolling update, failed rollout, rollback, pod loss)", function () {
  this.timeout(20 * 60_000);
  let stack: Stack;
  let configFile: string;
  let tmp = "";
  let baseImages: Record<string, string>;
  let newImagesFile = "";
  let newProduct = "";
  let token = "";
  let productId = 0;
  let skipped = false;
  /** For scripts/stack-config.sh: the stores' images built here (the real node pulls only from 127.0.0.1:5000). */
  let stackEnv: NodeJS.ProcessEnv = {};

  before(async function () {
    if (!realNode()) {
      skipped = true;
      console.log("    (skipped: the cluster has no real node (no node labelled shop.example.com/simulated=false): rollouts, probes and traffic through the edge need a real kubelet; start the cluster with its real node, docs/local.md)");
      this.skip();
    }
    const imagesJson = process.env.SHOP_IMAGES_JSON;
    if (!imagesJson) throw new Error("SHOP_IMAGES_JSON is not set: run the suite through scripts/e2e.sh");
    stackEnv = storeImagesEnv();
    baseImages = JSON.parse(fs.readFileSync(imagesJson, "utf8"));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shop-e2e-delivery-"));

    const t = Date.now();
    newProduct = buildNewProduct(tmp);
    assert.notStrictEqual(newProduct, baseImages.product, "the code edit did not change the product image's digest");
    newImagesFile = path.join(tmp, "images-2.json");
    fs.writeFileSync(newImagesFile, JSON.stringify({ ...baseImages, product: newProduct }));
    console.log(`    product build 2 (a code edit): ${newProduct}, built and pushed in ${secondsSince(t)}s`);

    const up = await upAnswering(STACK, HOST, overrides(), stackEnv);
    ({ stack, configFile } = up);
    console.log(`    stack ${STACK} up (${REPLICAS} pods per service) and answering through the edge in ${up.seconds}s`);

    ({ token, productId } = await seedShopper(HOST, "Delivery"));
  });

  after(function () {
    this.timeout(10 * 60_000);
    killLoads();
    if (skipped) return;
    try {
      removeStack(STACK, configFile);
    } finally {
      sh(path.join(REPO, "scripts", "cluster.sh"), ["recycle-volumes"]);
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("reports the deployed build: /healthz and X-Service-Version give each image's digest", async () => {
    for (const s of SERVICES) {
      const [pod] = pods(s).filter((p: any) => p.ready);
      const health = JSON.parse(kubectl("get", "--raw", `/api/v1/namespaces/${NS}/pods/${pod.name}:8080/proxy/healthz`));
      assert.deepStrictEqual(health, { status: "ok", version: versionOf(baseImages[s]) }, s);
    }
    const r = await edge("GET", `/api/products/${productId}`);
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers[HEADERS.serviceVersion.toLowerCase()], `gateway=${versionOf(baseImages.gateway)}, product=${versionOf(baseImages.product)}`);
  });

  it(`rolls product to a new build under ${RATE} req/s without a failed request; afterwards every answer comes from it`, async () => {
    const generations = Object.fromEntries(SERVICES.map((s) => [s, kjson("get", "deployment", s, "-n", NS).metadata.generation]));
    const load = await startLoad({ token, productId });
    const t = Date.now();
    let res;
    try {
      ({ configFile } = await prepareStack(STACK, "local", overrides(), { imagesFile: newImagesFile, env: stackEnv }));
      res = await stack.up({ configFile, color: "never" });
      // Done when no pod of the old build is left (terminating ones still serve their last requests).
      await waitFor("only product pods of build 2", 120, () => {
        const p = pods("product");
        return p.length === REPLICAS && p.every((x: any) => x.image === newProduct && x.ready && !x.deleting);
      });
    } finally {
      const during = await load.stop();
      report("rolling update", during, `rollout (up until the last old pod was gone) ${secondsSince(t)}s`);
      assert.strictEqual(during.failed, 0, `failed requests during the rolling update: ${failures(during)}`);
      assert.ok(during.sent >= RATE * 5, `the load ran too briefly to prove anything: ${during.sent} requests`);
    }
    assert.strictEqual(res!.summary.result, "succeeded");
    for (const s of SERVICES) {
      const g = kjson("get", "deployment", s, "-n", NS).metadata.generation;
      if (s === "product") assert.ok(g > generations[s], "the product Deployment did not change");
      else assert.strictEqual(g, generations[s], `${s}'s Deployment changed with product's build`);
    }
    for (const p of pods("product")) {
      const health = JSON.parse(kubectl("get", "--raw", `/api/v1/namespaces/${NS}/pods/${p.name}:8080/proxy/healthz`));
      assert.strictEqual(health.version, versionOf(newProduct), p.name);
    }
    // Afterwards: every product answer through the edge names build 2.
    const check = await startLoad({ token, productId, maxSeconds: 10 });
    await sleep(10_000);
    const after = await check.stop();
    report("after the rolling update", after);
    assert.strictEqual(after.failed, 0, `failed requests after the rolling update: ${failures(after)}`);
    // Each answer has one gateway value: their count is the number of product answers.
    const answers = Object.values(versionsOf(after, "gateway", ["list", "detail"])).reduce((a, b) => a + b, 0);
    assert.ok(answers > 0, "no product answer after the rollout");
    assert.deepStrictEqual(versionsOf(after, "product", ["list", "detail"]), { [`product=${versionOf(newProduct)}`]: answers });
  });

  it(`fails a rollout whose pods never become ready within the bound, naming the Deployment, with the load unaffected`, async () => {
    const bound = rolloutTimeoutSeconds(DEADLINE, REPLICAS) + ENGINE_SLACK_SECONDS;
    const load = await startLoad({ token, productId });
    let error = "";
    let took = 0;
    let waited = 0;
    let deploymentStarted = 0;
    let during: LoadResult;
    try {
      // A product that exits at start (a CACHE_TTL it refuses): its pods crash-loop and never become ready.
      ({ configFile } = await prepareStack(STACK, "local", overrides({ CACHE_TTL: "forever" }), { imagesFile: newImagesFile, env: stackEnv }));
      const t = Date.now();
      try {
        await stack.up({
          configFile,
          color: "never",
          // When the engine starts the product Deployment's update (its wait is what the bound is about).
          onEvent: (e) => {
            if (!deploymentStarted && e.resourcePreEvent?.metadata.urn.endsWith("::product-deployment")) deploymentStarted = Date.now();
          },
        });
      } catch (e: any) {
        error = String(e.message ?? e);
      }
      took = secondsSince(t);
      if (deploymentStarted) waited = secondsSince(deploymentStarted);
    } finally {
      during = await load.stop();
      report("failed rollout", during, `up failed after ${took}s, the Deployment's update after ${waited}s (bound ${bound}s: the rollout's wait ${rolloutTimeoutSeconds(DEADLINE, REPLICAS)}s + ${ENGINE_SLACK_SECONDS}s)`);
    }
    const named = error.split("\n").map((l) => l.trim()).filter((l) => /ProgressDeadline|timed out|failed to fully initialize|unready|CrashLoop|Minimum number/.test(l)).slice(0, 10);
    console.log(`    the error says:\n${named.map((l) => `      ${l.slice(0, 300)}`).join("\n")}`);
    assert.ok(error, "up succeeded with a product that cannot start");
    assert.match(error, /product/);
    assert.match(error, /ProgressDeadlineExceeded/);
    const wait = rolloutTimeoutSeconds(DEADLINE, REPLICAS);
    assert.ok(deploymentStarted > 0, "no update of the product Deployment was seen");
    assert.ok(waited >= DEADLINE && waited <= wait + PROVIDER_SLACK_SECONDS, `the Deployment's update failed after ${waited}s: want after its deadline (${DEADLINE}s) and within its wait (${wait}s) + ${PROVIDER_SLACK_SECONDS}s`);
    assert.ok(took <= bound, `up failed only after ${took}s (bound ${bound}s)`);
    assert.strictEqual(during!.failed, 0, `failed requests during the failed rollout: ${failures(during!)}`);
    const d = kjson("get", "deployment", "product", "-n", NS);
    const progressing = d.status.conditions.find((c: any) => c.type === "Progressing");
    assert.deepStrictEqual([progressing.status, progressing.reason], ["False", "ProgressDeadlineExceeded"]);
    assert.strictEqual(d.status.availableReplicas, REPLICAS, "the old pods did not all stay available");
  });

  it("rolls back to the last good update with the automation CLI: healthy again, then up is a no-op", async function () {
    const load = await startLoad({ token, productId, rate: REPLACE_RATE });
    const t = Date.now();
    let r: Awaited<ReturnType<typeof cli>>;
    let toHealthy = 0;
    try {
      r = await cli(["rollback", STACK]);
      assert.strictEqual(r.code, 0, `rollback exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
      await waitFor("every service rolled out", 120, () => rolledOut());
      await waitFor("no product pod of the failed version left", 120, () => pods("product").every((p: any) => p.ready && !p.deleting));
      toHealthy = secondsSince(t);
    } finally {
      const during = await load.stop();
      report("rollback", during, `command to healthy ${toHealthy}s`);
      assert.strictEqual(during.failed, 0, `failed requests during the rollback: ${failures(during)}`);
    }
    const line = r!.stdout.split("\n").find((l) => l.startsWith("rolling "));
    console.log(`    ${line}\n    ${r!.stdout.split("\n").filter((l) => /^rolled back /.test(l)).join("")}`);
    assert.match(line ?? "", /back to the configuration of update \d+ \(succeeded, /);
    assert.match(r!.stdout, /^ {2}shop:services: changed$/m);
    assert.match(r!.stdout, /^rolled back e2e-delivery to update \d+ in \d+(\.\d)?s$/m);
    const cm = kjson("get", "configmaps", "-n", NS).items.filter((c: any) => c.metadata.labels?.["app.kubernetes.io/name"] === "product" && c.data?.CACHE_TTL);
    assert.ok(cm.every((c: any) => c.data.CACHE_TTL !== "forever"), "the failed version's config is still deployed");
    for (const p of pods("product")) assert.strictEqual(p.image, newProduct, `${p.name} runs ${p.image}, not the last good build`);

    const noop = await stack.up({ configFile, color: "never" });
    const changes = noop.summary.resourceChanges ?? {};
    assert.deepStrictEqual(Object.keys(changes).filter((k) => k !== "same" && (changes as any)[k] > 0), [], `up after the rollback changed: ${JSON.stringify(changes)}`);
  });

  it(`loses a serving pod of each service under ${REPLACE_RATE} req/s without a failed request`, async function () {
    // Runs on the stack the rollback restored.
    const load = await startLoad({ token, productId, rate: REPLACE_RATE });
    const times: string[] = [];
    try {
      for (const s of SERVICES) {
        const victim = pods(s).find((p: any) => p.ready && !p.deleting);
        assert.ok(victim, `no serving ${s} pod`);
        const t = Date.now();
        kubectl("delete", "pod", victim.name, "-n", NS, "--wait=false");
        await waitFor(`${s}: ${victim.name} gone and ${REPLICAS} pods serving`, 120, () => {
          const p = pods(s);
          return !p.some((x: any) => x.name === victim.name) && p.filter((x: any) => x.ready && !x.deleting).length === REPLICAS;
        });
        times.push(`${s} ${secondsSince(t)}s`);
      }
    } finally {
      const during = await load.stop();
      report("pod loss", during, `replaced (deleted pod gone, ${REPLICAS} serving): ${times.join(", ")}`);
      assert.strictEqual(during.failed, 0, `failed requests while pods were deleted: ${failures(during)}`);
    }
  });
});
