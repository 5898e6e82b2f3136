/**
 * Kubernetes quantities as numbers: CPU in millicores, memory in bytes. Shared by the config schema and
 * the Kubernetes kit (components/k8s-defaults.ts), neither of which may import the other at load time.
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

