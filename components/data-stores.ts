import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { appLabels, containerSecurityContext, podSecurityContext, selectorLabels } from "./k8s-defaults";

export type StoreKind = "mysql" | "redis" | "rabbitmq";
export const STORE_KINDS: readonly StoreKind[] = ["mysql", "redis", "rabbitmq"];

/** Third-party images, pinned. All three run as uid 999 in their official images. */
export const STORE_IMAGES: Record<StoreKind, string> = {
  mysql: "mysql:8.4.6",
  redis: "redis:7.4.6-alpine",
  rabbitmq: "rabbitmq:4.1.4-alpine",
};
export const STORE_PORTS: Record<StoreKind, number> = { mysql: 3306, redis: 6379, rabbitmq: 5672 };
const STORE_UID = 999;

type Resources = { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };
/** Requests/limits used when the stack gives none. */
export const STORE_RESOURCES: Record<StoreKind, Resources> = {
  mysql: { cpu: "100m", memory: "256Mi", cpuLimit: "1", memoryLimit: "512Mi" },
  redis: { cpu: "50m", memory: "64Mi", cpuLimit: "250m", memoryLimit: "128Mi" },
  rabbitmq: { cpu: "100m", memory: "256Mi", cpuLimit: "500m", memoryLimit: "512Mi" },
};

interface StoreArgs {
  /** PVC size (in-cluster). */
  storageSize: string;
  /** External host (external mode). */
  host?: string;
  /** Port. @default the store's standard port */
  port?: number;
  /** Image override. @default STORE_IMAGES[kind] */
  image?: string;
  /** Requests/limits. @default STORE_RESOURCES[kind] */
  resources?: Resources;
}

/** Arguments of {@link DataStores}. */
export interface DataStoresArgs {
  namespace: pulumi.Input<string>;
  provider: k8s.Provider;
  /** Run the stores here (StatefulSets) or connect to external ones. */
  mode: "in-cluster" | "external";
  /** Storage class of every claim. */
  storageClass: string;
  mysql: StoreArgs & { database: string; user: string };
  redis: StoreArgs;
  rabbitmq: StoreArgs & { user: string; vhost: string };
  /** Passwords (secrets). Absent ones are generated with `@pulumi/random`; required in external mode. @default {} */
  passwords?: Partial<Record<StoreKind, pulumi.Input<string>>>;
  /** Which stores each service uses; each service gets one connection Secret. */
  consumers: Record<string, readonly StoreKind[]>;
}

/**
 * MySQL, Redis and RabbitMQ: StatefulSets with claims, headless Services and generated (or given)
 * passwords; or external endpoints. Either way every consuming service gets one connection Secret
 * holding exactly the env it needs (`MYSQL_*`, `REDIS_*`, `RABBITMQ_*`).
 */
export class DataStores extends pulumi.ComponentResource {
  /** Service name -> name of its connection Secret. */
  readonly connectionSecrets: Record<string, pulumi.Output<string>>;
  /** Store -> `host:port` the services connect to. */
  readonly endpoints: Record<StoreKind, pulumi.Output<string>>;
  /** Store -> password (secret outputs). */
  readonly passwords: Record<StoreKind, pulumi.Output<string>>;

  constructor(name: string, args: DataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:DataStores", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const given = args.passwords ?? {};

    for (const kind of STORE_KINDS) {
      if (args.mode === "external") {
        if (!args[kind].host) throw new pulumi.ResourceError(`DataStores ${name}: ${kind}.host is required in external mode (e.g. ${kind}.internal.example.com)`, this);
        if (given[kind] === undefined) throw new pulumi.ResourceError(`DataStores ${name}: passwords.${kind} is required in external mode (the server's password, as a secret)`, this);
      }
    }
    for (const [svc, kinds] of Object.entries(args.consumers)) {
      for (const k of kinds) if (!STORE_KINDS.includes(k)) throw new pulumi.ResourceError(`DataStores ${name}: consumers.${svc} names unknown store ${k}`, this);
    }

    const passwords = {} as Record<StoreKind, pulumi.Output<string>>;
    for (const kind of STORE_KINDS) {
      const pw = given[kind];
      passwords[kind] =
        pw !== undefined
          ? pulumi.secret(pw)
          : pulumi.secret(new random.RandomPassword(`${name}-${kind}-password`, { length: 32, special: false }, { parent: this }).result);
    }
    this.passwords = passwords;

    const hosts = {} as Record<StoreKind, pulumi.Output<string>>;
    const ports = {} as Record<StoreKind, number>;
    for (const kind of STORE_KINDS) {
      ports[kind] = args[kind].port ?? STORE_PORTS[kind];
      hosts[kind] =
        args.mode === "external"
          ? pulumi.output(args[kind].host!)
          : this.statefulStore(name, kind, args, passwords[kind], child);
    }
    this.endpoints = Object.fromEntries(STORE_KINDS.map((k) => [k, pulumi.interpolate`${hosts[k]}:${ports[k]}`])) as Record<StoreKind, pulumi.Output<string>>;

    const env: Record<StoreKind, Record<string, pulumi.Input<string>>> = {
      mysql: {
        MYSQL_HOST: hosts.mysql,
        MYSQL_PORT: String(ports.mysql),
        MYSQL_USER: args.mysql.user,
        MYSQL_PASSWORD: passwords.mysql,
        MYSQL_DATABASE: args.mysql.database,
      },
      redis: { REDIS_ADDR: this.endpoints.redis, REDIS_PASSWORD: passwords.redis },
      rabbitmq: {
        RABBITMQ_HOST: hosts.rabbitmq,
        RABBITMQ_PORT: String(ports.rabbitmq),
        RABBITMQ_USER: args.rabbitmq.user,
        RABBITMQ_PASSWORD: passwords.rabbitmq,
        RABBITMQ_VHOST: args.rabbitmq.vhost,
      },
    };

    this.connectionSecrets = {};
    for (const [svc, kinds] of Object.entries(args.consumers)) {
      if (!kinds.length) continue;
      const data = Object.assign({}, ...kinds.map((k) => env[k])) as Record<string, pulumi.Input<string>>;
      // Auto-named: a changed password or endpoint gives a new Secret name, which rolls the service.
      const secret = new k8s.core.v1.Secret(
        `${name}-${svc}-connection`,
        {
          metadata: { namespace: args.namespace, labels: { ...appLabels(svc, svc, "connection"), "shop.example.com/stores": kinds.join(".") } },
          type: "Opaque",
          stringData: pulumi.secret(pulumi.output(data)),
        },
        child,
      );
      this.connectionSecrets[svc] = secret.metadata.name;
    }

    this.registerOutputs({ connectionSecrets: this.connectionSecrets, endpoints: this.endpoints });
  }

  /** Creates one in-cluster store; returns the host the services connect to. */
  private statefulStore(
    name: string,
    kind: StoreKind,
    args: DataStoresArgs,
    password: pulumi.Output<string>,
    child: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> {
    const s = args[kind];
    const port = s.port ?? STORE_PORTS[kind];
    const res = s.resources ?? STORE_RESOURCES[kind];
    const labels = appLabels(kind, kind, "datastore");
    const selector = selectorLabels(kind);
    const meta = (extra: Record<string, unknown> = {}) => ({ namespace: args.namespace, labels, ...extra });

    const auth = new k8s.core.v1.Secret(`${name}-${kind}-auth`, { metadata: meta(), type: "Opaque", stringData: pulumi.secret(password.apply((p) => ({ password: p }))) }, child);
    const fromAuth = { secretKeyRef: { name: auth.metadata.name, key: "password" } };

    const exec = (...command: string[]) => ({ exec: { command } });
    let container: Omit<k8s.types.input.core.v1.Container, "name">;
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
    const volumes: k8s.types.input.core.v1.Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
    switch (kind) {
      case "mysql":
        mounts.push({ name: "data", mountPath: "/var/lib/mysql" }, { name: "run", mountPath: "/var/run/mysqld" });
        volumes.push({ name: "run", emptyDir: { sizeLimit: "16Mi" } });
        container = {
          env: [
            // The root password is random and never leaves the pod; services use MYSQL_USER.
            { name: "MYSQL_RANDOM_ROOT_PASSWORD", value: "yes" },
            { name: "MYSQL_DATABASE", value: args.mysql.database },
            { name: "MYSQL_USER", value: args.mysql.user },
            { name: "MYSQL_PASSWORD", valueFrom: fromAuth },
          ],
          args: [`--port=${port}`],
          startupProbe: { ...exec("mysqladmin", "ping", "-h", "127.0.0.1", `--port=${port}`, "--silent"), periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 5 },
          livenessProbe: { ...exec("mysqladmin", "ping", "-h", "127.0.0.1", `--port=${port}`, "--silent"), periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
          readinessProbe: { tcpSocket: { port: "db" }, periodSeconds: 5, failureThreshold: 3 },
        };
        break;
      case "redis":
        mounts.push({ name: "data", mountPath: "/data" });
        container = {
          env: [{ name: "REDIS_PASSWORD", valueFrom: fromAuth }],
          // $(REDIS_PASSWORD) is expanded by the kubelet; the pod spec holds no password.
          args: ["--port", String(port), "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
          startupProbe: { tcpSocket: { port: "db" }, periodSeconds: 2, failureThreshold: 30 },
          livenessProbe: { tcpSocket: { port: "db" }, periodSeconds: 10, failureThreshold: 3 },
          readinessProbe: {
            ...exec("sh", "-c", `redis-cli -p ${port} --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG`),
            periodSeconds: 5,
            failureThreshold: 3,
            timeoutSeconds: 3,
          },
        };
        break;
      case "rabbitmq":
        // HOME (the Erlang cookie) is the claim; logs and crash dumps go to an emptyDir; the rest of
        // the image stays read-only (the server's own env vars replace writing /etc/rabbitmq).
        mounts.push({ name: "data", mountPath: "/var/lib/rabbitmq" }, { name: "log", mountPath: "/var/log/rabbitmq" });
        volumes.push({ name: "log", emptyDir: { sizeLimit: "64Mi" } });
        container = {
          env: [
            { name: "RABBITMQ_DEFAULT_USER", value: args.rabbitmq.user },
            { name: "RABBITMQ_DEFAULT_PASS", valueFrom: fromAuth },
            { name: "RABBITMQ_DEFAULT_VHOST", value: args.rabbitmq.vhost },
            { name: "RABBITMQ_NODE_PORT", value: String(port) },
          ],
          startupProbe: { ...exec("rabbitmq-diagnostics", "-q", "ping"), periodSeconds: 10, failureThreshold: 30, timeoutSeconds: 10 },
          livenessProbe: { ...exec("rabbitmq-diagnostics", "-q", "ping"), periodSeconds: 30, failureThreshold: 3, timeoutSeconds: 10 },
          readinessProbe: { tcpSocket: { port: "db" }, periodSeconds: 10, failureThreshold: 3 },
        };
        break;
    }

    const svc = new k8s.core.v1.Service(
      `${name}-${kind}-service`,
      {
        metadata: meta({ name: kind }),
        spec: { clusterIP: "None", selector, ports: [{ name: "db", port, targetPort: "db", protocol: "TCP" }], publishNotReadyAddresses: false },
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
          // `pulumi destroy` frees the claims; scaling down keeps them.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
          template: {
            metadata: { labels: { ...labels, ...selector } },
            spec: {
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext(STORE_UID, STORE_UID),
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  ...container,
                  name: kind,
                  image: s.image ?? STORE_IMAGES[kind],
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
              spec: { accessModes: ["ReadWriteOnce"], storageClassName: args.storageClass, resources: { requests: { storage: s.storageSize } } },
            },
          ],
        },
      },
      child,
    );
    return pulumi.interpolate`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
  }
}
