/**
 * The gray release as the CLI sees it: promoting the canary to stable through the stack's config
 * (the next `up` does the rest), and a readable view of the `CanaryRelease`s' status
 * (docs/canary.md). Pure functions of plain data; commands.ts runs them against a stack.
 */
import { UsageError } from "./errors";
import { PROJECT } from "./review";

const key = (k: string) => `${PROJECT}:${k}`;
const isObject = (v: unknown): v is Record<string, any> => !!v && typeof v === "object" && !Array.isArray(v);

/** What `promote` changes. */
export interface Promotion {
  /** The stack config (the `config:` map of its stack file) after the promotion. */
  config: Record<string, unknown>;
  /** The image that becomes the stable gateway's. */
  image: string;
  /** One line per changed key, for the log. */
  changes: string[];
}

/**
 * Makes the canary the new stable in a stack's config: `shop:images.prebuilt.gateway` becomes the
 * canary's image, `shop:routing.canary.enabled` false and `shop:routing.canary.image` goes (the next
 * gray release names its own). The analysis settings stay for the next release. Refuses (nothing
 * changed) when there is no canary image to promote.
 */
export function promotion(config: Record<string, unknown>, stack: string): Promotion {
  const routing = config[key("routing")];
  const canary = isObject(routing) && isObject(routing.canary) ? routing.canary : undefined;
  if (!canary || canary.enabled !== true) {
    throw new UsageError(`stack ${stack} runs no gray release (${key("routing")}.canary.enabled is not true): nothing to promote`);
  }
  const image = canary.image;
  if (typeof image !== "string" || !image) {
    throw new UsageError(
      `stack ${stack}'s canary runs the stable gateway image (no ${key("routing")}.canary.image): nothing to promote; set the canary's image first`,
    );
  }
  const images = config[key("images")];
  if (!isObject(images) || !isObject(images.prebuilt)) {
    throw new UsageError(
      `stack ${stack} builds its images from services/ (no ${key("images")}.prebuilt): the stable gateway is whatever the source builds, so promote by merging the canary's code; the CLI can only promote prebuilt images`,
    );
  }
  const next: Record<string, unknown> = { ...config };
  const { image: _dropped, ...rest } = canary;
  next[key("routing")] = { ...(routing as Record<string, unknown>), canary: { ...rest, enabled: false } };
  next[key("images")] = { ...images, prebuilt: { ...images.prebuilt, gateway: image } };
  return {
    config: next,
    image,
    changes: [
      `${key("images")}.prebuilt.gateway: ${String(images.prebuilt.gateway ?? "(none)")} -> ${image}`,
      `${key("routing")}.canary.enabled: true -> false`,
      `${key("routing")}.canary.image: removed`,
    ],
  };
}

/** The status fields of a CanaryRelease the CLI prints (see docs/canary.md). */
interface ReleaseStatus {
  phase?: string;
  currentStep?: number;
  weight?: number;
  failedChecks?: number;
  observedGeneration?: number;
  message?: string;
  lastAnalysis?: { name: string; value?: string; threshold?: string; direction?: string; passed?: boolean; error?: string }[];
}

/**
 * Lines describing each release of a `kubectl get canaryreleases -o json` list: phase, step, weight,
 * failed checks against the limit, whether the status is for the current spec, the message and the
 * last analysis per query.
 */
export function releaseLines(list: unknown): string[] {
  const items = isObject(list) && Array.isArray(list.items) ? list.items : [];
  if (!items.length) return ["no CanaryRelease in the namespace (shop:routing.canary.analysis and enabled create one)"];
  const lines: string[] = [];
  for (const r of items) {
    const spec = r.spec ?? {};
    const st: ReleaseStatus = r.status ?? {};
    const steps: number[] = Array.isArray(spec.steps) ? spec.steps : [];
    const limit = spec.analysis?.failureLimit ?? 1;
    const step = st.currentStep !== undefined ? `step ${st.currentStep + 1}/${steps.length} (${steps.join(", ")})` : `steps ${steps.join(", ")}`;
    const stale = st.observedGeneration !== undefined && st.observedGeneration !== r.metadata?.generation ? " [status is for an older spec]" : "";
    lines.push(
      `${r.metadata?.name}: ${st.phase ?? "Pending (not reconciled yet)"}, ${step}, canary weight ${st.weight ?? 0}%, failed checks ${st.failedChecks ?? 0}/${limit}${stale}`,
    );
    if (st.message) lines.push(`  ${st.message}`);
    for (const a of st.lastAnalysis ?? []) {
      const cmp = a.direction === "Max" ? "<=" : ">=";
      const verdict = a.error ? `error: ${a.error}` : a.passed ? "pass" : "fail";
      lines.push(`  ${a.name}: ${a.value ?? "-"} (threshold ${cmp} ${a.threshold ?? "?"}) ${verdict}`);
    }
  }
  return lines;
}
