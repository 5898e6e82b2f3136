/**
 * The spec of a plain `networking.k8s.io/v1` Ingress: no controller-specific annotation, so it means
 * the same to every controller (no canary, no redirect, no timeout: those need the Gateway API).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

export function plainIngressSpec(o: {
  /** IngressClass; none: the cluster's default class. */
  className?: string;
  host: string;
  path: string;
  backend: { serviceName: pulumi.Input<string>; port: number };
  /** The certificate Secret, in the Ingress's own namespace. @default no TLS */
  tlsSecretName?: string;
}): k8s.types.input.networking.v1.IngressSpec {
  return {
    ...(o.className ? { ingressClassName: o.className } : {}),
    ...(o.tlsSecretName ? { tls: [{ hosts: [o.host], secretName: o.tlsSecretName }] } : {}),
    rules: [
      {
        host: o.host,
        http: { paths: [{ path: o.path, pathType: "Prefix", backend: { service: { name: o.backend.serviceName, port: { number: o.backend.port } } } }] },
      },
    ],
  };
}
