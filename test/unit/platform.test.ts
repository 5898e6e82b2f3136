import * as h from "./harness";
import * as assert from "assert";
import * as path from "path";
import { loadConfig } from "../../config";
import { deployPlatform, PlatformOutputs } from "../../platform";
import { VERSION_ENV } from "../../contracts";

const { DIGEST, PREBUILT, PROMOTED, SECRETS } = h;
/** The local engine's address as the harness's generated stack config names it. */
const LOCAL_DAEMON = "unix:///home/ci/.cache/shop-platform/run/docker.sock";
const OFF = { "shop:monitoring": { enabled: false }, "shop:logging": { enabled: false } };

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
function merge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

/** Runs the whole program for a committed stack file plus `extra` config; returns its outputs. */
async function run(stack: string, extra: Record<string, unknown> = {}, extraSecretKeys: string[] = []): Promise<PlatformOutputs> {
  const { config, secretKeys } = h.stackFile(stack);
  const full = merge(config, extra) as Record<string, unknown>;
  await h.reset(stack, full, [...secretKeys, ...extraSecretKeys]);
  const out = deployPlatform(loadConfig());
  await h.settle();
  return out;
}
/** The local stack as the harness runs it: prebuilt images and every secret given. */
const runLocal = (extra: Record<string, unknown> = {}) =>
  run("local", { "shop:images": { prebuilt: PREBUILT }, "shop:secrets": SECRETS, ...extra }, ["shop:secrets"]);

const deployments = (): Record<string, any> => Object.fromEntries(h.ofType("kubernetes:apps/v1:Deployment").map((d) => [d.inputs.metadata.name ?? d.name, d.inputs]));
const inShop = (ns: string) => (r: h.Recorded) => r.inputs?.metadata?.namespace === ns;

/** Every string in `v` outside values marked secret. */
function plainStrings(v: unknown, out: string[] = []): string[] {
  if (h.isSecretInput(v)) return out;
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => plainStrings(x, out));
  else if (isObj(v)) Object.values(v).forEach((x) => plainStrings(x, out));
  return out;
}

describe("the platform", () => {
  it("registers no resource at all when the config is bad", async () => {
    await h.reset("dev", { services: { gateway: { replicas: "three" } } });
    const index = path.resolve(__dirname, "..", "..", "index.ts");
    delete require.cache[require.resolve(index)];
    assert.throws(() => require(index), /shop:services\.gateway\.replicas: expected number, got "three"/);
    await h.settle();
    assert.strictEqual(h.recorded.length, 0);
  });

  it("index.ts registers the cluster check before it loads the rest of the program, then deploys it all", async () => {
    const { config, secretKeys } = h.stackFile("local");
    await h.reset("local", merge(config, { "shop:images": { prebuilt: PREBUILT }, "shop:secrets": SECRETS }) as Record<string, unknown>, [...secretKeys, "shop:secrets"]);
    const index = path.resolve(__dirname, "..", "..", "index.ts");
    const platform = require.resolve("../../platform");
    delete require.cache[index];
    const saved = require.cache[platform];
    delete require.cache[platform];
    try {
      const program = require(index);
      // Right after the program's synchronous part: the check is on its way, the platform not loaded yet.
      assert.strictEqual(require.cache[platform], undefined, "index.ts loaded platform.ts synchronously");
      await h.settle();
      assert.ok(require.cache[platform], "platform.ts was never loaded");
      assert.strictEqual(h.recorded[0]?.name, "cluster-prerequisites", `first registered: ${h.recorded[0]?.name}`);
      assert.strictEqual(h.namedLike("cluster-prerequisites").length, 1);
      assert.ok(h.ofType("kubernetes:apps/v1:Deployment").length > 0);
      assert.strictEqual(await h.promiseOf(program.namespace), "shop-local");
      assert.match(String(await h.promiseOf(program.apiUrl)), /^http:\/\/shop\.localhost\//);
    } finally {
      if (saved) require.cache[platform] = saved;
    }
  });

  describe("local stack, as the harness runs it", () => {
    // One evaluation shared by the read-only specs below (the program is deterministic under mocks).
    let out: PlatformOutputs;
    before(async () => { out = await runLocal(); });

    it("needs neither the docker nor the random plugin", async () => {
      const types = new Set(h.recorded.map((r) => r.type.split(":")[0]));
      assert.ok(!types.has("docker"), "a docker resource was registered");
      assert.strictEqual(h.ofType("pulumi:providers:docker").length, 0, "a docker provider was registered");
      assert.ok(!types.has("random"), "a random resource was registered");
    });

    it("sends every Kubernetes object through the one explicit provider", async () => {
      const providers = h.ofType("pulumi:providers:kubernetes");
      assert.deepStrictEqual(providers.map((p) => p.name), ["shop-k8s"]);
      assert.strictEqual(providers[0].inputs.enableServerSideApply, "true");
      const k8sObjects = h.recorded.filter((r) => r.type.startsWith("kubernetes:"));
      assert.ok(k8sObjects.length > 30);
      for (const r of k8sObjects) assert.match(r.provider ?? "", /::shop-k8s::/, `${r.type} ${r.name} uses ${r.provider}`);
    });

    it("runs the prebuilt images, exactly as given", async () => {
      const d = deployments();
      for (const svc of ["gateway", "user", "product", "order"] as const) {
        assert.strictEqual(d[svc].spec.template.spec.containers[0].image, PREBUILT[svc]);
        assert.strictEqual(await h.promiseOf(out.imageDigests[svc]), PREBUILT[svc]);
      }
    });

    it(`gives each service its prebuilt image's digest as ${VERSION_ENV}, the version it reports`, () => {
      const d = deployments();
      for (const svc of ["gateway", "user", "product", "order"] as const) {
        const env = d[svc].spec.template.spec.containers[0].env.find((e: any) => e.name === VERSION_ENV);
        assert.strictEqual(env?.value, PREBUILT[svc].split("@")[1], svc);
      }
    });

    it("bounds every rollout: the default progress deadline of 120s on each service's Deployment", () => {
      const d = deployments();
      for (const svc of ["gateway", "user", "product", "order"]) assert.strictEqual(d[svc].spec.progressDeadlineSeconds, 120, svc);
    });

    it("claims only 1Gi volumes of class local-storage, every one of them", async () => {
      const claims = h.ofType("kubernetes:apps/v1:StatefulSet").flatMap((s) => (s.inputs.spec.volumeClaimTemplates ?? []).map((t: any) => [s.inputs.metadata.name ?? s.name, t.spec]));
      assert.ok(claims.length >= 5, `only ${claims.length} claims`);
      for (const [owner, spec] of claims) {
        assert.strictEqual(spec.storageClassName, "local-storage", owner);
        assert.strictEqual(spec.resources.requests.storage, "1Gi", owner);
      }
    });

    it("keeps every given secret out of plain-text inputs", async () => {
      const plain = h.recorded.flatMap((r) => plainStrings(r.inputs)).join("\n");
      for (const [k, v] of Object.entries(SECRETS)) assert.ok(!plain.includes(v), `${k} appears in plain text`);
    });

    it("exports the namespace, API URL, image digests and service endpoints", async () => {
      assert.strictEqual(await h.promiseOf(out.namespace), "shop-local");
      assert.strictEqual(await h.promiseOf(out.apiUrl), "http://shop.localhost/api");
      assert.strictEqual(await h.promiseOf(out.grafanaUrl!), "http://shop.localhost/grafana/");
      assert.strictEqual(await h.promiseOf(out.kibanaUrl!), "http://shop.localhost/kibana/");
      assert.deepStrictEqual(Object.keys(out.imageDigests).sort(), ["gateway", "order", "product", "user"]);
      assert.strictEqual(await h.promiseOf(out.serviceEndpoints.order), "http://order.shop-local.svc:8080");
      assert.ok(out.grafanaUrl && out.kibanaUrl, "monitoring and logging outputs missing");
    });

    it("expires unpaid orders after the local stack's short payment timeout", async () => {
      assert.strictEqual(h.named("order-config").inputs.data.ORDER_PAYMENT_TIMEOUT, "2m");
    });

    it("puts monitoring and logging in a second namespace that enforces privileged but warns restricted", async () => {
      const ns = h.named("observability-ns").inputs.metadata;
      assert.strictEqual(ns.name, "shop-local-observability");
      assert.strictEqual(ns.labels["pod-security.kubernetes.io/enforce"], "privileged");
      assert.strictEqual(ns.labels["pod-security.kubernetes.io/warn"], "restricted");
      const monitoring = h.recorded.filter((r) => r.type.startsWith("kubernetes:apps/") && r.name.startsWith("monitoring-"));
      const logging = h.recorded.filter((r) => r.type.startsWith("kubernetes:apps/") && r.name.startsWith("logging-"));
      assert.ok(monitoring.length && logging.length);
      for (const r of [...monitoring, ...logging]) assert.strictEqual(r.inputs.metadata.namespace, "shop-local-observability", r.name);
    });
  });

  describe("local stack, changed", () => {
    it("rolls exactly the Deployment whose config changed", async () => {
      await runLocal(OFF);
      const before = deployments();
      await runLocal({ ...OFF, "shop:services": { product: { env: { FEATURE_BANNER: "on" } } } });
      const after = deployments();
      const rolled = Object.keys(after).filter((n) => JSON.stringify(after[n].spec.template) !== JSON.stringify(before[n].spec.template));
      assert.deepStrictEqual(rolled, ["product"]);
    });

    it("creates no observability namespace when monitoring and logging are off", async () => {
      await runLocal(OFF);
      assert.strictEqual(h.ofType("kubernetes:core/v1:Namespace").length, 1);
    });
  });

  describe("local stack, images built by the program", () => {
    before(async () => { await run("local", { ...OFF, "shop:docker": { host: LOCAL_DAEMON } }); });

    it("builds every image on the host network through one docker provider for the harness's engine", async () => {
      const providers = h.ofType("pulumi:providers:docker");
      assert.deepStrictEqual(providers.map((p) => p.name), ["shop-docker"]);
      assert.strictEqual(providers[0].inputs.host, LOCAL_DAEMON);
      // The local registry takes no credentials: the provider is given none.
      assert.strictEqual(providers[0].inputs.registryAuth, undefined);
      const images = h.ofType("docker:index/image:Image");
      assert.strictEqual(images.length, 4);
      for (const i of images) {
        assert.match(i.provider ?? "", /::shop-docker::/, i.name);
        assert.strictEqual(i.inputs.build.network, "host", i.name);
        assert.match(i.inputs.imageName, /^127\.0\.0\.1:5000\/shop\/[a-z]+:local$/);
      }
    });
  });

  describe("dev stack", () => {
    let out: PlatformOutputs;
    before(async () => { out = await run("dev", OFF); });

    it("builds every image through one explicit docker provider, configured from shop:docker.host", async () => {
      const providers = h.ofType("pulumi:providers:docker");
      assert.deepStrictEqual(providers.map((p) => p.name), ["shop-docker"]);
      assert.strictEqual(providers[0].inputs.host, "unix:///var/run/docker.sock");
      for (const i of h.ofType("docker:index/image:Image")) {
        assert.match(i.provider ?? "", /::shop-docker::/, i.name);
        assert.deepStrictEqual({ network: i.inputs.build.network, platform: i.inputs.build.platform }, { network: "default", platform: "linux/amd64" }, i.name);
        assert.ok(!("BUILDKIT_INLINE_CACHE" in i.inputs.build.args), i.name);
        assert.strictEqual(i.inputs.build.cacheFrom, undefined, i.name);
      }
    });

    it("builds the four images with docker and pins every service container by digest", async () => {
      const images = h.ofType("docker:index/image:Image");
      assert.deepStrictEqual(images.map((i) => i.inputs.imageName).sort(), [
        "registry.example.com/shop/gateway:dev", "registry.example.com/shop/order:dev", "registry.example.com/shop/product:dev", "registry.example.com/shop/user:dev",
      ]);
      for (const [name, d] of Object.entries(deployments())) {
        assert.match(d.spec.template.spec.containers[0].image, /^registry\.example\.com\/shop\/[a-z]+@sha256:[0-9a-f]{64}$/, name);
      }
      assert.match(await h.promiseOf(out.imageDigests.user), /@sha256:/);
    });

    it(`gives each service the digest docker pushed (the image's repoDigest) as ${VERSION_ENV}`, async () => {
      for (const [name, d] of Object.entries(deployments())) {
        const c = d.spec.template.spec.containers[0];
        const version = c.env.find((e: any) => e.name === VERSION_ENV)?.value;
        assert.match(version, /^sha256:[0-9a-f]{64}$/, name);
        assert.strictEqual(`${c.image.split("@")[0]}@${version}`, c.image, name);
      }
    });

    it("generates the JWT key and data-store passwords as secrets", async () => {
      const names = h.ofType("random:index/randomPassword:RandomPassword").map((r) => r.name).sort();
      assert.deepStrictEqual(names, ["shop-data-mysql-password", "shop-data-rabbitmq-password", "shop-data-redis-password", "shop-jwt-key"]);
      assert.ok(h.isSecretInput(h.named("gateway-secret").inputs.stringData));
    });

    it("runs one replica per service with debug logs and no HPA or topology spread", async () => {
      for (const [name, d] of Object.entries(deployments())) {
        assert.strictEqual(d.spec.replicas, 1, name);
        assert.strictEqual(d.spec.template.spec.topologySpreadConstraints, undefined, name);
      }
      assert.strictEqual(h.ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").length, 0);
      assert.strictEqual(h.named("user-config").inputs.data.LOG_LEVEL, "debug");
    });

    it("gives each pod time to drain and shut down: grace > preStop + SHUTDOWN_DRAIN + SHUTDOWN_TIMEOUT", async () => {
      for (const [name, d] of Object.entries(deployments())) {
        const pod = d.spec.template.spec;
        const env = h.named(`${name}-config`).inputs.data;
        const secs = (v: string) => Number(/^(\d+)s$/.exec(v)![1]);
        const needed = pod.containers[0].lifecycle.preStop.sleep.seconds + secs(env.SHUTDOWN_DRAIN) + secs(env.SHUTDOWN_TIMEOUT);
        assert.ok(pod.terminationGracePeriodSeconds > needed, `${name}: ${pod.terminationGracePeriodSeconds}s <= ${needed}s`);
      }
    });

    it("wires each service to exactly the data stores and services it uses", async () => {
      const names = new Set(h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => p.inputs.metadata.name));
      for (const flow of ["gateway-to-user", "gateway-to-product", "gateway-to-order", "order-to-product", "user-to-mysql", "product-to-mysql",
        "product-to-redis", "order-to-mysql", "order-to-rabbitmq"]) {
        assert.ok(names.has(`allow-in-${flow}`) && names.has(`allow-out-${flow}`), flow);
      }
      for (const flow of ["user-to-redis", "gateway-to-mysql", "product-to-rabbitmq"]) assert.ok(!names.has(`allow-in-${flow}`), flow);
      assert.ok(names.has("allow-in-edge-to-gateway") && names.has("default-deny"));
      const gatewayEnv = h.named("gateway-config").inputs.data;
      assert.strictEqual(gatewayEnv.USER_URL, "http://user:8080");
      assert.strictEqual(h.named("order-config").inputs.data.PRODUCT_URL, "http://product:8080");
    });
  });

  describe("prod stack", () => {
    let out: PlatformOutputs;
    before(async () => { out = await run("prod", { ...OFF, "shop:images": { prebuilt: PROMOTED } }); });

    it("deploys the promoted digests with no docker provider", async () => {
      assert.strictEqual(h.ofType("pulumi:providers:docker").length, 0);
      assert.strictEqual(h.ofType("docker:index/image:Image").length, 0);
      assert.strictEqual(deployments().user.spec.template.spec.containers[0].image, PROMOTED.user);
    });

    it("gives every layer a shorter timeout than the one calling it: gateway > service request > product call", async () => {
      const env = (svc: string) => h.named(`${svc}-config`).inputs.data;
      const secs = (v: string) => Number(/^(\d+)s$/.exec(v)![1]);
      const upstream = secs(env("gateway").UPSTREAM_TIMEOUT);
      for (const svc of ["user", "product", "order"]) assert.ok(upstream > secs(env(svc).REQUEST_TIMEOUT), `gateway ${upstream}s <= ${svc} ${env(svc).REQUEST_TIMEOUT}`);
      assert.ok(secs(env("order").REQUEST_TIMEOUT) > secs(env("order").PRODUCT_TIMEOUT));
      assert.strictEqual(env("gateway").TRUSTED_PROXY_HOPS, "1");
    });

    it("autoscales every service 3..10 on CPU, scaling in after Kubernetes' 300 s window, with a PDB of minAvailable 2", async () => {
      const hpas = h.ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
      assert.strictEqual(hpas.length, 4);
      for (const hpa of hpas) {
        assert.strictEqual(hpa.inputs.spec.minReplicas, 3);
        assert.strictEqual(hpa.inputs.spec.maxReplicas, 10);
        assert.strictEqual(hpa.inputs.spec.behavior, undefined, `${hpa.name}: prod sets no scale-down window of its own`);
      }
      for (const pdb of h.ofType("kubernetes:policy/v1:PodDisruptionBudget")) assert.strictEqual(pdb.inputs.spec.minAvailable, 2, pdb.name);
    });

    it("spreads pods across zones and nodes, serves TLS and logs at info", async () => {
      for (const [name, d] of Object.entries(deployments())) {
        const keys = d.spec.template.spec.topologySpreadConstraints.map((c: any) => c.topologyKey);
        assert.deepStrictEqual(keys, ["topology.kubernetes.io/zone", "kubernetes.io/hostname"], name);
      }
      const listeners = h.named("shop-routing-gateway").inputs.spec.listeners;
      assert.deepStrictEqual(listeners.find((l: any) => l.name === "https").tls.certificateRefs, [{ group: "", kind: "Secret", name: "shop-example-com-tls" }]);
      assert.strictEqual(await h.promiseOf(out.apiUrl), "https://shop.example.com/api");
      assert.strictEqual(h.named("product-config").inputs.data.LOG_LEVEL, "info");
    });

    it("gives unpaid orders 15 minutes before they expire and release their stock", async () => {
      assert.strictEqual(h.named("order-config").inputs.data.ORDER_PAYMENT_TIMEOUT, "15m");
    });

    it("sizes the namespace quota for every service at its HPA ceiling", async () => {
      const hard = h.named("shop-quota").inputs.spec.hard;
      // 4 services x (10 + 1 surge) + 3 stores, with 50% headroom.
      assert.ok(Number(hard.pods) >= 4 * 11 + 3, `pods quota ${hard.pods}`);
      assert.strictEqual(hard.persistentvolumeclaims, "5");
    });

    it("gives prod its three Elasticsearch nodes", async () => {
      await run("prod", { "shop:monitoring": { enabled: false }, "shop:images": { prebuilt: PROMOTED } });
      const es = h.ofType("kubernetes:apps/v1:StatefulSet").find((s) => s.name.startsWith("logging-"));
      assert.ok(es, "no Elasticsearch StatefulSet");
      assert.strictEqual(es.inputs.spec.replicas, 3);
    });
  });

  describe("prod stack without promoted digests", () => {
    it("refuses to build (no daemon named) before registering anything, naming shop:docker.host", async () => {
      await assert.rejects(run("prod", OFF), /shop:docker\.host: is required when the program builds the images/);
      await h.settle();
      assert.strictEqual(h.recorded.length, 0);
    });
  });

  describe("options", () => {
    it("sets shop:delivery.progressDeadlineSeconds on every service's Deployment", async () => {
      await runLocal({ ...OFF, "shop:delivery": { progressDeadlineSeconds: 45 } });
      const d = deployments();
      for (const svc of ["gateway", "user", "product", "order"]) assert.strictEqual(d[svc].spec.progressDeadlineSeconds, 45, svc);
    });

    it("passes shop:gateway.trustedProxyHops and shop:order.paymentTimeout to the services", async () => {
      await run("dev", { ...OFF, "shop:gateway": { trustedProxyHops: 2 }, "shop:order": { paymentTimeout: "1h" } });
      assert.strictEqual(h.named("gateway-config").inputs.data.TRUSTED_PROXY_HOPS, "2");
      assert.strictEqual(h.named("order-config").inputs.data.ORDER_PAYMENT_TIMEOUT, "1h");
      assert.strictEqual(h.named("user-config").inputs.data.TRUSTED_PROXY_HOPS, undefined);
    });

    it("adds a canary gateway and weighted backendRefs on the API route for a gray release", async () => {
      const canaryImage = `registry.example.com/shop/gateway@sha256:${DIGEST("9")}`;
      await runLocal({ ...OFF, "shop:routing": { canary: { enabled: true, weight: 25, image: canaryImage } } });
      const d = deployments();
      assert.strictEqual(d["gateway-canary"].spec.template.spec.containers[0].image, canaryImage);
      assert.strictEqual(d["gateway-canary"].spec.template.metadata.labels.track, "canary");
      assert.strictEqual(d["gateway-canary"].spec.template.spec.containers[0].env.find((e: any) => e.name === VERSION_ENV).value, `sha256:${DIGEST("9")}`);
      assert.strictEqual(d.gateway.spec.template.spec.containers[0].image, PREBUILT.gateway);
      const refs = h.named("shop-routing-api").inputs.spec.rules[0].backendRefs;
      assert.deepStrictEqual(refs.map((r: any) => [r.name, r.weight]), [["gateway", 75], ["gateway-canary", 25]]);
    });

    it("uses external data stores without running any, reaching them by port only", async () => {
      await runLocal({
        ...OFF,
        "shop:dataStores": { mode: "external", mysql: { host: "db.internal" }, redis: { host: "cache.internal" }, rabbitmq: { host: "mq.internal" } },
      });
      assert.strictEqual(h.ofType("kubernetes:apps/v1:StatefulSet").filter(inShop("shop-local")).length, 0);
      const out = h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").find((p) => p.inputs.metadata.name === "allow-out-user-to-mysql")!;
      assert.deepStrictEqual(out.inputs.spec.egress[0], { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 3306 }] });
    });

    it("lets pods resolve names through the configured DNS peer (NodeLocal DNSCache by address)", async () => {
      await runLocal({ "shop:network": { dns: { cidrs: ["169.254.20.10/32", "10.96.0.10/32"] } } });
      const dns = h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((p) => p.inputs.metadata.name === "allow-dns");
      assert.strictEqual(dns.length, 2, "one DNS allow per namespace");
      for (const p of dns) {
        assert.deepStrictEqual(p.inputs.spec.egress, [{ to: [{ ipBlock: { cidr: "169.254.20.10/32" } }, { ipBlock: { cidr: "10.96.0.10/32" } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }]);
      }
    });

    it("by default lets pods resolve names only through the kube-dns pods of kube-system", async () => {
      await runLocal(OFF);
      const p = h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").find((x) => x.inputs.metadata.name === "allow-dns")!;
      assert.deepStrictEqual(p.inputs.spec.egress[0].to, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }]);
    });

    it("runs extra services on an existing binary's image with their own connection Secret", async () => {
      await runLocal({ ...OFF, "shop:services": { "order-worker": { binary: "order", replicas: 2 } } });
      const d = deployments();
      assert.strictEqual(d["order-worker"].spec.template.spec.containers[0].image, PREBUILT.order);
      assert.strictEqual(d["order-worker"].spec.template.metadata.labels["app.kubernetes.io/name"], "order");
      assert.ok(h.named("shop-data-order-worker-connection"));
      assert.strictEqual(h.ofType("shop:platform:ServiceImage").length, 4);
    });
  });

  describe("image pull credentials", () => {
    it("creates a dockerconfigjson pull Secret from the registry config and puts it on every service's ServiceAccount", async () => {
      await run("dev", { "shop:registry": { server: "registry.example.com", project: "shop", username: "ci-bot", password: "registry-token-123" } }, ["shop:registry"]);
      const pull = h.ofType("kubernetes:core/v1:Secret").filter((x) => x.inputs.type === "kubernetes.io/dockerconfigjson");
      assert.strictEqual(pull.length, 1);
      assert.ok(h.isSecretInput(pull[0].inputs.stringData), "the registry credentials are not a secret");
      const doc = JSON.parse(h.plain(pull[0].inputs.stringData)[".dockerconfigjson"]);
      const auth = doc.auths["registry.example.com"];
      assert.strictEqual(Buffer.from(auth.auth, "base64").toString(), "ci-bot:registry-token-123");
      const name = pull[0].inputs.metadata.name ?? `${pull[0].name}-auto`;
      const accounts = h.ofType("kubernetes:core/v1:ServiceAccount").filter((x) => x.inputs.metadata.namespace === "shop-dev");
      const services = Object.keys(deployments()).filter((d) => ["gateway", "user", "product", "order"].includes(d));
      assert.strictEqual(services.length, 4);
      for (const svc of services) {
        const sa = accounts.find((a) => a.inputs.metadata.name === deployments()[svc].spec.template.spec.serviceAccountName);
        assert.ok(sa, `no ServiceAccount for ${svc}`);
        assert.deepStrictEqual(sa!.inputs.imagePullSecrets, [{ name }], `${svc}'s ServiceAccount cannot pull`);
      }
    });

    it("creates none when the registry needs no credentials (the local registry)", async () => {
      await runLocal(OFF);
      assert.strictEqual(h.ofType("kubernetes:core/v1:Secret").filter((x) => x.inputs.type === "kubernetes.io/dockerconfigjson").length, 0);
      for (const sa of h.ofType("kubernetes:core/v1:ServiceAccount")) assert.strictEqual(sa.inputs.imagePullSecrets, undefined, sa.name);
    });
  });

  describe("config guards", () => {
    const guards = () => Object.fromEntries(h.ofType("pulumi-nodejs:dynamic/shop:ConfigGuard").map((g) => [g.inputs.key, g.inputs]));

    it("guards every volume size, the storage class and the MySQL and RabbitMQ passwords of a stack with in-cluster stores", async () => {
      await run("dev");
      assert.deepStrictEqual(Object.keys(guards()).sort(), [
        "shop:dataStores.mysql.storageSize", "shop:dataStores.rabbitmq.storageSize", "shop:dataStores.redis.storageSize",
        "shop:logging.elasticsearch.storageSize", "shop:monitoring.storageSize",
        "shop:secrets.mysqlPassword", "shop:secrets.rabbitmqPassword", "shop:storageClass",
      ]);
      assert.strictEqual(guards()["shop:dataStores.mysql.storageSize"].value, "2Gi");
      assert.match(guards()["shop:dataStores.mysql.storageSize"].remedy, /kubectl -n shop-dev patch pvc data-mysql-0 -p/);
      assert.match(guards()["shop:secrets.mysqlPassword"].remedy, /ALTER USER CURRENT_USER\(\)/);
      assert.match(guards()["shop:secrets.rabbitmqPassword"].remedy, /rabbitmqctl change_password shop/);
    });

    it("guards a given password by a secret fingerprint, never by the password itself", async () => {
      await runLocal();
      const g = guards()["shop:secrets.mysqlPassword"];
      assert.ok(h.isSecretInput(g.value), "the fingerprint is not a secret");
      assert.strictEqual(g.hidden, true);
      assert.match(h.plain(g.value), /^[0-9a-f]{64}$/);
      assert.ok(!JSON.stringify(h.plain(h.ofType("pulumi-nodejs:dynamic/shop:ConfigGuard").map((x) => x.inputs))).includes(SECRETS.mysqlPassword));
    });

    it("guards no store setting when the stores are external (their passwords rotate on the server)", async () => {
      await runLocal({
        ...OFF,
        "shop:dataStores": { mode: "external", mysql: { host: "db.internal" }, redis: { host: "cache.internal" }, rabbitmq: { host: "mq.internal" } },
      });
      assert.deepStrictEqual(Object.keys(guards()), []);
    });
  });
});
