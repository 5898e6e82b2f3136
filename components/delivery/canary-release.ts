/**
 * The `CanaryRelease` custom resource (`delivery.shop.dev/v1alpha1`, see docs/canary.md) as plain
 * data: its spec from the gray-release settings, the `pulumi.com/waitFor` annotation that makes
 * `pulumi up` wait for the outcome, and the timeout that bounds the wait. Pure functions of plain
 * values, tested without an engine.
 */
import { createHash } from "crypto";
import { goDurationMs } from "../../config";
import { METRICS } from "../monitoring/rules";

export const DELIVERY_GROUP = "delivery.shop.dev";
export const CANARY_RELEASE_API_VERSION = `${DELIVERY_GROUP}/v1alpha1`;
export const CANARY_RELEASE_KIND = "CanaryRelease";
/** The phase a release ends in when every step passed. */
export const PROMOTED = "Promoted";
/**
 * The Kubernetes provider waits until the release is `Promoted`: an aborted release never gets
 * there, so the update fails at its timeout and a pipeline stops.
 */
export const WAIT_FOR_PROMOTED = { "pulumi.com/waitFor": `jsonpath={.status.phase}=${PROMOTED}` } as const;

/** The gray-release settings (`shop:routing.canary.analysis`, defaults applied by config/). */
export interface CanaryAnalysis {
  steps: readonly number[];
  interval: string;
  failureLimit: number;
  minSuccessRate: number;
  maxP99Seconds: number;
  /** `pulumi up` waits for `Promoted` (and fails when the release is aborted). @default true */
  waitForPromotion?: boolean;
}

/** A Service port of a release. */
export interface ReleaseBackend {
  name: string;
  port: number;
}

/** What a release is about: the route, its two Services and the canary's Deployment. */
export interface CanaryReleaseTarget {
  /** The HTTPRoute (same namespace). */
  route: string;
  stable: ReleaseBackend;
  canary: ReleaseBackend;
  canaryDeployment: string;
  /**
   * The canary's image. A new image must restart the analysis, and only a spec change does
   * (`metadata.generation`); the image goes into the queries as a PromQL comment, so the spec
   * changes exactly when the image does, without changing what is measured.
   */
  canaryImage: string;
  /**
   * A digest of the canary's configuration (its env): a new configuration is a new canary too (e.g.
   * `shop:routing.canary.faultErrorRatio`), written next to the image. @default none
   */
  canaryConfig?: string;
}

/** A short digest of a workload's env (order-independent): `CanaryReleaseTarget.canaryConfig`. */
export function configDigest(env: Record<string, string>): string {
  const sorted = Object.keys(env).sort().map((k) => [k, env[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 12);
}

/** The canary's pods, by the `kubernetes-pods` job's labels (templated by the controller). */
const CANARY_PODS = `namespace="{{.Namespace}}",pod=~"{{.CanaryDeployment}}-.*"`;
/** Probe and scrape requests are not user traffic (see components/monitoring/rules.ts). */
const NOT_PROBES = `route!~"([A-Z]+ )?(/healthz|/readyz|/metrics)"`;

/** The spec of the release: success rate (Min) and p99 latency (Max) of the canary's user traffic. */
export function canaryReleaseSpec(t: CanaryReleaseTarget, a: CanaryAnalysis) {
  const sel = `${CANARY_PODS},${NOT_PROBES}`;
  const window = "[{{.Interval}}]";
  const image = `# canary image ${t.canaryImage}${t.canaryConfig ? ` config ${t.canaryConfig}` : ""}\n`;
  return {
    routeRef: { name: t.route },
    stable: { name: t.stable.name, port: t.stable.port },
    canary: { name: t.canary.name, port: t.canary.port },
    canaryDeployment: t.canaryDeployment,
    steps: [...a.steps],
    interval: a.interval,
    analysis: {
      failureLimit: a.failureLimit,
      queries: [
        {
          name: "success-rate",
          query:
            image +
            `sum(rate(${METRICS.requests}{${sel},code!~"5.."}${window})) / sum(rate(${METRICS.requests}{${sel}}${window}))`,
          threshold: String(a.minSuccessRate),
          direction: "Min",
        },
        {
          name: "p99-latency",
          query: image + `histogram_quantile(0.99, sum by (le) (rate(${METRICS.durationBucket}{${sel}}${window})))`,
          threshold: String(a.maxP99Seconds),
          direction: "Max",
        },
      ],
    },
  };
}

/**
 * How long `pulumi up` waits for `Promoted`: every step's interval once per allowed failure plus
 * one, plus time for the canary's pods to become ready. Minutes, rounded up.
 */
export function releaseTimeoutMinutes(a: CanaryAnalysis, readyMinutes = 10): number {
  const interval = goDurationMs(a.interval);
  if (interval === undefined) throw new Error(`interval ${JSON.stringify(a.interval)} is not a Go duration`);
  return Math.ceil((a.steps.length * (a.failureLimit + 1) * interval) / 60_000) + readyMinutes;
}
