import { strict as assert } from "assert";
import { EventCollector } from "../../../automation/events";
import { cell, renderPreviewMarkdown, short, valueAt } from "../../../automation/markdown";
import { previewEvents } from "./fixtures";

function render(succeeded = true, error?: string): string {
  const c = new EventCollector(() => 0);
  for (const e of previewEvents()) c.handle(e);
  return renderPreviewMarkdown({ project: "shop", stack: "dev", report: c.report, succeeded, error });
}

describe("preview Markdown", () => {
  it("opens with the stack and the change summary", () => {
    const md = render();
    assert.match(md, /^### ✅ Pulumi preview of `shop\/dev`\n\n\*\*2\*\* to create · \*\*1\*\* to update · \*\*1\*\* to replace · \*\*1\*\* to delete · 3 unchanged\n/);
  });

  it("lists each changing resource once, creates first, and leaves unchanged ones out", () => {
    const rows = render().split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Operation") && !l.startsWith("| ---"));
    assert.deepEqual(rows, [
      "| create | `order-deployment` | `kubernetes:apps/v1:Deployment` |  |",
      "| create | `order\\|config` | `kubernetes:core/v1:ConfigMap` |  |",
      '| update | `gateway-deployment` | `kubernetes:apps/v1:Deployment` | `spec.paused`, `spec.replicas`, `spec.template.metadata.annotations["checksum/config"]` |',
      "| replace | `user-secret` | `kubernetes:core/v1:Secret` | `metadata.name` |",
      "| delete | `gateway-hpa` | `kubernetes:autoscaling/v2:HorizontalPodAutoscaler` |  |",
    ]);
  });

  it("shows the per-resource diff with old and new values", () => {
    const md = render();
    const diff = md.slice(md.indexOf("```diff"), md.lastIndexOf("```"));
    assert.ok(diff.includes("~ kubernetes:apps/v1:Deployment gateway-deployment"), diff);
    assert.ok(diff.includes("~   spec.replicas: 1 => 3"), diff);
    assert.ok(diff.includes('~   spec.template.metadata.annotations["checksum/config"]: "aaa" => "bbb"'), diff);
    assert.ok(diff.includes("+   spec.paused: false"), diff);
    assert.ok(diff.includes('~   metadata.name: "user-a" => "user-b" (forces replacement)'), diff);
    assert.ok(diff.includes("- kubernetes:autoscaling/v2:HorizontalPodAutoscaler gateway-hpa"), diff);
  });

  it("reports policy violations with pack, policy, resource and message", () => {
    assert.ok(
      render().includes(
        '- **mandatory** `shop-guardrails/no-secrets-in-configmaps` on `order|config`: ConfigMap order-config has secret-looking keys "API_TOKEN": put them in a Secret _(ConfigMaps hold no secret-looking keys.)_',
      ),
    );
  });

  it("names the policy packs that ran and counts their violations", () => {
    assert.ok(render().includes("Policy packs: `shop-guardrails@v0.1.0`: 1 violation."), render());
  });

  it("reads the engine's PascalCase PolicyPacks field too", () => {
    const c = new EventCollector(() => 0);
    for (const e of previewEvents()) {
      if (e.summaryEvent) c.handle({ ...e, summaryEvent: { ...e.summaryEvent, policyPacks: undefined, PolicyPacks: { "shop-guardrails|local|/repo/policy/analyzer.sh": "v0.1.0" } } as any });
      else if (!e.policyEvent) c.handle(e);
    }
    const md = renderPreviewMarkdown({ project: "shop", stack: "dev", report: c.report, succeeded: true });
    assert.ok(md.includes("Policy packs: `shop-guardrails@v0.1.0`: no violations."), md);
  });

  it("says when the preview failed and why", () => {
    const md = render(false, "\n  error: preview failed\nmore");
    assert.match(md, /^### ❌ Pulumi preview/);
    assert.ok(md.includes("> **The preview failed**: error: preview failed"));
  });

  it("says so when nothing changes", () => {
    const c = new EventCollector(() => 0);
    for (const e of previewEvents().slice(0, 6)) c.handle(e);
    const md = renderPreviewMarkdown({ project: "shop", stack: "dev", report: c.report, succeeded: true });
    assert.ok(md.includes("No resource changes."));
    assert.ok(!md.includes("<details>"));
  });
});

describe("Markdown helpers", () => {
  it("escapes table cells", () => {
    assert.equal(cell("a|b\nc"), "a\\|b c");
  });
  it("reads property paths with indexes and quoted keys", () => {
    const obj = { spec: { containers: [{ env: { "a.b": 1 } }] } };
    assert.equal(valueAt(obj, 'spec.containers[0].env["a.b"]'), 1);
    assert.equal(valueAt(obj, "spec.missing.deeper"), undefined);
  });
  it("shortens long values", () => {
    assert.equal(short("x".repeat(200), 10).length, 10);
    assert.equal(short(undefined), "(none)");
  });
});
