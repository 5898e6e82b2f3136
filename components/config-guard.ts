/**
 * ConfigGuard: refuses a change of one stack config key on an existing stack, before anything changes.
 *
 * Some settings cannot change in place: a StatefulSet's claim templates (volume size, storage class)
 * are immutable, so a new value makes the provider replace the StatefulSet; a data store's password
 * is applied only when its volume is first initialised. A guard remembers the value the stack was
 * deployed with (in its own state) and its provider's `check` (which the engine runs for previews
 * and updates alike, before any step of the resource) fails with a message naming the key and what
 * to do instead when the value differs. A new guard (first `up`, or a guard deliberately forgotten
 * with `pulumi state delete`) accepts any value.
 *
 * The guarded components consume {@link guardedBy}: an input that resolves only once every guard
 * passed, so none of their resources is registered, let alone changed, when a guard refuses.
 *
 * Never give a secret as the value: give {@link fingerprint} of it (a salted digest, itself kept as
 * a Pulumi secret).
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

/** The inputs (and state) of one guard. */
interface GuardProps {
  /** The full config key, e.g. `shop:dataStores.mysql.storageSize`. */
  key: string;
  /** The value the stack is deployed with (or a fingerprint of a secret one). */
  value: string;
  /** True when `value` must never be shown (a fingerprint). */
  hidden: boolean;
  /** What to do instead of changing the key; ends the refusal message. */
  remedy: string;
  /** The guard's URN, for the `pulumi state delete` escape hatch in the message. */
  guardUrn: string;
}

/**
 * The dynamic provider. Self-contained (it references nothing outside its own body): the SDK
 * serialises it into the guard's inputs and the engine runs it in `pulumi-resource-pulumi-nodejs`.
 */
export const configGuardProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: any, news: any) {
    const before = olds && typeof olds.value === "string" ? olds.value : undefined;
    if (before === undefined || before === news.value) return { inputs: news };
    const shown = news.hidden ? "" : ` from ${JSON.stringify(before)} to ${JSON.stringify(news.value)}`;
    const reason =
      `refusing to change ${news.key}${shown} on an existing stack: ${news.remedy} ` +
      `Set ${news.key} back to its deployed value to continue. ` +
      `(Only if the change is already carried out by hand, forget the deployed value with \`pulumi state delete '${news.guardUrn}'\` and run \`pulumi up\` again.)`;
    // No property named: the engine would print the (possibly fingerprinted) value next to it.
    return { inputs: news, failures: [{ property: "", reason }] };
  },
  async diff(_id: string, olds: any, news: any) {
    const changes = ["key", "value", "hidden", "remedy", "guardUrn"].some((k) => olds[k] !== news[k]);
    return { changes };
  },
  async create(inputs: any) {
    return { id: String(inputs.key), outs: inputs };
  },
  async update(_id: string, _olds: any, news: any) {
    return { outs: news };
  },
};

/** Arguments of {@link ConfigGuard}. */
export interface ConfigGuardArgs {
  /** The full config key it guards, e.g. `shop:dataStores.mysql.storageSize`. */
  key: string;
  /** The value now. A secret must be given as {@link fingerprint}, never as itself. */
  value: pulumi.Input<string>;
  /** Whether the value may be shown in the refusal. @default false */
  hidden?: boolean;
  /** What to do instead (a sentence or two: the supported way to make the change). */
  remedy: string;
}

/** The URN of a resource registered at the top of the stack (no parent). */
function topLevelUrn(type: string, name: string): string {
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${name}`;
}

const GUARD_TYPE = "ConfigGuard";
const GUARD_MODULE = "shop";

/**
 * One guarded config key. Register it at the top of the stack (no parent) so its URN, shown in the
 * refusal, is predictable.
 */
export class ConfigGuard extends pulumi.dynamic.Resource {
  /** The guarded key. */
  declare readonly key: pulumi.Output<string>;

  constructor(name: string, args: ConfigGuardArgs, opts?: pulumi.CustomResourceOptions) {
    if (!/^[a-z][a-zA-Z0-9]*:[A-Za-z0-9.*]+$/.test(args.key)) throw new pulumi.RunError(`ConfigGuard ${name}: key ${JSON.stringify(args.key)} must be a full config key like shop:storageClass`);
    if (!args.remedy.trim()) throw new pulumi.RunError(`ConfigGuard ${name}: remedy must say how to make the change instead`);
    const type = `pulumi-nodejs:dynamic/${GUARD_MODULE}:${GUARD_TYPE}`;
    const props: Record<keyof GuardProps, pulumi.Input<any>> = {
      key: args.key,
      value: args.value,
      hidden: args.hidden ?? false,
      remedy: args.remedy,
      guardUrn: topLevelUrn(type, name),
    };
    // A fingerprint stays encrypted in the state even if the provider hands it back in the clear.
    const secretOutputs = args.hidden ? { additionalSecretOutputs: ["value"] } : {};
    super(configGuardProvider, name, props, { ...opts, ...secretOutputs }, GUARD_MODULE, GUARD_TYPE);
  }
}

/**
 * A digest that changes when `secret` changes but does not reveal it: HMAC-SHA256 keyed by the config
 * key, returned as a Pulumi secret (so even the digest is encrypted in the state).
 */
export function fingerprint(key: string, secret: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.secret(pulumi.output(secret).apply((s) => crypto.createHmac("sha256", `shop-config-guard:${key}`).update(s).digest("hex")));
}

/**
 * `value`, resolving only once every guard has been checked and recorded. A resource that takes it as
 * an input is registered after the guards, and never when one refuses.
 */
export function guardedBy<T>(value: pulumi.Input<T>, guards: readonly pulumi.CustomResource[]): pulumi.Output<T> {
  if (!guards.length) return pulumi.output(value) as pulumi.Output<T>;
  const urns: pulumi.Output<string>[] = guards.map((g) => g.urn);
  return pulumi.output(value).apply((v) => pulumi.all(urns).apply(() => v)) as unknown as pulumi.Output<T>;
}
