import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeResource, parseImage, stackOfUrn } from "./kube";
import {
  PackConfig,
  defaultConfig,
  imagesFromAllowedRegistry,
  imagesPinnedByDigest,
  looksSecret,
  namespacesHavePodSecurity,
  httpRoutesHaveParents,
  noExternalServices,
  noIngressNginxAnnotations,
  noSecretsInConfigMaps,
  probesConfigured,
  prodDeploymentsHighlyAvailable,
  resourcePolicies,
  resourcesRequestedAndLimited,
  restrictedSecurityContext,
  stackPolicies,
} from "./policies";
import { VETTED_IMAGES, packDefaults, registriesOfStacks } from "./defaults";

const DIGEST = "sha256:" + "ab".repeat(32);
const cfg: PackConfig = {
  ...defaultConfig,
  allowedRegistries: ["127.0.0.1:5000", "registry.shop.example.com"],
  vettedImages: ["quay.io/prometheus/prometheus:v2.55.1"],
};

/** A container that satisfies every policy. */
function goodContainer(name = "gateway"): Record<string, any> {
  return {
    name,
    image: `127.0.0.1:5000/shop/${name}@${DIGEST}`,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    },
    livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
    readinessProbe: { httpGet: { path: "/readyz", port: 8080 } },
  };
}

function deployment(opts: { name?: string; stack?: string; replicas?: number; containers?: any[]; labels?: Record<string, string> } = {}): KubeResource {
  const name = opts.name ?? "gateway";
  const labels = opts.labels ?? { app: name };
  return {
    type: "kubernetes:apps/v1:Deployment",
    name: `${name}-deployment`,
    urn: `urn:pulumi:${opts.stack ?? "dev"}::shop::kubernetes:apps/v1:Deployment::${name}-deployment`,
    props: {
      metadata: { name, namespace: "shop" },
      spec: {
        replicas: opts.replicas ?? 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: opts.containers ?? [goodContainer(name)] } },
      },
    },
  };
}

function withContainer(patch: (c: Record<string, any>) => void, type = "kubernetes:apps/v1:Deployment"): KubeResource {
  const c = goodContainer();
  patch(c);
  return { ...deployment({ containers: [c] }), type };
}

describe("policy pack", () => {
  /** For every policy of the pack, resources that break exactly that rule. */
  const BROKEN: Record<string, () => KubeResource[]> = {
    "images-pinned-by-digest": () => [withContainer((c) => (c.image = "127.0.0.1:5000/shop/gateway:v1"))],
    "images-from-allowed-registry": () => [withContainer((c) => (c.image = `ghcr.io/someone/gateway@${DIGEST}`))],
    "containers-have-requests-and-limits": () => [withContainer((c) => delete c.resources.limits)],
    "containers-run-restricted": () => [withContainer((c) => (c.securityContext.allowPrivilegeEscalation = true))],
    "containers-have-probes": () => [withContainer((c) => delete c.readinessProbe)],
    "no-loadbalancer-or-nodeport-services": () => [
      { type: "kubernetes:core/v1:Service", name: "gateway", props: { metadata: { name: "gateway" }, spec: { type: "LoadBalancer" } } },
    ],
    "no-secrets-in-configmaps": () => [{ type: "kubernetes:core/v1:ConfigMap", name: "cfg", props: { metadata: { name: "cfg" }, data: { DB_PASSWORD: "x" } } }],
    "namespaces-have-pod-security-labels": () => [{ type: "kubernetes:core/v1:Namespace", name: "ns", props: { metadata: { name: "shop", labels: {} } } }],
    "prod-deployments-ha": () => [deployment({ stack: "prod", replicas: 1 })],
    "no-ingress-nginx-annotations": () => [
      { type: "kubernetes:core/v1:Service", name: "gateway", props: { metadata: { name: "gateway", annotations: { "nginx.ingress.kubernetes.io/canary": "true" } }, spec: { type: "ClusterIP" } } },
    ],
    "httproutes-have-parent-refs": () => [
      { type: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", name: "api", props: { metadata: { name: "api" }, spec: { hostnames: ["shop.localhost"], rules: [] } } },
    ],
  };

  it("proves every policy it enforces: each one rejects a resource made to break its rule, and only that one", () => {
    const names = [...resourcePolicies, ...stackPolicies].map((p) => p.name);
    assert.equal(new Set(names).size, names.length, "two policies share a name");
    assert.deepEqual([...names].sort(), Object.keys(BROKEN).sort(), "a policy without a broken example (or an example without its policy)");
    for (const name of names) {
      const resources = BROKEN[name]();
      const found = new Set<string>();
      for (const r of resources) for (const p of resourcePolicies) if (p.check(r, cfg).length) found.add(p.name);
      for (const p of stackPolicies) if (p.check(resources, cfg).length) found.add(p.name);
      assert.deepEqual([...found], [name], `breaking ${name} was reported as: ${[...found].join(", ") || "nothing"}`);
    }
  });

  it("finds nothing wrong with a compliant Deployment", () => {
    const d = deployment();
    for (const p of resourcePolicies) assert.deepEqual(p.check(d, cfg), [], p.name);
  });

  it("ignores resources that are not workloads", () => {
    const secret: KubeResource = { type: "kubernetes:core/v1:Secret", name: "s", props: { stringData: { password: "x" } } };
    for (const p of resourcePolicies) assert.deepEqual(p.check(secret, cfg), [], p.name);
  });
});

describe("parseImage", () => {
  it("splits registry, repository, tag and digest", () => {
    assert.deepEqual(parseImage(`127.0.0.1:5000/shop/user:v1@${DIGEST}`), {
      registry: "127.0.0.1:5000",
      repository: "shop/user",
      tag: "v1",
      digest: DIGEST,
    });
  });
  it("defaults to docker.io for bare names", () => {
    assert.equal(parseImage("nginx").registry, "docker.io");
    assert.equal(parseImage("library/nginx:1.27").tag, "1.27");
    assert.equal(parseImage("localhost/x").registry, "localhost");
  });
  it("reads the stack out of a URN", () => {
    assert.equal(stackOfUrn("urn:pulumi:prod::shop::kubernetes:apps/v1:Deployment::x"), "prod");
    assert.equal(stackOfUrn("nonsense"), undefined);
  });
});

describe("images-pinned-by-digest", () => {
  it("rejects the latest tag", () => {
    const msgs = imagesPinnedByDigest.check(withContainer((c) => (c.image = "127.0.0.1:5000/shop/gateway:latest")), cfg);
    assert.ok(msgs.some((m) => m.includes('uses the "latest" tag')), msgs.join("\n"));
  });
  it("rejects a tag without a digest, naming the container and the fix", () => {
    const msgs = imagesPinnedByDigest.check(withContainer((c) => (c.image = "127.0.0.1:5000/shop/gateway:v1.2.3")), cfg);
    assert.deepEqual(msgs, [
      'Deployment gateway: container "gateway" image "127.0.0.1:5000/shop/gateway:v1.2.3" is not pinned by digest: ' +
        "use name@sha256:<64 hex> (or add it to the pack's vettedImages after review)",
    ]);
  });
  it("accepts a reviewed third-party image by its exact reference only", () => {
    assert.deepEqual(imagesPinnedByDigest.check(withContainer((c) => (c.image = "quay.io/prometheus/prometheus:v2.55.1")), cfg), []);
    assert.equal(imagesPinnedByDigest.check(withContainer((c) => (c.image = "quay.io/prometheus/prometheus:v2.56.0")), cfg).length, 1);
    assert.deepEqual(imagesFromAllowedRegistry.check(withContainer((c) => (c.image = "quay.io/prometheus/prometheus:v2.55.1")), cfg), []);
  });
  it("rejects a malformed digest", () => {
    const msgs = imagesPinnedByDigest.check(withContainer((c) => (c.image = "127.0.0.1:5000/shop/gateway@sha256:abc")), cfg);
    assert.equal(msgs.length, 1);
  });
  it("checks init containers and CronJobs too", () => {
    const cron: KubeResource = {
      type: "kubernetes:batch/v1:CronJob",
      name: "backup",
      props: {
        metadata: { name: "backup" },
        spec: { jobTemplate: { spec: { template: { spec: { initContainers: [{ name: "init", image: "busybox" }], containers: [goodContainer("b")] } } } } },
      },
    };
    const msgs = imagesPinnedByDigest.check(cron, cfg);
    assert.deepEqual(msgs, ['CronJob backup: init container "init" uses the "latest" tag (busybox): pin it by digest']);
  });
});

describe("images-from-allowed-registry", () => {
  it("rejects an image from another registry and lists the allowed ones", () => {
    const msgs = imagesFromAllowedRegistry.check(withContainer((c) => (c.image = `docker.io/library/nginx@${DIGEST}`)), cfg);
    assert.deepEqual(msgs, [
      `Deployment gateway: container "gateway" image "docker.io/library/nginx@${DIGEST}" is from registry "docker.io", ` +
        "allowed: 127.0.0.1:5000, registry.shop.example.com",
    ]);
  });
  it("accepts every configured registry", () => {
    const r = withContainer((c) => (c.image = `registry.shop.example.com/shop/gateway@${DIGEST}`));
    assert.deepEqual(imagesFromAllowedRegistry.check(r, cfg), []);
  });
});

describe("containers-have-requests-and-limits", () => {
  it("names each missing request and limit", () => {
    const msgs = resourcesRequestedAndLimited.check(
      withContainer((c) => (c.resources = { requests: { cpu: "10m" }, limits: { memory: "64Mi" } })),
      cfg,
    );
    assert.deepEqual(msgs, ['Deployment gateway: container "gateway" has no resources.requests.memory, resources.limits.cpu']);
  });
  it("rejects a container without any resources", () => {
    const msgs = resourcesRequestedAndLimited.check(withContainer((c) => delete c.resources), cfg);
    assert.match(msgs[0], /requests\.cpu, resources\.requests\.memory, resources\.limits\.cpu, resources\.limits\.memory/);
  });
});

describe("containers-run-restricted", () => {
  it("accepts runAsNonRoot set on the pod instead of the container", () => {
    const d = withContainer((c) => delete c.securityContext.runAsNonRoot);
    d.props.spec.template.spec.securityContext = { runAsNonRoot: true };
    assert.deepEqual(restrictedSecurityContext.check(d, cfg), []);
  });
  it("lists every missing hardening setting", () => {
    const msgs = restrictedSecurityContext.check(withContainer((c) => (c.securityContext = { runAsUser: 0, privileged: true })), cfg);
    assert.deepEqual(msgs, [
      'Deployment gateway: container "gateway": runAsNonRoot is not true; runAsUser is 0 (root); privileged is true; ' +
        "readOnlyRootFilesystem is not true; allowPrivilegeEscalation is not false; capabilities.drop does not include ALL",
    ]);
  });
  it("rejects capabilities that drop less than ALL", () => {
    const msgs = restrictedSecurityContext.check(withContainer((c) => (c.securityContext.capabilities = { drop: ["NET_RAW"] })), cfg);
    assert.match(msgs[0], /capabilities\.drop does not include ALL/);
  });
});

describe("reviewed exceptions", () => {
  const exceptions: PackConfig = { ...cfg, privilegedNamespaces: ["*-observability"], rootAllowed: ["DaemonSet/*fluent-bit"], haExempt: ["Deployment/*grafana"] };
  it("let a listed namespace enforce privileged, and no other", () => {
    const ns = (name: string): KubeResource => ({
      type: "kubernetes:core/v1:Namespace",
      name,
      props: { metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
    });
    assert.deepEqual(namespacesHavePodSecurity.check(ns("shop-prod-observability"), exceptions), []);
    assert.equal(namespacesHavePodSecurity.check(ns("shop-prod"), exceptions).length, 1);
  });
  it("let a listed workload run as root but keep every other hardening rule", () => {
    const ds: KubeResource = { ...withContainer((c) => (c.securityContext = { runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } })), type: "kubernetes:apps/v1:DaemonSet" };
    ds.props.metadata.name = "logging-fluent-bit";
    assert.deepEqual(restrictedSecurityContext.check(ds, exceptions), []);
    ds.props.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    assert.deepEqual(restrictedSecurityContext.check(ds, exceptions), ['DaemonSet logging-fluent-bit: container "gateway": allowPrivilegeEscalation is not false']);
    ds.props.metadata.name = "gateway";
    assert.match(restrictedSecurityContext.check(ds, exceptions)[0], /runAsNonRoot is not true; runAsUser is 0/);
  });
  it("let a listed prod singleton skip the replica and PDB rule", () => {
    const grafana = deployment({ name: "monitoring-grafana", stack: "prod", replicas: 1 });
    assert.deepEqual(prodDeploymentsHighlyAvailable.check([grafana], exceptions), []);
    assert.equal(prodDeploymentsHighlyAvailable.check([deployment({ name: "gateway", stack: "prod", replicas: 1 })], exceptions).length, 2);
  });
});

describe("containers-have-probes", () => {
  it("requires liveness and readiness probes on long-running workloads", () => {
    const msgs = probesConfigured.check(withContainer((c) => (delete c.livenessProbe, delete c.readinessProbe)), cfg);
    assert.deepEqual(msgs, ['Deployment gateway: container "gateway" has no livenessProbe and no readinessProbe']);
  });
  it("applies to StatefulSets and DaemonSets", () => {
    for (const type of ["kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"]) {
      assert.equal(probesConfigured.check(withContainer((c) => delete c.readinessProbe, type), cfg).length, 1, type);
    }
  });
  it("does not require probes on Jobs or init containers", () => {
    assert.deepEqual(probesConfigured.check(withContainer((c) => delete c.livenessProbe, "kubernetes:batch/v1:Job"), cfg), []);
    const d = deployment();
    d.props.spec.template.spec.initContainers = [{ name: "migrate", image: "x" }];
    assert.deepEqual(probesConfigured.check(d, cfg), []);
  });
});

describe("no-loadbalancer-or-nodeport-services", () => {
  const svc = (type: string, labels: Record<string, string> = {}): KubeResource => ({
    type: "kubernetes:core/v1:Service",
    name: "gateway-svc",
    props: { metadata: { name: "gateway", labels }, spec: { type } },
  });
  it("rejects LoadBalancer and NodePort services", () => {
    assert.deepEqual(noExternalServices.check(svc("LoadBalancer"), cfg), [
      "Service gateway is of type LoadBalancer: only the ingress controller may be exposed this way, use ClusterIP",
    ]);
    assert.equal(noExternalServices.check(svc("NodePort"), cfg).length, 1);
  });
  it("accepts ClusterIP services and the ingress controller's service", () => {
    assert.deepEqual(noExternalServices.check(svc("ClusterIP"), cfg), []);
    assert.deepEqual(noExternalServices.check(svc("LoadBalancer", { "app.kubernetes.io/name": "ingress-nginx" }), cfg), []);
  });
});

describe("no-secrets-in-configmaps", () => {
  const cm = (data: Record<string, string>): KubeResource => ({
    type: "kubernetes:core/v1:ConfigMap",
    name: "gateway-config",
    props: { metadata: { name: "gateway-config" }, data },
  });
  it("rejects secret-looking keys, naming them", () => {
    const msgs = noSecretsInConfigMaps.check(cm({ LOG_LEVEL: "info", MYSQL_PASSWORD: "x", API_TOKEN: "y" }), cfg);
    assert.deepEqual(msgs, ['ConfigMap gateway-config has secret-looking keys "MYSQL_PASSWORD", "API_TOKEN": put them in a Secret']);
  });
  it("accepts the services' ordinary settings and references to secrets", () => {
    for (const k of ["MYSQL_HOST", "MYSQL_USER", "JWT_TTL", "REDIS_ADDR", "RABBITMQ_VHOST", "TLS_SECRET_NAME", "JWT_SECRET_FILE", "tokenizer"]) {
      assert.equal(looksSecret(k), false, k);
    }
    for (const k of ["JWT_SECRET", "REDIS_PASSWORD", "stripe-api-key", "aws_access_key", "credentials", "private_key"]) {
      assert.equal(looksSecret(k), true, k);
    }
  });
});

describe("namespaces-have-pod-security-labels", () => {
  const ns = (labels?: Record<string, string>): KubeResource => ({
    type: "kubernetes:core/v1:Namespace",
    name: "ns",
    props: { metadata: { name: "shop-dev", labels } },
  });
  it("rejects a namespace without the enforce label", () => {
    assert.deepEqual(namespacesHavePodSecurity.check(ns({ team: "shop" }), cfg), [
      "Namespace shop-dev has no pod-security.kubernetes.io/enforce label",
    ]);
  });
  it("rejects the privileged level", () => {
    assert.deepEqual(namespacesHavePodSecurity.check(ns({ "pod-security.kubernetes.io/enforce": "privileged" }), cfg), [
      'Namespace shop-dev enforces Pod Security level "privileged", allowed: restricted, baseline',
    ]);
  });
  it("accepts restricted", () => {
    assert.deepEqual(namespacesHavePodSecurity.check(ns({ "pod-security.kubernetes.io/enforce": "restricted" }), cfg), []);
  });
});

describe("prod-deployments-ha", () => {
  const pdb = (stack: string, labels: Record<string, string>): KubeResource => ({
    type: "kubernetes:policy/v1:PodDisruptionBudget",
    name: "pdb",
    urn: `urn:pulumi:${stack}::shop::kubernetes:policy/v1:PodDisruptionBudget::pdb`,
    props: { metadata: { namespace: "shop" }, spec: { minAvailable: 2, selector: { matchLabels: labels } } },
  });
  const hpa = (stack: string, target: string, minReplicas: number): KubeResource => ({
    type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    name: "hpa",
    urn: `urn:pulumi:${stack}::shop::kubernetes:autoscaling/v2:HorizontalPodAutoscaler::hpa`,
    props: { metadata: { namespace: "shop" }, spec: { minReplicas, maxReplicas: 10, scaleTargetRef: { kind: "Deployment", name: target } } },
  });

  it("rejects a single-replica prod Deployment without a PDB with both messages", () => {
    const d = deployment({ stack: "prod", replicas: 1 });
    assert.deepEqual(prodDeploymentsHighlyAvailable.check([d], cfg), [
      { message: "Deployment gateway runs 1 replica in a production stack: at least 2 are required", urn: d.urn },
      { message: "Deployment gateway has no PodDisruptionBudget selecting its pods in a production stack", urn: d.urn },
    ]);
  });
  it("accepts 3 replicas with a matching PDB", () => {
    const d = deployment({ stack: "prod", replicas: 3 });
    assert.deepEqual(prodDeploymentsHighlyAvailable.check([d, pdb("prod", { app: "gateway" })], cfg), []);
  });
  it("counts an HPA's minReplicas for the replica rule", () => {
    const d = deployment({ stack: "prod", replicas: 1 });
    assert.deepEqual(prodDeploymentsHighlyAvailable.check([d, pdb("prod", { app: "gateway" }), hpa("prod", "gateway", 3)], cfg), []);
    const low = prodDeploymentsHighlyAvailable.check([d, pdb("prod", { app: "gateway" }), hpa("prod", "gateway", 1)], cfg);
    assert.deepEqual(low.map((v) => v.message), ["Deployment gateway runs 1 replica at minimum (HPA) in a production stack: at least 2 are required"]);
  });
  it("does not accept a PDB that selects other pods", () => {
    const d = deployment({ stack: "prod", replicas: 2 });
    const msgs = prodDeploymentsHighlyAvailable.check([d, pdb("prod", { app: "user" })], cfg);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0].message, /no PodDisruptionBudget/);
  });
  it("leaves non-production stacks alone", () => {
    assert.deepEqual(prodDeploymentsHighlyAvailable.check([deployment({ stack: "dev", replicas: 1 })], cfg), []);
  });
});

describe("no-ingress-nginx-annotations", () => {
  const ingress = (annotations: Record<string, string>): KubeResource => ({
    type: "kubernetes:networking.k8s.io/v1:Ingress",
    name: "shop-gateway-canary",
    urn: "urn:pulumi:dev::shop::kubernetes:networking.k8s.io/v1:Ingress::shop-gateway-canary",
    props: { metadata: { name: "gateway-canary", annotations }, spec: {} },
  });
  it("rejects an Ingress carrying ingress-nginx's canary and redirect annotations, naming them", () => {
    const msgs = noIngressNginxAnnotations.check(ingress({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "20",
      "cert-manager.io/cluster-issuer": "letsencrypt-prod",
    }), cfg);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /Ingress gateway-canary has ingress-nginx-only annotations "nginx\.ingress\.kubernetes\.io\/canary", "nginx\.ingress\.kubernetes\.io\/canary-weight": ingress-nginx is retired/);
    assert.doesNotMatch(msgs[0], /cert-manager/);
  });
  it("rejects them on any kind of object, and accepts other controllers' and cert-manager's annotations", () => {
    const svc = { ...ingress({ "nginx.ingress.kubernetes.io/ssl-redirect": "true" }), type: "kubernetes:core/v1:Service" };
    assert.equal(noIngressNginxAnnotations.check(svc, cfg).length, 1);
    assert.deepEqual(noIngressNginxAnnotations.check(ingress({ "cert-manager.io/cluster-issuer": "le", "traefik.ingress.kubernetes.io/router.priority": "1" }), cfg), []);
    assert.deepEqual(noIngressNginxAnnotations.check(ingress({}), cfg), []);
  });
});

describe("httproutes-have-parent-refs", () => {
  const route = (spec: Record<string, any>): KubeResource => ({
    type: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    name: "shop-routing-api",
    urn: "urn:pulumi:dev::shop::kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::shop-routing-api",
    props: { metadata: { name: "api", namespace: "shop" }, spec },
  });
  const rules = [{ backendRefs: [{ name: "gateway", port: 8080 }] }];
  it("rejects an HTTPRoute without parentRefs, or with an empty list", () => {
    for (const spec of [{ rules }, { parentRefs: [], rules }]) {
      const msgs = httpRoutesHaveParents.check(route(spec), cfg);
      assert.equal(msgs.length, 1);
      assert.match(msgs[0], /^HTTPRoute api has no spec\.parentRefs/);
    }
  });
  it("rejects a parentRef that names no Gateway", () => {
    assert.match(httpRoutesHaveParents.check(route({ parentRefs: [{ namespace: "gateway-system" }], rules }), cfg)[0], /1 parentRef\(s\) without a Gateway name/);
  });
  it("accepts a route attached to a Gateway, and ignores every other kind", () => {
    assert.deepEqual(httpRoutesHaveParents.check(route({ parentRefs: [{ namespace: "gateway-system", name: "shared-gateway", sectionName: "https" }], rules }), cfg), []);
    assert.deepEqual(httpRoutesHaveParents.check({ ...route({}), type: "kubernetes:networking.k8s.io/v1:Ingress" }, cfg), []);
  });
});

describe("pack defaults", () => {
  it("vet exactly the third-party images the program uses (a bump needs a policy review)", () => {
    // Read the program's image tables as text: importing the components would start Pulumi resources' modules.
    const repo = path.resolve(__dirname, "..");
    const sources = ["components/data-stores/images.ts", "components/monitoring/images.ts", "components/logging/images.ts"]
      .map((f) => path.join(repo, f))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, "utf8"));
    const refs = new Set<string>();
    for (const src of sources) {
      for (const m of src.matchAll(/^\s+\w+: "([^"\s]+:[^"\s]+)",?$/gm)) if (!/^\d/.test(m[1])) refs.add(m[1]);
    }
    assert.ok(refs.size > 0 || sources.length === 0, "found no image references in the program's image tables");
    assert.deepEqual([...refs].sort(), [...VETTED_IMAGES].sort());
  });

  it("allow the local registry and every registry the repo's stack files name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-defaults-"));
    try {
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: shop\n");
      fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  shop:registry:\n    server: https://registry.dev.example.com/\n");
      fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config:\n  shop:registry:\n    server: registry.example.com:443\n");
      assert.deepEqual(registriesOfStacks(dir), ["registry.dev.example.com", "registry.example.com:443"]);
      assert.deepEqual(packDefaults(dir).allowedRegistries, ["127.0.0.1:5000", "registry.dev.example.com", "registry.example.com:443"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
