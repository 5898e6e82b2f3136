import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { allowPolicies, allowProblem, DEFAULT_DNS_PEER, DnsPeer, dnsEgressRule, NetworkAllow, PART_OF } from "./kit";

export type { NetworkAllow };

/** A Pod Security Admission level. */
export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

/** Arguments of {@link Environment}. */
export interface EnvironmentArgs {
  /** The namespace to create (a DNS label). */
  namespace: string;
  /** The explicit Kubernetes provider. */
  provider: k8s.Provider;
  /**
   * Pod Security Admission levels.
   * @default { enforce: "restricted", audit: "restricted", warn: "restricted" }
   */
  podSecurity?: { enforce?: PodSecurityLevel; audit?: PodSecurityLevel; warn?: PodSecurityLevel };
  /** Extra namespace labels. @default {} */
  labels?: Record<string, string>;
  /** A ResourceQuota for the namespace; none when absent. */
  quota?: {
    requestsCpu: string;
    requestsMemory: string;
    limitsCpu: string;
    limitsMemory: string;
    pods: number;
    persistentVolumeClaims: number;
    requestsStorage: string;
  };
  /**
   * LimitRange defaults for containers that give no requests/limits.
   * @default none
   */
  limitRange?: { defaultRequestCpu: string; defaultRequestMemory: string; defaultCpu: string; defaultMemory: string };
  /** Ingress allowed on top of default-deny. @default [] */
  ingress?: NetworkAllow[];
  /** Egress allowed on top of default-deny (DNS is always allowed). @default [] */
  egress?: NetworkAllow[];
  /**
   * The cluster DNS every pod may query (port 53): its pods, and/or addresses such as NodeLocal
   * DNSCache's 169.254.20.10/32.
   * @default DEFAULT_DNS_PEER (pods `k8s-app=kube-dns` in `kube-system`)
   */
  dns?: DnsPeer;
}

/**
 * A namespace made safe by default: Pod Security Admission labels, an optional ResourceQuota and
 * LimitRange, and a default-deny NetworkPolicy plus one policy per explicitly allowed flow.
 */
export class Environment extends pulumi.ComponentResource {
  /** The namespace's name, known once the Namespace exists. */
  readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Environment", name, {}, opts);
    const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    if (!DNS_LABEL.test(args.namespace) || args.namespace.length > 63) {
      throw new pulumi.ResourceError(`Environment ${name}: namespace ${JSON.stringify(args.namespace)} must be a DNS label (e.g. shop-dev)`, this);
    }
    for (const rule of [...(args.ingress ?? []), ...(args.egress ?? [])]) {
      const problem = allowProblem(rule);
      if (problem) throw new pulumi.ResourceError(`Environment ${name}: ${problem}`, this);
    }

    const psa = { enforce: "restricted", audit: "restricted", warn: "restricted", ...args.podSecurity };
    const dns: DnsPeer = args.dns ?? DEFAULT_DNS_PEER;
    if (!dns.namespace && !dns.cidrs?.length) throw new pulumi.ResourceError(`Environment ${name}: dns needs a namespace or at least one CIDR (e.g. { cidrs: ["169.254.20.10/32"] })`, this);
    const child = { parent: this, provider: args.provider };

    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: args.namespace,
          labels: {
            "app.kubernetes.io/part-of": PART_OF,
            "pod-security.kubernetes.io/enforce": psa.enforce,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": psa.audit,
            "pod-security.kubernetes.io/warn": psa.warn,
            ...args.labels,
          },
        },
      },
      child,
    );
    this.namespace = ns.metadata.name;
    const inNs = { ...child, dependsOn: [ns] };
    const meta = (n: string) => ({ name: n, namespace: this.namespace, labels: { "app.kubernetes.io/part-of": PART_OF } });

    if (args.quota) {
      const q = args.quota;
      new k8s.core.v1.ResourceQuota(
        `${name}-quota`,
        {
          metadata: meta("quota"),
          spec: {
            hard: {
              "requests.cpu": q.requestsCpu,
              "requests.memory": q.requestsMemory,
              "limits.cpu": q.limitsCpu,
              "limits.memory": q.limitsMemory,
              pods: String(q.pods),
              persistentvolumeclaims: String(q.persistentVolumeClaims),
              "requests.storage": q.requestsStorage,
            },
          },
        },
        inNs,
      );
    }
    if (args.limitRange) {
      const l = args.limitRange;
      new k8s.core.v1.LimitRange(
        `${name}-limits`,
        {
          metadata: meta("container-defaults"),
          spec: {
            limits: [
              {
                type: "Container",
                defaultRequest: { cpu: l.defaultRequestCpu, memory: l.defaultRequestMemory },
                default: { cpu: l.defaultCpu, memory: l.defaultMemory },
              },
            ],
          },
        },
        inNs,
      );
    }

    const policy = (suffix: string, objName: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
      new k8s.networking.v1.NetworkPolicy(`${name}-${suffix}`, { metadata: meta(objName), spec }, inNs);

    policy("default-deny", "default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    policy("allow-dns", "allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [dnsEgressRule(dns)],
    });
    allowPolicies(
      { resourcePrefix: name, objectPrefix: "allow", namespace: this.namespace, labels: { "app.kubernetes.io/part-of": PART_OF } },
      { ingress: args.ingress, egress: args.egress },
      inNs,
    );

    this.registerOutputs({ namespace: this.namespace });
  }
}
