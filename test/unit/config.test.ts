import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, DEFAULT_PROGRESS_DEADLINE_SECONDS, loadConfig } from "../../config";

const DIGEST = "a".repeat(64);
const prebuilt = Object.fromEntries(["gateway", "user", "product", "order"].map((s) => [s, `127.0.0.1:5000/shop/${s}@sha256:${DIGEST}`]));
/** A stack that builds its images must name the daemon that builds them. */
const DAEMON = { docker: { host: "unix:///var/run/docker.sock" } };

/** Loads `config` and returns the problem lines it was rejected with. */
async function problems(config: Record<string, unknown>, secretKeys: string[] = []): Promise<string[]> {
  await h.reset("dev", config, secretKeys);
  try {
    loadConfig();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail(`config ${JSON.stringify(config)} was accepted`);
}

/** Asserts exactly one problem, naming `key` and matching `what`. */
async function rejects(config: Record<string, unknown>, key: string, what: RegExp, secretKeys: string[] = []) {
  const p = await problems(config, secretKeys);
  const line = p.find((l) => l.startsWith(`${key}:`));
  assert.ok(line, `no problem about ${key}; got:\n${p.join("\n")}`);
  assert.match(line, what);
}

describe("config", () => {
  describe("defaults", () => {
    it("deploys the local stack from a config that names only the Docker daemon", async () => {
      await h.reset("local", DAEMON);
      const cfg = loadConfig();
      assert.strictEqual(cfg.environment, "local");
      assert.strictEqual(cfg.namespace, "shop-local");
      assert.strictEqual(cfg.registry.server, "127.0.0.1:5000");
      assert.strictEqual(cfg.storageClass, "local-storage");
      assert.deepStrictEqual(Object.keys(cfg.services).sort(), ["gateway", "order", "product", "user"]);
      assert.ok(cfg.monitoring.enabled && cfg.logging.enabled);
      for (const size of [cfg.dataStores.mysql.storageSize, cfg.dataStores.redis.storageSize, cfg.dataStores.rabbitmq.storageSize,
        cfg.monitoring.storageSize, cfg.logging.elasticsearch.storageSize]) {
        assert.strictEqual(size, "1Gi");
      }
    });

    it("gives unpaid orders 15 minutes and trusts one proxy hop unless a stack says otherwise", async () => {
      await h.reset("prod", DAEMON);
      const cfg = loadConfig();
      assert.strictEqual(cfg.order.paymentTimeout, "15m");
      assert.strictEqual(cfg.gateway.trustedProxyHops, 1);
    });

    it("returns a deep-frozen object", async () => {
      await h.reset("local", DAEMON);
      const cfg = loadConfig();
      assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.services.gateway.resources) && Object.isFrozen(cfg.routing.tls));
      assert.throws(() => { (cfg.services.gateway as any).replicas = 9; }, TypeError);
    });

    it("fills in the four services with defaults when a stack configures only some", async () => {
      await h.reset("dev", { ...DAEMON, services: { gateway: { replicas: 2 } } });
      const cfg = loadConfig();
      assert.strictEqual(cfg.services.gateway.replicas, 2);
      assert.strictEqual(cfg.services.order.replicas, 1);
      assert.strictEqual(cfg.services.order.binary, "order");
    });

    it("accepts extra services that name the binary they run", async () => {
      await h.reset("dev", { ...DAEMON, services: { "order-worker": { binary: "order", replicas: 2 } } });
      assert.strictEqual(loadConfig().services["order-worker"].binary, "order");
    });
  });

  describe("committed stack files", () => {
    it("loads Pulumi.local.yaml as the local stack, with the daemon address the harness adds", async () => {
      const { config, secretKeys } = h.stackFile("local");
      await h.reset("local", { ...config, "shop:docker": { host: "unix:///home/ci/.cache/shop-platform/run/docker.sock" } }, secretKeys);
      const cfg = loadConfig();
      assert.strictEqual(cfg.environment, "local");
      assert.strictEqual(cfg.registry.server, "127.0.0.1:5000");
      assert.strictEqual(cfg.order.paymentTimeout, "2m", "the local stack expires unpaid orders quickly");
    });

    it("loads Pulumi.dev.yaml: one replica, no HPA, debug logs, in-cluster stores", async () => {
      const { config, secretKeys } = h.stackFile("dev");
      await h.reset("dev", config, secretKeys);
      const cfg = loadConfig();
      assert.strictEqual(cfg.logLevel, "debug");
      assert.strictEqual(cfg.dataStores.mode, "in-cluster");
      for (const s of Object.values(cfg.services)) {
        assert.strictEqual(s.replicas, 1);
        assert.strictEqual(s.autoscaling, undefined);
      }
    });

    it("loads Pulumi.prod.yaml: 3 replicas, HPA 3..10, PDB 2, TLS, info logs", async () => {
      const { config, secretKeys } = h.stackFile("prod");
      // Prod deploys digests promoted from dev.
      await h.reset("prod", { ...config, "shop:images": { prebuilt } }, secretKeys);
      const cfg = loadConfig();
      assert.strictEqual(cfg.logLevel, "info");
      assert.ok(cfg.routing.tls.enabled);
      assert.strictEqual(cfg.logging.elasticsearch.replicas, 3);
      for (const s of Object.values(cfg.services)) {
        assert.strictEqual(s.replicas, 3);
        assert.deepStrictEqual({ ...s.autoscaling }, { minReplicas: 3, maxReplicas: 10, cpuPercent: 70 });
        assert.strictEqual(s.minAvailable, 2);
      }
    });

    it("keeps no secret in the committed dev and prod files", () => {
      for (const stack of ["dev", "prod", "local"]) {
        const { config, secretKeys } = h.stackFile(stack);
        assert.deepStrictEqual(secretKeys, []);
        assert.ok(!("shop:secrets" in config), `Pulumi.${stack}.yaml sets shop:secrets`);
        assert.strictEqual((config["shop:registry"] as any)?.password, undefined);
      }
    });
  });

  describe("delivery", () => {
    it("gives a rollout 120 seconds without progress unless a stack says otherwise", async () => {
      await h.reset("dev", { images: { prebuilt } });
      assert.strictEqual(loadConfig().delivery.progressDeadlineSeconds, DEFAULT_PROGRESS_DEADLINE_SECONDS);
      assert.strictEqual(DEFAULT_PROGRESS_DEADLINE_SECONDS, 120);
      await h.reset("dev", { images: { prebuilt }, delivery: { progressDeadlineSeconds: 300 } });
      assert.strictEqual(loadConfig().delivery.progressDeadlineSeconds, 300);
    });

    for (const [value, what] of [
      [10, /must be at least 30 .*got 10 \(e\.g\. 300\)/],
      [7200, /must be at most 3600/],
      [90.5, /expected int, got 90\.5/],
      ["2m", /expected number, got "2m"/],
    ] as const) {
      it(`rejects progressDeadlineSeconds ${JSON.stringify(value)} naming the key`, async () => {
        await rejects({ images: { prebuilt }, delivery: { progressDeadlineSeconds: value } }, "shop:delivery.progressDeadlineSeconds", what);
      });
    }

    it("refuses SERVICE_VERSION in a service's env: the program sets it from the image", async () => {
      await rejects({ images: { prebuilt }, services: { product: { env: { SERVICE_VERSION: "v2" } } } }, "shop:services.product.env.SERVICE_VERSION", /cannot be set here: the program sets it to the digest of the image/);
    });
  });

  describe("image builds", () => {
    it("refuses a stack that builds its images without shop:docker.host, naming the key and the fix", async () => {
      await rejects({}, "shop:docker.host", /is required when the program builds the images \(no shop:images\.prebuilt\).*e\.g\. unix:\/\/\/var\/run\/docker\.sock/);
    });

    it("needs no daemon when every image is prebuilt", async () => {
      await h.reset("dev", { images: { prebuilt } });
      assert.strictEqual(loadConfig().docker.host, undefined);
    });

    it("reads the build's network, platform and extra build args", async () => {
      await h.reset("dev", { ...DAEMON, images: { build: { network: "default", platform: "linux/arm64", args: { GOPROXY: "https://proxy.example.com" } } } });
      const b = loadConfig().images.build;
      assert.deepStrictEqual({ network: b.network, platform: b.platform, args: { ...b.args } }, { network: "default", platform: "linux/arm64", args: { GOPROXY: "https://proxy.example.com" } });
      assert.strictEqual(b.cacheFrom, undefined);
    });

    it("builds on the host network by default (the local engine has no bridge)", async () => {
      await h.reset("local", DAEMON);
      assert.strictEqual(loadConfig().images.build.network, "host");
    });

    it("rejects an unknown build network", async () => {
      await rejects({ ...DAEMON, images: { build: { network: "bridge" } } }, "shop:images.build.network", /must be host, default or none/);
    });

    it("refuses the inline-cache build arg and the args the program sets", async () => {
      const p = await problems({ ...DAEMON, images: { build: { args: { BUILDKIT_INLINE_CACHE: "1", SERVICE: "user" } } } });
      assert.ok(p.some((l) => /^shop:images\.build\.args\.BUILDKIT_INLINE_CACHE: .*every digest/.test(l)), p.join("\n"));
      assert.ok(p.some((l) => /^shop:images\.build\.args\.SERVICE: /.test(l)), p.join("\n"));
    });

    it("rejects a cache image that does not say where each service's cache is", async () => {
      await rejects({ ...DAEMON, images: { build: { cacheFrom: "registry.example.com/shop/cache:latest" } } }, "shop:images.build.cacheFrom", /\{service\}/);
    });

    it("rejects a daemon address without a scheme", async () => {
      await rejects({ docker: { host: "/var/run/docker.sock" } }, "shop:docker.host", /unix:\/\//);
    });

    it("names the daemon in every committed stack that builds, and in none that must not build", () => {
      const host = (stack: string) => (h.stackFile(stack).config["shop:docker"] as any)?.host;
      assert.strictEqual(host("dev"), "unix:///var/run/docker.sock");
      // The local engine's socket lives in the machine's cache: the harness's generated copy names it.
      assert.strictEqual(host("local"), undefined);
      assert.strictEqual((h.stackFile("local").config["shop:images"] as any).build.network, "host");
      // Prod deploys promoted digests only.
      assert.strictEqual(host("prod"), undefined);
    });

    for (const stack of ["local", "prod"]) {
      it(`refuses the committed ${stack} file alone, which builds with no daemon, naming shop:docker.host`, async () => {
        const { config, secretKeys } = h.stackFile(stack);
        await h.reset(stack, config, secretKeys);
        assert.throws(() => loadConfig(), (e: unknown) => e instanceof ConfigError && e.problems.some((l) => l.startsWith("shop:docker.host: is required")));
      });
    }
  });

  describe("secrets", () => {
    it("wraps shop:secrets values in Pulumi secrets", async () => {
      await h.reset("dev", { ...DAEMON, secrets: { jwtKey: "k".repeat(40), mysqlPassword: "p".repeat(16) } }, ["secrets"]);
      const cfg = loadConfig();
      assert.ok(await h.isSecret(cfg.secrets.jwtKey!));
      assert.strictEqual(await h.promiseOf(cfg.secrets.mysqlPassword!), "p".repeat(16));
      assert.strictEqual(cfg.secrets.redisPassword, undefined);
    });

    it("wraps the registry password and the kubeconfig in Pulumi secrets", async () => {
      await h.reset("dev", { ...DAEMON, registry: { server: "registry.example.com", project: "shop", username: "ci", password: "tok" }, cluster: { kubeconfig: "apiVersion: v1" } }, ["registry", "cluster"]);
      const cfg = loadConfig();
      assert.ok(await h.isSecret(cfg.registry.password!));
      assert.ok(await h.isSecret(cfg.cluster.kubeconfig!));
      assert.strictEqual(cfg.registry.username, "ci");
    });

    it("rejects shop:secrets given as plain config, telling how to set it", async () => {
      await rejects({ secrets: { jwtKey: "k".repeat(40) } }, "shop:secrets", /pulumi config set --secret/);
    });

    it("rejects a plain-text registry password", async () => {
      await rejects({ registry: { username: "ci", password: "tok" } }, "shop:registry.password", /not secret config.*--secret/);
    });

    it("never echoes a secret value in an error", async () => {
      const p = await problems({ secrets: { jwtKey: "tooshort-but-secret" } }, ["secrets"]);
      assert.ok(p.some((l) => l.startsWith("shop:secrets.jwtKey:") && /at least 32/.test(l)));
      assert.ok(!p.join("\n").includes("tooshort-but-secret"));
    });
  });

  describe("bad config", () => {
    it("rejects replicas: 'three' naming the key", async () => {
      await rejects({ services: { gateway: { replicas: "three" } } }, "shop:services.gateway.replicas", /expected number, got "three" \(e\.g\. \d+\)/);
    });

    it("rejects a typo in a top-level key and suggests the right one", async () => {
      await rejects({ logLevell: "info" }, "shop:logLevell", /unknown key; did you mean shop:logLevel\?/);
    });

    it("rejects a typo in a nested key and suggests the right one", async () => {
      await rejects({ routing: { tls: { enable: true } } }, "shop:routing.tls.enable", /did you mean shop:routing\.tls\.enabled\?/);
    });

    it("rejects a namespace that is not a DNS label", async () => {
      await rejects({ namespace: "Shop_Dev" }, "shop:namespace", /DNS label.*got "Shop_Dev".*e\.g\. shop-dev/);
    });

    it("rejects an unknown environment", async () => {
      await rejects({ environment: "staging" }, "shop:environment", /one of local, dev, prod/);
    });

    it("rejects a prebuilt image without a digest", async () => {
      await rejects({ images: { prebuilt: { ...prebuilt, user: "127.0.0.1:5000/shop/user:latest" } } }, "shop:images.prebuilt.user", /pinned by digest.*@sha256:/);
    });

    it("rejects prebuilt images that leave a service out", async () => {
      const { order: _o, ...three } = prebuilt;
      await rejects({ images: { prebuilt: three } }, "shop:images.prebuilt.order", /expected string, got nothing/);
    });

    it("rejects requests above limits", async () => {
      await rejects({ services: { user: { resources: { memory: "512Mi", memoryLimit: "256Mi" } } } }, "shop:services.user.resources.memoryLimit", /at least the request memory \(512Mi\)/);
    });

    it("rejects a CPU quantity in the wrong unit", async () => {
      await rejects({ services: { user: { resources: { cpu: "100 millicores" } } } }, "shop:services.user.resources.cpu", /CPU quantity/);
    });

    it("rejects autoscaling with minReplicas above maxReplicas", async () => {
      await rejects({ services: { order: { autoscaling: { minReplicas: 5, maxReplicas: 3 } } } }, "shop:services.order.autoscaling.maxReplicas", /at least minReplicas \(5\)/);
    });

    it("takes an HPA scale-down window of 0 to 3600 whole seconds", async () => {
      await h.reset("dev", { ...DAEMON, services: { product: { autoscaling: { minReplicas: 1, maxReplicas: 3, scaleDownStabilizationSeconds: 20 } } } });
      assert.strictEqual(loadConfig().services.product.autoscaling?.scaleDownStabilizationSeconds, 20);
      await rejects({ services: { product: { autoscaling: { minReplicas: 1, maxReplicas: 3, scaleDownStabilizationSeconds: 7200 } } } },
        "shop:services.product.autoscaling.scaleDownStabilizationSeconds", /at most 3600 .*leave it out for Kubernetes' default of 300/);
      await rejects({ services: { product: { autoscaling: { minReplicas: 1, maxReplicas: 3, scaleDownStabilizationSeconds: -5 } } } },
        "shop:services.product.autoscaling.scaleDownStabilizationSeconds", /at least 0/);
      await rejects({ services: { product: { autoscaling: { minReplicas: 1, maxReplicas: 3, scaleDownStabilizationSeconds: "30s" } } } },
        "shop:services.product.autoscaling.scaleDownStabilizationSeconds", /expected number, got "30s" \(e\.g\. 300\)/);
    });

    it("rejects a PodDisruptionBudget that blocks every eviction", async () => {
      await rejects({ services: { order: { replicas: 2, minAvailable: 2 } } }, "shop:services.order.minAvailable", /below the replica floor/);
    });

    it("rejects a canary weight above 100", async () => {
      await rejects({ routing: { canary: { enabled: true, weight: 150 } } }, "shop:routing.canary.weight", /<=100/);
    });

    it("rejects a registry server with a scheme", async () => {
      await rejects({ registry: { server: "https://registry.example.com" } }, "shop:registry.server", /without a scheme/);
    });

    it("rejects a registry username without a password", async () => {
      await rejects({ registry: { username: "ci" } }, "shop:registry.password", /give both or neither/);
    });

    it("rejects setting a secret env var through plain service env", async () => {
      await rejects({ services: { user: { env: { JWT_SECRET: "plain" } } } }, "shop:services.user.env.JWT_SECRET", /shop:secrets/);
    });

    it("rejects a payment timeout that is not a Go duration from 1s to 168h, naming shop:order.paymentTimeout", async () => {
      await rejects({ order: { paymentTimeout: "15 minutes" } }, "shop:order.paymentTimeout", /Go duration from 1s to 168h.*e\.g\. 15m/);
      await rejects({ order: { paymentTimeout: "500ms" } }, "shop:order.paymentTimeout", /from 1s to 168h/);
      await rejects({ order: { paymentTimeout: "200h" } }, "shop:order.paymentTimeout", /from 1s to 168h/);
    });

    it("rejects a trusted proxy hop count that is negative, fractional or above 10", async () => {
      for (const bad of [-1, 1.5, 11]) await rejects({ gateway: { trustedProxyHops: bad } }, "shop:gateway.trustedProxyHops", /expected int|at least 0|at most 10/);
    });

    it("rejects the payment timeout, proxy hops and timeout budgets as service env, saying where they are set", async () => {
      await rejects({ services: { order: { env: { ORDER_PAYMENT_TIMEOUT: "30s" } } } }, "shop:services.order.env.ORDER_PAYMENT_TIMEOUT", /set shop:order\.paymentTimeout/);
      await rejects({ services: { gateway: { env: { TRUSTED_PROXY_HOPS: "2" } } } }, "shop:services.gateway.env.TRUSTED_PROXY_HOPS", /set shop:gateway\.trustedProxyHops/);
      for (const k of ["UPSTREAM_TIMEOUT", "REQUEST_TIMEOUT", "PRODUCT_TIMEOUT"]) {
        await rejects({ services: { gateway: { env: { [k]: "60s" } } } }, `shop:services.gateway.env.${k}`, /request-budgets/);
      }
    });

    it("rejects external data stores without hosts", async () => {
      await rejects({ dataStores: { mode: "external" } }, "shop:dataStores.mysql.host", /required when mode is external/);
    });

    it("rejects external data stores without their passwords", async () => {
      const stores = { mode: "external", mysql: { host: "db" }, redis: { host: "cache" }, rabbitmq: { host: "mq" } };
      await rejects({ dataStores: stores }, "shop:secrets.mysqlPassword", /required when shop:dataStores\.mode is external/);
    });

    it("rejects an extra service that does not say which binary it runs", async () => {
      await rejects({ services: { worker: { replicas: 1 } } }, "shop:services.worker.binary", /required for a service not named after a binary/);
    });

    it("rejects a structured key given as a plain string", async () => {
      await rejects({ monitoring: "on" }, "shop:monitoring", /expected a YAML mapping/);
    });

    it("rejects a volume size without a binary suffix", async () => {
      await rejects({ dataStores: { mysql: { storageSize: "10GB" } } }, "shop:dataStores.mysql.storageSize", /binary suffix.*e\.g\. 1Gi/);
    });

    it("reports every problem at once, one line each", async () => {
      const p = await problems({ namespace: "BAD", logLevel: "loud", services: { gateway: { replicas: 0 } }, storageclass: "x" });
      assert.strictEqual(p.length, 4, p.join("\n"));
      for (const key of ["shop:namespace:", "shop:logLevel:", "shop:services.gateway.replicas:", "shop:storageclass:"]) {
        assert.ok(p.some((l) => l.startsWith(key)), `missing ${key}`);
      }
    });

    it("ignores other namespaces' keys", async () => {
      await h.reset("dev", { ...DAEMON, "kubernetes:context": "x", "pulumi:tags": "{}" });
      assert.doesNotThrow(() => loadConfig());
    });
  });

  it("exposes the stack name", async () => {
    await h.reset("dev", DAEMON);
    assert.strictEqual(loadConfig().stack, pulumi.getStack());
  });
});
