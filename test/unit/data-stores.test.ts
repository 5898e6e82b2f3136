import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DataStores, DataStoresArgs } from "../../components/data-stores";

/**
 * The user each pinned upstream image is built to run as (its Dockerfile): the owner its entrypoint
 * expects of the data directory. Keyed by image reference, so bumping an image means checking this.
 */
const IMAGE_USERS: Record<string, { uid: number; gid: number }> = {
  "mysql:8.4.6": { uid: 999, gid: 999 }, // groupadd --gid 999 mysql; useradd --uid 999 --gid 999 mysql
  "redis:7.4.6-alpine": { uid: 999, gid: 1000 }, // addgroup -g 1000 redis; adduser -u 999 -G redis redis
  "rabbitmq:4.1.4-alpine": { uid: 100, gid: 101 }, // addgroup -g 101 rabbitmq; adduser -u 100 -G rabbitmq rabbitmq
};

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

  it("keeps the claims (and the data) when a StatefulSet is deleted, replaced or scaled down", async () => {
    await deploy();
    for (const spec of Object.values<any>(sts())) {
      assert.deepStrictEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
    }
  });

  it("runs each store as the user its image is built for, with its claim group-owned and writable by that user", async () => {
    await deploy();
    for (const [name, spec] of Object.entries<any>(sts())) {
      const pod = spec.template.spec;
      const image = pod.containers[0].image;
      const user = IMAGE_USERS[image];
      assert.ok(user, `${name}: ${image} is not a reviewed image; add the user its Dockerfile creates to IMAGE_USERS`);
      assert.strictEqual(pod.securityContext.runAsUser, user.uid, `${name} runs as another user than ${image}'s`);
      assert.strictEqual(pod.securityContext.runAsGroup, user.gid, `${name} runs in another group than ${image}'s`);
      // fsGroup makes the kubelet give the claim to this group with group write: the process can write it.
      assert.strictEqual(pod.securityContext.fsGroup, user.gid, `${name}: the claim is not owned by the process's group`);
      assert.ok(pod.containers[0].volumeMounts.some((m: any) => m.name === "data"), `${name} does not mount its claim`);
    }
  });

  it("keeps MySQL's data directory in a subdirectory of its claim, so lost+found on a fresh disk cannot block initialisation", async () => {
    await deploy();
    const c = sts().mysql.template.spec.containers[0];
    const mount = c.volumeMounts.find((m: any) => m.name === "data");
    const datadir = c.args.find((a: string) => a.startsWith("--datadir="))?.slice("--datadir=".length);
    assert.ok(datadir, "mysqld is not given a data directory");
    assert.ok(!mount.subPath, "the claim's root is mounted so mysqld can create its data directory itself");
    assert.strictEqual(path.posix.dirname(datadir), mount.mountPath, `data directory ${datadir} is not a subdirectory of the claim at ${mount.mountPath}`);
  });

  describe("MySQL's data layout migration (init container, run here with sh on a scratch directory)", () => {
    let volume: string;
    const run = async () => {
      await deploy();
      const init = sts().mysql.template.spec.initContainers.find((c: any) => c.name === "datadir-layout");
      const mountPath = init.volumeMounts.find((m: any) => m.name === "data").mountPath;
      const script = String(init.command[2]).split(mountPath).join(volume);
      execFileSync("sh", ["-c", script]);
    };
    const tree = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [`${e.name}/`, ...tree(path.join(dir, e.name)).map((x) => `${e.name}/${x}`)] : [e.name])).sort();
    beforeEach(() => {
      volume = fs.mkdtempSync(path.join(os.tmpdir(), "mysql-volume-"));
      fs.mkdirSync(path.join(volume, "lost+found"));
    });
    afterEach(() => fs.rmSync(volume, { recursive: true, force: true }));

    it("leaves a fresh disk alone (mysqld creates its data directory)", async () => {
      await run();
      assert.deepStrictEqual(tree(volume), ["lost+found/"]);
    });

    it("moves a store made with the data at the claim's root into the data directory, lost+found excepted", async () => {
      fs.mkdirSync(path.join(volume, "mysql"));
      fs.writeFileSync(path.join(volume, "mysql", "user.ibd"), "x");
      fs.writeFileSync(path.join(volume, "ibdata1"), "x");
      fs.writeFileSync(path.join(volume, ".hidden"), "x");
      await run();
      assert.deepStrictEqual(tree(volume), ["data/", "data/.hidden", "data/ibdata1", "data/mysql/", "data/mysql/user.ibd", "lost+found/"]);
      await run(); // and does nothing the next time
      assert.deepStrictEqual(tree(volume), ["data/", "data/.hidden", "data/ibdata1", "data/mysql/", "data/mysql/user.ibd", "lost+found/"]);
    });

    it("finishes a move cut short by a restart", async () => {
      fs.mkdirSync(path.join(volume, "data.partial", "mysql"), { recursive: true });
      fs.writeFileSync(path.join(volume, "ibdata1"), "x");
      await run();
      assert.deepStrictEqual(tree(volume), ["data/", "data/ibdata1", "data/mysql/", "lost+found/"]);
    });
  });

  it("pulls a store's image with the registry's pull Secret only when the image comes from that registry", async () => {
    await deploy({
      mysql: { storageSize: "1Gi", database: "shop", user: "shop", image: "registry.example.com/mirror/mysql:8.4.6" },
      imagePullSecret: { server: "registry.example.com", name: "registry-pull" },
    });
    const s = sts();
    assert.deepStrictEqual(s.mysql.template.spec.imagePullSecrets, [{ name: "registry-pull" }]);
    assert.strictEqual(s.redis.template.spec.imagePullSecrets, undefined);
    assert.strictEqual(s.rabbitmq.template.spec.imagePullSecrets, undefined);
  });

  it("pins third-party images to exact tags and runs them non-root with requests, limits and probes", async () => {
    await deploy();
    for (const [name, spec] of Object.entries<any>(sts())) {
      const c = spec.template.spec.containers[0];
      assert.match(c.image, /^[a-z]+:\d+\.\d+\.\d+(-alpine)?$/, `${name} image ${c.image}`);
      assert.strictEqual(spec.template.spec.securityContext.runAsNonRoot, true);
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
      MYSQL_HOST: "mysql-primary.shop-test.svc", MYSQL_PORT: "3306", MYSQL_USER: "shop", MYSQL_PASSWORD: "given-mysql-pw-123", MYSQL_DATABASE: "shop",
      REDIS_ADDR: "redis-primary.shop-test.svc:6379", REDIS_PASSWORD: "given-redis-pw-123",
    });
    const order = h.plain(h.named("data-order-connection").inputs.stringData);
    assert.deepStrictEqual(Object.keys(order).sort(), ["MYSQL_DATABASE", "MYSQL_HOST", "MYSQL_PASSWORD", "MYSQL_PORT", "MYSQL_USER",
      "RABBITMQ_HOST", "RABBITMQ_PASSWORD", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_VHOST"]);
  });

  it("connects the services through a ClusterIP Service per store, beside the StatefulSet's headless one", async () => {
    await deploy({ passwords: given });
    const services = h.ofType("kubernetes:core/v1:Service").map((r) => h.plain(r.inputs));
    for (const kind of ["mysql", "redis", "rabbitmq"]) {
      const headless = services.find((s: any) => s.metadata.name === kind);
      const primary = services.find((s: any) => s.metadata.name === `${kind}-primary`);
      assert.strictEqual(headless?.spec.clusterIP, "None", `${kind}: the StatefulSet's governing Service is headless`);
      assert.strictEqual(sts()[kind].serviceName, kind);
      assert.strictEqual(primary?.spec.type, "ClusterIP", `${kind}: no ClusterIP Service for the shop`);
      assert.strictEqual(primary.spec.clusterIP, undefined, `${kind}: the Service must get a virtual IP`);
      assert.deepStrictEqual(primary.spec.selector, headless.spec.selector);
    }
    const order = h.plain(h.named("data-order-connection").inputs.stringData);
    assert.strictEqual(order.RABBITMQ_HOST, "rabbitmq-primary.shop-test.svc");
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
