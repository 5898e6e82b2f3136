/**
 * The cluster check the whole platform waits for (components/cluster-prerequisites.ts), made from the
 * config alone. Light on purpose: no Kubernetes SDK, so index.ts can register it before the rest of the
 * program is loaded, and the engine starts its (dynamic) provider meanwhile.
 */
import { LOCAL_GATEWAY_CLASS, ShopConfig } from "./config";
import { ClusterPrerequisites } from "./components/cluster-prerequisites";

/** The oldest Kubernetes minor version (1.x) the platform runs on: the preStop `sleep` hook is GA in 1.30. */
export const MIN_KUBERNETES_MINOR = 30;

/** What the routing mode needs of the cluster, for the prerequisites check. */
export function routingRequirements(cfg: ShopConfig): { ingressClass?: string; gatewayApi?: boolean; gatewayClass?: string } {
  const r = cfg.routing;
  if (r.mode === "ingress") return r.ingress.className !== undefined ? { ingressClass: r.ingress.className } : {};
  const shared = r.gateway.name !== undefined && r.gateway.namespace !== undefined;
  return { gatewayApi: true, ...(shared ? {} : { gatewayClass: r.gateway.className ?? LOCAL_GATEWAY_CLASS }) };
}

/** Registers the cluster's prerequisites check of `cfg`. */
export function clusterPrerequisites(cfg: ShopConfig): ClusterPrerequisites {
  return new ClusterPrerequisites("cluster-prerequisites", {
    minMinor: MIN_KUBERNETES_MINOR,
    ...routingRequirements(cfg),
    ...(cfg.cluster.kubeconfig ? { kubeconfig: cfg.cluster.kubeconfig } : {}),
    ...(cfg.cluster.context ? { context: cfg.cluster.context } : {}),
  });
}
