import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..", "..");
const HOOK = path.join(REPO, "automation", "fast-start.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hook = require(HOOK) as {
  isPromiseStack: (trace: unknown) => boolean;
  plainStack: (error: unknown, trace: NodeJS.CallSite[]) => string;
  installPlainPromiseStacks: (ErrorCtor?: ErrorConstructor) => () => void;
  cachePrefix: (entry: string | undefined) => string;
  installCompileCache: (dir: string | undefined, entry: string | undefined) => { uninstall: () => void } | undefined;
};

/** A stack recorded the way the SDK's debuggablePromise records one. */
function debuggablePromise(): string {
  return new Error().stack as string;
}

function node(args: string[], env: Record<string, string>, cwd = REPO) {
  const res = spawnSync(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe("automation/fast-start.js", () => {
  describe("the SDK's promise stacks", () => {
    let uninstall: () => void;
    let calls: number;
    let saved: unknown;
    beforeEach(() => {
      saved = Error.prepareStackTrace;
      calls = 0;
      uninstall = hook.installPlainPromiseStacks();
      Error.prepareStackTrace = (error, trace) => {
        calls++;
        return `MAPPED ${(error as Error).message} ${trace.length}`;
      };
    });
    afterEach(() => {
      uninstall();
      Error.prepareStackTrace = saved as typeof Error.prepareStackTrace;
    });

    it("formats a debuggablePromise stack plainly, without the installed (mapping) formatter", () => {
      const stack = debuggablePromise();
      assert.equal(calls, 0);
      assert.match(stack, /^Error\n {4}at debuggablePromise \(.*fast-start\.test\.ts:\d+:\d+\)\n {4}at /);
    });

    it("hands every other stack to the installed formatter (the user's errors keep their mapped positions)", () => {
      assert.match(new Error("boom").stack as string, /^MAPPED boom \d+$/);
      assert.equal(calls, 1);
    });

    it("keeps the save/restore idiom: reading it and assigning it back restores the same formatter", () => {
      const old = Error.prepareStackTrace;
      Error.prepareStackTrace = (_e, trace) => trace;
      const sites = new Error().stack as unknown as NodeJS.CallSite[];
      Error.prepareStackTrace = old;
      assert.ok(Array.isArray(sites) && typeof sites[0].getFileName === "function");
      assert.match(new Error("again").stack as string, /^MAPPED again /);
    });

    it("formats as Node does when no formatter is installed", () => {
      (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
      assert.match(new Error("plain").stack as string, /^Error: plain\n {4}at /);
    });

    it("is installed once: a second install returns the same uninstall", () => {
      assert.equal(hook.installPlainPromiseStacks(), uninstall);
    });
  });

  it("formats a frame as name (file:line:column), without the receiver's type", () => {
    const frame = (name: string | null, file: string | null, extra: Record<string, unknown> = {}) =>
      ({ getFunctionName: () => name, getFileName: () => file, getLineNumber: () => 3, getColumnNumber: () => 7, isEval: () => false, isAsync: () => false, ...extra }) as unknown as NodeJS.CallSite;
    assert.equal((hook as any).frameText(frame("f", "/a.js")), "f (/a.js:3:7)");
    assert.equal((hook as any).frameText(frame(null, "/a.js")), "/a.js:3:7");
    assert.equal((hook as any).frameText(frame("g", null)), "g (<anonymous>:3:7)");
    assert.equal((hook as any).frameText(frame("h", "/b.js", { isAsync: () => true })), "async h (/b.js:3:7)");
  });

  it("defers a module until it is used; the SDK still gets npm's arborist and TypeScript when it uses them", () => {
    const script = `
      const hook = require(${JSON.stringify(HOOK)});
      hook.deferModules(["js-yaml", "@npmcli/arborist", "typescript"]);
      const loaded = (m) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + m + "/"));
      const y = require("js-yaml");
      const before = loaded("js-yaml");
      // TypeScript's import helper keeps a module that says __esModule as it is.
      const esm = y.__esModule === true;
      const text = y.dump({ a: 1 }).trim();
      const after = loaded("js-yaml");
      const keys = Object.keys(y).includes("dump");
      require("@pulumi/pulumi");
      const sdkLoadedArborist = loaded("@npmcli/arborist");
      const { Arborist } = require("@npmcli/arborist");
      const sdkLoadedTypeScript = loaded("typescript");
      // The SDK parses a function with TypeScript when it serialises one (as for a dynamic provider).
      require("@pulumi/pulumi").runtime.serializeFunction(() => 42).then((f) => {
        console.log(JSON.stringify({ before, esm, text, after, keys, sdkLoadedArborist, arborist: typeof Arborist, sdkLoadedTypeScript, serialised: /42/.test(f.text), typescript: loaded("typescript") }));
      });
    `;
    const r = node(["-e", script], { NODE_PATH: path.join(REPO, "node_modules") });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      before: false, esm: true, text: "a: 1", after: true, keys: true, sdkLoadedArborist: false, arborist: "function",
      sdkLoadedTypeScript: false, serialised: true, typescript: true,
    });
  });

  it("tells a debuggablePromise trace from others", () => {
    assert.equal(hook.isPromiseStack([{ getFunctionName: () => "debuggablePromise" }]), true);
    assert.equal(hook.isPromiseStack([{ getFunctionName: () => "other" }]), false);
    assert.equal(hook.isPromiseStack([]), false);
    assert.equal(hook.isPromiseStack(undefined), false);
  });

  it("names a cache by the entry script's last three path parts", () => {
    assert.equal(hook.cachePrefix("/x/node_modules/@pulumi/pulumi/cmd/run"), "pulumi_cmd_run");
    assert.equal(hook.cachePrefix(undefined), "node");
  });

  it("makes no compile cache without a folder", () => {
    assert.equal(hook.installCompileCache(undefined, "/x/y.js"), undefined);
  });

  it("preloaded: keeps compiled code in the cache folder, made on demand, and runs the same from it", function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-fast-start-"));
    try {
      const cache = path.join(dir, "cache", "nested");
      const script = path.join(dir, "main.js");
      fs.writeFileSync(script, 'const y = require("js-yaml"); console.log(y.dump({ a: [1, 2] }).trim().split("\\n").join("|"));\n');
      const env = { SHOP_NODE_COMPILE_CACHE: cache, NODE_PATH: path.join(REPO, "node_modules") };
      const first = node(["-r", HOOK, script], env);
      assert.equal(first.code, 0, first.stderr);
      const files = fs.readdirSync(path.join(cache, process.versions.v8));
      assert.ok(files.some((f) => f.endsWith("main.js.BLOB")), files.join(", "));
      const second = node(["-r", HOOK, script], env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, first.stdout);
      assert.equal(first.stdout.trim(), "a:|  - 1|  - 2");
      // Off: nothing is written.
      const off = node(["-r", HOOK, script], { ...env, SHOP_NODE_COMPILE_CACHE: path.join(dir, "off"), SHOP_FAST_START: "0" });
      assert.equal(off.code, 0, off.stderr);
      assert.equal(fs.existsSync(path.join(dir, "off")), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("preloaded: a process ended by SIGINT (as the engine ends the dynamic providers' one) saves its cache and still ends by the signal", function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-fast-start-"));
    try {
      const cache = path.join(dir, "cache");
      const script = path.join(dir, "provider.js");
      fs.writeFileSync(script, 'require("js-yaml"); process.stdout.write("ready\\n"); setInterval(() => {}, 1000);\n');
      const res = spawnSync("sh", ["-c", `node -r "${HOOK}" "${script}" & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo "status $?"`], {
        env: { PATH: process.env.PATH ?? "", SHOP_NODE_COMPILE_CACHE: cache, NODE_PATH: path.join(REPO, "node_modules") },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.match(res.stdout, /ready\nstatus 130/, res.stderr);
      assert.ok(fs.readdirSync(path.join(cache, process.versions.v8)).some((f) => f.endsWith("provider.js.BLOB")));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("makes no compile cache for a process without an entry script (node -e)", () => {
    assert.equal(hook.installCompileCache("/nonexistent", undefined), undefined);
  });

  it("preloaded before ts-node: a TypeScript error still points at its TypeScript line", function () {
    this.timeout(120_000);
    // Inside the repository (ts-node and its swc are resolved from there), in its ignored scratch folder.
    fs.mkdirSync(path.join(REPO, ".tmp"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(REPO, ".tmp", "fast-start-"));
    try {
      const file = path.join(dir, "fails.ts");
      // Line 4 in TypeScript; the types and blank lines make the emitted JavaScript's line differ.
      fs.writeFileSync(file, "interface A {\n  a: number;\n}\nexport function f(x: A): never { throw new Error(`bad ${x.a}`); }\nf({ a: 1 });\n");
      const r = node(["-r", HOOK, "-r", "ts-node/register", file], { TS_NODE_TRANSPILE_ONLY: "true", TS_NODE_PROJECT: path.join(REPO, "tsconfig.json") });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Error: bad 1\n\s+at f \(.*fails\.ts:4:\d+\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
