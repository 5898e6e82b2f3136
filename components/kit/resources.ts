/**
 * Quantities, requests and limits, and the retention of a StatefulSet's claims.
 */
import * as k8s from "@pulumi/kubernetes";
import { bytes, milliCpu } from "../../config/units";

/** Quantities: one parser each, defined with the config schema that validates them. */
export { bytes, milliCpu };

/** Requests and limits with memory request = limit (a pod is never OOM-killed for a neighbour's burst). */
export function resources(cpu: string, memory: string, cpuLimit: string): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory } };
}

/** No stack change deletes a StatefulSet's data: its claims outlive the StatefulSet and a scale-down. */
export const RETAIN_CLAIMS = { whenDeleted: "Retain", whenScaled: "Retain" };
