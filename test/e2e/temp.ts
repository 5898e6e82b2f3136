/** Temporary folders of the end-to-end suite, removed after use. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Runs `use` with a new folder under the machine's temp dir (named `<prefix>XXXXXX`), removed with its content afterwards. */
export function withTempDir<T>(prefix: string, use: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
