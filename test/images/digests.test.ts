/**
 * Service image digests under edits, built for real on the project's local engine with exactly the
 * settings the program builds with: `scripts/images.sh`'s `build_image` takes its `docker build`
 * arguments from components/image-build.ts, the definition `ServiceImage` hands to `@pulumi/docker`.
 * Edits go to a scratch copy of services/; the repository is never touched.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerBuildArgv, imageBuildSettings, stackFileImageBuild } from "../../components/image-build";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const STACK_FILE = path.join(REPO_ROOT, "Pulumi.local.yaml");
const SERVICES = ["user", "product"] as const;
type Service = (typeof SERVICES)[number];

/** Runs one function of scripts/images.sh (which also sets the engine's address) and returns its output. */
function images(fn: string, ...args: string[]): string {
  return execFileSync("bash", ["-c", `source "${REPO_ROOT}/scripts/images.sh"; "$@"`, "images.sh", fn, ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, IMAGE_STACK_FILE: STACK_FILE },
  }).trim();
}

describe("service image digests (local engine, the program's build settings)", () => {
  let ctx: string;
  const tags: string[] = [];
  let baseline: Record<Service, string>;

  /** Builds both services from the scratch context; returns their image digests (config digests). */
  function buildAll(phase: string): Record<Service, string> {
    const out = {} as Record<Service, string>;
    for (const svc of SERVICES) {
      const tag = `shop-digest-test/${svc}:${phase}`;
      images("build_image", ctx, svc, tag);
      tags.push(tag);
      out[svc] = images("docker_cli", "image", "inspect", "--format", "{{.Id}}", tag);
      assert.match(out[svc], /^sha256:[0-9a-f]{64}$/, `${svc}: ${out[svc]}`);
    }
    return out;
  }

  before(() => {
    ctx = fs.mkdtempSync(path.join(os.tmpdir(), "shop-digests-"));
    fs.cpSync(path.join(REPO_ROOT, "services"), ctx, { recursive: true });
    baseline = buildAll("base");
  });

  after(() => {
    if (tags.length) {
      try { images("docker_cli", "rmi", "--no-prune", ...new Set(tags)); } catch { /* tags of a failed build */ }
    }
    if (ctx) fs.rmSync(ctx, { recursive: true, force: true });
  });

  it("builds with the network, platform, Dockerfile and build args of the program's shared definition", () => {
    const build = stackFileImageBuild(STACK_FILE);
    for (const svc of SERVICES) {
      const harness = images("build_flags", ctx, svc).split("\n");
      assert.deepStrictEqual(harness, dockerBuildArgv(imageBuildSettings(svc, build), ctx), svc);
    }
    assert.strictEqual(build.network, "host", "the local engine has no bridge: its stack must build on the host network");
  });

  it("gives the same digests when the same source is built again", () => {
    assert.deepStrictEqual(buildAll("again"), baseline);
  });

  it("changes no digest when a comment is edited in one service", () => {
    // Appended, so no line moves: line numbers are in the binary's line table.
    fs.appendFileSync(path.join(ctx, "cmd", "user", "main.go"), "\n// A comment edit: no code changes.\n");
    assert.deepStrictEqual(buildAll("comment"), baseline);
  });

  it("changes only that service's digest when its code is edited", () => {
    fs.writeFileSync(
      path.join(ctx, "cmd", "user", "zz_edit.go"),
      'package main\n\nimport "os"\n\nfunc init() { _ = os.Setenv("SHOP_DIGEST_TEST", "code edit") }\n',
    );
    const after = buildAll("code");
    assert.notStrictEqual(after.user, baseline.user, "user's digest did not change after a code edit in user");
    assert.strictEqual(after.product, baseline.product, "product's digest changed after an edit in user only");
  });
});
