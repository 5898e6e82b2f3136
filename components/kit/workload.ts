/**
 * {@link WorkloadScope}: what the workloads of one component instance share (parent, provider,
 * namespace, naming, labels), and the Deployments, Services, claims and policies made from it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MANAGED_BY, OBSERVABILITY_PART_OF, selectorLabels } from "./labels";
import { allowPolicies, NetworkAllows } from "./network-policy";
import { placement, Scheduling, Toleration } from "./placement";
import { bytes } from "./resources";

/** Image overrides and placements of a component's workloads, keyed by workload name. */
export interface WorkloadOverrides {
  /** Workload (or helper image, e.g. `curl`) -> image reference replacing the pinned default. */
  images?: Readonly<Record<string, string | undefined>>;
  /** Workload -> where its pods run. */
  scheduling?: Readonly<Record<string, Scheduling | undefined>>;
}

/**
 * What the workloads of one component instance share: the component (parent of every child, so a
 * workload moved into its own file keeps its URN), the explicit provider, the namespace, and the
 * naming of objects, labels, selectors and policies. Workload files are functions of a scope, like
 * pulumi-eks' `createCore`.
 */
export class WorkloadScope {
  constructor(
    /** The component's name: prefix of every child and the `instance` label. */
    readonly name: string,
    /** What the component is (`monitoring`, `logging`). */
    readonly component: string,
    readonly parent: pulumi.Resource,
    readonly provider: k8s.Provider,
    readonly namespace: pulumi.Output<string>,
    /** Per-workload image overrides and placements, keyed by workload (`prometheus`, `fluent-bit`). @default none */
    readonly workloads: WorkloadOverrides = {},
    /** The `part-of` label the component's objects were first deployed with. */
    readonly partOf: string = OBSERVABILITY_PART_OF,
  ) {}

  /** The image of workload `app`: its override, else the pinned `fallback`. */
  image(app: string, fallback: string): string {
    return this.workloads.images?.[app] ?? fallback;
  }

  /** The pod-spec placement (nodeSelector, tolerations) of workload `app`; see {@link placement}. */
  placement(app: string, fallbackTolerations: readonly Readonly<Toleration>[] = []) {
    return placement(this.workloads.scheduling?.[app], fallbackTolerations);
  }

  /** Options of every child: the component as parent, the explicit provider. */
  get opts(): pulumi.CustomResourceOptions {
    return { parent: this.parent, provider: this.provider };
  }

  /**
   * The labels of every object of workload `app`: its selector, `part-of` and `managed-by`. No
   * `component` label: these are the labels the objects were first deployed with, and a changed
   * pod-template label rolls the pods.
   */
  labels(app: string): Record<string, string> {
    return { ...this.selector(app), "app.kubernetes.io/part-of": this.partOf, "app.kubernetes.io/managed-by": MANAGED_BY };
  }

  /** The (immutable) selector of workload `app`. */
  selector(app: string): Record<string, string> {
    return selectorLabels(this.name, app);
  }

  /** Metadata of an object of workload `app`: auto-named unless `objectName` is given. */
  meta(app: string, objectName?: string, namespace: pulumi.Input<string> = this.namespace) {
    return { namespace, labels: this.labels(app), ...(objectName ? { name: objectName } : {}) };
  }

  /** The object name of workload `app`: `<name>-<app>` (also its logical name). */
  objectName(app: string): string {
    return `${this.name}-${app}`;
  }

  /**
   * A Deployment `<name>-<app>` of one replica running `pod`, selected by the workload's selector;
   * `annotations` go on the pod template (checksums that roll it); the workload's placement is added to `pod`.
   */
  deployment(
    app: string,
    pod: k8s.types.input.core.v1.PodSpec,
    extra: { annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>; dependsOn?: pulumi.Resource[] } = {},
  ): k8s.apps.v1.Deployment {
    return new k8s.apps.v1.Deployment(
      this.objectName(app),
      {
        metadata: this.meta(app, this.objectName(app)),
        spec: {
          replicas: 1,
          selector: { matchLabels: this.selector(app) },
          template: { metadata: { labels: this.labels(app), ...(extra.annotations ? { annotations: extra.annotations } : {}) }, spec: { ...this.placement(app), ...pod } },
        },
      },
      { ...this.opts, ...(extra.dependsOn ? { dependsOn: extra.dependsOn } : {}) },
    );
  }

  /** The ClusterIP Service `<name>-<app>` of workload `app`: port `port` to the container port named `http`. */
  service(app: string, port: number): k8s.core.v1.Service {
    return new k8s.core.v1.Service(
      this.objectName(app),
      { metadata: this.meta(app, this.objectName(app)), spec: { selector: this.selector(app), ports: [{ name: "http", port, targetPort: "http" }] } },
      this.opts,
    );
  }

  /** The `data` volume claim template of a StatefulSet of workload `app`. */
  dataClaim(app: string, storageSize: string, storageClass: string): k8s.types.input.core.v1.PersistentVolumeClaim {
    return {
      metadata: { name: "data", labels: this.labels(app) },
      spec: { accessModes: ["ReadWriteOnce"], storageClassName: storageClass, resources: { requests: { storage: storageSize } } },
    };
  }

  /** The NetworkPolicies of workload `app`: `<name>-<app>-<in|out>-<rule>`, in this scope's namespace. */
  allow(app: string, allows: NetworkAllows): k8s.networking.v1.NetworkPolicy[] {
    const prefix = `${this.name}-${app}`;
    return allowPolicies({ resourcePrefix: prefix, objectPrefix: prefix, namespace: this.namespace, labels: this.labels(app) }, allows, this.opts);
  }

  /** Bytes of the memory quantity `value` of argument `field`; a malformed one fails naming the field. */
  bytes(field: string, value: string): number {
    try {
      return bytes(value);
    } catch (e) {
      throw this.fail(field, `is invalid: ${(e as Error).message}; use a size like "1Gi"`);
    }
  }

  /** An error naming the component and the field. */
  fail(field: string, what: string): pulumi.ResourceError {
    return new pulumi.ResourceError(`${this.parent.constructor.name} ${this.name}: ${field} ${what}`, this.parent);
  }
}
