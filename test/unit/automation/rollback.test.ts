import { strict as assert } from "assert";
import type { ConfigMap, UpdateSummary } from "@pulumi/pulumi/automation";
import { UsageError } from "../../../automation/errors";
import { numberUpdates, parseUpdateNumber, rollbackConfig, rollbackTarget } from "../../../automation/rollback";

const digest = (c: string) => `127.0.0.1:5000/shop/product@sha256:${c.repeat(64)}`;

/** An entry of `stack.history()`; `version` 0 as the file backend records it. */
function entry(kind: UpdateSummary["kind"], result: UpdateSummary["result"], minute: number, config: ConfigMap = {}, version = 0): UpdateSummary {
  return {
    kind,
    result,
    version,
    message: "",
    environment: {},
    config,
    startTime: new Date(Date.UTC(2026, 10, 30, 1, minute)),
    endTime: new Date(Date.UTC(2026, 10, 30, 1, minute, 30)),
  };
}
const images = (c: string): ConfigMap => ({ "shop:images": { value: JSON.stringify({ prebuilt: { product: digest(c) } }), secret: false, objectValue: { prebuilt: { product: digest(c) } } } as any });
/** Newest first, as `pulumi stack history` lists it. */
const newestFirst = (...oldestFirst: UpdateSummary[]) => [...oldestFirst].reverse();

function refused(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message), `expected a UsageError matching ${pattern}`);
}

describe("rollback: which update", () => {
  it("numbers the file backend's history by position, oldest first (it records no versions)", () => {
    const h = newestFirst(entry("update", "succeeded", 1), entry("refresh", "succeeded", 2), entry("update", "failed", 3));
    assert.deepEqual(numberUpdates(h).map((n) => [n.number, n.update.kind, n.update.result]), [[1, "update", "succeeded"], [2, "refresh", "succeeded"], [3, "update", "failed"]]);
  });

  it("keeps the versions a backend records", () => {
    const h = newestFirst(entry("update", "succeeded", 1, {}, 41), entry("update", "succeeded", 2, {}, 42));
    assert.deepEqual(numberUpdates(h).map((n) => n.number), [41, 42]);
  });

  const cases: { name: string; history: UpdateSummary[]; to?: number; want: number }[] = [
    {
      name: "after a failed update: the last successful one",
      history: newestFirst(entry("update", "succeeded", 1, images("a")), entry("update", "succeeded", 2, images("b")), entry("update", "failed", 3, images("c"))),
      want: 2,
    },
    {
      name: "after several failed updates and a refresh: the last successful update",
      history: newestFirst(entry("update", "succeeded", 1), entry("update", "failed", 2), entry("refresh", "succeeded", 3), entry("update", "failed", 4)),
      want: 1,
    },
    {
      name: "after a successful update: the one before it (the latest is what runs)",
      history: newestFirst(entry("update", "succeeded", 1), entry("update", "succeeded", 2), entry("refresh", "succeeded", 3)),
      want: 1,
    },
    {
      name: "--to a successful update, however old",
      history: newestFirst(entry("update", "succeeded", 1), entry("update", "succeeded", 2), entry("update", "succeeded", 3)),
      to: 1,
      want: 1,
    },
    {
      name: "--to the latest update when it succeeded (redeploys it as it was)",
      history: newestFirst(entry("update", "succeeded", 1), entry("update", "succeeded", 2)),
      to: 2,
      want: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = rollbackTarget(c.history, "e2e", c.to);
      assert.equal(t.number, c.want);
      assert.equal(t.update, numberUpdates(c.history).find((n) => n.number === c.want)!.update);
    });
  }

  it("carries the chosen update's config, image digests included", () => {
    const h = newestFirst(entry("update", "succeeded", 1, images("a")), entry("update", "failed", 2, images("b")));
    assert.deepEqual((rollbackTarget(h, "e2e").update.config["shop:images"] as any).objectValue.prebuilt.product, digest("a"));
  });

  const refusals: { name: string; history: UpdateSummary[]; to?: number; message: RegExp }[] = [
    { name: "a stack never updated", history: [], message: /^stack e2e has never been updated: there is nothing to roll back to$/ },
    {
      name: "no success before the latest update",
      history: newestFirst(entry("update", "failed", 1), entry("update", "succeeded", 2)),
      message: /^stack e2e has no successful update before its latest \(update 2 \(succeeded, 2026-11-30T01:02:00\.000Z\)\).*newest first: update 2 \(succeeded, .*\), update 1 \(failed, /,
    },
    {
      name: "--to an update that failed",
      history: newestFirst(entry("update", "succeeded", 1), entry("update", "failed", 2)),
      to: 2,
      message: /^update 2 of stack e2e did not succeed \(failed\): its configuration never ran healthy/,
    },
    {
      name: "--to an update that does not exist",
      history: newestFirst(entry("update", "succeeded", 1)),
      to: 9,
      message: /^stack e2e has no update 9: its updates, newest first: update 1 \(succeeded/,
    },
    {
      name: "--to a refresh",
      history: newestFirst(entry("update", "succeeded", 1), entry("refresh", "succeeded", 2)),
      to: 2,
      message: /^refresh 2 \(succeeded, .*\) of stack e2e is a refresh, not an update/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}, saying why`, () => refused(() => rollbackTarget(r.history, "e2e", r.to), r.message));
  }

  it("takes only a positive whole update number for --to", () => {
    assert.equal(parseUpdateNumber("7"), 7);
    for (const bad of ["0", "-1", "7a", "1.5", ""]) refused(() => parseUpdateNumber(bad), /^bad update number/);
  });
});

describe("rollback: the config written", () => {
  const secure = { secure: "v1:ciphertext-of-the-jwt-key" };
  const raw = {
    "shop:namespace": "e2e-delivery",
    "shop:images": { prebuilt: { product: digest("b") } },
    "shop:secrets": { jwtKey: secure },
    "shop:delivery": { progressDeadlineSeconds: 60 },
  };
  const current: ConfigMap = {
    "shop:namespace": { value: "e2e-delivery", secret: false },
    ...images("b"),
    "shop:secrets": { value: '{"jwtKey":"k1"}', secret: true, objectValue: { jwtKey: "k1" } } as any,
    "shop:delivery": { value: '{"progressDeadlineSeconds":60}', secret: false, objectValue: { progressDeadlineSeconds: 60 } } as any,
  };

  it("restores the image digests and keeps every unchanged key as stored (an unchanged secret keeps its ciphertext)", () => {
    const target: ConfigMap = { ...current, ...images("a") };
    const plan = rollbackConfig(target, current, raw);
    assert.deepEqual(plan.config, { ...raw, "shop:images": { prebuilt: { product: digest("a") } } });
    assert.deepEqual(plan.secrets, []);
    assert.deepEqual(plan.changes, ["shop:images: changed"]);
  });

  it("sets a changed secret again (never printing it), adds and removes keys", () => {
    const { "shop:delivery": _gone, ...rest } = current;
    const target: ConfigMap = { ...rest, "shop:secrets": { value: '{"jwtKey":"k0"}', secret: true, objectValue: { jwtKey: "k0" } } as any, "shop:logLevel": { value: "debug", secret: false } };
    const plan = rollbackConfig(target, current, raw);
    assert.deepEqual(plan.secrets, [["shop:secrets", '{"jwtKey":"k0"}']]);
    assert.equal("shop:secrets" in plan.config, false, "a changed secret is set through pulumi config set --secret, not written in plain text");
    assert.equal(plan.config["shop:logLevel"], "debug");
    assert.equal("shop:delivery" in plan.config, false);
    assert.deepEqual(plan.changes, ["shop:logLevel: added", "shop:secrets: changed (secret)", "shop:delivery: removed"]);
    assert.ok(!plan.changes.join("\n").includes("k0"));
  });

  it("compares structured values by their content, not their JSON text", () => {
    const target: ConfigMap = { ...current, "shop:delivery": { value: '{"progressDeadlineSeconds":60}', secret: false, objectValue: { progressDeadlineSeconds: 60 } } as any };
    const reordered: ConfigMap = { ...current, "shop:images": { value: "x", secret: false, objectValue: { prebuilt: { product: digest("b") } } } as any };
    assert.deepEqual(rollbackConfig({ ...target, ...images("b") }, reordered, raw).changes, []);
  });
});
