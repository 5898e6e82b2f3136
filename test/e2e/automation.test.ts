/**
 * The Automation API command line end to end, against the local cluster (run by scripts/e2e.sh:
 * KUBECONFIG and SHOP_IMAGES_JSON set, the harness's Pulumi environment exported).
 * Covers: bad input exits 2 and changes nothing; deploy of the local stack; a clean policy-checked
 * preview of it; a deliberately broken review config rejected by the policy pack with its message and
 * nothing deployed; the review stack's preview as Markdown; review up in its own namespace with the
 * smallest footprint; review destroy leaving no namespace, stack or generated config behind.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { BUILT_THIRD_PARTY } from "../../automation/stack-file";

const REPO = path.resolve(__dirname, "..", "..");
const CLI = path.join(REPO, "automation", "cli.ts");
const CONFIG_DIR = path.join(REPO, ".pulumi-state", "config");
/** The pack's launcher: this machine's language host cannot start a pack folder (docs/delivery.md). */
const POLICY = path.join(REPO, "policy", "analyzer.sh");
const PR = 9051;
const REVIEW_STACK = `pr-${PR}`;
const REVIEW_NS = `shop-dev-pr-${PR}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shop-e2e-automation-"));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would; `env` entries set to undefined are removed. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Run {
  const merged: Record<string, string | undefined> = { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...env };
  const clean = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const r = spawnSync(process.execPath, ["-r", "ts-node/register", CLI, ...args], {
    cwd: REPO,
    env: clean,
    encoding: "utf8",
    timeout: 15 * 60_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
const stacks = (): string[] => JSON.parse(sh("pulumi", ["stack", "ls", "--json"])).map((s: any) => s.name).sort();
const namespaces = (): string[] => JSON.parse(sh("kubectl", ["get", "namespaces", "-o", "json"])).items.map((n: any) => n.metadata.name).sort();
const configFiles = (): string[] => (fs.existsSync(CONFIG_DIR) ? fs.readdirSync(CONFIG_DIR).sort() : []);
const trackedChanges = (): string => sh("git", ["status", "--porcelain", "--untracked-files=no", "--", "Pulumi.yaml", "Pulumi.local.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"]);
const kjson = (args: string[]): any => JSON.parse(sh("kubectl", [...args, "-o", "json"]));

function writeYaml(name: string, doc: unknown): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, yaml.dump(doc));
  return f;
}

/** Overrides that point the dev-derived review config at this machine: cluster, registry, built images, given secrets. */
function localOverrides(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const imagesFile = process.env.SHOP_IMAGES_JSON;
  if (!imagesFile) throw new Error("SHOP_IMAGES_JSON is not set: run the suite through scripts/e2e.sh");
  const secret = () => crypto.randomBytes(24).toString("hex");
  return {
    "shop:cluster": null, // the ambient KUBECONFIG
    "shop:registry": { server: "127.0.0.1:5000", project: "shop" },
    "shop:images": { build: null, prebuilt: JSON.parse(fs.readFileSync(imagesFile, "utf8")), thirdParty: builtThirdParty() },
    "shop:storageClass": "local-storage",
    // The local stack's placement: the workloads whose images cannot be made here go to the simulated nodes.
    "shop:scheduling": (yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.local.yaml"), "utf8")) as any).config["shop:scheduling"] ?? null,
    "shop:secrets": {
      jwtKey: secret(),
      mysqlPassword: secret(),
      redisPassword: secret(),
      rabbitmqPassword: secret(),
      grafanaAdminPassword: secret(),
      elasticPassword: secret(),
    },
    ...extra,
  };
}

/** The third-party images the harness built (THIRD_PARTY_IMAGES), under the program's names: the cluster pulls from 127.0.0.1:5000 only. */
function builtThirdParty(): Record<string, string> | null {
  const built = process.env.THIRD_PARTY_IMAGES;
  if (!built || built === "0" || !fs.existsSync(built)) return null;
  const refs = JSON.parse(fs.readFileSync(built, "utf8")) as Record<string, string>;
  return Object.fromEntries(Object.entries(BUILT_THIRD_PARTY).filter(([from]) => refs[from]).map(([from, to]) => [to, refs[from]]));
}

async function until<T>(what: string, f: () => T | undefined, seconds = 120): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe("automation CLI against the local cluster", function () {
  this.timeout(20 * 60_000);

  before(() => {
    // A review stack left by an interrupted run.
    const r = cli(["review", "destroy", String(PR)]);
    assert.strictEqual(r.code, 0, show(r));
  });

  after(() => {
    cli(["review", "destroy", String(PR)]);
    sh("scripts/cluster.sh", ["recycle-volumes"]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses bad input with exit code 2 and one line, changing nothing", () => {
    const before = { stacks: stacks(), namespaces: namespaces(), files: configFiles() };
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [["deploy", "staging"], {}, /^error: unknown stack 'staging'/],
      [["preview", "pr-77777"], {}, /^error: unknown stack 'pr-77777'/],
      [["review", "up", "4x"], {}, /^error: bad pull-request number '4x'/],
      [["review", "up", String(PR)], { PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: undefined }, /^error: no passphrase/],
      [["deploy", "local"], { KUBECONFIG: path.join(tmp, "missing-kubeconfig") }, /^error: KUBECONFIG names .*missing-kubeconfig, which does not exist/],
      [["review", "up", String(PR), "--overrides", path.join(tmp, "missing.yaml")], {}, /^error: overrides file .* does not exist/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = cli(args, env);
      assert.strictEqual(r.code, 2, `${args.join(" ")}: ${show(r)}`);
      const lines = r.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("npm warn"));
      assert.strictEqual(lines.length, 1, `${args.join(" ")}: ${show(r)}`);
      assert.match(lines[0], pattern);
    }
    assert.deepStrictEqual({ stacks: stacks(), namespaces: namespaces(), files: configFiles() }, before);
  });

  it("deploys the local stack with readable progress and a summary", () => {
    const images = process.env.SHOP_IMAGES_JSON!;
    sh(path.join(REPO, "scripts", "stack-config.sh"), ["local", images]); // digests + generated secrets
    const r = cli(["deploy", "local"]);
    assert.strictEqual(r.code, 0, show(r));
    assert.match(r.stdout, /^updating shop\/local \(config \.pulumi-state\/config\/Pulumi\.local\.yaml\)$/m);
    assert.match(r.stdout, /^summary: \d+ created, \d+ updated, \d+ replaced, \d+ deleted, \d+ unchanged in \d+\.\ds$/m);
    // Where the time went, each phase reached (bench/local-stack.sh prints it for the no-op up).
    assert.match(r.stdout, /^phases: setup \d+\.\ds, engine start \d+\.\ds, program start \d+\.\ds, program and providers \d+\.\ds, resources \d+\.\ds, state \d+\.\ds, exit \d+\.\ds$/m);
    const deployments = kjson(["get", "deployments", "-n", "shop-local"]).items.map((d: any) => d.metadata.name);
    for (const svc of ["gateway", "user", "product", "order"]) {
      assert.ok(deployments.some((d: string) => d.startsWith(svc)), `no ${svc} Deployment in shop-local: ${deployments}`);
    }
    assert.strictEqual(trackedChanges(), "", "a tracked stack file was modified");
  });

  it("previews the local stack with the policy pack: clean, written as Markdown", () => {
    const md = path.join(tmp, "local-preview.md");
    const r = cli(["preview", "local", "--policy-pack", POLICY, "--markdown", md]);
    assert.strictEqual(r.code, 0, show(r));
    const text = fs.readFileSync(md, "utf8");
    assert.match(text, /^### ✅ Pulumi preview of `shop\/local`/);
    assert.ok(!text.includes("Policy violations"), text);
    assert.match(r.stdout, /^summary: 0 to create, 0 to update, 0 to replace, 0 to delete, \d+ unchanged/m);
  });

  it("rejects a deliberately broken review config with the policy's message, deploying nothing", () => {
    // A credential put in plain service env ends up in a ConfigMap: the pack must stop it.
    const broken = writeYaml(
      "broken.yaml",
      localOverrides({ "shop:services": { gateway: { env: { PAYMENT_API_TOKEN: "tok_live_123" } } } }),
    );
    const r = cli(["review", "up", String(PR), "--overrides", broken, "--policy-pack", POLICY]);
    assert.strictEqual(r.code, 1, show(r));
    assert.match(r.stdout, /policy mandatory shop-guardrails\/no-secrets-in-configmaps .*secret-looking keys "PAYMENT_API_TOKEN": put them in a Secret/);
    assert.match(r.stderr, /policy check of pr-\d+ failed with \d+ mandatory violation\(s\), nothing was changed/);
    assert.ok(!namespaces().includes(REVIEW_NS), `namespace ${REVIEW_NS} was created`);
  });

  it("writes the review stack's preview as Markdown: the resources it would create and the violation", () => {
    const md = path.join(tmp, "review-preview.md");
    const r = cli(["preview", REVIEW_STACK, "--policy-pack", POLICY, "--markdown", md]);
    assert.strictEqual(r.code, 1, show(r));
    const text = fs.readFileSync(md, "utf8");
    assert.match(text, new RegExp(`^### ❌ Pulumi preview of \`shop/${REVIEW_STACK}\``));
    assert.match(text, /\*\*\d+\*\* to create/);
    for (const type of ["kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:ConfigMap", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"]) {
      const row = new RegExp(`^\\| create \\| \`[^\`]+\` \\| \`${type.replace(/[./]/g, "\\$&")}\` \\|`, "m");
      assert.match(text, row, `no ${type} to create in:\n${text}`);
    }
    assert.match(text, /- \*\*mandatory\*\* `shop-guardrails\/no-secrets-in-configmaps` on `[^`]+`: ConfigMap \S+ has secret-looking keys "PAYMENT_API_TOKEN": put them in a Secret/);
  });

  it("brings the review stack up in its own namespace with the smallest footprint", () => {
    const overrides = localOverrides();
    const good = writeYaml("good.yaml", overrides);
    const r = cli(["review", "up", String(PR), "--overrides", good, "--policy-pack", POLICY]);
    assert.strictEqual(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`review stack ${REVIEW_STACK}: namespace ${REVIEW_NS}, secrets shop:secrets`));
    assert.ok(namespaces().includes(REVIEW_NS));
    const deployments = kjson(["get", "deployments", "-n", REVIEW_NS]).items;
    assert.ok(deployments.length >= 4, `only ${deployments.length} Deployments`);
    for (const d of deployments) assert.strictEqual(d.spec.replicas, 1, d.metadata.name);
    assert.strictEqual(kjson(["get", "hpa", "-n", REVIEW_NS]).items.length, 0, "review stacks run no HPA");
    const statefulSets = kjson(["get", "statefulsets", "-n", REVIEW_NS]).items.map((s: any) => s.metadata.name).join(" ");
    assert.ok(!/prometheus|elasticsearch|alertmanager/.test(statefulSets), `monitoring/logging deployed: ${statefulSets}`);
    for (const pvc of kjson(["get", "pvc", "-n", REVIEW_NS]).items) {
      assert.strictEqual(pvc.spec.resources.requests.storage, "1Gi", pvc.metadata.name);
    }
    const generated = fs.readFileSync(path.join(CONFIG_DIR, `Pulumi.${REVIEW_STACK}.yaml`), "utf8");
    const state = sh("pulumi", ["stack", "export", "--stack", REVIEW_STACK]);
    for (const [k, v] of Object.entries(overrides["shop:secrets"] as Record<string, string>)) {
      assert.ok(!generated.includes(v), `secret ${k} is in the generated config in plain text`);
      assert.ok(!state.includes(v), `secret ${k} is in the state in plain text`);
    }
    assert.strictEqual(trackedChanges(), "", "a tracked stack file was modified");
  });

  it("destroys the review stack, leaving no namespace, stack or generated config behind", async () => {
    const r = cli(["review", "destroy", String(PR)]);
    assert.strictEqual(r.code, 0, show(r));
    assert.match(r.stdout, /^summary: 0 created, 0 updated, 0 replaced, \d+ deleted/m);
    await until(`namespace ${REVIEW_NS} to go`, () => (namespaces().includes(REVIEW_NS) ? undefined : true));
    assert.ok(!stacks().includes(REVIEW_STACK), "the review stack is still in the backend");
    assert.ok(!configFiles().includes(`Pulumi.${REVIEW_STACK}.yaml`), "the generated config is still there");
  });
});
