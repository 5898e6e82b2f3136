import * as h from "./harness";
import * as assert from "assert";
import * as k8s from "@pulumi/kubernetes";
import { Routing, RoutingArgs } from "../../components/routing";
import { loadConfig } from "../../config";
import { deployPlatform } from "../../platform";

const HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

/** The shop API, Grafana and Kibana, as the platform routes them. */
function args(provider: k8s.Provider, over: Partial<RoutingArgs> = {}): RoutingArgs {
  return {
    provider,
    host: "shop.example.com",
    namespace: "shop-test",
    gateway: { className: "envoy" },
    routes: {
      api: { namespace: "shop-test", path: "/api", backend: { serviceName: "gateway", port: 8080 }, requestTimeout: "30s" },
      grafana: { namespace: "obs", path: "/grafana", backend: { serviceName: "mon-grafana", port: 3000 } },
      kibana: { namespace: "obs", path: "/kibana", backend: { serviceName: "logs-kibana", port: 5601 } },
    },
    ...over,
  };
}

async function deploy(over: Partial<RoutingArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const r = new Routing("edge", args(provider, over));
  await h.settle();
  return r;
}

const route = (name: string) => h.ofType(HTTPROUTE).find((r) => r.inputs.metadata.name === name)?.inputs;
const withCanary = (weight: number): Partial<RoutingArgs> => {
  const a = args(undefined as any);
  return { routes: { ...a.routes, api: { ...a.routes.api, canary: { backend: { serviceName: "gateway-canary", port: 8080 }, weight } } } };
};

describe("Routing", () => {
  describe("gateway mode with a Gateway it creates", () => {
    it("makes one Gateway of the given class, admitting routes only from the routes' namespaces", async () => {
      await deploy();
      const gws = h.ofType(GATEWAY);
      assert.strictEqual(gws.length, 1);
      const gw = gws[0].inputs;
      assert.deepStrictEqual([gw.metadata.namespace, gw.metadata.name, gw.spec.gatewayClassName], ["shop-test", "shop", "envoy"]);
      assert.deepStrictEqual(gw.spec.listeners.map((l: any) => [l.name, l.protocol, l.port, l.hostname]), [["http", "HTTP", 80, "shop.example.com"]]);
      const allowed = gw.spec.listeners[0].allowedRoutes;
      assert.deepStrictEqual(allowed.kinds, [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }]);
      assert.deepStrictEqual(allowed.namespaces, {
        from: "Selector",
        selector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["obs", "shop-test"] }] },
      });
      assert.strictEqual(gw.metadata.annotations, undefined);
    });

    it("makes one HTTPRoute per entry, in the backend's namespace, attached to that Gateway's http listener", async () => {
      const r = await deploy();
      assert.deepStrictEqual(h.ofType(HTTPROUTE).map((x) => `${x.inputs.metadata.namespace}/${x.inputs.metadata.name}`).sort(), ["obs/grafana", "obs/kibana", "shop-test/api"]);
      for (const name of ["api", "grafana", "kibana"]) {
        assert.deepStrictEqual(route(name).spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "shop-test", name: "shop", sectionName: "http" }], name);
        assert.deepStrictEqual(route(name).spec.hostnames, ["shop.example.com"], name);
      }
      assert.deepStrictEqual(route("grafana").spec.rules, [
        { matches: [{ path: { type: "PathPrefix", value: "/grafana" } }], backendRefs: [{ kind: "Service", name: "mon-grafana", port: 3000 }] },
      ]);
      assert.deepStrictEqual(route("api").spec.rules[0].timeouts, { request: "30s" });
      assert.strictEqual(route("kibana").spec.rules[0].timeouts, undefined);
      assert.strictEqual(await h.promiseOf(r.urls.api), "http://shop.example.com/api");
      assert.deepStrictEqual(await h.promiseOf(r.gateway!), { namespace: "shop-test", name: "shop" });
      assert.strictEqual(h.ofType(INGRESS).length, 0);
    });
  });

  describe("gray release", () => {
    for (const [weight, stable] of [[20, 80], [0, 100], [100, 0], [1, 99]]) {
      it(`sends exactly ${weight}% to the canary Service and ${stable}% to the stable one at weight ${weight}`, async () => {
        await deploy(withCanary(weight));
        assert.deepStrictEqual(route("api").spec.rules[0].backendRefs, [
          { kind: "Service", name: "gateway", port: 8080, weight: stable },
          { kind: "Service", name: "gateway-canary", port: 8080, weight },
        ]);
      });
    }

    it("keeps the route's name and logical name when the weight changes, so a change is an update", async () => {
      await deploy(withCanary(10));
      const before = h.ofType(HTTPROUTE).map((r) => [r.name, r.inputs.metadata.name]);
      await deploy(withCanary(60));
      assert.deepStrictEqual(h.ofType(HTTPROUTE).map((r) => [r.name, r.inputs.metadata.name]), before);
      assert.ok(before.some(([n, m]) => n === "edge-api" && m === "api"));
    });

    it("refuses a weight outside 0..100 or not whole, naming the field", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      for (const w of [101, -1, 12.5]) {
        assert.throws(() => new Routing(`edge-${String(w).replace(/\W/g, "")}`, args(provider, withCanary(w))), /routes\.api\.canary\.weight must be a whole number 0\.\.100/);
      }
    });
  });

  describe("TLS", () => {
    const TLS = { enabled: true, secretName: "shop-tls", clusterIssuer: "letsencrypt-prod" };

    it("terminates at an HTTPS listener with certificateRefs, issued by cert-manager through the Gateway's annotation", async () => {
      const r = await deploy({ tls: TLS });
      const gw = h.ofType(GATEWAY)[0].inputs;
      assert.deepStrictEqual(gw.metadata.annotations, { "cert-manager.io/cluster-issuer": "letsencrypt-prod" });
      const https = gw.spec.listeners.find((l: any) => l.name === "https");
      assert.deepStrictEqual([https.protocol, https.port, https.hostname], ["HTTPS", 443, "shop.example.com"]);
      assert.deepStrictEqual(https.tls, { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "shop-tls" }] });
      assert.strictEqual(await h.promiseOf(r.urls.grafana), "https://shop.example.com/grafana");
      assert.strictEqual(h.ofType(GRANT).length, 0);
    });

    it("attaches the entries to the https listener and redirects plain HTTP to https with a RequestRedirect route", async () => {
      await deploy({ tls: TLS });
      for (const name of ["api", "grafana", "kibana"]) assert.strictEqual(route(name).spec.parentRefs[0].sectionName, "https", name);
      const redirect = route("https-redirect");
      assert.strictEqual(redirect.metadata.namespace, "shop-test");
      assert.deepStrictEqual(redirect.spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "shop-test", name: "shop", sectionName: "http" }]);
      assert.deepStrictEqual(redirect.spec.rules, [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }]);
    });

    it("has no redirect route and no https listener without TLS", async () => {
      await deploy({ tls: { enabled: false, secretName: "shop-tls" } });
      assert.strictEqual(route("https-redirect"), undefined);
      assert.deepStrictEqual(h.ofType(GATEWAY)[0].inputs.spec.listeners.map((l: any) => l.name), ["http"]);
    });

    it("never points the Grafana or Kibana routes at a TLS Secret: the certificate is the Gateway listener's", async () => {
      await deploy({ tls: TLS });
      for (const name of ["grafana", "kibana"]) assert.ok(!JSON.stringify(route(name)).includes("shop-tls"), name);
    });

    it("grants the Gateway's namespace exactly the certificate Secret that lives in another namespace", async () => {
      await deploy({ tls: { enabled: true, secretName: "wildcard-tls", secretNamespace: "certificates" } });
      const grants = h.ofType(GRANT);
      assert.strictEqual(grants.length, 1);
      assert.strictEqual(grants[0].inputs.metadata.namespace, "certificates");
      assert.deepStrictEqual(grants[0].inputs.spec, {
        from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "shop-test" }],
        to: [{ group: "", kind: "Secret", name: "wildcard-tls" }],
      });
      const https = h.ofType(GATEWAY)[0].inputs.spec.listeners.find((l: any) => l.name === "https");
      assert.deepStrictEqual(https.tls.certificateRefs, [{ group: "", kind: "Secret", name: "wildcard-tls", namespace: "certificates" }]);
    });
  });

  describe("gateway mode with a shared Gateway", () => {
    const shared = { shared: { namespace: "gateway-system", name: "shared-gateway", httpListener: "web", httpsListener: "websecure" } };

    it("creates no Gateway and attaches every route to the named one by namespace and name", async () => {
      const r = await deploy({ gateway: shared });
      assert.strictEqual(h.ofType(GATEWAY).length, 0);
      for (const name of ["api", "grafana", "kibana"]) {
        assert.deepStrictEqual(route(name).spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "gateway-system", name: "shared-gateway", sectionName: "web" }], name);
      }
      assert.deepStrictEqual(await h.promiseOf(r.gateway!), { namespace: "gateway-system", name: "shared-gateway" });
    });

    it("uses the shared Gateway's https listener with TLS, and its http listener for the redirect", async () => {
      await deploy({ gateway: shared, tls: { enabled: true, secretName: "unused" } });
      assert.strictEqual(route("api").spec.parentRefs[0].sectionName, "websecure");
      assert.strictEqual(route("https-redirect").spec.parentRefs[0].sectionName, "web");
      assert.strictEqual(h.ofType(GRANT).length, 0);
    });

    it("refuses a cert-manager issuer (the shared Gateway's owner configures its certificate)", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      assert.throws(() => new Routing("edge", args(provider, { gateway: shared, tls: { enabled: true, secretName: "x", clusterIssuer: "le" } })), /tls\.clusterIssuer cannot be set for a shared Gateway/);
    });

    it("refuses both a shared Gateway and a class, or neither", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      assert.throws(() => new Routing("a", args(provider, { gateway: { ...shared, className: "envoy" } })), /gateway needs exactly one of shared .* and className/);
      assert.throws(() => new Routing("b", args(provider, { gateway: {} })), /gateway needs exactly one of shared .* and className/);
    });
  });

  describe("ingress mode", () => {
    it("makes one plain Ingress per entry with no controller-specific annotation", async () => {
      const r = await deploy({ mode: "ingress", gateway: undefined, ingressClassName: "traefik" });
      assert.strictEqual(h.ofType(HTTPROUTE).length + h.ofType(GATEWAY).length, 0);
      const ings = h.ofType(INGRESS).map((i) => i.inputs);
      assert.deepStrictEqual(ings.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort(), ["obs/grafana", "obs/kibana", "shop-test/api"]);
      for (const i of ings) {
        assert.deepStrictEqual(i.metadata.annotations ?? {}, {}, i.metadata.name);
        assert.strictEqual(i.spec.ingressClassName, "traefik");
        assert.strictEqual(i.spec.rules[0].host, "shop.example.com");
      }
      const api = ings.find((i) => i.metadata.name === "api");
      assert.deepStrictEqual(api.spec.rules[0].http.paths, [{ path: "/api", pathType: "Prefix", backend: { service: { name: "gateway", port: { number: 8080 } } } }]);
      assert.strictEqual(await h.promiseOf(r.urls.kibana), "http://shop.example.com/kibana");
    });

    it("puts TLS (and the issuer) only on the Ingress in the certificate Secret's namespace", async () => {
      await deploy({ mode: "ingress", gateway: undefined, tls: { enabled: true, secretName: "shop-tls", clusterIssuer: "letsencrypt-prod" } });
      const ings = Object.fromEntries(h.ofType(INGRESS).map((i) => [i.inputs.metadata.name, i.inputs]));
      assert.deepStrictEqual(ings.api.spec.tls, [{ hosts: ["shop.example.com"], secretName: "shop-tls" }]);
      assert.deepStrictEqual(ings.api.metadata.annotations, { "cert-manager.io/cluster-issuer": "letsencrypt-prod" });
      for (const name of ["grafana", "kibana"]) {
        assert.strictEqual(ings[name].spec.tls, undefined, name);
        assert.ok(!JSON.stringify(ings[name]).includes("shop-tls"), name);
      }
    });

    it("refuses a gray release, naming the entry's canary", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      assert.throws(() => new Routing("edge", args(provider, { mode: "ingress", ...withCanary(10) })), /routes\.api\.canary needs mode gateway/);
    });
  });

  it("refuses a request timeout that is not a Gateway API duration", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    const a = args(provider);
    assert.throws(() => new Routing("edge", { ...a, routes: { api: { ...a.routes.api, requestTimeout: "30 seconds" } } }), /routes\.api\.requestTimeout "30 seconds" must be a Gateway API duration/);
  });
});

describe("routing from stack config", () => {
  async function program(config: Record<string, unknown>, stack = "local") {
    await h.reset(stack, { "shop:docker": { host: "unix:///var/run/docker.sock" }, "shop:monitoring": { enabled: false }, "shop:logging": { enabled: false }, ...config });
    const out = deployPlatform(loadConfig());
    await h.settle();
    return out;
  }
  const policies = () => Object.fromEntries(h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => [p.inputs.metadata.name, p.inputs.spec]));

  it("defaults to the Gateway API: a Gateway of the local class and the API route with the edge's request budget (15s)", async () => {
    const out = await program({});
    assert.strictEqual(h.ofType(GATEWAY)[0].inputs.spec.gatewayClassName, "traefik");
    assert.deepStrictEqual(route("api").spec.rules[0].timeouts, { request: "15s" });
    assert.strictEqual(h.ofType(INGRESS).length, 0);
    assert.strictEqual(await h.promiseOf(out.apiUrl), "http://shop.localhost/api");
  });

  it("admits the edge namespace to the gateway pods on their port only", async () => {
    await program({ "shop:routing": { edgeNamespace: "envoy-gateway-system" } });
    assert.deepStrictEqual(policies()["allow-in-edge-to-gateway"], {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "gateway" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "envoy-gateway-system" } } }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
  });

  it("lets the edge reach cert-manager's ACME HTTP-01 solver only when an issuer is named", async () => {
    await program({ "shop:routing": { tls: { enabled: true, clusterIssuer: "letsencrypt-prod" } } });
    assert.deepStrictEqual(policies()["allow-in-edge-to-acme-solver"], {
      podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } }], ports: [{ protocol: "TCP", port: 8089 }] }],
    });
    await program({ "shop:routing": { tls: { enabled: true } } });
    assert.strictEqual(policies()["allow-in-edge-to-acme-solver"], undefined);
  });

  it("attaches to a shared Gateway named by the stack", async () => {
    await program({ "shop:routing": { gateway: { name: "shared-gateway", namespace: "gateway-system" } } });
    assert.strictEqual(h.ofType(GATEWAY).length, 0);
    assert.deepStrictEqual([route("api").spec.parentRefs[0].namespace, route("api").spec.parentRefs[0].name], ["gateway-system", "shared-gateway"]);
  });

  it("routes with plain Ingresses in ingress mode", async () => {
    await program({ "shop:routing": { mode: "ingress", ingress: { className: "traefik" } } });
    assert.strictEqual(h.ofType(HTTPROUTE).length, 0);
    assert.deepStrictEqual(h.ofType(INGRESS).map((i) => i.inputs.metadata.name), ["api"]);
  });

  it("routes Grafana and Kibana from the observability namespace to the backends Monitoring and Logging expose", async () => {
    await h.reset("local", { "shop:docker": { host: "unix:///var/run/docker.sock" } });
    const out = deployPlatform(loadConfig());
    await h.settle();
    assert.deepStrictEqual(route("grafana").spec.rules[0].backendRefs, [{ kind: "Service", name: "monitoring-grafana", port: 3000 }]);
    assert.deepStrictEqual(route("kibana").spec.rules[0].backendRefs, [{ kind: "Service", name: "logging-kibana", port: 5601 }]);
    assert.strictEqual(route("grafana").metadata.namespace, "shop-local-observability");
    assert.strictEqual(await h.promiseOf(out.grafanaUrl!), "http://shop.localhost/grafana/");
    // The observability namespace has no namespace-wide edge policy: only Grafana's and Kibana's own.
    const obsPolicies = h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((p) => p.inputs.metadata.namespace === "shop-local-observability");
    const fromEdge = obsPolicies.filter((p) => JSON.stringify(p.inputs.spec.ingress ?? []).includes('"traefik"'));
    assert.deepStrictEqual(fromEdge.map((p) => [p.inputs.spec.podSelector.matchLabels["app.kubernetes.io/name"], p.inputs.spec.ingress.find((r: any) => JSON.stringify(r).includes("traefik")).ports]).sort(), [
      ["grafana", [{ protocol: "TCP", port: 3000 }]],
      ["kibana", [{ protocol: "TCP", port: 5601 }]],
    ]);
  });
});
