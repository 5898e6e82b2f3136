/**
 * Opens the project's workspace and its stacks without writing into tracked
 * files: stacks are created from a scratch copy of Pulumi.yaml, and every
 * operation runs with the stack's generated config file
 * (`.pulumi-state/config/Pulumi.<stack>.yaml`).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, OutputMap, PulumiCommand, Stack, UpOptions, UpResult, UpdateSummary } from "@pulumi/pulumi/automation";
import { Settings, fastStartOn, generatedConfigFile, declaredStacks } from "./settings";
import { PROJECT, containsSecure } from "./review";
import { SecretsKeys, StackBackend, readYaml, writeStackFile } from "./stack-file";

/** The SDK's own parts used to make a {@link PulumiCommand} of a known version without running `pulumi version`. */
interface CommandInternals {
  make: (command: string, version: unknown) => PulumiCommand;
  /** The SDK's check of a CLI version against its minimum (throws when too old), returning the parsed version. */
  validate: (version: string) => unknown;
}

function commandInternals(): CommandInternals | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cmd = require("@pulumi/pulumi/automation/cmd") as { parseAndValidatePulumiVersion?: unknown; minimumVersion?: unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { minimumVersion } = require("@pulumi/pulumi/automation/minimumVersion") as { minimumVersion?: unknown };
  const parse = cmd.parseAndValidatePulumiVersion;
  if (typeof parse !== "function" || !minimumVersion) return undefined;
  const Ctor = PulumiCommand as unknown as new (command: string, version: unknown) => PulumiCommand;
  return { make: (command, version) => new Ctor(command, version), validate: (version) => parse(minimumVersion, version, false) };
}

/** The identity of a binary for the version cache: path, size and modification time. */
function binaryKey(file: string): string {
  const st = fs.statSync(file);
  return `${path.resolve(file)} ${st.size} ${st.mtimeMs}`;
}

/**
 * The version of the `pulumi` binary `file` recorded in `cacheFile` when the binary is still the same
 * (path, size, modification time), else undefined.
 */
export function cachedPulumiVersion(cacheFile: string, file: string): string | undefined {
  try {
    const known = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key?: unknown; version?: unknown };
    return known.key === binaryKey(file) && typeof known.version === "string" && known.version ? known.version : undefined;
  } catch {
    return undefined;
  }
}

/** Records the version of the `pulumi` binary `file` (best effort: a cache that cannot be written is no error). */
export function rememberPulumiVersion(cacheFile: string, file: string, version: string): void {
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ key: binaryKey(file), version }));
    fs.renameSync(tmp, cacheFile);
  } catch {
    // ignored: the next run asks the binary again
  }
}

/** Where the toolchain's `pulumi` version is remembered (in the run folder, outside the repository). */
export function pulumiVersionCache(s: Settings): string {
  return path.join(s.runDir, "pulumi-version.json");
}

/**
 * The Pulumi CLI: the offline toolchain's when built, else the one on PATH. The Automation API asks
 * the binary its version (`pulumi version`, about 0.25 s) on every run; for the toolchain's binary the
 * version is remembered per binary (path, size, modification time) and checked against the SDK's
 * minimum by the SDK's own check, so only a new or rebuilt binary is asked again.
 */
export async function pulumiCommand(s: Settings): Promise<PulumiCommand> {
  const local = path.join(s.toolBin, "pulumi");
  if (!fs.existsSync(local)) return PulumiCommand.get();
  if (!fastStartOn()) return PulumiCommand.get({ root: path.dirname(s.toolBin) });
  const cacheFile = pulumiVersionCache(s);
  const known = cachedPulumiVersion(cacheFile, local);
  const internals = known ? commandInternals() : undefined;
  if (known && internals) return internals.make(local, internals.validate(known));
  const cmd = await PulumiCommand.get({ root: path.dirname(s.toolBin) });
  if (cmd.version) rememberPulumiVersion(cacheFile, local, cmd.version.toString());
  return cmd;
}

/**
 * The folder the Pulumi commands run in: `.pulumi-state/workspace/` (ignored) holding a copy of
 * Pulumi.yaml whose `main` points back at the repo's program. Some commands write the stack's
 * encryption salt into `Pulumi.<stack>.yaml` of their working folder (the Automation API's
 * `stack history --show-secrets` after every update does); here that lands in an ignored folder
 * instead of the committed stack files.
 */
export function workspaceDir(s: Settings): string {
  const dir = path.join(s.repoRoot, ".pulumi-state", "workspace");
  fs.mkdirSync(dir, { recursive: true });
  const project = (yaml.load(fs.readFileSync(path.join(s.repoRoot, "Pulumi.yaml"), "utf8")) as Record<string, unknown>) ?? {};
  const main = typeof project.main === "string" ? project.main : "";
  project.main = path.relative(dir, path.join(s.repoRoot, main)) || ".";
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump(project, { lineWidth: -1 }));
  return dir;
}

/** The project's workspace, with the resolved environment. */
export async function openWorkspace(s: Settings): Promise<LocalWorkspace> {
  fs.mkdirSync(s.configDir, { recursive: true });
  if (s.backendUrl.startsWith("file://")) fs.mkdirSync(s.backendUrl.slice("file://".length), { recursive: true });
  return LocalWorkspace.create({ workDir: workspaceDir(s), envVars: s.env, pulumiCommand: await pulumiCommand(s) });
}

/** Runs the Pulumi CLI with the workspace's environment; `input` goes to stdin. Rejects with stderr on failure. */
export function runPulumi(ws: LocalWorkspace, s: Settings, args: string[], cwd: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ws.pulumiCommand.command,
      [...args, "--non-interactive"],
      { cwd, env: { ...process.env, ...s.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`pulumi ${args[0]} ${args[1] ?? ""} failed: ${stderr || err.message}`)) : resolve(stdout)),
    );
    child.stdin?.end(input ?? "");
  });
}

/**
 * The checkpoint files a file backend (`file://DIR`) keeps for a live stack of this project
 * (`DIR/.pulumi/stacks/<project>/<stack>.json`, or `.json.gz` when it compresses state); a removed
 * stack leaves only `.bak` files. Empty for any other backend.
 */
export function checkpointFiles(backendUrl: string, stack: string): string[] {
  if (!backendUrl.startsWith("file://")) return [];
  const dir = path.join(backendUrl.slice("file://".length), ".pulumi", "stacks", PROJECT);
  return [path.join(dir, `${stack}.json`), path.join(dir, `${stack}.json.gz`)];
}

/**
 * True when the backend holds `stack` for this project. On a file backend a stack whose checkpoint file
 * is there exists without asking the CLI (`stack ls`, about 0.25 s); otherwise the CLI is asked.
 */
export async function stackExists(ws: LocalWorkspace, stack: string): Promise<boolean> {
  const backend = ws.envVars.PULUMI_BACKEND_URL ?? process.env.PULUMI_BACKEND_URL ?? "";
  if (fastStartOn() && checkpointFiles(backend, stack).some((f) => fs.existsSync(f))) return true;
  const stacks = await ws.listStacks();
  return stacks.some((x) => x.name === stack || x.name.endsWith(`/${stack}`));
}

/** Creates `stack` in the backend from a scratch copy of Pulumi.yaml; returns what `stack init` wrote besides config. */
async function initStack(ws: LocalWorkspace, s: Settings, stack: string): Promise<SecretsKeys> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shop-stack-init-"));
  try {
    fs.copyFileSync(path.join(s.repoRoot, "Pulumi.yaml"), path.join(scratch, "Pulumi.yaml"));
    await runPulumi(ws, s, ["stack", "init", stack, "--secrets-provider", s.secretsProvider], scratch);
    const file = path.join(scratch, `Pulumi.${stack}.yaml`);
    const doc = fs.existsSync(file) ? ((yaml.load(fs.readFileSync(file, "utf8")) as Record<string, unknown>) ?? {}) : {};
    delete doc.config;
    return doc;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The passphrase salt recorded in an existing stack's state. */
async function saltFromState(ws: LocalWorkspace, stack: string): Promise<SecretsKeys> {
  const state: any = await ws.exportStack(stack);
  const salt = state?.deployment?.secrets_providers?.state?.salt;
  return typeof salt === "string" ? { encryptionsalt: salt } : {};
}

/**
 * Makes sure `stack` exists and has a generated config file; returns the file.
 * A declared stack without one gets the committed `Pulumi.<stack>.yaml` plus
 * its secrets-provider keys. `config` (review stacks) replaces the file's config.
 */
export async function ensureStack(
  ws: LocalWorkspace,
  s: Settings,
  stack: string,
  config?: Record<string, unknown>,
  log: (line: string) => void = () => {},
): Promise<string> {
  const gen = generatedConfigFile(s, stack);
  const exists = await stackExists(ws, stack);
  const committed = path.join(s.repoRoot, `Pulumi.${stack}.yaml`);
  const baseConfig = (): Record<string, unknown> => {
    if (config) return config;
    if (fs.existsSync(gen)) {
      // Keep what the harness added (image digests), drop values encrypted for a stack that is gone.
      const kept = readYaml(gen).config ?? {};
      const dropped = Object.keys(kept).filter((k) => containsSecure(kept[k]));
      if (dropped.length) log(`note: dropping ${dropped.join(", ")} from ${gen}: encrypted for an earlier stack of this name`);
      for (const k of dropped) delete kept[k];
      return kept;
    }
    return declaredStacks(s.repoRoot).includes(stack) ? readYaml(committed).config ?? {} : {};
  };
  if (!exists) {
    const keys = await initStack(ws, s, stack);
    writeStackFile(gen, baseConfig(), keys);
    log(`created stack ${stack} (config: ${path.relative(s.repoRoot, gen)})`);
  } else if (!fs.existsSync(gen) || config) {
    const doc = fs.existsSync(gen) ? readYaml(gen) : {};
    const keys: SecretsKeys = { ...doc, ...(doc.encryptionsalt ? {} : await saltFromState(ws, stack)) };
    delete keys.config;
    writeStackFile(gen, config ?? baseConfig(), keys);
  }
  return gen;
}

/** Stores `value` (JSON for objects) as a secret config value of `stack` in its generated config file. */
export async function setSecretConfig(ws: LocalWorkspace, s: Settings, stack: string, configFile: string, key: string, value: unknown): Promise<void> {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  // The value goes through stdin so it never shows up in a process list.
  await runPulumi(ws, s, ["config", "set", "--secret", key, "--stack", stack, "--config-file", configFile], ws.workDir, text);
}

/** Selects an existing stack of the workspace. */
export async function selectStack(ws: LocalWorkspace, stack: string): Promise<Stack> {
  return Stack.select(stack, ws);
}

/**
 * The `Stack` object of a stack known to exist (`ensureStack` just made sure), without `pulumi stack
 * select` (about 0.2 s): every command of it names the stack (`--stack`), so the workspace's current
 * stack is not needed. The SDK makes a `Stack` only through a selection, so the workspace's selection
 * is a no-op for that moment.
 */
export async function existingStack(ws: LocalWorkspace, stack: string): Promise<Stack> {
  if (!fastStartOn()) return Stack.select(stack, ws);
  const own = Object.prototype.hasOwnProperty.call(ws, "selectStack");
  const saved = ws.selectStack;
  ws.selectStack = async () => {};
  try {
    return await Stack.select(stack, ws);
  } finally {
    if (own) ws.selectStack = saved;
    else delete (ws as { selectStack?: unknown }).selectStack;
  }
}

/**
 * `stack.up(opts)` without the three reads the Automation API makes after the update (`stack output`
 * twice, `stack history --page-size 1`: about 1 s of `pulumi` processes) to fill the result's
 * `outputs` and `summary`, which the CLI does not use: the update itself, its events and its errors are
 * the same. The result's `outputs` is `{}` and its `summary` undefined.
 */
export async function upWithoutReadback(stack: Stack, opts: UpOptions): Promise<UpResult> {
  if (!fastStartOn()) return stack.up(opts);
  const target = stack as unknown as { outputs: () => Promise<OutputMap>; info: () => Promise<UpdateSummary | undefined> };
  target.outputs = async () => ({});
  target.info = async () => undefined;
  try {
    return await stack.up(opts);
  } finally {
    delete (target as { outputs?: unknown }).outputs;
    delete (target as { info?: unknown }).info;
  }
}

/**
 * The Pulumi CLI as the stack-file maker (stack-file.ts) uses it: the backend's stacks, `stack init`
 * in a scratch folder, and `config get`/`config set --secret` on the stack file (values through stdin,
 * so a secret never shows up in a process list).
 */
export function pulumiStackBackend(ws: LocalWorkspace, s: Settings): StackBackend {
  const on = (stack: string, file: string) => ["--stack", stack, "--config-file", file];
  return {
    exists: (stack) => stackExists(ws, stack),
    init: (stack) => initStack(ws, s, stack),
    async secretNames(stack, file) {
      const out = await runPulumi(ws, s, ["config", "get", `${PROJECT}:secrets`, "--json", ...on(stack, file)], ws.workDir);
      const v = JSON.parse(out);
      const o = typeof v.value === "string" ? JSON.parse(v.value) : (v.value ?? {});
      return Object.keys(o);
    },
    async setSecret(stack, file, key, value) {
      await runPulumi(ws, s, ["config", "set", "--secret", "--path", key, ...on(stack, file)], ws.workDir, value);
    },
  };
}
