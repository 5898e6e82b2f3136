import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** Matches `<repository>@sha256:<64 hex>`; group 1 is the repository, group 2 the digest. */
export const DIGEST_REF = /^([a-z0-9][^\s@]*)@(sha256:[0-9a-f]{64})$/;

/** Arguments of {@link ServiceImage}. */
export interface ServiceImageArgs {
  /** The binary to build: a directory under `services/cmd/`. */
  service: string;
  /**
   * A reference pinned by digest (`repo@sha256:...`) built elsewhere (CI, or the local harness).
   * When given nothing is built and no docker resource is created.
   */
  prebuilt?: string;
  /** How to build when `prebuilt` is absent. */
  build?: {
    /** Go toolchain image for the build stage (`BUILDER_IMAGE`). */
    builderImage: string;
    /** Base of the final image (`RUNTIME_IMAGE`). */
    runtimeImage: string;
    /** Target platform. @default "linux/amd64" */
    platform?: string;
    /** The build context. @default "services" (relative to the project directory) */
    context?: string;
    /** The Dockerfile. @default "<context>/Dockerfile" */
    dockerfile?: string;
  };
  /** Where to push. */
  registry: {
    /** `host[:port]`, e.g. `registry.example.com`. */
    server: string;
    /** Repository prefix: images go to `<server>/<project>/<service>`. */
    project: string;
    username?: string;
    /** Must be a secret. */
    password?: pulumi.Input<string>;
  };
  /** The tag pushed next to the digest. @default the stack name */
  tag?: string;
}

/**
 * One service image. Built from `services/Dockerfile` with `@pulumi/docker` and pushed to the stack's
 * registry, or taken as given (prebuilt, by digest). Either way `ref` is pinned by digest and is the
 * only thing deployments use.
 */
export class ServiceImage extends pulumi.ComponentResource {
  /** `<repository>@sha256:<digest>`. */
  readonly ref: pulumi.Output<string>;
  /** `sha256:<digest>`. */
  readonly digest: pulumi.Output<string>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:ServiceImage", name, {}, opts);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(args.service)) {
      throw new pulumi.ResourceError(`ServiceImage ${name}: service ${JSON.stringify(args.service)} must name a directory under services/cmd (e.g. gateway)`, this);
    }

    let ref: pulumi.Output<string>;
    if (args.prebuilt !== undefined) {
      if (!DIGEST_REF.test(args.prebuilt)) {
        throw new pulumi.ResourceError(
          `ServiceImage ${name}: prebuilt ${JSON.stringify(args.prebuilt)} is not pinned by digest (e.g. ${args.registry.server}/${args.registry.project}/${args.service}@sha256:<64 hex>)`,
          this,
        );
      }
      ref = pulumi.output(args.prebuilt);
    } else {
      if (!args.build) throw new pulumi.ResourceError(`ServiceImage ${name}: give either prebuilt or build`, this);
      // Loaded only on this path, so a prebuilt-only program never needs the docker plugin.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const docker = require("@pulumi/docker") as typeof import("@pulumi/docker");
      const context = args.build.context ?? "services";
      const repository = `${args.registry.server}/${args.registry.project}/${args.service}`;
      const tag = args.tag ?? pulumi.getStack();
      const image = new docker.Image(
        `${name}-image`,
        {
          imageName: `${repository}:${tag}`,
          build: {
            context,
            dockerfile: args.build.dockerfile ?? path.posix.join(context, "Dockerfile"),
            platform: args.build.platform ?? "linux/amd64",
            builderVersion: "BuilderBuildKit",
            args: {
              SERVICE: args.service,
              BUILDER_IMAGE: args.build.builderImage,
              RUNTIME_IMAGE: args.build.runtimeImage,
              // Writes cache metadata into the pushed image so the next build can reuse its layers.
              BUILDKIT_INLINE_CACHE: "1",
            },
            cacheFrom: { images: [`${repository}:${tag}`] },
          },
          registry: {
            server: args.registry.server,
            ...(args.registry.username !== undefined ? { username: args.registry.username } : {}),
            ...(args.registry.password !== undefined ? { password: pulumi.secret(args.registry.password) } : {}),
          },
        },
        { parent: this },
      );
      ref = image.repoDigest;
    }

    this.ref = ref.apply((r) => {
      if (!DIGEST_REF.test(r)) throw new Error(`ServiceImage ${name}: the registry returned ${r}, which is not a reference by digest`);
      return r;
    });
    this.digest = this.ref.apply((r) => DIGEST_REF.exec(r)![2]);
    this.registerOutputs({ ref: this.ref, digest: this.digest });
  }
}
