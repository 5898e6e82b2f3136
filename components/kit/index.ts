/**
 * The one Kubernetes kit of the program: every component (the shop's and the observability ones)
 * imports it from here.
 *   labels.ts          names, recommended labels, selectors, peer labels
 *   security.ts        pod and container security contexts, image pull Secret document
 *   resources.ts       quantities, requests and limits, claim retention
 *   placement.ts       node selectors and tolerations
 *   checksums.ts       roll-on-change checksums
 *   network-policy.ts  NetworkPolicies from allowed flows, DNS egress, peers
 *   workload.ts        WorkloadScope: the shared naming and objects of a component's workloads
 */
export * from "./labels";
export * from "./security";
export * from "./resources";
export * from "./placement";
export * from "./checksums";
export * from "./network-policy";
export * from "./workload";
