/**
 * Gateway API objects (`gateway.networking.k8s.io`, standard channel of v1.6.3) as plain specs.
 * `@pulumi/kubernetes` has no typed classes for them: the Routing component creates them as
 * `apiextensions.CustomResource`s with these bodies. Pure functions of plain values, so they are
 * tested without an engine.
 */
import * as pulumi from "@pulumi/pulumi";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const GATEWAY_API_VERSION = `${GATEWAY_GROUP}/v1`;
/** ReferenceGrant is served as v1beta1 (its storage version) in the standard channel. */
export const REFERENCE_GRANT_API_VERSION = `${GATEWAY_GROUP}/v1beta1`;

/** The listeners the program names on a Gateway it creates. */
export const LISTENERS = { http: "http", https: "https" } as const;

/** A Service port a route sends requests to. */
export interface Backend {
  /** The Service's name (in the route's namespace). */
  serviceName: pulumi.Input<string>;
  /** The Service's port. */
  port: number;
}

/** Where a route attaches: a Gateway by namespace and name, and the listener (sectionName). */
export interface ParentRef {
  namespace: pulumi.Input<string>;
  name: pulumi.Input<string>;
  sectionName: string;
}

export function parentRef(p: ParentRef) {
  return { group: GATEWAY_GROUP, kind: "Gateway", namespace: p.namespace, name: p.name, sectionName: p.sectionName };
}

/**
 * The two backendRefs of a gray release: `weight` percent to the canary, the rest to the stable
 * Service. Both stay listed at 0 and 100 (a weight-0 backendRef gets no request), so moving the
 * weight only changes two numbers of the same route.
 */
export function weightedBackends(stable: Backend, canary: { backend: Backend; weight: number } | undefined) {
  if (!canary) return [{ kind: "Service", name: stable.serviceName, port: stable.port }];
  const w = canary.weight;
  return [
    { kind: "Service", name: stable.serviceName, port: stable.port, weight: 100 - w },
    { kind: "Service", name: canary.backend.serviceName, port: canary.backend.port, weight: w },
  ];
}

/** The spec of an HTTPRoute sending `path` (a prefix) of `host` to its backends. */
export function httpRouteSpec(o: {
  parent: ParentRef;
  host: string;
  path: string;
  backends: ReturnType<typeof weightedBackends>;
  /** `timeouts.request` (a Gateway API duration like `30s`). @default none: the implementation's */
  requestTimeout?: string;
}) {
  return {
    parentRefs: [parentRef(o.parent)],
    hostnames: [o.host],
    rules: [
      {
        matches: [{ path: { type: "PathPrefix", value: o.path } }],
        backendRefs: o.backends,
        ...(o.requestTimeout ? { timeouts: { request: o.requestTimeout } } : {}),
      },
    ],
  };
}

/** The spec of an HTTPRoute answering every plain-HTTP request for `host` with a 301 to https. */
export function redirectRouteSpec(o: { parent: ParentRef; host: string }) {
  return {
    parentRefs: [parentRef(o.parent)],
    hostnames: [o.host],
    rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
  };
}

/**
 * The spec of a Gateway the program owns: an HTTP listener, and with TLS an HTTPS listener that
 * terminates with `certificateRefs`. Routes are admitted only from the namespaces listed.
 */
export function gatewaySpec(o: {
  className: string;
  host: string;
  /** Namespaces whose routes may attach (explicit; never `All`). */
  routeNamespaces: pulumi.Input<string[]>;
  tls?: { secretName: string; secretNamespace?: pulumi.Input<string> };
}) {
  const allowedRoutes = {
    kinds: [{ group: GATEWAY_GROUP, kind: "HTTPRoute" }],
    namespaces: {
      from: "Selector",
      selector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: o.routeNamespaces }] },
    },
  };
  const listeners: object[] = [{ name: LISTENERS.http, protocol: "HTTP", port: 80, hostname: o.host, allowedRoutes }];
  if (o.tls) {
    listeners.push({
      name: LISTENERS.https,
      protocol: "HTTPS",
      port: 443,
      hostname: o.host,
      tls: {
        mode: "Terminate",
        certificateRefs: [
          { group: "", kind: "Secret", name: o.tls.secretName, ...(o.tls.secretNamespace ? { namespace: o.tls.secretNamespace } : {}) },
        ],
      },
      allowedRoutes,
    });
  }
  return { gatewayClassName: o.className, listeners };
}

/** The spec of a ReferenceGrant letting Gateways of `fromNamespace` use the Secret `secretName`. */
export function secretGrantSpec(o: { fromNamespace: pulumi.Input<string>; secretName: string }) {
  return {
    from: [{ group: GATEWAY_GROUP, kind: "Gateway", namespace: o.fromNamespace }],
    to: [{ group: "", kind: "Secret", name: o.secretName }],
  };
}
