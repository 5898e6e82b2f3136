/**
 * The one typed loader of the stack config: the only code that reads the engine's config. It reads
 * every `shop:*` key once, validates the whole with the schema (config/schema.ts), collects every
 * problem (config/problems.ts) into ONE `ConfigError`, and returns a deep-frozen `ShopConfig` whose
 * secret-bearing values are wrapped in `pulumi.secret()`.
 */
import * as pulumi from "@pulumi/pulumi";
import { BINARIES, Binary } from "../catalog";
import { NAMESPACE, service, THIRD_PARTY_WORKLOADS } from "./fields";
import { ConfigError, crossKeyProblems, notAMappingProblem, notSecretProblem, problemLines } from "./problems";
import { OBJECT_KEYS, Parsed, schema, Secrets, SECRET_FIELDS, ServiceParsed, ShopConfig } from "./schema";

/**
 * True when the engine handed `fullKey` to the program as secret config. The SDK keeps the list of
 * secret keys next to the config in its store (`isConfigSecret`, internal but exported at runtime);
 * fall back to the env var the language host sets should that function ever move.
 */
function isSecretKey(fullKey: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const internal = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  // Older language hosts spell keys `<namespace>:config:<name>`; accept both spellings.
  const [ns, ...rest] = fullKey.split(":");
  const spellings = [fullKey, `${ns}:config:${rest.join(":")}`];
  if (typeof internal.isConfigSecret === "function") return spellings.some((k) => internal.isConfigSecret!(k));
  const keys = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS || "[]") as string[];
  return spellings.some((k) => keys.includes(k));
}


function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !pulumi.Output.isInstance(o) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/**
 * Reads, validates and freezes the stack config. Throws a `ConfigError` listing every problem.
 * Nothing else in the program reads config.
 */
export function loadConfig(): ShopConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const prefix = `${NAMESPACE}:`;
  for (const fullKey of Object.keys(pulumi.runtime.allConfig()).sort()) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const text = pulumi.runtime.getConfig(fullKey) ?? "";
    if (!OBJECT_KEYS.has(key)) { raw[key] = text; continue; }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      problems.push(notAMappingProblem(fullKey, text, isSecretKey(fullKey)));
    }
  }

  // Secret-bearing fields must be secret config, or their value ends up in plain text in the stack file.
  const secretTops = new Set<string>();
  for (const [top, field] of SECRET_FIELDS) {
    const v = raw[top];
    const present = field === undefined ? v !== undefined : v !== null && typeof v === "object" && (v as any)[field] !== undefined;
    if (!present) continue;
    secretTops.add(top);
    if (!isSecretKey(prefix + top)) problems.push(notSecretProblem(top, field));
  }

  const result = schema.safeParse(raw);
  if (!result.success) problems.push(...problemLines(result.error.issues, raw, secretTops));
  else problems.push(...crossKeyProblems(result.data, raw));

  if (problems.length) throw new ConfigError(problems);
  const p = (result as { data: Parsed }).data;

  // The four binaries always run as services of their own name, with defaults unless configured.
  const services: Record<string, Omit<ServiceParsed, "binary"> & { binary: Binary }> = {};
  for (const b of BINARIES) services[b] = { ...service.parse({}), binary: b };
  for (const [name, s] of Object.entries(p.services)) services[name] = { ...s, binary: (s.binary ?? name) as Binary };
  // Placement: a workload without its own takes shop:scheduling.default (replaced whole, never merged).
  const fallback = p.scheduling.default;
  for (const s of Object.values(services)) if (s.scheduling === undefined && fallback !== undefined) s.scheduling = fallback;
  const placed: Parsed["scheduling"] = { ...p.scheduling };
  for (const w of THIRD_PARTY_WORKLOADS) if (placed[w] === undefined && fallback !== undefined) placed[w] = fallback;

  const secrets: Secrets = {};
  for (const [k, v] of Object.entries(p.secrets)) if (v !== undefined) (secrets as any)[k] = pulumi.secret(v);

  const cfg = {
    ...p,
    stack: pulumi.getStack(),
    cluster: {
      ...(p.cluster.context !== undefined ? { context: p.cluster.context } : {}),
      ...(p.cluster.kubeconfig !== undefined ? { kubeconfig: pulumi.secret(p.cluster.kubeconfig) } : {}),
    },
    registry: {
      server: p.registry.server,
      project: p.registry.project,
      ...(p.registry.username !== undefined ? { username: p.registry.username } : {}),
      ...(p.registry.password !== undefined ? { password: pulumi.secret(p.registry.password) } : {}),
    },
    services,
    scheduling: placed,
    secrets,
  };
  return deepFreeze(cfg) as ShopConfig;
}
