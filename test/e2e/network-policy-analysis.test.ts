/**
 * The analysis behind the end-to-end NetworkPolicy check (test/e2e/checks/network-policy.ts), on a
 * small fixed set of policies: cyclonus' verdicts are read per flow and in order, ports and protocols
 * count, both ends' policies count, and a flow that differs from the table is reported. Needs only the
 * cyclonus binary (scripts/toolchain.sh cyclonus), no cluster.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { analyze, cyclonusBinary, Flow, Party, renderTable } from "./checks/network-policy";
import { withTempDir } from "./temp";

const nsLabels = (ns: string) => ({ "kubernetes.io/metadata.name": ns });
const pod = (ns: string, app: string, ip: string): Party => ({ id: `${ns}/${app}`, namespace: ns, namespaceLabels: nsLabels(ns), labels: { app }, ip });
const policy = (ns: string, name: string, spec: object) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec });

const POLICIES = [
  policy("shop", "default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
  policy("shop", "allow-dns", {
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [{ to: [{ namespaceSelector: { matchLabels: nsLabels("kube-system") }, podSelector: { matchLabels: { app: "dns" } } }], ports: [{ protocol: "UDP", port: 53 }] }],
  }),
  policy("shop", "in-api-to-db", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ protocol: "TCP", port: 5432 }] }] }),
  policy("shop", "out-api-to-db", { podSelector: { matchLabels: { app: "api" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ protocol: "TCP", port: 5432 }] }] }),
  // Egress only: the web pod may send to the db, but the db's ingress does not admit it.
  policy("shop", "out-web-to-db", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }] }),
];

const api = pod("shop", "api", "10.0.0.2");
const db = pod("shop", "db", "10.0.0.3");
const web = pod("shop", "web", "10.0.0.4");
const dns = pod("kube-system", "dns", "10.0.1.2");
const elsewhere = pod("other", "api", "10.0.2.2");
const outside: Party = { id: "an outside address", ip: "203.0.113.10" };

const flow = (from: Party, to: Party, port: number, protocol: "TCP" | "UDP", expect: "allow" | "deny", why: string): Flow => ({ from, to, port, protocol, expect, why });
const FLOWS: Flow[] = [
  flow(api, db, 5432, "TCP", "allow", "both ends admit it"),
  flow(api, db, 5433, "TCP", "deny", "another port"),
  flow(api, db, 5432, "UDP", "deny", "another protocol"),
  flow(web, db, 5432, "TCP", "deny", "the source's egress admits it, the destination's ingress does not"),
  flow(elsewhere, db, 5432, "TCP", "deny", "the right labels in another namespace"),
  flow(api, dns, 53, "UDP", "allow", "DNS"),
  flow(api, dns, 53, "TCP", "deny", "DNS over TCP is not in this policy"),
  flow(db, outside, 443, "TCP", "deny", "default-deny egress"),
  flow(dns, elsewhere, 80, "TCP", "allow", "namespaces without policies are open"),
];

describe("the NetworkPolicy analysis (cyclonus query-traffic)", function () {
  let dir: string;
  before(function () {
    if (!cyclonusBinary()) {
      console.log("    (skipped: cyclonus is not built; scripts/toolchain.sh cyclonus builds it, part of `node`)");
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cyclonus-fixture-"));
    POLICIES.forEach((p, i) => fs.writeFileSync(path.join(dir, `${i}.json`), JSON.stringify(p)));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("answers each flow in order, counting ports, protocols, namespaces and both ends' policies", () => {
    const verdicts = analyze(cyclonusBinary()!, dir, FLOWS);
    const got = verdicts.map((v) => `${v.flow.from.id} -> ${v.flow.to.id} ${v.flow.port}/${v.flow.protocol}: ${v.allowed ? "allow" : "deny"}`);
    const want = FLOWS.map((f) => `${f.from.id} -> ${f.to.id} ${f.port}/${f.protocol}: ${f.expect}`);
    assert.deepStrictEqual(got, want, renderTable(verdicts));
  });

  it("marks a flow whose verdict differs from the table, with cyclonus' explanation", () => {
    // Without the db's ingress policy the db is still isolated by default-deny: api -> db is denied.
    withTempDir("cyclonus-fixture-", (broken) => {
      POLICIES.filter((p) => p.metadata.name !== "in-api-to-db").forEach((p, i) => fs.writeFileSync(path.join(broken, `${i}.json`), JSON.stringify(p)));
      const [v] = analyze(cyclonusBinary()!, broken, [FLOWS[0]]);
      assert.strictEqual(v.allowed, false);
      assert.match(renderTable([v]), /^MISMATCH\s+shop\/api\s+shop\/db\s+5432\/TCP\s+allow\s+deny/m);
      assert.match(v.detail, /Deny/);
    });
  });
});
