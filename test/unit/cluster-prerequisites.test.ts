import * as h from "./harness";
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { ClusterPrerequisites, endpointFromKubeconfig, prerequisitesProvider } from "../../components/cluster-prerequisites";

/**
 * A stand-in API server on loopback answering /version, the IngressClass and GatewayClass lookups and,
 * when `gatewayApi` is true, the Gateway API's discovery document.
 */
async function apiServer(minor: string, ingressClasses: string[], gatewayApi = false, gatewayClasses: string[] = []): Promise<{ url: string; close: () => void; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization ?? ""}`);
    const m = /^\/apis\/networking\.k8s\.io\/v1\/ingressclasses\/(.+)$/.exec(req.url ?? "");
    const g = /^\/apis\/gateway\.networking\.k8s\.io\/v1\/gatewayclasses\/(.+)$/.exec(req.url ?? "");
    if (req.url === "/version") res.end(JSON.stringify({ major: "1", minor, gitVersion: `v1.${minor}.2` }));
    else if (m && ingressClasses.includes(decodeURIComponent(m[1]))) res.end(JSON.stringify({ kind: "IngressClass" }));
    else if (gatewayApi && req.url === "/apis/gateway.networking.k8s.io/v1") res.end(JSON.stringify({ kind: "APIResourceList", resources: [{ name: "gateways" }, { name: "httproutes" }, { name: "gatewayclasses" }] }));
    else if (gatewayApi && g && gatewayClasses.includes(decodeURIComponent(g[1]))) res.end(JSON.stringify({ kind: "GatewayClass" }));
    else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", code: 404 }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close(), seen };
}

const check = (endpoint: object | "", ingressClass = "nginx") =>
  prerequisitesProvider.check!({}, { endpoint: endpoint ? JSON.stringify(endpoint) : "", minMinor: 30, ingressClass });

describe("ClusterPrerequisites", () => {
  it("passes a cluster of Kubernetes 1.30 or later that has the IngressClass", async () => {
    const api = await apiServer("30", ["nginx"]);
    try {
      assert.deepStrictEqual((await check({ server: api.url, token: "t0ken" })).failures, []);
      assert.ok(api.seen.every((s) => s.endsWith("Bearer t0ken")), "the token was not sent");
    } finally {
      api.close();
    }
  });

  it("refuses Kubernetes older than 1.30, naming the version and the reason", async () => {
    const api = await apiServer("29", ["nginx"]);
    try {
      const f = (await check({ server: api.url })).failures!;
      assert.strictEqual(f.length, 1);
      assert.match(f[0].reason, /Kubernetes v1\.29\.2 is older than 1\.30 \(the services' preStop sleep hook needs it\)/);
    } finally {
      api.close();
    }
  });

  it("refuses a cluster without the IngressClass the Ingress names, naming the key", async () => {
    const api = await apiServer("35", ["traefik"]);
    try {
      const f = (await check({ server: api.url })).failures!;
      assert.strictEqual(f.length, 1);
      assert.match(f[0].reason, /no IngressClass "nginx" \(shop:routing\.ingress\.className\)/);
    } finally {
      api.close();
    }
  });

  it("refuses a cluster that does not serve the Gateway API in gateway mode, naming the way out", async () => {
    const api = await apiServer("35", []);
    try {
      const f = (await prerequisitesProvider.check!({}, { endpoint: JSON.stringify({ server: api.url }), minMinor: 30, gatewayApi: true })).failures!;
      assert.strictEqual(f.length, 1);
      assert.match(f[0].reason, /does not serve the Gateway API .*shop:routing\.mode/);
    } finally {
      api.close();
    }
  });

  it("refuses an owned Gateway whose GatewayClass the cluster lacks, and passes one it has", async () => {
    const api = await apiServer("35", [], true, ["traefik"]);
    try {
      const run = (gatewayClass: string) => prerequisitesProvider.check!({}, { endpoint: JSON.stringify({ server: api.url }), minMinor: 30, gatewayApi: true, gatewayClass });
      assert.deepStrictEqual((await run("traefik")).failures, []);
      const f = (await run("envoy")).failures!;
      assert.strictEqual(f.length, 1);
      assert.match(f[0].reason, /no GatewayClass "envoy" \(shop:routing\.gateway\.className\)/);
    } finally {
      api.close();
    }
  });

  it("says so when the API server cannot be reached", async () => {
    const f = (await check({ server: "http://127.0.0.1:1" })).failures!;
    assert.match(f[0].reason, /cannot reach its API server/);
  });

  it("skips the check when there is no usable kubeconfig", async () => {
    assert.deepStrictEqual((await check("")).failures ?? [], []);
  });

  it("reads the endpoint of the chosen context from a kubeconfig, files relative to it", () => {
    const kubeconfig = `
apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: { server: "https://a.example:6443", certificate-authority: pki/ca.crt }
- name: b
  cluster: { server: "https://b.example:6443", certificate-authority-data: ${Buffer.from("CA").toString("base64")} }
users:
- name: u
  user: { client-certificate: pki/u.crt, client-key: /abs/u.key }
- name: eks
  user: { exec: { command: aws, args: [eks, get-token], env: [{ name: AWS_PROFILE, value: prod }] } }
contexts:
- name: one
  context: { cluster: a, user: u }
- name: two
  context: { cluster: b, user: eks }
current-context: one
`;
    assert.deepStrictEqual(endpointFromKubeconfig(kubeconfig, undefined, "/home/x/.kube"), {
      server: "https://a.example:6443", caFile: "/home/x/.kube/pki/ca.crt", certFile: "/home/x/.kube/pki/u.crt", keyFile: "/abs/u.key",
    });
    assert.deepStrictEqual(endpointFromKubeconfig(kubeconfig, "two", "/home/x/.kube"), {
      server: "https://b.example:6443", caData: "CA", exec: { command: "aws", args: ["eks", "get-token"], env: { AWS_PROFILE: "prod" } },
    });
    assert.match(String(endpointFromKubeconfig(kubeconfig, "three", "/")), /context "three" is not in the kubeconfig/);
  });

  it("serialises a self-contained provider that the engine's dynamic provider host can load and run", async () => {
    await h.reset("dev");
    new ClusterPrerequisites("prerequisites-loaded", { minMinor: 30, ingressClass: "nginx" });
    await h.settle();
    // What pulumi-resource-pulumi-nodejs does with the `__provider` input.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => any;
    const loaded = requireFromString(h.named("prerequisites-loaded").inputs.__provider).handler() as typeof prerequisitesProvider;
    const api = await apiServer("29", []);
    try {
      const f = (await loaded.check!({}, { endpoint: JSON.stringify({ server: api.url }), minMinor: 30, ingressClass: "nginx" })).failures!;
      assert.strictEqual(f.length, 2, JSON.stringify(f));
    } finally {
      api.close();
    }
  });

  it("is registered by the platform, and the Kubernetes provider waits for it", async function () {
    this.timeout(120_000);
    const { config, secretKeys } = h.stackFile("dev");
    await h.reset("dev", config, secretKeys);
    const { loadConfig } = await import("../../config");
    const { deployPlatform } = await import("../../platform");
    deployPlatform(loadConfig());
    await h.settle();
    const p = h.ofType("pulumi-nodejs:dynamic/shop:ClusterPrerequisites");
    assert.strictEqual(p.length, 1);
    // dev attaches its routes to a shared Gateway: the Gateway API must be served, no class is named.
    assert.strictEqual(p[0].inputs.gatewayApi, true);
    assert.strictEqual(p[0].inputs.gatewayClass, undefined);
    assert.strictEqual(p[0].inputs.minMinor, 30);
    assert.strictEqual(h.named("shop-k8s").inputs.enableServerSideApply, "true");
  });
});
