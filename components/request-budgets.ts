/**
 * The request timeout budgets, outermost first, defined once. Each layer must give up strictly later
 * than the layer it calls, so an inner layer always answers (or gives up and says so) before the
 * outer one stops waiting: a client never gets a gateway 504 while the order service is still about
 * to create the order it asked for. (A retry after a timeout is still safe: order creation is
 * idempotent under an `Idempotency-Key`, see docs/services.md.)
 *
 * | budget | who enforces it | env |
 * | --- | --- | --- |
 * | `edge` | the ingress/edge route's request timeout | (route config) |
 * | `gatewayUpstream` | the gateway: time to an upstream's response headers | gateway `UPSTREAM_TIMEOUT` |
 * | `serviceRequest` | every backend service: deadline of a whole request | user/product/order `REQUEST_TIMEOUT` |
 * | `serviceCall` | the order service: each call to the product service | order `PRODUCT_TIMEOUT` |
 */

/** Seconds per layer; see the module comment. */
export interface RequestBudgets {
  /** The edge route (ingress) gives up after this. */
  edge: number;
  /** The gateway waits this long for an upstream's response headers. */
  gatewayUpstream: number;
  /** A backend service bounds each request it serves to this. */
  serviceRequest: number;
  /** A backend service bounds each call it makes to another service to this. */
  serviceCall: number;
}

/** Outermost first: each budget must be strictly larger than the next. */
export const BUDGET_ORDER: readonly (keyof RequestBudgets)[] = ["edge", "gatewayUpstream", "serviceRequest", "serviceCall"];

/**
 * Throws unless every budget is a positive whole number of seconds and each is strictly larger than the
 * one it wraps; the message names both layers. Returns the budgets frozen.
 */
export function checkBudgets(b: RequestBudgets): Readonly<RequestBudgets> {
  for (const k of BUDGET_ORDER) {
    if (!Number.isInteger(b[k]) || b[k] < 1) throw new Error(`request budget ${k} must be a whole number of seconds >= 1, got ${b[k]}`);
  }
  for (let i = 1; i < BUDGET_ORDER.length; i++) {
    const outer = BUDGET_ORDER[i - 1];
    const inner = BUDGET_ORDER[i];
    if (b[outer] <= b[inner]) {
      throw new Error(`request budget ${outer} (${b[outer]}s) must be larger than ${inner} (${b[inner]}s): the outer layer would give up first`);
    }
  }
  return Object.freeze({ ...b });
}

/** The budgets the program deploys. */
export const REQUEST_BUDGETS: Readonly<RequestBudgets> = checkBudgets({ edge: 15, gatewayUpstream: 10, serviceRequest: 8, serviceCall: 3 });

/** Go duration text of a budget, e.g. `10s`. */
export const goDuration = (seconds: number): string => `${seconds}s`;

/** The env each binary gets from the budgets. */
export function budgetEnv(binary: string, b: Readonly<RequestBudgets> = REQUEST_BUDGETS): Record<string, string> {
  switch (binary) {
    case "gateway":
      return { UPSTREAM_TIMEOUT: goDuration(b.gatewayUpstream) };
    case "order":
      return { REQUEST_TIMEOUT: goDuration(b.serviceRequest), PRODUCT_TIMEOUT: goDuration(b.serviceCall) };
    default:
      return { REQUEST_TIMEOUT: goDuration(b.serviceRequest) };
  }
}

/** Env names set from the budgets: the program owns them (not settable through `shop:services.<name>.env`). */
export const BUDGET_ENV_NAMES = ["UPSTREAM_TIMEOUT", "REQUEST_TIMEOUT", "PRODUCT_TIMEOUT"] as const;
