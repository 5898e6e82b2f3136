/**
 * No stack config change may delete a data volume: on a real stack, a change of a volume size (which
 * would replace the StatefulSet's claim templates) or of a data store's password is refused by the
 * program's config guards before anything changes, with a message naming the key and the way to do it
 * instead; the claim, and the data in it, survive. Writing and reading the row needs a node that runs
 * containers: on the fake (kwok) nodes of the local cluster that part is skipped.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Stack } from "@pulumi/pulumi/automation";
import { kget, mysql as mysqlIn, prepareStack, realNode, removeStack, sh } from "./support";

const STACK = "e2e-volumes";
const NAMESPACE = "shop-e2e-volumes";
const ROW = "written-before-the-refused-change";
const mysql = (sql: string) => mysqlIn(NAMESPACE, sql);

/** A copy of the stack's config with `edit` applied, for one refused `up`. */
function editedConfig(configFile: string, suffix: string, edit: (file: string) => void): string {
  const file = configFile.replace(/\.yaml$/, `.${suffix}.yaml`);
  fs.copyFileSync(configFile, file);
  edit(file);
  return file;
}

describe("data volumes, end to end", function () {
  let stack: Stack;
  let configFile: string;
  const hasRealNode = (): boolean => realNode() !== undefined;

  before(async () => {
    removeStack(STACK);
    ({ stack, configFile } = await prepareStack(STACK, "local", {
      "shop:namespace": NAMESPACE,
      "shop:monitoring": { enabled: false },
      "shop:logging": { enabled: false },
      // Its own host: the local stack's routes (shop.localhost) share the edge.
      "shop:routing": { host: "e2e-volumes.localhost" },
    }));
  });

  after(() => {
    try {
      removeStack(STACK);
    } finally {
      sh("scripts/cluster.sh", ["recycle-volumes"]);
    }
  });

  it("comes up with its data stores' claims bound", async () => {
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    const claim = kget("persistentvolumeclaim", "data-mysql-0", NAMESPACE);
    assert.ok(claim, "the mysql StatefulSet made no claim data-mysql-0");
    assert.strictEqual(claim.spec.resources.requests.storage, "1Gi");
  });

  it("keeps a row written to MySQL (needs a node that runs containers)", function () {
    if (!hasRealNode()) this.skip();
    mysql(`CREATE TABLE IF NOT EXISTS e2e_guard (v VARCHAR(64) NOT NULL); INSERT INTO e2e_guard VALUES ('${ROW}')`);
    assert.match(mysql("SELECT v FROM e2e_guard"), new RegExp(ROW));
  });

  it("refuses a volume size change before changing anything, naming the key and how to resize", async () => {
    const claimBefore = kget("persistentvolumeclaim", "data-mysql-0", NAMESPACE);
    const stsBefore = kget("statefulset.v1.apps", "mysql", NAMESPACE);
    const resourcesBefore = (await stack.exportStack()).deployment.resources.length;
    const resized = editedConfig(configFile, "resized", (f) =>
      sh("pulumi", ["config", "set", "--stack", STACK, "--config-file", f, "--path", "shop:dataStores.mysql.storageSize", "2Gi"]));
    try {
      await assert.rejects(stack.up({ configFile: resized, color: "never" }), (e: any) => {
        const text = String(e?.message ?? e);
        assert.match(text, /refusing to change shop:dataStores\.mysql\.storageSize from "1Gi" to "2Gi"/, text);
        assert.match(text, new RegExp(`kubectl -n ${NAMESPACE} patch pvc data-mysql-0`), text);
        return true;
      });
    } finally {
      fs.rmSync(resized, { force: true });
    }
    const claimAfter = kget("persistentvolumeclaim", "data-mysql-0", NAMESPACE);
    assert.ok(claimAfter && !claimAfter.metadata.deletionTimestamp, "the claim is gone or going");
    assert.strictEqual(claimAfter.metadata.uid, claimBefore.metadata.uid, "the claim was replaced");
    const stsAfter = kget("statefulset.v1.apps", "mysql", NAMESPACE);
    assert.strictEqual(stsAfter.metadata.uid, stsBefore.metadata.uid, "the StatefulSet was replaced");
    assert.strictEqual(stsAfter.metadata.generation, stsBefore.metadata.generation, "the StatefulSet was changed");
    assert.strictEqual((await stack.exportStack()).deployment.resources.length, resourcesBefore);
  });

  it("refuses a MySQL password change with the way to rotate it, never showing a password", async () => {
    const secretsBefore = JSON.stringify(kget("secret", undefined, NAMESPACE).items.map((s: any) => s.metadata.name).sort());
    const rotated = editedConfig(configFile, "rotated", (f) =>
      sh("pulumi", ["config", "set", "--secret", "--stack", STACK, "--config-file", f, "--path", "shop:secrets.mysqlPassword", "e2e-new-password-0123"]));
    try {
      await assert.rejects(stack.up({ configFile: rotated, color: "never" }), (e: any) => {
        const text = String(e?.message ?? e);
        assert.match(text, /refusing to change shop:secrets\.mysqlPassword on an existing stack/, text);
        assert.match(text, /ALTER USER CURRENT_USER\(\)/, text);
        assert.ok(!text.includes("e2e-new-password-0123"), "the refusal shows the new password");
        return true;
      });
    } finally {
      fs.rmSync(rotated, { force: true });
    }
    // No connection Secret was replaced, so no service rolled to a password the server does not have.
    assert.strictEqual(JSON.stringify(kget("secret", undefined, NAMESPACE).items.map((s: any) => s.metadata.name).sort()), secretsBefore);
  });

  it("still has the row after the refused changes (needs a node that runs containers)", function () {
    if (!hasRealNode()) this.skip();
    assert.match(mysql("SELECT v FROM e2e_guard"), new RegExp(ROW));
  });

  it("accepts the deployed values again: a no-op up", async () => {
    const res = await stack.up({ configFile, color: "never" });
    assert.strictEqual(res.summary.result, "succeeded");
    const changes = { ...res.summary.resourceChanges };
    delete changes.same;
    assert.deepStrictEqual(changes, {}, `changed ${JSON.stringify(res.summary.resourceChanges)}`);
  });
});
