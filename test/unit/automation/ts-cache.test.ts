import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..", "..");
const HOOK = path.join(REPO, "automation", "ts-cache.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tsCache = require(HOOK) as {
  makeTranspiler: (dir: string | undefined, load?: () => unknown) => ((source: string, filename: string) => string) & { stats: { hits: number; misses: number } };
};

describe("automation/ts-cache.js: the CLI's transpile cache", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-ts-cache-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("transpiles once per source, then reads the cache without loading swc", () => {
    const cache = path.join(dir, "cache", "made-on-demand");
    const source = "const n: number = 1;\nexport class A { x = n; }\n";
    let loads = 0;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = () => (loads++, require("@swc/core"));
    const first = tsCache.makeTranspiler(cache, load)(source, "/x/a.ts");
    assert.match(first, /exports/);
    assert.doesNotMatch(first, /: number/);
    assert.equal(loads, 1);
    const again = tsCache.makeTranspiler(cache, load);
    assert.equal(again(source, "/x/a.ts"), first);
    assert.deepEqual(again.stats, { hits: 1, misses: 0 });
    assert.equal(loads, 1);
    // A changed source is transpiled again.
    assert.match(again(source.replace("1", "2"), "/x/a.ts"), /= 2/);
    assert.deepEqual(again.stats, { hits: 1, misses: 1 });
  });

  it("runs a TypeScript program preloaded, with __dirname of the .ts file, the same from the cache", () => {
    const file = path.join(dir, "main.ts");
    fs.writeFileSync(file, 'import * as path from "path";\nenum E { A = 3 }\nconst label: string = path.basename(__dirname);\nconsole.log(label, E.A);\n');
    const env = { PATH: process.env.PATH ?? "", SHOP_TS_CACHE: path.join(dir, "cache"), NODE_PATH: path.join(REPO, "node_modules") };
    const run = () => spawnSync(process.execPath, ["-r", HOOK, file], { cwd: REPO, env, encoding: "utf8", timeout: 60_000 });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.trim(), `${path.basename(dir)} 3`);
    assert.equal(fs.readdirSync(path.join(dir, "cache")).length, 1);
    const second = run();
    assert.equal(second.stdout, first.stdout);
  });

  it("runs the CLI as scripts/automation.sh does (usage errors need no cluster)", () => {
    const env = { PATH: process.env.PATH ?? "", HOME: dir, SHOP_CACHE: path.join(dir, "c"), SHOP_TS_CACHE: path.join(dir, "ts"), PULUMI_CONFIG_PASSPHRASE: "x" };
    const r = spawnSync(process.execPath, ["-r", HOOK, path.join(REPO, "automation", "cli.ts"), "deploy", "no-such-stack"], { cwd: REPO, env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown stack 'no-such-stack'/);
  });
});
