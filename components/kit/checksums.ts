/**
 * Checksums for roll-on-change pod-template annotations.
 */
import * as crypto from "crypto";

/** JSON with sorted keys, so equal content always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** sha256 of the canonical JSON of `v` (for checksum annotations; never feed it secret values). */
export function checksum(v: unknown): string {
  return crypto.createHash("sha256").update(canonical(v)).digest("hex");
}

/**
 * Checksum of an observability pod template's config files (`shop.io/config-checksum`): sha256 over
 * each part followed by a NUL, first 16 hex digits. The format those pods were first deployed with:
 * another format would roll them on an unchanged config.
 */
export function filesChecksum(...parts: string[]): string {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}
