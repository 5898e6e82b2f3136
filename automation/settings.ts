/**
 * Where the CLI's state, secrets and tools come from: the environment first,
 * local defaults otherwise (the same ones `scripts/lib.sh` sets).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UsageError } from "./errors";

/** The repository root (the Pulumi project). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** Resolved settings of one CLI run. */
export interface Settings {
  repoRoot: string;
  /** State backend URL (`PULUMI_BACKEND_URL`, default `file://<repo>/.pulumi-state`). */
  backendUrl: string;
  /** Secrets provider for new stacks (`SHOP_SECRETS_PROVIDER`, default `passphrase`). */
  secretsProvider: string;
  /** Folder of generated stack config files (`SHOP_STACK_CONFIG_DIR`, default `<repo>/.pulumi-state/config`). */
  configDir: string;
  /** Folder of the offline toolchain (`$SHOP_CACHE/bin`). */
  toolBin: string;
  /**
   * Folder of the local harness's run files (`SHOP_RUN`, default `$SHOP_CACHE/run`): the images.json and
   * third-party-images.json of scripts/images.sh, the local Docker engine's socket.
   */
  runDir: string;
  /** Environment handed to every Pulumi command. */
  env: Record<string, string>;
}

/**
 * Reads the settings from `env`. Throws `UsageError` for what would fail later
 * anyway: a passphrase provider without a passphrase, a passphrase file or a
 * kubeconfig that does not exist.
 */
export function resolveSettings(env: NodeJS.ProcessEnv, repoRoot = REPO_ROOT): Settings {
  const cache = env.SHOP_CACHE || path.join(env.HOME || os.homedir(), ".cache", "shop-platform");
  const toolBin = path.join(cache, "bin");
  const backendUrl = env.PULUMI_BACKEND_URL || `file://${path.join(repoRoot, ".pulumi-state")}`;
  const secretsProvider = env.SHOP_SECRETS_PROVIDER || "passphrase";

  if (secretsProvider === "passphrase") {
    const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !file) {
      throw new UsageError(
        "no passphrase for the stack secrets: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (or SHOP_SECRETS_PROVIDER for another provider)",
      );
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && file && !fs.existsSync(file)) {
      throw new UsageError(`PULUMI_CONFIG_PASSPHRASE_FILE=${file} does not exist: point it at the file holding the passphrase`);
    }
  }
  for (const kc of (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean)) {
    if (!fs.existsSync(kc)) {
      throw new UsageError(`KUBECONFIG names ${kc}, which does not exist: start the cluster or point KUBECONFIG at its kubeconfig`);
    }
  }

  const pathVar = [toolBin, path.join(repoRoot, "node_modules", ".bin"), env.PATH ?? ""].join(path.delimiter);
  const out: Record<string, string> = {
    PATH: pathVar,
    PULUMI_BACKEND_URL: backendUrl,
    PULUMI_HOME: env.PULUMI_HOME || path.join(cache, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: env.PULUMI_SKIP_UPDATE_CHECK || "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION || "true",
    PULUMI_IGNORE_AMBIENT_PLUGINS: env.PULUMI_IGNORE_AMBIENT_PLUGINS || "true",
    // The program is type-checked by `tsc --noEmit` in the test command; the engine only transpiles it
    // (type-checking on every run cost 26 s of a 42 s no-op preview of the local stack).
    PULUMI_NODEJS_TRANSPILE_ONLY: env.PULUMI_NODEJS_TRANSPILE_ONLY || "true",
    // Commands that read no --config-file (e.g. `stack history --show-secrets`) take the stack's
    // secrets provider from its state instead of minting an unrelated passphrase salt.
    PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: env.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER || "true",
    // The program's Node processes (the language host passes its environment on; the project's
    // `nodeargs` do not reach them) start with automation/fast-start.js: a compile cache, and the SDK's
    // promise stacks formatted without source maps (docs/benchmarks.md, the no-op `up`).
    ...fastStartEnv(env, cache),
  };
  const configDir = env.SHOP_STACK_CONFIG_DIR || path.join(repoRoot, ".pulumi-state", "config");
  return { repoRoot, backendUrl, secretsProvider, configDir, toolBin, runDir: env.SHOP_RUN || path.join(cache, "run"), env: out };
}

/**
 * The no-op `up`'s speed-ups (docs/benchmarks.md) are on unless `SHOP_FAST_START=0`: the start-up hook
 * of the Node processes (automation/fast-start.js) and the CLI's shortcuts around an update (the
 * remembered `pulumi` version, a stack's existence from its checkpoint file, no `stack select` of a
 * known stack, no read-back of outputs and history after `up`). Off, the CLI does what it did before
 * them: for comparison (bench/local-stack.sh) and as a way out.
 */
export function fastStartOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SHOP_FAST_START !== "0";
}

/** The start-up hook the program's Node processes are given (automation/fast-start.js). */
export const FAST_START = path.join(REPO_ROOT, "automation", "fast-start.js");

/** One `NODE_OPTIONS` argument, quoted the way Node reads it when it holds blanks, quotes or backslashes. */
function nodeOption(arg: string): string {
  return /[\s"\\]/.test(arg) ? `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"` : arg;
}

/**
 * `NODE_OPTIONS` with `--require` of the fast-start hook added to what `env` has (once), and the
 * compile cache's folder (`SHOP_NODE_COMPILE_CACHE`, default `$SHOP_CACHE/node-compile-cache`; empty:
 * no cache). `SHOP_FAST_START=0` leaves `NODE_OPTIONS` as it is.
 */
export function fastStartEnv(env: NodeJS.ProcessEnv, cache: string, hook = FAST_START): Record<string, string> {
  const out: Record<string, string> = { SHOP_NODE_COMPILE_CACHE: env.SHOP_NODE_COMPILE_CACHE ?? path.join(cache, "node-compile-cache") };
  const current = env.NODE_OPTIONS ?? "";
  if (!fastStartOn(env)) {
    if (current) out.NODE_OPTIONS = current;
    return out;
  }
  const require = `--require ${nodeOption(hook)}`;
  out.NODE_OPTIONS = current.includes(require) ? current : [current, require].filter(Boolean).join(" ");
  return out;
}

/** Stacks this project declares: one per committed `Pulumi.<stack>.yaml`. */
export function declaredStacks(repoRoot = REPO_ROOT): string[] {
  return fs
    .readdirSync(repoRoot)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

/** `pr-<n>` names of review stacks. */
export const REVIEW_STACK = /^pr-[1-9][0-9]{0,8}$/;

/** Parses a pull-request number, or throws `UsageError`. */
export function parsePrNumber(raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new UsageError(`bad pull-request number '${raw}': give a positive integer, e.g. 42`);
  }
  return Number(raw);
}

/** The generated config file of a stack (`.pulumi-state/config/Pulumi.<stack>.yaml`). */
export function generatedConfigFile(s: Settings, stack: string): string {
  return path.join(s.configDir, `Pulumi.${stack}.yaml`);
}

/**
 * Checks that `stack` is one of the project's: a declared stack, or a review
 * stack whose generated config exists (when `allowReview`). Throws `UsageError`.
 */
export function checkStackName(s: Settings, stack: string, allowReview: boolean): void {
  const declared = declaredStacks(s.repoRoot);
  if (declared.includes(stack)) return;
  if (allowReview && REVIEW_STACK.test(stack) && fs.existsSync(generatedConfigFile(s, stack))) return;
  const hint = REVIEW_STACK.test(stack) ? ` (review stacks are created with 'review up ${stack.slice(3)}')` : "";
  throw new UsageError(`unknown stack '${stack}': this project's stacks are ${declared.join(", ") || "(none)"}${hint}`);
}

/** A stack name the CLI accepts for a file name: Pulumi's own rule (letters, digits, '-', '_', '.'). */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * For commands on a stack that must already exist (`rollback`): one of the project's stacks as
 * {@link checkStackName} allows them, or any stack the harness made a generated config file for (the
 * end-to-end suites' stacks). Throws `UsageError`.
 */
export function checkExistingStackName(s: Settings, stack: string): void {
  if (STACK_NAME.test(stack) && !stack.includes("..") && fs.existsSync(generatedConfigFile(s, stack))) return;
  checkStackName(s, stack, true);
}
