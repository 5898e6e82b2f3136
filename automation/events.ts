/**
 * Collects what an engine event stream says about the resources of an
 * operation: one step per resource, diagnostics, policy violations and the
 * engine's summary. Pure: the progress printer and the Markdown renderer read it.
 */
import type { EngineEvent, OpType, PolicyEvent, StepEventMetadata, SummaryEvent } from "@pulumi/pulumi/automation";

/** One resource's step. */
export interface Step {
  op: OpType;
  urn: string;
  type: string;
  /** The resource's name (last URN segment). */
  name: string;
  metadata: StepEventMetadata;
  /** ms since the epoch when the step started / finished (apply only). */
  startedAt?: number;
  finishedAt?: number;
  failed?: boolean;
}

/** Everything one operation's events told. */
export interface OperationReport {
  steps: Step[];
  diagnostics: { urn?: string; severity: string; message: string }[];
  policyViolations: PolicyEvent[];
  summary?: SummaryEvent;
  /** When (ms since the epoch, as received) the operation reached each point: see `Marks`. */
  marks: Marks;
}

/**
 * Points of an operation, as its events arrive: the engine's prelude; the stack resource (the
 * program's process has started); the first other resource that is not a provider (the program is
 * loaded and its providers configured); the last resource's outputs; the engine's summary (the
 * state is written after the resources).
 */
export interface Marks {
  prelude?: number;
  stack?: number;
  firstResource?: number;
  lastResource?: number;
  summary?: number;
}

const STACK_TYPE = "pulumi:pulumi:Stack";
const isProvider = (type: string) => type.startsWith("pulumi:providers:");

/** The resource name of a URN (`urn:pulumi:stack::project::type::name`). */
export function nameOfUrn(urn: string): string {
  const i = urn.lastIndexOf("::");
  return i >= 0 ? urn.slice(i + 2) : urn;
}

/** Strips ANSI colour codes and trailing whitespace. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "").replace(/<\{%[^%]*%\}>/g, "").trimEnd();
}

/** Folds engine events into an `OperationReport`. */
export class EventCollector {
  readonly report: OperationReport = { steps: [], diagnostics: [], policyViolations: [], marks: {} };
  private readonly byUrn = new Map<string, Step>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Feeds one event; returns the step it started or finished, if any. */
  handle(e: EngineEvent): { started?: Step; finished?: Step } {
    const marks = this.report.marks;
    const now = this.now();
    if (e.preludeEvent) marks.prelude ??= now;
    if (e.resourcePreEvent) {
      const m = e.resourcePreEvent.metadata;
      if (m.type === STACK_TYPE) marks.stack ??= now;
      else if (!isProvider(m.type)) marks.firstResource ??= now;
      const step: Step = { op: m.op, urn: m.urn, type: m.type, name: nameOfUrn(m.urn), metadata: m, startedAt: now };
      // A replace shows up as several steps (create-replacement, replace, delete-replaced): keep the most telling one.
      const prev = this.byUrn.get(m.urn);
      if (prev && rank(prev.op) >= rank(m.op)) return {};
      if (prev) this.report.steps.splice(this.report.steps.indexOf(prev), 1, step);
      else this.report.steps.push(step);
      this.byUrn.set(m.urn, step);
      return { started: step };
    }
    if (e.resOutputsEvent) {
      const type = e.resOutputsEvent.metadata.type;
      if (type !== STACK_TYPE && !isProvider(type)) marks.lastResource = now;
      const step = this.byUrn.get(e.resOutputsEvent.metadata.urn);
      if (step && !step.finishedAt) {
        step.finishedAt = now;
        return { finished: step };
      }
      return {};
    }
    if (e.resOpFailedEvent) {
      const step = this.byUrn.get(e.resOpFailedEvent.metadata.urn);
      if (step) {
        step.failed = true;
        step.finishedAt = now;
        return { finished: step };
      }
      return {};
    }
    if (e.diagnosticEvent) {
      const d = e.diagnosticEvent;
      if (!d.ephemeral && d.severity !== "info#err" && plain(d.message)) {
        this.report.diagnostics.push({ urn: d.urn, severity: d.severity, message: plain(d.message) });
      }
      return {};
    }
    if (e.policyEvent) {
      this.report.policyViolations.push(e.policyEvent);
      return {};
    }
    if (e.summaryEvent) {
      this.report.summary = e.summaryEvent;
      marks.summary ??= now;
    }
    return {};
  }
}

/** Ops ordered by how much they tell a reviewer (replace beats its create/delete halves). */
function rank(op: OpType): number {
  switch (op) {
    case "replace":
      return 5;
    case "create-replacement":
    case "delete-replaced":
      return 4;
    case "same":
    case "read":
      return 0;
    default:
      return 3;
  }
}

/** Counts of the summary, by op, with the steps as a fallback when the engine sent no summary. */
export function changeCounts(report: OperationReport): Record<string, number> {
  if (report.summary) return { ...report.summary.resourceChanges } as Record<string, number>;
  const counts: Record<string, number> = {};
  for (const s of report.steps) counts[s.op] = (counts[s.op] ?? 0) + 1;
  return counts;
}

/**
 * Splits a policy event's message: the engine sends the policy's description, a newline, then the
 * violation itself; a one-line message is the violation.
 */
export function violationText(message: string): { description?: string; violation: string } {
  const lines = plain(message).split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length > 1) return { description: lines[0], violation: lines.slice(1).join(" ") };
  return { violation: lines[0] ?? "" };
}
