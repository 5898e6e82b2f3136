import * as h from "./harness";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { GO_RUNTIME_ENV, HEADERS, HTTP_METRIC_LABELS, METRICS, VERSION_ENV } from "../../contracts";
import { BINARIES } from "../../catalog";
import { loadConfig, RESERVED_ENV } from "../../config";
import { deployPlatform } from "../../platform";

const SERVICES = path.join(h.REPO_ROOT, "services");

/** The non-test Go source under services/, by path. */
function goSources(dir = SERVICES, out: Record<string, string> = {}): Record<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) goSources(p, out);
    else if (e.name.endsWith(".go") && !e.name.endsWith("_test.go")) out[path.relative(SERVICES, p)] = fs.readFileSync(p, "utf8");
  }
  return out;
}
const GO = goSources();
const allGo = Object.values(GO).join("\n");
const matches = (re: RegExp, text: string) => [...text.matchAll(re)].map((m) => m[1]);

/** Metric names registered through client_golang's `...Opts{Name: "..."}`. */
const goMetrics = new Set(matches(/\bName:\s*"([a-z_:][a-z0-9_:]*)"/g, allGo));
/** Env names the services read: the first argument of each `config.Loader` method that takes a name. */
const loaderMethods = matches(/func \(l \*Loader\) ([A-Z]\w*)\(name\b/g, GO[path.join("internal", "config", "config.go")]);
const goEnv = new Set(matches(new RegExp(`\\.(?:${loaderMethods.join("|")})\\("([A-Z][A-Z0-9_]*)"`, "g"), allGo));
/** Go string literals. */
const goStrings = new Set(matches(/"((?:[^"\\\n]|\\.)*)"/g, allGo));

describe("names shared by the Go services and the program", () => {
  it("finds the Go side at all (the parsers below still match the Go source)", () => {
    assert.ok(loaderMethods.length >= 5, `config.Loader methods found: ${loaderMethods.join(", ")}`);
    assert.ok(goEnv.size >= 10, `env names found in Go: ${[...goEnv].join(", ")}`);
    assert.ok(goMetrics.size >= 3, `metrics found in Go: ${[...goMetrics].join(", ")}`);
  });

  describe("metrics the alerts and dashboards query", () => {
    for (const [key, name] of Object.entries(METRICS)) {
      it(`${key}: ${name} is registered by a service`, () => {
        const base = name.replace(/_(bucket|sum|count)$/, "");
        assert.ok(goMetrics.has(base), `no Go metric named ${base}; registered: ${[...goMetrics].sort().join(", ")}`);
      });
    }

    it("has the HTTP metrics' labels on the Go vectors", () => {
      const metricsGo = GO[path.join("internal", "metrics", "http.go")];
      const vectors = matches(/\[\]string\{([^}]*)\}/g, metricsGo).map((l) => matches(/"(\w+)"/g, l).join(","));
      for (const v of vectors) assert.strictEqual(v, HTTP_METRIC_LABELS.join(","), "labels of an HTTP metric vector in services/internal/metrics/http.go");
      assert.ok(vectors.length >= 2, "no labelled vectors found in services/internal/metrics/http.go");
    });

    it("names service metrics in rules and dashboards only through METRICS", () => {
      const shopMetric = /\b(http_requests?_[a-z_]+|orders?_[a-z_]+_(?:total|pending))\b/g;
      for (const f of ["rules.ts", "dashboards.ts"]) {
        const src = fs.readFileSync(path.join(h.REPO_ROOT, "components", "monitoring", f), "utf8");
        assert.deepStrictEqual(matches(shopMetric, src), [], `components/monitoring/${f} spells a service metric itself: use METRICS from contracts.ts`);
      }
    });
  });

  describe("headers", () => {
    for (const [key, name] of Object.entries(HEADERS)) {
      it(`${key}: ${name} is a header the Go services use`, () => {
        assert.ok(goStrings.has(name), `no Go string literal "${name}" under services/`);
      });
    }
  });

  describe("env the program sets", () => {
    it(`${VERSION_ENV}: the version env is read by the Go config and reserved from the stack's env`, () => {
      assert.ok(goEnv.has(VERSION_ENV), `no config.Loader read of "${VERSION_ENV}" under services/`);
      assert.ok(RESERVED_ENV.includes(VERSION_ENV), `${VERSION_ENV} is not in RESERVED_ENV (config.ts)`);
    });

    it("reserves only names a service or the Go runtime reads", () => {
      const unread = RESERVED_ENV.filter((n) => !goEnv.has(n) && !(GO_RUNTIME_ENV as readonly string[]).includes(n));
      assert.deepStrictEqual(unread, [], "reserved env (config/fields.ts) that no Go code reads");
    });

    it("sets on every service's pods only names the Go config reads", async () => {
      const { config, secretKeys } = h.stackFile("local");
      await h.reset("local", {
        ...config,
        "shop:images": { prebuilt: Object.fromEntries(BINARIES.map((b, i) => [b, `127.0.0.1:5000/shop/${b}@sha256:${String(i + 1).repeat(64)}`])) },
        "shop:monitoring": { enabled: false },
        "shop:logging": { enabled: false },
      }, secretKeys);
      deployPlatform(loadConfig());
      await h.settle();
      const names = new Set<string>();
      for (const d of h.ofType("kubernetes:apps/v1:Deployment")) {
        for (const c of d.inputs.spec.template.spec.containers) for (const e of c.env ?? []) names.add(e.name);
      }
      for (const cm of h.ofType("kubernetes:core/v1:ConfigMap").filter((r) => /-config$/.test(r.name))) {
        for (const k of Object.keys(cm.inputs.data ?? {})) names.add(k);
      }
      for (const s of h.ofType("kubernetes:core/v1:Secret").filter((r) => r.name.endsWith("-connection"))) {
        for (const k of Object.keys(h.plain<Record<string, unknown>>(await h.promiseOf(s.inputs.stringData)))) names.add(k);
      }
      assert.ok(names.has("HTTP_ADDR") && names.has("MYSQL_HOST"), `env collected from the program: ${[...names].sort().join(", ")}`);
      const unread = [...names].filter((n) => !goEnv.has(n) && !(GO_RUNTIME_ENV as readonly string[]).includes(n)).sort();
      assert.deepStrictEqual(unread, [], "env set by the program that no Go config reads (services/internal/config.Loader)");
    });
  });
});
