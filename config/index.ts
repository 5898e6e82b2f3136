/**
 * The stack config, as the program and its tests import it (`./config`). `loadConfig()` (load.ts) is
 * the one reader: it reads every `shop:*` key once, validates the whole with the schema (schema.ts,
 * built from fields.ts) and returns a deep-frozen plain object. Every problem is collected and
 * reported in ONE `ConfigError` (problems.ts), one line per problem: the key path, what was wrong and
 * an example of a right value or the fix.
 *
 * Defaults are the `local` stack's (the embedded default): an empty config deploys the local stack.
 * Secret-bearing keys (`shop:secrets`, `shop:registry.password`, `shop:cluster.kubeconfig`) must be
 * secret config and come back wrapped in `pulumi.secret()`.
 */
// The service list lives in catalog.ts; re-exported here for the callers that read it with the config.
export { BINARIES } from "../catalog";
export type { Binary } from "../catalog";
// Quantities and durations: the schema validates with them, the components size with them.
export { bytes, goDurationMs, milliCpu } from "./units";
export {
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  imageBuildSchema,
  isLabelKey,
  LOCAL_GATEWAY_CLASS,
  MAX_HPA_STABILIZATION_SECONDS,
  NAMESPACE,
  RESERVED_ENV,
  ROUTING_MODES,
  SECRET_ENV,
  THIRD_PARTY_IMAGES,
  THIRD_PARTY_WORKLOADS,
} from "./fields";
export type { ThirdPartyImage, ThirdPartyWorkload } from "./fields";
export type { Secrets, ServiceConfig, ShopConfig } from "./schema";
export { ConfigError } from "./problems";
export { loadConfig } from "./load";
