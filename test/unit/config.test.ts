import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "../../config";

const DIGEST = "a".repeat(64);
const prebuilt = Object.fromEntries(["gateway", "user", "product", "order"].map((s) => [s, `127.0.0.1:5000/shop/${s}@sha256:${DIGEST}`]));

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
    it("deploys the local stack from an empty config", async () => {
      await h.reset("local", {});
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

    it("returns a deep-frozen object", async () => {
      await h.reset("local", {});
      const cfg = loadConfig();
      assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.services.gateway.resources) && Object.isFrozen(cfg.routing.tls));
      assert.throws(() => { (cfg.services.gateway as any).replicas = 9; }, TypeError);
    });

    it("fills in the four services with defaults when a stack configures only some", async () => {
      await h.reset("dev", { services: { gateway: { replicas: 2 } } });
      const cfg = loadConfig();
      assert.strictEqual(cfg.services.gateway.replicas, 2);
      assert.strictEqual(cfg.services.order.replicas, 1);
      assert.strictEqual(cfg.services.order.binary, "order");
    });

    it("accepts extra services that name the binary they run", async () => {
      await h.reset("dev", { services: { "order-worker": { binary: "order", replicas: 2 } } });
      assert.strictEqual(loadConfig().services["order-worker"].binary, "order");
    });
  });

  describe("committed stack files", () => {
    it("loads Pulumi.local.yaml as the local stack", async () => {
      const { config, secretKeys } = h.stackFile("local");
      await h.reset("local", config, secretKeys);
      const cfg = loadConfig();
      assert.strictEqual(cfg.environment, "local");
      assert.strictEqual(cfg.registry.server, "127.0.0.1:5000");
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
      await h.reset("prod", config, secretKeys);
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

  describe("secrets", () => {
    it("wraps shop:secrets values in Pulumi secrets", async () => {
      await h.reset("dev", { secrets: { jwtKey: "k".repeat(40), mysqlPassword: "p".repeat(16) } }, ["secrets"]);
      const cfg = loadConfig();
      assert.ok(await h.isSecret(cfg.secrets.jwtKey!));
      assert.strictEqual(await h.promiseOf(cfg.secrets.mysqlPassword!), "p".repeat(16));
      assert.strictEqual(cfg.secrets.redisPassword, undefined);
    });

    it("wraps the registry password and the kubeconfig in Pulumi secrets", async () => {
      await h.reset("dev", { registry: { server: "registry.example.com", project: "shop", username: "ci", password: "tok" }, cluster: { kubeconfig: "apiVersion: v1" } }, ["registry", "cluster"]);
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
      await h.reset("dev", { "kubernetes:context": "x", "pulumi:tags": "{}" });
      assert.doesNotThrow(() => loadConfig());
    });
  });

  it("exposes the stack name", async () => {
    await h.reset("dev", {});
    assert.strictEqual(loadConfig().stack, pulumi.getStack());
  });
});
