/**
 * The local cluster's real node, end to end, with the project's own images and no Pulumi program:
 * pods on the bridge, Services and cluster DNS, logs and exec, the Gateway API edge on 127.0.0.1,
 * the data stores' images ready on volumes with a read-only root fs, and nothing on the uplink.
 * Needs the cluster from scripts/cluster.sh (with its real node) and root for the packet capture.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { edgeRequest, REPO, sh, waitFor } from "./support";

const NS = "real-node-smoke";
const NODE = "local-real-node";
const POD_CIDR = "10.244.0.0/16";
const SERVICE_CIDR = "10.96.0.0/16";
const IMAGES = ["mariadb", "redis", "rabbitmq", "coredns"] as const;
const HOST = "smoke.localhost";

const kubectl = (...args: string[]) => sh("kubectl", args);
/** The images under test, built from Debian packages and the toolchain when missing (cached by inputs). */
function thirdPartyImages(): Record<string, string> {
  return JSON.parse(sh(path.join(REPO, "scripts", "images.sh"), ["third-party", ...IMAGES]));
}

function uplink(): string {
  const m = /\bdev (\S+)/.exec(sh("ip", ["-4", "route", "show", "default"]));
  if (!m) throw new Error("no default route: cannot tell the uplink interface");
  return m[1];
}

/** GET http://127.0.0.1<path> with a Host header: status and body. */
const edgeGet = (p: string, host: string) => edgeRequest(host, "GET", p);

/** The smoke test's objects: three stores like the program's, a web backend behind an HTTPRoute. */
function manifests(img: Record<string, string>): string {
  const placement = {
    nodeSelector: { "shop.example.com/simulated": "false" },
    tolerations: [{ key: "shop.example.com/real", operator: "Exists", effect: "NoSchedule" }],
  };
  const ctrSec = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  const podSec = (uid: number) => ({ runAsUser: uid, runAsGroup: uid, fsGroup: uid, runAsNonRoot: true });
  const tmp = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } };
  const store = (name: string, port: number, container: any, extraVolumes: any[] = []) => [
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace: NS }, spec: { selector: { app: name }, ports: [{ name: "db", port, targetPort: port }] } },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name, namespace: NS },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: { app: name } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...placement,
            securityContext: podSec(999),
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 10,
            containers: [{ name, image: img[name], ports: [{ name: "db", containerPort: port }], securityContext: ctrSec, ...container }],
            volumes: [tmp, ...extraVolumes],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", resources: { requests: { storage: "1Gi" } } } },
        ],
      },
    },
  ];
  const objects: any[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "auth", namespace: NS }, stringData: { password: "s3cret'pa\\ss" } },
    ...store("mariadb", 3306, {
      env: [
        { name: "MYSQL_RANDOM_ROOT_PASSWORD", value: "yes" },
        { name: "MYSQL_DATABASE", value: "shop" },
        { name: "MYSQL_USER", value: "shop" },
        { name: "MYSQL_PASSWORD", valueFrom: { secretKeyRef: { name: "auth", key: "password" } } },
      ],
      args: ["--port=3306"],
      readinessProbe: {
        exec: { command: ["sh", "-c", 'mariadb -h127.0.0.1 -P3306 -ushop -p"$MYSQL_PASSWORD" -e "SELECT 1" shop'] },
        periodSeconds: 2,
        failureThreshold: 60,
      },
      volumeMounts: [
        { name: "data", mountPath: "/var/lib/mysql" },
        { name: "run", mountPath: "/var/run/mysqld" },
        { name: "tmp", mountPath: "/tmp" },
      ],
    }, [{ name: "run", emptyDir: { sizeLimit: "16Mi" } }]),
    ...store("redis", 6379, {
      env: [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "auth", key: "password" } } }],
      args: ["--port", "6379", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
      readinessProbe: { exec: { command: ["sh", "-c", 'redis-cli -p 6379 --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG'] }, periodSeconds: 2 },
      volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "tmp", mountPath: "/tmp" }],
    }),
    ...store("rabbitmq", 5672, {
      env: [
        { name: "RABBITMQ_DEFAULT_USER", value: "shop" },
        { name: "RABBITMQ_DEFAULT_PASS", valueFrom: { secretKeyRef: { name: "auth", key: "password" } } },
        { name: "RABBITMQ_DEFAULT_VHOST", value: "shop" },
        { name: "RABBITMQ_NODE_PORT", value: "5672" },
      ],
      readinessProbe: { exec: { command: ["rabbitmq-diagnostics", "-q", "check_running"] }, periodSeconds: 5, timeoutSeconds: 20, failureThreshold: 30 },
      volumeMounts: [{ name: "data", mountPath: "/var/lib/rabbitmq" }, { name: "log", mountPath: "/var/log/rabbitmq" }, { name: "tmp", mountPath: "/tmp" }],
    }, [{ name: "log", emptyDir: { sizeLimit: "64Mi" } }]),
    // The route's backend: a second CoreDNS whose health endpoint answers HTTP (a static image of its own).
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: NS }, data: { Corefile: ".:1053 {\n    health :8080\n    whoami\n}\n" } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            ...placement,
            securityContext: podSec(65534),
            containers: [
              {
                name: "web",
                image: img.coredns,
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 2 },
                securityContext: ctrSec,
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns" }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "web" } }],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 8080, targetPort: 8080 }] } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "smoke", namespace: NS },
      spec: { gatewayClassName: "traefik", listeners: [{ name: "web", protocol: "HTTP", port: 80, hostname: HOST }] },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "web", namespace: NS },
      spec: {
        parentRefs: [{ name: "smoke" }],
        hostnames: [HOST],
        rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web", port: 8080 }] }],
      },
    },
  ];
  return objects.map((o) => yaml.dump(o)).join("---\n");
}

describe("the local cluster's real node", function () {
  this.timeout(600_000);
  let capture: ChildProcess | undefined;
  let pcap = "";
  let images: Record<string, string>;

  before(async function () {
    try {
      kubectl("get", "node", NODE);
    } catch {
      // The real node is opt-in for now (scripts/cluster.sh: SHOP_REAL_NODE=1).
      console.log(`    (skipped: the cluster has no node ${NODE}; start it with SHOP_REAL_NODE=1 scripts/cluster.sh start)`);
      this.skip();
    }
    images = thirdPartyImages();
    try { kubectl("delete", "namespace", NS, "--wait=true", "--timeout=120s"); } catch { /* not there */ }
    sh(path.join(REPO, "scripts", "cluster.sh"), ["recycle-volumes"]);
    // Everything the pods send or receive is captured on the uplink from here to the end.
    pcap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "real-node-")), "uplink.pcap");
    capture = spawn("tcpdump", ["-ni", uplink(), "-U", "-w", pcap, `net ${POD_CIDR} or net ${SERVICE_CIDR}`], { stdio: "ignore" });
    await waitFor("the packet capture", 10, () => fs.existsSync(pcap) || undefined);
    const f = path.join(path.dirname(pcap), "smoke.yaml");
    fs.writeFileSync(f, manifests(images));
    kubectl("apply", "-f", f);
  });

  after(() => {
    try { kubectl("delete", "namespace", NS, "--wait=true", "--timeout=120s"); } catch { /* best effort */ }
    try { sh(path.join(REPO, "scripts", "cluster.sh"), ["recycle-volumes"]); } catch { /* best effort */ }
    capture?.kill("SIGTERM");
    // The capture's folder (the pcap and the smoke manifest).
    if (pcap) fs.rmSync(path.dirname(pcap), { recursive: true, force: true });
  });

  it("is Ready, runs the kubelet of the toolchain, and is not managed by kwok", () => {
    const node = JSON.parse(kubectl("get", "node", NODE, "-o", "json"));
    assert.strictEqual(node.status.conditions.find((c: any) => c.type === "Ready")?.status, "True");
    assert.strictEqual(node.status.nodeInfo.kubeletVersion, "v1.35.4");
    assert.strictEqual(node.metadata.annotations?.["kwok.x-k8s.io/node"], undefined);
    assert.strictEqual(node.metadata.labels["shop.example.com/simulated"], "false");
    const sims = JSON.parse(kubectl("get", "nodes", "-l", "shop.example.com/simulated=true", "-o", "json")).items;
    assert.strictEqual(sims.length, 3);
    for (const n of sims) assert.strictEqual(n.metadata.annotations["kwok.x-k8s.io/node"], "fake");
  });

  it("gives pods addresses on the bridge and makes the stores Ready with a read-only root fs on a volume", async () => {
    for (const s of ["mariadb", "redis", "rabbitmq"]) {
      await waitFor(`${s} Ready`, 300, () => {
        const pod = JSON.parse(kubectl("get", "pod", `${s}-0`, "-n", NS, "-o", "json"));
        return pod.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") ? pod : undefined;
      }).then((pod: any) => {
        assert.strictEqual(pod.spec.nodeName, NODE);
        assert.match(pod.status.podIP, /^10\.244\.0\.\d+$/);
        assert.strictEqual(pod.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
      });
    }
    const pvcs = JSON.parse(kubectl("get", "pvc", "-n", NS, "-o", "json")).items;
    assert.deepStrictEqual(pvcs.map((p: any) => p.status.phase), ["Bound", "Bound", "Bound"]);
  });

  it("runs the stores as uid 999 with their data from the pod's env", () => {
    assert.strictEqual(kubectl("exec", "-n", NS, "redis-0", "--", "id", "-u").trim(), "999");
    const q = kubectl("exec", "-n", NS, "mariadb-0", "--", "sh", "-c", 'mariadb -h127.0.0.1 -ushop -p"$MYSQL_PASSWORD" -N -e "SELECT CURRENT_USER(), DATABASE()" shop');
    assert.match(q, /^shop@%\tshop$/m);
    // Initialised into a subdirectory of the volume.
    assert.match(kubectl("exec", "-n", NS, "mariadb-0", "--", "ls", "/var/lib/mysql"), /^data$/m);
    assert.match(kubectl("exec", "-n", NS, "rabbitmq-0", "--", "rabbitmqctl", "-q", "list_users"), /^shop\b/m);
    assert.throws(() => kubectl("exec", "-n", NS, "redis-0", "--", "touch", "/usr/x"), /Read-only file system/);
  });

  it("resolves Service names through CoreDNS and reaches them from a pod (hairpin included)", () => {
    const ip = JSON.parse(kubectl("get", "service", "redis", "-n", NS, "-o", "json")).spec.clusterIP;
    const hosts = kubectl("exec", "-n", NS, "redis-0", "--", "getent", "hosts", `redis.${NS}.svc.cluster.local`);
    assert.match(hosts, new RegExp(`^${ip.replace(/\./g, "\\.")}\\s`));
    const pong = kubectl("exec", "-n", NS, "redis-0", "--", "sh", "-c", `redis-cli -h redis.${NS} --no-auth-warning -a "$REDIS_PASSWORD" ping`);
    assert.strictEqual(pong.trim(), "PONG");
    // No forwarding: names outside the cluster do not resolve (and no query leaves the machine).
    assert.throws(() => kubectl("exec", "-n", NS, "redis-0", "--", "getent", "hosts", "example.com"));
  });

  it("shows container logs", () => {
    assert.match(kubectl("logs", "-n", NS, "redis-0"), /Ready to accept connections/);
    assert.match(kubectl("logs", "-n", NS, "mariadb-0"), /initialised/);
  });

  it("serves an HTTPRoute through Traefik on http://127.0.0.1/ by Host", async () => {
    const gw = await waitFor("Gateway Programmed", 120, () => {
      const g = JSON.parse(kubectl("get", "gateway", "smoke", "-n", NS, "-o", "json"));
      return g.status?.conditions?.some((c: any) => c.type === "Programmed" && c.status === "True") ? g : undefined;
    });
    assert.deepStrictEqual(gw.status.addresses?.map((a: any) => a.value), ["127.0.0.1"]);
    const res = await waitFor("the route answering", 120, async () => {
      const r = await edgeGet("/health", HOST);
      return r.status === 200 ? r : undefined;
    });
    assert.strictEqual(res.body, "OK");
    assert.strictEqual((await edgeGet("/health", "other.localhost")).status, 404);
  });

  it("sent and received nothing of the pod or Service range on the uplink", async () => {
    capture?.kill("SIGTERM");
    await waitFor("the capture to stop", 10, () => (capture?.exitCode !== null || capture?.signalCode ? true : undefined));
    capture = undefined;
    const seen = sh("tcpdump", ["-nr", pcap]).trim();
    assert.strictEqual(seen, "", `packets on the uplink:\n${seen}`);
    sh(path.join(REPO, "scripts", "netguard.sh"), ["check"]);
  });
});
