import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { appLabels, containerSecurityContext, placement, podSecurityContext, Scheduling, selectorLabels } from "./kit";

export type StoreKind = "mysql" | "redis" | "rabbitmq";
export const STORE_KINDS: readonly StoreKind[] = ["mysql", "redis", "rabbitmq"];

/** Third-party images, pinned. */
export const STORE_IMAGES: Record<StoreKind, string> = {
  mysql: "mysql:8.4.6",
  redis: "redis:7.4.6-alpine",
  rabbitmq: "rabbitmq:4.1.4-alpine",
};
export const STORE_PORTS: Record<StoreKind, number> = { mysql: 3306, redis: 6379, rabbitmq: 5672 };
/**
 * The user each default image is built to run as (its Dockerfile's `adduser`/`groupadd`), and so the
 * owner its entrypoint expects of the data directory: MySQL's `mysql` is 999:999 (Oracle Linux),
 * Alpine Redis's `redis` is 999 in group 1000, Alpine RabbitMQ's `rabbitmq` is 100 in group 101.
 * The pod runs as exactly this user with fsGroup = its group, so the claim is writable by it.
 */
export const STORE_USERS: Record<StoreKind, { uid: number; gid: number }> = {
  mysql: { uid: 999, gid: 999 },
  redis: { uid: 999, gid: 1000 },
  rabbitmq: { uid: 100, gid: 101 },
};
/** Where MySQL's claim is mounted; the data directory is a subdirectory of it (see statefulStore). */
export const MYSQL_VOLUME = "/var/lib/mysql";
export const MYSQL_DATADIR = `${MYSQL_VOLUME}/data`;

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
  /** Image override (must run as the same user as the default, see STORE_USERS). @default STORE_IMAGES[kind] */
  image?: string;
  /** Requests/limits. @default STORE_RESOURCES[kind] */
  resources?: Resources;
  /** Where the store's pod runs (nodeSelector, tolerations; in-cluster only). @default no placement */
  scheduling?: Scheduling;
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
  /**
   * An image pull Secret for the stack's registry: a store whose image comes from `server` pulls with
   * it (the default images come from Docker Hub and need none). @default none
   */
  imagePullSecret?: { server: string; name: pulumi.Input<string> };
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
    const initContainers: k8s.types.input.core.v1.Container[] = [];
    const volumes: k8s.types.input.core.v1.Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
    switch (kind) {
      case "mysql":
        // A fresh cloud disk holds `lost+found`, and mysqld refuses to initialise a non-empty data
        // directory: the claim is mounted at MYSQL_VOLUME and mysqld's data directory is data/ inside
        // it, created by mysqld itself (so owned by its user whatever the volume's root holds).
        mounts.push({ name: "data", mountPath: MYSQL_VOLUME }, { name: "run", mountPath: "/var/run/mysqld" });
        volumes.push({ name: "run", emptyDir: { sizeLimit: "16Mi" } });
        initContainers.push(this.mysqlLayoutMigration(s.image ?? STORE_IMAGES.mysql));
        container = {
          env: [
            // The root password is random and never leaves the pod; services use MYSQL_USER.
            { name: "MYSQL_RANDOM_ROOT_PASSWORD", value: "yes" },
            { name: "MYSQL_DATABASE", value: args.mysql.database },
            { name: "MYSQL_USER", value: args.mysql.user },
            { name: "MYSQL_PASSWORD", valueFrom: fromAuth },
          ],
          args: [`--port=${port}`, `--datadir=${MYSQL_DATADIR}`],
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

    const image = s.image ?? STORE_IMAGES[kind];
    const pullSecret = args.imagePullSecret && image.startsWith(`${args.imagePullSecret.server}/`) ? args.imagePullSecret.name : undefined;

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
          // No change may delete the data: a replaced or deleted StatefulSet (and a scale-down) leaves
          // its claims, which a new StatefulSet of the same name mounts again.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          template: {
            metadata: { labels: { ...labels, ...selector } },
            spec: {
              ...placement(s.scheduling),
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext(STORE_USERS[kind].uid, STORE_USERS[kind].gid, STORE_USERS[kind].gid),
              ...(pullSecret ? { imagePullSecrets: [{ name: pullSecret }] } : {}),
              ...(initContainers.length ? { initContainers } : {}),
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  ...container,
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
              spec: { accessModes: ["ReadWriteOnce"], storageClassName: args.storageClass, resources: { requests: { storage: s.storageSize } } },
            },
          ],
        },
      },
      child,
    );
    return pulumi.interpolate`${svc.metadata.name}.${svc.metadata.namespace}.svc`;
  }

  /**
   * Moves a store made before the data directory became MYSQL_DATADIR (its files at the volume's
   * root) into the subdirectory, so mysqld finds its data instead of initialising an empty one.
   * A no-op on a fresh volume and on every later start.
   */
  private mysqlLayoutMigration(image: string): k8s.types.input.core.v1.Container {
    const script = [
      "set -eu",
      `cd ${MYSQL_VOLUME}`,
      // data.partial: a move cut short by a restart resumes instead of leaving an empty data/.
      "if [ ! -e data ] && { [ -d mysql ] || [ -d data.partial ]; }; then",
      "  mkdir -p data.partial",
      "  for f in * .[!.]*; do",
      "    case \"$f\" in lost+found|data.partial) ;; *) if [ -e \"$f\" ]; then mv \"$f\" data.partial/; fi ;; esac",
      "  done",
      "  mv data.partial data",
      "fi",
    ].join("\n");
    return {
      name: "datadir-layout",
      image,
      imagePullPolicy: "IfNotPresent",
      command: ["sh", "-c", script],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
      securityContext: containerSecurityContext(true),
      volumeMounts: [{ name: "data", mountPath: MYSQL_VOLUME }],
    };
  }
}
