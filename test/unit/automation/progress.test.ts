import { strict as assert } from "assert";
import { EventCollector, nameOfUrn, plain } from "../../../automation/events";
import { phasesLine, ProgressPrinter, summaryLine } from "../../../automation/progress";
import { previewEvents } from "./fixtures";

describe("engine event collection", () => {
  it("keeps one step per resource, a replace over its halves", () => {
    const c = new EventCollector(() => 0);
    for (const e of previewEvents()) c.handle(e);
    const secret = c.report.steps.filter((s) => s.name === "user-secret");
    assert.deepEqual(secret.map((s) => s.op), ["replace"]);
    assert.equal(c.report.steps.length, 8);
    assert.equal(c.report.policyViolations.length, 1);
  });
  it("reads names out of URNs and strips colours", () => {
    assert.equal(nameOfUrn("urn:pulumi:dev::shop::kubernetes:core/v1:Namespace::shop-dev"), "shop-dev");
    assert.equal(plain("\u001b[31merror\u001b[0m  "), "error");
  });
});

describe("progress output", () => {
  it("prints each finished change with its duration and skips unchanged resources", () => {
    const lines: string[] = [];
    let t = 0;
    const p = new ProgressPrinter((l) => lines.push(l), false, () => (t += 500));
    for (const e of previewEvents()) p.onEvent(e);
    const changes = lines.filter((l) => !l.includes("policy"));
    // A replace shows its create-replacement half too, as the engine runs it.
    assert.equal(changes.length, 6, lines.join("\n"));
    assert.ok(changes.some((l) => /^ {2}\+- replace +kubernetes:core\/v1:Secret {2}user-secret \[metadata\] \(0\.5s\)$/.test(l)), lines.join("\n"));
    assert.match(changes[0], /^ {2}\+ {2}create +kubernetes:apps\/v1:Deployment {2}order-deployment \(0\.5s\)$/);
    assert.ok(
      lines.includes('  policy mandatory shop-guardrails/no-secrets-in-configmaps (order|config): ConfigMap order-config has secret-looking keys "API_TOKEN": put them in a Secret'),
      lines.join("\n"),
    );
  });
  it("shows only the drifted resources of a refresh", () => {
    const lines: string[] = [];
    const p = new ProgressPrinter((l) => lines.push(l), false, () => 0);
    const step = (name: string, diffs?: string[]) => {
      const metadata: any = { op: "refresh", urn: `urn:pulumi:dev::shop::kubernetes:core/v1:ConfigMap::${name}`, type: "kubernetes:core/v1:ConfigMap", provider: "", diffs };
      p.onEvent({ sequence: 1, timestamp: 1, resourcePreEvent: { metadata } });
      p.onEvent({ sequence: 2, timestamp: 2, resOutputsEvent: { metadata } });
    };
    step("unchanged");
    step("drifted", ["data"]);
    assert.deepEqual(lines, ["  ~  refresh            kubernetes:core/v1:ConfigMap  drifted [data] (0.0s)"]);
  });

  it("summarises counts and duration, as planned or as done", () => {
    const c = new EventCollector(() => 0);
    for (const e of previewEvents()) c.handle(e);
    assert.equal(summaryLine(c.report, 12.34, false), "2 created, 1 updated, 1 replaced, 1 deleted, 3 unchanged in 12.3s");
    assert.equal(summaryLine(c.report, 1, true), "2 to create, 1 to update, 1 to replace, 1 to delete, 3 unchanged in 1.0s");
  });
  it("counts the steps when the engine sent no summary", () => {
    const c = new EventCollector(() => 0);
    for (const e of previewEvents().filter((e) => !e.summaryEvent)) c.handle(e);
    assert.equal(summaryLine(c.report, 0, false), "2 created, 1 updated, 1 replaced, 1 deleted, 3 unchanged in 0.0s");
  });

  it("splits an update's wall time at its events: setup, engine start, program, providers, resources, state, exit", () => {
    let t = 10_000;
    const c = new EventCollector(() => t);
    const meta = (type: string, name: string): any => ({ op: "same", urn: `urn:pulumi:dev::shop::${type}::${name}`, type, provider: "" });
    const at = (ms: number, e: any) => {
      t = ms;
      c.handle({ sequence: 0, timestamp: 0, ...e });
    };
    at(11_000, { preludeEvent: { config: {} } });
    at(12_500, { resourcePreEvent: { metadata: meta("pulumi:pulumi:Stack", "shop-dev") } });
    at(13_000, { resourcePreEvent: { metadata: meta("pulumi:providers:kubernetes", "k8s") } });
    at(13_100, { resOutputsEvent: { metadata: meta("pulumi:providers:kubernetes", "k8s") } });
    at(14_000, { resourcePreEvent: { metadata: meta("kubernetes:core/v1:Namespace", "ns") } });
    at(14_200, { resOutputsEvent: { metadata: meta("kubernetes:core/v1:Namespace", "ns") } });
    at(14_300, { resourcePreEvent: { metadata: meta("kubernetes:apps/v1:Deployment", "d") } });
    at(15_000, { resOutputsEvent: { metadata: meta("kubernetes:apps/v1:Deployment", "d") } });
    at(15_100, { resOutputsEvent: { metadata: meta("pulumi:pulumi:Stack", "shop-dev") } });
    at(15_600, { summaryEvent: { maybeCorrupt: false, durationSeconds: 4, resourceChanges: { same: 4 }, policyPacks: {} } });
    assert.equal(
      phasesLine({ cli: 9_000, op: 10_200, end: 16_000 }, c.report.marks),
      "setup 1.2s, engine start 0.8s, program start 1.5s, program and providers 1.5s, resources 1.0s, state 0.6s, exit 0.4s",
    );
    // A failed program reaches no resource: the phases it did not reach are left out.
    assert.equal(phasesLine({ cli: 0, op: 1000, end: 3000 }, { prelude: 2000 }), "setup 1.0s, engine start 1.0s, exit 1.0s");
  });
});
