/**
 * What `outputs <stack> [name] [--json]` prints, as `pulumi stack output` prints it: every output as
 * one JSON object, or one output's value (a string as it is, anything else as JSON; `--json` always
 * JSON). Secret values are shown as `[secret]`. A pure function of the stack's outputs; commands.ts
 * reads them.
 */
import { UsageError } from "./errors";

/** A stack's outputs as the Automation API returns them. */
export type StackOutputs = Record<string, { value: unknown; secret: boolean }>;

/** The text the Pulumi CLI shows in place of a secret value. */
export const SECRET_PLACEHOLDER = "[secret]";

const shown = (o: { value: unknown; secret: boolean }) => (o.secret ? SECRET_PLACEHOLDER : o.value);

/** The text of `outputs`: all of them (JSON), or output `name`. Throws UsageError for an unknown name. */
export function outputsText(stack: string, outputs: StackOutputs, name?: string, json = false): string {
  if (name === undefined) {
    const all = Object.fromEntries(Object.keys(outputs).sort().map((k) => [k, shown(outputs[k])]));
    return JSON.stringify(all, null, 2);
  }
  const o = outputs[name];
  if (!o) {
    const have = Object.keys(outputs).sort();
    throw new UsageError(`stack '${stack}' has no output '${name}': its outputs are ${have.join(", ") || "(none: deploy it first)"}`);
  }
  const v = shown(o);
  return !json && typeof v === "string" ? v : JSON.stringify(v, null, 2);
}
