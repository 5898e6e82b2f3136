import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { HTTP_PORT, PART_OF } from "./k8s-defaults";

/** Arguments of {@link GatewayIngress}. */
export interface GatewayIngressArgs {
  namespace: pulumi.Input<string>;
  provider: k8s.Provider;
  /** IngressClass, e.g. `nginx`. */
  className: string;
  /** Public host name. */
  host: string;
  /** Path prefix routed to the gateway. @default "/api" */
  path?: string;
  /** The gateway's Service. */
  serviceName: pulumi.Input<string>;
  /** The gateway Service's port. @default 8080 */
  servicePort?: number;
  /** TLS from a Secret (`secretName`), issued by cert-manager when `clusterIssuer` is set. */
  tls: { enabled: boolean; secretName: string; clusterIssuer?: string };
  /** Gray release: send `weight`% of requests to `serviceName` (ingress-nginx canary). */
  canary?: { serviceName: pulumi.Input<string>; weight: number };
}

/**
 * The public entry: an Ingress routing `/api` to the gateway, with TLS from a Secret, and for a gray
 * release a second Ingress marked canary that ingress-nginx sends `weight`% of the traffic to.
 */
export class GatewayIngress extends pulumi.ComponentResource {
  /** `https://<host>/api` (or http when TLS is off). */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: GatewayIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:GatewayIngress", name, {}, opts);
    const path = args.path ?? "/api";
    if (!path.startsWith("/")) throw new pulumi.ResourceError(`GatewayIngress ${name}: path must start with / (e.g. /api)`, this);
    const w = args.canary?.weight;
    if (w !== undefined && (!Number.isInteger(w) || w < 0 || w > 100)) {
      throw new pulumi.ResourceError(`GatewayIngress ${name}: canary.weight must be a whole number 0..100 (got ${w})`, this);
    }
    const port = args.servicePort ?? HTTP_PORT;
    const child = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "ingress" };

    const annotations: Record<string, string> = {
      "nginx.ingress.kubernetes.io/ssl-redirect": String(args.tls.enabled),
      "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
    };
    if (args.tls.enabled && args.tls.clusterIssuer) annotations["cert-manager.io/cluster-issuer"] = args.tls.clusterIssuer;

    const spec = (serviceName: pulumi.Input<string>): k8s.types.input.networking.v1.IngressSpec => ({
      ingressClassName: args.className,
      ...(args.tls.enabled ? { tls: [{ hosts: [args.host], secretName: args.tls.secretName }] } : {}),
      rules: [
        {
          host: args.host,
          http: { paths: [{ path, pathType: "Prefix", backend: { service: { name: serviceName, port: { number: port } } } }] },
        },
      ],
    });

    const main = new k8s.networking.v1.Ingress(
      `${name}-ingress`,
      { metadata: { name: "gateway", namespace: args.namespace, labels, annotations }, spec: spec(args.serviceName) },
      child,
    );

    if (args.canary) {
      new k8s.networking.v1.Ingress(
        `${name}-canary`,
        {
          metadata: {
            name: "gateway-canary",
            namespace: args.namespace,
            labels: { ...labels, track: "canary" },
            annotations: {
              ...annotations,
              "nginx.ingress.kubernetes.io/canary": "true",
              "nginx.ingress.kubernetes.io/canary-weight": String(args.canary.weight),
            },
          },
          // The canary must not redeclare TLS (ingress-nginx takes it from the main Ingress).
          spec: { ...spec(args.canary.serviceName), tls: undefined },
        },
        { ...child, dependsOn: [main] },
      );
    }

    this.url = pulumi.output(`${args.tls.enabled ? "https" : "http"}://${args.host}${path}`);
    this.registerOutputs({ url: this.url });
  }
}
