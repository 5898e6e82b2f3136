/**
 * The CLI's commands. Each validates its input first (UsageError, exit 2,
 * nothing touched), then drives the Automation API with readable progress.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CommandError, LocalWorkspace } from "@pulumi/pulumi/automation";
import { UsageError } from "./errors";
import { phasesLine, ProgressPrinter, summaryLine } from "./progress";
import { renderPreviewMarkdown } from "./markdown";
import { PROJECT, deriveReviewConfig, readOverrides, readStackConfig } from "./review";
import { Settings, checkExistingStackName, checkStackName, generatedConfigFile, parsePrNumber, resolveSettings } from "./settings";
import { ensureStack, existingStack, openWorkspace, pulumiStackBackend, runPulumi, selectStack, setSecretConfig, stackExists, upWithoutReadback } from "./stacks";
import { makeStackFile, readStackFileConfig, stackFileRequest, writeStackFileConfig } from "./stack-file";
import { describeUpdate, parseUpdateNumber, rollbackConfig, rollbackTarget } from "./rollback";
import { promotion, releaseLines } from "./canary";
import { outputsText } from "./outputs";

/** Where a command writes: progress lines and the final summary. */
export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export interface DeployOptions {
  refresh?: boolean;
  policyPack?: string[];
}
export interface PreviewOptions {
  markdown?: string;
  policyPack?: string[];
  refresh?: boolean;
}
export interface RollbackOptions {
  /** The update to redeploy (its number in the stack's history); default: the last good one. */
  to?: string;
  policyPack?: string[];
}
export interface ReviewOptions {
  overrides?: string;
  policyPack?: string[];
}

/** Checks policy pack paths (a pack folder or an executable launcher such as policy/analyzer.sh). */
function checkPolicyPacks(packs: string[] | undefined): string[] {
  return (packs ?? []).map((p) => {
    const abs = path.resolve(p);
    if (!fs.existsSync(abs)) throw new UsageError(`policy pack ${p} does not exist: give the pack's folder (e.g. policy) or its launcher (policy/analyzer.sh)`);
    return abs;
  });
}

/** When this process started (ms since the epoch): the `setup` phase includes the CLI's own start. */
const cliStarted = performance.timeOrigin;

function firstLine(e: unknown): string {
  const text = e instanceof CommandError ? e.message : e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^error:/.test(l)) ?? lines.find((l) => !/^(code|stdout|stderr|err\?):/.test(l)) ?? text;
}

async function up(ws: LocalWorkspace, s: Settings, stackName: string, configFile: string, opts: DeployOptions, o: Output): Promise<number> {
  // Every caller made sure of the stack first (ensureStack).
  const stack = await existingStack(ws, stackName);
  const started = Date.now();
  if (opts.refresh) {
    o.out(`refreshing ${PROJECT}/${stackName}`);
    const p = new ProgressPrinter(o.out, false);
    await stack.refresh({ configFile, onEvent: p.onEvent });
  }
  if (opts.policyPack?.length) {
    // Policy gate: a mandatory violation stops here, before the update changes anything
    // (during an update the engine would stop only at the offending resource).
    o.out(`policy check of ${PROJECT}/${stackName}: preview with ${opts.policyPack.map((p) => path.relative(s.repoRoot, p) || p).join(", ")}`);
    const gate = new ProgressPrinter(o.out, true);
    try {
      await stack.preview({ configFile, onEvent: gate.onEvent, policyPacks: opts.policyPack });
    } catch (e) {
      const violations = gate.report.policyViolations.filter((v) => v.enforcementLevel === "mandatory").length;
      o.err(`policy check of ${stackName} failed${violations ? ` with ${violations} mandatory violation(s)` : ""}, nothing was changed: ${firstLine(e)}`);
      return 1;
    }
  }
  o.out(`updating ${PROJECT}/${stackName} (config ${path.relative(s.repoRoot, configFile)})`);
  const printer = new ProgressPrinter(o.out, false);
  const op = Date.now();
  try {
    // The result's outputs and summary are not used here: not read back (stacks.ts).
    await upWithoutReadback(stack, { configFile, onEvent: printer.onEvent, policyPacks: opts.policyPack });
  } catch (e) {
    o.err(`update of ${stackName} failed: ${firstLine(e)}`);
    o.out(`summary: ${summaryLine(printer.report, (Date.now() - started) / 1000, false)} (failed)`);
    return 1;
  }
  o.out(`summary: ${summaryLine(printer.report, (Date.now() - started) / 1000, false)}`);
  o.out(`phases: ${phasesLine({ cli: cliStarted, op, end: Date.now() }, printer.report.marks)}`);
  return 0;
}

/**
 * `deploy <stack>`: (optional refresh and) `up` with progress and a summary. The project's stacks, and
 * any stack the harness made a generated config file for (scripts/stack-config.sh: the bench's).
 */
export async function deploy(stackName: string, opts: DeployOptions, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings(process.env);
  checkExistingStackName(s, stackName);
  const packs = checkPolicyPacks(opts.policyPack);
  const ws = await openWorkspace(s);
  const configFile = await ensureStack(ws, s, stackName, undefined, o.out);
  return up(ws, s, stackName, configFile, { ...opts, policyPack: packs }, o);
}

/** `preview <stack>`: a preview with progress; `--markdown FILE` writes the PR comment body. */
export async function preview(stackName: string, opts: PreviewOptions, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings(process.env);
  checkStackName(s, stackName, true);
  const packs = checkPolicyPacks(opts.policyPack);
  if (opts.markdown && !fs.existsSync(path.dirname(path.resolve(opts.markdown)))) {
    throw new UsageError(`cannot write ${opts.markdown}: its folder does not exist`);
  }
  const ws = await openWorkspace(s);
  const configFile = await ensureStack(ws, s, stackName, undefined, o.out);
  const stack = await selectStack(ws, stackName);
  const printer = new ProgressPrinter(o.out, true);
  const started = Date.now();
  o.out(`previewing ${PROJECT}/${stackName} (config ${path.relative(s.repoRoot, configFile)})`);
  let error: string | undefined;
  try {
    await stack.preview({ configFile, onEvent: printer.onEvent, policyPacks: packs, refresh: opts.refresh, diff: false });
  } catch (e) {
    error = firstLine(e);
  }
  if (opts.markdown) {
    fs.writeFileSync(opts.markdown, renderPreviewMarkdown({ project: PROJECT, stack: stackName, report: printer.report, succeeded: !error, error }));
    o.out(`wrote ${opts.markdown}`);
  }
  o.out(`summary: ${summaryLine(printer.report, (Date.now() - started) / 1000, true)}${error ? " (failed)" : ""}`);
  if (error) {
    o.err(`preview of ${stackName} failed: ${error}`);
    return 1;
  }
  return 0;
}

async function destroyStack(ws: LocalWorkspace, s: Settings, stackName: string, remove: boolean, o: Output): Promise<number> {
  const configFile = await ensureStack(ws, s, stackName, undefined, o.out);
  const stack = await selectStack(ws, stackName);
  const printer = new ProgressPrinter(o.out, false);
  const started = Date.now();
  o.out(`destroying ${PROJECT}/${stackName}`);
  try {
    await stack.destroy({ configFile, onEvent: printer.onEvent });
  } catch (e) {
    o.err(`destroy of ${stackName} failed: ${firstLine(e)}`);
    return 1;
  }
  o.out(`summary: ${summaryLine(printer.report, (Date.now() - started) / 1000, false)}`);
  if (remove) {
    await ws.removeStack(stackName);
    fs.rmSync(configFile, { force: true });
    o.out(`removed stack ${stackName} and ${path.relative(s.repoRoot, configFile)}`);
  }
  return 0;
}

export interface DestroyOptions {
  /** Also remove the stack from the backend and its generated config file (review stacks always are). */
  remove?: boolean;
}

/**
 * `destroy <stack> [--remove]`: destroys the stack's resources; with `--remove` (and always for review
 * stacks) also removes the stack and its generated config. Any stack the harness made a generated
 * config file for is accepted (the bench's and the end-to-end suites' stacks).
 */
export async function destroy(stackName: string, opts: DestroyOptions = {}, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings(process.env);
  checkExistingStackName(s, stackName);
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) throw new UsageError(`stack '${stackName}' has not been created in ${s.backendUrl}: nothing to destroy`);
  return destroyStack(ws, s, stackName, !!opts.remove || stackName.startsWith("pr-"), o);
}

/** `review up <n>`: creates/updates the review stack `pr-<n>` from the dev config and deploys it. */
export async function reviewUp(prRaw: string, opts: ReviewOptions, o: Output = consoleOutput): Promise<number> {
  const pr = parsePrNumber(prRaw);
  const s = resolveSettings(process.env);
  const packs = checkPolicyPacks(opts.policyPack);
  const devFile = path.join(s.repoRoot, "Pulumi.dev.yaml");
  if (!fs.existsSync(devFile)) throw new UsageError("no Pulumi.dev.yaml in the repo: review stacks are derived from the dev stack's config");
  const overrides = opts.overrides ? readOverrides(opts.overrides) : {};
  const { config, secretKeys } = deriveReviewConfig(readStackConfig(devFile), pr, overrides);
  const stackName = `pr-${pr}`;
  const ws = await openWorkspace(s);
  const plainConfig = Object.fromEntries(Object.entries(config).filter(([k]) => !secretKeys.includes(k)));
  const configFile = await ensureStack(ws, s, stackName, plainConfig, o.out);
  for (const k of secretKeys) await setSecretConfig(ws, s, stackName, configFile, k, config[k]);
  o.out(`review stack ${stackName}: namespace ${String(config[`${PROJECT}:namespace`])}, secrets ${secretKeys.join(", ") || "(none)"}`);
  return up(ws, s, stackName, configFile, { policyPack: packs }, o);
}

/** `review destroy <n>`: destroys the review stack, removes it and its generated config. Absent: nothing to do. */
export async function reviewDestroy(prRaw: string, o: Output = consoleOutput): Promise<number> {
  const pr = parsePrNumber(prRaw);
  const s = resolveSettings(process.env);
  const stackName = `pr-${pr}`;
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) {
    fs.rmSync(generatedConfigFile(s, stackName), { force: true });
    o.out(`review stack ${stackName} does not exist: nothing to destroy`);
    return 0;
  }
  return destroyStack(ws, s, stackName, true, o);
}

/**
 * `promote <stack>`: the canary becomes the stable gateway through a normal `up`. The stack's config
 * gets the canary's image as `shop:images.prebuilt.gateway` and the gray release off; then `up`
 * rolls the stable gateway to that image and removes the canary (and its CanaryRelease, whose
 * finalizer restores the route to all-stable). Refused, nothing changed, when there is nothing to promote.
 */
export async function promote(stackName: string, opts: DeployOptions, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings(process.env);
  checkStackName(s, stackName, true);
  const packs = checkPolicyPacks(opts.policyPack);
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) throw new UsageError(`stack '${stackName}' has not been created in ${s.backendUrl}: deploy it first`);
  const configFile = await ensureStack(ws, s, stackName, undefined, o.out);
  const plan = promotion(readStackFileConfig(configFile), stackName);
  writeStackFileConfig(configFile, plan.config);
  o.out(`promoting the canary of ${PROJECT}/${stackName} (${plan.image}):`);
  for (const c of plan.changes) o.out(`  ${c}`);
  return up(ws, s, stackName, configFile, { ...opts, policyPack: packs }, o);
}

/** Runs kubectl (the offline toolchain's first on PATH) and resolves to its stdout. */
function kubectl(s: Settings, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("kubectl", args, { env: { ...process.env, ...s.env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.slice(0, 3).join(" ")} failed: ${(stderr || err.message).trim()}`)) : resolve(stdout),
    ),
  );
}

/**
 * `status <stack>`: the gray release's progress, read from the cluster: each CanaryRelease of the
 * stack's namespace with phase, step, weight, failed checks, message and last analysis.
 */
export async function status(stackName: string, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings(process.env);
  checkStackName(s, stackName, true);
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) throw new UsageError(`stack '${stackName}' has not been created in ${s.backendUrl}: nothing to show`);
  const stack = await selectStack(ws, stackName);
  const outputs = await stack.outputs();
  const namespace = outputs.namespace?.value;
  if (typeof namespace !== "string" || !namespace) {
    o.err(`stack ${stackName} has no namespace output: deploy it first`);
    return 1;
  }
  const config = readStackFileConfig(await ensureStack(ws, s, stackName, undefined, o.out));
  const cluster = config[`${PROJECT}:cluster`] as { context?: string } | undefined;
  const args = [...(cluster?.context ? ["--context", cluster.context] : []), "-n", namespace, "get", "canaryreleases.delivery.shop.dev", "-o", "json"];
  let list: unknown;
  try {
    list = JSON.parse(await kubectl(s, args));
  } catch (e) {
    o.err(`reading the releases of ${stackName} failed: ${firstLine(e)}`);
    return 1;
  }
  for (const line of releaseLines(list)) o.out(line);
  return 0;
}

export interface OutputsOptions {
  /** Print a single output's value as JSON (strings quoted). */
  json?: boolean;
}

/**
 * `outputs <stack> [name]`: every output of the stack as one JSON object, or the value of output
 * `name` (automation/outputs.ts). Reads the state only: no config file, no cluster.
 */
export async function outputs(stackName: string, name: string | undefined, opts: OutputsOptions, o: Output = consoleOutput): Promise<number> {
  const s = resolveSettings({ ...process.env, KUBECONFIG: "" });
  checkExistingStackName(s, stackName);
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) throw new UsageError(`stack '${stackName}' has not been created in ${s.backendUrl}: no outputs to show`);
  const stack = await selectStack(ws, stackName);
  o.out(outputsText(stackName, await stack.outputs(), name, opts.json));
  return 0;
}

/**
 * `stack-file <stack> [images.json]`: makes the stack's generated config file (stack-file.ts: the
 * committed file + OVERRIDES + digests + third-party images + docker host + generated secrets,
 * encrypted) and prints its path, the one line on stdout.
 */
export async function stackFile(stackName: string, images: string | undefined, o: Output = consoleOutput): Promise<number> {
  // Making a stack file reads no cluster: a KUBECONFIG that is not there (yet) is no reason to refuse.
  const s = resolveSettings({ ...process.env, KUBECONFIG: "" });
  const req = stackFileRequest(s, process.env, stackName, images);
  const ws = await openWorkspace(s);
  o.out(await makeStackFile(pulumiStackBackend(ws, s), req));
  return 0;
}

/**
 * `rollback <stack> [--to <update>]`: redeploys the configuration of an earlier successful update from
 * the stack's history (automation/rollback.ts chooses it): the stack's generated config file gets that
 * update's config (image digests and secrets included), then a normal `up` runs. Refused, nothing
 * changed, when there is no such update or the named one did not succeed. The program's code is not
 * rolled back (docs/delivery.md).
 */
export async function rollback(stackName: string, opts: RollbackOptions, o: Output = consoleOutput): Promise<number> {
  const started = Date.now();
  const s = resolveSettings(process.env);
  checkExistingStackName(s, stackName);
  const to = opts.to === undefined ? undefined : parseUpdateNumber(opts.to);
  const packs = checkPolicyPacks(opts.policyPack);
  const ws = await openWorkspace(s);
  if (!(await stackExists(ws, stackName))) throw new UsageError(`stack '${stackName}' has not been created in ${s.backendUrl}: nothing to roll back`);
  const configFile = await ensureStack(ws, s, stackName, undefined, o.out);
  const stack = await selectStack(ws, stackName);
  const target = rollbackTarget(await stack.history(undefined, undefined, true), stackName, to);
  const current = JSON.parse(await runPulumi(ws, s, ["config", "--show-secrets", "--json", "--stack", stackName, "--config-file", configFile], ws.workDir));
  const plan = rollbackConfig(target.update.config, current, readStackFileConfig(configFile));
  o.out(`rolling ${PROJECT}/${stackName} back to the configuration of ${describeUpdate(target)}`);
  for (const c of plan.changes) o.out(`  ${c}`);
  if (!plan.changes.length) o.out("  (the config file already holds it: up redeploys it as it is)");
  writeStackFileConfig(configFile, plan.config);
  for (const [k, v] of plan.secrets) await setSecretConfig(ws, s, stackName, configFile, k, v);
  const code = await up(ws, s, stackName, configFile, { policyPack: packs }, o);
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (code === 0) o.out(`rolled back ${stackName} to update ${target.number} in ${took}s`);
  else o.err(`rollback of ${stackName} to update ${target.number} failed after ${took}s: the config file holds update ${target.number}'s config; fix and run deploy, or roll back to another update`);
  return code;
}
