import * as h from "./harness";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CanaryController, CanaryControllerArgs, CRD_FILE, ROLE_FILE } from "../../components/delivery/canary-controller";
import { canaryReleaseSpec, configDigest, releaseTimeoutMinutes } from "../../components/delivery/canary-release";
import { CONTROLLED_RULES, FORCE_APPLY, Routing } from "../../components/routing";
import { ConfigError, loadConfig } from "../../config";
import { deployPlatform } from "../../platform";

const T = {
  crd: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  binding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  policy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  release: "kubernetes:delivery.shop.dev/v1alpha1:CanaryRelease",
  route: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
};
const DIGEST = (c: string) => c.repeat(64);
const CONTROLLER_IMAGE = `127.0.0.1:5000/shop/canary-controller@sha256:${DIGEST("c")}`;
const CANARY_IMAGE = `127.0.0.1:5000/shop/gateway@sha256:${DIGEST("9")}`;
const ANALYSIS = { steps: [5, 25, 50, 100], interval: "1m", failureLimit: 1, minSuccessRate: 0.99, maxP99Seconds: 0.5 };
const PREBUILT = {
  gateway: `127.0.0.1:5000/shop/gateway@sha256:${DIGEST("1")}`,
  user: `127.0.0.1:5000/shop/user@sha256:${DIGEST("2")}`,
  product: `127.0.0.1:5000/shop/product@sha256:${DIGEST("3")}`,
  order: `127.0.0.1:5000/shop/order@sha256:${DIGEST("4")}`,
};

/** The component alone, in namespace shop-test, with Prometheus in obs. */
async function deploy(over: Partial<CanaryControllerArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const c = new CanaryController("delivery", {
    provider,
    namespace: pulumi.output("shop-test"),
    image: CONTROLLER_IMAGE,
    prometheusUrl: "http://mon-prometheus.obs.svc:9090",
    prometheusNamespace: "obs",
    ...over,
  });
  await h.settle();
  return c;
}
const one = (type: string) => {
  const all = h.ofType(type);
  assert.strictEqual(all.length, 1, `expected one ${type}, got ${all.map((r) => r.name).join(", ")}`);
  return all[0].inputs;
};
const release = (): CanaryControllerArgs["release"] => ({
  name: "gateway",
  route: "api",
  stable: { name: "gateway", port: 8080 },
  canary: { name: "gateway-canary", port: 8080 },
  canaryDeployment: "gateway-canary",
  canaryImage: CANARY_IMAGE,
  analysis: ANALYSIS,
});

describe("CanaryController", () => {
  describe("the CRD", () => {
    it("is the generated CustomResourceDefinition, as a typed object", async () => {
      await deploy();
      const crd = one(T.crd);
      const file = yaml.load(fs.readFileSync(CRD_FILE, "utf8")) as any;
      assert.strictEqual(crd.metadata.name, "canaryreleases.delivery.shop.dev");
      assert.deepStrictEqual(crd.spec, file.spec);
      assert.strictEqual(crd.spec.versions[0].name, "v1alpha1");
      assert.deepStrictEqual(crd.spec.versions[0].subresources, { status: {} });
    });
  });

  describe("RBAC", () => {
    it("grants exactly the generated role's rules, as a Role of the watched namespace bound to its ServiceAccount", async () => {
      await deploy();
      const generated = yaml.load(fs.readFileSync(ROLE_FILE, "utf8")) as any;
      const role = one(T.role);
      assert.strictEqual(role.metadata.namespace, "shop-test");
      assert.deepStrictEqual(role.rules, generated.rules);
      assert.strictEqual(h.ofType(T.clusterRole).length, 0, "no cluster-wide grant: it watches one namespace");
      const binding = one(T.binding);
      assert.deepStrictEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
      const sa = h.ofType("kubernetes:core/v1:ServiceAccount")[0].inputs;
      assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: "shop-test" }]);
      assert.strictEqual(one(T.deployment).spec.template.spec.serviceAccountName, sa.metadata.name);
    });

    it("writes only the status subresource of releases and never deletes anything", async () => {
      await deploy();
      const rules = one(T.role).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
      for (const r of rules) assert.ok(!r.verbs.includes("delete") && !r.verbs.includes("*") && !r.resources.includes("*"), JSON.stringify(r));
      const status = rules.find((r) => r.resources.includes("canaryreleases/status"))!;
      assert.deepStrictEqual(status.verbs, ["update"]);
      const deployments = rules.find((r) => r.resources.includes("deployments"))!;
      assert.deepStrictEqual(deployments.verbs, ["get", "list", "watch"]);
    });
  });

  describe("the controller Deployment", () => {
    it("runs as non-root with a read-only root fs, no privilege escalation and every capability dropped", async () => {
      await deploy();
      const pod = one(T.deployment).spec.template.spec;
      assert.strictEqual(pod.securityContext.runAsNonRoot, true);
      assert.strictEqual(pod.securityContext.runAsUser, 65532);
      const sc = pod.containers[0].securityContext;
      assert.deepStrictEqual([sc.readOnlyRootFilesystem, sc.allowPrivilegeEscalation, sc.capabilities.drop], [true, false, ["ALL"]]);
      const res = pod.containers[0].resources;
      assert.ok(res.requests.cpu && res.requests.memory && res.limits.cpu && res.limits.memory, "requests and limits");
    });

    it("elects a leader, watches only its namespace, queries the given Prometheus and probes /healthz and /readyz", async () => {
      await deploy({ logLevel: "debug" });
      const c = one(T.deployment).spec.template.spec.containers[0];
      assert.strictEqual(c.image, CONTROLLER_IMAGE);
      for (const a of [
        "--leader-elect=true",
        "--leader-election-id=canary-controller.delivery.shop.dev",
        "--watch-namespaces=shop-test",
        "--prometheus-url=http://mon-prometheus.obs.svc:9090",
        "--metrics-bind-address=:8080",
        "--health-probe-bind-address=:8081",
        "--log-level=debug",
      ]) {
        assert.ok(c.args.includes(a), `missing ${a} in ${c.args.join(" ")}`);
      }
      assert.deepStrictEqual(c.env, [{ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }]);
      assert.deepStrictEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "probes" });
      assert.deepStrictEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "probes" });
      assert.deepStrictEqual(c.ports.map((p: any) => [p.name, p.containerPort]), [["http", 8080], ["probes", 8081]]);
    });

    it("is scraped by Prometheus through the pod annotations and has a metrics Service", async () => {
      await deploy();
      const ann = one(T.deployment).spec.template.metadata.annotations;
      assert.deepStrictEqual(ann, { "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" });
      const svc = one(T.service);
      assert.deepStrictEqual(svc.spec.ports, [{ name: "http", port: 8080, targetPort: "http" }]);
      assert.deepStrictEqual(svc.spec.selector, one(T.deployment).spec.selector.matchLabels);
    });

    it("refuses a worker count outside 1..64, naming the field", async () => {
      await assert.rejects(deploy({ maxConcurrentReconciles: 0 }), /CanaryController delivery: maxConcurrentReconciles must be a whole number 1..64/);
    });
  });

  describe("NetworkPolicies", () => {
    it("admits Prometheus to the metrics port and lets the controller reach only the API server and Prometheus", async () => {
      await deploy();
      const pods = one(T.deployment).spec.selector.matchLabels;
      const policies = Object.fromEntries(h.ofType(T.policy).map((p) => [p.inputs.metadata.name, p.inputs.spec]));
      assert.deepStrictEqual(Object.keys(policies).sort(), [
        "delivery-canary-controller-in-prometheus",
        "delivery-canary-controller-out-api-server",
        "delivery-canary-controller-out-prometheus",
      ]);
      const prom = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "obs" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } };
      const inProm = policies["delivery-canary-controller-in-prometheus"];
      assert.deepStrictEqual(inProm.podSelector.matchLabels, pods);
      assert.deepStrictEqual(inProm.ingress, [{ from: [prom], ports: [{ protocol: "TCP", port: 8080 }] }]);
      assert.deepStrictEqual(policies["delivery-canary-controller-out-prometheus"].egress, [{ to: [prom], ports: [{ protocol: "TCP", port: 9090 }] }]);
      assert.deepStrictEqual(policies["delivery-canary-controller-out-api-server"].egress, [
        { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 6443 }, { protocol: "TCP", port: 16443 }] },
      ]);
    });
  });

  describe("the CanaryRelease", () => {
    it("is created only when a release is given", async () => {
      await deploy();
      assert.strictEqual(h.ofType(T.release).length, 0);
    });

    it("names the route, both Services and the canary Deployment, with the steps, interval and checks", async () => {
      await deploy({ release: release() });
      const cr = one(T.release);
      assert.deepStrictEqual([cr.apiVersion, cr.kind, cr.metadata.name, cr.metadata.namespace], ["delivery.shop.dev/v1alpha1", "CanaryRelease", "gateway", "shop-test"]);
      assert.deepStrictEqual(cr.spec.routeRef, { name: "api" });
      assert.deepStrictEqual([cr.spec.stable, cr.spec.canary, cr.spec.canaryDeployment], [{ name: "gateway", port: 8080 }, { name: "gateway-canary", port: 8080 }, "gateway-canary"]);
      assert.deepStrictEqual([cr.spec.steps, cr.spec.interval, cr.spec.analysis.failureLimit], [[5, 25, 50, 100], "1m", 1]);
      const q = Object.fromEntries(cr.spec.analysis.queries.map((x: any) => [x.name, x]));
      assert.deepStrictEqual([q["success-rate"].threshold, q["success-rate"].direction], ["0.99", "Min"]);
      assert.deepStrictEqual([q["p99-latency"].threshold, q["p99-latency"].direction], ["0.5", "Max"]);
      assert.match(q["success-rate"].query, /sum\(rate\(http_requests_total\{namespace="\{\{\.Namespace\}\}",pod=~"\{\{\.CanaryDeployment\}\}-\.\*",.*code!~"5\.\."\}\[\{\{\.Interval\}\}\]\)\) \/ sum\(rate\(http_requests_total\{/);
      assert.match(q["p99-latency"].query, /histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_request_duration_seconds_bucket\{namespace="\{\{\.Namespace\}\}"/);
      for (const x of Object.values<any>(q)) assert.match(x.query, /route!~/, "probe and scrape requests are not the canary's user traffic");
    });

    it("waits for Promoted, so an aborted release fails the update at its timeout", async () => {
      await deploy({ release: release() });
      assert.deepStrictEqual(one(T.release).metadata.annotations, { "pulumi.com/waitFor": "jsonpath={.status.phase}=Promoted" });
      // 4 steps x 1m x (failureLimit 1 + 1) + 10m for the canary's pods.
      assert.strictEqual(releaseTimeoutMinutes(ANALYSIS), 18);
    });

    it("changes its spec when the canary image changes, so a new canary restarts the analysis", () => {
      const target = { route: "api", stable: { name: "gateway", port: 8080 }, canary: { name: "gateway-canary", port: 8080 }, canaryDeployment: "gateway-canary" };
      const a = canaryReleaseSpec({ ...target, canaryImage: CANARY_IMAGE }, ANALYSIS);
      const b = canaryReleaseSpec({ ...target, canaryImage: PREBUILT.gateway }, ANALYSIS);
      assert.notDeepStrictEqual(a, b);
      assert.deepStrictEqual({ ...a, analysis: undefined }, { ...b, analysis: undefined }, "only the queries' image comment differs");
      assert.match(a.analysis.queries[0].query, new RegExp(`^# canary image ${CANARY_IMAGE.replace(/[.]/g, "\\.")}\n`));
    });

    it("does not make `up` wait when waitForPromotion is false (no waitFor annotation)", async () => {
      await deploy({ release: { ...release()!, analysis: { ...ANALYSIS, waitForPromotion: false } } });
      const r = h.ofType(T.release)[0];
      assert.strictEqual(r.inputs.metadata.annotations, undefined);
    });

    it("changes its spec when the canary's configuration changes, so a reconfigured canary restarts the analysis", () => {
      const target = { route: "api", stable: { name: "gateway", port: 8080 }, canary: { name: "gateway-canary", port: 8080 }, canaryDeployment: "gateway-canary", canaryImage: CANARY_IMAGE };
      const env = { HTTP_ADDR: ":8080", LOG_LEVEL: "info" };
      assert.strictEqual(configDigest(env), configDigest({ LOG_LEVEL: "info", HTTP_ADDR: ":8080" }), "the order of the keys does not matter");
      const a = canaryReleaseSpec({ ...target, canaryConfig: configDigest(env) }, ANALYSIS);
      const b = canaryReleaseSpec({ ...target, canaryConfig: configDigest({ ...env, FAULT_ERROR_RATIO: "0.5" }) }, ANALYSIS);
      assert.notDeepStrictEqual(a, b);
      assert.deepStrictEqual({ ...a, analysis: undefined }, { ...b, analysis: undefined }, "only the queries' comment differs");
      assert.match(a.analysis.queries[0].query, new RegExp(`^# canary image ${CANARY_IMAGE.replace(/[.]/g, "\\.")} config [0-9a-f]{12}\n`));
    });

    it("refuses steps that are not strictly ascending, naming the field", async () => {
      await assert.rejects(deploy({ release: { ...release()!, analysis: { ...ANALYSIS, steps: [50, 25] } } }), /release\.analysis\.steps must be whole percentages/);
    });
  });
});

describe("Routing with controller-owned weights", () => {
  /** The options of every HTTPRoute, captured by a transformation inherited from the component. */
  async function routeOptions(controlled: boolean) {
    await h.reset("dev");
    const seen: Record<string, pulumi.CustomResourceOptions> = {};
    const capture: pulumi.ResourceTransformation = (a) => {
      if (a.type === T.route) seen[a.name] = a.opts;
      return undefined;
    };
    new Routing(
      "edge",
      {
        provider: new k8s.Provider("test-k8s", {}),
        host: "shop.example.com",
        namespace: "shop-test",
        gateway: { className: "envoy" },
        routes: {
          api: { namespace: "shop-test", path: "/api", backend: { serviceName: "gateway", port: 8080 }, canary: { backend: { serviceName: "gateway-canary", port: 8080 }, weight: 0, controlled } },
          grafana: { namespace: "obs", path: "/grafana", backend: { serviceName: "mon-grafana", port: 3000 } },
        },
      },
      { transformations: [capture] },
    );
    await h.settle();
    return seen;
  }

  it("leaves the route's rules (the atomic list holding the weights) to the controller only when it owns them", async () => {
    const owned = await routeOptions(true);
    assert.deepStrictEqual(owned["edge-api"].ignoreChanges, CONTROLLED_RULES);
    // A path into the list is not what the provider's server-side apply can leave out: the whole list.
    assert.deepStrictEqual(CONTROLLED_RULES, ["spec.rules"]);
    assert.strictEqual(owned["edge-grafana"].ignoreChanges, undefined);
    const fixed = await routeOptions(false);
    assert.strictEqual(fixed["edge-api"].ignoreChanges, undefined);
  });

  it("forces the program's apply on every route, so a route that was controlled gets its rules back", async () => {
    for (const controlled of [false, true]) {
      await routeOptions(controlled);
      const routes = h.ofType(T.route).map((r) => r.inputs.metadata);
      assert.deepStrictEqual(routes.map((m) => m.name).sort(), ["api", "grafana"]);
      for (const m of routes) assert.deepStrictEqual(m.annotations, { "pulumi.com/patchForce": "true" }, `${m.name} (controlled: ${controlled})`);
    }
    assert.deepStrictEqual(FORCE_APPLY, { "pulumi.com/patchForce": "true" });
  });
});

describe("the platform with shop:routing.canary.analysis", () => {
  async function run(canary: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    await h.reset("dev", {
      "shop:images": { prebuilt: PREBUILT },
      "shop:routing": { gateway: { className: "envoy" }, canary },
      "shop:logging": { enabled: false },
      ...extra,
    });
    deployPlatform(loadConfig());
    await h.settle();
  }
  const apiRoute = () => h.ofType(T.route).find((r) => r.inputs.metadata.name === "api")!.inputs;
  const weights = () => apiRoute().spec.rules[0].backendRefs.map((b: any) => [b.name, b.weight]);

  it("keeps the fixed weight and deploys no controller without an analysis", async () => {
    await run({ enabled: true, weight: 10, image: CANARY_IMAGE });
    assert.strictEqual(h.ofType(T.crd).length, 0);
    assert.strictEqual(h.ofType(T.release).length, 0);
    assert.deepStrictEqual(weights().map((w: any) => w[1]), [90, 10]);
  });

  it("deploys the controller and a release, and creates the route with the canary at 0", async () => {
    await run({ enabled: true, image: CANARY_IMAGE, analysis: { steps: [10, 50, 100], interval: "2m" }, controller: { image: CONTROLLER_IMAGE } });
    assert.strictEqual(h.ofType(T.crd).length, 1);
    assert.deepStrictEqual(weights().map((w: any) => w[1]), [100, 0]);
    const cr = one(T.release);
    assert.deepStrictEqual([cr.spec.routeRef.name, cr.spec.steps, cr.spec.interval, cr.spec.canaryDeployment], ["api", [10, 50, 100], "2m", "gateway-canary"]);
    assert.match(cr.spec.analysis.queries[0].query, new RegExp(DIGEST("9")));
    const c = h.ofType(T.deployment).find((d) => d.inputs.metadata.name === "delivery-canary-controller")!.inputs.spec.template.spec.containers[0];
    assert.ok(c.args.includes("--prometheus-url=http://monitoring-prometheus.shop-local-observability.svc:9090"), c.args.join(" "));
    // Prometheus' own policy admits the controller to its API.
    const admit = h.ofType(T.policy).find((p) => p.inputs.metadata.name === "monitoring-prometheus-in-canary-controller")!.inputs.spec;
    assert.deepStrictEqual(admit.ingress[0].from[0].podSelector.matchLabels, { "app.kubernetes.io/name": "canary-controller" });
  });

  it("injects faults into the canary only, when asked (shop:routing.canary.faultErrorRatio)", async () => {
    const env = (name: string) => h.named(`${name}-config`).inputs.data;
    await run({ enabled: true, analysis: {}, controller: { image: CONTROLLER_IMAGE }, faultErrorRatio: 0.4 });
    assert.strictEqual(env("gateway-canary").FAULT_ERROR_RATIO, "0.4");
    assert.strictEqual(env("gateway").FAULT_ERROR_RATIO, undefined);
    // Apart from the fault, the canary runs with the stable gateway's env.
    const { FAULT_ERROR_RATIO: _, ...rest } = env("gateway-canary");
    assert.deepStrictEqual(rest, env("gateway"));
    const faulty = one(T.release).spec.analysis.queries[0].query;
    await run({ enabled: true, analysis: {}, controller: { image: CONTROLLER_IMAGE } });
    assert.strictEqual(env("gateway-canary").FAULT_ERROR_RATIO, undefined, "fault injection is off by default");
    assert.notStrictEqual(one(T.release).spec.analysis.queries[0].query, faulty, "the release did not change with the canary's config: its analysis would not restart");
  });

  it("takes a short interval when Prometheus scrapes often enough", async () => {
    await run({ enabled: true, analysis: { interval: "15s" }, controller: { image: CONTROLLER_IMAGE } }, { "shop:monitoring": { scrapeInterval: "5s" } });
    assert.strictEqual(one(T.release).spec.interval, "15s");
  });

  it("runs the controller without a release while the gray release is off", async () => {
    await run({ enabled: false, analysis: {}, controller: { image: CONTROLLER_IMAGE } });
    assert.strictEqual(h.ofType(T.crd).length, 1);
    assert.strictEqual(h.ofType(T.release).length, 0);
  });

  describe("refuses bad config, naming the key", () => {
    const rejects = async (canary: Record<string, unknown>, key: RegExp, extra: Record<string, unknown> = {}) => {
      await assert.rejects(run(canary, extra), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match((e as Error).message, key);
        return true;
      });
    };
    it("an analysis without the controller's image", () => rejects({ enabled: true, analysis: {} }, /shop:routing\.canary\.controller\.image: is required with shop:routing\.canary\.analysis/));
    it("a fixed weight next to an analysis", () =>
      rejects({ enabled: true, weight: 20, analysis: {}, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.weight: the controller owns the weights/));
    it("steps that go down", () => rejects({ analysis: { steps: [50, 25] }, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis\.steps: must be strictly ascending/));
    it("a step above 100", () => rejects({ analysis: { steps: [5, 150] }, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis\.steps\.1: must be at most 100/));
    it("an interval that is not a duration", () => rejects({ analysis: { interval: "soon" }, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis\.interval: must be a duration/));
    it("a success rate above 1", () => rejects({ analysis: { minSuccessRate: 99 }, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis\.minSuccessRate: must be at most 1/));
    it("a controller image without a digest", () => rejects({ analysis: {}, controller: { image: "r/canary-controller:1" } }, /shop:routing\.canary\.controller\.image: must be an image reference pinned by digest/));
    it("an analysis without monitoring", () =>
      rejects({ analysis: {}, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis: the analysis queries the stack's Prometheus/, { "shop:monitoring": { enabled: false } }));
    it("an interval shorter than two scrapes (every check would be no data)", () =>
      rejects({ analysis: { interval: "15s" }, controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.analysis\.interval: 15s is shorter than twice shop:monitoring\.scrapeInterval \(30s\)/));
    it("a scrape interval that is not a Prometheus duration", () =>
      rejects({}, /shop:monitoring\.scrapeInterval: must be a Prometheus duration/, { "shop:monitoring": { scrapeInterval: "90" } }));
    it("a fault ratio above 1", () => rejects({ enabled: true, faultErrorRatio: 1.5 }, /shop:routing\.canary\.faultErrorRatio: must be at most 1/));
    it("a fault ratio without a canary", () => rejects({ faultErrorRatio: 0.3 }, /shop:routing\.canary\.faultErrorRatio: fails a share of the canary's requests, and there is no canary/));
    it("fault injection in prod", () =>
      rejects({ enabled: true, faultErrorRatio: 0.3 }, /shop:routing\.canary\.faultErrorRatio: fault injection is a drill for local and dev stacks/, { "shop:environment": "prod" }));
    it("a controller image without an analysis", () => rejects({ controller: { image: CONTROLLER_IMAGE } }, /shop:routing\.canary\.controller\.image: the controller runs only with shop:routing\.canary\.analysis/));
  });
});
