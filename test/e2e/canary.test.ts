/**
 * Progressive delivery on the running local platform: a stack of its own with the CanaryRelease
 * controller, the program's Prometheus and a gray release of the gateway, under a steady bounded load
 * through the edge at 127.0.0.1 (Traefik, Gateway API). A good canary is promoted through every step; a
 * canary that fails a share of its requests (shop:routing.canary.faultErrorRatio) is aborted within two
 * intervals and its failures stop reaching clients; deleting a release mid-way restores all-stable.
 * Needs the real node (scripts/cluster.sh) and the controller's image (scripts/images.sh controller,
 * named by SHOP_CONTROLLER_IMAGE_JSON; scripts/e2e.sh sets both up).
 */
import * as assert from "assert";
import * as fs from "fs";
import { Stack } from "@pulumi/pulumi/automation";
import { edgeRequest, kget, prepareStack, realNode, removeStack, sh, waitFor } from "./support";

const STACK = "e2e-canary";
const NAMESPACE = "shop-e2e-canary";
const HOST = "e2e-canary.localhost";
/** The host an `up` moves the route to, to see who owns the route's weights then. */
const HOST2 = "e2e-canary-2.localhost";
/** The route's host now (the load follows it). */
let host = HOST;
const RELEASE = "canaryrelease.v1alpha1.delivery.shop.dev";
const ROUTE = "httproute.v1.gateway.networking.k8s.io";
/** Short steps, so the whole release takes under a minute; Prometheus scrapes often enough for them. */
const STEPS = [10, 50, 100];
const INTERVAL_S = 15;
const SCRAPE = "5s";
/** The steady load through the edge: requests per second, at most this many in flight. */
const RPS = 10;
const MAX_IN_FLIGHT = 20;
/** What the load asks for: the gateway proxies it to the product service. */
const LOAD_PATH = "/api/products?size=1";
const LOAD_ROUTE = "/api/products";
/** The share of requests the failing canary answers with 500. */
const FAULT_RATIO = 0.5;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function controllerImage(): string {
  const f = process.env.SHOP_CONTROLLER_IMAGE_JSON;
  if (!f || !fs.existsSync(f)) throw new Error("SHOP_CONTROLLER_IMAGE_JSON does not name the controller's image file: run scripts/images.sh controller (scripts/e2e.sh does)");
  return JSON.parse(fs.readFileSync(f, "utf8"))["canary-controller"];
}

/** The stack: lean (no logging, one replica each), monitoring on for the analysis, a gray release of the gateway. */
function overrides(canary: { enabled: boolean; faultErrorRatio?: number; wait?: boolean }) {
  return {
    "shop:namespace": NAMESPACE,
    "shop:logging": { enabled: false },
    "shop:monitoring": { enabled: true, scrapeInterval: SCRAPE },
    "shop:routing": {
      host,
      canary: {
        enabled: canary.enabled,
        faultErrorRatio: canary.faultErrorRatio ?? 0,
        // The node is small and shared: latency is not what this test is about, so the p99 bound is loose.
        analysis: { steps: STEPS, interval: `${INTERVAL_S}s`, failureLimit: 1, minSuccessRate: 0.99, maxP99Seconds: 2, waitForPromotion: canary.wait ?? true },
        controller: { image: controllerImage() },
      },
    },
  };
}

interface Sample { t: number; status: number; fault: boolean; error?: string }

/** A steady, bounded load through the edge (127.0.0.1 only): RPS requests a second, never more than MAX_IN_FLIGHT open. */
class Load {
  readonly samples: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  start() {
    this.timer = setInterval(() => {
      if (this.inFlight >= MAX_IN_FLIGHT) return;
      this.inFlight++;
      const t = Date.now();
      edgeRequest(host, "GET", LOAD_PATH, { timeoutMs: 5000 })
        .then((r) => this.samples.push({ t, status: r.status, fault: r.headers["x-fault-injected"] === "true" }))
        .catch((e) => this.samples.push({ t, status: 0, fault: false, error: String(e.message) }))
        .finally(() => this.inFlight--);
    }, 1000 / RPS);
  }
  stop() {
    if (this.timer) clearInterval(this.timer);
  }
  between(from: number, to = Infinity) {
    return this.samples.filter((s) => s.t >= from && s.t < to);
  }
  /** Status counts of the samples sent in [from, to), e.g. {"200": 143, "500": 7}. */
  summary(from: number, to = Infinity): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.between(from, to)) out[String(s.status)] = (out[String(s.status)] ?? 0) + 1;
    return out;
  }
}

const release = () => kget(RELEASE, "gateway", NAMESPACE);
const weights = () => (kget(ROUTE, "api", NAMESPACE)?.spec.rules[0].backendRefs ?? []).map((b: any) => [b.name, b.weight ?? 1]);
const brief = (cr: any) => cr && JSON.stringify({ generation: cr.metadata.generation, ...cr.status, conditions: undefined });

/** The canary pods' count of the load's requests, read from each pod's /metrics through the API server. */
function canaryRequests(): number {
  const pods = kget("pods", undefined, NAMESPACE)?.items.filter((p: any) => p.metadata.name.startsWith("gateway-canary-") && p.status.phase === "Running") ?? [];
  let n = 0;
  for (const p of pods) {
    const text = sh("kubectl", ["get", "--raw", `/api/v1/namespaces/${NAMESPACE}/pods/${p.metadata.name}:8080/proxy/metrics`]);
    for (const line of text.split("\n")) {
      if (line.startsWith("http_requests_total{") && line.includes(`route="${LOAD_ROUTE}"`)) n += Number(line.split(" ").pop());
    }
  }
  return n;
}

/**
 * Polls the release until `until` settles, recording when its weight and phase changed: `t` when the
 * poll saw it (later than the change by up to a poll, and a `kubectl get` on a busy machine can take
 * seconds), `started` the controller's own `status.stepStartedAt` of a step (exact).
 */
async function watchRelease(until: Promise<unknown>) {
  const seen: { t: number; weight: number; phase: string; started?: number }[] = [];
  let settled = false;
  until.then(() => (settled = true), () => (settled = true));
  while (!settled) {
    const s = release()?.status;
    const last = seen[seen.length - 1];
    if (s && (!last || last.weight !== s.weight || last.phase !== s.phase)) {
      seen.push({ t: Date.now(), weight: s.weight ?? 0, phase: s.phase, started: s.stepStartedAt ? Date.parse(s.stepStartedAt) : undefined });
    }
    await tick(250);
  }
  return seen;
}

describe("progressive delivery on the real platform, end to end", function () {
  let stack: Stack;
  let configFile: string;
  const load = new Load();

  before(async function () {
    const node = realNode();
    if (!node) {
      console.log("      skipped: the cluster has no real node (scripts/cluster.sh with SHOP_REAL_NODE=1): no pod runs, no edge answers on 127.0.0.1");
      this.skip();
    }
    removeStack(STACK);
    // The controller first, with no release: the gray release comes with the tests.
    ({ stack, configFile } = await prepareStack(STACK, "local", overrides({ enabled: false })));
    const t0 = Date.now();
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    await waitFor(`GET http://${HOST}${LOAD_PATH} through the edge`, 120, async () => {
      const r = await edgeRequest(host, "GET", LOAD_PATH);
      if (r.status !== 200) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
      return true;
    });
    console.log(`      stack up and serving through the edge in ${seconds(Date.now() - t0)} (node ${node})`);
    load.start();
  });

  after(() => {
    load.stop();
    if (configFile) removeStack(STACK, configFile);
  });

  it(`promotes a good canary through every step (${STEPS.join(", ")} %, ${INTERVAL_S} s each) under load, with no failed request`, async () => {
    ({ configFile } = await prepareStack(STACK, "local", overrides({ enabled: true })));
    const t0 = Date.now();
    // `up` waits for Promoted (pulumi.com/waitFor) while the load runs.
    const up = stack.up({ configFile, color: "never" });
    const seen = await watchRelease(up);
    const res = await up;
    const t1 = Date.now();
    assert.strictEqual(res.summary.result, "succeeded");
    const cr = release();
    assert.strictEqual(cr?.status.phase, "Promoted", `release: ${brief(cr)}`);
    assert.strictEqual(cr.status.failedChecks ?? 0, 0, `a good canary failed a check: ${brief(cr)}`);
    assert.deepStrictEqual(weights(), [["gateway", 0], ["gateway-canary", 100]]);
    const steps = seen.filter((s, i) => s.weight > 0 && (i === 0 || seen[i - 1].weight !== s.weight));
    assert.deepStrictEqual(steps.map((s) => s.weight), STEPS, `weights seen: ${JSON.stringify(seen)}`);
    const promoted = seen.find((s) => s.phase === "Promoted");
    assert.ok(promoted, `never seen Promoted: ${JSON.stringify(seen)}`);
    // A step runs from its stepStartedAt to the next one's (both the controller's, exact); the last
    // to when Promoted was seen (a poll can only see it late, never early).
    const starts = steps.map((s) => {
      assert.ok(s.started, `step ${s.weight} % has no status.stepStartedAt: ${JSON.stringify(seen)}`);
      return s.started;
    });
    const ends = [...starts.slice(1), promoted.t];
    steps.forEach((s, i) => {
      const d = ends[i] - starts[i];
      console.log(`      step ${s.weight} %: ${seconds(d)}`);
      assert.ok(d >= INTERVAL_S * 1000, `step ${s.weight} % lasted ${seconds(d)}, less than its interval: ${JSON.stringify(seen)}`);
    });
    console.log(`      canary ready to Promoted: ${seconds(promoted.t - starts[0])}; the whole up: ${seconds(t1 - t0)}`);
    // The canary served the load through the edge, and nobody saw an error.
    const served = canaryRequests();
    assert.ok(served > 0, "the canary's pods served none of the load");
    const statuses = load.summary(t0, t1);
    console.log(`      load during the release: ${JSON.stringify(statuses)}; the canary served ${served} of them`);
    assert.deepStrictEqual(Object.keys(statuses), ["200"], `requests failed during the release: ${JSON.stringify(statuses)}`);
  });

  it("keeps the controller's weights through an `up` that changes the route (no field conflict, no reset)", async () => {
    assert.deepStrictEqual(weights(), [["gateway", 0], ["gateway-canary", 100]]);
    host = HOST2;
    ({ configFile } = await prepareStack(STACK, "local", overrides({ enabled: true })));
    const up = stack.up({ configFile, color: "never" });
    // Every weight the route carries while the up runs.
    const seen = new Set<string>();
    let settled = false;
    up.then(() => (settled = true), () => (settled = true));
    while (!settled) {
      seen.add(JSON.stringify(weights()));
      await tick(100);
    }
    const res = await up;
    assert.strictEqual(res.summary.result, "succeeded");
    assert.deepStrictEqual(kget(ROUTE, "api", NAMESPACE).spec.hostnames, [HOST2]);
    assert.deepStrictEqual(weights(), [["gateway", 0], ["gateway-canary", 100]]);
    assert.deepStrictEqual([...seen], [JSON.stringify([["gateway", 0], ["gateway-canary", 100]])], "the up reset the controller's weights");
    await waitFor(`GET http://${HOST2}${LOAD_PATH} through the edge`, 60, async () => {
      const r = await edgeRequest(host, "GET", LOAD_PATH);
      if (r.status !== 200) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
      return true;
    });
  });

  it(`aborts a canary that fails ${FAULT_RATIO * 100} % of its requests within two intervals, sets its weight to 0, and the failures stop`, async () => {
    ({ configFile } = await prepareStack(STACK, "local", overrides({ enabled: true, faultErrorRatio: FAULT_RATIO, wait: false })));
    const generation = release()?.metadata.generation ?? 0;
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    // The new config changes the release's spec: the analysis restarts with the reconfigured canary.
    const started = await waitFor("the release restarted and gave the failing canary its first step", 180, () => {
      const cr = release();
      if (cr && cr.metadata.generation > generation && cr.status?.observedGeneration === cr.metadata.generation &&
        cr.status.phase === "Progressing" && cr.status.weight === STEPS[0]) return cr;
      throw new Error(brief(cr));
    });
    const tStart = Date.parse(started.status.stepStartedAt);
    const aborted = await waitFor("the release aborted", 3 * INTERVAL_S + 30, () => {
      const cr = release();
      if (cr.status.phase === "Aborted") return cr;
      throw new Error(brief(cr));
    });
    const tAbort = Date.now();
    console.log(`      first step to Aborted: ${seconds(tAbort - tStart)} (two intervals: ${2 * INTERVAL_S} s); ${aborted.status.message}`);
    assert.ok(tAbort - tStart <= (2 * INTERVAL_S + 5) * 1000, `aborted after ${seconds(tAbort - tStart)}, more than two intervals`);
    assert.strictEqual(aborted.status.weight, 0);
    assert.match(aborted.status.message, /success-rate/);
    assert.deepStrictEqual(weights(), [["gateway", 100], ["gateway-canary", 0]]);
    const faults = load.between(tStart).filter((s) => s.fault);
    assert.ok(faults.length > 0, `no injected failure reached a client while the canary had traffic: ${JSON.stringify(load.summary(tStart))}`);
    // The edge applies the route's new weights: no failure after that.
    await waitFor("no failed request through the edge for 10 s", 60, () => {
      const last = load.samples.filter((s) => s.fault || s.status >= 500).pop();
      return !last || Date.now() - last.t > 10_000;
    });
    const lastFault = load.samples.filter((s) => s.fault).pop()!;
    console.log(`      ${faults.length} injected failures reached clients; the last was sent ${seconds(lastFault.t - tAbort)} after the abort was seen; load since: ${JSON.stringify(load.summary(lastFault.t + 1))}`);
    assert.ok(load.between(lastFault.t + 1).length >= RPS * 5, "too few requests after the last failure to tell that failures stopped");
  });

  it("restores all-stable when a release is deleted mid-way (finalizer)", async () => {
    // Back to a good canary: the spec changes, the analysis restarts from the first step.
    ({ configFile } = await prepareStack(STACK, "local", overrides({ enabled: true, wait: false })));
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    const mid = STEPS[1];
    await waitFor(`the release at step ${mid} %`, 4 * INTERVAL_S + 120, () => {
      const cr = release();
      if (cr.status.phase === "Progressing" && cr.status.weight === mid) return cr;
      throw new Error(brief(cr));
    });
    assert.deepStrictEqual(weights(), [["gateway", 100 - mid], ["gateway-canary", mid]]);
    const tDelete = Date.now();
    sh("kubectl", ["delete", RELEASE, "gateway", "-n", NAMESPACE, "--wait=false"]);
    await waitFor("the release is gone", 60, () => !release());
    const tGone = Date.now();
    assert.deepStrictEqual(weights(), [["gateway", 100], ["gateway-canary", 0]]);
    console.log(`      delete to all-stable (finalizer done, object gone): ${seconds(tGone - tDelete)}`);
    // Through the edge: once the edge has the new weights, the canary's pods get none of the load.
    await waitFor("the canary's pods stopped getting the load", 30, async () => {
      const a = canaryRequests();
      await tick(3000);
      return canaryRequests() === a;
    });
    const a = canaryRequests();
    const from = Date.now();
    await tick(10_000); // an observation window: 10 s of load, none of it may reach the canary
    assert.strictEqual(canaryRequests(), a, `the canary got requests after its release was deleted: ${JSON.stringify(load.summary(from))}`);
    const statuses = load.summary(tDelete);
    console.log(`      load since the delete: ${JSON.stringify(statuses)}`);
    assert.deepStrictEqual(Object.keys(statuses), ["200"], `requests failed while the route was restored: ${JSON.stringify(statuses)}`);
  });
});
