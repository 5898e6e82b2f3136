/**
 * The one definition of how a service image is built: build context, Dockerfile, target, build args,
 * platform, network and cache source. `ServiceImage` hands it to `@pulumi/docker`; the harness
 * (`scripts/images.sh`, and through it `bench/images.sh` and the image digest test) hands it to
 * `docker build` through this file's command line:
 *
 *   node -r ts-node/register components/image-build.ts <stack file> <service> [<context dir>]
 *
 * prints the `docker build` arguments for `<service>`, one per line, from the `shop:images.build` of a
 * stack file (defaults from the config schema, config/fields.ts), with the build context replaced by `<context dir>`
 * when given (a copy of `services/`).
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { z } from "zod";
import { imageBuildSchema, NAMESPACE } from "../config";

/** The build context, relative to the project directory: one Go module for every service. */
export const BUILD_CONTEXT = "services";
/** The Dockerfile, relative to the build context: one for every service (`SERVICE` picks the binary). */
export const DOCKERFILE = "Dockerfile";
/**
 * The Dockerfile stage to build. None: the last stage is the runtime image, the same for every service
 * (the `SERVICE` build arg picks the binary).
 */
export const TARGET: string | undefined = undefined;

/** `shop:images.build` as a stack file gives it (every field optional, defaults from config/fields.ts). */
export type ImageBuildConfig = z.input<typeof imageBuildSchema>;
/** `shop:images.build` with every default applied. */
export type ResolvedImageBuild = z.output<typeof imageBuildSchema>;

/** Everything one service image's build needs. */
export interface ImageBuildSettings {
  /** The build context, relative to the project directory. */
  context: string;
  /** The Dockerfile, relative to the project directory. */
  dockerfile: string;
  /** The Dockerfile stage; absent: the last one. */
  target?: string;
  platform: string;
  /** The network of RUN steps (`host`, `default` or `none`). */
  network: string;
  /** Build args: the extra ones of the config, then `SERVICE`, `BUILDER_IMAGE`, `RUNTIME_IMAGE`. */
  args: Record<string, string>;
  /** An image to read build cache from, when the config names one. */
  cacheFrom?: string;
}

/**
 * Applies the defaults of `shop:images.build` (the schema's, nothing else) and validates it.
 * Throws an Error naming each bad field (`shop:images.build.<field>`).
 */
export function resolveImageBuild(build: ImageBuildConfig | undefined): ResolvedImageBuild {
  const r = imageBuildSchema.safeParse(build ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${NAMESPACE}:images.build.${i.path.map(String).join(".")}: ${i.message}`);
  throw new Error(lines.join("; "));
}

/** The build settings of `service` (a directory under `services/cmd`). */
export function imageBuildSettings(service: string, build: ResolvedImageBuild): ImageBuildSettings {
  return {
    context: BUILD_CONTEXT,
    dockerfile: path.posix.join(BUILD_CONTEXT, DOCKERFILE),
    ...(TARGET !== undefined ? { target: TARGET } : {}),
    platform: build.platform,
    network: build.network,
    args: { ...build.args, SERVICE: service, BUILDER_IMAGE: build.builderImage, RUNTIME_IMAGE: build.runtimeImage },
    ...(build.cacheFrom !== undefined ? { cacheFrom: build.cacheFrom.split("{service}").join(service) } : {}),
  };
}

/** The `docker build` arguments (without `-t`) for `settings`, building from `contextDir`. */
export function dockerBuildArgv(settings: ImageBuildSettings, contextDir: string): string[] {
  const argv = ["--network", settings.network, "--platform", settings.platform, "-f", path.join(contextDir, DOCKERFILE)];
  if (settings.target !== undefined) argv.push("--target", settings.target);
  for (const [k, v] of Object.entries(settings.args)) argv.push("--build-arg", `${k}=${v}`);
  if (settings.cacheFrom !== undefined) argv.push("--cache-from", settings.cacheFrom);
  argv.push(contextDir);
  return argv;
}

/** `shop:images.build` of a stack file (`Pulumi.<stack>.yaml` or a generated one), resolved. */
export function stackFileImageBuild(file: string): ResolvedImageBuild {
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, any> } | undefined) ?? {};
  const images = doc.config?.[`${NAMESPACE}:images`];
  return resolveImageBuild(images?.build ?? undefined);
}

if (require.main === module) {
  // One service: its argv, one argument per line. Several (comma-separated): each service's block,
  // headed by a line `# <service>`, so the harness starts Node once for all of them.
  const [file, services, contextDir] = process.argv.slice(2);
  if (!file || !services) {
    process.stderr.write("usage: image-build.ts <stack file> <service>[,<service>...] [<context dir>]\n");
    process.exit(2);
  }
  try {
    const names = services.split(",");
    for (const service of names) {
      const settings = imageBuildSettings(service, stackFileImageBuild(file));
      const argv = dockerBuildArgv(settings, contextDir ?? path.resolve(path.dirname(file), settings.context));
      process.stdout.write((names.length > 1 ? `# ${service}\n` : "") + argv.join("\n") + "\n");
    }
  } catch (e) {
    process.stderr.write(`${file}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
