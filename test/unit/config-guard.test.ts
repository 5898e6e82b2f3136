import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigGuard, configGuardProvider, fingerprint, guardedBy } from "../../components/config-guard";

const check = (olds: Record<string, unknown>, news: Record<string, unknown>) => configGuardProvider.check!(olds, news);
const props = (value: string, hidden = false) => ({ key: "shop:dataStores.mysql.storageSize", value, hidden, remedy: "Expand the claim in place.", guardUrn: "urn:pulumi:dev::shop::pulumi-nodejs:dynamic/shop:ConfigGuard::guard-x" });

describe("ConfigGuard", () => {
  it("accepts any value on a new stack (no deployed value)", async () => {
    const r = await check({}, props("5Gi"));
    assert.deepStrictEqual(r.failures ?? [], []);
  });

  it("accepts the deployed value unchanged", async () => {
    const r = await check(props("1Gi"), props("1Gi"));
    assert.deepStrictEqual(r.failures ?? [], []);
  });

  it("refuses a changed value, naming the key, both values, the remedy and the way back", async () => {
    const r = await check(props("1Gi"), props("5Gi"));
    assert.strictEqual(r.failures?.length, 1);
    const reason = r.failures![0].reason;
    assert.match(reason, /refusing to change shop:dataStores\.mysql\.storageSize from "1Gi" to "5Gi"/);
    assert.match(reason, /Expand the claim in place\./);
    assert.match(reason, /Set shop:dataStores\.mysql\.storageSize back to its deployed value/);
    assert.match(reason, /pulumi state delete 'urn:pulumi:dev::shop::pulumi-nodejs:dynamic\/shop:ConfigGuard::guard-x'/);
  });

  it("never shows a hidden value in the refusal", async () => {
    const r = await check(props("aaaa1111", true), props("bbbb2222", true));
    assert.strictEqual(r.failures?.length, 1);
    assert.ok(!/aaaa1111|bbbb2222/.test(r.failures![0].reason), r.failures![0].reason);
  });

  it("fingerprints a secret as a secret digest that changes with it and does not contain it", async () => {
    const a = fingerprint("shop:secrets.mysqlPassword", pulumi.secret("correct-horse-battery"));
    const b = fingerprint("shop:secrets.mysqlPassword", pulumi.secret("correct-horse-battery2"));
    assert.ok(await h.isSecret(a));
    const [va, vb] = [await h.promiseOf(a), await h.promiseOf(b)];
    assert.match(va, /^[0-9a-f]{64}$/);
    assert.notStrictEqual(va, vb);
    assert.ok(!va.includes("correct-horse"));
    // Keyed by the config key: the same password under two keys gives two digests.
    assert.notStrictEqual(va, await h.promiseOf(fingerprint("shop:secrets.rabbitmqPassword", pulumi.secret("correct-horse-battery"))));
  });

  it("registers a top-level guard whose inputs hold the key, value and its own URN", async () => {
    await h.reset("dev");
    new ConfigGuard("guard-storage-class", { key: "shop:storageClass", value: "fast", remedy: "Migrate the data." });
    await h.settle();
    const g = h.named("guard-storage-class");
    assert.strictEqual(g.type, "pulumi-nodejs:dynamic/shop:ConfigGuard");
    assert.strictEqual(g.inputs.key, "shop:storageClass");
    assert.strictEqual(g.inputs.value, "fast");
    assert.strictEqual(g.inputs.guardUrn, "urn:pulumi:dev::shop::pulumi-nodejs:dynamic/shop:ConfigGuard::guard-storage-class");
    assert.strictEqual(typeof g.inputs.__provider, "string", "the provider is serialised into the inputs");
  });

  it("serialises a self-contained provider that the engine's dynamic provider host can load and run", async () => {
    await h.reset("dev");
    new ConfigGuard("guard-loaded", { key: "shop:storageClass", value: "fast", remedy: "Migrate the data." });
    await h.settle();
    // What pulumi-resource-pulumi-nodejs does with the `__provider` input.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => any;
    const loaded = requireFromString(h.named("guard-loaded").inputs.__provider).handler() as typeof configGuardProvider;
    const r = await loaded.check!(props("1Gi"), props("2Gi"));
    assert.match(r.failures![0].reason, /refusing to change shop:dataStores\.mysql\.storageSize/);
    assert.deepStrictEqual((await loaded.check!(props("1Gi"), props("1Gi"))).failures ?? [], []);
  });

  it("makes guarded inputs depend on every guard", async () => {
    await h.reset("dev");
    const g1 = new ConfigGuard("g1", { key: "shop:storageClass", value: "fast", remedy: "x." });
    const g2 = new ConfigGuard("g2", { key: "shop:monitoring.storageSize", value: "1Gi", remedy: "x." });
    const v = guardedBy("shop-dev", [g1, g2]);
    assert.strictEqual(await h.promiseOf(v), "shop-dev");
    const deps = await (v as any).allResources();
    assert.ok(deps.has(g1) && deps.has(g2), "the guarded value does not carry the guards as dependencies");
  });
});
