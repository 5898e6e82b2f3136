/**
 * The shop's data stores, one file each: `mysql.ts`, `redis.ts`, `rabbitmq.ts` (port, user, default
 * resources, pod, connection env; their pinned images in `images.ts`); `stateful-store.ts` runs any of
 * them in the cluster; `store.ts` is what they have in common.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { appLabels } from "../kit";
import { MYSQL, MysqlArgs } from "./mysql";
import { RABBITMQ, RabbitmqArgs } from "./rabbitmq";
import { REDIS } from "./redis";
import { statefulStore } from "./stateful-store";
import { Resources, StoreArgs, StoreDefinition, StoreKind } from "./store";

export { MYSQL_DATADIR, MYSQL_VOLUME, MysqlArgs } from "./mysql";
export { RabbitmqArgs } from "./rabbitmq";
export { Resources, StoreArgs, StoreKind } from "./store";

/** Every store, by kind. */
const STORES: Record<StoreKind, StoreDefinition> = { mysql: MYSQL, redis: REDIS, rabbitmq: RABBITMQ };
export const STORE_KINDS: readonly StoreKind[] = ["mysql", "redis", "rabbitmq"];
const byKind = <T>(f: (d: StoreDefinition) => T) => Object.fromEntries(STORE_KINDS.map((k) => [k, f(STORES[k])])) as Record<StoreKind, T>;

/** Third-party images, pinned. */
export const STORE_IMAGES: Record<StoreKind, string> = byKind((d) => d.image);
export const STORE_PORTS: Record<StoreKind, number> = byKind((d) => d.port);
/** The user each default image is built to run as (see {@link StoreDefinition.user}). */
export const STORE_USERS: Record<StoreKind, { uid: number; gid: number }> = byKind((d) => d.user);
/** Requests/limits used when the stack gives none. */
export const STORE_RESOURCES: Record<StoreKind, Resources> = byKind((d) => d.resources);

/** Arguments of {@link DataStores}. */
export interface DataStoresArgs {
  namespace: pulumi.Input<string>;
  provider: k8s.Provider;
  /** Run the stores here (StatefulSets) or connect to external ones. */
  mode: "in-cluster" | "external";
  /** Storage class of every claim. */
  storageClass: string;
  mysql: MysqlArgs;
  redis: StoreArgs;
  rabbitmq: RabbitmqArgs;
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
      hosts[kind] = args.mode === "external" ? pulumi.output(args[kind].host!) : statefulStore(name, kind, STORES[kind], args[kind], args, passwords[kind], child);
    }
    this.endpoints = Object.fromEntries(STORE_KINDS.map((k) => [k, pulumi.interpolate`${hosts[k]}:${ports[k]}`])) as Record<StoreKind, pulumi.Output<string>>;
    const env = Object.fromEntries(
      STORE_KINDS.map((k) => [k, STORES[k].env(args[k], { host: hosts[k], port: ports[k], password: passwords[k] })]),
    ) as Record<StoreKind, Record<string, pulumi.Input<string>>>;

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
}
