/**
 * Defaults of the pack derived from the repository: the registries the
 * project's stacks push to are the allowed ones.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PackConfig, defaultConfig } from "./policies";

/** Registry hosts named by `shop:registry.server` in the repo's `Pulumi.<stack>.yaml` files. */
export function registriesOfStacks(repoRoot: string): string[] {
  const out = new Set<string>();
  for (const f of fs.readdirSync(repoRoot)) {
    if (!/^Pulumi\.[^.]+\.yaml$/.test(f)) continue;
    const doc = (yaml.load(fs.readFileSync(path.join(repoRoot, f), "utf8")) as any) ?? {};
    const server = doc?.config?.["shop:registry"]?.server;
    if (typeof server === "string" && server) out.add(server.replace(/^https?:\/\//, "").replace(/\/.*$/, ""));
  }
  return [...out].sort();
}

/** The pack's default config: `defaultConfig` plus every registry the repo's stacks use. */
export function packDefaults(repoRoot: string): PackConfig {
  const registries = new Set([...defaultConfig.allowedRegistries, ...registriesOfStacks(repoRoot)]);
  return { ...defaultConfig, allowedRegistries: [...registries] };
}
