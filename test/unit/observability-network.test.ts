/**
 * The observability namespace's effective network: the whole program is built (namespaces, the shop,
 * Monitoring and Logging) and every recorded NetworkPolicy is evaluated together, so a namespace-wide
 * allow coming back (same-namespace, all-egress, edge-to-every-pod) changes the result and fails here.
 */
import * as h from "./harness";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadConfig } from "../../config";
import { deployPlatform } from "../../platform";
import { openFlows, Party, recordedPods, recordedPolicies } from "../observability/netpol";

const prebuilt = Object.fromEntries(["gateway", "user", "product", "order"].map((b) => [b, `127.0.0.1:5000/shop/${b}@sha256:${"a".repeat(64)}`]));

async function build(config: Record<string, unknown> = {}, secretKeys: string[] = []) {
  await h.reset("local", { images: { prebuilt }, monitoring: { enabled: true }, logging: { enabled: true }, ...config }, secretKeys);
  const cfg = loadConfig();
  deployPlatform(cfg);
  await h.settle();
  const pods = recordedPods();
  const obsNs = `${cfg.namespace}-observability`;
  const edge: Party = { id: "edge", namespace: cfg.routing.edgeNamespace, labels: {}, ports: [] };
  const internet: Party = { id: "internet", labels: {}, ports: [80, 443, 6443, 8443, 9200, 10250, 16443] };
  const dns: Party = { id: "dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ports: [53] };
  return {
    policies: recordedPolicies(),
    obs: pods.filter((p) => p.namespace === obsNs),
    shop: pods.filter((p) => p.namespace === cfg.namespace),
    edge,
    internet,
    dns,
  };
}

describe("observability network (whole program, effective policies)", () => {
  it("opens exactly the flows each workload needs inside the observability namespace and from the edge", async () => {
    const n = await build();
    assert.deepStrictEqual(n.obs.map((p) => p.id).sort(), [
      "alertmanager", "data-view", "elasticsearch", "es-setup", "fluent-bit", "grafana", "kibana", "kube-state-metrics", "prometheus", "transport-cert",
    ]);
    assert.deepStrictEqual(openFlows(n.policies, [...n.obs, n.edge, ...n.shop], n.obs), [
      "data-view -> kibana:5601",
      "edge -> grafana:3000",
      "edge -> kibana:5601",
      "elasticsearch -> elasticsearch:9300",
      "es-setup -> elasticsearch:9200",
      "fluent-bit -> elasticsearch:9200",
      "grafana -> elasticsearch:9200",
      "grafana -> prometheus:9090",
      "kibana -> elasticsearch:9200",
      "prometheus -> alertmanager:9093",
      "prometheus -> fluent-bit:2020",
      "prometheus -> kube-state-metrics:8080",
    ]);
  });

  it("lets only Prometheus into the shop's namespace, on the services' metrics port", async () => {
    const n = await build();
    const services = n.shop.filter((p) => p.labels["app.kubernetes.io/component"] === "service").map((p) => p.id).sort();
    assert.deepStrictEqual(openFlows(n.policies, n.obs, n.shop), services.map((s) => `prometheus -> ${s}:8080`));
  });

  it("lets every API client reach the local cluster's API server on the port a policy sees (after the Service DNAT)", async () => {
    // Pods dial the `kubernetes` Service on 443; kube-proxy rewrites that to the API server's endpoint
    // (on the local cluster 10.244.0.1:<APISERVER_PORT of scripts/cluster-network.sh>) before any policy applies.
    const script = fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "cluster-network.sh"), "utf8");
    const port = Number(/^APISERVER_PORT="\$\{APISERVER_PORT:-(\d+)\}"/m.exec(script)?.[1]);
    assert.ok(port > 0, "scripts/cluster-network.sh sets no default APISERVER_PORT");
    const n = await build();
    const apiServer: Party = { id: "api-server", labels: {}, ports: [port] };
    assert.deepStrictEqual(openFlows(n.policies, n.obs, [apiServer]), [
      `fluent-bit -> api-server:${port}`,
      `kube-state-metrics -> api-server:${port}`,
      `prometheus -> api-server:${port}`,
      `transport-cert -> api-server:${port}`,
    ]);
  });

  it("lets out of the cluster's pods only the API server, kubelet and (with one) webhook ports, and DNS for all", async () => {
    let n = await build();
    assert.deepStrictEqual(openFlows(n.policies, n.obs, [n.internet]), [
      "fluent-bit -> internet:16443",
      "fluent-bit -> internet:443",
      "fluent-bit -> internet:6443",
      "kube-state-metrics -> internet:16443",
      "kube-state-metrics -> internet:443",
      "kube-state-metrics -> internet:6443",
      "prometheus -> internet:10250",
      "prometheus -> internet:16443",
      "prometheus -> internet:443",
      "prometheus -> internet:6443",
      "transport-cert -> internet:16443",
      "transport-cert -> internet:443",
      "transport-cert -> internet:6443",
    ]);
    assert.deepStrictEqual(openFlows(n.policies, n.obs, [n.dns]), n.obs.map((p) => `${p.id} -> dns:53`).sort());

    n = await build({ secrets: { alertWebhookUrl: "https://hooks.example.com:8443/shop" } }, ["secrets"]);
    assert.deepStrictEqual(
      openFlows(n.policies, n.obs, [n.internet]).filter((f) => f.startsWith("alertmanager")),
      ["alertmanager -> internet:8443"],
      "Alertmanager reaches only its webhook's port",
    );
  });
});
