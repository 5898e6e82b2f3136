import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack, UpOptions } from "@pulumi/pulumi/automation";
import { fastStartEnv, resolveSettings, FAST_START } from "../../../automation/settings";
import {
  cachedPulumiVersion,
  checkpointFiles,
  existingStack,
  pulumiCommand,
  pulumiVersionCache,
  rememberPulumiVersion,
  stackExists,
  upWithoutReadback,
} from "../../../automation/stacks";

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "shop-stacks-"));
}

/** A fake `pulumi` in `<cache>/bin` that prints `version` and counts its runs in `<cache>/runs`. */
function fakePulumi(cache: string, version: string): string {
  const bin = path.join(cache, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const file = path.join(bin, "pulumi");
  fs.writeFileSync(file, `#!/bin/sh\necho x >> "${path.join(cache, "runs")}"\necho "${version}"\n`, { mode: 0o755 });
  return file;
}
const runs = (cache: string) => (fs.existsSync(path.join(cache, "runs")) ? fs.readFileSync(path.join(cache, "runs"), "utf8").split("\n").filter(Boolean).length : 0);

describe("automation/stacks: fewer pulumi processes per deploy", () => {
  describe("the toolchain's pulumi version, remembered per binary", () => {
    let cache: string;
    beforeEach(() => (cache = tmp()));
    afterEach(() => fs.rmSync(cache, { recursive: true, force: true }));
    const settings = () => resolveSettings({ HOME: cache, SHOP_CACHE: cache, PULUMI_CONFIG_PASSPHRASE: "x" });

    it("asks the binary once, then takes the remembered version (checked by the SDK's minimum)", async () => {
      fakePulumi(cache, "v3.274.1");
      const s = settings();
      const first = await pulumiCommand(s);
      assert.equal(runs(cache), 1);
      assert.equal(first.version?.toString(), "3.274.1");
      const second = await pulumiCommand(s);
      assert.equal(runs(cache), 1, "the binary was asked again");
      assert.equal(second.command, path.join(cache, "bin", "pulumi"));
      assert.equal(second.version?.toString(), "3.274.1");
      // A real SemVer, as the workspace compares it.
      assert.equal(second.version?.compare("3.91.0"), 1);
      // And a working command object.
      const r = await (second as unknown as { run: (a: string[], cwd: string, env: object) => Promise<{ stdout: string }> }).run(["version"], cache, {});
      assert.equal(r.stdout.trim(), "v3.274.1");
    });

    it("asks again when the binary changed (size or modification time)", async () => {
      const file = fakePulumi(cache, "v3.274.1");
      const s = settings();
      await pulumiCommand(s);
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("3.274.1", "3.280.0"));
      const cmd = await pulumiCommand(s);
      assert.equal(runs(cache), 2);
      assert.equal(cmd.version?.toString(), "3.280.0");
    });

    it("refuses a remembered version below the SDK's minimum, as the SDK does", async () => {
      const file = fakePulumi(cache, "v3.274.1");
      const s = settings();
      rememberPulumiVersion(pulumiVersionCache(s), file, "3.1.0");
      await assert.rejects(pulumiCommand(s), /Minimum version requirement failed/);
    });

    it("ignores a cache file that is unreadable or of another binary", () => {
      const file = fakePulumi(cache, "v3.274.1");
      const f = path.join(cache, "v.json");
      fs.writeFileSync(f, "{not json");
      assert.equal(cachedPulumiVersion(f, file), undefined);
      rememberPulumiVersion(f, file, "3.274.1");
      assert.equal(cachedPulumiVersion(f, file), "3.274.1");
      assert.equal(cachedPulumiVersion(f, path.join(cache, "runs-none")), undefined);
    });
  });

  describe("stack existence on a file backend", () => {
    it("names the live stack's checkpoint files, none for other backends", () => {
      assert.deepEqual(checkpointFiles("file:///s", "local"), ["/s/.pulumi/stacks/shop/local.json", "/s/.pulumi/stacks/shop/local.json.gz"]);
      assert.deepEqual(checkpointFiles("https://api.example", "local"), []);
    });

    it("knows a stack with a checkpoint without the CLI, and asks the CLI otherwise", async () => {
      const dir = tmp();
      try {
        const asked: string[] = [];
        const ws = {
          envVars: { PULUMI_BACKEND_URL: `file://${dir}` },
          listStacks: async () => {
            asked.push("ls");
            return [{ name: "other" }];
          },
        } as unknown as LocalWorkspace;
        fs.mkdirSync(path.join(dir, ".pulumi", "stacks", "shop"), { recursive: true });
        fs.writeFileSync(path.join(dir, ".pulumi", "stacks", "shop", "local.json"), "{}");
        fs.writeFileSync(path.join(dir, ".pulumi", "stacks", "shop", "gone.json.bak"), "{}");
        assert.equal(await stackExists(ws, "local"), true);
        assert.deepEqual(asked, []);
        assert.equal(await stackExists(ws, "gone"), false);
        assert.equal(await stackExists(ws, "other"), true);
        assert.deepEqual(asked, ["ls", "ls"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it("makes the Stack of a known stack without selecting it, and leaves the workspace as it was", async () => {
    const selected: string[] = [];
    const ws = { selectStack: async (n: string) => void selected.push(n) } as unknown as LocalWorkspace;
    const stack = await existingStack(ws, "local");
    assert.ok(stack instanceof Stack);
    assert.equal(stack.name, "local");
    assert.deepEqual(selected, []);
    await ws.selectStack("again");
    assert.deepEqual(selected, ["again"]);
  });

  it("runs the update without reading outputs and history back, then restores the stack's methods", async () => {
    const reads: string[] = [];
    class FakeStack {
      async outputs() {
        reads.push("outputs");
        return { a: { value: 1, secret: false } };
      }
      async info() {
        reads.push("history");
        return { kind: "update" };
      }
      // As the SDK's up does: the update, then the reads.
      async up(opts: UpOptions) {
        const outputs = await this.outputs();
        const summary = await this.info();
        return { stdout: String(opts.configFile), stderr: "", outputs, summary };
      }
    }
    const stack = new FakeStack();
    const r = await upWithoutReadback(stack as unknown as Stack, { configFile: "c.yaml" });
    assert.equal(r.stdout, "c.yaml");
    assert.deepEqual(r.outputs, {});
    assert.equal(r.summary, undefined);
    assert.deepEqual(reads, []);
    assert.deepEqual(await stack.outputs(), { a: { value: 1, secret: false } });
    assert.deepEqual(reads, ["outputs"]);
  });
});

describe("automation/stacks: SHOP_FAST_START=0, as before the shortcuts", () => {
  const saved = process.env.SHOP_FAST_START;
  beforeEach(() => (process.env.SHOP_FAST_START = "0"));
  afterEach(() => (saved === undefined ? delete process.env.SHOP_FAST_START : (process.env.SHOP_FAST_START = saved)));

  it("asks the binary its version every time", async () => {
    const cache = tmp();
    try {
      fakePulumi(cache, "v3.274.1");
      const s = resolveSettings({ HOME: cache, SHOP_CACHE: cache, PULUMI_CONFIG_PASSPHRASE: "x" });
      await pulumiCommand(s);
      await pulumiCommand(s);
      assert.equal(runs(cache), 2);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it("selects the stack and reads back the update's outputs and history", async () => {
    const selected: string[] = [];
    const ws = { selectStack: async (n: string) => void selected.push(n) } as unknown as LocalWorkspace;
    await existingStack(ws, "local");
    assert.deepEqual(selected, ["local"]);
    const reads: string[] = [];
    const stack = {
      outputs: async () => void reads.push("outputs"),
      info: async () => void reads.push("history"),
      async up() {
        await this.outputs();
        await this.info();
        return {};
      },
    };
    await upWithoutReadback(stack as unknown as Stack, {});
    assert.deepEqual(reads, ["outputs", "history"]);
  });
});

describe("automation/settings: the fast-start hook for the program's processes", () => {
  it("adds --require of the hook to NODE_OPTIONS once, and the compile cache under the toolchain cache", () => {
    const env = fastStartEnv({ NODE_OPTIONS: "--max-old-space-size=2048" }, "/c");
    assert.deepEqual(env, { SHOP_NODE_COMPILE_CACHE: "/c/node-compile-cache", NODE_OPTIONS: `--max-old-space-size=2048 --require ${FAST_START}` });
    assert.equal(fastStartEnv({ NODE_OPTIONS: env.NODE_OPTIONS }, "/c").NODE_OPTIONS, env.NODE_OPTIONS);
  });

  it("quotes a hook path with blanks as Node reads NODE_OPTIONS", () => {
    assert.equal(fastStartEnv({}, "/c", '/a b/"h".js').NODE_OPTIONS, '--require "/a b/\\"h\\".js"');
  });

  it("is turned off by SHOP_FAST_START=0, and the cache by an empty SHOP_NODE_COMPILE_CACHE", () => {
    assert.deepEqual(fastStartEnv({ SHOP_FAST_START: "0", SHOP_NODE_COMPILE_CACHE: "" }, "/c"), { SHOP_NODE_COMPILE_CACHE: "" });
    assert.equal(resolveSettings({ PULUMI_CONFIG_PASSPHRASE: "x", SHOP_CACHE: "/c" }).env.NODE_OPTIONS, `--require ${FAST_START}`);
  });
});
