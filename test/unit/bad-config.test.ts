/**
 * The program refuses malformed stack configs as a whole: each case below goes through index.ts,
 * must fail with a message naming the offending key, and must leave zero resources registered.
 */
import * as h from "./harness";
import * as assert from "assert";
import * as path from "path";

const INDEX = path.resolve(__dirname, "..", "..", "index.ts");

interface Case {
  what: string;
  config: Record<string, unknown>;
  /** The key path the message must name. */
  key: RegExp;
  secretKeys?: string[];
  /** A check across keys, made once every key is valid on its own: reported alone, never combined. */
  alone?: boolean;
}

const CASES: Case[] = [
  { what: "images to build but no daemon to build them", config: {}, key: /shop:docker\.host: is required/ },
  { what: "the inline-cache build arg", config: { docker: { host: "unix:///var/run/docker.sock" }, images: { build: { args: { BUILDKIT_INLINE_CACHE: "1" } } } }, key: /shop:images\.build\.args\.BUILDKIT_INLINE_CACHE/ },
  { what: "replicas given as a word", config: { services: { gateway: { replicas: "three" } } }, key: /shop:services\.gateway\.replicas/ },
  { what: "negative replicas", config: { services: { user: { replicas: -1 } } }, key: /shop:services\.user\.replicas/ },
  { what: "fractional replicas", config: { services: { order: { replicas: 1.5 } } }, key: /shop:services\.order\.replicas/ },
  { what: "a misspelt top-level key", config: { namesapce: "shop-x" }, key: /shop:namesapce/ },
  { what: "a misspelt nested key", config: { routing: { hots: "shop.example.com" } }, key: /shop:routing\.hots/ },
  { what: "a namespace with capitals", config: { namespace: "Shop_Local" }, key: /shop:namespace/ },
  { what: "an unknown environment", config: { environment: "staging" }, key: /shop:environment/ },
  { what: "an unknown log level", config: { logLevel: "verbose" }, key: /shop:logLevel/ },
  { what: "a prebuilt image without a digest", config: { images: { prebuilt: { gateway: "r/gateway:1.0", user: "r/user@sha256:" + "a".repeat(64), product: "r/product@sha256:" + "b".repeat(64), order: "r/order@sha256:" + "c".repeat(64) } } }, key: /shop:images\.prebuilt\.gateway/ },
  { what: "prebuilt images missing a service", config: { images: { prebuilt: { gateway: "r/gateway@sha256:" + "a".repeat(64) } } }, key: /shop:images\.prebuilt\.(user|product|order)/ },
  { what: "a memory quantity without a unit suffix", config: { services: { product: { resources: { memory: "lots" } } } }, key: /shop:services\.product\.resources\.memory/ },
  { what: "a CPU quantity in the wrong unit", config: { services: { product: { resources: { cpu: "2 cores" } } } }, key: /shop:services\.product\.resources\.cpu/ },
  { what: "autoscaling min above max", config: { services: { gateway: { autoscaling: { minReplicas: 5, maxReplicas: 2, cpuPercent: 70 } } } }, key: /shop:services\.gateway\.autoscaling/ },
  { what: "an HPA scale-down window beyond an hour", config: { services: { product: { autoscaling: { minReplicas: 1, maxReplicas: 3, scaleDownStabilizationSeconds: 7200 } } } }, key: /shop:services\.product\.autoscaling\.scaleDownStabilizationSeconds/ },
  { what: "a canary weight above 100", config: { routing: { canary: { enabled: true, weight: 150 } } }, key: /shop:routing\.canary\.weight/ },
  { what: "a canary weight of 101", config: { routing: { canary: { enabled: true, weight: 101 } } }, key: /shop:routing\.canary\.weight/ },
  { what: "gray-release steps that go down", config: { routing: { canary: { analysis: { steps: [50, 25] } } } }, key: /shop:routing\.canary\.analysis\.steps: must be strictly ascending/ },
  { what: "a gray-release interval that is not a duration", config: { routing: { canary: { analysis: { interval: "soon" } } } }, key: /shop:routing\.canary\.analysis\.interval/ },
  { what: "a gray release in ingress mode", config: { routing: { mode: "ingress", canary: { enabled: true, weight: 10 } } }, key: /shop:routing\.canary\.enabled: a gray release needs weighted backendRefs/, alone: true },
  { what: "a shared Gateway's namespace without its name", config: { routing: { gateway: { namespace: "gateway-system" } } }, key: /shop:routing\.gateway\.name: is required/, alone: true },
  { what: "no Gateway at all outside the local stack", config: { environment: "dev", routing: { host: "shop.dev.example.com" } }, key: /shop:routing\.gateway\.name: is required in dev/, alone: true },
  { what: "a routing mode that does not exist", config: { routing: { mode: "nginx" } }, key: /shop:routing\.mode/ },
  { what: "a cert-manager issuer on a shared Gateway", config: { routing: { gateway: { name: "edge", namespace: "gateway-system" }, tls: { enabled: true, clusterIssuer: "letsencrypt" } } }, key: /shop:routing\.tls\.clusterIssuer/, alone: true },
  { what: "a registry server with a scheme", config: { registry: { server: "https://registry.example.com" } }, key: /shop:registry\.server/ },
  { what: "a data store mode that does not exist", config: { dataStores: { mode: "cloud" } }, key: /shop:dataStores\.mode/ },
  { what: "a volume size without a binary suffix", config: { dataStores: { mysql: { storageSize: "10GB" } } }, key: /shop:dataStores\.mysql\.storageSize/ },
  { what: "a storage class that is not a DNS name", config: { storageClass: "Local Storage!" }, key: /shop:storageClass/ },
  { what: "monitoring switched on with a word", config: { monitoring: { enabled: "yes" } }, key: /shop:monitoring\.enabled/ },
  { what: "a log retention of zero days", config: { logging: { retentionDays: 0 } }, key: /shop:logging\.retentionDays/ },
  { what: "a Prometheus retention that is not a duration", config: { monitoring: { retention: "15 days" } }, key: /shop:monitoring\.retention/ },
  { what: "a scrape interval beyond 5 minutes", config: { monitoring: { scrapeInterval: "10m" } }, key: /shop:monitoring\.scrapeInterval/ },
  { what: "an alert pending time that is not a duration", config: { monitoring: { alertPendingFor: "half a minute" } }, key: /shop:monitoring\.alertPendingFor/ },
  { what: "a Grafana path with a trailing slash", config: { monitoring: { grafanaPath: "/grafana/" } }, key: /shop:monitoring\.grafanaPath/ },
  { what: "a Kibana path without a leading slash", config: { logging: { kibanaPath: "kibana" } }, key: /shop:logging\.kibanaPath/ },
  { what: "Elasticsearch with less than 1Gi of memory", config: { logging: { elasticsearch: { memory: "512Mi" } } }, key: /shop:logging\.elasticsearch\.memory/ },
  { what: "two Elasticsearch nodes (no quorum)", config: { logging: { elasticsearch: { replicas: 2 } } }, key: /shop:logging\.elasticsearch\.replicas/ },
  { what: "secrets given in plain text", config: { secrets: { jwtKey: "not-secret-at-all-0123456789" } }, key: /shop:secrets/ },
  { what: "a structured key given as a plain string", config: { routing: "shop.example.com" }, key: /shop:routing/ },
  { what: "the retired shop:ingress key", config: { ingress: { host: "shop.example.com" } }, key: /shop:ingress: unknown key; did you mean shop:routing/ },
  { what: "a password as a service env var", config: { services: { user: { env: { MYSQL_PASSWORD: "hunter2" } } } }, key: /shop:services\.user\.env\.MYSQL_PASSWORD/ },
  { what: "a DNS peer address that is not a CIDR", config: { network: { dns: { cidrs: ["169.254.20.10"] } } }, key: /shop:network\.dns\.cidrs\.0/ },
  { what: "a DNS peer with neither namespace nor addresses", config: { network: { dns: {} } }, key: /shop:network\.dns/ },
];

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
/** `a` deep-merged with `b`, or undefined when they set the same leaf (the cases would mask each other). */
function mergeDisjoint(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (!(k in a)) out[k] = v;
    else if (isObj(a[k]) && isObj(v)) {
      const m = mergeDisjoint(a[k] as Record<string, unknown>, v);
      if (!m) return undefined;
      out[k] = m;
    } else return undefined;
  }
  return out;
}

/** Runs index.ts with `config`; returns the error message ("" when the program accepted it). */
async function programError(config: Record<string, unknown>, secretKeys: string[] = []): Promise<string> {
  await h.reset("dev", config, secretKeys);
  delete require.cache[require.resolve(INDEX)];
  try {
    require(INDEX);
  } catch (e: any) {
    return String(e?.message ?? e);
  }
  return "";
}

describe("malformed stack configs", () => {
  it("reports every problem of a config with many mistakes at once, one line per problem, registering nothing", async () => {
    // All the cases below that touch different keys, in one config.
    let merged: Record<string, unknown> = {};
    const included: Case[] = [];
    for (const c of CASES) {
      // A case whose mistake is a key left out (e.g. no daemon) cannot be combined: another case sets it.
      if (c.secretKeys?.length || c.alone || Object.keys(c.config).length === 0) continue;
      const m = mergeDisjoint(merged, c.config);
      if (m) { merged = m; included.push(c); }
    }
    assert.ok(included.length >= 15, `only ${included.length} cases could be combined`);
    const message = await programError(merged);
    const lines = message.split("\n").filter((l) => l.startsWith("  - "));
    assert.match(message, new RegExp(`invalid stack config \\(${lines.length} problems\\)`));
    for (const c of included) {
      assert.ok(lines.some((l) => c.key.test(l)), `the combined report has no line for ${c.what} (${c.key})`);
    }
    await h.settle();
    assert.strictEqual(h.recorded.length, 0);
  });

  for (const c of CASES) {
    it(`rejects ${c.what}, naming the key, with zero resources registered`, async () => {
      const message = await programError(c.config, c.secretKeys ?? []);
      assert.ok(message, "the program accepted the config");
      assert.match(message, c.key);
      await h.settle();
      assert.strictEqual(h.recorded.length, 0, `registered: ${h.recorded.map((r) => r.name).join(", ")}`);
    });
  }
});
