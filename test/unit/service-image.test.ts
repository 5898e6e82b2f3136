import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { dockerProvider, ServiceImage } from "../../components/service-image";
import { dockerBuildArgv, imageBuildSettings, resolveImageBuild } from "../../components/image-build";

const REF = `127.0.0.1:5000/shop/user@sha256:${"c".repeat(64)}`;
const registry = { server: "registry.example.com", project: "shop", username: "ci", password: pulumi.secret("registry-token") };
const build = { builderImage: "golang:1.26-bookworm", runtimeImage: "gcr.io/distroless/static-debian12:nonroot", platform: "linux/arm64" as const };
const HOST = "tcp://builder.example.com:2376";

/** A ServiceImage built with the explicit docker provider, as the platform makes it. */
function built(service: string, b: Record<string, unknown> = build) {
  const provider = dockerProvider("shop-docker", { host: HOST, registry });
  return new ServiceImage(service, { service, build: b, registry, provider });
}

describe("ServiceImage", () => {
  it("uses a prebuilt reference as is and creates no docker resource", async () => {
    await h.reset("prod");
    const img = new ServiceImage("user", { service: "user", prebuilt: REF, build, registry });
    await h.settle();
    assert.strictEqual(await h.promiseOf(img.ref), REF);
    assert.strictEqual(await h.promiseOf(img.digest), `sha256:${"c".repeat(64)}`);
    assert.strictEqual(h.recorded.filter((r) => r.type.startsWith("docker:") || r.type === "pulumi:providers:docker").length, 0);
  });

  it("rejects a prebuilt reference without a digest", async () => {
    await h.reset("prod");
    assert.throws(() => new ServiceImage("user", { service: "user", prebuilt: "127.0.0.1:5000/shop/user:latest", registry }), /prebuilt .* is not pinned by digest/);
  });

  it("builds services/Dockerfile with the SERVICE, BUILDER_IMAGE and RUNTIME_IMAGE build args", async () => {
    await h.reset("dev");
    built("order");
    await h.settle();
    const image = h.named("order-image");
    assert.strictEqual(image.type, "docker:index/image:Image");
    assert.strictEqual(image.inputs.build.context, "services");
    assert.strictEqual(image.inputs.build.dockerfile, "services/Dockerfile");
    assert.strictEqual(image.inputs.build.platform, "linux/arm64");
    assert.deepStrictEqual(
      { SERVICE: image.inputs.build.args.SERVICE, BUILDER_IMAGE: image.inputs.build.args.BUILDER_IMAGE, RUNTIME_IMAGE: image.inputs.build.args.RUNTIME_IMAGE },
      { SERVICE: "order", BUILDER_IMAGE: build.builderImage, RUNTIME_IMAGE: build.runtimeImage },
    );
  });

  it("takes the build's network, platform and extra args from shop:images.build", async () => {
    await h.reset("dev");
    built("user", { ...build, network: "none", platform: "linux/amd64", args: { GOPROXY: "https://proxy.example.com" } });
    await h.settle();
    const b = h.named("user-image").inputs.build;
    assert.strictEqual(b.network, "none");
    assert.strictEqual(b.platform, "linux/amd64");
    assert.deepStrictEqual(b.args, { GOPROXY: "https://proxy.example.com", SERVICE: "user", BUILDER_IMAGE: build.builderImage, RUNTIME_IMAGE: build.runtimeImage });
  });

  it("builds on the host network by default (the local engine has no bridge)", async () => {
    await h.reset("local");
    built("user", {});
    await h.settle();
    const b = h.named("user-image").inputs.build;
    assert.strictEqual(b.network, "host");
    assert.strictEqual(b.platform, "linux/amd64");
    assert.strictEqual(b.args.BUILDER_IMAGE, "shop/go-builder:local");
  });

  it("writes no build cache into the image config: no BUILDKIT_INLINE_CACHE build arg", async () => {
    await h.reset("dev");
    built("gateway");
    await h.settle();
    const b = h.named("gateway-image").inputs.build;
    assert.ok(!Object.keys(b.args).some((k) => /INLINE_CACHE/.test(k)), `build args: ${Object.keys(b.args).join(", ")}`);
    assert.throws(() => built("user", { ...build, args: { BUILDKIT_INLINE_CACHE: "1" } }), /shop:images\.build\.args\.BUILDKIT_INLINE_CACHE: .*every digest/);
  });

  it("asks for no cache image unless the config names one, then one per service", async () => {
    await h.reset("dev");
    built("gateway");
    built("order", { ...build, cacheFrom: "registry.example.com/shop/{service}:buildcache" });
    await h.settle();
    assert.strictEqual(h.named("gateway-image").inputs.build.cacheFrom, undefined);
    assert.deepStrictEqual(h.named("order-image").inputs.build.cacheFrom, { images: ["registry.example.com/shop/order:buildcache"] });
  });

  it("passes docker exactly the settings of the shared build definition the harness builds with", async () => {
    await h.reset("dev");
    const cfg = { ...build, network: "default" as const, args: { GOFLAGS_EXTRA: "x" } };
    built("product", cfg);
    await h.settle();
    const b = h.named("product-image").inputs.build;
    const s = imageBuildSettings("product", resolveImageBuild(cfg));
    assert.deepStrictEqual(
      { context: b.context, dockerfile: b.dockerfile, target: b.target, platform: b.platform, network: b.network, args: b.args },
      { context: s.context, dockerfile: s.dockerfile, target: s.target, platform: s.platform, network: s.network, args: s.args },
    );
    // The harness's `docker build` arguments carry the same values.
    const argv = dockerBuildArgv(s, "/ctx");
    const flag = (f: string) => argv.filter((_, i) => argv[i - 1] === f);
    assert.deepStrictEqual(flag("--network"), ["default"]);
    assert.deepStrictEqual(flag("--platform"), ["linux/arm64"]);
    assert.deepStrictEqual(flag("--build-arg").sort(), Object.entries(b.args).map(([k, v]) => `${k}=${v}`).sort());
    assert.deepStrictEqual(flag("-f"), ["/ctx/Dockerfile"]);
  });

  it("builds and pushes through the explicit docker provider, configured with the daemon and registry auth", async () => {
    await h.reset("dev");
    built("order");
    await h.settle();
    const providers = h.ofType("pulumi:providers:docker");
    assert.deepStrictEqual(providers.map((p) => p.name), ["shop-docker"]);
    assert.strictEqual(providers[0].inputs.host, HOST);
    assert.ok(h.isSecretInput(providers[0].inputs.registryAuth), "the registry auth is not sent as a secret");
    const raw = h.plain(providers[0].inputs.registryAuth);
    const auth = typeof raw === "string" ? JSON.parse(raw) : raw;
    assert.deepStrictEqual(auth, [{ address: "registry.example.com", username: "ci", password: "registry-token" }]);
    assert.match(h.named("order-image").provider ?? "", /::shop-docker::/);
  });

  it("refuses to build without a docker provider (the daemon is never taken from the environment)", async () => {
    await h.reset("dev");
    assert.throws(() => new ServiceImage("order", { service: "order", build, registry }), /ServiceImage order: provider is required to build .*shop:docker\.host/);
  });

  it("pushes to <server>/<project>/<service> with secret registry credentials", async () => {
    await h.reset("dev");
    built("order");
    await h.settle();
    const image = h.named("order-image").inputs;
    assert.strictEqual(image.imageName, "registry.example.com/shop/order:dev");
    // The password makes the engine treat the registry block as secret (or at least the password).
    assert.ok(h.isSecretInput(image.registry) || h.isSecretInput(image.registry.password), "the registry password is not sent as a secret");
    assert.deepStrictEqual(h.plain(image.registry), { server: "registry.example.com", username: "ci", password: "registry-token" });
  });

  it("exposes the pushed reference pinned by digest", async () => {
    await h.reset("dev");
    const img = built("order");
    const ref = await h.promiseOf(img.ref);
    assert.match(ref, /^registry\.example\.com\/shop\/order@sha256:[0-9a-f]{64}$/);
  });
});
