import * as h from "../harness";
import { strict as assert } from "assert";
import { loadConfig } from "../../../config";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deepMerge, deriveReviewConfig, readOverrides, readStackConfig, reviewNamespace } from "../../../automation/review";
import { UsageError } from "../../../automation/errors";

const REPO = path.resolve(__dirname, "..", "..", "..");

/** A dev config shaped like Pulumi.dev.yaml. */
function devConfig(): Record<string, any> {
  return {
    "shop:environment": "dev",
    "shop:namespace": "shop-dev",
    "shop:cluster": { context: "shop-dev" },
    "shop:registry": { server: "registry.example.com", project: "shop" },
    "shop:services": {
      gateway: { replicas: 2, resources: { cpu: "50m", memory: "64Mi", cpuLimit: "250m", memoryLimit: "128Mi" }, autoscaling: { minReplicas: 2, maxReplicas: 5, cpuPercent: 70 } },
      order: { replicas: 1, resources: { cpu: "50m", memory: "64Mi", cpuLimit: "250m", memoryLimit: "128Mi" } },
    },
    "shop:routing": { host: "shop.dev.example.com", gateway: { name: "shared-gateway", namespace: "gateway-system" }, tls: { enabled: false }, canary: { enabled: true, weight: 10 } },
    "shop:dataStores": { mode: "in-cluster", mysql: { storageSize: "2Gi" }, redis: { storageSize: "1Gi" }, rabbitmq: { storageSize: "1Gi" } },
    "shop:monitoring": { enabled: true, retention: "3d", storageSize: "5Gi", grafanaPath: "/grafana" },
    "shop:logging": { enabled: true, retentionDays: 3, elasticsearch: { replicas: 2, storageSize: "5Gi", memory: "2Gi" }, kibanaPath: "/kibana" },
  };
}

describe("review stack config", () => {
  it("gets its own namespace suffix and routing host", () => {
    const { config } = deriveReviewConfig(devConfig(), 42);
    assert.equal(config["shop:namespace"], "shop-dev-pr-42");
    assert.equal((config["shop:routing"] as any).host, "pr-42.shop.dev.example.com");
    assert.equal((config["shop:routing"] as any).canary.enabled, false);
  });

  it("runs one replica per service and no autoscaler", () => {
    const services = deriveReviewConfig(devConfig(), 7).config["shop:services"] as any;
    for (const name of ["gateway", "order"]) {
      assert.equal(services[name].replicas, 1, name);
      assert.equal(services[name].autoscaling, undefined, name);
      assert.equal(services[name].resources.cpu, "50m", name);
    }
  });

  it("turns monitoring and logging off and uses the smallest volumes", () => {
    const { config } = deriveReviewConfig(devConfig(), 7);
    assert.equal((config["shop:monitoring"] as any).enabled, false);
    assert.equal((config["shop:logging"] as any).enabled, false);
    const stores = config["shop:dataStores"] as any;
    assert.deepEqual([stores.mysql.storageSize, stores.redis.storageSize, stores.rabbitmq.storageSize], ["1Gi", "1Gi", "1Gi"]);
    assert.equal((config["shop:monitoring"] as any).storageSize, "1Gi");
    assert.deepEqual((config["shop:logging"] as any).elasticsearch, { replicas: 1, storageSize: "1Gi", memory: "2Gi" });
  });

  it("keeps the dev values it does not shrink and leaves the input untouched", () => {
    const dev = devConfig();
    const { config } = deriveReviewConfig(dev, 7);
    assert.equal(config["shop:environment"], "dev");
    assert.deepEqual(config["shop:registry"], dev["shop:registry"]);
    assert.equal(dev["shop:namespace"], "shop-dev");
    assert.equal(dev["shop:services"].gateway.replicas, 2);
  });

  it("applies overrides last: objects merge, null removes, shop: prefix optional", () => {
    const { config } = deriveReviewConfig(devConfig(), 7, {
      "shop:cluster": null,
      registry: { server: "127.0.0.1:5000" },
      "shop:images": { prebuilt: { gateway: "127.0.0.1:5000/shop/gateway@sha256:" + "a".repeat(64) } },
      "shop:routing": { canary: null },
    });
    assert.equal(config["shop:cluster"], undefined);
    assert.deepEqual(config["shop:registry"], { server: "127.0.0.1:5000", project: "shop" });
    assert.ok((config["shop:images"] as any).prebuilt.gateway.endsWith("a".repeat(64)));
    assert.equal((config["shop:routing"] as any).canary, undefined);
  });

  it("stores shop:secrets and password/kubeconfig-bearing keys as secrets", () => {
    const { secretKeys } = deriveReviewConfig(devConfig(), 7, {
      "shop:secrets": { jwtKey: "k".repeat(32) },
      "shop:registry": { password: "token" },
    });
    assert.deepEqual(secretKeys, ["shop:registry", "shop:secrets"]);
    assert.deepEqual(deriveReviewConfig(devConfig(), 7).secretKeys, []);
  });

  it("refuses dev values encrypted for the dev stack unless the overrides replace them", () => {
    const dev = { ...devConfig(), "shop:registry": { server: "r", project: "p", password: { secure: "v1:abc" } } };
    assert.throws(() => deriveReviewConfig(dev, 7), (e: unknown) => e instanceof UsageError && /shop:registry is encrypted for the dev stack: give the value in --overrides/.test(e.message));
    const ok = deriveReviewConfig(dev, 7, { "shop:registry": { password: "plain" } });
    assert.deepEqual(ok.config["shop:registry"], { server: "r", project: "p", password: "plain" });
    assert.deepEqual(ok.secretKeys, ["shop:registry"]);
  });

  it("needs a namespace in the dev config", () => {
    const dev = devConfig();
    delete dev["shop:namespace"];
    assert.throws(() => deriveReviewConfig(dev, 1), /has no shop:namespace/);
  });

  it("keeps long namespaces within a DNS label", () => {
    const ns = reviewNamespace("a".repeat(70), 123456);
    assert.equal(ns.length, 63);
    assert.ok(ns.endsWith("-pr-123456"));
  });

  it("derives a config from the repo's Pulumi.dev.yaml that the program's loader accepts", async () => {
    const { config, secretKeys } = deriveReviewConfig(readStackConfig(path.join(REPO, "Pulumi.dev.yaml")), 3);
    await h.reset("pr-3", config, secretKeys);
    const cfg = loadConfig();
    assert.equal(cfg.namespace, `${readStackConfig(path.join(REPO, "Pulumi.dev.yaml"))["shop:namespace"]}-pr-3`);
    assert.equal(cfg.monitoring.enabled, false);
    assert.equal(cfg.logging.enabled, false);
    for (const svc of Object.values(cfg.services)) {
      assert.equal(svc.replicas, 1);
      assert.equal(svc.autoscaling, undefined);
    }
  });

  it("merges deeply without sharing structure with the override", () => {
    const over = { a: { b: 1 } };
    const merged = deepMerge({ a: { c: 2 } }, over) as any;
    assert.deepEqual(merged, { a: { c: 2, b: 1 } });
  });
});

describe("overrides file", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "overrides-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const write = (text: string) => {
    const f = path.join(dir, `o${++n}.yaml`);
    fs.writeFileSync(f, text);
    return f;
  };
  it("reads a YAML map of config keys, also under config:", () => {
    assert.deepEqual(readOverrides(write("shop:storageClass: local-storage\n")), { "shop:storageClass": "local-storage" });
    assert.deepEqual(readOverrides(write("config:\n  shop:storageClass: x\n")), { "shop:storageClass": "x" });
  });
  it("rejects a missing file, bad YAML, a list and keys of another namespace", () => {
    assert.throws(() => readOverrides("/nonexistent/o.yaml"), /does not exist/);
    assert.throws(() => readOverrides(write("a: [1,\n")), /is not valid YAML/);
    assert.throws(() => readOverrides(write("- a\n- b\n")), /must be a YAML map/);
    assert.throws(() => readOverrides(write("aws:region: x\n")), /key 'aws:region' is not in the 'shop:' namespace/);
  });
});
