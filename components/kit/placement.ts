/**
 * Where a workload's pods run: node selectors and tolerations.
 */
import * as k8s from "@pulumi/kubernetes";

/** One toleration of a pod: the subset of the Kubernetes `Toleration` a stack can configure. */
export interface Toleration {
  /** The taint key; empty with `Exists` tolerates every taint. */
  key?: string;
  /** `Equal` (key and value match) or `Exists` (key alone). @default "Equal" */
  operator?: "Equal" | "Exists";
  /** The taint value (`Equal` only). */
  value?: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`; absent tolerates every effect. */
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  /** Seconds a `NoExecute` taint is tolerated before eviction; absent: forever. */
  tolerationSeconds?: number;
}

/**
 * Where a workload's pods may run: nodes carrying every label of `nodeSelector`, and tainted nodes
 * whose taints `tolerations` tolerate. Validated by config/ (`shop:scheduling`, `shop:services.<name>.scheduling`).
 */
export interface Scheduling {
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly Readonly<Toleration>[];
}

/**
 * The pod-spec fields of a placement: `nodeSelector` and `tolerations`, each only when it has entries,
 * so a workload without a placement renders exactly as before (no diff on existing stacks).
 * `fallbackTolerations` are used when the placement gives none (Fluent Bit tolerates every taint so it
 * reads every node's logs; a configured list replaces that).
 */
export function placement(
  scheduling: Scheduling | undefined,
  fallbackTolerations: readonly Readonly<Toleration>[] = [],
): Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations"> {
  const selector = scheduling?.nodeSelector ?? {};
  const tolerations = scheduling?.tolerations?.length ? scheduling.tolerations : fallbackTolerations;
  return {
    ...(Object.keys(selector).length ? { nodeSelector: { ...selector } } : {}),
    ...(tolerations.length ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
  };
}
