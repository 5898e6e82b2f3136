/**
 * The problems of a stack config, one line each: the key path, what was wrong and the fix or an
 * example of a right value. `problemLines` renders zod's issues (with "did you mean" hints for unknown
 * keys and the schema's examples); `crossKeyProblems` checks what no single key can. The loader
 * (config/load.ts) throws all of them at once as one `ConfigError`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { NAMESPACE } from "./fields";
import { goDurationMs } from "./units";
import { Parsed, schema, SECRET_FIELDS } from "./schema";

/**
 * Every problem found in a stack's config, one line each. A `RunError`, so the engine prints just the
 * message (no stack trace, no program source).
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** Top-level keys of earlier versions and what replaced them. */
const RETIRED_KEYS: Record<string, string> = {
  ingress: `did you mean ${NAMESPACE}:routing? It replaced ${NAMESPACE}:ingress (className -> routing.ingress.className with routing.mode ingress, controllerNamespace -> routing.edgeNamespace; host, tls and canary keep their names); see docs/config.md`,
};

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
  return d[a.length][b.length];
}
function nearest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(key, c);
    if (dd < bestD) { best = c; bestD = dd; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Unwraps optional/default/prefault/pipe wrappers, collecting `example` metas on the way. */
function unwrap(s: z.ZodType | undefined, examples: unknown[]): z.ZodType | undefined {
  while (s) {
    const meta = s.meta() as { example?: unknown } | undefined;
    if (meta?.example !== undefined) examples.push(meta.example);
    const def = (s as any).def;
    if (def?.innerType) s = def.innerType;
    else if (def?.type === "pipe") s = def.in;
    else break;
  }
  return s;
}

/** The schema node at `path` (objects by key, records by value) and the nearest example found. */
function describeAt(path: PropertyKey[]): { node?: z.ZodType; example?: unknown } {
  const examples: unknown[] = [];
  let node = unwrap(schema, examples);
  for (const seg of path) {
    const def = (node as any)?.def;
    if (def?.type === "object") node = unwrap(def.shape[seg as string], examples);
    else if (def?.type === "record") node = unwrap(def.valueType, examples);
    else { node = undefined; break; }
  }
  return { node, example: examples.length ? examples[examples.length - 1] : undefined };
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: any = raw;
  for (const seg of path) v = v == null ? undefined : v[seg as any];
  return v;
}

const keyPath = (path: PropertyKey[]) => `${NAMESPACE}:` + path.map(String).join(".");
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));
const eg = (ex: unknown) => (ex === undefined ? "" : ` (e.g. ${typeof ex === "string" ? ex : JSON.stringify(ex)})`);

/** One line per zod issue; a secret value (`SECRET_FIELDS` under `secretTops`) is never echoed. */
export function problemLines(issues: z.core.$ZodIssue[], raw: unknown, secretTops: Set<string>): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === "unrecognized_keys") {
      const { node } = describeAt(path);
      const valid = Object.keys((node as any)?.def?.shape ?? {});
      for (const key of issue.keys) {
        const retired = path.length === 0 ? RETIRED_KEYS[key] : undefined;
        if (retired) {
          lines.push(`${NAMESPACE}:${key}: unknown key; ${retired}`);
          continue;
        }
        const hint = nearest(key, valid);
        const full = path.length === 0 ? `${NAMESPACE}:${key}` : keyPath([...path, key]);
        lines.push(`${full}: unknown key${hint ? `; did you mean ${path.length === 0 ? `${NAMESPACE}:${hint}` : keyPath([...path, hint])}?` : ""} (valid here: ${valid.join(", ")})`);
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      const inner = (issue as any).issues?.[0]?.message ?? issue.message;
      lines.push(`${keyPath(path)}: bad key ${JSON.stringify(String(path[path.length - 1]))}: ${inner}`);
      continue;
    }
    const { example } = describeAt(path);
    // Never echo a secret value back.
    const secret = SECRET_FIELDS.some(([top, field]) => secretTops.has(top) && path[0] === top && (field === undefined || path[1] === field));
    const got = secret ? "[secret]" : show(valueAt(raw, path));
    let what: string;
    if (issue.code === "invalid_type") what = `expected ${(issue as any).expected}, got ${got}`;
    else if (issue.code === "invalid_value") what = `${issue.message.replace(/^Invalid option: /, "")}; got ${got}`;
    else what = `${issue.message}; got ${got}`;
    lines.push(`${keyPath(path)}: ${what}${eg(example)}`);
  }
  return lines;
}

/** Cross-key checks of `shop:routing`: which Gateway, which TLS, and what each mode can do. */
function routingProblems(p: Parsed): string[] {
  const r = p.routing;
  const k = (path: string) => `${NAMESPACE}:routing.${path}`;
  const out: string[] = [];
  const g = r.gateway;
  if (r.mode === "ingress") {
    if (r.canary.enabled) {
      out.push(`${k("canary.enabled")}: a gray release needs weighted backendRefs, which only the Gateway API has; set ${k("mode")} to gateway, or ${k("canary.enabled")} to false`);
    }
    for (const f of ["name", "namespace", "className"] as const) {
      if (g[f] !== undefined) out.push(`${k(`gateway.${f}`)}: applies to ${k("mode")} gateway only; remove it or set the mode to gateway`);
    }
    if (r.tls.secretNamespace !== undefined) {
      out.push(`${k("tls.secretNamespace")}: an Ingress can only use a Secret of its own namespace; remove it (the Secret must live in the shop namespace)`);
    }
    return out;
  }
  if (r.ingress.className !== undefined) out.push(`${k("ingress.className")}: applies to ${k("mode")} ingress only; remove it`);
  const shared = g.name !== undefined || g.namespace !== undefined;
  if (g.namespace !== undefined && g.name === undefined) {
    out.push(`${k("gateway.name")}: is required with ${k("gateway.namespace")}: the name of the shared Gateway to attach to (e.g. shared-gateway)`);
  }
  if (g.name !== undefined && g.namespace === undefined) {
    out.push(`${k("gateway.namespace")}: is required with ${k("gateway.name")}: the namespace of the shared Gateway (e.g. gateway-system)`);
  }
  if (shared && g.className !== undefined) {
    out.push(`${k("gateway.className")}: give either a shared Gateway (gateway.name and gateway.namespace) or a class for a Gateway the program creates, not both`);
  }
  if (!shared && g.className === undefined && p.environment !== "local") {
    out.push(`${k("gateway.name")}: is required in ${p.environment}: name the shared Gateway (gateway.name and gateway.namespace), or set ${k("gateway.className")} for a Gateway the program creates`);
  }
  if (shared) {
    if (r.tls.clusterIssuer !== undefined) {
      out.push(`${k("tls.clusterIssuer")}: a shared Gateway's certificate is its owner's business (cert-manager reads the issuer from the Gateway); remove it, or let the program create the Gateway (gateway.className)`);
    }
    if (r.tls.secretNamespace !== undefined) {
      out.push(`${k("tls.secretNamespace")}: a shared Gateway's listeners are its owner's; remove it (tls.enabled only attaches the routes to the ${g.httpsListener} listener)`);
    }
  } else {
    if (g.httpListener !== "http" || g.httpsListener !== "https") {
      out.push(`${k(g.httpListener !== "http" ? "gateway.httpListener" : "gateway.httpsListener")}: applies to a shared Gateway only (the program names its own listeners http and https); remove it`);
    }
    if (r.tls.secretNamespace !== undefined && r.tls.clusterIssuer !== undefined) {
      out.push(`${k("tls.secretNamespace")}: cert-manager issues the certificate into the Gateway's own namespace; remove it when ${k("tls.clusterIssuer")} is set`);
    }
  }
  return out;
}

/** Cross-key checks of the automated gray release (`shop:routing.canary.analysis`). */
function canaryProblems(p: Parsed, raw: Record<string, unknown>): string[] {
  const c = p.routing.canary;
  const k = (path: string) => `${NAMESPACE}:routing.canary.${path}`;
  const out: string[] = [];
  if (c.faultErrorRatio > 0) {
    if (!c.enabled) out.push(`${k("faultErrorRatio")}: fails a share of the canary's requests, and there is no canary; set ${k("enabled")} to true, or remove it`);
    if (p.environment === "prod") out.push(`${k("faultErrorRatio")}: fault injection is a drill for local and dev stacks, never prod's users; remove it`);
  }
  if (!c.analysis) {
    if (c.controller.image !== undefined) out.push(`${k("controller.image")}: the controller runs only with ${k("analysis")}; set the analysis or remove the image`);
    return out;
  }
  if (p.routing.mode !== "gateway") out.push(`${k("analysis")}: the controller moves HTTPRoute weights, which only ${NAMESPACE}:routing.mode gateway has; remove it or set the mode to gateway`);
  if (c.controller.image === undefined) {
    out.push(`${k("controller.image")}: is required with ${k("analysis")}: the canary controller's image pinned by digest, as scripts/images.sh controller writes it to controller-image.json (e.g. 127.0.0.1:5000/shop/canary-controller@sha256:<64 hex digits>)`);
  }
  if (!p.monitoring.enabled) out.push(`${k("analysis")}: the analysis queries the stack's Prometheus; set ${NAMESPACE}:monitoring.enabled to true, or remove the analysis`);
  else {
    // rate() over the interval needs two samples of the canary's counters, or every check is "no data".
    const interval = goDurationMs(c.analysis.interval) ?? 0;
    const scrape = goDurationMs(p.monitoring.scrapeInterval) ?? 0;
    if (interval < 2 * scrape) {
      out.push(`${k("analysis.interval")}: ${c.analysis.interval} is shorter than twice ${NAMESPACE}:monitoring.scrapeInterval (${p.monitoring.scrapeInterval}): its rate() would see fewer than two samples and every check would fail with no data; make the interval at least ${(2 * scrape) / 1000}s or scrape more often`);
    }
  }
  const given = (raw.routing as any)?.canary?.weight;
  if (given !== undefined) out.push(`${k("weight")}: the controller owns the weights when ${k("analysis")} is set (its steps say them); remove the weight`);
  return out;
}

/** A structured key whose value is not a mapping. */
export function notAMappingProblem(fullKey: string, text: string, secret: boolean): string {
  const { example } = describeAt([fullKey.slice(NAMESPACE.length + 1)]);
  return `${fullKey}: expected a YAML mapping (structured config), got ${secret ? "[secret]" : JSON.stringify(text)}${eg(example ?? "see docs/config.md")}`;
}

/** A secret-bearing field (`SECRET_FIELDS`) given as plain config: its value would sit in plain text in the stack file. */
export function notSecretProblem(top: string, field?: string): string {
  const where = field ? `${NAMESPACE}:${top}.${field}` : `${NAMESPACE}:${top}`;
  return `${where}: holds a secret but is not secret config; set it with \`pulumi config set --secret --path '${field ? where : `${where}.<name>`}' <value>\``;
}

/** The checks across keys of a config that parsed, in the order they are reported. */
export function crossKeyProblems(p: Parsed, raw: Record<string, unknown>): string[] {
  const prefix = `${NAMESPACE}:`;
  const problems: string[] = [];
  if (p.dataStores.mode === "external") {
    for (const [store, key] of [["mysql", "mysqlPassword"], ["redis", "redisPassword"], ["rabbitmq", "rabbitmqPassword"]] as const) {
      if (!p.secrets[key]) problems.push(`${prefix}secrets.${key}: is required when ${prefix}dataStores.mode is external (the ${store} password of the external server; set it with \`pulumi config set --secret --path '${prefix}secrets.${key}' <value>\`)`);
    }
  }
  if (!p.images.prebuilt && !p.docker.host) {
    problems.push(`${prefix}docker.host: is required when the program builds the images (no ${prefix}images.prebuilt): the address of the Docker daemon that builds them, e.g. unix:///var/run/docker.sock (the local harness writes its engine's address into the generated stack config); or give ${prefix}images.prebuilt`);
  }
  for (const store of ["mysql", "redis", "rabbitmq"] as const) {
    if (p.dataStores[store].image !== undefined && p.images.thirdParty[store] !== undefined) {
      problems.push(`${prefix}dataStores.${store}.image: and ${prefix}images.thirdParty.${store} both set the ${store} image; keep one (${prefix}images.thirdParty.${store} is where every third-party image is set)`);
    }
  }
  if (p.routing.canary.enabled && p.services["gateway-canary"]) {
    problems.push(`${prefix}services.gateway-canary: the name is taken by the canary gateway while ${prefix}routing.canary.enabled is true; rename the service (e.g. gateway-2)`);
  }
  problems.push(...routingProblems(p));
  problems.push(...canaryProblems(p, raw));
  return problems;
}
