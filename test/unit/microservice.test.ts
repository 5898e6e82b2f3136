import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { goMemLimit, imageVersion, MicroService, MicroServiceArgs, rolloutTimeoutSeconds } from "../../components/microservice";
import { VERSION_ENV } from "../../contracts";

const IMAGE = `127.0.0.1:5000/shop/product@sha256:${"b".repeat(64)}`;

function args(provider: k8s.Provider, over: Partial<MicroServiceArgs> = {}): MicroServiceArgs {
  return {
    namespace: "shop-test",
    provider,
    binary: "product",
    image: IMAGE,
    replicas: 2,
    resources: { cpu: "100m", memory: "64Mi", cpuLimit: "500m", memoryLimit: "256Mi" },
    env: { LOG_LEVEL: "info", CACHE_TTL: "60s" },
    secretEnv: { JWT_SECRET: pulumi.secret("s3cret-value-for-tests") },
    envFromSecrets: ["product-connection"],
    ...over,
  };
}

/** Creates one MicroService named `name` and returns its recorded Deployment. */
async function deploy(over: Partial<MicroServiceArgs> = {}, name = "product") {
  await h.reset("dev");
  const provider = new k8s.Provider("test-k8s", {});
  const svc = new MicroService(name, args(provider, over));
  await h.settle();
  return { svc, deployment: h.named(`${name}-deployment`).inputs };
}

describe("MicroService", () => {
  it("runs as non-root with a read-only root filesystem, no privilege escalation and all capabilities dropped", async () => {
    const { deployment } = await deploy();
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    assert.strictEqual(pod.securityContext.runAsNonRoot, true);
    assert.strictEqual(pod.securityContext.runAsUser, 65532);
    assert.strictEqual(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
    assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"]);
  });

  it("pins the container image by digest", async () => {
    const { deployment } = await deploy();
    assert.strictEqual(deployment.spec.template.spec.containers[0].image, IMAGE);
  });

  it("rolls one pod at a time without ever going below the replica count", async () => {
    const { deployment } = await deploy();
    assert.deepStrictEqual(deployment.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    assert.strictEqual(deployment.spec.replicas, 2);
  });

  it(`sets ${VERSION_ENV} to the image's digest, the version the service reports`, async () => {
    const c = (await deploy()).deployment.spec.template.spec.containers[0];
    assert.deepStrictEqual(c.env.find((e: any) => e.name === VERSION_ENV), { name: VERSION_ENV, value: `sha256:${"b".repeat(64)}` });
    const other = `registry.example.com/team/shop/order@sha256:${"c".repeat(64)}`;
    const c2 = (await deploy({ image: other })).deployment.spec.template.spec.containers[0];
    assert.strictEqual(c2.env.find((e: any) => e.name === VERSION_ENV).value, `sha256:${"c".repeat(64)}`);
  });

  it("refuses to derive a version from an image that is not pinned by digest", () => {
    for (const ref of ["127.0.0.1:5000/shop/product:latest", "product", `product@sha256:${"b".repeat(63)}`]) {
      assert.throws(() => imageVersion(ref), /is not pinned by digest/, ref);
    }
  });

  describe("rollout bounds", () => {
    /** The Deployment's spec and resource options for `over`. */
    async function rollout(over: Partial<MicroServiceArgs>) {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      let opts: pulumi.CustomResourceOptions | undefined;
      const capture: pulumi.ResourceTransformation = (a) => {
        if (a.type === "kubernetes:apps/v1:Deployment") opts = a.opts;
        return undefined;
      };
      new MicroService("product", args(provider, over), { transformations: [capture] });
      await h.settle();
      return { spec: h.named("product-deployment").inputs.spec, timeouts: opts?.customTimeouts };
    }

    const cases: { name: string; over: Partial<MicroServiceArgs>; deadline: number; wait: string }[] = [
      { name: "defaults, 2 replicas", over: {}, deadline: 120, wait: "180s" },
      { name: "a deadline of 60s, 1 replica", over: { replicas: 1, progressDeadlineSeconds: 60 }, deadline: 60, wait: "90s" },
      { name: "an HPA up to 10 pods", over: { autoscaling: { minReplicas: 3, maxReplicas: 10, cpuPercent: 70 }, progressDeadlineSeconds: 300 }, deadline: 300, wait: "600s" },
    ];
    for (const c of cases) {
      it(`${c.name}: progressDeadlineSeconds ${c.deadline}, and up waits ${c.wait} for the rollout`, async () => {
        const { spec, timeouts } = await rollout(c.over);
        assert.strictEqual(spec.progressDeadlineSeconds, c.deadline);
        assert.deepStrictEqual(timeouts, { create: c.wait, update: c.wait });
        assert.deepStrictEqual(spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
      });
    }

    it("waits longer than the deadline, so the provider's error carries ProgressDeadlineExceeded", () => {
      for (const [deadline, pods] of [[30, 1], [120, 3], [3600, 100]]) {
        const wait = rolloutTimeoutSeconds(deadline, pods);
        assert.ok(wait > deadline && wait <= deadline + 30 * pods, `${deadline}s, ${pods} pods: ${wait}s`);
      }
    });

    it("refuses a deadline that is not a positive whole number", async () => {
      await h.reset("dev");
      const provider = new k8s.Provider("test-k8s", {});
      assert.throws(() => new MicroService("product", args(provider, { progressDeadlineSeconds: 0 })), /progressDeadlineSeconds must be a whole number >= 1/);
    });
  });

  it("probes /healthz for liveness and startup and /readyz for readiness", async () => {
    const c = (await deploy()).deployment.spec.template.spec.containers[0];
    assert.strictEqual(c.livenessProbe.httpGet.path, "/healthz");
    assert.strictEqual(c.startupProbe.httpGet.path, "/healthz");
    assert.strictEqual(c.readinessProbe.httpGet.path, "/readyz");
    assert.strictEqual(c.ports[0].containerPort, 8080);
  });

  it("restarts a pod only after a minute of failed liveness checks, so a saturated node does not restart healthy pods", async () => {
    const c = (await deploy()).deployment.spec.template.spec.containers[0];
    const { periodSeconds, failureThreshold, timeoutSeconds } = c.livenessProbe;
    assert.ok(periodSeconds * failureThreshold >= 60, `liveness gives up after ${periodSeconds * failureThreshold}s`);
    assert.ok(timeoutSeconds >= 5, `liveness timeout ${timeoutSeconds}s`);
    assert.ok(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold <= 10, "readiness stays quick");
  });

  it("sets requests and limits, and GOMEMLIMIT to 90% of the memory limit so the GC works before the OOM killer", async () => {
    const c = (await deploy()).deployment.spec.template.spec.containers[0];
    assert.deepStrictEqual(c.resources, { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
    const gomem = c.env.find((e: any) => e.name === "GOMEMLIMIT");
    // 256Mi * 0.9 = 230.4MiB, rounded down to whole MiB.
    assert.deepStrictEqual(gomem, { name: "GOMEMLIMIT", value: "230MiB" });
  });

  it("derives GOMEMLIMIT from the limit with about 10% headroom, in whole MiB", () => {
    const cases: [string, string][] = [["128Mi", "115MiB"], ["512Mi", "460MiB"], ["1Gi", "921MiB"], ["2Gi", "1843MiB"], ["262144Ki", "230MiB"]];
    for (const [limit, want] of cases) {
      assert.strictEqual(goMemLimit(limit), want, limit);
      const mib = Number(want.replace("MiB", ""));
      const limitMiB = Number(limit.replace(/(Ki|Mi|Gi)$/, "")) * ({ Ki: 1 / 1024, Mi: 1, Gi: 1024 } as any)[limit.slice(-2)];
      assert.ok(mib < limitMiB * 0.9 + 1 && mib >= limitMiB * 0.9 - 1, `${limit}: ${want} is not about 90%`);
    }
    assert.throws(() => goMemLimit("1G"), /binary suffix/);
  });

  it("refuses a memory limit it cannot derive GOMEMLIMIT from, naming the field", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    assert.throws(() => new MicroService("product", args(provider, { resources: { cpu: "100m", memory: "64Mi", cpuLimit: "500m", memoryLimit: "256M" } })), /resources\.memoryLimit/);
  });

  it("drains with a preStop sleep handler (no shell in the image) inside the grace period", async () => {
    const pod = (await deploy({ preStopSeconds: 7, terminationGracePeriodSeconds: 40 })).deployment.spec.template.spec;
    assert.deepStrictEqual(pod.containers[0].lifecycle.preStop, { sleep: { seconds: 7 } });
    assert.strictEqual(pod.terminationGracePeriodSeconds, 40);
  });

  it("carries prometheus scrape annotations on the pods", async () => {
    const a = (await deploy()).deployment.spec.template.metadata.annotations;
    assert.strictEqual(a["prometheus.io/scrape"], "true");
    assert.strictEqual(a["prometheus.io/port"], "8080");
    assert.strictEqual(a["prometheus.io/path"], "/metrics");
  });

  it("uses its own ServiceAccount without a token", async () => {
    const { deployment } = await deploy();
    const sa = h.named("product-sa").inputs;
    assert.strictEqual(sa.automountServiceAccountToken, false);
    assert.strictEqual(deployment.spec.template.spec.automountServiceAccountToken, false);
    assert.strictEqual(deployment.spec.template.spec.serviceAccountName, "product");
  });

  it("keeps plain env in a ConfigMap and secret env in a Secret sent as a secret", async () => {
    const { deployment } = await deploy();
    const cm = h.named("product-config").inputs;
    const secret = h.named("product-secret").inputs;
    assert.deepStrictEqual(cm.data, { LOG_LEVEL: "info", CACHE_TTL: "60s" });
    assert.ok(h.isSecretInput(secret.stringData), "the Secret's data is not a Pulumi secret");
    assert.strictEqual(h.plain(secret.stringData).JWT_SECRET, "s3cret-value-for-tests");
    const refs = deployment.spec.template.spec.containers[0].envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name);
    assert.deepStrictEqual(refs, ["product-config-auto", "product-secret-auto", "product-connection"]);
  });

  it("rolls the pods when the config changes, and only then", async () => {
    const a = (await deploy()).deployment.spec.template;
    const same = (await deploy()).deployment.spec.template;
    const changed = (await deploy({ env: { LOG_LEVEL: "debug", CACHE_TTL: "60s" } })).deployment.spec.template;
    assert.deepStrictEqual(same, a);
    assert.notStrictEqual(changed.metadata.annotations["checksum/config"], a.metadata.annotations["checksum/config"]);
  });

  it("gives a PodDisruptionBudget of replicas - 1 by default, or the configured minAvailable", async () => {
    await deploy({ replicas: 3 });
    assert.strictEqual(h.named("product-pdb").inputs.spec.minAvailable, 2);
    await deploy({ replicas: 1 });
    assert.strictEqual(h.named("product-pdb").inputs.spec.maxUnavailable, 1);
    await deploy({ replicas: 5, minAvailable: 3 });
    assert.strictEqual(h.named("product-pdb").inputs.spec.minAvailable, 3);
  });

  it("scales on CPU with an autoscaling/v2 HPA and leaves the replica count to it", async () => {
    const { deployment } = await deploy({ autoscaling: { minReplicas: 3, maxReplicas: 10, cpuPercent: 70 } });
    const hpa = h.named("product-hpa");
    assert.strictEqual(hpa.type, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    assert.strictEqual(hpa.inputs.spec.minReplicas, 3);
    assert.strictEqual(hpa.inputs.spec.maxReplicas, 10);
    assert.strictEqual(hpa.inputs.spec.metrics[0].resource.target.averageUtilization, 70);
    assert.strictEqual(hpa.inputs.spec.scaleTargetRef.name, "product");
    assert.strictEqual(deployment.spec.replicas, undefined);
  });

  it("leaves the HPA's behavior to Kubernetes unless a scale-down window is given", async () => {
    await deploy({ autoscaling: { minReplicas: 1, maxReplicas: 3, cpuPercent: 20 } });
    assert.strictEqual(h.named("product-hpa").inputs.spec.behavior, undefined);
    await deploy({ autoscaling: { minReplicas: 1, maxReplicas: 3, cpuPercent: 20, scaleDownStabilizationSeconds: 20 } });
    assert.deepStrictEqual(h.named("product-hpa").inputs.spec.behavior, { scaleDown: { stabilizationWindowSeconds: 20 } });
    await deploy({ autoscaling: { minReplicas: 1, maxReplicas: 3, cpuPercent: 20, scaleDownStabilizationSeconds: 0 } });
    assert.deepStrictEqual(h.named("product-hpa").inputs.spec.behavior, { scaleDown: { stabilizationWindowSeconds: 0 } });
  });

  it("creates no HPA without autoscaling", async () => {
    await deploy();
    assert.strictEqual(h.ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").length, 0);
  });

  it("spreads pods across zones and nodes when asked, best effort", async () => {
    const spread = (await deploy({ spreadTopology: true })).deployment.spec.template.spec.topologySpreadConstraints;
    assert.deepStrictEqual(spread.map((c: any) => c.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
    assert.ok(spread.every((c: any) => c.whenUnsatisfiable === "ScheduleAnyway" && c.maxSkew === 1));
    const none = (await deploy()).deployment.spec.template.spec.topologySpreadConstraints;
    assert.strictEqual(none, undefined);
  });

  it("exposes a ClusterIP Service on 8080 selecting only its own pods", async () => {
    const { svc, deployment } = await deploy({ track: "canary" }, "gateway-canary");
    const service = h.named("gateway-canary-service").inputs;
    assert.strictEqual(service.spec.type, "ClusterIP");
    assert.strictEqual(service.spec.ports[0].port, 8080);
    assert.deepStrictEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    assert.strictEqual(service.spec.selector["app.kubernetes.io/instance"], "gateway-canary");
    assert.strictEqual(deployment.spec.template.metadata.labels.track, "canary");
    assert.strictEqual(await h.promiseOf(svc.endpoint), "http://gateway-canary.shop-test.svc:8080");
  });

  it("names every child after itself and uses the explicit provider", async () => {
    await deploy();
    const children = h.recorded.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(children.length >= 6);
    for (const c of children) {
      assert.ok(c.name.startsWith("product-"), c.name);
      assert.match(c.provider ?? "", /test-k8s/);
    }
  });

  it("rejects a bad name or replica count naming the field", async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    assert.throws(() => new MicroService("Product_1", args(provider)), /MicroService Product_1: name must be a DNS label/);
    assert.throws(() => new MicroService("p2", args(provider, { replicas: 0 })), /p2: replicas must be a whole number >= 1/);
    assert.throws(() => new MicroService("p3", args(provider, { autoscaling: { minReplicas: 4, maxReplicas: 2, cpuPercent: 50 } })), /p3: autoscaling needs 1 <= minReplicas <= maxReplicas/);
    for (const bad of [-1, 2.5, 3601]) {
      assert.throws(() => new MicroService("p4", args(provider, { autoscaling: { minReplicas: 1, maxReplicas: 2, cpuPercent: 50, scaleDownStabilizationSeconds: bad } })),
        /p4: autoscaling\.scaleDownStabilizationSeconds must be a whole number of seconds from 0 to 3600/, String(bad));
    }
  });
});
