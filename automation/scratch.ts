/**
 * A private temporary folder for each run of the automation CLI.
 *
 * The Pulumi CLI, the program's language host and the providers inherit the CLI's environment, and
 * some of them leave files in the temporary folder: the Kubernetes provider writes the kubeconfig it
 * is configured with to a new `kubeconfig*` file on every configure (for its Helm client) and never
 * removes it, so every preview or update left one or more copies of the cluster's credentials in
 * `/tmp`. With `TMPDIR` pointing at a folder of the run's own, they go there and are removed with it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Prefix of the folders: `shop-automation-<pid>-XXXXXX`. */
export const SCRATCH_PREFIX = "shop-automation-";

/** True when a process with this PID exists (EPERM: it exists, but is not ours to signal). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the folders of runs whose process is gone (an interrupted run cannot remove its own: a
 * SIGINT or SIGTERM ends Node without its `exit` event). Folders of live processes are left alone.
 */
export function sweepStale(parent: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = name.startsWith(SCRATCH_PREFIX) ? /^(\d+)-/.exec(name.slice(SCRATCH_PREFIX.length)) : null;
    if (!m || alive(Number(m[1]))) continue;
    fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Points `env.TMPDIR` at a new private folder (under the previous `TMPDIR`, or the system's), so every
 * process started afterwards with `env` writes its temporary files there, after sweeping the folders of
 * runs that are gone. Returns `leave`, which removes the folder and restores `TMPDIR`; it also runs when
 * the process exits.
 */
export function enterPrivateTmp(env: NodeJS.ProcessEnv = process.env): () => void {
  const previous = env.TMPDIR;
  const parent = previous || os.tmpdir();
  sweepStale(parent);
  const dir = fs.mkdtempSync(path.join(parent, `${SCRATCH_PREFIX}${process.pid}-`));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete env.TMPDIR;
    else env.TMPDIR = previous;
    process.removeListener("exit", remove);
    remove();
  };
}

/** Runs `fn` in a private temporary folder (enterPrivateTmp), left when `fn` settles. */
export async function withPrivateTmp<T>(fn: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const leave = enterPrivateTmp(env);
  try {
    return await fn();
  } finally {
    leave();
  }
}
