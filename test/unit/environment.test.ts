import * as h from "./harness";
import * as assert from "assert";
import * as k8s from "@pulumi/kubernetes";
import { Environment, EnvironmentArgs } from "../../components/environment";

async function deploy(over: Partial<EnvironmentArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const env = new Environment("shop", { namespace: "shop-test", provider, ...over });
  await h.settle();
  return env;
}
const policies = () => Object.fromEntries(h.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => [p.inputs.metadata.name, p.inputs.spec]));

describe("Environment", () => {
  it("creates the namespace with restricted Pod Security Admission labels", async () => {
    const env = await deploy();
    const labels = h.named("shop-ns").inputs.metadata.labels;
    for (const mode of ["enforce", "audit", "warn"]) assert.strictEqual(labels[`pod-security.kubernetes.io/${mode}`], "restricted");
    assert.strictEqual(await h.promiseOf(env.namespace), "shop-test");
  });

  it("can enforce privileged while still auditing and warning restricted (the observability namespace)", async () => {
    await deploy({ namespace: "shop-test-observability", podSecurity: { enforce: "privileged", audit: "restricted", warn: "restricted" } });
    const labels = h.named("shop-ns").inputs.metadata.labels;
    assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.strictEqual(labels["pod-security.kubernetes.io/warn"], "restricted");
  });

  it("denies all ingress and egress by default and allows DNS", async () => {
    await deploy();
    const p = policies();
    assert.deepStrictEqual(p["default-deny"], { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    assert.deepStrictEqual(p["allow-dns"].egress[0].ports, [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }]);
    assert.deepStrictEqual(p["allow-dns"].egress[0].to[0].namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "kube-system" });
  });

  it("renders each allowed flow as its own policy with the peer and ports given", async () => {
    await deploy({
      ingress: [{ name: "gw-to-user", pods: { app: "user" }, peer: { pods: { app: "gateway" } }, ports: [8080] }],
      egress: [
        { name: "gw-to-user", pods: { app: "gateway" }, peer: { pods: { app: "user" } }, ports: [8080] },
        { name: "user-to-db", pods: { app: "user" }, peer: { cidr: "10.0.0.0/8" }, ports: [3306] },
      ],
    });
    const p = policies();
    assert.deepStrictEqual(p["allow-in-gw-to-user"].ingress, [{ from: [{ podSelector: { matchLabels: { app: "gateway" } } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
    assert.deepStrictEqual(p["allow-out-gw-to-user"].podSelector, { matchLabels: { app: "gateway" } });
    assert.deepStrictEqual(p["allow-out-user-to-db"].egress[0].to, [{ ipBlock: { cidr: "10.0.0.0/8" } }]);
  });

  it("admits another namespace by its metadata.name label", async () => {
    await deploy({ ingress: [{ name: "scrape", pods: {}, peer: { namespace: "obs" }, ports: [8080] }] });
    assert.deepStrictEqual(policies()["allow-in-scrape"].ingress[0].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "obs" } } }]);
  });

  it("sets a ResourceQuota and container defaults when given", async () => {
    await deploy({
      quota: { requestsCpu: "2", requestsMemory: "2Gi", limitsCpu: "4", limitsMemory: "4Gi", pods: 20, persistentVolumeClaims: 5, requestsStorage: "10Gi" },
      limitRange: { defaultRequestCpu: "50m", defaultRequestMemory: "64Mi", defaultCpu: "250m", defaultMemory: "256Mi" },
    });
    assert.strictEqual(h.named("shop-quota").inputs.spec.hard.pods, "20");
    assert.strictEqual(h.named("shop-quota").inputs.spec.hard["requests.storage"], "10Gi");
    assert.deepStrictEqual(h.named("shop-limits").inputs.spec.limits[0].default, { cpu: "250m", memory: "256Mi" });
  });

  it("rejects a namespace that is not a DNS label and a rule with two peers", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    assert.throws(() => new Environment("bad", { namespace: "Shop", provider }), /Environment bad: namespace "Shop" must be a DNS label/);
    assert.throws(
      () => new Environment("bad2", { namespace: "ok", provider, egress: [{ name: "x", pods: {}, peer: { namespace: "a", cidr: "0.0.0.0/0" }, ports: [1] }] }),
      /network rule x needs exactly one peer kind/,
    );
  });
});
