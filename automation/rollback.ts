/**
 * `rollback`: redeploy the configuration of an earlier successful update from the stack's history
 * (docs/delivery.md, "Rollback"). Pure functions of plain data; commands.ts runs them against a stack.
 *
 * What is rolled back is the stack's config as that update ran with it: every key, image digests
 * (`shop:images.prebuilt`) and secrets included. The program's code is not: the update runs the
 * program as checked out.
 */
import type { ConfigMap, ConfigValue, UpdateSummary } from "@pulumi/pulumi/automation";
import { UsageError } from "./errors";

/** One entry of a stack's history with the number `--to` names it by. */
export interface NumberedUpdate {
  number: number;
  update: UpdateSummary;
}

/**
 * Numbers a stack's history (as `stack.history()` returns it: newest first) oldest first. A backend that
 * records versions (Pulumi Cloud) numbers its updates itself and those numbers are kept; the file backend
 * records none (every `version` is 0), so there an update's number is its position, from 1 at the oldest
 * operation (updates, refreshes and destroys all count, as versions do).
 */
export function numberUpdates(history: readonly UpdateSummary[]): NumberedUpdate[] {
  const oldestFirst = [...history].reverse();
  const versions = oldestFirst.map((u) => u.version);
  const recorded = versions.every((v) => Number.isInteger(v) && v > 0) && new Set(versions).size === versions.length;
  return oldestFirst.map((update, i) => ({ number: recorded ? update.version : i + 1, update }));
}

const when = (u: UpdateSummary) => (u.startTime instanceof Date && !isNaN(u.startTime.getTime()) ? u.startTime.toISOString() : String(u.startTime));

/** `update 7 (succeeded, 2026-01-02T03:04:05.000Z)`. */
export function describeUpdate(n: NumberedUpdate): string {
  return `${n.update.kind} ${n.number} (${n.update.result}, ${when(n.update)})`;
}

/** The last few updates, newest first, for a refusal. */
function recent(numbered: NumberedUpdate[], count = 8): string {
  const updates = numbered.filter((n) => n.update.kind === "update").reverse();
  if (!updates.length) return "the stack's history has no update";
  const shown = updates.slice(0, count).map(describeUpdate).join(", ");
  return `its updates, newest first: ${shown}${updates.length > count ? ", ..." : ""}`;
}

/**
 * The update whose configuration `rollback` redeploys. With `to`: that update, which must be an update
 * (not a refresh or destroy) that succeeded. Without: the newest successful update before the stack's
 * latest update — after a failed update, the last one that succeeded; after a successful one, the one
 * before it (the current deployment is the latest). Throws `UsageError` (nothing changed) otherwise.
 */
export function rollbackTarget(history: readonly UpdateSummary[], stack: string, to?: number): NumberedUpdate {
  const numbered = numberUpdates(history);
  const updates = numbered.filter((n) => n.update.kind === "update");
  if (to !== undefined) {
    const named = numbered.find((n) => n.number === to);
    if (!named) throw new UsageError(`stack ${stack} has no update ${to}: ${recent(numbered)}`);
    if (named.update.kind !== "update") {
      throw new UsageError(`${describeUpdate(named)} of stack ${stack} is a ${named.update.kind}, not an update: only an update's configuration can be redeployed; ${recent(numbered)}`);
    }
    if (named.update.result !== "succeeded") {
      throw new UsageError(`update ${to} of stack ${stack} did not succeed (${named.update.result}): its configuration never ran healthy, so it is no rollback target; ${recent(numbered)}`);
    }
    return named;
  }
  const latest = updates[updates.length - 1];
  if (!latest) throw new UsageError(`stack ${stack} has never been updated: there is nothing to roll back to`);
  const target = updates.slice(0, -1).reverse().find((n) => n.update.result === "succeeded");
  if (!target) {
    throw new UsageError(`stack ${stack} has no successful update before its latest (${describeUpdate(latest)}): there is nothing to roll back to; ${recent(numbered)}`);
  }
  return target;
}

/** A config value in a comparable form: structured values by their parsed object, with sorted keys. */
function canonical(v: ConfigValue | undefined): string | undefined {
  if (!v) return undefined;
  const sort = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sort) : x && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as any)[k])])) : x;
  const obj = (v as ConfigValue & { objectValue?: unknown }).objectValue;
  return JSON.stringify([!!v.secret, obj !== undefined ? sort(obj) : v.value]);
}

/** What `rollback` writes into the stack's generated config file. */
export interface RollbackConfig {
  /** The `config:` map to write: unchanged keys as they are in the file (encrypted values untouched), changed plain keys with their old value. */
  config: Record<string, unknown>;
  /** Secret keys whose value changes: each is set again, encrypted, after the file is written. */
  secrets: [key: string, value: string][];
  /** One line per changed key (never a secret's value). */
  changes: string[];
}

/**
 * The config file's content that makes the stack's config `target` (an update's config from the history,
 * secrets shown). `current` is the file's config decrypted (`pulumi config --show-secrets --json`),
 * `raw` the file's `config:` map as stored. Keys whose value is the same keep their stored form, so an
 * unchanged secret keeps its ciphertext; keys the target lacks are removed.
 */
export function rollbackConfig(target: ConfigMap, current: ConfigMap, raw: Record<string, unknown>): RollbackConfig {
  const config: Record<string, unknown> = {};
  const secrets: [string, string][] = [];
  const changes: string[] = [];
  for (const key of Object.keys(target).sort()) {
    const want = target[key];
    if (canonical(want) === canonical(current[key]) && key in raw) {
      config[key] = raw[key];
      continue;
    }
    changes.push(`${key}: ${key in current ? "changed" : "added"}${want.secret ? " (secret)" : ""}`);
    if (want.secret) {
      if (typeof want.value !== "string") throw new Error(`the history holds no value of secret ${key}: read it with secrets shown`);
      secrets.push([key, want.value]);
    } else {
      const obj = (want as ConfigValue & { objectValue?: unknown }).objectValue;
      config[key] = obj !== undefined ? obj : want.value;
    }
  }
  for (const key of Object.keys(current).sort()) if (!(key in target)) changes.push(`${key}: removed`);
  return { config, secrets, changes };
}

/** Parses `--to`: an update number as the history numbers it. */
export function parseUpdateNumber(raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new UsageError(`bad update number '${raw}': give the number of an update from the stack's history, e.g. 7`);
  return Number(raw);
}
