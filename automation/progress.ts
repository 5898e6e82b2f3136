/**
 * Readable progress of an `up`/`destroy`/`preview`: one line per resource step
 * as it finishes, diagnostics and policy violations as they come, a summary at the end.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { EventCollector, Marks, OperationReport, Step, changeCounts, plain, violationText } from "./events";

const SYMBOL: Record<string, string> = {
  create: "+",
  update: "~",
  delete: "-",
  replace: "+-",
  "create-replacement": "++",
  "delete-replaced": "--",
  same: "=",
  read: ">",
  refresh: "~",
  import: "=>",
};

/** The label of a step's op in past tense for a finished apply, or as planned for a preview. */
function describeStep(step: Step, planning: boolean): string {
  const sym = SYMBOL[step.op] ?? "*";
  const took = !planning && step.startedAt !== undefined && step.finishedAt !== undefined ? ` (${((step.finishedAt - step.startedAt) / 1000).toFixed(1)}s)` : "";
  const status = step.failed ? " FAILED" : "";
  const changed = step.metadata.diffs?.length ? ` [${step.metadata.diffs.join(", ")}]` : "";
  return `  ${sym.padEnd(2)} ${step.op.padEnd(18)} ${step.type}  ${step.name}${changed}${took}${status}`;
}

/** Prints progress lines for an operation. `write` receives whole lines. */
export class ProgressPrinter {
  readonly collector: EventCollector;

  constructor(
    private readonly write: (line: string) => void,
    private readonly planning: boolean,
    now: () => number = Date.now,
  ) {
    this.collector = new EventCollector(now);
  }

  get report(): OperationReport {
    return this.collector.report;
  }

  /** The `onEvent` callback for the Automation API. */
  readonly onEvent = (e: EngineEvent): void => {
    const { started, finished } = this.collector.handle(e);
    if (this.planning && started && started.op !== "same") this.write(describeStep(started, true));
    // A refresh visits every resource: show only the ones whose state drifted.
    const quiet = (st: Step) => st.op === "same" || (st.op === "refresh" && !st.metadata.diffs?.length && !st.failed);
    if (!this.planning && finished && !quiet(finished)) this.write(describeStep(finished, false));
    if (e.diagnosticEvent && !e.diagnosticEvent.ephemeral && (e.diagnosticEvent.severity === "error" || e.diagnosticEvent.severity === "warning")) {
      const where = e.diagnosticEvent.urn ? ` ${e.diagnosticEvent.urn.split("::").pop()}:` : "";
      this.write(`  ${e.diagnosticEvent.severity}${where} ${plain(e.diagnosticEvent.message)}`);
    }
    if (e.policyEvent) {
      const p = e.policyEvent;
      const where = p.resourceUrn ? ` (${p.resourceUrn.split("::").pop()})` : "";
      this.write(`  policy ${p.enforcementLevel} ${p.policyPackName}/${p.policyName}${where}: ${violationText(p.message).violation}`);
    }
  };
}

/** `3 created, 1 updated, 40 unchanged in 12.3s` from a report and a wall-clock duration. */
export function summaryLine(report: OperationReport, seconds: number, planning: boolean): string {
  const c = changeCounts(report);
  const n = (op: string) => c[op] ?? 0;
  const parts = planning
    ? [`${n("create")} to create`, `${n("update")} to update`, `${n("replace")} to replace`, `${n("delete")} to delete`, `${n("same")} unchanged`]
    : [`${n("create")} created`, `${n("update")} updated`, `${n("replace")} replaced`, `${n("delete")} deleted`, `${n("same")} unchanged`];
  return `${parts.join(", ")} in ${seconds.toFixed(1)}s`;
}

/**
 * Where an operation's wall time went, from the CLI's start to the engine's exit: `setup` (workspace,
 * stack and config), `engine start` (the CLI process to its prelude), `program start` (to the stack
 * resource: the language host and Node), `program and providers` (to the first resource: loading the
 * program, evaluating it up to there, starting and configuring the providers), `resources` (to the last
 * resource's outputs: the engine's steps and the providers' checks and diffs), `state` (to the summary:
 * the stack's outputs and the state written) and `exit`. A point the events did not reach is left out.
 */
export function phasesLine(t: { cli: number; op: number; end: number }, marks: Marks): string {
  const points: [string, number | undefined][] = [
    ["setup", t.op],
    ["engine start", marks.prelude],
    ["program start", marks.stack],
    ["program and providers", marks.firstResource],
    ["resources", marks.lastResource],
    ["state", marks.summary],
    ["exit", t.end],
  ];
  const parts: string[] = [];
  let from = t.cli;
  for (const [label, at] of points) {
    if (at === undefined) continue;
    parts.push(`${label} ${((at - from) / 1000).toFixed(1)}s`);
    from = at;
  }
  return parts.join(", ");
}
