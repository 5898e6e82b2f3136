/**
 * Units of the stack config: Kubernetes CPU and memory quantities and Go durations. Plain functions,
 * no Pulumi: the config schema validates with them and the components size with them.
 */

/** Parses a CPU quantity into millicores. Input must already match `cpu()`. */
export function milliCpu(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}
/** True when `q` is a memory quantity with a binary suffix. */
export const isSize = (q: string): boolean => /^(\d+)(Ki|Mi|Gi|Ti)$/.test(q);
/** Parses a memory quantity with a binary suffix into bytes. Input must already match `memory()`. */
export function bytes(q: string): number {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) throw new Error(`not a binary-suffixed size: ${q}`);
  return Number(m[1]) * units[m[2]];
}

/** Milliseconds of a Go duration such as `15m` or `1h30m` (units ms, s, m, h); undefined if malformed. */
export function goDurationMs(d: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(d)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]];
  return ms;
}
