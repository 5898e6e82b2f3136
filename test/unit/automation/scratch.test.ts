import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SCRATCH_PREFIX, sweepStale, withPrivateTmp } from "../../../automation/scratch";

/** Writes a file named like the Kubernetes provider's kubeconfig copies into a child's temporary folder; returns its path. */
function childWritesTempFile(env: NodeJS.ProcessEnv): string {
  const script = 'const f = require("path").join(require("os").tmpdir(), "kubeconfig123"); require("fs").writeFileSync(f, "x"); process.stdout.write(f);';
  const res = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8", timeout: 30_000 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** A PID that no process has: that of a child that has exited. */
function deadPid(): number {
  const res = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(res.stdout);
}

describe("the automation CLI's private temporary folder", () => {
  let parent: string;
  beforeEach(() => (parent = fs.mkdtempSync(path.join(os.tmpdir(), "shop-scratch-test-"))));
  afterEach(() => fs.rmSync(parent, { recursive: true, force: true }));

  it("gives the processes started meanwhile a TMPDIR of the run's own and removes what they left there", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: parent };
    let written = "";
    let during = "";
    await withPrivateTmp(async () => {
      during = env.TMPDIR ?? "";
      written = childWritesTempFile(env);
      assert.ok(fs.existsSync(written), "the child's file is there while the run lasts");
    }, env);
    assert.equal(path.dirname(during), parent);
    assert.match(path.basename(during), new RegExp(`^${SCRATCH_PREFIX}${process.pid}-`));
    assert.equal(path.dirname(written), during, "the child wrote into the private folder");
    assert.equal(fs.existsSync(during), false, "the folder is removed afterwards");
    assert.equal(env.TMPDIR, parent, "TMPDIR is restored");
    assert.deepEqual(fs.readdirSync(parent), []);
  });

  it("removes the folder and restores an unset TMPDIR when the run fails", async () => {
    const env: NodeJS.ProcessEnv = {};
    let during = "";
    await assert.rejects(
      withPrivateTmp(async () => {
        during = env.TMPDIR ?? "";
        fs.writeFileSync(path.join(during, "left"), "x");
        throw new Error("the operation failed");
      }, env),
      /the operation failed/,
    );
    assert.ok(during.startsWith(path.join(os.tmpdir(), SCRATCH_PREFIX)), during);
    assert.equal(fs.existsSync(during), false);
    assert.equal("TMPDIR" in env, false);
  });

  it("sweeps the folders of interrupted runs and keeps those of live ones and anything else", () => {
    const dead = `${SCRATCH_PREFIX}${deadPid()}-abc123`;
    const live = `${SCRATCH_PREFIX}${process.pid}-def456`;
    for (const d of [dead, live, "kubeconfig-of-someone-else", `${SCRATCH_PREFIX}notapid`]) fs.mkdirSync(path.join(parent, d));
    fs.writeFileSync(path.join(parent, dead, "kubeconfig999"), "x");
    assert.deepEqual(sweepStale(parent), [dead]);
    assert.deepEqual(fs.readdirSync(parent).sort(), [`${SCRATCH_PREFIX}notapid`, live, "kubeconfig-of-someone-else"].sort());
  });
});
