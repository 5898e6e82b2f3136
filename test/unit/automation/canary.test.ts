import { strict as assert } from "assert";
import { promotion, releaseLines } from "../../../automation/canary";
import { UsageError } from "../../../automation/errors";

const D = (c: string) => c.repeat(64);
const STABLE = `registry.example.com/shop/gateway@sha256:${D("1")}`;
const CANARY = `registry.example.com/shop/gateway@sha256:${D("9")}`;
const prebuilt = { gateway: STABLE, user: `r/user@sha256:${D("2")}`, product: `r/product@sha256:${D("3")}`, order: `r/order@sha256:${D("4")}` };
const config = (canary: Record<string, unknown>, images: unknown = { prebuilt }) => ({
  "shop:namespace": "shop-prod",
  "shop:routing": { host: "shop.example.com", canary },
  "shop:images": images,
  "shop:secrets": { jwtKey: { secure: "v1:abc" } },
});

describe("promote", () => {
  it("makes the canary's image the stable gateway's and turns the gray release off, keeping the analysis and every other key", () => {
    const p = promotion(config({ enabled: true, image: CANARY, analysis: { steps: [5, 50, 100] } }), "prod");
    assert.equal(p.image, CANARY);
    assert.deepEqual(p.config["shop:images"], { prebuilt: { ...prebuilt, gateway: CANARY } });
    assert.deepEqual(p.config["shop:routing"], { host: "shop.example.com", canary: { enabled: false, analysis: { steps: [5, 50, 100] } } });
    assert.deepEqual(p.config["shop:secrets"], { jwtKey: { secure: "v1:abc" } }, "encrypted values are kept as they are");
    assert.equal(p.config["shop:namespace"], "shop-prod");
    assert.deepEqual(p.changes, [
      `shop:images.prebuilt.gateway: ${STABLE} -> ${CANARY}`,
      "shop:routing.canary.enabled: true -> false",
      "shop:routing.canary.image: removed",
    ]);
  });

  it("refuses a stack without a gray release", () => {
    assert.throws(() => promotion(config({ enabled: false, image: CANARY }), "prod"), (e: unknown) => e instanceof UsageError && /stack prod runs no gray release/.test(e.message));
    assert.throws(() => promotion({}, "dev"), /runs no gray release \(shop:routing\.canary\.enabled is not true\)/);
  });

  it("refuses a canary that runs the stable image", () => {
    assert.throws(() => promotion(config({ enabled: true }), "prod"), /no shop:routing\.canary\.image\): nothing to promote/);
  });

  it("refuses a stack that builds its images", () => {
    assert.throws(() => promotion(config({ enabled: true, image: CANARY }, { build: {} }), "dev"), /builds its images from services\/ \(no shop:images\.prebuilt\)/);
  });
});

describe("status", () => {
  const item = (status: Record<string, unknown>, generation = 2) => ({
    metadata: { name: "gateway", generation },
    spec: { steps: [5, 25, 50, 100], analysis: { failureLimit: 1 } },
    status,
  });

  it("shows phase, step, weight, failed checks and the last analysis of each release", () => {
    const lines = releaseLines({
      items: [
        item({
          phase: "Progressing",
          currentStep: 1,
          weight: 25,
          failedChecks: 0,
          observedGeneration: 2,
          message: "step 2 of 4",
          lastAnalysis: [
            { name: "success-rate", value: "0.998", threshold: "0.99", direction: "Min", passed: true },
            { name: "p99-latency", value: "0.7", threshold: "0.5", direction: "Max", passed: false },
            { name: "other", threshold: "1", direction: "Min", passed: false, error: "no data" },
          ],
        }),
      ],
    });
    assert.deepEqual(lines, [
      "gateway: Progressing, step 2/4 (5, 25, 50, 100), canary weight 25%, failed checks 0/1",
      "  step 2 of 4",
      "  success-rate: 0.998 (threshold >= 0.99) pass",
      "  p99-latency: 0.7 (threshold <= 0.5) fail",
      "  other: - (threshold >= 1) error: no data",
    ]);
  });

  it("says when the status is for an older spec, and when nothing was reconciled yet", () => {
    assert.match(releaseLines({ items: [item({ phase: "Aborted", currentStep: 0, weight: 0, failedChecks: 2, observedGeneration: 1 })] })[0], /Aborted, .*failed checks 2\/1 \[status is for an older spec\]$/);
    assert.match(releaseLines({ items: [item({})] })[0], /^gateway: Pending \(not reconciled yet\), steps 5, 25, 50, 100, canary weight 0%/);
  });

  it("says so when the namespace has no release", () => {
    assert.deepEqual(releaseLines({ items: [] }), ["no CanaryRelease in the namespace (shop:routing.canary.analysis and enabled create one)"]);
  });
});
