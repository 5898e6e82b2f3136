import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { UsageError } from "../../../automation/errors";
import { Settings, resolveSettings } from "../../../automation/settings";
import {
  GENERATED_SECRETS,
  StackBackend,
  composeConfig,
  keepSecrets,
  makeStackFile,
  missingSecrets,
  readStackFileConfig,
  readYaml,
  stackFileRequest,
  writeStackFileConfig,
} from "../../../automation/stack-file";
import { openWorkspace, pulumiStackBackend } from "../../../automation/stacks";

const REPO = path.resolve(__dirname, "..", "..", "..");
const DIGEST = (c: string) => c.repeat(64);
const DOCKER = "unix:///run/shop/docker.sock";

/** A repository folder with the project file and committed stack files `files` (name -> config). */
function fixtureRepo(files: Record<string, unknown> = { local: { "shop:environment": "local", "shop:images": { build: { network: "host" } } } }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-stack-file-"));
  fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const [stack, config] of Object.entries(files)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
  fs.mkdirSync(path.join(dir, "run"));
  return dir;
}

/** Settings of a fixture repository: its own state, generated config and run folders. */
function settings(repo: string, env: NodeJS.ProcessEnv = {}): Settings {
  return resolveSettings(
    { HOME: repo, PULUMI_CONFIG_PASSPHRASE: "test", PULUMI_BACKEND_URL: `file://${path.join(repo, ".pulumi-state")}`, SHOP_RUN: path.join(repo, "run"), ...env },
    repo,
  );
}

function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** Calls `fn`, which must throw a `UsageError` whose message matches `pattern`. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message) ? true : assert.fail(`got ${String(e)}, want a UsageError matching ${pattern}`));
}

/**
 * A state backend in memory: `init` returns a salt, `setSecret` stores a digest of the value as the
 * file's `secure:` entry (the stand-in for Pulumi's encryption) and records the plain value.
 */
class FakeBackend implements StackBackend {
  readonly stacks = new Set<string>();
  readonly inits: string[] = [];
  readonly secrets = new Map<string, string>();
  async exists(stack: string) {
    return this.stacks.has(stack);
  }
  async init(stack: string) {
    this.stacks.add(stack);
    this.inits.push(stack);
    return { encryptionsalt: `v1:salt-of-${stack}-${this.inits.length}` };
  }
  async secretNames(_stack: string, file: string) {
    return Object.keys(readStackFileConfig(file)["shop:secrets"] as object);
  }
  async setSecret(_stack: string, file: string, key: string, value: string) {
    this.secrets.set(key, value);
    const config = readStackFileConfig(file);
    const [top, name] = key.split(".");
    config[top] = { ...(config[top] as object), [name]: { secure: `v1:${crypto.createHash("sha256").update(value).digest("base64")}` } };
    writeStackFileConfig(file, config);
  }
}

describe("stack-file: the config of a generated stack file", () => {
  const base = { "shop:environment": "local", "shop:namespace": "shop-local", "shop:logLevel": "info", "shop:images": { build: { network: "host", platform: "linux/amd64" } }, "shop:order": { paymentTimeout: "2m" } };

  it("deep-merges the overrides over the committed config: mappings key by key, anything else replaced", () => {
    const config = composeConfig({ base, overrides: { "shop:namespace": "shop-bench", "shop:images": { build: { platform: "linux/arm64" } }, "shop:routing": { host: "bench.localhost" } }, dockerHost: DOCKER });
    assert.equal(config["shop:namespace"], "shop-bench");
    assert.deepEqual(config["shop:images"], { build: { network: "host", platform: "linux/arm64" } });
    assert.deepEqual(config["shop:routing"], { host: "bench.localhost" });
    assert.deepEqual(config["shop:order"], { paymentTimeout: "2m" });
  });

  it("removes a key the overrides set to null, at the top and nested", () => {
    const config = composeConfig({ base, overrides: { "shop:logLevel": null, "shop:images": { build: { network: null } } }, dockerHost: DOCKER });
    assert.ok(!("shop:logLevel" in config), "shop:logLevel is still there");
    assert.deepEqual(config["shop:images"], { build: { platform: "linux/amd64" } });
  });

  it("sets the images' digests as shop:images.prebuilt, next to the committed image settings", () => {
    const prebuilt = { gateway: `127.0.0.1:5000/shop/gateway@sha256:${DIGEST("a")}`, order: `127.0.0.1:5000/shop/order@sha256:${DIGEST("b")}` };
    const config = composeConfig({ base, images: prebuilt, dockerHost: DOCKER });
    assert.deepEqual(config["shop:images"], { build: { network: "host", platform: "linux/amd64" }, prebuilt });
  });

  it("sets the third-party images built here under the program's names; a key the config sets itself wins", () => {
    const built = { mariadb: "r/mariadb@sha256:1", redis: "r/redis@sha256:2", rabbitmq: "r/rabbitmq@sha256:3", prometheus: "r/prometheus@sha256:4", pause: "r/pause@sha256:5", traefik: "r/traefik@sha256:6" };
    const config = composeConfig({
      base,
      overrides: { "shop:images": { thirdParty: { redis: "mirror/redis@sha256:own" } }, "shop:dataStores": { rabbitmq: { image: "mirror/rabbitmq:own" } } },
      thirdParty: built,
      dockerHost: DOCKER,
    });
    // mariadb stands in for mysql; the cluster's own images (pause, traefik) are not the program's.
    assert.deepEqual((config["shop:images"] as any).thirdParty, { redis: "mirror/redis@sha256:own", mysql: "r/mariadb@sha256:1", prometheus: "r/prometheus@sha256:4" });
    assert.deepEqual(config["shop:dataStores"], { rabbitmq: { image: "mirror/rabbitmq:own" } });
  });

  it("names the docker host unless the config does", () => {
    assert.deepEqual(composeConfig({ base, dockerHost: DOCKER })["shop:docker"], { host: DOCKER });
    assert.deepEqual(composeConfig({ base: { ...base, "shop:docker": { host: "tcp://builder:2375" } }, dockerHost: DOCKER })["shop:docker"], { host: "tcp://builder:2375" });
  });

  it("keeps the last generation's secrets unless the config sets shop:secrets", () => {
    const previous = { "shop:secrets": { jwtKey: { secure: "v1:old" } } };
    assert.deepEqual(keepSecrets({ "shop:namespace": "a" }, previous), { "shop:namespace": "a", ...previous });
    const own = { "shop:secrets": { jwtKey: { secure: "v1:own" } } };
    assert.deepEqual(keepSecrets(own, previous), own);
    assert.deepEqual(missingSecrets(["jwtKey", "elasticPassword"]), GENERATED_SECRETS.filter((k) => k !== "jwtKey" && k !== "elasticPassword"));
  });

  it("refuses a config the harness cannot add to, naming the key", () => {
    refused(() => composeConfig({ base: { ...base, "shop:docker": "unix:///x.sock" }, dockerHost: DOCKER }), /^shop:docker: must be a mapping for the harness to add shop:docker.host, got string "unix:\/\/\/x.sock"/);
    refused(() => composeConfig({ base: { ...base, "shop:images": ["x"] }, thirdParty: {}, dockerHost: DOCKER }), /^shop:images: must be a mapping .* got a list/);
  });
});

describe("stack-file: the inputs, from the command line and the environment", () => {
  let repo: string;
  beforeEach(() => (repo = fixtureRepo()));
  afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

  it("reads BASE_STACK, OVERRIDES, the images, THIRD_PARTY_IMAGES=1, GENERATE_SECRETS and DOCKER_HOST", () => {
    const overrides = write(repo, "ov.yaml", "shop:namespace: shop-bench\n");
    const images = write(repo, "images.json", JSON.stringify({ gateway: `g@sha256:${DIGEST("c")}` }));
    write(path.join(repo, "run"), "third-party-images.json", JSON.stringify({ redis: "r/redis@sha256:2" }));
    const env = { BASE_STACK: "local", OVERRIDES: overrides, THIRD_PARTY_IMAGES: "1", GENERATE_SECRETS: "0", DOCKER_HOST: "tcp://d:2375" };
    const req = stackFileRequest(settings(repo), env, "bench", images);
    assert.equal(req.file, path.join(repo, ".pulumi-state", "config", "Pulumi.bench.yaml"));
    assert.equal(req.generateSecrets, false);
    assert.deepEqual(composeConfig(req.parts), {
      "shop:environment": "local",
      "shop:namespace": "shop-bench",
      "shop:images": { build: { network: "host" }, prebuilt: { gateway: `g@sha256:${DIGEST("c")}` }, thirdParty: { redis: "r/redis@sha256:2" } },
      "shop:docker": { host: "tcp://d:2375" },
    });
  });

  it("defaults: the stack's own committed file, secrets generated, the local engine's socket, no third-party images (unset or 0)", () => {
    for (const tp of [undefined, "", "0"]) {
      const req = stackFileRequest(settings(repo), { THIRD_PARTY_IMAGES: tp }, "local");
      assert.equal(req.generateSecrets, true);
      assert.equal(req.parts.thirdParty, undefined);
      assert.equal(req.parts.dockerHost, `unix://${path.join(repo, "run", "docker.sock")}`);
    }
  });

  it("refuses bad input before anything is touched, naming the variable, file or key at fault", () => {
    const s = settings(repo);
    refused(() => stackFileRequest(s, {}, "staging"), /^no Pulumi\.staging\.yaml in the repo \(stacks: local\)$/);
    refused(() => stackFileRequest(s, { BASE_STACK: "staging" }, "bench"), /^no Pulumi\.staging\.yaml in the repo \(BASE_STACK\) \(stacks: local\)$/);
    refused(() => stackFileRequest(s, { BASE_STACK: "../local" }, "bench"), /^BASE_STACK=\.\.\/local: not a stack name/);
    refused(() => stackFileRequest(s, {}, "a/b"), /^bad stack name 'a\/b'/);
    refused(() => stackFileRequest(s, { OVERRIDES: path.join(repo, "missing.yaml") }, "local"), /^overrides file .*missing\.yaml not found \(OVERRIDES\)$/);
    refused(() => stackFileRequest(s, { OVERRIDES: write(repo, "list.yaml", "- a\n") }, "local"), /^overrides file \(OVERRIDES\) .*list\.yaml: must be a YAML map of config keys .* got a list$/);
    refused(() => stackFileRequest(s, { OVERRIDES: write(repo, "bad.yaml", "a: [\n") }, "local"), /^overrides file \(OVERRIDES\) .*bad\.yaml is not YAML/);
    refused(() => stackFileRequest(s, {}, "local", path.join(repo, "missing.json")), /^images file .*missing\.json not found$/);
    refused(() => stackFileRequest(s, {}, "local", write(repo, "images.json", "[]")), /^images file .*images\.json: must be a JSON object of names to images, got a list$/);
    refused(() => stackFileRequest(s, { THIRD_PARTY_IMAGES: "1" }, "local"), /^third-party images file .*third-party-images\.json not found \(THIRD_PARTY_IMAGES=1\); run scripts\/images\.sh third-party first$/);
    refused(() => stackFileRequest(s, { OVERRIDES: write(repo, "docker.yaml", "shop:docker: tcp://d:2375\n") }, "local"), /^shop:docker: must be a mapping/);
    assert.ok(!fs.existsSync(path.join(repo, ".pulumi-state")), "a refused run created the state folder");
  });
});

describe("stack-file: making the file", () => {
  let repo: string;
  beforeEach(() => (repo = fixtureRepo()));
  afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

  it("creates a new stack: its salt, the config, and every secret generated through the backend, encrypted", async () => {
    const backend = new FakeBackend();
    const file = await makeStackFile(backend, stackFileRequest(settings(repo), {}, "local"));
    assert.deepEqual(backend.inits, ["local"]);
    const text = fs.readFileSync(file, "utf8");
    const doc = yaml.load(text) as any;
    assert.equal(doc.encryptionsalt, "v1:salt-of-local-1");
    assert.deepEqual(Object.keys(doc.config["shop:secrets"]), [...GENERATED_SECRETS]);
    for (const k of GENERATED_SECRETS) {
      const value = backend.secrets.get(`shop:secrets.${k}`)!;
      assert.match(value, /^[0-9a-f]{48}$/, `${k} is not 48 hex digits`);
      assert.ok(!text.includes(value), `the plain value of ${k} is in the file`);
      assert.match(doc.config["shop:secrets"][k].secure, /^v1:/);
    }
    assert.equal(new Set(backend.secrets.values()).size, GENERATED_SECRETS.length, "two secrets got the same value");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it("remakes an existing stack's file with its salt and secrets, generating only the missing ones", async () => {
    const backend = new FakeBackend();
    const s = settings(repo);
    const file = await makeStackFile(backend, stackFileRequest(s, {}, "local"));
    const first = readYaml(file);
    const config = readStackFileConfig(file);
    delete (config["shop:secrets"] as any).jwtKey;
    writeStackFileConfig(file, config);
    backend.secrets.clear();
    await makeStackFile(backend, stackFileRequest(s, { OVERRIDES: write(repo, "ov.yaml", "shop:namespace: shop-x\n") }, "local"));
    const second = readYaml(file);
    assert.deepEqual(backend.inits, ["local"], "the stack was created again");
    assert.equal(second.encryptionsalt, first.encryptionsalt);
    assert.equal(second.config["shop:namespace"], "shop-x");
    assert.deepEqual([...backend.secrets.keys()], ["shop:secrets.jwtKey"]);
    for (const k of GENERATED_SECRETS.filter((k) => k !== "jwtKey")) assert.deepEqual(second.config["shop:secrets"][k], first.config["shop:secrets"][k], `${k} changed`);
  });

  it("stops when the stack's secrets cannot be read, rather than generating over them", async () => {
    const backend = new FakeBackend();
    const s = settings(repo);
    await makeStackFile(backend, stackFileRequest(s, {}, "local"));
    backend.secrets.clear();
    backend.secretNames = async () => {
      throw new Error("pulumi config get shop:secrets failed: incorrect passphrase");
    };
    await assert.rejects(makeStackFile(backend, stackFileRequest(s, {}, "local")), /incorrect passphrase/);
    assert.equal(backend.secrets.size, 0, "a secret was generated");
  });

  it("generates no secret with GENERATE_SECRETS=0", async () => {
    const backend = new FakeBackend();
    const file = await makeStackFile(backend, stackFileRequest(settings(repo), { GENERATE_SECRETS: "0" }, "local"));
    assert.equal(backend.secrets.size, 0);
    assert.ok(!("shop:secrets" in readStackFileConfig(file)));
  });

  it("drops the file of an earlier stack of the same name: its secrets were encrypted with another salt", async () => {
    const backend = new FakeBackend();
    const s = settings(repo);
    const file = await makeStackFile(backend, stackFileRequest(s, {}, "local"));
    const old = readYaml(file);
    backend.stacks.delete("local"); // `pulumi stack rm local`
    await makeStackFile(backend, stackFileRequest(s, {}, "local"));
    const renewed = readYaml(file);
    assert.notEqual(renewed.encryptionsalt, old.encryptionsalt);
    for (const k of GENERATED_SECRETS) assert.notDeepEqual(renewed.config["shop:secrets"][k], old.config["shop:secrets"][k], `${k} was kept`);
  });

  it("refuses an existing stack whose generated file is gone, saying how to recover", async () => {
    const backend = new FakeBackend();
    backend.stacks.add("local");
    await assert.rejects(
      makeStackFile(backend, stackFileRequest(settings(repo), {}, "local")),
      (e: Error) => e instanceof UsageError && /^stack 'local' exists in file:.* but its generated config .*Pulumi\.local\.yaml is gone; remove the stack \(pulumi stack rm local --force\) or restore the file$/.test(e.message),
    );
  });
});

/** The Pulumi CLI the harness uses (its toolchain's, else one on PATH), if there is one. */
function pulumiCli(): string | undefined {
  const toolchain = path.join(resolveSettings({ ...process.env, PULUMI_CONFIG_PASSPHRASE: "x", KUBECONFIG: "" }).toolBin, "pulumi");
  if (fs.existsSync(toolchain)) return toolchain;
  try {
    return execFileSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe("stack-file with the Pulumi CLI: secrets are stored encrypted", function () {
  this.timeout(120_000);
  const cli = pulumiCli();
  let repo: string;
  const saved = { ...process.env };
  before(function () {
    // The CI's unit-test job has no Pulumi CLI; the local harness (and every deploy job) does.
    if (!cli) this.skip();
    repo = fixtureRepo();
    // The CLI runs with the process environment plus the settings' (the passphrase comes from the former).
    process.env.PULUMI_CONFIG_PASSPHRASE = "test";
    delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  });
  after(() => {
    for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
  });

  it("creates the stack, encrypts every generated secret, and keeps them when the file is remade", async () => {
    const s = settings(repo, { PULUMI_HOME: path.join(repo, "pulumi-home"), SHOP_CACHE: path.dirname(path.dirname(cli!)) });
    const ws = await openWorkspace(s);
    const backend = pulumiStackBackend(ws, s);
    const file = await makeStackFile(backend, stackFileRequest(s, {}, "local"));
    const text = fs.readFileSync(file, "utf8");
    const doc = yaml.load(text) as any;
    assert.match(doc.encryptionsalt, /^v1:/);
    const shown = JSON.parse(
      execFileSync(cli!, ["config", "--stack", "local", "--config-file", file, "--show-secrets", "--json"], { cwd: ws.workDir, env: { ...process.env, ...s.env }, encoding: "utf8" }),
    );
    assert.equal(shown["shop:secrets"].secret, true);
    const values = shown["shop:secrets"].objectValue as Record<string, string>;
    assert.deepEqual(Object.keys(values).sort(), [...GENERATED_SECRETS].sort());
    for (const [k, v] of Object.entries(values)) {
      assert.match(v, /^[0-9a-f]{48}$/, `${k} is not 48 hex digits`);
      assert.ok(!text.includes(v), `the plain value of ${k} is in the file`);
      assert.match(doc.config["shop:secrets"][k].secure, /^v1:/, `${k} is not encrypted`);
    }
    assert.deepEqual((await backend.secretNames("local", file)).sort(), [...GENERATED_SECRETS].sort());

    await makeStackFile(backend, stackFileRequest(s, { GENERATE_SECRETS: "1" }, "local"));
    const again = readYaml(file);
    assert.equal(again.encryptionsalt, doc.encryptionsalt);
    assert.deepEqual(again.config["shop:secrets"], doc.config["shop:secrets"]);
  });
});
