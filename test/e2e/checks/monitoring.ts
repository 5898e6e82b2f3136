/**
 * Monitoring that really fires: checks run against the real Prometheus and Alertmanager of a deployed
 * stack, through the API server's service proxy (`kubectl get --raw .../services/<svc>:<port>/proxy/...`),
 * so no port is opened on this machine. Traffic goes only to the edge at 127.0.0.1.
 *
 * Each check waits on conditions with bounded timeouts derived from the stack's own intervals and
 * `for:` durations (read from Prometheus), prints its figures, and fails with what it observed.
 * Checks that change live state (scaling a Deployment to 0, blocking RabbitMQ's publishers) restore it
 * in a `finally`.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import { promisify } from "util";
import * as yaml from "js-yaml";
import { BINARIES } from "../../../catalog";
import { allDashboards } from "../../../components/monitoring/dashboards";
import { durationSeconds } from "../../../components/monitoring/prometheus-config";
import { edgeRequest, waitFor } from "../support";

const run = promisify(execFile);

/** Where the stack runs. */
export interface MonitoringTarget {
  /** The shop's namespace, e.g. `shop-e2e`. */
  namespace: string;
  /** Its observability namespace, e.g. `shop-e2e-observability`. */
  observabilityNamespace: string;
  /** The stack's route host at the edge (127.0.0.1:80). @default `<namespace>.localhost` with `shop-local` -> `shop.localhost` */
  host?: string;
  /** Where figures are printed. @default console.log, indented under the test */
  log?: (line: string) => void;
}

const out = (t: MonitoringTarget) => t.log ?? ((l: string) => console.log(`      ${l}`));
const hostOf = (t: MonitoringTarget) => t.host ?? (t.namespace === "shop-local" ? "shop.localhost" : `${t.namespace}.localhost`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${Math.round(ms / 100) / 10}s`;

async function kubectl(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("kubectl", args, { encoding: "utf8", maxBuffer: 64 << 20, timeout: 60_000 });
    return stdout;
  } catch (e: any) {
    throw new Error(`kubectl ${args.join(" ")}: ${String(e.stderr || e.message).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

async function kjson(args: string[]): Promise<any> {
  return JSON.parse(await kubectl([...args, "-o", "json"]));
}

/** The `<name>:<port>` of the Service of a monitoring app (`app.kubernetes.io/name`) in the observability namespace. */
async function serviceOf(t: MonitoringTarget, app: string): Promise<string> {
  const list = await kjson(["get", "services", "-n", t.observabilityNamespace, "-l", `app.kubernetes.io/name=${app}`]);
  const svc = list.items[0];
  if (!svc) throw new Error(`no Service labelled app.kubernetes.io/name=${app} in ${t.observabilityNamespace}`);
  return `${svc.metadata.name}:${svc.spec.ports[0].port}`;
}

/** GET on an in-cluster Service through the API server's proxy; parsed JSON. */
async function proxyGet(t: MonitoringTarget, app: string, path: string): Promise<any> {
  const svc = await serviceOf(t, app);
  const body = await kubectl(["get", "--raw", `/api/v1/namespaces/${t.observabilityNamespace}/services/${svc}/proxy${path}`]);
  return JSON.parse(body);
}

const qs = (params: Record<string, string | number>) =>
  Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&");

async function promQuery(t: MonitoringTarget, query: string): Promise<any[]> {
  const r = await proxyGet(t, "prometheus", `/api/v1/query?${qs({ query })}`);
  if (r.status !== "success") throw new Error(`query ${query}: ${JSON.stringify(r).slice(0, 300)}`);
  return r.data.result;
}

async function promRange(t: MonitoringTarget, query: string, seconds: number, step: number): Promise<any[]> {
  const end = Math.floor(Date.now() / 1000);
  const r = await proxyGet(t, "prometheus", `/api/v1/query_range?${qs({ query, start: end - seconds, end, step })}`);
  if (r.status !== "success") throw new Error(`query_range ${query}: ${JSON.stringify(r).slice(0, 300)}`);
  return r.data.result;
}

/** Prometheus' global intervals, in seconds, from its loaded configuration. */
async function intervals(t: MonitoringTarget): Promise<{ scrape: number; evaluation: number }> {
  const r = await proxyGet(t, "prometheus", "/api/v1/status/config");
  const g = (yaml.load(r.data.yaml) as any).global;
  return { scrape: durationSeconds(g.scrape_interval), evaluation: durationSeconds(g.evaluation_interval) };
}

interface LoadedRule { name: string; query: string; duration: number; health: string; lastError?: string; group: string; lastEvaluation: string }

/** The alerting rules Prometheus has loaded. */
async function alertingRules(t: MonitoringTarget): Promise<LoadedRule[]> {
  const r = await proxyGet(t, "prometheus", "/api/v1/rules?type=alert");
  return r.data.groups.flatMap((g: any) => g.rules.map((x: any) => ({ ...x, group: g.name })));
}

async function ruleNamed(t: MonitoringTarget, name: string): Promise<LoadedRule> {
  const rule = (await alertingRules(t)).find((r) => r.name === name);
  if (!rule) throw new Error(`Prometheus has no alerting rule ${name} loaded`);
  return rule;
}

interface AmAlert { labels: Record<string, string>; startsAt: string; status: { state: string } }

async function amAlerts(t: MonitoringTarget): Promise<AmAlert[]> {
  return proxyGet(t, "alertmanager", "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true");
}

const labelText = (l: Record<string, string>) => `${l.alertname}{${Object.entries(l).filter(([k]) => k !== "alertname").map(([k, v]) => `${k}="${v}"`).join(", ")}}`;
const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels[k] === v);

/** Waits until Alertmanager holds (or, with `present` false, no longer holds) an alert with these labels. */
async function waitForAlert(t: MonitoringTarget, want: Record<string, string>, present: boolean, seconds: number, onPoll?: () => Promise<void>): Promise<number> {
  const start = Date.now();
  let seen: AmAlert[] = [];
  const deadline = start + seconds * 1000;
  for (;;) {
    if (onPoll) await onPoll();
    seen = await amAlerts(t);
    const hit = seen.some((a) => matches(a.labels, want));
    if (hit === present) return Date.now() - start;
    if (Date.now() > deadline) {
      const pending = await promQuery(t, `ALERTS{alertname="${want.alertname}"}`).catch(() => []);
      throw new Error(
        `${labelText(want)} ${present ? "did not arrive in" : "did not leave"} Alertmanager within ${seconds}s; ` +
          `Alertmanager holds: ${seen.map((a) => labelText(a.labels)).join("; ") || "nothing"}; ` +
          `Prometheus' ALERTS for it: ${pending.map((p: any) => `${p.metric.alertstate} ${JSON.stringify(p.metric)}`).join("; ") || "none"}`,
      );
    }
    await sleep(2000);
  }
}

/** Seconds an alert may take to reach Alertmanager after its condition holds: the rule's `for`, plus scrapes, evaluations and a margin. */
function fireBudget(rule: LoadedRule, iv: { scrape: number; evaluation: number }, extra = 0): number {
  return Math.ceil(rule.duration + 3 * iv.scrape + 3 * iv.evaluation + 60 + extra);
}

// ---------------------------------------------------------------------------------------------
// Live state changes, each undone by the caller's finally.

async function replicasOf(t: MonitoringTarget, kind: string, name: string): Promise<number> {
  return (await kjson(["get", kind, name, "-n", t.namespace])).spec.replicas;
}

async function scale(t: MonitoringTarget, kind: string, name: string, replicas: number): Promise<void> {
  await kubectl(["scale", kind, name, "-n", t.namespace, `--replicas=${replicas}`]);
}

async function waitReady(t: MonitoringTarget, kind: string, name: string, replicas: number, seconds = 180): Promise<void> {
  await waitFor(`${kind} ${t.namespace}/${name} back to ${replicas} ready`, seconds, async () => {
    const d = await kjson(["get", kind, name, "-n", t.namespace]);
    if ((d.status.readyReplicas ?? 0) < replicas) throw new Error(`${d.status.readyReplicas ?? 0}/${replicas} ready`);
    return true;
  });
}

async function podOf(t: MonitoringTarget, app: string): Promise<string> {
  const pods = await kjson(["get", "pods", "-n", t.namespace, "-l", `app.kubernetes.io/name=${app}`]);
  const pod = pods.items.find((p: any) => p.status.phase === "Running");
  if (!pod) throw new Error(`no running ${app} pod in ${t.namespace}`);
  return pod.metadata.name;
}

// ---------------------------------------------------------------------------------------------
// Targets

/** Every shop target (the services, any scraped store, kube-state-metrics, the API server, the real nodes' cAdvisor, Prometheus itself) is up. */
export async function checkTargetsUp(t: MonitoringTarget, seconds = 120): Promise<void> {
  const log = out(t);
  const nodes = (await kjson(["get", "nodes"])).items;
  const simulated = new Set(nodes.filter((n: any) => n.metadata.labels?.["shop.example.com/simulated"] === "true").map((n: any) => n.metadata.name));
  const realNodes = nodes.map((n: any) => n.metadata.name).filter((n: string) => !simulated.has(n));
  // The shop's scraped workloads: every Deployment and StatefulSet whose pods opt in to scraping.
  const workloads = [...(await kjson(["get", "deployments", "-n", t.namespace])).items, ...(await kjson(["get", "statefulsets", "-n", t.namespace])).items];
  const scraped = workloads
    .filter((w: any) => w.spec.replicas > 0 && w.spec.template.metadata.annotations?.["prometheus.io/scrape"] === "true")
    .map((w: any) => w.spec.template.metadata.labels["app.kubernetes.io/name"] ?? w.spec.template.metadata.labels.app);
  for (const b of BINARIES) assert.ok(scraped.includes(b), `the ${b} Deployment in ${t.namespace} is not annotated for scraping (scraped: ${scraped.join(", ")})`);

  let report: string[] = [];
  await waitFor(`every shop target up in Prometheus`, seconds, async () => {
    const targets = (await proxyGet(t, "prometheus", "/api/v1/targets?state=active")).data.activeTargets as any[];
    const nodeOf = (x: any) => x.discoveredLabels?.__meta_kubernetes_pod_node_name ?? x.discoveredLabels?.__meta_kubernetes_node_name ?? x.labels.node;
    const onSimulated = targets.filter((x) => simulated.has(nodeOf(x)));
    const relevant = targets.filter((x) => !simulated.has(nodeOf(x)) && (x.scrapePool !== "kubernetes-pods" || x.labels.namespace === t.namespace));
    const problems: string[] = [];
    const expect = (what: string, pick: (x: any) => boolean) => {
      if (!relevant.some(pick)) problems.push(`no target for ${what}`);
    };
    expect("Prometheus itself", (x) => x.scrapePool === "prometheus");
    expect("kube-state-metrics", (x) => x.scrapePool === "kube-state-metrics");
    expect("the API server", (x) => x.scrapePool === "kubernetes-apiservers");
    for (const n of realNodes) expect(`cAdvisor on ${n}`, (x) => x.scrapePool === "kubernetes-cadvisor" && x.labels.node === n);
    for (const s of scraped) expect(`${s} in ${t.namespace}`, (x) => x.scrapePool === "kubernetes-pods" && x.labels.service === s);
    for (const x of relevant) if (x.health !== "up") problems.push(`${x.scrapePool} ${x.labels.instance}${x.labels.service ? ` (${x.labels.service})` : ""} is ${x.health}: ${x.lastError || "not scraped yet"}`);
    report = [
      ...relevant.map((x) => `${x.health.padEnd(4)} ${x.scrapePool} ${x.labels.instance}${x.labels.service ? ` (${x.labels.service})` : ""}`),
      ...(onSimulated.length ? [`not expected: ${onSimulated.length} target(s) on simulated nodes (${[...new Set(onSimulated.map((x) => x.labels.service ?? x.scrapePool))].join(", ")})`] : []),
    ];
    if (problems.length) throw new Error(problems.join("; "));
    return true;
  });
  for (const l of report) log(l);
  // The services' series carry the label the rules and dashboards select on.
  const up = await promQuery(t, `sum by (service) (up{job="kubernetes-pods", namespace="${t.namespace}"} == 1)`);
  const services = up.map((r: any) => r.metric.service).sort();
  for (const s of scraped) assert.ok(services.includes(s), `up{namespace="${t.namespace}", service="${s}"} == 1 has no series (got ${services.join(", ")})`);
}

// ---------------------------------------------------------------------------------------------
// Quiet when healthy

/** Alerts allowed to fire on a healthy stack (a dead man's switch, if the program has one). */
const ALWAYS_FIRING = new Set(["Watchdog"]);

/** An idle, healthy stack fires nothing for `seconds`: polls `ALERTS{alertstate="firing"}` and Alertmanager over the window. */
export async function checkQuietWhenHealthy(t: MonitoringTarget, seconds = 120): Promise<void> {
  const log = out(t);
  const iv = await intervals(t);
  // Silence proves nothing unless the rules run: each must have been evaluated, without error, within the window.
  const rules = await waitFor("every alerting rule evaluated without error", Math.max(60, 3 * iv.evaluation), async () => {
    const rs = await alertingRules(t);
    const bad = rs.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health}${r.lastError ? ` ${r.lastError}` : ""}`);
    if (rs.length === 0) throw new Error("no alerting rule loaded");
    if (bad.length) throw new Error(bad.join("; "));
    return rs;
  });
  const start = Date.now();
  let polls = 0;
  let pendingSeen = new Set<string>();
  while (Date.now() - start < seconds * 1000) {
    const alerts = await promQuery(t, "ALERTS");
    const firing = alerts.filter((a: any) => a.metric.alertstate === "firing" && !ALWAYS_FIRING.has(a.metric.alertname));
    for (const a of alerts.filter((a: any) => a.metric.alertstate === "pending")) pendingSeen.add(labelText(a.metric));
    const inAm = (await amAlerts(t)).filter((a) => !ALWAYS_FIRING.has(a.labels.alertname));
    polls++;
    assert.deepStrictEqual(
      [...firing.map((a: any) => labelText(a.metric)), ...inAm.map((a) => `in Alertmanager: ${labelText(a.labels)}`)],
      [],
      `an idle, healthy stack fired after ${secs(Date.now() - start)}`,
    );
    await sleep(Math.min(5000, Math.max(0, start + seconds * 1000 - Date.now())));
  }
  log(`quiet for ${secs(Date.now() - start)}: ${rules.length} alerting rules evaluated every ${iv.evaluation}s, ${polls} polls, nothing firing` +
    (pendingSeen.size ? ` (pending at some point, never fired: ${[...pendingSeen].join("; ")})` : ""));
}

// ---------------------------------------------------------------------------------------------
// Induced alerts

/** One induced alert's figures. */
export interface AlertFigure { alert: string; cause: string; fireSeconds: number; resolveSeconds: number; note?: string }

/** ShopServiceDown: a service with no pod (its Deployment scaled to 0), then restored. */
export async function checkServiceDownAlert(t: MonitoringTarget, service = "user"): Promise<AlertFigure> {
  const rule = await ruleNamed(t, "ShopServiceDown");
  const iv = await intervals(t);
  const want = { alertname: "ShopServiceDown", namespace: t.namespace, service };
  const replicas = await replicasOf(t, "deployment", service);
  assert.ok(replicas > 0, `deployment ${service} already has 0 replicas`);
  let fire = 0;
  try {
    await scale(t, "deployment", service, 0);
    fire = await waitForAlert(t, want, true, fireBudget(rule, iv, 30));
  } finally {
    await scale(t, "deployment", service, replicas);
  }
  const restored = Date.now();
  await waitReady(t, "deployment", service, replicas);
  await waitForAlert(t, want, false, 60 + 3 * iv.scrape + 3 * iv.evaluation);
  const resolveMs = Date.now() - restored;
  out(t)(`ShopServiceDown{service="${service}"}: fired ${secs(fire)} after ${service} was scaled to 0 (for: ${rule.duration}s), resolved ${secs(resolveMs)} after it was restored`);
  return { alert: "ShopServiceDown", cause: `${service} scaled to 0`, fireSeconds: fire / 1000, resolveSeconds: resolveMs / 1000 };
}

/**
 * ShopHighErrorRatio: requests through the edge to a service with no pod answer 5xx at the gateway;
 * after the service returns, healthy traffic brings the ratio under the threshold (bounded in rate and count).
 */
export async function checkErrorRatioAlert(t: MonitoringTarget, upstream = "product"): Promise<AlertFigure> {
  const rule = await ruleNamed(t, "ShopHighErrorRatio");
  const iv = await intervals(t);
  const host = hostOf(t);
  const want = { alertname: "ShopHighErrorRatio", namespace: t.namespace, service: "gateway" };
  const replicas = await replicasOf(t, "deployment", upstream);
  const codes: Record<string, number> = {};
  let sent = 0;
  // A bounded load: `perPoll` requests between two looks at Alertmanager (every ~2s), so at most a few per second.
  const burst = (perPoll: number) => async () => {
    await Promise.all(Array.from({ length: perPoll }, async () => {
      sent++;
      const r = await edgeRequest(host, "GET", "/api/products?size=1", { timeoutMs: 5000 }).catch(() => ({ status: 0 }));
      codes[r.status] = (codes[r.status] ?? 0) + 1;
    }));
  };
  let fire = 0;
  try {
    await scale(t, "deployment", upstream, 0);
    await waitFor(`GET /api/products answers 5xx with ${upstream} at 0`, 60, async () => (await edgeRequest(host, "GET", "/api/products?size=1")).status >= 500);
    fire = await waitForAlert(t, want, true, fireBudget(rule, iv, 60), burst(4));
  } finally {
    await scale(t, "deployment", upstream, replicas);
  }
  const errors = { ...codes };
  const errorsSent = sent;
  const restored = Date.now();
  await waitReady(t, "deployment", upstream, replicas);
  await waitFor(`GET /api/products answers 200 again`, 60, async () => (await edgeRequest(host, "GET", "/api/products?size=1")).status === 200);
  // Healthy traffic dilutes the errors in the rule's 5m window: ~40 req/s, for at most the window plus the margins.
  sent = 0;
  for (const k of Object.keys(codes)) delete codes[k];
  await waitForAlert(t, want, false, 300 + 3 * iv.scrape + 3 * iv.evaluation + 60, burst(80));
  const resolveMs = Date.now() - restored;
  const note = `${errorsSent} requests while ${upstream} was down (${JSON.stringify(errors)}), ${sent} healthy requests after (${JSON.stringify(codes)})`;
  out(t)(`ShopHighErrorRatio{service="gateway"}: fired ${secs(fire)} after ${upstream} was scaled to 0 under traffic (for: ${rule.duration}s), resolved ${secs(resolveMs)} after it was restored; ${note}`);
  return { alert: "ShopHighErrorRatio", cause: `${upstream} scaled to 0 under traffic through the edge`, fireSeconds: fire / 1000, resolveSeconds: resolveMs / 1000, note };
}

/**
 * ShopOrderQueueBacklog: RabbitMQ blocks every publisher (its memory alarm, raised by a high watermark of 0)
 * while orders are placed through the edge, so the order outbox fills past the rule's threshold; lowering
 * the alarm (the previous watermark) lets the relay drain it.
 */
export async function checkOrderBacklogAlert(t: MonitoringTarget): Promise<AlertFigure> {
  const rule = await ruleNamed(t, "ShopOrderQueueBacklog");
  const iv = await intervals(t);
  const host = hostOf(t);
  const threshold = Number(/>\s*([0-9.]+)\s*$/.exec(rule.query)?.[1]);
  assert.ok(Number.isFinite(threshold), `cannot read the threshold of ShopOrderQueueBacklog from ${rule.query}`);
  const orders = Math.ceil(threshold) + 20;
  const want = { alertname: "ShopOrderQueueBacklog", namespace: t.namespace };

  // A customer and a product with stock for every order.
  const email = `backlog-${Date.now()}-${process.pid}@example.com`;
  const password = "a-long-backlog-9";
  const reg = await edgeRequest(host, "POST", "/api/users/register", { body: { email, password, name: "Backlog" }, timeoutMs: 10000 });
  assert.strictEqual(reg.status, 201, `register: ${reg.status} ${reg.body.slice(0, 200)}`);
  const login = await edgeRequest(host, "POST", "/api/users/login", { body: { email, password }, timeoutMs: 10000 });
  const token = login.json?.token;
  assert.ok(token, `log in: ${login.status} ${login.body.slice(0, 200)}`);
  const auth = { Authorization: `Bearer ${token}` };
  const product = await edgeRequest(host, "POST", "/api/products", { body: { name: "Backlog mug", description: "e2e", price_cents: 100, stock: orders + 10 }, headers: auth, timeoutMs: 10000 });
  assert.strictEqual(product.status, 201, `add a product: ${product.status} ${product.body.slice(0, 200)}`);

  const rabbit = await podOf(t, "rabbitmq");
  const ctl = (...args: string[]) => kubectl(["exec", "-n", t.namespace, rabbit, "--", "rabbitmqctl", ...args]);
  const watermark = (await ctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")).trim().split("\n").pop()!;
  assert.match(watermark, /^[0-9.]+$/, `unexpected watermark ${watermark}`);
  const pending = async () => Number((await promQuery(t, `max(order_outbox_pending{namespace="${t.namespace}"})`))[0]?.value[1] ?? NaN);
  let fire = 0;
  let peak = NaN;
  let placed = 0;
  const codes: Record<string, number> = {};
  const blockedAt = Date.now();
  try {
    await ctl("set_vm_memory_high_watermark", "0");
    // Ten at a time, well under the gateway's rate limit.
    for (let i = 0; i < orders; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, orders - i) }, async (_, j) => {
        const r = await edgeRequest(host, "POST", "/api/orders", {
          body: { items: [{ product_id: product.json.id, quantity: 1 }] },
          headers: { ...auth, "Idempotency-Key": `backlog-${blockedAt}-${i + j}` },
          timeoutMs: 10000,
        }).catch(() => ({ status: 0 }));
        codes[r.status] = (codes[r.status] ?? 0) + 1;
        if (r.status === 201) placed++;
      }));
    }
    assert.ok(placed > threshold, `only ${placed} of ${orders} orders were accepted with RabbitMQ blocked (${JSON.stringify(codes)}); the backlog cannot pass ${threshold}`);
    fire = await waitForAlert(t, want, true, fireBudget(rule, iv, 30));
    peak = await pending().catch(() => NaN);
  } finally {
    await ctl("set_vm_memory_high_watermark", watermark);
  }
  const restored = Date.now();
  await waitForAlert(t, want, false, 120 + 3 * iv.scrape + 3 * iv.evaluation);
  const resolveMs = Date.now() - restored;
  const left = await pending();
  assert.ok(left <= threshold, `the outbox still holds ${left} events`);
  const note = `${placed} orders placed with RabbitMQ's publishers blocked (${JSON.stringify(codes)}), outbox peaked at ${peak} (threshold ${threshold}), ${left} pending after`;
  out(t)(`ShopOrderQueueBacklog: fired ${secs(fire)} after RabbitMQ blocked its publishers (for: ${rule.duration}s), resolved ${secs(resolveMs)} after they were unblocked; ${note}`);
  return { alert: "ShopOrderQueueBacklog", cause: "RabbitMQ's memory alarm (watermark 0) while orders are placed", fireSeconds: fire / 1000, resolveSeconds: resolveMs / 1000, note };
}

/** Induces three of the program's alerts one after another, sees each arrive in Alertmanager and resolve. */
export async function checkAlertsFireAndResolve(t: MonitoringTarget): Promise<AlertFigure[]> {
  const figures: AlertFigure[] = [];
  figures.push(await checkServiceDownAlert(t));
  figures.push(await checkErrorRatioAlert(t));
  figures.push(await checkOrderBacklogAlert(t));
  return figures;
}

// ---------------------------------------------------------------------------------------------
// Dashboards

/**
 * Every dashboard query (components/monitoring/dashboards.ts) returns data from this Prometheus over the
 * dashboards' own time range (the last hour), as Grafana would ask: a range query with `$__rate_interval`
 * substituted by Grafana's rule (max(4 x scrape interval, step + scrape interval)). A little browsing
 * through the edge first (list products, and an unauthenticated order list: 401) makes sure the request
 * panels have user traffic. Panels of the canary controller are checked only when it runs.
 */
/** One refused request at each service: a wrong password (user 401), an unknown product (404), an unknown order (404). */
async function clientErrors(host: string): Promise<void> {
  const email = `dashboards-${Date.now()}@example.com`;
  const json = (r: { json?: any }) => r.json ?? {};
  await edgeRequest(host, "POST", "/api/users/register", { body: { email, password: "dashboards-e2e-pw", name: "Dashboards" } });
  const login = await edgeRequest(host, "POST", "/api/users/login", { body: { email, password: "dashboards-e2e-pw" } });
  const token = json(login).token as string | undefined;
  const answers = [
    await edgeRequest(host, "POST", "/api/users/login", { body: { email, password: "not-the-password" } }),
    await edgeRequest(host, "GET", "/api/products/987654321"),
    await edgeRequest(host, "GET", "/api/orders/987654321", { headers: token ? { Authorization: `Bearer ${token}` } : {} }),
  ];
  const statuses = answers.map((a) => a.status);
  if (!token || statuses.join(",") !== "401,404,404") {
    throw new Error(`the refused requests for the error panels got ${statuses.join(", ")} (want 401, 404, 404)${token ? "" : "; login failed"}`);
  }
}

export async function checkDashboardQueries(t: MonitoringTarget, seconds = 120): Promise<void> {
  const log = out(t);
  const host = hostOf(t);
  const iv = await intervals(t);
  for (let i = 0; i < 10; i++) await edgeRequest(host, "GET", "/api/products?size=5");
  for (let i = 0; i < 3; i++) await edgeRequest(host, "GET", "/api/orders");
  // Each service's error panels show its own 4xx answers: a healthy shop that has refused nothing has no
  // such series yet (the first whole run found those panels empty). Refusals a shop gets every day:
  await clientErrors(host);
  const canary = (await kjson(["get", "deployments", "-n", t.namespace, "-l", "app.kubernetes.io/name=canary-controller"])).items.length > 0;
  const step = 60;
  const rateInterval = `${Math.max(4 * iv.scrape, step + iv.scrape)}s`;
  const queries = Object.values(allDashboards([...BINARIES], t.namespace)).flatMap((d) =>
    d.panels.flatMap((p) => p.targets.map((q) => ({ dashboard: d.title, panel: p.title, expr: q.expr.replace(/\$__rate_interval/g, rateInterval) }))),
  );
  const skipped = queries.filter((q) => !canary && /shop_canary_/.test(q.expr));
  const checked = queries.filter((q) => !skipped.includes(q));
  let empty: typeof checked = [];
  await waitFor("every dashboard query returns data", seconds, async () => {
    empty = [];
    for (const q of checked) if ((await promRange(t, q.expr, 3600, step)).length === 0) empty.push(q);
    if (empty.length) throw new Error(empty.map((q) => `"${q.dashboard}" / "${q.panel}": ${q.expr}`).join(" ;; "));
    return true;
  }).catch((e) => {
    throw new Error(`dashboard queries without data over the last hour: ${e.message}`);
  });
  log(`${checked.length} queries of ${new Set(checked.map((q) => q.panel + q.dashboard)).size} panels returned data ($__rate_interval = ${rateInterval}, step ${step}s)` +
    (skipped.length ? `; ${skipped.length} canary queries not checked: no canary controller runs in ${t.namespace}` : ""));
}
