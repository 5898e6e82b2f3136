import * as h from "./harness";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ServiceImage } from "../../components/service-image";

const REF = `127.0.0.1:5000/shop/user@sha256:${"c".repeat(64)}`;
const registry = { server: "registry.example.com", project: "shop", username: "ci", password: pulumi.secret("registry-token") };
const build = { builderImage: "golang:1.26-bookworm", runtimeImage: "gcr.io/distroless/static-debian12:nonroot", platform: "linux/arm64" };

describe("ServiceImage", () => {
  it("uses a prebuilt reference as is and creates no docker resource", async () => {
    await h.reset("prod");
    const img = new ServiceImage("user", { service: "user", prebuilt: REF, build, registry });
    await h.settle();
    assert.strictEqual(await h.promiseOf(img.ref), REF);
    assert.strictEqual(await h.promiseOf(img.digest), `sha256:${"c".repeat(64)}`);
    assert.strictEqual(h.recorded.filter((r) => r.type.startsWith("docker:")).length, 0);
  });

  it("rejects a prebuilt reference without a digest", async () => {
    await h.reset("prod");
    assert.throws(() => new ServiceImage("user", { service: "user", prebuilt: "127.0.0.1:5000/shop/user:latest", registry }), /prebuilt .* is not pinned by digest/);
  });

  it("builds services/Dockerfile with the SERVICE, BUILDER_IMAGE and RUNTIME_IMAGE build args", async () => {
    await h.reset("dev");
    new ServiceImage("order", { service: "order", build, registry });
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

  it("pushes to <server>/<project>/<service> with secret registry credentials", async () => {
    await h.reset("dev");
    new ServiceImage("order", { service: "order", build, registry });
    await h.settle();
    const image = h.named("order-image").inputs;
    assert.strictEqual(image.imageName, "registry.example.com/shop/order:dev");
    // The password makes the engine treat the registry block as secret (or at least the password).
    assert.ok(h.isSecretInput(image.registry) || h.isSecretInput(image.registry.password), "the registry password is not sent as a secret");
    assert.deepStrictEqual(h.plain(image.registry), { server: "registry.example.com", username: "ci", password: "registry-token" });
  });

  it("exposes the pushed reference pinned by digest", async () => {
    await h.reset("dev");
    const img = new ServiceImage("order", { service: "order", build, registry });
    const ref = await h.promiseOf(img.ref);
    assert.match(ref, /^registry\.example\.com\/shop\/order@sha256:[0-9a-f]{64}$/);
  });
});
