/**
 * What every store kind of {@link DataStores} has in common: its arguments, and the definition each
 * store file (`mysql.ts`, `redis.ts`, `rabbitmq.ts`) gives: pinned defaults, the store-specific part of
 * its pod, and the env a consuming service connects with.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Scheduling } from "../kit";

export type StoreKind = "mysql" | "redis" | "rabbitmq";

/** Requests and limits of a store's container. */
export type Resources = { cpu: string; memory: string; cpuLimit: string; memoryLimit: string };

/** Arguments of one store (`DataStoresArgs.mysql`, `.redis`, `.rabbitmq`). */
export interface StoreArgs {
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

/** The store-specific part of an in-cluster store's pod; `statefulStore` adds what every store has. */
export interface StorePod {
  /** The container without its name, image, port, resources, security context and mounts. */
  container: Omit<k8s.types.input.core.v1.Container, "name">;
  /** Mounts after the common `tmp` one (the claim `data` among them). */
  mounts: k8s.types.input.core.v1.VolumeMount[];
  /** Volumes after the common `tmp` one. @default none */
  volumes?: k8s.types.input.core.v1.Volume[];
  /** @default none */
  initContainers?: k8s.types.input.core.v1.Container[];
}

/** Where a store runs and how its consumers reach it. */
export interface StoreEndpoint {
  /** The host the services connect to. */
  host: pulumi.Output<string>;
  port: number;
  password: pulumi.Output<string>;
}

/** One store kind. */
export interface StoreDefinition<A extends StoreArgs = StoreArgs> {
  /** Third-party image, pinned. */
  image: string;
  /** The store's standard port. */
  port: number;
  /**
   * The user the default image is built to run as (its Dockerfile's `adduser`/`groupadd`), and so the
   * owner its entrypoint expects of the data directory. The pod runs as exactly this user with
   * fsGroup = its group, so the claim is writable by it.
   */
  user: { uid: number; gid: number };
  /** Requests/limits used when the stack gives none. */
  resources: Resources;
  /** The pod of the in-cluster store on `port` running `image`; `password` is the env source of its password. */
  pod(args: A, port: number, image: string, password: k8s.types.input.core.v1.EnvVarSource): StorePod;
  /** The env a consuming service connects with. */
  env(args: A, at: StoreEndpoint): Record<string, pulumi.Input<string>>;
}

/** An exec probe handler. */
export const exec = (...command: string[]) => ({ exec: { command } });
