/**
 * Logging's credentials: one `elastic` superuser password (given or generated) and the service users'
 * passwords derived from it, in one Secret whose keys each consumer reads on its own.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { WorkloadScope } from "../kit";

/** Keys of the credentials Secret. */
export const KEYS = {
  elastic: "elastic-password",
  fluentBit: "fluent-bit-password",
  reader: "reader-password",
  kibana: "kibana-system-password",
  kibanaKey: "kibana-encryption-key",
} as const;
export type CredentialKey = (typeof KEYS)[keyof typeof KEYS];

/**
 * A password derived from a parent secret and a purpose, so one given or generated secret can seed
 * several independent service credentials without a further `random` resource. HMAC-SHA256,
 * base64url, 32 characters.
 */
export function derivePassword(parent: string, purpose: string): string {
  return crypto.createHmac("sha256", parent).update(`shop-observability/${purpose}`).digest("base64url").slice(0, 32);
}

/** The credentials of one Logging. */
export interface Credentials {
  elasticPassword: pulumi.Output<string>;
  readerPassword: pulumi.Output<string>;
  /** An env var read from one key of the Secret. */
  env(name: string, key: CredentialKey): k8s.types.input.core.v1.EnvVar;
}

/** Creates the credentials Secret (labelled as Elasticsearch's). */
export function createCredentials(s: WorkloadScope, elasticPasswordArg?: pulumi.Input<string>): Credentials {
  const elasticPassword: pulumi.Output<string> =
    elasticPasswordArg !== undefined
      ? pulumi.secret(elasticPasswordArg)
      : new random.RandomPassword(`${s.name}-elastic`, { length: 24, special: false }, { parent: s.parent }).result;
  const derived = (purpose: string) => pulumi.secret(elasticPassword.apply((p) => derivePassword(p, purpose)));
  const readerPassword = derived("reader");
  const secret = new k8s.core.v1.Secret(
    `${s.name}-credentials`,
    {
      metadata: s.meta("elasticsearch"),
      type: "Opaque",
      stringData: {
        [KEYS.elastic]: elasticPassword,
        [KEYS.fluentBit]: derived("fluent-bit"),
        [KEYS.reader]: readerPassword,
        [KEYS.kibana]: derived("kibana-system"),
        [KEYS.kibanaKey]: derived("kibana-encryption-key"),
      },
    },
    s.opts,
  );
  return {
    elasticPassword: pulumi.secret(elasticPassword),
    readerPassword,
    env: (name, key) => ({ name, valueFrom: { secretKeyRef: { name: secret.metadata.name, key } } }),
  };
}
