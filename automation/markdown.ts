/**
 * Renders a preview as the Markdown body of a pull-request comment: the change
 * summary, a table of the resources that change, the per-resource diff and
 * the policy violations. Pure: takes an `OperationReport`.
 */
import { OperationReport, Step, changeCounts, violationText } from "./events";

export interface PreviewMarkdownInput {
  project: string;
  stack: string;
  report: OperationReport;
  /** False when the preview failed (policy violation, program error). */
  succeeded: boolean;
  /** The error of a failed preview, first line shown. */
  error?: string;
}

const OP_LABEL: Record<string, string> = {
  create: "create",
  update: "update",
  delete: "delete",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  read: "read",
  import: "import",
  refresh: "refresh",
};
const ORDER = ["create", "update", "replace", "delete", "read", "import"];

/** Escapes text for a Markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Reads `a.b[0]["c.d"]` style property paths, as the engine's detailed diff names them. */
export function valueAt(obj: unknown, propertyPath: string): unknown {
  const parts: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(propertyPath))) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]));
  let cur: any = obj;
  for (const p of parts) {
    if (cur === null || cur === undefined) return undefined;
    cur = cur[p as any];
  }
  return cur;
}

/** A short, one-line rendering of a value (secrets stay masked as the engine sent them). */
export function short(value: unknown, max = 80): string {
  if (value === undefined) return "(none)";
  const s = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The changed property paths of a step (detailed diff first, plain diff keys otherwise). */
export function changedPaths(step: Step): string[] {
  const detailed = step.metadata.detailedDiff ? Object.keys(step.metadata.detailedDiff) : [];
  return (detailed.length ? detailed : step.metadata.diffs ?? []).slice().sort();
}

function diffLines(step: Step): string[] {
  const op = OP_LABEL[step.op] ?? step.op;
  const head = `${op === "create" ? "+" : op === "delete" ? "-" : op === "replace" ? "+-" : "~"} ${step.type} ${step.name}`;
  if (op === "create" || op === "delete") return [head];
  const lines = [head];
  const oldInputs = step.metadata.old?.inputs ?? {};
  const newInputs = step.metadata.new?.inputs ?? {};
  for (const p of changedPaths(step)) {
    const kind = step.metadata.detailedDiff?.[p]?.diffKind ?? "update";
    const replaces = kind.endsWith("replace") ? " (forces replacement)" : "";
    if (kind.startsWith("add")) lines.push(`+   ${p}: ${short(valueAt(newInputs, p))}${replaces}`);
    else if (kind.startsWith("delete")) lines.push(`-   ${p}: ${short(valueAt(oldInputs, p))}${replaces}`);
    else lines.push(`~   ${p}: ${short(valueAt(oldInputs, p))} => ${short(valueAt(newInputs, p))}${replaces}`);
  }
  return lines;
}

/** The Markdown comment for a preview. */
export function renderPreviewMarkdown(input: PreviewMarkdownInput): string {
  const { report } = input;
  const counts = changeCounts(report);
  const changing = report.steps
    .filter((s) => s.op !== "same" && OP_LABEL[s.op])
    .sort((a, b) => ORDER.indexOf(OP_LABEL[a.op]) - ORDER.indexOf(OP_LABEL[b.op]) || a.urn.localeCompare(b.urn));
  const out: string[] = [];
  out.push(`### ${input.succeeded ? "✅" : "❌"} Pulumi preview of \`${input.project}/${input.stack}\``);
  out.push("");
  const summary = ORDER.filter((op) => counts[op]).map((op) => `**${counts[op]}** to ${op}`);
  summary.push(`${counts["same"] ?? 0} unchanged`);
  out.push(summary.join(" · "));
  if (!input.succeeded) {
    out.push("");
    out.push(`> **The preview failed**${input.error ? `: ${cell((input.error.split("\n").find((l) => l.trim()) ?? "").trim())}` : "."}`);
  }
  out.push("");
  if (changing.length === 0) {
    out.push("No resource changes.");
  } else {
    out.push("| Operation | Resource | Type | Changed properties |");
    out.push("| --- | --- | --- | --- |");
    for (const s of changing) {
      const paths = changedPaths(s);
      const shown = paths.slice(0, 6).map((p) => `\`${cell(p)}\``).join(", ") + (paths.length > 6 ? `, +${paths.length - 6} more` : "");
      out.push(`| ${OP_LABEL[s.op]} | \`${cell(s.name)}\` | \`${cell(s.type)}\` | ${shown} |`);
    }
    out.push("");
    out.push("<details><summary>Per-resource diff</summary>");
    out.push("");
    out.push("```diff");
    for (const s of changing) out.push(...diffLines(s));
    out.push("```");
    out.push("");
    out.push("</details>");
  }
  // The engine writes this field as `PolicyPacks` (its JSON tag was forgotten); accept both spellings.
  const packs = Object.entries<string>((report.summary as any)?.PolicyPacks ?? report.summary?.policyPacks ?? {});
  if (packs.length) {
    out.push("");
    // Keys look like `<name>` or `<name>|local|<path>`.
    const list = packs.map(([key, version]) => `\`${key.split("|")[0]}@${version.replace(/^v?/, "v")}\``).join(", ");
    const n = report.policyViolations.length;
    out.push(`Policy packs: ${list}: ${n ? `${n} violation${n === 1 ? "" : "s"}` : "no violations"}.`);
  }
  if (report.policyViolations.length) {
    out.push("");
    out.push("#### Policy violations");
    out.push("");
    for (const v of report.policyViolations) {
      const where = v.resourceUrn ? ` on \`${v.resourceUrn.split("::").pop() ?? ""}\`` : "";
      const { description, violation } = violationText(v.message);
      out.push(`- **${v.enforcementLevel}** \`${v.policyPackName}/${v.policyName}\`${where}: ${violation}${description ? ` _(${description})_` : ""}`);
    }
  }
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) {
    out.push("");
    out.push("#### Errors");
    out.push("");
    for (const d of errors) out.push(`- ${d.message.split("\n").map((l) => l.trim()).filter(Boolean).join(" ")}`);
  }
  out.push("");
  return out.join("\n");
}
