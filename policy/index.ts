/**
 * The shop's CrossGuard policy pack. Every policy is mandatory; their logic
 * lives in `policies.ts` as plain functions so it can be unit-tested.
 *
 * Run it with `pulumi preview --policy-pack policy` (CLIs whose Node.js language
 * host can run plugins) or `--policy-pack policy/analyzer.sh` (see docs/delivery.md).
 */
import * as path from "path";
import { PolicyPack, ResourceValidationPolicy, StackValidationPolicy, PolicyConfigSchema } from "@pulumi/policy";
import { PackConfig, resourcePolicies, stackPolicies } from "./policies";
import { packDefaults } from "./defaults";

const defaults = packDefaults(path.resolve(__dirname, ".."));

/** The config schema every policy shares, with the repo-derived defaults. */
const configSchema: PolicyConfigSchema = {
  properties: {
    allowedRegistries: { type: "array", items: { type: "string" }, default: defaults.allowedRegistries },
    vettedImages: { type: "array", items: { type: "string" }, default: defaults.vettedImages },
    prodStacks: { type: "array", items: { type: "string" }, default: defaults.prodStacks },
    podSecurityLevels: { type: "array", items: { type: "string" }, default: defaults.podSecurityLevels },
    privilegedNamespaces: { type: "array", items: { type: "string" }, default: defaults.privilegedNamespaces },
    rootAllowed: { type: "array", items: { type: "string" }, default: defaults.rootAllowed },
    haExempt: { type: "array", items: { type: "string" }, default: defaults.haExempt },
    ingressServiceLabels: { type: "object", additionalProperties: { type: "string" }, default: defaults.ingressServiceLabels },
  },
};

const config = (raw: Partial<PackConfig> | undefined): PackConfig => ({ ...defaults, ...(raw ?? {}) });

const resourceValidations: ResourceValidationPolicy[] = resourcePolicies.map((p) => ({
  name: p.name,
  description: p.description,
  remediationSteps: p.remediation,
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    const cfg = config(args.getConfig<Partial<PackConfig>>());
    for (const message of p.check({ type: args.type, name: args.name, urn: args.urn, props: args.props }, cfg)) {
      reportViolation(message);
    }
  },
}));

const stackValidations: StackValidationPolicy[] = stackPolicies.map((p) => ({
  name: p.name,
  description: p.description,
  remediationSteps: p.remediation,
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: (args, reportViolation) => {
    const cfg = config(args.getConfig<Partial<PackConfig>>());
    const resources = args.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.props }));
    for (const v of p.check(resources, cfg)) reportViolation(v.message, v.urn);
  },
}));

new PolicyPack("shop-guardrails", { policies: [...resourceValidations, ...stackValidations] });
