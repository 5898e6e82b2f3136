#!/usr/bin/env ts-node
/**
 * Automation API command line of the shop platform.
 *   npx ts-node automation/cli.ts deploy <stack> [--refresh] [--policy-pack PATH]
 *   npx ts-node automation/cli.ts preview <stack> [--markdown FILE] [--policy-pack PATH]
 *   npx ts-node automation/cli.ts review <up|destroy> <pr-number> [--overrides FILE]
 *   npx ts-node automation/cli.ts destroy <stack> [--remove]
 *   npx ts-node automation/cli.ts promote <stack> [--policy-pack PATH]
 *   npx ts-node automation/cli.ts status <stack>
 *   npx ts-node automation/cli.ts outputs <stack> [name] [--json]
 *   npx ts-node automation/cli.ts stack-file <stack> [images.json]   (env: BASE_STACK, OVERRIDES, THIRD_PARTY_IMAGES, GENERATE_SECRETS)
 *   npx ts-node automation/cli.ts rollback <stack> [--to <update>] [--policy-pack PATH]
 * Exit codes: 0 success, 1 the operation failed, 2 bad input (nothing was changed).
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { UsageError } from "./errors";
import { withPrivateTmp } from "./scratch";
import { deploy, destroy, outputs, preview, promote, reviewDestroy, reviewUp, rollback, stackFile, status } from "./commands";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the command line; `run` receives each command's exit code. */
export function buildProgram(run: (p: Promise<number>) => void): Command {
  const program = new Command("shop-automation")
    .description("Deploy, preview, review and destroy the shop platform's stacks with the Pulumi Automation API")
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .showHelpAfterError(false);

  /** A command on one stack: `<name> <stack>`. */
  const onStack = (name: string, description: string, stackHelp = "stack name") => program.command(name).description(description).argument("<stack>", stackHelp);
  /** The repeatable `--policy-pack`, enforced by the command's updates (`when`: which of them). */
  const policyPacks = (c: Command, when = "") => c.option("--policy-pack <path>", `policy pack folder or launcher to enforce${when} (repeatable)`, collect);

  policyPacks(
    onStack("deploy", "update a stack (select, optional refresh, up) with readable progress and a summary", "stack name (local, dev, prod, an existing pr-<n>, or a stack with a generated config file)")
      .option("--refresh", "refresh the stack's state before the update", false),
  ).action((stack: string, opts) => run(deploy(stack, opts)));

  policyPacks(
    onStack("preview", "preview a stack; --markdown writes the change summary and per-resource diff as a PR comment body")
      .option("--markdown <file>", "write the preview as Markdown to FILE"),
  )
    .option("--refresh", "refresh before previewing", false)
    .action((stack: string, opts) => run(preview(stack, opts)));

  const review = program
    .command("review")
    .description("create/update (up) or destroy the ephemeral review stack pr-<n> of a pull request")
    .argument("<action>", "up or destroy", (v: string) => {
      if (v !== "up" && v !== "destroy") throw new InvalidArgumentError("use 'up' or 'destroy'");
      return v;
    })
    .argument("<pr-number>", "pull-request number")
    .option("--overrides <file>", "YAML map of config keys applied over the derived review config");
  policyPacks(review, " on up").action((action: string, pr: string, opts) => run(action === "up" ? reviewUp(pr, opts) : reviewDestroy(pr)));

  onStack("destroy", "destroy a stack's resources (review stacks are removed with their generated config)")
    .option("--remove", "also remove the stack and its generated config file", false)
    .action((stack: string, opts) => run(destroy(stack, opts)));

  policyPacks(
    onStack("promote", "make the gray release's canary the stable gateway: its image becomes shop:images.prebuilt.gateway, the canary is turned off, then up"),
  ).action((stack: string, opts) => run(promote(stack, opts)));

  onStack("status", "show the gray release's progress: each CanaryRelease's phase, step, weight and last analysis").action((stack: string) => run(status(stack)));

  onStack("outputs", "print the stack's outputs as one JSON object, or the value of output [name] (secrets as [secret])")
    .argument("[name]", "one output, e.g. apiUrl: its value as it is (a string unquoted)")
    .option("--json", "print the one output's value as JSON", false)
    .action((stack: string, name: string | undefined, opts) => run(outputs(stack, name, opts)));

  onStack("stack-file", "make the stack's generated config file (.pulumi-state/config/Pulumi.<stack>.yaml) and print its path", "stack name (any: BASE_STACK names the committed file it starts from)")
    .argument("[images]", "images.json of scripts/images.sh: the services' images by digest, as shop:images.prebuilt")
    .addHelpText(
      "after",
      `
The file: the committed Pulumi.<BASE_STACK or stack>.yaml's config, OVERRIDES merged over it, the
images, the third-party images, the docker host and the stack's secrets (kept, or generated once and
stored encrypted), with the stack's encryption salt. A new stack is created in the backend.
Environment:
  BASE_STACK=<name>        the committed Pulumi.<name>.yaml to start from (default: the stack itself)
  OVERRIDES=<file.yaml>    a map of config keys deep-merged over it (null removes a key)
  THIRD_PARTY_IMAGES=1     shop:images.thirdParty.<name> from $SHOP_RUN/third-party-images.json
                           (or =<file>); keys the config sets itself win
  GENERATE_SECRETS=0       do not generate the shop:secrets the stack lacks (default 1)
  DOCKER_HOST              shop:docker.host unless the config sets it (default: the local engine's socket)`,
    )
    .action((stack: string, images: string | undefined) => run(stackFile(stack, images)));

  policyPacks(
    onStack("rollback", "redeploy the configuration (image digests included) of the last successful update before the latest, or of --to <update>, from the stack's history")
      .option("--to <update>", "the update to redeploy: its number in the stack's history (oldest is 1 on the file backend)"),
  ).action((stack: string, opts) => run(rollback(stack, opts)));

  return program;
}

/** Runs the CLI on `argv` (without node and script) and resolves to its exit code. */
export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  try {
    // The Pulumi CLI and its plugins get a temporary folder of this run's own (automation/scratch.ts).
    return await withPrivateTmp(async () => {
      await buildProgram((p) => (pending = p)).parseAsync(argv, { from: "user" });
      if (!pending) return 0;
      return await pending;
    });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CommanderError) {
      // Help and version are fine; everything else is a usage error (commander printed it).
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" ? 0 : 2;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
