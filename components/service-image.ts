import * as pulumi from "@pulumi/pulumi";
import { ImageBuildConfig, imageBuildSettings, resolveImageBuild } from "./image-build";

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
  /**
   * How to build when `prebuilt` is absent: `shop:images.build` (builder and runtime images, platform,
   * network, extra build args, cache source). Context, Dockerfile and target come from the one shared
   * definition (components/image-build.ts) that the harness builds with too.
   */
  build?: ImageBuildConfig;
  /**
   * The docker provider that builds and pushes (see {@link dockerProvider}). Required when building:
   * the daemon is never taken from the environment, so every command (preview, refresh, destroy, the
   * Automation API) reaches the same one.
   */
  provider?: pulumi.ProviderResource;
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

/** Arguments of {@link dockerProvider}. */
export interface DockerProviderArgs {
  /** The daemon address (`shop:docker.host`), e.g. `unix:///var/run/docker.sock`. */
  host: string;
  /** The registry images are pushed to; its credentials, when given, become the provider's registry auth. */
  registry: ServiceImageArgs["registry"];
}

/**
 * The explicit docker provider every {@link ServiceImage} builds with: the daemon address and registry
 * auth come from stack config and are recorded in the state, so preview, refresh, destroy and the
 * Automation API reach the same daemon without `DOCKER_HOST`. Without registry credentials the daemon's
 * client config (`docker login`) applies.
 */
export function dockerProvider(name: string, args: DockerProviderArgs, opts?: pulumi.CustomResourceOptions): pulumi.ProviderResource {
  if (!/^(unix|tcp|ssh|npipe):\/\/\S+$/.test(args.host)) {
    throw new Error(`docker provider ${name}: host ${JSON.stringify(args.host)} is not a daemon address (shop:docker.host, e.g. unix:///var/run/docker.sock)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const docker = require("@pulumi/docker") as typeof import("@pulumi/docker");
  const { server, username, password } = args.registry;
  return new docker.Provider(
    name,
    {
      host: args.host,
      ...(username !== undefined && password !== undefined ? { registryAuth: [{ address: server, username, password: pulumi.secret(password) }] } : {}),
    },
    opts,
  );
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
      if (!args.provider) {
        throw new pulumi.ResourceError(`ServiceImage ${name}: provider is required to build (a docker provider for the daemon named by shop:docker.host)`, this);
      }
      let settings;
      try {
        settings = imageBuildSettings(args.service, resolveImageBuild(args.build));
      } catch (e) {
        throw new pulumi.ResourceError(`ServiceImage ${name}: build: ${(e as Error).message}`, this);
      }
      // Loaded only on this path, so a prebuilt-only program never needs the docker plugin.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const docker = require("@pulumi/docker") as typeof import("@pulumi/docker");
      const repository = `${args.registry.server}/${args.registry.project}/${args.service}`;
      const tag = args.tag ?? pulumi.getStack();
      const image = new docker.Image(
        `${name}-image`,
        {
          imageName: `${repository}:${tag}`,
          build: {
            context: settings.context,
            dockerfile: settings.dockerfile,
            ...(settings.target !== undefined ? { target: settings.target } : {}),
            platform: settings.platform,
            network: settings.network,
            builderVersion: "BuilderBuildKit",
            // No BUILDKIT_INLINE_CACHE: it would write the build stage's cache keys (which cover the whole
            // shared context) into each image's config, so any edit under services/ changed every digest.
            args: settings.args,
            // Only a cache the config names (something else writes it): asking for one that does not
            // exist yet only warns on every first deploy.
            ...(settings.cacheFrom !== undefined ? { cacheFrom: { images: [settings.cacheFrom] } } : {}),
          },
          registry: {
            server: args.registry.server,
            ...(args.registry.username !== undefined ? { username: args.registry.username } : {}),
            ...(args.registry.password !== undefined ? { password: pulumi.secret(args.registry.password) } : {}),
          },
        },
        { parent: this, provider: args.provider },
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
