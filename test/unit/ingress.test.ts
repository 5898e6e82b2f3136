import * as h from "./harness";
import * as assert from "assert";
import * as k8s from "@pulumi/kubernetes";
import { GatewayIngress, GatewayIngressArgs } from "../../components/ingress";

async function deploy(over: Partial<GatewayIngressArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const ing = new GatewayIngress("gw", {
    namespace: "shop-test", provider, className: "nginx", host: "shop.example.com", serviceName: "gateway",
    tls: { enabled: false, secretName: "shop-tls" }, ...over,
  });
  await h.settle();
  return ing;
}

describe("GatewayIngress", () => {
  it("routes /api to the gateway Service through the configured class", async () => {
    const ing = await deploy();
    const spec = h.named("gw-ingress").inputs.spec;
    assert.strictEqual(spec.ingressClassName, "nginx");
    assert.deepStrictEqual(spec.rules[0].http.paths[0], { path: "/api", pathType: "Prefix", backend: { service: { name: "gateway", port: { number: 8080 } } } });
    assert.strictEqual(spec.rules[0].host, "shop.example.com");
    assert.strictEqual(spec.tls, undefined);
    assert.strictEqual(await h.promiseOf(ing.url), "http://shop.example.com/api");
  });

  it("terminates TLS with the certificate Secret, issued by cert-manager when an issuer is named", async () => {
    const ing = await deploy({ tls: { enabled: true, secretName: "shop-cert", clusterIssuer: "letsencrypt-prod" } });
    const i = h.named("gw-ingress").inputs;
    assert.deepStrictEqual(i.spec.tls, [{ hosts: ["shop.example.com"], secretName: "shop-cert" }]);
    assert.strictEqual(i.metadata.annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
    assert.strictEqual(i.metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"], "true");
    assert.strictEqual(await h.promiseOf(ing.url), "https://shop.example.com/api");
  });

  it("adds an ingress-nginx canary Ingress sending the configured weight to the canary gateway", async () => {
    await deploy({ canary: { serviceName: "gateway-canary", weight: 20 } });
    const c = h.named("gw-canary").inputs;
    assert.strictEqual(c.metadata.annotations["nginx.ingress.kubernetes.io/canary"], "true");
    assert.strictEqual(c.metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"], "20");
    assert.strictEqual(c.spec.rules[0].http.paths[0].backend.service.name, "gateway-canary");
    assert.strictEqual(c.spec.rules[0].host, "shop.example.com");
  });

  it("has no canary Ingress without a canary", async () => {
    await deploy();
    assert.strictEqual(h.ofType("kubernetes:networking.k8s.io/v1:Ingress").length, 1);
  });

  it("rejects a canary weight outside 0..100", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    assert.throws(() => new GatewayIngress("gw", {
      namespace: "n", provider, className: "nginx", host: "h", serviceName: "g", tls: { enabled: false, secretName: "s" },
      canary: { serviceName: "c", weight: 101 },
    }), /GatewayIngress gw: canary\.weight must be a whole number 0\.\.100/);
  });
});
