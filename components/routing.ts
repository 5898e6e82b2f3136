/**
 * The public entries of the platform (the shop's API, Grafana, Kibana) routed from one host. By default
 * on the Gateway API: one HTTPRoute per entry attached to a shared Gateway or to a Gateway this
 * component creates, TLS at the Gateway listener, an HTTP->HTTPS redirect route, and a gray release
 * as weighted backendRefs. Or, for clusters without the Gateway API, one plain Ingress per entry.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { PART_OF } from "./kit";
import {
  Backend,
  GATEWAY_API_VERSION,
  gatewaySpec,
  httpRouteSpec,
  LISTENERS,
  ParentRef,
  redirectRouteSpec,
  REFERENCE_GRANT_API_VERSION,
  secretGrantSpec,
  weightedBackends,
} from "./routing/gateway-api";
import { plainIngressSpec } from "./routing/ingress";

export { Backend } from "./routing/gateway-api";

/** `gateway`: Gateway API HTTPRoutes; `ingress`: plain networking.k8s.io/v1 Ingresses. */
export type RoutingMode = "gateway" | "ingress";

/** Labels of cert-manager's ACME HTTP-01 solver pods, and the port they answer on. */
export const ACME_SOLVER_LABELS = { "acme.cert-manager.io/http01-solver": "true" } as const;
export const ACME_SOLVER_PORT = 8089;

/** One public entry. */
export interface RouteArgs {
  /** The namespace of the backend Services; the route (or Ingress) is made there. */
  namespace: pulumi.Input<string>;
  /** Path prefix of the host routed to the backend, e.g. `/api`. */
  path: string;
  /** Where requests go (all of them, or `100 - canary.weight` percent). */
  backend: Backend;
  /** Gray release: `weight` percent (0..100, whole) of requests to `backend`. Gateway mode only. @default none */
  canary?: {
    backend: Backend;
    /** The canary's percent; with `controlled`, only the weight the route is created with. */
    weight: number;
    /**
     * The weights belong to a CanaryRelease controller (components/delivery): the route is created with
     * `weight` and later updates leave the backendRefs' weights alone. @default false
     */
    controlled?: boolean;
  };
  /** HTTPRoute rule `timeouts.request` (e.g. `30s`); ingress mode has no portable field for it. @default the implementation's */
  requestTimeout?: string;
}

/** Arguments of {@link Routing}. */
export interface RoutingArgs {
  /** The explicit Kubernetes provider. */
  provider: k8s.Provider;
  /** How to route. @default "gateway" */
  mode?: RoutingMode;
  /** The public host name every entry is served on. */
  host: string;
  /** The shop's namespace: an owned Gateway and the redirect route live here. */
  namespace: pulumi.Input<string>;
  /** The entries by name (a DNS label: the route's and the Ingress's name). */
  routes: Record<string, RouteArgs>;
  /**
   * Gateway mode: attach to a shared Gateway (`shared`), or create one of class `className` in
   * `namespace` (named `name`, default `shop`) admitting routes from the routes' namespaces only.
   * Exactly one of `shared` and `className`.
   */
  gateway?: {
    shared?: { namespace: string; name: string; httpListener?: string; httpsListener?: string };
    className?: string;
    name?: string;
  };
  /** Ingress mode: the IngressClass. @default none (the cluster's default class) */
  ingressClassName?: string;
  /**
   * TLS with the certificate in Secret `secretName` (in `secretNamespace`, default the Gateway's
   * namespace; a ReferenceGrant is made there when it differs), issued by cert-manager when
   * `clusterIssuer` is set. @default off
   */
  tls?: { enabled: boolean; secretName: string; secretNamespace?: string; clusterIssuer?: string };
}

/**
 * What a route whose weights a CanaryRelease controller moves leaves to it: its whole `rules` list.
 * The Gateway API schema makes `rules` an atomic list, so the controller's patch of two weights makes
 * it the owner of the whole list (server-side apply has no finer owner inside an atomic list). The
 * provider then drops an ignored field that another field manager owns from its apply (no field
 * conflict, no reset of the weights); a path into the list (`spec.rules[0]...weight`) is not matched
 * by that rule, so the apply would carry the rules with the program's first weights and fail on the
 * conflict with the controller. While a release controls the route, an `up` changes its host, parent
 * and labels but not its rules (backends, path, timeout): turn the gray release off to change those.
 */
export const CONTROLLED_RULES = ["spec.rules"];

/**
 * Annotation of every route: the program's apply wins over another field manager's changes. Only a
 * route that was controlled and no longer is needs it (the controller still owns its rules then): its
 * rules go back to the program's.
 */
export const FORCE_APPLY = { "pulumi.com/patchForce": "true" } as const;

/** What either mode renders: the validated entries, TLS when enabled, and the options and labels of every child. */
interface RouteSet {
  name: string;
  args: RoutingArgs;
  entries: [string, RouteArgs][];
  tls: RoutingArgs["tls"];
  child: pulumi.CustomResourceOptions;
  labels: Record<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Gateway API Duration (GEP-2257). */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;

/**
 * The public routing of the platform. Children: in gateway mode an HTTPRoute per entry, with TLS an
 * HTTP->HTTPS redirect HTTPRoute, and for an owned Gateway the Gateway itself (and a ReferenceGrant
 * for a certificate in another namespace); in ingress mode an Ingress per entry.
 */
export class Routing extends pulumi.ComponentResource {
  /** Entry name -> public URL (`<scheme>://<host><path>`). */
  readonly urls: Record<string, pulumi.Output<string>>;
  /** Entry name -> its HTTPRoute (gateway mode). */
  readonly routes: Record<string, k8s.apiextensions.CustomResource> = {};
  /** The Gateway the routes attach to (gateway mode). */
  readonly gateway?: pulumi.Output<{ namespace: string; name: string }>;

  constructor(name: string, args: RoutingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Routing", name, {}, opts);
    const fail = (field: string, what: string) => new pulumi.ResourceError(`Routing ${name}: ${field} ${what}`, this);

    // ---- inputs and defaults, in one place ----
    const mode = args.mode ?? "gateway";
    const tls = args.tls?.enabled ? args.tls : undefined;
    const entries = Object.entries(args.routes);
    if (entries.length === 0) throw fail("routes", "is empty; give at least one entry");
    for (const [key, r] of entries) {
      if (!DNS_LABEL.test(key)) throw fail(`routes.${key}`, "must be named with a DNS label (e.g. api)");
      if (!/^\/[a-zA-Z0-9._~/-]*$/.test(r.path) || (r.path.length > 1 && r.path.endsWith("/"))) {
        throw fail(`routes.${key}.path`, `"${r.path}" must start with "/" and not end with "/" (e.g. /api)`);
      }
      if (r.canary) {
        const w = r.canary.weight;
        if (!Number.isInteger(w) || w < 0 || w > 100) throw fail(`routes.${key}.canary.weight`, `must be a whole number 0..100 (got ${w})`);
        if (mode === "ingress") throw fail(`routes.${key}.canary`, "needs mode gateway: a plain Ingress has no weighted backends");
      }
      if (r.requestTimeout !== undefined && !DURATION.test(r.requestTimeout)) {
        throw fail(`routes.${key}.requestTimeout`, `"${r.requestTimeout}" must be a Gateway API duration (e.g. 30s, 1m30s)`);
      }
    }
    const g = args.gateway ?? {};
    if (mode === "gateway" && !!g.shared === !!g.className) {
      throw fail("gateway", "needs exactly one of shared (namespace and name of an existing Gateway) and className (for a Gateway this component creates)");
    }
    if (tls?.clusterIssuer && g.shared && mode === "gateway") {
      throw fail("tls.clusterIssuer", "cannot be set for a shared Gateway: cert-manager reads the issuer from the Gateway, which its owner configures");
    }
    if (tls?.secretNamespace && mode === "ingress") {
      throw fail("tls.secretNamespace", "cannot be set in ingress mode: an Ingress uses a Secret of its own namespace only");
    }

    const child = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "routing" };
    const scheme = tls ? "https" : "http";
    this.urls = Object.fromEntries(entries.map(([key, r]) => [key, pulumi.output(`${scheme}://${args.host}${r.path}`)]));

    const set: RouteSet = { name, args, entries, tls, child, labels };
    if (mode === "ingress") {
      this.ingresses(set);
    } else {
      this.gateway = this.gatewayRoutes(set);
    }
    this.registerOutputs({ urls: this.urls, ...(this.gateway ? { gateway: this.gateway } : {}) });
  }

  /** Gateway mode: the owned Gateway (if any), one HTTPRoute per entry, the redirect route with TLS. */
  private gatewayRoutes({ name, args, entries, tls, child, labels }: RouteSet): pulumi.Output<{ namespace: string; name: string }> {
    const g = args.gateway!;
    let gwNamespace: pulumi.Input<string>;
    let gwName: pulumi.Input<string>;
    let listeners: { http: string; https: string };
    const dependsOn: pulumi.Resource[] = [];
    if (g.shared) {
      gwNamespace = g.shared.namespace;
      gwName = g.shared.name;
      listeners = { http: g.shared.httpListener ?? LISTENERS.http, https: g.shared.httpsListener ?? LISTENERS.https };
    } else {
      gwNamespace = args.namespace;
      listeners = { ...LISTENERS };
      const grants: pulumi.Resource[] = [];
      if (tls?.secretNamespace) {
        // The certificate lives elsewhere: allow exactly this Gateway's namespace to read exactly that Secret.
        grants.push(
          new k8s.apiextensions.CustomResource(
            `${name}-certificate-grant`,
            {
              apiVersion: REFERENCE_GRANT_API_VERSION,
              kind: "ReferenceGrant",
              metadata: { name: pulumi.interpolate`${args.namespace}-gateway-certificate`, namespace: tls.secretNamespace, labels },
              spec: secretGrantSpec({ fromNamespace: args.namespace, secretName: tls.secretName }),
            },
            child,
          ),
        );
      }
      const routeNamespaces = pulumi.all(entries.map(([, r]) => r.namespace)).apply((ns) => [...new Set(ns)].sort());
      const gateway = new k8s.apiextensions.CustomResource(
        `${name}-gateway`,
        {
          apiVersion: GATEWAY_API_VERSION,
          kind: "Gateway",
          metadata: {
            name: g.name ?? "shop",
            namespace: args.namespace,
            labels,
            ...(tls?.clusterIssuer ? { annotations: { "cert-manager.io/cluster-issuer": tls.clusterIssuer } } : {}),
          },
          spec: gatewaySpec({
            className: g.className!,
            host: args.host,
            routeNamespaces,
            ...(tls ? { tls: { secretName: tls.secretName, ...(tls.secretNamespace ? { secretNamespace: tls.secretNamespace } : {}) } } : {}),
          }),
        },
        { ...child, dependsOn: grants },
      );
      gwName = gateway.metadata.name;
      dependsOn.push(gateway);
    }

    const parent = (sectionName: string): ParentRef => ({ namespace: gwNamespace, name: gwName, sectionName });
    const appListener = tls ? listeners.https : listeners.http;
    for (const [key, r] of entries) {
      // The name is the entry's: stable, so a weight change is an update of this route, never a replacement.
      const route = new k8s.apiextensions.CustomResource(
        `${name}-${key}`,
        {
          apiVersion: GATEWAY_API_VERSION,
          kind: "HTTPRoute",
          metadata: { name: key, namespace: r.namespace, labels, annotations: { ...FORCE_APPLY } },
          spec: httpRouteSpec({
            parent: parent(appListener),
            host: args.host,
            path: r.path,
            backends: weightedBackends(r.backend, r.canary),
            ...(r.requestTimeout ? { requestTimeout: r.requestTimeout } : {}),
          }),
        },
        {
          ...child,
          dependsOn,
          // With a controller the weights move step by step at run time; an `up` resetting them to the
          // program's value would undo the analysis (or put an aborted canary back into traffic), and
          // the controller owns the whole atomic rules list once it moved a weight (CONTROLLED_RULES).
          ...(r.canary?.controlled ? { ignoreChanges: CONTROLLED_RULES } : {}),
        },
      );
      this.routes[key] = route;
    }
    if (tls) {
      new k8s.apiextensions.CustomResource(
        `${name}-https-redirect`,
        {
          apiVersion: GATEWAY_API_VERSION,
          kind: "HTTPRoute",
          metadata: { name: "https-redirect", namespace: args.namespace, labels },
          spec: redirectRouteSpec({ parent: parent(listeners.http), host: args.host }),
        },
        { ...child, dependsOn },
      );
    }
    return pulumi.all([gwNamespace, gwName]).apply(([namespace, n]) => ({ namespace, name: n }));
  }

  /** Ingress mode: one plain Ingress per entry; TLS only where the certificate Secret lives. */
  private ingresses({ name, args, entries, tls, child, labels }: RouteSet): void {
    for (const [key, r] of entries) {
      // The Secret is in the shop's namespace; an Ingress elsewhere must not name it (it cannot read it).
      const withTls = pulumi.all([r.namespace, args.namespace]).apply(([rn, shop]) => !!tls && rn === shop);
      new k8s.networking.v1.Ingress(
        `${name}-${key}`,
        {
          metadata: {
            name: key,
            namespace: r.namespace,
            labels,
            annotations: withTls.apply((t): Record<string, string> => (t && tls?.clusterIssuer ? { "cert-manager.io/cluster-issuer": tls.clusterIssuer } : {})),
          },
          spec: withTls.apply((t) =>
            plainIngressSpec({
              ...(args.ingressClassName ? { className: args.ingressClassName } : {}),
              host: args.host,
              path: r.path,
              backend: r.backend,
              ...(t ? { tlsSecretName: tls!.secretName } : {}),
            }),
          ),
        },
        child,
      );
    }
  }
}
