/**
 * A bounded, closed-loop load through the edge at 127.0.0.1, for the suites that change the running
 * platform: it runs as its own process (the suites' `kubectl` and Pulumi calls block the test's event
 * loop) and sends browse, account and order calls with the stack's route in the Host header, until
 * its duration ends, it has sent its maximum, or it gets SIGTERM; then it waits for the requests in
 * flight (each bounded by its timeout) and prints one JSON summary on stdout.
 *
 *   node -r ts-node/register test/e2e/edge-load.ts '<JSON of LoadSpec>'
 *
 * Closed loop (virtual users): each of `users` sends its next request only once its last one was
 * answered, paced to at most rate/users per second. At the target rate while answers take less than
 * users/rate seconds; when the node slows down (an `up` takes most of its 2 cores) the achieved rate
 * drops and the slowdown shows as latency, never as a backlog: an open-loop load at a fixed rate grows
 * its queue without bound once the rate exceeds the node's capacity, and the queue itself then fails
 * the requests (10 s timeouts by the thousand on a saturated CI node, with nothing wrong in the
 * platform). The achieved rate is printed beside the target.
 *
 * A request fails when it gets no answer (connection error, timeout) or an answer other than the one
 * its call must give (200 for reads, 201 for an order). Every answer's X-Service-Version values are
 * counted, by call.
 */
import * as http from "http";
import { HEADERS } from "../../contracts";

/** What to send. */
export interface LoadSpec {
  /** The route's host name (the Host header); requests go to 127.0.0.1 only. */
  host: string;
  /** @default 80 */
  port?: number;
  /** Target requests per second (reached while answers are quicker than users/rate seconds). */
  rate: number;
  /** Upper bound of the run, seconds (it may be stopped earlier with SIGTERM). */
  maxSeconds: number;
  /** A signed-in user's token (orders and `/api/users/me`). */
  token: string;
  /** A product with ample stock: detail reads and one-unit orders. */
  productId: number;
  /**
   * Virtual users: each has at most one request waiting for its answer.
   * @default rate / 2, so answers up to 500 ms keep the target rate
   */
  users?: number;
  /** Per-request timeout, ms. @default 10000 */
  timeoutMs?: number;
  /** The calls to cycle through (e.g. only reads while a store is down). @default the browse/account/order mix */
  calls?: Call[];
  /**
   * The statuses a call may answer without counting as failed (e.g. 503 while its store is down).
   * @default 200 for reads, 201 for an order
   */
  accept?: Partial<Record<Call, number[]>>;
}

/** The calls, in the order a tick cycles through them (35% list, 35% detail, 15% account, 15% orders). */
const MIX = ["list", "detail", "me", "order", "list", "detail", "list", "detail", "me", "list", "detail", "order", "list", "detail", "list", "detail", "me", "order", "list", "detail"] as const;
export type Call = (typeof MIX)[number];

/** The JSON a run prints. */
export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** Failures by reason (`status 502`, `ECONNRESET`, `timeout`). */
  reasons: Record<string, number>;
  /** The first failures, for the report. */
  examples: string[];
  seconds: number;
  /** Achieved rate (requests sent per second). */
  rps: number;
  /** The target rate and the virtual users that sent it. */
  target: { rate: number; users: number };
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Call -> X-Service-Version value (`product=sha256:...`) -> answers carrying it. */
  versions: Record<string, Record<string, number>>;
  /** `<call> <status>` (or `<call> <error>`) -> how many, and how long they took. */
  outcomes: Record<string, { count: number; p99Ms: number; maxMs: number }>;
}

const EXPECTED: Record<Call, number> = { list: 200, detail: 200, me: 200, order: 201 };

/** The `p`th percentile of ascending `sorted`. */
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : 0;

export function run(spec: LoadSpec, stop: Promise<void>): Promise<LoadResult> {
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const cycle: readonly Call[] = spec.calls?.length ? spec.calls : MIX;
  const accepted = (call: Call, status: number) => (spec.accept?.[call] ?? [EXPECTED[call]]).includes(status);
  const byOutcome = new Map<string, number[]>();
  const outcome = (call: Call, what: string, started: number) => {
    const key = `${call} ${what}`;
    if (!byOutcome.has(key)) byOutcome.set(key, []);
    byOutcome.get(key)!.push(Date.now() - started);
  };
  const users = Math.max(1, Math.round(spec.users ?? Math.ceil(spec.rate / 2)));
  /** One user's time between sends, ms. */
  const interval = (1000 * users) / spec.rate;
  const agent = new http.Agent({ keepAlive: true, maxSockets: users });
  const maxRequests = Math.ceil(spec.rate * spec.maxSeconds);
  const res: LoadResult = { sent: 0, ok: 0, failed: 0, reasons: {}, examples: [], seconds: 0, rps: 0, target: { rate: spec.rate, users }, p50Ms: 0, p99Ms: 0, maxMs: 0, versions: {}, outcomes: {} };
  const latencies: number[] = [];
  let seq = 0;
  const fail = (call: Call, reason: string, detail = "") => {
    res.failed++;
    res.reasons[reason] = (res.reasons[reason] ?? 0) + 1;
    if (res.examples.length < 10) res.examples.push(`${new Date().toISOString()} ${call}: ${reason}${detail ? ` ${detail.slice(0, 200)}` : ""}`);
  };

  /** Sends one call; resolves once it is answered, failed or timed out. */
  const send = (call: Call, n: number) =>
    new Promise<void>((done) => {
      const headers: http.OutgoingHttpHeaders = { Host: spec.host, Authorization: `Bearer ${spec.token}` };
      let method = "GET";
      let path = "/api/products?size=5";
      let body: string | undefined;
      if (call === "detail") path = `/api/products/${spec.productId}`;
      if (call === "me") path = "/api/users/me";
      if (call === "order") {
        method = "POST";
        path = "/api/orders";
        body = JSON.stringify({ items: [{ product_id: spec.productId, quantity: 1 }] });
        headers["Content-Type"] = "application/json";
        headers["Content-Length"] = Buffer.byteLength(body);
        headers[HEADERS.idempotencyKey] = `edge-load-${process.pid}-${n}`;
      }
      res.sent++;
      const started = Date.now();
      let settled = false;
      const settle = (result: () => void) => {
        if (settled) return;
        settled = true;
        result();
        done();
      };
      const failed = (e: Error) =>
        settle(() => {
          const reason = (e as NodeJS.ErrnoException).code ?? e.message;
          outcome(call, reason, started);
          fail(call, reason);
        });
      const req = http.request({ host: "127.0.0.1", port: spec.port ?? 80, method, path, headers, agent, timeout: timeoutMs }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("error", failed);
        r.on("end", () =>
          settle(() => {
            latencies.push(Date.now() - started);
            outcome(call, String(r.statusCode), started);
            const v = r.headers[HEADERS.serviceVersion.toLowerCase()];
            const values = (Array.isArray(v) ? v.join(",") : v ?? "").split(",").map((x) => x.trim()).filter(Boolean);
            const byCall = (res.versions[call] ??= {});
            for (const x of values.length ? values : ["(none)"]) byCall[x] = (byCall[x] ?? 0) + 1;
            if (accepted(call, r.statusCode ?? 0)) res.ok++;
            else fail(call, `status ${r.statusCode}`, Buffer.concat(chunks).toString("utf8"));
          }),
        );
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "timeout" })));
      req.on("error", failed);
      req.end(body);
    });

  const start = Date.now();
  let stopped = false;
  void stop.then(() => { stopped = true; });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const over = () => stopped || Date.now() - start >= spec.maxSeconds * 1000 || seq >= maxRequests;
  /** One virtual user: send, wait for the answer, wait for its next slot (no catching up after a slow answer). */
  const user = async (u: number) => {
    let next = start + (u * interval) / users;
    for (;;) {
      // Sleep in short steps so that a stop ends the user within 50 ms.
      while (!over() && Date.now() < next) await sleep(Math.min(50, next - Date.now()));
      if (over()) return;
      const n = seq++;
      await send(cycle[n % cycle.length], n);
      next = Math.max(next + interval, Date.now());
    }
  };

  return Promise.all(Array.from({ length: users }, (_, u) => user(u))).then(() => {
    res.seconds = (Date.now() - start) / 1000;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    res.rps = Math.round((res.sent / res.seconds) * 10) / 10;
    res.p50Ms = percentile(latencies, 50);
    res.p99Ms = percentile(latencies, 99);
    res.maxMs = latencies.length ? latencies[latencies.length - 1] : 0;
    for (const [key, l] of byOutcome) {
      l.sort((a, b) => a - b);
      res.outcomes[key] = { count: l.length, p99Ms: percentile(l, 99), maxMs: l[l.length - 1] };
    }
    return res;
  });
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
  if (!spec.host || !(spec.rate > 0) || !(spec.maxSeconds > 0) || !spec.token || !spec.productId) {
    process.stderr.write("usage: edge-load.ts '<JSON: host, rate, maxSeconds, token, productId>'\n");
    process.exit(2);
  }
  let signal: () => void = () => {};
  const stop = new Promise<void>((r) => (signal = r));
  process.on("SIGTERM", () => signal());
  process.on("SIGINT", () => signal());
  const running = run(spec, stop);
  process.stderr.write("started\n");
  void running.then((r) => {
    process.stdout.write(JSON.stringify(r) + "\n");
    process.exit(0);
  });
}
