/**
 * Times the whole program's evaluation under Pulumi mocks (config load + validation + every resource
 * registration, until every output resolved): the dev stack as committed, then synthetic configs of
 * 10, 50 and 100 services (the four real ones plus extra services cycling over the binaries).
 * Prints a table and the 100/10 ratio. Usage: npx ts-node bench/program-eval.ts [runs per case, default 5]
 */
import * as h from "../test/unit/harness";
import * as pulumi from "@pulumi/pulumi";
import { BINARIES } from "../config";
import { loadConfig } from "../config";
import { deployPlatform } from "../platform";

const RUNS = Math.max(1, Number(process.argv[2] ?? 5));

/** One evaluation: returns milliseconds and the number of resources registered. */
async function evaluate(stack: string, config: Record<string, unknown>, secretKeys: string[]): Promise<{ ms: number; resources: number }> {
  await h.reset(stack, config, secretKeys);
  const t0 = process.hrtime.bigint();
  const out = deployPlatform(loadConfig());
  const all = [out.namespace, out.apiUrl, ...Object.values(out.imageDigests), ...Object.values(out.serviceEndpoints)];
  await h.promiseOf(pulumi.all(all));
  await h.settle();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, resources: h.recorded.length };
}

function synthetic(total: number): { config: Record<string, unknown>; secretKeys: string[] } {
  const { config, secretKeys } = h.stackFile("dev");
  const services: Record<string, unknown> = { ...(config["shop:services"] as object) };
  for (let i = BINARIES.length + 1; i <= total; i++) {
    const name = `svc-${String(i).padStart(3, "0")}`;
    services[name] = { binary: BINARIES[i % BINARIES.length], replicas: 1, env: { INSTANCE: name } };
  }
  return { config: { ...config, "shop:services": services }, secretKeys };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const cases: [string, { config: Record<string, unknown>; secretKeys: string[] }][] = [
    ["dev stack (4 services)", h.stackFile("dev")],
    ["synthetic 10 services", synthetic(10)],
    ["synthetic 50 services", synthetic(50)],
    ["synthetic 100 services", synthetic(100)],
  ];
  // Warm-up: module loading and JIT would otherwise be billed to the first case.
  await evaluate("dev", cases[0][1].config, cases[0][1].secretKeys);

  const results: Record<string, { ms: number; resources: number }> = {};
  console.log(`program evaluation under mocks, median of ${RUNS} runs (node ${process.version})`);
  console.log("case                        resources   median ms    min ms    max ms   ms/resource");
  for (const [label, c] of cases) {
    const times: number[] = [];
    let resources = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await evaluate("dev", c.config, c.secretKeys);
      times.push(r.ms);
      resources = r.resources;
    }
    const m = median(times);
    results[label] = { ms: m, resources };
    console.log(
      `${label.padEnd(26)} ${String(resources).padStart(10)} ${m.toFixed(0).padStart(11)} ${Math.min(...times).toFixed(0).padStart(9)} ${Math.max(...times).toFixed(0).padStart(9)} ${(m / resources).toFixed(2).padStart(13)}`,
    );
  }
  const r10 = results["synthetic 10 services"];
  const r100 = results["synthetic 100 services"];
  const ratio = r100.ms / r10.ms;
  const resourceRatio = r100.resources / r10.resources;
  console.log(
    `ratio 100/10: ${ratio.toFixed(2)}x the time for 10x the services (${resourceRatio.toFixed(2)}x the resources); ` +
      `per resource ${(r10.ms / r10.resources).toFixed(2)} -> ${(r100.ms / r100.resources).toFixed(2)} ms`,
  );
  const dev = results["dev stack (4 services)"].ms;
  console.log(`goal dev < 2000 ms: ${dev < 2000 ? "met" : "MISSED"} (${dev.toFixed(0)} ms); growth in services: ${ratio <= 10 ? "linear or better" : "worse than linear"}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
