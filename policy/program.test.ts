import * as h from "../test/unit/harness";
import { strict as assert } from "assert";
import { loadConfig } from "../config";
import { deployPlatform } from "../platform";
import { resourcePolicies, stackPolicies } from "./policies";
import { packDefaults } from "./defaults";

const DIGEST = "sha256:" + "c".repeat(64);
/** What a stack needs on a machine without the docker and random plugins: prebuilt digests and given secrets. */
const LOCAL_EXTRAS = {
  "shop:images": { prebuilt: Object.fromEntries(["gateway", "user", "product", "order"].map((s) => [s, `127.0.0.1:5000/shop/${s}@${DIGEST}`])) },
  "shop:secrets": {
    jwtKey: "j".repeat(40),
    mysqlPassword: "m".repeat(20),
    redisPassword: "r".repeat(20),
    rabbitmqPassword: "q".repeat(20),
    grafanaAdminPassword: "g".repeat(20),
    elasticPassword: "e".repeat(20),
  },
};

/** Runs the program for a stack under mocks and returns every policy violation of the pack. */
async function violations(stack: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const { config, secretKeys } = h.stackFile(stack);
  await h.reset(stack, { ...config, ...extra }, [...secretKeys, ...("shop:secrets" in extra ? ["shop:secrets"] : [])]);
  deployPlatform(loadConfig());
  await h.settle();
  const cfg = packDefaults(h.REPO_ROOT);
  const resources = h.recorded.map((r) => ({
    type: r.type,
    name: r.name,
    urn: `urn:pulumi:${stack}::shop::${r.type}::${r.name}`,
    props: h.plain(r.inputs),
  }));
  const out: string[] = [];
  for (const r of resources) for (const p of resourcePolicies) out.push(...p.check(r, cfg).map((m) => `${p.name}: ${m}`));
  for (const p of stackPolicies) out.push(...p.check(resources, cfg).map((v) => `${p.name}: ${v.message}`));
  return out;
}

describe("the program under the policy pack", () => {
  for (const stack of ["local", "dev", "prod"]) {
    it(`declares nothing the pack rejects on the ${stack} stack`, async () => {
      // Prod deploys digests promoted from dev (it names no daemon to build with).
      const promoted = { "shop:images": { prebuilt: Object.fromEntries(["gateway", "user", "product", "order"].map((s) => [s, `registry.example.com/shop/${s}@${DIGEST}`])) } };
      const extra = stack === "local" ? LOCAL_EXTRAS : stack === "prod" ? promoted : {};
      assert.deepEqual(await violations(stack, extra), []);
    });
  }

  it("rejects a credential put in a service's plain env (it lands in a ConfigMap)", async () => {
    const found = await violations("local", { ...LOCAL_EXTRAS, "shop:services": { gateway: { env: { PAYMENT_API_TOKEN: "tok_live_123" } } } });
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /^no-secrets-in-configmaps: ConfigMap \S+ has secret-looking keys "PAYMENT_API_TOKEN": put them in a Secret$/);
  });
});
