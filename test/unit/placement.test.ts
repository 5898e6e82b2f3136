import * as h from "./harness";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigError, loadConfig, THIRD_PARTY_IMAGES, THIRD_PARTY_WORKLOADS } from "../../config";
import { placement } from "../../components/kit";
import { STORE_IMAGES } from "../../components/data-stores";
import { IMAGES as MONITORING_IMAGES } from "../../components/monitoring/images";
import { IMAGES as LOGGING_IMAGES } from "../../components/logging/images";
import { deployPlatform } from "../../platform";

const { DIGEST, PREBUILT, PROMOTED, SECRETS } = h;

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
function merge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

/** Runs the whole program for a committed stack file plus `extra` config (full keys). */
async function run(stack: string, extra: Record<string, unknown> = {}) {
  const { config, secretKeys } = h.stackFile(stack);
  // Each case gives its own placement: the local stack's committed one is checked in a case of its own.
  delete config["shop:scheduling"];
  await h.reset(stack, merge(config, { "shop:secrets": SECRETS, ...extra }) as Record<string, unknown>, [...secretKeys, "shop:secrets"]);
  deployPlatform(loadConfig());
  await h.settle();
}
const runLocal = (extra: Record<string, unknown> = {}) => run("local", merge({ "shop:images": { prebuilt: PREBUILT } }, extra) as Record<string, unknown>);

/** The setup Jobs of the logging stack run with the workload they set up (and its image). */
const JOB_OF: Record<string, string> = { "es-setup": "elasticsearch", "data-view": "kibana", "transport-cert": "elasticsearch" };

interface Pod {
  /** `<kind> <logical name>` */
  what: string;
  /** The workload that decides its placement: a service's instance, a third-party workload's name. */
  workload: string;
  spec: any;
}
/** Every pod template the program renders, with the workload whose placement it takes. */
function pods(): Pod[] {
  const kinds = ["Deployment", "StatefulSet", "DaemonSet"].map((k) => `kubernetes:apps/v1:${k}`).concat("kubernetes:batch/v1:Job");
  return h.recorded
    .filter((r) => kinds.includes(r.type))
    .map((r) => {
      const labels = r.inputs.spec.template.metadata.labels;
      const name = labels["app.kubernetes.io/name"];
      const workload = labels["app.kubernetes.io/component"] === "service" ? labels["app.kubernetes.io/instance"] : (JOB_OF[name] ?? name);
      return { what: `${r.type.split(":").pop()} ${r.name}`, workload, spec: h.plain(r.inputs.spec.template.spec) };
    });
}
const images = (p: Pod): string[] => [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c: any) => c.image);
const ofWorkload = (w: string) => pods().filter((p) => p.workload === w);

const SERVICES = ["gateway", "user", "product", "order"];
const EVERY_WORKLOAD = [...SERVICES, ...THIRD_PARTY_WORKLOADS];
const FLUENT_BIT_DEFAULT = [{ operator: "Exists" }];

/** Loads `config` (short keys) on the dev stack and returns the problems it was rejected with. */
async function problems(config: Record<string, unknown>): Promise<string[]> {
  await h.reset("dev", { images: { prebuilt: PREBUILT }, ...config });
  try {
    loadConfig();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail(`config ${JSON.stringify(config)} was accepted`);
}
async function rejects(config: Record<string, unknown>, key: string, what: RegExp) {
  const p = await problems(config);
  const line = p.find((l) => l.startsWith(`${key}:`));
  assert.ok(line, `no problem about ${key}; got:\n${p.join("\n")}`);
  assert.match(line, what);
}

describe("Placement and third-party images", () => {
  describe("the kit's placement()", () => {
    it("renders no field for no placement, so existing pod specs do not change", () => {
      assert.deepStrictEqual(placement(undefined), {});
      assert.deepStrictEqual(placement({}), {});
      assert.deepStrictEqual(placement({ nodeSelector: {}, tolerations: [] }), {});
    });

    it("renders the nodeSelector and tolerations it is given, and the fallback tolerations only when none are", () => {
      const t = [{ key: "pool", operator: "Equal" as const, value: "obs", effect: "NoSchedule" as const }];
      assert.deepStrictEqual(placement({ nodeSelector: { pool: "obs" }, tolerations: t }), { nodeSelector: { pool: "obs" }, tolerations: t });
      assert.deepStrictEqual(placement({ nodeSelector: { pool: "obs" } }, [{ operator: "Exists" }]), { nodeSelector: { pool: "obs" }, tolerations: [{ operator: "Exists" }] });
      assert.deepStrictEqual(placement({ tolerations: t }, [{ operator: "Exists" }]), { tolerations: t });
    });
  });

  describe("defaults", () => {
    for (const stack of ["local", "dev", "prod"]) {
      it(`gives no workload of the ${stack} stack a nodeSelector or tolerations (Fluent Bit keeps tolerating every taint)`, async () => {
        await (stack === "local" ? runLocal() : run(stack, { "shop:images": { prebuilt: stack === "prod" ? PROMOTED : PREBUILT } }));
        const all = pods();
        assert.deepStrictEqual([...new Set(all.map((p) => p.workload))].sort(), [...EVERY_WORKLOAD].sort());
        for (const p of all) {
          assert.strictEqual(p.spec.nodeSelector, undefined, `${p.what} has a nodeSelector`);
          if (p.workload === "fluent-bit") assert.deepStrictEqual(p.spec.tolerations, FLUENT_BIT_DEFAULT, p.what);
          else assert.strictEqual(p.spec.tolerations, undefined, `${p.what} has tolerations`);
        }
      });
    }

    it("runs the pinned upstream images when no override is given", async () => {
      await runLocal();
      const pinned: Record<string, string> = {
        mysql: STORE_IMAGES.mysql,
        redis: STORE_IMAGES.redis,
        rabbitmq: STORE_IMAGES.rabbitmq,
        prometheus: MONITORING_IMAGES.prometheus,
        alertmanager: MONITORING_IMAGES.alertmanager,
        "kube-state-metrics": MONITORING_IMAGES.kubeStateMetrics,
        grafana: MONITORING_IMAGES.grafana,
        elasticsearch: LOGGING_IMAGES.elasticsearch,
        kibana: LOGGING_IMAGES.kibana,
        "fluent-bit": LOGGING_IMAGES.fluentBit,
      };
      for (const [w, image] of Object.entries(pinned)) {
        const own = ofWorkload(w).filter((p) => !/es-setup|data-view/.test(p.what));
        assert.ok(own.length, `no pod of ${w}`);
        for (const p of own) assert.ok(images(p).includes(image), `${p.what} runs ${images(p)}, not ${image}`);
      }
    });
  });

  describe("shop:scheduling and shop:services.<name>.scheduling", () => {
    const own = (w: string) => ({ nodeSelector: { "shop.example.com/pool": w }, tolerations: [{ key: "dedicated", operator: "Equal", value: w, effect: "NoSchedule" }] });

    it("places every third-party workload (and the setup Job of it) from its own entry", async () => {
      await runLocal({ "shop:scheduling": Object.fromEntries(THIRD_PARTY_WORKLOADS.map((w) => [w, own(w)])) });
      for (const p of pods()) {
        if (SERVICES.includes(p.workload)) {
          assert.strictEqual(p.spec.nodeSelector, undefined, `${p.what} took another workload's placement`);
          continue;
        }
        assert.deepStrictEqual(p.spec.nodeSelector, own(p.workload).nodeSelector, p.what);
        assert.deepStrictEqual(p.spec.tolerations, own(p.workload).tolerations, p.what);
      }
    });

    it("places each service (and the canary with the gateway) from shop:services.<name>.scheduling", async () => {
      await runLocal({
        "shop:services": Object.fromEntries(SERVICES.map((s) => [s, { scheduling: own(s) }])),
        "shop:routing": { canary: { enabled: true } },
      });
      const canary = pods().find((p) => p.what === "Deployment gateway-canary-deployment");
      assert.ok(canary, "no canary Deployment");
      assert.deepStrictEqual(canary.spec.nodeSelector, own("gateway").nodeSelector);
      for (const s of SERVICES) {
        const [p] = ofWorkload(s);
        assert.deepStrictEqual(p.spec.nodeSelector, own(s).nodeSelector, p.what);
        assert.deepStrictEqual(p.spec.tolerations, own(s).tolerations, p.what);
      }
      for (const w of THIRD_PARTY_WORKLOADS.filter((x) => x !== "fluent-bit")) {
        for (const p of ofWorkload(w)) assert.strictEqual(p.spec.nodeSelector, undefined, p.what);
      }
    });

    it("gives shop:scheduling.default to every workload without its own entry, and a workload's own entry replaces it whole", async () => {
      const fallback = { nodeSelector: { "shop.example.com/pool": "general" } };
      await runLocal({
        "shop:scheduling": { default: fallback, grafana: own("grafana") },
        "shop:services": { order: { scheduling: { tolerations: [{ key: "spot", operator: "Exists" }] } } },
      });
      for (const p of pods()) {
        if (p.workload === "grafana") assert.deepStrictEqual(p.spec.nodeSelector, own("grafana").nodeSelector, p.what);
        else if (p.workload === "order") {
          assert.strictEqual(p.spec.nodeSelector, undefined, `${p.what}: its own entry (tolerations only) must replace the default`);
          assert.deepStrictEqual(p.spec.tolerations, [{ key: "spot", operator: "Exists" }]);
        } else assert.deepStrictEqual(p.spec.nodeSelector, fallback.nodeSelector, p.what);
      }
    });

    it("keeps Fluent Bit off the nodes its nodeSelector leaves out, and replaces tolerate-everything with given tolerations", async () => {
      await runLocal({ "shop:scheduling": { "fluent-bit": { nodeSelector: { "shop.example.com/logs": "yes" } } } });
      let [fb] = ofWorkload("fluent-bit");
      assert.deepStrictEqual(fb.spec.nodeSelector, { "shop.example.com/logs": "yes" });
      assert.deepStrictEqual(fb.spec.tolerations, FLUENT_BIT_DEFAULT, "a selected node's taints are still tolerated");

      await runLocal({ "shop:scheduling": { "fluent-bit": own("fluent-bit") } });
      [fb] = ofWorkload("fluent-bit");
      assert.deepStrictEqual(fb.spec.nodeSelector, own("fluent-bit").nodeSelector);
      assert.deepStrictEqual(fb.spec.tolerations, own("fluent-bit").tolerations);
      assert.ok(!fb.spec.tolerations.some((t: any) => t.operator === "Exists" && t.key === undefined), "still tolerates every taint");
    });

    it("the local stack sends Grafana, Elasticsearch, Kibana and Fluent Bit to the simulated nodes and the rest to the real one", async () => {
      const local = yaml.load(fs.readFileSync(path.join(h.REPO_ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
      await runLocal({ "shop:scheduling": local.config["shop:scheduling"] });
      const simulated = ["grafana", "elasticsearch", "kibana", "fluent-bit"];
      const taint = { key: "shop.example.com/simulated", value: "true", effect: "NoSchedule" };
      const tolerates = (ts: any[] | undefined, t: typeof taint) =>
        (ts ?? []).some((x) => (x.key === undefined || x.key === t.key) && (x.operator === "Exists" || x.value === t.value) && (x.effect === undefined || x.effect === t.effect));
      for (const p of pods()) {
        const sim = simulated.includes(p.workload);
        assert.deepStrictEqual(p.spec.nodeSelector, { "shop.example.com/simulated": sim ? "true" : "false" }, p.what);
        assert.strictEqual(tolerates(p.spec.tolerations, taint), sim, `${p.what} ${sim ? "does not tolerate" : "tolerates"} the simulated nodes' taint`);
        if (!sim) assert.ok(tolerates(p.spec.tolerations, { key: "shop.example.com/real", value: "true", effect: "NoSchedule" }), `${p.what} does not tolerate the real node's taint`);
      }
    });
  });

  describe("shop:images.thirdParty", () => {
    const ref = (n: string) => `127.0.0.1:5000/third-party/${n}@sha256:${DIGEST("e")}`;

    it("replaces every pinned third-party image, in init containers and setup Jobs too", async () => {
      await runLocal({ "shop:images": { thirdParty: Object.fromEntries(THIRD_PARTY_IMAGES.map((n) => [n, ref(n)])) } });
      for (const p of pods()) {
        if (SERVICES.includes(p.workload)) continue;
        const expected = /es-setup|data-view/.test(p.what) ? ref("curl") : ref(p.workload);
        for (const image of images(p)) assert.strictEqual(image, expected, p.what);
      }
    });

    it("keeps shop:dataStores.<store>.image working, and refuses it together with shop:images.thirdParty.<store>", async () => {
      await runLocal({ "shop:dataStores": { redis: { image: ref("own-redis") } } });
      assert.ok(images(ofWorkload("redis")[0]).includes(ref("own-redis")));
      await rejects(
        { dataStores: { redis: { image: ref("a") } }, images: { prebuilt: PREBUILT, thirdParty: { redis: ref("b") } } },
        "shop:dataStores.redis.image",
        /both set the redis image; keep one/,
      );
    });
  });

  describe("bad input", () => {
    const tol = (t: Record<string, unknown>) => ({ scheduling: { grafana: { tolerations: [t] } } });

    it("refuses a toleration with operator Exists and a value, naming the key", async () => {
      await rejects(tol({ key: "dedicated", operator: "Exists", value: "obs" }), "shop:scheduling.grafana.tolerations.0.value", /left out with operator Exists/);
    });

    it("refuses a bad label key in a nodeSelector, naming the key", async () => {
      await rejects({ scheduling: { default: { nodeSelector: { "Bad Key!": "x" } } } }, "shop:scheduling.default.nodeSelector.Bad Key!", /bad key "Bad Key!": must be a label key/);
      await rejects(
        { services: { gateway: { scheduling: { nodeSelector: { "-pool.example.com/x": "a" } } } } },
        "shop:services.gateway.scheduling.nodeSelector.-pool.example.com/x",
        /must be a label key/,
      );
    });

    it("refuses a bad label value, a bad toleration key, operator or effect, a keyless Equal and tolerationSeconds without NoExecute", async () => {
      await rejects({ scheduling: { kibana: { nodeSelector: { pool: true } } } }, "shop:scheduling.kibana.nodeSelector.pool", /expected string, got true/);
      await rejects({ scheduling: { kibana: { nodeSelector: { pool: "a b" } } } }, "shop:scheduling.kibana.nodeSelector.pool", /must be a label value/);
      await rejects(tol({ key: "a/b/c", operator: "Exists" }), "shop:scheduling.grafana.tolerations.0.key", /must be a label key/);
      await rejects(tol({ key: "k", operator: "In" }), "shop:scheduling.grafana.tolerations.0.operator", /Equal or Exists/);
      await rejects(tol({ key: "k", value: "v", effect: "NoRun" }), "shop:scheduling.grafana.tolerations.0.effect", /NoSchedule, PreferNoSchedule or NoExecute/);
      await rejects(tol({ value: "v" }), "shop:scheduling.grafana.tolerations.0.key", /required unless operator is Exists/);
      await rejects(tol({ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 30 }), "shop:scheduling.grafana.tolerations.0.tolerationSeconds", /NoExecute only/);
    });

    it("refuses an unknown workload or image name and suggests the right one", async () => {
      await rejects({ scheduling: { grafna: {} } }, "shop:scheduling.grafna", /did you mean shop:scheduling\.grafana\?/);
      await rejects({ images: { prebuilt: PREBUILT, thirdParty: { mariadb: "x/mariadb:1" } } }, "shop:images.thirdParty.mariadb", /unknown key.*valid here: mysql/);
      await rejects({ images: { prebuilt: PREBUILT, thirdParty: { grafana: "Not An Image" } } }, "shop:images.thirdParty.grafana", /must be an image reference/);
    });

    it("accepts a toleration of every taint (no key, Exists) and an empty label value", async () => {
      await h.reset("dev", { images: { prebuilt: PREBUILT }, scheduling: { redis: { nodeSelector: { "shop.example.com/empty": "" }, tolerations: [{ operator: "Exists" }] } } });
      const cfg = loadConfig();
      assert.deepStrictEqual(cfg.scheduling.redis, { nodeSelector: { "shop.example.com/empty": "" }, tolerations: [{ operator: "Exists" }] });
    });
  });
});
