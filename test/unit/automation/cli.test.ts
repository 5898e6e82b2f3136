import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(REPO, "automation", "cli.ts");

/**
 * Runs the CLI in a sandbox: a backend folder and a tool cache that do not exist, and a PATH
 * without any pulumi. Bad input must be refused before any of them is needed.
 */
function run(args: string[], env: Record<string, string | undefined> = {}) {
  const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "shop-cli-"));
  const base: Record<string, string | undefined> = {
    PATH: path.dirname(process.execPath) + ":/usr/bin:/bin",
    HOME: sandbox,
    // The transpiler's own cache (SWC keeps a copy of its native module there), kept outside the sandbox.
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"),
    SHOP_CACHE: path.join(sandbox, "cache"),
    PULUMI_BACKEND_URL: `file://${path.join(sandbox, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "test",
    TS_NODE_TRANSPILE_ONLY: "true",
  };
  const merged = { ...base, ...env };
  const clean = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = spawnSync(process.execPath, ["-r", "ts-node/register", CLI, ...args], { cwd: REPO, env: clean, encoding: "utf8", timeout: 60_000 });
  const touched = fs.readdirSync(sandbox);
  fs.rmSync(sandbox, { recursive: true, force: true });
  return { code: res.status, stderr: res.stderr.trim(), stdout: res.stdout.trim(), touched };
}

function assertRefused(r: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(r.code, 2, `exit code ${r.code}, stderr: ${r.stderr}`);
  const lines = r.stderr.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.deepEqual(r.touched, [], "the CLI created files before refusing");
}

describe("automation CLI input checks", function () {
  this.timeout(60_000);

  it("refuses an unknown stack, listing the project's stacks", () => {
    assertRefused(run(["deploy", "staging"]), /^error: unknown stack 'staging': this project's stacks are dev, local, prod$/);
  });

  it("refuses a review stack that was never created", () => {
    assertRefused(run(["preview", "pr-12"]), /unknown stack 'pr-12'.*created with 'review up 12'/);
  });

  it("refuses a non-numeric or non-positive pull-request number", () => {
    assertRefused(run(["review", "up", "12a"]), /^error: bad pull-request number '12a': give a positive integer/);
    assertRefused(run(["review", "destroy", "0"]), /bad pull-request number '0'/);
  });

  it("refuses a missing passphrase", () => {
    assertRefused(
      run(["deploy", "local"], { PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: undefined }),
      /no passphrase for the stack secrets: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/,
    );
    assertRefused(
      run(["destroy", "dev"], { PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent/passphrase" }),
      /PULUMI_CONFIG_PASSPHRASE_FILE=\/nonexistent\/passphrase does not exist/,
    );
  });

  it("refuses a kubeconfig that does not exist", () => {
    assertRefused(run(["deploy", "local"], { KUBECONFIG: "/nonexistent/kubeconfig" }), /KUBECONFIG names \/nonexistent\/kubeconfig, which does not exist/);
  });

  it("refuses a missing overrides file and a missing policy pack", () => {
    assertRefused(run(["review", "up", "5", "--overrides", "/nonexistent/o.yaml"]), /overrides file \/nonexistent\/o.yaml does not exist/);
    assertRefused(run(["preview", "local", "--policy-pack", "/nonexistent/pack"]), /policy pack \/nonexistent\/pack does not exist/);
  });

  it("refuses to promote or show the release of an unknown stack", () => {
    assertRefused(run(["promote", "staging"]), /^error: unknown stack 'staging': this project's stacks are dev, local, prod$/);
    assertRefused(run(["status", "staging"]), /^error: unknown stack 'staging'/);
  });

  it("refuses to destroy an unknown stack, with or without --remove", () => {
    assertRefused(run(["destroy", "staging"]), /^error: unknown stack 'staging': this project's stacks are dev, local, prod$/);
    assertRefused(run(["destroy", "staging", "--remove"]), /^error: unknown stack 'staging'/);
  });

  it("refuses the outputs of an unknown stack, and a call without a stack", () => {
    assertRefused(run(["outputs", "staging"]), /^error: unknown stack 'staging': this project's stacks are dev, local, prod$/);
    assertRefused(run(["outputs", "staging", "apiUrl", "--json"]), /^error: unknown stack 'staging'/);
    assertRefused(run(["outputs", "../../etc"]), /^error: unknown stack '\.\.\/\.\.\/etc'/);
    assertRefused(run(["outputs"]), /missing required argument 'stack'/);
  });

  it("refuses a stack file of a stack with no committed base, or with missing input files, naming the variable", () => {
    assertRefused(run(["stack-file", "staging"]), /^error: no Pulumi\.staging\.yaml in the repo \(stacks: dev local prod\)$/);
    assertRefused(run(["stack-file", "bench"], { BASE_STACK: "staging" }), /^error: no Pulumi\.staging\.yaml in the repo \(BASE_STACK\)/);
    assertRefused(run(["stack-file", "local"], { OVERRIDES: "/nonexistent/o.yaml" }), /^error: overrides file \/nonexistent\/o\.yaml not found \(OVERRIDES\)$/);
    assertRefused(run(["stack-file", "local", "/nonexistent/images.json"]), /^error: images file \/nonexistent\/images\.json not found$/);
    assertRefused(run(["stack-file", "local"], { THIRD_PARTY_IMAGES: "1" }), /^error: third-party images file .*third-party-images\.json not found \(THIRD_PARTY_IMAGES=1\); run scripts\/images\.sh third-party first$/);
  });

  it("refuses to roll back an unknown stack or to a malformed update number", () => {
    assertRefused(run(["rollback", "staging"]), /^error: unknown stack 'staging': this project's stacks are dev, local, prod$/);
    assertRefused(run(["rollback", "../../etc"]), /^error: unknown stack '\.\.\/\.\.\/etc'/);
    assertRefused(run(["rollback", "local", "--to", "7a"]), /^error: bad update number '7a': give the number of an update from the stack's history/);
  });

  it("refuses unknown commands and review actions", () => {
    assertRefused(run(["rollout", "dev"]), /unknown command 'rollout'/);
    assertRefused(run(["review", "merge", "5"]), /use 'up' or 'destroy'/);
  });
});
