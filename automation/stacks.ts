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
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { Settings, generatedConfigFile, declaredStacks } from "./settings";
import { PROJECT, containsSecure } from "./review";
import { SecretsKeys, StackBackend, readYaml, writeStackFile } from "./stack-file";

/** The Pulumi CLI: the offline toolchain's when built, else the one on PATH. */
export async function pulumiCommand(s: Settings): Promise<PulumiCommand> {
  const local = path.join(s.toolBin, "pulumi");
  return fs.existsSync(local) ? PulumiCommand.get({ root: path.dirname(s.toolBin) }) : PulumiCommand.get();
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

/** True when the backend holds `stack` for this project. */
export async function stackExists(ws: LocalWorkspace, stack: string): Promise<boolean> {
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
