/**
 * The deployed NetworkPolicies, proven by analysis. No enforcing policy agent runs on the local node's
 * kernel, so instead of sending packets this check reads the live policies, pods and namespaces
 * (kubectl, read only) and asks a real analyzer, cyclonus (`cyclonus analyze --mode query-traffic`,
 * built by `scripts/toolchain.sh cyclonus`), whether each flow of a truth table is allowed: every flow
 * the platform needs, and a list of flows that must never happen. The table is derived from the
 * program's own constants (catalog, store ports, peer labels), so a policy that drifts from the
 * program's intent fails here with the full table of mismatches.
 *
 * Cyclonus evaluates both ends: a flow is allowed only if the source's egress policies and the
 * destination's ingress policies both admit it (a side no policy selects is open). `ipBlock` peers
 * are matched against the pod IPs given, so the pods' real IPs are used.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BINARIES, CATALOG, HTTP_PORT } from "../../../catalog";
import { STORE_KINDS, STORE_PORTS } from "../../../components/data-stores";
import { DEFAULT_DNS_PEER, DnsPeer, podsOf } from "../../../components/kit";
import { ALERTMANAGER, GRAFANA, KUBE_STATE_METRICS, KUBELET_PORT, PROMETHEUS } from "../../../components/monitoring/peers";
import { ELASTICSEARCH, FLUENT_BIT, KIBANA } from "../../../components/logging/peers";
import { TRANSPORT_CERT_APP } from "../../../components/logging/transport-tls";
import { CANARY_CONTROLLER } from "../../../components/delivery/canary-controller";
import { withTempDir } from "../temp";

/** Where the toolchain puts its binaries (scripts/lib.sh: `$SHOP_CACHE/bin`). */
export function shopBin(): string {
  return path.join(process.env.SHOP_CACHE ?? path.join(os.homedir(), ".cache", "shop-platform"), "bin");
}

/** The cyclonus binary, if `scripts/toolchain.sh cyclonus` has built it. */
export function cyclonusBinary(): string | undefined {
  const bin = path.join(shopBin(), "cyclonus");
  return fs.existsSync(bin) ? bin : undefined;
}

/** The kubeconfig of the local cluster (scripts/lib.sh: `$SHOP_CACHE/run/kubeconfig`), unless KUBECONFIG is set. */
function kubeconfig(): string {
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG;
  const cache = process.env.SHOP_CACHE ?? path.join(os.homedir(), ".cache", "shop-platform");
  return path.join(process.env.SHOP_RUN ?? path.join(cache, "run"), "kubeconfig");
}

/** `kubectl get <what> -o json` (read only). */
function kubectl(args: string[]): any {
  const kubectlBin = fs.existsSync(path.join(shopBin(), "kubectl")) ? path.join(shopBin(), "kubectl") : "kubectl";
  const out = execFileSync(kubectlBin, ["get", ...args, "-o", "json"], {
    env: { ...process.env, KUBECONFIG: kubeconfig() },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 << 20,
  });
  return JSON.parse(out);
}

type Labels = Record<string, string>;

/** One end of a flow: a pod of the cluster (namespace, labels, IP) or an address outside it. */
export interface Party {
  /** Readable name in the table, e.g. `shop-local/gateway`, `node local-real-node`. */
  id: string;
  namespace?: string;
  namespaceLabels?: Labels;
  labels?: Labels;
  ip: string;
  /** Container port number -> its name (for policies that name ports). */
  portNames?: Record<number, string>;
}

/** One row of the truth table. */
export interface Flow {
  from: Party;
  to: Party;
  port: number;
  protocol: "TCP" | "UDP";
  /** What the platform requires: allowed (a flow it needs) or denied (one that must not happen). */
  expect: "allow" | "deny";
  /** Why the row is there. */
  why: string;
}

export interface Verdict {
  flow: Flow;
  allowed: boolean;
  /** Cyclonus' own table for this flow (which policies allowed or denied each side). */
  detail: string;
}

/** The live objects the analysis reads. */
export interface Live {
  policies: any[];
  pods: any[];
  namespaces: Map<string, Labels>;
  nodes: any[];
  apiServer: { ip: string; port: number }[];
}

/** Reads the cluster (`kubectl get`, nothing else); fails when one of `namespaces` does not exist. */
export function readLive(namespaces: string[]): Live {
  const nsList = kubectl(["namespaces"]).items as any[];
  const nsLabels = new Map(nsList.map((n) => [n.metadata.name as string, (n.metadata.labels ?? {}) as Labels]));
  for (const ns of namespaces) if (!nsLabels.has(ns)) throw new Error(`namespace ${ns} does not exist in the cluster: is the stack deployed?`);
  const policies = kubectl(["networkpolicies", "--all-namespaces"]).items as any[];
  const pods = (kubectl(["pods", "--all-namespaces"]).items as any[]).filter((p) => !p.spec.hostNetwork && p.status?.podIP);
  const nodes = kubectl(["nodes"]).items as any[];
  const endpoints = kubectl(["endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes"]).items as any[];
  const apiServer = endpoints.flatMap((s) =>
    (s.endpoints ?? []).flatMap((e: any) => (e.addresses ?? []).flatMap((ip: string) => (s.ports ?? []).map((p: any) => ({ ip, port: p.port as number })))),
  );
  return { policies, pods, namespaces: nsLabels, nodes, apiServer };
}

/** A running pod of `namespace` whose labels include `selector`, as a {@link Party}; undefined if none. */
function podParty(live: Live, namespace: string, selector: Labels, id: string): Party | undefined {
  const matches = (p: any) => p.metadata.namespace === namespace && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v);
  const pod = live.pods.find((p) => matches(p) && p.status?.phase === "Running") ?? live.pods.find(matches);
  if (!pod) return undefined;
  const portNames: Record<number, string> = {};
  for (const c of pod.spec.containers ?? []) for (const p of c.ports ?? []) if (p.name) portNames[p.containerPort] = p.name;
  return { id, namespace, namespaceLabels: live.namespaces.get(namespace) ?? {}, labels: pod.metadata.labels ?? {}, ip: pod.status.podIP, portNames };
}

/** A pod that does not exist but could: `labels` in `namespace` (e.g. a workload of another team). */
function syntheticParty(live: Live, namespace: string, labels: Labels, id: string, ip: string): Party {
  return { id, namespace, namespaceLabels: live.namespaces.get(namespace) ?? { "kubernetes.io/metadata.name": namespace }, labels, ip };
}

/** Options of {@link checkNetworkPolicies} and {@link expectedFlows}. */
export interface NetworkPolicyCheckOptions {
  /** The shop's namespace (`shop:namespace`). */
  namespace: string;
  /** The observability namespace (Prometheus, Grafana, Alertmanager, logging). */
  observabilityNamespace: string;
  /** The edge's namespace (`shop:routing.edgeNamespace`, Traefik on the local cluster). @default "traefik" */
  edgeNamespace?: string;
  /** Where the pods resolve names (`shop:dns`). @default DEFAULT_DNS_PEER (CoreDNS in kube-system) */
  dns?: DnsPeer;
}

/**
 * The truth table of the deployed platform: the flows it needs (allow) and the flows that must not
 * happen (deny), between the live pods that play each part. Throws naming a part no pod plays.
 */
export function expectedFlows(live: Live, opts: NetworkPolicyCheckOptions): Flow[] {
  const ns = opts.namespace;
  const obs = opts.observabilityNamespace;
  const edgeNs = opts.edgeNamespace ?? "traefik";
  const dns = opts.dns ?? DEFAULT_DNS_PEER;
  const missing: string[] = [];
  const need = (p: Party | undefined, what: string): Party => {
    if (!p) missing.push(what);
    return p ?? { id: what, ip: "0.0.0.0" };
  };

  const svc = Object.fromEntries(BINARIES.map((b) => [b, need(podParty(live, ns, podsOf(b), `${ns}/${b}`), `a pod of ${b} in ${ns}`)]));
  const store = Object.fromEntries(STORE_KINDS.map((k) => [k, need(podParty(live, ns, podsOf(k), `${ns}/${k}`), `a pod of ${k} in ${ns}`)]));
  const prometheus = need(podParty(live, obs, PROMETHEUS.pods, `${obs}/prometheus`), `a Prometheus pod in ${obs}`);
  const edgePods = live.pods.filter((p) => p.metadata.namespace === edgeNs);
  // The edge and the DNS are the cluster's, not the stack's: without them (a cluster of simulated nodes
  // only runs neither) a pod is modelled where the policies expect them (the namespace, the DNS labels).
  const edge =
    (edgePods.length ? podParty(live, edgeNs, edgePods[0].metadata.labels ?? {}, `${edgeNs}/edge`) : undefined) ??
    syntheticParty(live, edgeNs, {}, `${edgeNs}/edge (modelled: no pod)`, "10.255.255.2");
  if (!dns.namespace) throw new Error("the check needs a DNS peer in a namespace (CoreDNS pods); the configured one has only CIDRs");
  const coredns =
    podParty(live, dns.namespace, dns.pods ?? {}, `${dns.namespace}/dns`) ??
    syntheticParty(live, dns.namespace, { ...(dns.pods ?? {}) }, `${dns.namespace}/dns (modelled: no pod)`, "10.255.255.3");
  // Observability workloads another one reads (present when the stack deploys them).
  const obsPod = (app: { pods: Labels; app: string }) => podParty(live, obs, app.pods, `${obs}/${app.app}`);
  const [grafana, alertmanager, ksm, fluentBit, elasticsearch, kibana] = [GRAFANA, ALERTMANAGER, KUBE_STATE_METRICS, FLUENT_BIT, ELASTICSEARCH, KIBANA].map(obsPod);
  if (missing.length) throw new Error(`the platform is not deployed as the check expects: no ${missing.join("; no ")}`);

  const flows: Flow[] = [];
  const allow = (from: Party, to: Party, port: number, why: string, protocol: "TCP" | "UDP" = "TCP") => flows.push({ from, to, port, protocol, expect: "allow", why });
  const deny = (from: Party, to: Party, port: number, why: string, protocol: "TCP" | "UDP" = "TCP") => flows.push({ from, to, port, protocol, expect: "deny", why });

  // --- What the platform needs.
  allow(edge, svc.gateway, HTTP_PORT, "the edge serves the API through the gateway");
  for (const b of BINARIES) {
    for (const callee of CATALOG[b].calls) allow(svc[b], svc[callee], HTTP_PORT, `${b} calls ${callee} (catalog)`);
    for (const k of CATALOG[b].stores) allow(svc[b], store[k], STORE_PORTS[k], `${b} uses ${k} (catalog)`);
  }
  for (const b of BINARIES) allow(prometheus, svc[b], HTTP_PORT, `Prometheus scrapes ${b}'s /metrics`);
  if (fluentBit) allow(prometheus, fluentBit, FLUENT_BIT.port, "Prometheus scrapes Fluent Bit");
  if (ksm) allow(prometheus, ksm, KUBE_STATE_METRICS.port, "Prometheus scrapes kube-state-metrics");
  if (alertmanager) allow(prometheus, alertmanager, ALERTMANAGER.port, "Prometheus sends alerts to Alertmanager");
  for (const n of live.nodes) {
    const ip = (n.status?.addresses ?? []).find((a: any) => a.type === "InternalIP")?.address;
    if (ip) allow(prometheus, { id: `node ${n.metadata.name}`, ip }, KUBELET_PORT, "Prometheus scrapes each kubelet (cAdvisor)");
  }
  // The API server as its clients reach it: the `kubernetes` Service's 443 is DNATed to the endpoint
  // (kube-proxy) before any policy applies, so the endpoint's own address and port are what a policy sees.
  if (!live.apiServer.length) throw new Error("the API server has no endpoint (EndpointSlice default/kubernetes)");
  const transportCert = podParty(live, obs, podsOf(TRANSPORT_CERT_APP), `${obs}/${TRANSPORT_CERT_APP}`);
  const canaryController = podParty(live, ns, CANARY_CONTROLLER.pods, `${ns}/${CANARY_CONTROLLER.app}`);
  for (const a of live.apiServer) {
    const api: Party = { id: `API server ${a.ip}`, ip: a.ip };
    allow(prometheus, api, a.port, "Prometheus discovers its targets through, and scrapes, the API server");
    if (ksm) allow(ksm, api, a.port, "kube-state-metrics watches the API server");
    if (fluentBit) allow(fluentBit, api, a.port, "Fluent Bit reads pod metadata from the API server");
    if (transportCert) allow(transportCert, api, a.port, "the transport-cert Job writes its Secret");
    if (canaryController) allow(canaryController, api, a.port, "the canary controller moves HTTPRoute weights");
  }
  if (canaryController) {
    allow(prometheus, canaryController, CANARY_CONTROLLER.port, "Prometheus scrapes the canary controller");
    allow(canaryController, prometheus, PROMETHEUS.port, "the canary controller queries Prometheus for its analysis");
  }
  if (grafana) allow(grafana, prometheus, PROMETHEUS.port, "Grafana queries Prometheus");
  if (fluentBit && elasticsearch) allow(fluentBit, elasticsearch, ELASTICSEARCH.port, "Fluent Bit ships logs to Elasticsearch");
  if (kibana && elasticsearch) allow(kibana, elasticsearch, ELASTICSEARCH.port, "Kibana reads Elasticsearch");
  if (grafana) allow(edge, grafana, GRAFANA.port, "the edge serves Grafana");
  if (kibana) allow(edge, kibana, KIBANA.port, "the edge serves Kibana");
  // Every workload of both namespaces resolves names through the cluster DNS, on UDP and TCP.
  const workloads = new Map<string, Party>();
  for (const p of live.pods) {
    const n = p.metadata.namespace;
    const app = p.metadata.labels?.["app.kubernetes.io/name"];
    if ((n !== ns && n !== obs) || !app || workloads.has(`${n}/${app}`)) continue;
    const party = podParty(live, n, podsOf(app), `${n}/${app}`);
    if (party) workloads.set(`${n}/${app}`, party);
  }
  for (const w of [...workloads.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    allow(w, coredns, 53, "every pod resolves names", "UDP");
    allow(w, coredns, 53, "every pod resolves names (large answers)", "TCP");
  }

  // --- What must not happen.
  for (const b of BINARIES) {
    for (const k of STORE_KINDS) if (!CATALOG[b].stores.includes(k)) deny(svc[b], store[k], STORE_PORTS[k], `${b} does not use ${k}`);
    for (const c of BINARIES) if (c !== b && !CATALOG[b].calls.includes(c)) deny(svc[b], svc[c], HTTP_PORT, `${b} does not call ${c}`);
  }
  for (const k of STORE_KINDS) {
    deny(edge, store[k], STORE_PORTS[k], `the edge never reaches a store`);
    deny(prometheus, store[k], STORE_PORTS[k], `Prometheus scrapes the metrics port only`);
    deny(coredns, store[k], STORE_PORTS[k], `a pod of another namespace (${dns.namespace}) never reaches a store`);
    // The labels the store admits (a consumer's), on a pod of a namespace outside the platform.
    const consumer = BINARIES.find((b) => CATALOG[b].stores.includes(k)) ?? "gateway";
    const intruder = syntheticParty(live, "default", podsOf(consumer), `default/pod labelled ${consumer}`, "10.255.255.1");
    deny(intruder, store[k], STORE_PORTS[k], "a pod outside the platform's namespaces, even wearing a service's labels, never reaches a store");
    deny(store[k], { id: "an outside address", ip: "203.0.113.10" }, 443, `${k} talks to nobody outside`);
    deny(store[k], svc.gateway, HTTP_PORT, `${k} calls no service`);
  }
  for (const b of BINARIES) if (b !== "gateway") deny(edge, svc[b], HTTP_PORT, `the edge reaches ${b} only through the gateway`);
  deny(svc.gateway, { id: "an outside address", ip: "203.0.113.10" }, 443, "the gateway calls nothing outside the cluster");
  deny(svc.gateway, prometheus, PROMETHEUS.port, "the services do not query Prometheus");
  deny(svc.gateway, coredns, 9153, "pods reach the DNS on port 53 only");
  if (grafana) deny(grafana, svc.gateway, HTTP_PORT, "only Prometheus (not the rest of observability) reaches the services");
  if (grafana) deny(grafana, store.mysql, STORE_PORTS.mysql, "observability never reaches a store");
  return flows;
}

/** Writes each live policy to its own file (only the fields cyclonus' strict parser knows). */
export function writePolicies(dir: string, policies: any[]) {
  fs.mkdirSync(dir, { recursive: true });
  for (const p of policies) {
    const doc = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: p.metadata.name, namespace: p.metadata.namespace, labels: p.metadata.labels ?? {} },
      spec: p.spec,
    };
    fs.writeFileSync(path.join(dir, `${p.metadata.namespace}--${p.metadata.name}.json`), JSON.stringify(doc, null, 1));
  }
}

function trafficOf(f: Flow) {
  const peer = (p: Party) => ({
    Internal: p.namespace ? { PodLabels: p.labels ?? {}, NamespaceLabels: p.namespaceLabels ?? {}, Namespace: p.namespace } : null,
    IP: p.ip,
  });
  return { Source: peer(f.from), Destination: peer(f.to), Protocol: f.protocol, ResolvedPort: f.port, ResolvedPortName: f.to.portNames?.[f.port] ?? "" };
}

/**
 * Runs `cyclonus analyze --mode query-traffic` on the policies in `policyDir` for `flows`; one verdict per
 * flow, in order. Cyclonus prints, per traffic, its own table ending in the footer `IS ALLOWED? | TRUE|FALSE`.
 */
export function analyze(bin: string, policyDir: string, flows: Flow[]): Verdict[] {
  return withTempDir("cyclonus-traffic-", (dir) => {
    const trafficFile = path.join(dir, "traffic.json");
    fs.writeFileSync(trafficFile, JSON.stringify(flows.map(trafficOf), null, 1));
    const out = execFileSync(bin, ["analyze", "--use-example-policies=false", "--policy-path", policyDir, "--mode", "query-traffic", "--traffic-path", trafficFile], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 256 << 20,
    });
    const sections = out.split(/^Traffic:$/m).slice(1);
    if (sections.length !== flows.length) {
      throw new Error(`cyclonus answered ${sections.length} traffic queries for ${flows.length} flows:\n${out.slice(0, 4000)}`);
    }
    return sections.map((s, i) => {
      const m = /^\s*\|\s*IS ALLOWED\?\s*\|\s*(TRUE|FALSE)\s*\|/im.exec(s);
      if (!m) throw new Error(`cyclonus gave no verdict for flow ${i + 1}:\n${s}`);
      const detail = s.slice(s.indexOf("Is traffic allowed?")).trim();
      return { flow: flows[i], allowed: m[1].toUpperCase() === "TRUE", detail };
    });
  });
}

/** The truth table as text: one line per flow, expected and computed verdicts. */
export function renderTable(verdicts: Verdict[]): string {
  const rows = verdicts.map((v) => [
    v.flow.expect === (v.allowed ? "allow" : "deny") ? "ok" : "MISMATCH",
    v.flow.from.id,
    v.flow.to.id,
    `${v.flow.port}/${v.flow.protocol}`,
    v.flow.expect,
    v.allowed ? "allow" : "deny",
    v.flow.why,
  ]);
  const header = ["", "from", "to", "port", "expected", "cyclonus", "why"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * Proves the deployed NetworkPolicies: reads them and the pods and namespaces from the running cluster,
 * computes every flow of the truth table with cyclonus, prints the table, and fails listing each flow
 * whose computed verdict differs from the expected one (with cyclonus' explanation).
 */
export async function checkNetworkPolicies(opts: NetworkPolicyCheckOptions): Promise<Verdict[]> {
  const bin = cyclonusBinary();
  if (!bin) throw new Error(`cyclonus is not built (${path.join(shopBin(), "cyclonus")}): run scripts/toolchain.sh cyclonus`);
  const live = readLive([opts.namespace, opts.observabilityNamespace]);
  const flows = expectedFlows(live, opts);
  return withTempDir("cyclonus-policies-", (dir) => {
    writePolicies(dir, live.policies);
    const verdicts = analyze(bin, dir, flows);
    const table = renderTable(verdicts);
    console.log(`    NetworkPolicy truth table (${live.policies.length} live policies, analysed by cyclonus):\n` + table.replace(/^/gm, "      "));
    const wrong = verdicts.filter((v) => v.flow.expect !== (v.allowed ? "allow" : "deny"));
    if (wrong.length) {
      throw new Error(
        `${wrong.length} of ${verdicts.length} flows differ from the platform's truth table:\n${renderTable(wrong)}\n\n` +
          wrong.map((v) => `${v.flow.from.id} -> ${v.flow.to.id} ${v.flow.port}/${v.flow.protocol}:\n${v.detail}`).join("\n\n"),
      );
    }
    return verdicts;
  });
}
