/**
 * Names and labels every component shares: the service port, the recommended labels, the immutable
 * selectors, and the peer labels NetworkPolicies use.
 */

/** Every shop service listens here and serves /healthz, /readyz and /metrics on it. */
export { HTTP_PORT } from "../../catalog";
export const PART_OF = "shop";
/**
 * `part-of` of the observability objects (Monitoring, Logging): the value they were first deployed
 * with. Their labels carry no `component` label either: a changed pod-template label would roll every
 * observability pod of a deployed stack.
 */
export const OBSERVABILITY_PART_OF = "shop-observability";
export const MANAGED_BY = "pulumi";
/** Label keys the selectors and NetworkPolicies use. */
export const NAME_LABEL = "app.kubernetes.io/name";
export const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** Recommended labels; `name` is what the workload is (a binary, a store, `prometheus`), `instance` which one. */
export function appLabels(name: string, instance: string, component: string): Record<string, string> {
  return {
    [NAME_LABEL]: name,
    [INSTANCE_LABEL]: instance,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/**
 * The labels a workload's selector uses: immutable once created, so only identity labels.
 * A shop workload is one instance of the shop (`instance` + `part-of`); a component that runs several
 * workloads under one instance (Monitoring, Logging) adds which one it is (`name` + `instance`).
 * Changing either form would replace the workloads, so both stay as first deployed.
 */
export function selectorLabels(instance: string, name?: string): Record<string, string> {
  return name === undefined ? { [INSTANCE_LABEL]: instance, "app.kubernetes.io/part-of": PART_OF } : { [NAME_LABEL]: name, [INSTANCE_LABEL]: instance };
}

/** Peer labels: the pods of workload `name` (any instance), for NetworkPolicies across components. */
export function podsOf(name: string): Record<string, string> {
  return { [NAME_LABEL]: name };
}
