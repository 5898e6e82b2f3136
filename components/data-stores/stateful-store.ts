/**
 * One in-cluster store: its password Secret, its Services and StatefulSet with a claim. What differs
 * between the stores comes from their {@link StoreDefinition}; the rest is here, once.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { appLabels, containerSecurityContext, placement, podSecurityContext, RETAIN_CLAIMS, selectorLabels } from "../kit";
import { StoreArgs, StoreDefinition, StoreKind } from "./store";

/** Where the in-cluster stores of one DataStores run. */
export interface StoreTarget {
  namespace: pulumi.Input<string>;
  /** Storage class of every claim. */
  storageClass: string;
  /** The registry's pull Secret, used by a store whose image comes from `server`. */
  imagePullSecret?: { server: string; name: pulumi.Input<string> };
}

/**
 * Creates store `kind` as `<name>-<kind>-auth` (Secret), `<name>-<kind>-service` (the StatefulSet's
 * headless governing Service, `<kind>`), `<name>-<kind>-primary` (the Service the shop connects to,
 * `<kind>-primary`) and `<name>-<kind>` (the StatefulSet), all with `child`'s parent; returns the host
 * the services connect to.
 */
export function statefulStore<A extends StoreArgs>(
  name: string,
  kind: StoreKind,
  def: StoreDefinition<A>,
  s: A,
  target: StoreTarget,
  password: pulumi.Output<string>,
  child: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const port = s.port ?? def.port;
  const res = s.resources ?? def.resources;
  const image = s.image ?? def.image;
  const labels = appLabels(kind, kind, "datastore");
  const selector = selectorLabels(kind);
  const meta = (extra: Record<string, unknown> = {}) => ({ namespace: target.namespace, labels, ...extra });

  const auth = new k8s.core.v1.Secret(`${name}-${kind}-auth`, { metadata: meta(), type: "Opaque", stringData: pulumi.secret(password.apply((p) => ({ password: p }))) }, child);
  const pod = def.pod(s, port, image, { secretKeyRef: { name: auth.metadata.name, key: "password" } });
  const mounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }, ...pod.mounts];
  const volumes: k8s.types.input.core.v1.Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }, ...(pod.volumes ?? [])];
  const initContainers = pod.initContainers ?? [];
  const pullSecret = target.imagePullSecret && image.startsWith(`${target.imagePullSecret.server}/`) ? target.imagePullSecret.name : undefined;

  const svc = new k8s.core.v1.Service(
    `${name}-${kind}-service`,
    {
      metadata: meta({ name: kind }),
      spec: { clusterIP: "None", selector, ports: [{ name: "db", port, targetPort: "db", protocol: "TCP" }], publishNotReadyAddresses: false },
    },
    child,
  );

  // The shop connects through a virtual IP, not the headless name: that name resolves to the pod's own
  // address, which a restarted pod no longer has while DNS caches it (30 s), so after an outage the
  // services kept dialling the old address; without a ready endpoint kube-proxy refuses a connection
  // to this Service at once, and routes to the new pod as soon as it is ready.
  const primary = new k8s.core.v1.Service(
    `${name}-${kind}-primary`,
    {
      metadata: meta({ name: `${kind}-primary` }),
      spec: { type: "ClusterIP", selector, ports: [{ name: "db", port, targetPort: "db", protocol: "TCP" }] },
    },
    child,
  );

  new k8s.apps.v1.StatefulSet(
    `${name}-${kind}`,
    {
      metadata: meta({ name: kind }),
      spec: {
        serviceName: svc.metadata.name,
        replicas: 1,
        selector: { matchLabels: selector },
        // No change may delete the data: a replaced or deleted StatefulSet (and a scale-down) leaves
        // its claims, which a new StatefulSet of the same name mounts again.
        persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            ...placement(s.scheduling),
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(def.user.uid, def.user.gid, def.user.gid),
            ...(pullSecret ? { imagePullSecrets: [{ name: pullSecret }] } : {}),
            ...(initContainers.length ? { initContainers } : {}),
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                ...pod.container,
                name: kind,
                image,
                imagePullPolicy: "IfNotPresent",
                ports: [{ name: "db", containerPort: port, protocol: "TCP" }],
                resources: { requests: { cpu: res.cpu, memory: res.memory }, limits: { cpu: res.cpuLimit, memory: res.memoryLimit } },
                securityContext: containerSecurityContext(true),
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data", labels },
            spec: { accessModes: ["ReadWriteOnce"], storageClassName: target.storageClass, resources: { requests: { storage: s.storageSize } } },
          },
        ],
      },
    },
    child,
  );
  return pulumi.interpolate`${primary.metadata.name}.${primary.metadata.namespace}.svc`;
}
