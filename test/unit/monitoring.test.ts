import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import { Monitoring, MonitoringArgs } from "../../components/monitoring";
import { IMAGES } from "../../components/monitoring/images";
import { loadConfig } from "../../config";
import { deployPlatform } from "../../platform";
import { assertUrnsKept, containers, monitoringArgs, flows, get, plain, policy, T, wasSecret, workloads } from "../observability/helpers";

const WEBHOOK = "https://hooks.example.com/shop-alerts";

const args = monitoringArgs;

/** Creates one Monitoring named "mon" on a fresh mock engine. */
async function deploy(over: Partial<MonitoringArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const m = new Monitoring("mon", args(provider, over));
  await h.settle();
  return m;
}

const promConfig = () => yaml.load(get(T.configMap, "mon-prometheus").data["prometheus.yml"]) as any;
const rules = () => yaml.load(get(T.configMap, "mon-prometheus-rules").data["shop.yml"]) as any;
const grafanaEnv = () => Object.fromEntries(get(T.deployment, "mon-grafana").spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe("Monitoring", () => {
  describe("Prometheus", () => {
    it("scrapes the annotated pods of the shop and observability namespaces, the API server, cAdvisor, kube-state-metrics and itself", async () => {
      await deploy();
      const cfg = promConfig();
      assert.deepStrictEqual(
        cfg.scrape_configs.map((s: any) => s.job_name),
        ["prometheus", "kubernetes-apiservers", "kubernetes-cadvisor", "kube-state-metrics", "kubernetes-pods"],
      );
      const pods = cfg.scrape_configs.find((s: any) => s.job_name === "kubernetes-pods");
      assert.deepStrictEqual(pods.kubernetes_sd_configs, [{ role: "pod", namespaces: { names: ["shop-test", "obs"] } }]);
      const relabel = pods.relabel_configs;
      assert.deepStrictEqual(relabel[0], { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], regex: "true", action: "keep" });
      assert.ok(relabel.some((r: any) => r.target_label === "__metrics_path__" && r.source_labels[0].endsWith("prometheus_io_path")));
      assert.ok(relabel.some((r: any) => r.target_label === "__address__" && r.source_labels[1].endsWith("prometheus_io_port")));
      assert.ok(relabel.some((r: any) => r.target_label === "service" && r.source_labels[0].endsWith("app_kubernetes_io_name")));
      assert.deepStrictEqual(cfg.alerting.alertmanagers[0].static_configs[0].targets, ["mon-alertmanager.obs.svc:9093"]);
      assert.deepStrictEqual(cfg.rule_files, ["/etc/prometheus/rules/*.yml"]);
    });

    it("scrapes every 30s by default, or as often as the stack says (its timeout never above the interval)", async () => {
      await deploy();
      assert.deepStrictEqual([promConfig().global.scrape_interval, promConfig().global.scrape_timeout], ["30s", "10s"]);
      await deploy({ scrapeInterval: "15s" });
      assert.deepStrictEqual([promConfig().global.scrape_interval, promConfig().global.scrape_timeout], ["15s", "10s"]);
      await deploy({ scrapeInterval: "5s" });
      assert.deepStrictEqual([promConfig().global.scrape_interval, promConfig().global.scrape_timeout], ["5s", "5s"]);
    });

    it("ingests created timestamps as zeros, so rate() counts a new series' first increments", async () => {
      await deploy();
      const args: string[] = get(T.statefulSet, "mon-prometheus").spec.template.spec.containers[0].args;
      assert.deepStrictEqual(args.filter((a) => a.startsWith("--enable-feature=")), ["--enable-feature=created-timestamp-zero-ingestion"]);
    });

    it("keeps the retention and volume of the stack config", async () => {
      await deploy({ retention: "30d", storageSize: "50Gi", storageClass: "gp3" });
      const sts = get(T.statefulSet, "mon-prometheus");
      assert.ok(sts.spec.template.spec.containers[0].args.includes("--storage.tsdb.retention.time=30d"));
      const claim = sts.spec.volumeClaimTemplates[0].spec;
      assert.strictEqual(claim.resources.requests.storage, "50Gi");
      assert.strictEqual(claim.storageClassName, "gp3");
    });

    it("has a least-privilege ClusterRole: read-only discovery, kubelet metrics and the API server's /metrics", async () => {
      await deploy();
      assert.deepStrictEqual(get(T.clusterRole, "mon-prometheus").rules, [
        { apiGroups: [""], resources: ["pods", "services", "endpoints", "nodes"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
        { nonResourceURLs: ["/metrics"], verbs: ["get"] },
      ]);
      const binding = get(T.clusterRoleBinding, "mon-prometheus");
      assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "mon-prometheus", namespace: "obs" }]);
    });

    it("lets kube-state-metrics list pods in the two watched namespaces only, through namespaced Roles", async () => {
      await deploy();
      assert.strictEqual(h.ofType(T.clusterRole).length, 1, "only Prometheus has a ClusterRole");
      const roles = h.ofType(T.role).map((r) => plain(r.inputs));
      assert.deepStrictEqual(roles.map((r) => r.metadata.namespace).sort(), ["obs", "shop-test"]);
      for (const r of roles) assert.deepStrictEqual(r.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }]);
      const ksmArgs = get(T.deployment, "mon-kube-state-metrics").spec.template.spec.containers[0].args;
      assert.ok(ksmArgs.includes("--resources=pods") && ksmArgs.includes("--namespaces=shop-test,obs"), ksmArgs.join(" "));
    });
  });

  describe("alert rules", () => {
    it("has one 'down' alert per service and the shop's RED, pod and queue alerts, scoped to the shop namespace", async () => {
      await deploy({ services: ["gateway", "order"] });
      const all = rules().groups.flatMap((g: any) => g.rules);
      const down = all.filter((r: any) => r.alert === "ShopServiceDown");
      assert.deepStrictEqual(down.map((r: any) => r.labels.service), ["gateway", "order"]);
      assert.deepStrictEqual(
        [...new Set(all.map((r: any) => r.alert))].sort(),
        ["ShopCanaryReleaseAborted", "ShopHighErrorRatio", "ShopHighLatencyP99", "ShopMemoryNearLimit", "ShopOrderEventsStalled", "ShopOrderQueueBacklog", "ShopPodRestarting", "ShopServiceDown"],
      );
      for (const r of all) assert.match(r.expr, /namespace="shop-test"/, `${r.alert} is not scoped to the shop namespace`);
      const p99 = all.find((r: any) => r.alert === "ShopHighLatencyP99");
      assert.match(p99.expr, /histogram_quantile\(0\.99, sum by \(namespace, service, le\) \(rate\(http_request_duration_seconds_bucket/);
    });

    it("takes its thresholds from the arguments", async () => {
      await deploy({ thresholds: { errorRatio: 0.2, p99LatencySeconds: 0.25, orderBacklog: 500 } });
      const all = rules().groups.flatMap((g: any) => g.rules);
      const expr = (name: string) => all.find((r: any) => r.alert === name).expr as string;
      assert.match(expr("ShopHighErrorRatio"), /> 0\.2$/);
      assert.match(expr("ShopHighLatencyP99"), /> 0\.25$/);
      assert.match(expr("ShopOrderQueueBacklog"), /> 500$/);
    });
  });

  describe("Alertmanager", () => {
    it("keeps its configuration, which holds the webhook URL, in a Secret passed as a Pulumi secret", async () => {
      await deploy({ alertWebhookUrl: pulumi.secret(WEBHOOK) });
      const secret = h.ofType(T.secret).find((r) => r.name === "mon-alertmanager")!;
      assert.ok(wasSecret(secret.inputs.stringData), "the rendered config must reach the engine as a secret");
      const cfg = yaml.load(plain(secret.inputs).stringData["alertmanager.yml"]) as any;
      assert.deepStrictEqual(cfg.receivers, [{ name: "shop-webhook", webhook_configs: [{ url: WEBHOOK, send_resolved: true, max_alerts: 0 }] }]);
      assert.deepStrictEqual(cfg.route.group_by, ["alertname", "namespace", "service"]);
      assert.strictEqual(cfg.inhibit_rules.length, 2);
      for (const cm of h.ofType(T.configMap)) assert.ok(!JSON.stringify(plain(cm.inputs)).includes(WEBHOOK), `${cm.name} leaks the webhook URL`);
    });

    it("routes to a receiver without integrations when no webhook is configured", async () => {
      await deploy({ alertWebhookUrl: undefined });
      const cfg = yaml.load(get(T.secret, "mon-alertmanager").stringData["alertmanager.yml"]) as any;
      assert.deepStrictEqual(cfg.receivers, [{ name: "shop-none" }]);
      assert.strictEqual(cfg.route.receiver, "shop-none");
    });

    it("may only reach the webhook's port, and has no way out without a webhook", async () => {
      await deploy({ alertWebhookUrl: pulumi.secret("https://hooks.example.com:8443/x") });
      assert.deepStrictEqual(flows(policy("mon-alertmanager-out-webhook").egress, "to"), ["cidr:0.0.0.0/0:TCP/8443"]);
      await deploy({ alertWebhookUrl: undefined });
      const egress = h.ofType(T.networkPolicy).filter((p) => /^mon-alertmanager-out-/.test(p.name));
      assert.deepStrictEqual(egress.map((p) => p.name), []);
    });
  });

  describe("Grafana", () => {
    it("uses the given admin password, creates no random resource and exposes the password as a secret output", async () => {
      const m = await deploy();
      assert.strictEqual(h.ofType(T.randomPassword).length, 0);
      const secret = h.ofType(T.secret).find((r) => r.name === "mon-grafana")!;
      assert.ok(wasSecret(secret.inputs.stringData));
      assert.strictEqual(plain(secret.inputs).stringData["admin-password"], "given-grafana-password");
      assert.strictEqual(await h.isSecret(m.grafanaAdminPassword), true);
      assert.strictEqual(await h.promiseOf(m.grafanaAdminPassword), "given-grafana-password");
    });

    it("generates the admin password with @pulumi/random when none is given", async () => {
      const m = await deploy({ grafanaAdminPassword: undefined });
      const pw = h.ofType(T.randomPassword);
      assert.deepStrictEqual(pw.map((r) => r.name), ["mon-grafana-admin"]);
      assert.strictEqual(pw[0].inputs.length, 24);
      assert.strictEqual(await h.isSecret(m.grafanaAdminPassword), true);
    });

    it("is served under its path of the public host (root_url, serve_from_sub_path) and hands its backend to the routing", async () => {
      const m = await deploy({ grafanaPath: "/obs/grafana" });
      const env = grafanaEnv();
      assert.strictEqual(env.GF_SERVER_ROOT_URL, "http://shop.example.com/obs/grafana/");
      assert.strictEqual(env.GF_SERVER_SERVE_FROM_SUB_PATH, "true");
      assert.strictEqual(h.ofType(T.ingress).length, 0, "the routing component owns the route");
      assert.strictEqual(await h.promiseOf(m.grafanaBackend.serviceName), "mon-grafana");
      assert.strictEqual(m.grafanaBackend.port, 3000);
      assert.deepStrictEqual(get(T.service, "mon-grafana").spec.ports, [{ name: "http", port: 3000, targetPort: "http" }]);
      assert.strictEqual(get(T.deployment, "mon-grafana").spec.template.spec.containers[0].readinessProbe.httpGet.path, "/obs/grafana/api/health");
      assert.strictEqual(await h.promiseOf(m.grafanaBackend.serviceName), "mon-grafana");
      assert.strictEqual(m.grafanaBackend.port, 3000);
      assert.strictEqual(get(T.service, "mon-grafana").spec.ports[0].port, 3000);
      assert.strictEqual(await h.promiseOf(m.prometheusUrl), "http://mon-prometheus.obs.svc:9090");
    });

    it("admits the edge namespace on Grafana's port only", async () => {
      await deploy({ edgeNamespace: "edge-system" });
      assert.deepStrictEqual(flows(policy("mon-grafana-in-edge").ingress, "from"), ["ns:edge-system:TCP/3000"]);
      assert.deepStrictEqual(policy("mon-grafana-in-edge").podSelector.matchLabels, { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "mon" });
    });

    it("uses https URLs and secure cookies when the public scheme is https", async () => {
      const m = await deploy({ publicScheme: "https" });
      assert.strictEqual(await h.promiseOf(m.grafanaUrl), "https://shop.example.com/grafana/");
      assert.strictEqual(grafanaEnv().GF_SECURITY_COOKIE_SECURE, "true");
    });

    it("provisions one RED dashboard per service plus a platform overview", async () => {
      await deploy({ services: ["gateway", "user"] });
      const files = get(T.configMap, "mon-grafana-dashboards").data;
      assert.deepStrictEqual(Object.keys(files).sort(), ["shop-overview.json", "shop-red-gateway.json", "shop-red-user.json"]);
      const red = JSON.parse(files["shop-red-user.json"]);
      assert.strictEqual(red.uid, "shop-red-user");
      const titles = red.panels.map((p: any) => p.title).join(" | ");
      for (const word of ["Rate", "Errors", "Duration"]) assert.match(titles, new RegExp(word));
      for (const p of red.panels) for (const t of p.targets) assert.match(t.expr, /service="user"/, `${p.title}: ${t.expr}`);
    });

    it("provisions Prometheus always and Elasticsearch only with logging, its password through a Secret", async () => {
      await deploy();
      let ds = (yaml.load(get(T.configMap, "mon-grafana-provisioning").data["datasources.yaml"]) as any).datasources;
      assert.deepStrictEqual(ds.map((d: any) => [d.type, d.url]), [["prometheus", "http://mon-prometheus.obs.svc:9090"]]);
      assert.ok(!("SHOP_ES_PASSWORD" in grafanaEnv()));
      assert.ok(!h.ofType(T.networkPolicy).some((p) => p.name === "mon-grafana-out-elasticsearch"), "no path to Elasticsearch without logging");

      await deploy({ elasticsearchUrl: "http://logs-es.obs.svc:9200", elasticsearchPassword: pulumi.secret("reader-pw") });
      ds = (yaml.load(get(T.configMap, "mon-grafana-provisioning").data["datasources.yaml"]) as any).datasources;
      assert.deepStrictEqual(ds.map((d: any) => d.type), ["prometheus", "elasticsearch"]);
      const es = ds[1];
      assert.strictEqual(es.url, "http://logs-es.obs.svc:9200");
      assert.strictEqual(es.secureJsonData.basicAuthPassword, "$__env{SHOP_ES_PASSWORD}");
      assert.ok(!get(T.configMap, "mon-grafana-provisioning").data["datasources.yaml"].includes("reader-pw"));
      assert.strictEqual(get(T.secret, "mon-grafana").stringData.SHOP_ES_PASSWORD, "reader-pw");
      assert.deepStrictEqual(flows(policy("mon-grafana-out-elasticsearch").egress, "to"), ["app:elasticsearch:TCP/9200"]);
    });
  });

  describe("NetworkPolicies", () => {
    it("belong to their workload, one per flow, named after it (the effective network is tested on the whole program)", async () => {
      await deploy();
      const names = h.ofType(T.networkPolicy).map((p) => p.name).sort();
      assert.deepStrictEqual(names, [
        "mon-alertmanager-in-prometheus",
        "mon-allow-scrape",
        "mon-grafana-in-edge",
        "mon-grafana-out-prometheus",
        "mon-kube-state-metrics-in-prometheus",
        "mon-kube-state-metrics-out-api-server",
        "mon-prometheus-in-grafana",
        "mon-prometheus-out-alertmanager",
        "mon-prometheus-out-api-server",
        "mon-prometheus-out-fluent-bit",
        "mon-prometheus-out-kube-state-metrics",
        "mon-prometheus-out-kubelets",
        "mon-prometheus-out-shop-metrics",
      ]);
      const scrape = get(T.networkPolicy, "mon-allow-scrape");
      assert.strictEqual(scrape.metadata.namespace, "shop-test");
      assert.deepStrictEqual(flows(scrape.spec.ingress, "from"), ["ns:obs/app:prometheus:TCP/8080"]);
    });
  });

  describe("resource identity", () => {
    it("keeps the URNs a stack deployed before the split into per-workload files has (no replacement on preview)", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      new Monitoring("monitoring", args(provider));
      await h.settle();
      assertUrnsKept("shop:platform:Monitoring", [
        ["kubernetes:apps/v1:StatefulSet", "monitoring-prometheus"],
        ["kubernetes:core/v1:ConfigMap", "monitoring-prometheus-rules"],
        ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "monitoring-prometheus"],
        ["kubernetes:apps/v1:Deployment", "monitoring-kube-state-metrics"],
        ["kubernetes:rbac.authorization.k8s.io/v1:Role", "monitoring-kube-state-metrics-shop"],
        ["kubernetes:apps/v1:Deployment", "monitoring-alertmanager"],
        ["kubernetes:core/v1:Secret", "monitoring-alertmanager"],
        ["kubernetes:apps/v1:Deployment", "monitoring-grafana"],
        ["kubernetes:core/v1:Service", "monitoring-grafana"],
        ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "monitoring-allow-scrape"],
      ]);
    });
  });

  describe("workloads", () => {
    it("run as non-root without privilege escalation or capabilities, on a read-only root fs, with requests, limits and probes", async () => {
      await deploy();
      assert.deepStrictEqual(workloads().map((w) => w.name).sort(), ["mon-alertmanager", "mon-grafana", "mon-kube-state-metrics", "mon-prometheus"]);
      for (const { workload, pod, c } of containers()) {
        assert.strictEqual(pod.securityContext.runAsNonRoot, true, workload);
        assert.ok(pod.securityContext.runAsUser > 0, workload);
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true, workload);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, workload);
        assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"], workload);
        assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, workload);
        assert.ok(c.readinessProbe && c.livenessProbe, `${workload} needs probes`);
      }
    });

    it("pin every image by an exact version tag", async () => {
      await deploy();
      const used = containers().map(({ c }) => c.image);
      for (const image of used) {
        assert.match(image, /:v?\d+\.\d+\.\d+$/, `${image} is not pinned to an exact version`);
        assert.ok(Object.values(IMAGES).includes(image as any), `${image} is not in the pinned image list`);
      }
    });

    it("all use the explicit provider and carry the component name as prefix", async () => {
      await deploy();
      const k8sResources = h.recorded.filter((r) => r.type.startsWith("kubernetes:"));
      assert.ok(k8sResources.length > 20);
      for (const r of k8sResources) assert.match(r.provider ?? "", /pulumi:providers:kubernetes::test-k8s::/, `${r.type} ${r.name}`);
      for (const r of k8sResources) assert.match(r.name, /^mon-/, `${r.name} is not prefixed with the component name`);
    });

    it("roll the Prometheus pod when its configuration or rules change", async () => {
      await deploy({ services: ["gateway"] });
      const before = get(T.statefulSet, "mon-prometheus").spec.template.metadata.annotations["shop.io/config-checksum"];
      await deploy({ services: ["gateway", "user"] });
      const after = get(T.statefulSet, "mon-prometheus").spec.template.metadata.annotations["shop.io/config-checksum"];
      assert.notStrictEqual(before, after);
    });
  });

  describe("stack switch (shop:monitoring.enabled)", () => {
    const prebuilt = Object.fromEntries(["gateway", "user", "product", "order"].map((b) => [b, `127.0.0.1:5000/shop/${b}@sha256:${"a".repeat(64)}`]));
    async function platform(config: Record<string, unknown>) {
      await h.reset("local", { images: { prebuilt }, ...config });
      deployPlatform(loadConfig());
      await h.settle();
    }

    it("deploys Monitoring with the stack's retention and services when on, wired to Logging's Elasticsearch", async () => {
      await platform({ monitoring: { enabled: true, retention: "3d" } });
      assert.strictEqual(h.ofType("shop:platform:Monitoring").length, 1);
      const sts = plain(h.ofType(T.statefulSet).find((r) => r.name === "monitoring-prometheus")!.inputs);
      assert.ok(sts.spec.template.spec.containers[0].args.includes("--storage.tsdb.retention.time=3d"));
      const files = plain(h.ofType(T.configMap).find((r) => r.name === "monitoring-grafana-dashboards")!.inputs).data;
      assert.deepStrictEqual(Object.keys(files).sort(), ["shop-overview.json", "shop-red-gateway.json", "shop-red-order.json", "shop-red-product.json", "shop-red-user.json"]);
      const ds = plain(h.ofType(T.configMap).find((r) => r.name === "monitoring-grafana-provisioning")!.inputs).data["datasources.yaml"];
      assert.match(ds, /type: elasticsearch/);
    });

    it("names Prometheus' configuration and rules by content, so that a rule change rolls the StatefulSet instead of replacing it", async () => {
      await platform({ monitoring: {} });
      const sts = plain(h.ofType(T.statefulSet).find((r) => r.name === "monitoring-prometheus")!.inputs);
      for (const cm of ["monitoring-prometheus", "monitoring-prometheus-rules"]) {
        const res = h.ofType(T.configMap).find((r) => r.name === cm)!;
        assert.strictEqual(plain(res.inputs).metadata.name, undefined, `${cm} has a fixed name: a change would delete it before creating it, and replace the StatefulSet`);
        // The mocks name an auto-named object `<resource name>-auto`.
        assert.ok(sts.spec.template.spec.volumes.some((v: any) => v.configMap?.name === `${cm}-auto`), `the StatefulSet does not mount ${cm} by its generated name`);
      }
      assert.deepStrictEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
    });

    it("takes the stack's scrape and evaluation intervals and alert pending time; without them the defaults and each rule's own for", async () => {
      const prom = () => yaml.load(plain(h.ofType(T.configMap).find((r) => r.name === "monitoring-prometheus")!.inputs).data["prometheus.yml"]) as any;
      const shopRules = () => (yaml.load(plain(h.ofType(T.configMap).find((r) => r.name === "monitoring-prometheus-rules")!.inputs).data["shop.yml"]) as any)
        .groups.flatMap((g: any) => g.rules);
      await platform({ monitoring: { scrapeInterval: "5s", evaluationInterval: "10s", alertPendingFor: "30s" } });
      assert.deepStrictEqual(
        [prom().global.scrape_interval, prom().global.scrape_timeout, prom().global.evaluation_interval],
        ["5s", "5s", "10s"],
        "the scrape timeout may not exceed a short interval",
      );
      const waiting = shopRules().filter((r: any) => r.for !== undefined);
      assert.ok(waiting.length >= 5);
      for (const r of waiting) assert.strictEqual(r.for, "30s", r.alert);
      assert.ok(shopRules().some((r: any) => r.alert === "ShopPodRestarting" && r.for === undefined), "a rule without for gains one");

      await platform({ monitoring: {} });
      assert.deepStrictEqual([prom().global.scrape_interval, prom().global.scrape_timeout, prom().global.evaluation_interval], ["30s", "10s", "30s"]);
      const down = shopRules().find((r: any) => r.alert === "ShopServiceDown");
      const backlog = shopRules().find((r: any) => r.alert === "ShopOrderQueueBacklog");
      assert.deepStrictEqual([down.for, backlog.for], ["2m", "10m"]);
    });

    it("leaves no trace of Monitoring when off, and Logging still deploys", async () => {
      await platform({ monitoring: { enabled: false } });
      assert.strictEqual(h.ofType("shop:platform:Monitoring").length, 0);
      assert.deepStrictEqual(h.recorded.filter((r) => r.name.startsWith("monitoring-")).map((r) => r.name), []);
      assert.strictEqual(h.ofType("shop:platform:Logging").length, 1);
    });
  });

  describe("bad input", () => {
    const cases: [string, Partial<MonitoringArgs>, RegExp][] = [
      ["no services", { services: [] }, /services is empty/],
      ["a service that is not a DNS label", { services: ["Gateway_1"] }, /services entry "Gateway_1" is not a DNS label/],
      ["duplicate services", { services: ["user", "user"] }, /services has duplicates/],
      ["an Elasticsearch URL without its reader password", { elasticsearchUrl: "http://es:9200" }, /elasticsearchPassword is required with elasticsearchUrl/],
    ];
    for (const [what, over, message] of cases) {
      it(`rejects ${what}, naming the field`, async () => {
        await h.reset("dev");
        const provider = new k8s.Provider("test-k8s", {});
        assert.throws(() => new Monitoring("mon", args(provider, over)), (e: Error) => message.test(e.message) && /Monitoring mon:/.test(e.message));
      });
    }
  });
});
