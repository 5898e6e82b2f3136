/** Canned engine events of a preview, shaped like the ones `pulumi preview --event-log` emits. */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";

const urn = (type: string, name: string) => `urn:pulumi:dev::shop::shop:platform:MicroService$${type}::${name}`;

let seq = 0;
function step(op: OpType, type: string, name: string, extra: Record<string, unknown> = {}): EngineEvent[] {
  const metadata: any = { op, urn: urn(type, name), type, provider: "", ...extra };
  return [
    { sequence: ++seq, timestamp: 1_700_000_000 + seq, resourcePreEvent: { metadata, planning: true } },
    { sequence: ++seq, timestamp: 1_700_000_000 + seq, resOutputsEvent: { metadata, planning: true } },
  ];
}

/** A preview of the dev stack: 2 creates, 1 update with a detailed diff, 1 replace, 1 delete, 3 unchanged, one policy violation. */
export function previewEvents(): EngineEvent[] {
  seq = 0;
  return [
    ...step("same", "pulumi:pulumi:Stack", "shop-dev"),
    ...step("same", "kubernetes:core/v1:Namespace", "shop-dev"),
    ...step("same", "kubernetes:core/v1:Service", "gateway-svc"),
    ...step("create", "kubernetes:apps/v1:Deployment", "order-deployment"),
    ...step("create", "kubernetes:core/v1:ConfigMap", "order|config"),
    ...step("update", "kubernetes:apps/v1:Deployment", "gateway-deployment", {
      diffs: ["spec"],
      detailedDiff: {
        "spec.replicas": { diffKind: "update", inputDiff: true },
        'spec.template.metadata.annotations["checksum/config"]': { diffKind: "update", inputDiff: true },
        "spec.paused": { diffKind: "add", inputDiff: true },
      },
      old: { inputs: { spec: { replicas: 1, template: { metadata: { annotations: { "checksum/config": "aaa" } } } } } },
      new: { inputs: { spec: { replicas: 3, paused: false, template: { metadata: { annotations: { "checksum/config": "bbb" } } } } } },
    }),
    ...step("create-replacement", "kubernetes:core/v1:Secret", "user-secret"),
    ...step("replace", "kubernetes:core/v1:Secret", "user-secret", {
      diffs: ["metadata"],
      detailedDiff: { "metadata.name": { diffKind: "update-replace", inputDiff: true } },
      old: { inputs: { metadata: { name: "user-a" } } },
      new: { inputs: { metadata: { name: "user-b" } } },
    }),
    ...step("delete-replaced", "kubernetes:core/v1:Secret", "user-secret"),
    ...step("delete", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "gateway-hpa"),
    {
      sequence: ++seq,
      timestamp: 1_700_000_100,
      policyEvent: {
        resourceUrn: urn("kubernetes:core/v1:ConfigMap", "order|config"),
        message: 'ConfigMaps hold no secret-looking keys.\nConfigMap order-config has secret-looking keys "API_TOKEN": put them in a Secret\n',
        color: "never",
        policyName: "no-secrets-in-configmaps",
        policyPackName: "shop-guardrails",
        policyPackVersion: "0.1.0",
        policyPackVersionTag: "0.1.0",
        enforcementLevel: "mandatory",
      },
    },
    {
      sequence: ++seq,
      timestamp: 1_700_000_101,
      summaryEvent: {
        maybeCorrupt: false,
        durationSeconds: 4,
        resourceChanges: { create: 2, update: 1, replace: 1, delete: 1, same: 3 } as any,
        policyPacks: { "shop-guardrails": "0.1.0" },
      },
    },
  ];
}
