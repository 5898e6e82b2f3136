import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { DataStores, DataStoresArgs } from "../../components/data-stores";

const consumers = { user: ["mysql"], product: ["mysql", "redis"], order: ["mysql", "rabbitmq"], gateway: [] } as const;

async function deploy(over: Partial<DataStoresArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const stores = new DataStores("data", {
    namespace: "shop-test",
    provider,
    mode: "in-cluster",
    storageClass: "fast",
    mysql: { storageSize: "2Gi", database: "shop", user: "shop" },
    redis: { storageSize: "1Gi" },
    rabbitmq: { storageSize: "3Gi", user: "shop", vhost: "/" },
    consumers,
    ...over,
  });
  await h.settle();
  return stores;
}
const sts = () => Object.fromEntries(h.ofType("kubernetes:apps/v1:StatefulSet").map((s) => [s.inputs.metadata.name, s.inputs.spec]));
const given = { mysql: pulumi.secret("given-mysql-pw-123"), redis: pulumi.secret("given-redis-pw-123"), rabbitmq: pulumi.secret("given-mq-pw-12345") };

describe("DataStores", () => {
  it("runs MySQL, Redis and RabbitMQ as StatefulSets with claims of the configured class and size", async () => {
    await deploy();
    const s = sts();
    assert.deepStrictEqual(Object.keys(s).sort(), ["mysql", "rabbitmq", "redis"]);
    const claim = (n: string) => s[n].volumeClaimTemplates[0].spec;
    assert.strictEqual(claim("mysql").storageClassName, "fast");
    assert.strictEqual(claim("mysql").resources.requests.storage, "2Gi");
    assert.strictEqual(claim("rabbitmq").resources.requests.storage, "3Gi");
  });

  it("deletes the claims with the StatefulSet but keeps them on scale-down", async () => {
    await deploy();
    for (const spec of Object.values<any>(sts())) {
      assert.deepStrictEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Delete", whenScaled: "Retain" });
    }
  });

  it("pins third-party images to exact tags and runs them non-root with requests, limits and probes", async () => {
    await deploy();
    for (const [name, spec] of Object.entries<any>(sts())) {
      const c = spec.template.spec.containers[0];
      assert.match(c.image, /^[a-z]+:\d+\.\d+\.\d+(-alpine)?$/, `${name} image ${c.image}`);
      assert.strictEqual(spec.template.spec.securityContext.runAsNonRoot, true);
      assert.strictEqual(spec.template.spec.securityContext.runAsUser, 999);
      assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"]);
      assert.ok(c.resources.requests.memory && c.resources.limits.memory, `${name} resources`);
      assert.ok(c.livenessProbe && c.readinessProbe && c.startupProbe, `${name} probes`);
    }
  });

  it("generates every password with @pulumi/random as a secret when none is given", async () => {
    const stores = await deploy();
    const randoms = h.ofType("random:index/randomPassword:RandomPassword");
    assert.deepStrictEqual(randoms.map((r) => r.name).sort(), ["data-mysql-password", "data-rabbitmq-password", "data-redis-password"]);
    for (const k of ["mysql", "redis", "rabbitmq"] as const) assert.ok(await h.isSecret(stores.passwords[k]), `${k} password not secret`);
  });

  it("creates no random resource when every password is given", async () => {
    const stores = await deploy({ passwords: given });
    assert.strictEqual(h.ofType("random:index/randomPassword:RandomPassword").length, 0);
    assert.strictEqual(await h.promiseOf(stores.passwords.redis), "given-redis-pw-123");
  });

  it("gives each consuming service one connection Secret with exactly its env, as a secret", async () => {
    const stores = await deploy({ passwords: given });
    assert.deepStrictEqual(Object.keys(stores.connectionSecrets).sort(), ["order", "product", "user"]);
    const product = h.named("data-product-connection").inputs;
    assert.ok(h.isSecretInput(product.stringData));
    assert.deepStrictEqual(h.plain(product.stringData), {
      MYSQL_HOST: "mysql.shop-test.svc.cluster.local", MYSQL_PORT: "3306", MYSQL_USER: "shop", MYSQL_PASSWORD: "given-mysql-pw-123", MYSQL_DATABASE: "shop",
      REDIS_ADDR: "redis.shop-test.svc.cluster.local:6379", REDIS_PASSWORD: "given-redis-pw-123",
    });
    const order = h.plain(h.named("data-order-connection").inputs.stringData);
    assert.deepStrictEqual(Object.keys(order).sort(), ["MYSQL_DATABASE", "MYSQL_HOST", "MYSQL_PASSWORD", "MYSQL_PORT", "MYSQL_USER",
      "RABBITMQ_HOST", "RABBITMQ_PASSWORD", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_VHOST"]);
  });

  it("keeps passwords out of the pod specs (env comes from secretKeyRef)", async () => {
    await deploy({ passwords: given });
    const text = JSON.stringify(h.ofType("kubernetes:apps/v1:StatefulSet").map((s) => s.inputs));
    assert.ok(!text.includes("given-"), "a password appears in a StatefulSet");
    const mysqlEnv = sts().mysql.template.spec.containers[0].env;
    assert.ok(mysqlEnv.find((e: any) => e.name === "MYSQL_PASSWORD").valueFrom.secretKeyRef);
  });

  it("connects to external endpoints without running any store", async () => {
    await deploy({
      mode: "external",
      mysql: { storageSize: "1Gi", host: "db.internal", port: 3307, database: "shop", user: "app" },
      redis: { storageSize: "1Gi", host: "cache.internal" },
      rabbitmq: { storageSize: "1Gi", host: "mq.internal", user: "app", vhost: "shop" },
      passwords: given,
    });
    assert.strictEqual(h.ofType("kubernetes:apps/v1:StatefulSet").length, 0);
    const user = h.plain(h.named("data-user-connection").inputs.stringData);
    assert.strictEqual(user.MYSQL_HOST, "db.internal");
    assert.strictEqual(user.MYSQL_PORT, "3307");
  });

  it("refuses external mode without a password", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    assert.throws(() => new DataStores("x", {
      namespace: "n", provider, mode: "external", storageClass: "s", consumers,
      mysql: { storageSize: "1Gi", host: "db", database: "d", user: "u" }, redis: { storageSize: "1Gi", host: "r" },
      rabbitmq: { storageSize: "1Gi", host: "m", user: "u", vhost: "/" },
      passwords: { mysql: "p", redis: "p" },
    }), /DataStores x: passwords\.rabbitmq is required in external mode/);
  });
});
