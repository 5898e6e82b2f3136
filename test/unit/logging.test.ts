import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import { Logging, LoggingArgs } from "../../components/logging";
import { bytes } from "../../components/kit";
import { heapMegabytes, namespaceIndexPattern } from "../../components/logging/elasticsearch-config";
import { IMAGES } from "../../components/logging/images";
import { RETRY_LIMIT } from "../../components/logging/pipeline";
import { loadConfig } from "../../config";
import { deployPlatform } from "../../platform";
import { assertUrnsKept, containers, flows, get, plain, policy, T, wasSecret, workloads } from "../observability/helpers";

function args(provider: k8s.Provider, over: Partial<LoggingArgs> = {}): LoggingArgs {
  return {
    namespace: "obs",
    provider,
    shopNamespace: "shop-test",
    replicas: 1,
    storageSize: "10Gi",
    storageClass: "fast-ssd",
    memory: "2Gi",
    retentionDays: 7,
    kibanaPath: "/kibana",
    edgeNamespace: "ingress-nginx",
    publicHost: "shop.example.com",
    elasticPassword: pulumi.secret("given-elastic-password"),
    ...over,
  };
}

/** Creates one Logging named "logs" on a fresh mock engine. */
async function deploy(over: Partial<LoggingArgs> = {}) {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const l = new Logging("logs", args(provider, over));
  await h.settle();
  return l;
}

const es = () => get(T.statefulSet, "logs-elasticsearch");
const esYml = () => yaml.load(get(T.configMap, "logs-elasticsearch").data["elasticsearch.yml"]) as any;
const esEnv = () => Object.fromEntries(es().spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const fluentConf = () => get(T.configMap, "logs-fluent-bit").data["fluent-bit.conf"] as string;
/** The `key value` settings of every `[SECTION]` of a Fluent Bit classic config, in order. */
function sections(conf: string): { name: string; settings: Record<string, string> }[] {
  const out: { name: string; settings: Record<string, string> }[] = [];
  for (const line of conf.split("\n")) {
    const head = /^\[(\w+)\]$/.exec(line.trim());
    if (head) out.push({ name: head[1], settings: {} });
    else if (line.trim() && out.length) {
      const [k, ...v] = line.trim().split(/\s+/);
      out[out.length - 1].settings[k] = v.join(" ");
    }
  }
  return out;
}

describe("Logging", () => {
  describe("Elasticsearch", () => {
    it("runs one node with single-node discovery in dev/local", async () => {
      await deploy({ replicas: 1 });
      assert.strictEqual(es().spec.replicas, 1);
      assert.strictEqual(esYml()["discovery.type"], "single-node");
      assert.strictEqual(esYml()["cluster.initial_master_nodes"], undefined);
      assert.strictEqual(h.ofType("kubernetes:policy/v1:PodDisruptionBudget").length, 0);
    });

    it("runs three master-eligible nodes that find each other through the headless Service in prod", async () => {
      await deploy({ replicas: 3 });
      assert.strictEqual(es().spec.replicas, 3);
      assert.strictEqual(es().spec.podManagementPolicy, "Parallel");
      assert.deepStrictEqual(esYml()["discovery.seed_hosts"], ["logs-elasticsearch-nodes"]);
      assert.deepStrictEqual(esYml()["cluster.initial_master_nodes"], ["logs-elasticsearch-0", "logs-elasticsearch-1", "logs-elasticsearch-2"]);
      assert.strictEqual(get(T.service, "logs-elasticsearch-nodes").spec.clusterIP, "None");
      assert.strictEqual(get("kubernetes:policy/v1:PodDisruptionBudget", "logs-elasticsearch").spec.maxUnavailable, 1);
      const template = JSON.parse(get(T.configMap, "logs-es-setup").data["index-template.json"]);
      assert.strictEqual(template.template.settings["index.number_of_replicas"], 1);
    });

    it("sizes the JVM heap to half the memory limit and sets requests = limits for memory", async () => {
      await deploy({ memory: "3Gi" });
      assert.strictEqual(esEnv().ES_JAVA_OPTS, "-Xms1536m -Xmx1536m");
      const r = es().spec.template.spec.containers[0].resources;
      assert.strictEqual(r.limits.memory, "3Gi");
      assert.strictEqual(r.requests.memory, "3Gi");
    });

    it("keeps its data on a volume of the configured size and class", async () => {
      await deploy({ storageSize: "42Gi", storageClass: "gp3" });
      const claim = es().spec.volumeClaimTemplates[0].spec;
      assert.strictEqual(claim.resources.requests.storage, "42Gi");
      assert.strictEqual(claim.storageClassName, "gp3");
    });

    it("needs no vm.max_map_count sysctl: mmap is off, and no pod could set a node sysctl (none privileged, no capabilities, no sysctls)", async () => {
      await deploy();
      // Elasticsearch's max_map_count bootstrap check applies only to mmap-backed stores.
      assert.strictEqual(esYml()["node.store.allow_mmap"], false);
      for (const { workload, pod, c } of containers()) {
        assert.notStrictEqual(c.securityContext.privileged, true, workload);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, workload);
        assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] }, `${workload} must add no capability (SYS_ADMIN would allow sysctl -w)`);
        assert.strictEqual(pod.securityContext.sysctls, undefined, workload);
        assert.ok(!pod.hostPID && !pod.hostNetwork && !pod.hostIPC, workload);
      }
    });

    it("retains its volumes when the StatefulSet is deleted or scaled down", async () => {
      await deploy({ replicas: 3 });
      assert.deepStrictEqual(es().spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
    });

    it("turns security on, with the elastic password from a Secret and TLS between nodes", async () => {
      await deploy();
      assert.strictEqual(esYml()["xpack.security.enabled"], true);
      assert.strictEqual(esYml()["xpack.security.transport.ssl.enabled"], true);
      assert.deepStrictEqual(esEnv().ELASTIC_PASSWORD, { secretKeyRef: { name: "logs-credentials-auto", key: "elastic-password" } });
      const creds = h.ofType(T.secret).find((r) => r.name === "logs-credentials")!;
      assert.ok(wasSecret(creds.inputs.stringData));
      assert.strictEqual(plain(creds.inputs).stringData["elastic-password"], "given-elastic-password");
      const volumes = es().spec.template.spec.volumes;
      assert.deepStrictEqual(volumes.find((v: any) => v.name === "transport").secret.secretName, "logs-elasticsearch-transport");
    });

    it("creates the transport certificate with a Job that may only read and patch its one Secret", async () => {
      await deploy();
      assert.deepStrictEqual(get(T.role, "logs-transport-cert").rules, [
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["logs-elasticsearch-transport"], verbs: ["get", "patch"] },
      ]);
      const script = get(T.configMap, "logs-transport-cert").data["transport-cert.sh"];
      assert.match(script, /already present .* nothing to do/, "a rerun must keep the existing certificate");
      assert.match(script, /elasticsearch-certutil cert/);
    });
  });

  describe("secrets", () => {
    it("uses the given elastic password, creates no random resource and exposes passwords as secret outputs", async () => {
      const l = await deploy();
      assert.strictEqual(h.ofType(T.randomPassword).length, 0);
      assert.strictEqual(await h.isSecret(l.elasticPassword), true);
      assert.strictEqual(await h.promiseOf(l.elasticPassword), "given-elastic-password");
      assert.strictEqual(await h.isSecret(l.readerPassword), true);
      assert.strictEqual(await h.promiseOf(l.readerUsername), "shop-logs-reader");
    });

    it("generates the elastic password with @pulumi/random when none is given", async () => {
      const l = await deploy({ elasticPassword: undefined });
      assert.deepStrictEqual(h.ofType(T.randomPassword).map((r) => r.name), ["logs-elastic"]);
      assert.strictEqual(await h.isSecret(l.elasticPassword), true);
    });

    it("derives distinct service passwords (Fluent Bit, reader, kibana_system) from the elastic password", async () => {
      await deploy();
      const data = get(T.secret, "logs-credentials").stringData;
      const values = ["elastic-password", "fluent-bit-password", "reader-password", "kibana-system-password", "kibana-encryption-key"].map((k) => data[k]);
      assert.strictEqual(new Set(values).size, 5);
      for (const v of values) assert.ok(v.length >= 20);
    });
  });

  describe("index lifecycle", () => {
    it("deletes indices after the stack's retention, through a policy the setup Job PUTs", async () => {
      await deploy({ retentionDays: 14 });
      const files = get(T.configMap, "logs-es-setup").data;
      assert.deepStrictEqual(JSON.parse(files["ilm-policy.json"]), { policy: { phases: { delete: { min_age: "14d", actions: { delete: {} } } } } });
      const template = JSON.parse(files["index-template.json"]);
      assert.deepStrictEqual(template.index_patterns, ["shop-logs-*"]);
      assert.strictEqual(template.template.settings["index.lifecycle.name"], "shop-logs-retention");
      assert.match(files["setup.sh"], /es PUT "\/_ilm\/policy\/shop-logs-retention"/);
      assert.doesNotMatch(files["setup.sh"], /-X POST[^\n]*_ilm|DELETE/, "setup must only PUT desired state");
    });

    it("reruns the setup Job when the retention changes (its ConfigMap and so its pod template change)", async () => {
      await deploy({ retentionDays: 7 });
      const a = JSON.stringify(get(T.configMap, "logs-es-setup").data);
      await deploy({ retentionDays: 30 });
      const b = JSON.stringify(get(T.configMap, "logs-es-setup").data);
      assert.notStrictEqual(a, b);
      const job = get(T.job, "logs-es-setup");
      assert.strictEqual(job.metadata.name, undefined, "auto-named, so a changed Job is replaced, not patched");
      assert.strictEqual(job.spec.template.spec.containers[0].image, IMAGES.curl);
    });
  });

  describe("Fluent Bit", () => {
    it("tails container logs, adds Kubernetes metadata, parses JSON lines and ships to one index family per namespace", async () => {
      await deploy();
      const s = sections(fluentConf());
      const input = s.find((x) => x.name === "INPUT")!.settings;
      assert.strictEqual(input.Name, "tail");
      assert.strictEqual(input.Path, "/var/log/containers/*.log");
      const filters = s.filter((x) => x.name === "FILTER").map((x) => x.settings);
      assert.deepStrictEqual(filters.map((f) => f.Name), ["kubernetes", "parser", "lua"]);
      assert.strictEqual(filters[1].Key_Name, "log");
      assert.strictEqual(filters[1].Parser, "slog");
      assert.strictEqual(filters[1].Reserve_Data, "On");
      assert.match(get(T.configMap, "logs-fluent-bit").data["parsers.conf"], /Name\s+slog\n\s+Format\s+json/);
      assert.match(get(T.configMap, "logs-fluent-bit").data["index.lua"], /record\["es_index"\] = "shop-logs-" \.\. ns/);
      const out = s.find((x) => x.name === "OUTPUT")!.settings;
      assert.strictEqual(out.Name, "es");
      assert.strictEqual(out.Host, "logs-elasticsearch.obs.svc");
      assert.strictEqual(out.Logstash_Format, "On");
      assert.strictEqual(out.Logstash_Prefix_Key, "$es_index");
      assert.strictEqual(out.HTTP_Passwd, "${ES_PASSWORD}", "the password comes from the environment, not the ConfigMap");
    });

    it("buffers on disk on the node and retries a bounded number of times, long enough for an Elasticsearch restart", async () => {
      await deploy({ fluentBitBufferLimit: "5G" });
      const s = sections(fluentConf());
      assert.strictEqual(s[0].settings["storage.path"], "/var/lib/fluent-bit/buffer");
      assert.strictEqual(s.find((x) => x.name === "INPUT")!.settings["storage.type"], "filesystem");
      assert.strictEqual(s.find((x) => x.name === "INPUT")!.settings.DB, "/var/lib/fluent-bit/tail-containers.db");
      const out = s.find((x) => x.name === "OUTPUT")!.settings;
      assert.strictEqual(out.Retry_Limit, String(RETRY_LIMIT));
      assert.ok(RETRY_LIMIT >= 20 && RETRY_LIMIT < 100, "finite, and enough retries at up to 5 minutes apart to ride out a restart");
      assert.strictEqual(s[0].settings["scheduler.cap"], "300");
      assert.strictEqual(out["storage.total_limit_size"], "5G");
      const ds = get(T.daemonSet, "logs-fluent-bit").spec.template.spec;
      assert.deepStrictEqual(ds.volumes.find((v: any) => v.name === "state").hostPath, { path: "/var/lib/fluent-bit", type: "DirectoryOrCreate" });
      assert.deepStrictEqual(ds.volumes.find((v: any) => v.name === "varlog").hostPath, { path: "/var/log", type: "Directory" });
      assert.strictEqual(ds.containers[0].volumeMounts.find((m: any) => m.name === "varlog").readOnly, true);
    });

    it("has its own least-privilege RBAC: get pods, nothing else", async () => {
      await deploy();
      assert.deepStrictEqual(get(T.clusterRole, "logs-fluent-bit").rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]);
      assert.deepStrictEqual(get(T.clusterRoleBinding, "logs-fluent-bit").subjects, [{ kind: "ServiceAccount", name: "logs-fluent-bit", namespace: "obs" }]);
      assert.strictEqual(get(T.daemonSet, "logs-fluent-bit").spec.template.spec.serviceAccountName, "logs-fluent-bit");
    });

    it("writes with a user that may only create and index log documents", async () => {
      await deploy();
      const role = JSON.parse(get(T.configMap, "logs-es-setup").data["role-shop-logs-writer.json"]);
      assert.deepStrictEqual(role.indices, [{ names: ["shop-logs-*"], privileges: ["create_index", "index", "auto_configure"] }]);
      const env = Object.fromEntries(get(T.daemonSet, "logs-fluent-bit").spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      assert.strictEqual(env.ES_USER, "shop-fluent-bit");
      assert.deepStrictEqual(env.ES_PASSWORD, { secretKeyRef: { name: "logs-credentials-auto", key: "fluent-bit-password" } });
    });
  });

  describe("Kibana", () => {
    it("is served under its path with basePath and rewriteBasePath and hands its backend to the routing", async () => {
      const l = await deploy({ kibanaPath: "/logs" });
      const cfg = yaml.load(get(T.configMap, "logs-kibana").data["kibana.yml"]) as any;
      assert.strictEqual(cfg["server.basePath"], "/logs");
      assert.strictEqual(cfg["server.rewriteBasePath"], true);
      assert.deepStrictEqual(cfg["elasticsearch.hosts"], ["http://logs-elasticsearch.obs.svc:9200"]);
      assert.strictEqual(cfg["elasticsearch.username"], "kibana_system");
      assert.strictEqual(cfg["elasticsearch.password"], "${KIBANA_PASSWORD}");
      assert.strictEqual(h.ofType(T.ingress).length, 0, "the routing component owns the route");
      assert.strictEqual(await h.promiseOf(l.kibanaBackend.serviceName), "logs-kibana");
      assert.strictEqual(l.kibanaBackend.port, 5601);
      assert.deepStrictEqual(flows(policy("logs-kibana-in-edge").ingress, "from"), ["ns:ingress-nginx:TCP/5601"]);
      assert.strictEqual(get(T.deployment, "logs-kibana").spec.template.spec.containers[0].readinessProbe.httpGet.path, "/logs/api/status");
      assert.strictEqual(await h.promiseOf(l.kibanaBackend.serviceName), "logs-kibana");
      assert.strictEqual(l.kibanaBackend.port, 5601);
      assert.strictEqual(await h.promiseOf(l.elasticsearchUrl), "http://logs-elasticsearch.obs.svc:9200");
    });

    it("gets a data view over the shop namespace's logs, created idempotently by a Job", async () => {
      await deploy();
      const files = get(T.configMap, "logs-data-view").data;
      const body = JSON.parse(files["data-view.json"]);
      assert.deepStrictEqual(body.data_view, { id: "shop-logs", title: "shop-logs-shop-test-*,-shop-logs-shop-test-*-*", name: "Shop logs", timeFieldName: "@timestamp" });
      assert.strictEqual(body.override, true, "a rerun replaces the data view instead of failing");
      assert.match(files["data-view.sh"], /\/api\/data_views\/data_view/);
      const env = get(T.job, "logs-data-view").spec.template.spec.containers[0].env;
      assert.strictEqual(env.find((e: any) => e.name === "KIBANA_URL").value, "http://logs-kibana.obs.svc:5601/kibana");
    });
  });

  describe("data view pattern", () => {
    /** Elasticsearch's multi-target syntax: comma-separated wildcards, `-` excludes what the earlier ones matched. */
    function matches(pattern: string, index: string): boolean {
      const re = (p: string) => new RegExp(`^${p.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
      let hit = false;
      for (const part of pattern.split(",")) {
        if (part.startsWith("-")) hit = hit && !re(part.slice(1)).test(index);
        else hit = hit || re(part).test(index);
      }
      return hit;
    }

    it("covers the shop namespace's daily indices and not the observability namespace's own", () => {
      const pattern = namespaceIndexPattern("shop-local");
      assert.ok(matches(pattern, "shop-logs-shop-local-2026.11.29"));
      assert.ok(!matches(pattern, "shop-logs-shop-local-observability-2026.11.29"), pattern);
      assert.ok(!matches(pattern, "shop-logs-shop-localx-2026.11.29"), pattern);
      assert.ok(!matches(pattern, "shop-logs-kube-system-2026.11.29"), pattern);
    });
  });

  describe("NetworkPolicies", () => {
    it("belong to their workload, one per flow, named after it (the effective network is tested on the whole program)", async () => {
      await deploy();
      assert.deepStrictEqual(h.ofType(T.networkPolicy).map((p) => p.name).sort(), [
        "logs-data-view-out-kibana",
        "logs-elasticsearch-in-es-setup",
        "logs-elasticsearch-in-fluent-bit",
        "logs-elasticsearch-in-grafana",
        "logs-elasticsearch-in-kibana",
        "logs-elasticsearch-in-nodes",
        "logs-elasticsearch-out-nodes",
        "logs-es-setup-out-elasticsearch",
        "logs-fluent-bit-in-prometheus",
        "logs-fluent-bit-out-api-server",
        "logs-fluent-bit-out-elasticsearch",
        "logs-kibana-in-data-view",
        "logs-kibana-in-edge",
        "logs-kibana-out-elasticsearch",
        "logs-transport-cert-out-api-server",
      ]);
    });
  });

  describe("resource identity", () => {
    it("keeps the URNs a stack deployed before the split into per-workload files has (no replacement on preview)", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      new Logging("logging", args(provider, { replicas: 3 }));
      await h.settle();
      assertUrnsKept("shop:platform:Logging", [
        ["kubernetes:apps/v1:StatefulSet", "logging-elasticsearch"],
        ["kubernetes:core/v1:Service", "logging-elasticsearch-nodes"],
        ["kubernetes:policy/v1:PodDisruptionBudget", "logging-elasticsearch"],
        ["kubernetes:core/v1:Secret", "logging-credentials"],
        ["kubernetes:core/v1:Secret", "logging-elasticsearch-transport"],
        ["kubernetes:batch/v1:Job", "logging-transport-cert"],
        ["kubernetes:batch/v1:Job", "logging-es-setup"],
        ["kubernetes:apps/v1:DaemonSet", "logging-fluent-bit"],
        ["kubernetes:apps/v1:Deployment", "logging-kibana"],
        ["kubernetes:batch/v1:Job", "logging-data-view"],
      ]);
    });
  });

  describe("workloads", () => {
    it("run hardened with requests, limits and probes; only Fluent Bit runs as root, to read the node's logs", async () => {
      await deploy();
      assert.deepStrictEqual(
        workloads().map((w) => w.name).sort(),
        ["logs-data-view", "logs-elasticsearch", "logs-es-setup", "logs-fluent-bit", "logs-kibana", "logs-transport-cert"],
      );
      for (const { workload, pod, c, init } of containers()) {
        if (workload === "logs-fluent-bit") {
          assert.strictEqual(pod.securityContext.runAsUser, 0);
        } else {
          assert.strictEqual(pod.securityContext.runAsNonRoot, true, workload);
          assert.ok(pod.securityContext.runAsUser > 0, workload);
        }
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true, workload);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, workload);
        assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"], workload);
        assert.ok(c.resources.requests.memory && c.resources.limits.memory && c.resources.limits.cpu, workload);
        const isJob = /setup|data-view|transport-cert/.test(workload);
        if (!init && !isJob) assert.ok(c.readinessProbe && c.livenessProbe, `${workload} needs probes`);
      }
    });

    it("pin every image by an exact version tag", async () => {
      await deploy();
      for (const { c } of containers()) {
        assert.match(c.image, /:v?\d+\.\d+\.\d+$/, `${c.image} is not pinned to an exact version`);
        assert.ok(Object.values(IMAGES).includes(c.image), `${c.image} is not in the pinned image list`);
      }
      const images = new Set(containers().map(({ c }) => c.image.split(":").pop()));
      assert.ok(images.has("8.15.3"), "Elasticsearch and Kibana share one version");
    });

    it("all use the explicit provider and carry the component name as prefix", async () => {
      await deploy();
      const k8sResources = h.recorded.filter((r) => r.type.startsWith("kubernetes:"));
      for (const r of k8sResources) {
        assert.match(r.provider ?? "", /pulumi:providers:kubernetes::test-k8s::/, `${r.type} ${r.name}`);
        assert.match(r.name, /^logs-/, r.name);
      }
    });
  });

  describe("stack switch (shop:logging.enabled)", () => {
    const prebuilt = Object.fromEntries(["gateway", "user", "product", "order"].map((b) => [b, `127.0.0.1:5000/shop/${b}@sha256:${"a".repeat(64)}`]));
    async function platform(config: Record<string, unknown>) {
      await h.reset("local", { images: { prebuilt }, ...config });
      deployPlatform(loadConfig());
      await h.settle();
    }

    it("deploys Logging with the stack's replicas, memory and retention when on", async () => {
      await platform({ logging: { enabled: true, retentionDays: 5, elasticsearch: { replicas: 3, memory: "4Gi" } } });
      assert.strictEqual(h.ofType("shop:platform:Logging").length, 1);
      const sts = plain(h.ofType(T.statefulSet).find((r) => r.name === "logging-elasticsearch")!.inputs);
      assert.strictEqual(sts.spec.replicas, 3);
      assert.strictEqual(sts.spec.template.spec.containers[0].resources.limits.memory, "4Gi");
      const ilm = JSON.parse(plain(h.ofType(T.configMap).find((r) => r.name === "logging-es-setup")!.inputs).data["ilm-policy.json"]);
      assert.strictEqual(ilm.policy.phases.delete.min_age, "5d");
      assert.ok(h.recorded.some((r) => r.type === "kubernetes:core/v1:Namespace" && /observability/.test(JSON.stringify(plain(r.inputs.metadata)))));
    });

    it("leaves no trace of Logging when off, and Grafana then has no Elasticsearch datasource", async () => {
      await platform({ logging: { enabled: false } });
      assert.strictEqual(h.ofType("shop:platform:Logging").length, 0);
      assert.deepStrictEqual(h.recorded.filter((r) => r.name.startsWith("logging-")).map((r) => r.name), []);
      const ds = plain(h.ofType(T.configMap).find((r) => r.name === "monitoring-grafana-provisioning")!.inputs).data["datasources.yaml"];
      assert.doesNotMatch(ds, /elasticsearch/);
    });

    it("creates no observability namespace when both stacks are off", async () => {
      await platform({ logging: { enabled: false }, monitoring: { enabled: false } });
      assert.strictEqual(h.ofType("shop:platform:Logging").length + h.ofType("shop:platform:Monitoring").length, 0);
      assert.ok(!h.recorded.some((r) => r.type === "kubernetes:core/v1:Namespace" && /observability/.test(JSON.stringify(plain(r.inputs.metadata)))));
    });
  });

  describe("heap sizing", () => {
    it("reads the memory quantities the config accepts (binary suffixes)", () => {
      assert.strictEqual(bytes("1536Mi"), 1536 * 2 ** 20);
      assert.strictEqual(bytes("2Gi"), 2 * 2 ** 30);
      assert.throws(() => bytes("2 GB"), /not a binary-suffixed size: 2 GB/);
    });

    it("gives the heap half the limit, capped below 32 GiB to keep compressed pointers", () => {
      assert.strictEqual(heapMegabytes(2 * 2 ** 30), 1024);
      assert.strictEqual(heapMegabytes(2e9), 953);
      assert.strictEqual(heapMegabytes(128 * 2 ** 30), 31 * 1024);
    });
  });

  describe("bad input", () => {
    // Replicas, memory floor, retention, paths and storage class are the config schema's (bad-config tests).
    const cases: [string, Partial<LoggingArgs>, RegExp][] = [
      ["a memory that is not a quantity", { memory: "lots" }, /memory is invalid: .*not a binary-suffixed size: lots/],
      ["a Kibana memory that is not a quantity", { kibanaMemory: "1 GB" }, /kibanaMemory is invalid/],
    ];
    for (const [what, over, message] of cases) {
      it(`rejects ${what}, naming the field`, async () => {
        await h.reset("dev");
        const provider = new k8s.Provider("test-k8s", {});
        assert.throws(() => new Logging("logs", args(provider, over)), (e: Error) => message.test(e.message) && /Logging logs:/.test(e.message));
      });
    }
  });
});
