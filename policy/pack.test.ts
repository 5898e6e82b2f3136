import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as path from "path";

describe("the policy pack as an analyzer plugin", function () {
  this.timeout(120_000);

  it("starts from policy/analyzer.sh and announces its gRPC port, as the Pulumi CLI expects", async () => {
    const launcher = path.join(__dirname, "analyzer.sh");
    // The engine address is only used once the CLI calls in; the pack must start without it.
    const child = spawn(launcher, ["127.0.0.1:1"], { cwd: path.resolve(__dirname, ".."), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on("data", (d) => {
          stdout += d;
          const m = /^(\d+)\s*$/m.exec(stdout);
          if (m) resolve(Number(m[1]));
        });
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => reject(new Error(`the pack exited with ${code} before announcing a port:\n${stdout}\n${stderr}`)));
      });
      assert.ok(port > 0 && port < 65536, `port ${port}`);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
