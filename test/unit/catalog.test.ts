import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BINARIES, CATALOG } from "../../catalog";

const ROOT = path.join(__dirname, "..", "..");

describe("catalog (the one service list)", () => {
  it("names exactly the binaries services/cmd/ holds, each with a main.go", () => {
    const cmd = path.join(ROOT, "services", "cmd");
    const dirs = fs.readdirSync(cmd, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    assert.deepStrictEqual([...dirs].sort(), [...BINARIES].sort(), "services/cmd/ and BINARIES in catalog.ts differ: add or remove the binary in both");
    for (const b of BINARIES) assert.ok(fs.existsSync(path.join(cmd, b, "main.go")), `services/cmd/${b}/main.go is missing`);
  });

  it("describes every binary, and each call names a binary of the list", () => {
    assert.deepStrictEqual(Object.keys(CATALOG).sort(), [...BINARIES].sort());
    for (const [b, spec] of Object.entries(CATALOG)) {
      for (const c of spec.calls) assert.ok((BINARIES as readonly string[]).includes(c), `${b} calls unknown binary ${c}`);
    }
  });

  it("prints the list for the scripts (scripts/images.sh builds one image per line)", () => {
    const out = execFileSync(process.execPath, ["-r", require.resolve("ts-node/register"), path.join(ROOT, "catalog.ts"), "binaries"], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
      encoding: "utf8",
    });
    assert.deepStrictEqual(out.trim().split("\n"), [...BINARIES]);
  });

  it("is the list scripts/images.sh builds: the script keeps no copy of its own", () => {
    const script = fs.readFileSync(path.join(ROOT, "scripts", "images.sh"), "utf8");
    assert.match(script, /catalog\.ts" binaries/);
    assert.doesNotMatch(script, new RegExp(BINARIES.join("\\s+")), "scripts/images.sh lists the binaries itself");
  });
});
