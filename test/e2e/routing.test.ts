/**
 * Routing on the Gateway API against the local API server (which has the Gateway API v1.6.3 CRDs of the
 * standard channel, installed by scripts/cluster.sh): the routes are admitted by the CRDs' schema
 * validation, and a gray release's weight moves by updating the route in place.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { kget, prepareStack, removeStack, sh } from "./support";
import { withTempDir } from "./temp";
import { goDuration, REQUEST_BUDGETS } from "../../components/request-budgets";

const STACK = "e2e-routing";
const NAMESPACE = "shop-e2e-routing";
const ROUTE = "httproute.v1.gateway.networking.k8s.io";
const GATEWAY = "gateway.v1.gateway.networking.k8s.io";

/** The local stack, lean (no observability), with TLS at the Gateway and a gray release at `weight`. */
const overrides = (weight: number) => ({
  "shop:namespace": NAMESPACE,
  "shop:monitoring": { enabled: false },
  "shop:logging": { enabled: false },
  // Its own host: the local stack's routes (shop.localhost) share the edge.
  "shop:routing": { host: "e2e-routing.localhost", tls: { enabled: true, secretName: "shop-tls" }, canary: { enabled: true, weight } },
});

const weights = () => (kget(ROUTE, "api", NAMESPACE)?.spec.rules[0].backendRefs ?? []).map((b: any) => [b.name, b.weight]);

describe("routing on the Gateway API, end to end", function () {
  let stack: Stack;
  let configFile: string;

  before(async () => {
    removeStack(STACK);
    ({ stack, configFile } = await prepareStack(STACK, "local", overrides(20)));
  });

  after(() => {
    try {
      removeStack(STACK, configFile);
    } finally {
      sh("scripts/cluster.sh", ["recycle-volumes"]);
    }
  });

  it("has its Gateway, the weighted API route and the redirect route admitted by the API server", async () => {
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    const gw = kget(GATEWAY, "shop", NAMESPACE);
    assert.ok(gw, "no Gateway shop");
    assert.deepStrictEqual(gw.spec.listeners.map((l: any) => [l.name, l.protocol, l.port]), [["http", "HTTP", 80], ["https", "HTTPS", 443]]);
    assert.deepStrictEqual(gw.spec.listeners[1].tls.certificateRefs.map((c: any) => c.name), ["shop-tls"]);
    const api = kget(ROUTE, "api", NAMESPACE);
    assert.ok(api, "no HTTPRoute api");
    assert.deepStrictEqual(weights(), [["gateway", 80], ["gateway-canary", 20]]);
    // The edge's request budget (components/request-budgets.ts).
    assert.strictEqual(api.spec.rules[0].timeouts.request, goDuration(REQUEST_BUDGETS.edge));
    assert.deepStrictEqual(api.spec.parentRefs.map((p: any) => [p.name, p.sectionName]), [["shop", "https"]]);
    const redirect = kget(ROUTE, "https-redirect", NAMESPACE);
    assert.ok(redirect, "no HTTPRoute https-redirect");
    assert.deepStrictEqual(redirect.spec.rules[0].filters[0].requestRedirect, { scheme: "https", statusCode: 301 });
  });

  it("has an API server that really validates routes: a weight below 0 is refused by the CRD schema", () => {
    const err = withTempDir("shop-e2e-route-", (dir) => {
      const bad = path.join(dir, "bad-route.yaml");
      fs.writeFileSync(bad, JSON.stringify({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "bad-weight", namespace: NAMESPACE },
        spec: {
          parentRefs: [{ name: "shop", sectionName: "http" }],
          rules: [{ backendRefs: [{ name: "gateway", port: 8080, weight: -1 }] }],
        },
      }));
      try {
        sh("kubectl", ["apply", "--dry-run=server", "-f", bad]);
        return "";
      } catch (e: any) {
        return String(e.stderr ?? e.message);
      }
    });
    assert.match(err, /weight/i, `the API server admitted a route with weight -1 (stderr: ${err})`);
  });

  for (const [weight, stable] of [[0, 100], [100, 0], [35, 65]]) {
    it(`moves the canary weight to ${weight} by updating the route in place (0 replacements)`, async () => {
      const before = kget(ROUTE, "api", NAMESPACE);
      ({ configFile } = await prepareStack(STACK, "local", overrides(weight)));
      const res = await stack.up({ configFile, color: "never" });
      assert.strictEqual(res.summary.result, "succeeded");
      const changes = res.summary.resourceChanges ?? {};
      assert.strictEqual(changes.replace ?? 0, 0, `replacements: ${JSON.stringify(changes)}`);
      assert.strictEqual(changes.create ?? 0, 0, `creations: ${JSON.stringify(changes)}`);
      assert.strictEqual(changes.delete ?? 0, 0, `deletions: ${JSON.stringify(changes)}`);
      assert.ok((changes.update ?? 0) >= 1, `no update: ${JSON.stringify(changes)}`);
      const after = kget(ROUTE, "api", NAMESPACE);
      assert.strictEqual(after.metadata.uid, before.metadata.uid, "the route was recreated");
      assert.deepStrictEqual(weights(), [["gateway", stable], ["gateway-canary", weight]]);
    });
  }
});
