/**
 * The shop platform. `pulumi up` per stack (local, dev, prod): reads and validates the stack config
 * first (a bad config fails here, before any resource is registered), then deploys the platform.
 *
 * The cluster check (checks.ts) is registered first and the rest of the program (the Kubernetes SDK and
 * the components, most of the program's start) is loaded a turn of the event loop later: the check's
 * registration reaches the engine first, so its provider's process starts while the rest loads, instead
 * of after (every Kubernetes object waits for the check; docs/benchmarks.md, the no-op `up`).
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { clusterPrerequisites } from "./checks";
import type { PlatformOutputs } from "./platform";

const cfg = loadConfig();
const prerequisites = clusterPrerequisites(cfg);
const platform = new Promise<PlatformOutputs>((resolve, reject) =>
  setTimeout(() => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      resolve((require("./platform") as typeof import("./platform")).deployPlatform(cfg, prerequisites));
    } catch (e) {
      reject(e);
    }
  }, 0),
);
/** One output of the platform, as deployPlatform returns it (a secret stays secret). */
const output = <K extends keyof PlatformOutputs>(key: K) => pulumi.output(platform.then((p) => p[key]));

export const namespace = output("namespace");
export const apiUrl = output("apiUrl");
export const imageDigests = output("imageDigests");
export const serviceEndpoints = output("serviceEndpoints");
export const observabilityNamespace = output("observabilityNamespace");
export const grafanaUrl = output("grafanaUrl");
export const prometheusUrl = output("prometheusUrl");
export const kibanaUrl = output("kibanaUrl");
export const elasticsearchUrl = output("elasticsearchUrl");
