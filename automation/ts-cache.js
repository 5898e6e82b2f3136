"use strict";
/**
 * A `.ts` require hook for the automation CLI (scripts/automation.sh) that keeps what it transpiles:
 * each TypeScript file is transpiled once with swc (types are checked by `tsc --noEmit`, as ts-node's
 * transpile-only mode did) and the JavaScript is kept in `SHOP_TS_CACHE` (made on demand) under the
 * SHA-1 of the source, the options and swc's version; later runs read it back without loading ts-node,
 * TypeScript or swc (about 0.4 s of the CLI's start). The module keeps its own file name, so
 * `__dirname` and error positions name the `.ts` file (positions are those of the emitted JavaScript,
 * which keeps the source's line layout closely: swc strips types in place).
 * Without `SHOP_TS_CACHE` it transpiles every time (still without ts-node).
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** swc's options: what ts-node's swc transpiler makes of the project's tsconfig (ES2022, CommonJS, esModuleInterop, strict). */
function swcOptions(filename) {
  return {
    filename,
    swcrc: false,
    configFile: false,
    sourceMaps: false,
    module: { type: "commonjs", noInterop: false, strictMode: true, ignoreDynamic: false },
    jsc: {
      parser: { syntax: "typescript", tsx: false, decorators: false, dynamicImport: true },
      target: "es2022",
      keepClassNames: true,
      transform: { legacyDecorator: true, useDefineForClassFields: true },
    },
  };
}

/** The version of the installed @swc/core (part of the cache key), without loading it. */
function swcVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve("@swc/core/package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

/** The cache key of a source file's transpiled output. */
function cacheKey(source, filename, version) {
  const options = JSON.stringify({ ...swcOptions(""), filename: undefined });
  return crypto.createHash("sha1").update(version).update("\0").update(options).update("\0").update(filename).update("\0").update(source).digest("hex");
}

/**
 * A transpiler with a cache in `cacheDir` (none when undefined): `(source, filename) => javascript`.
 * `load` gives swc (only loaded on a cache miss); `stats` counts hits and misses.
 */
function makeTranspiler(cacheDir, load = () => require("@swc/core")) {
  const version = swcVersion();
  let swc;
  const stats = { hits: 0, misses: 0 };
  const transpile = (source, filename) => {
    const file = cacheDir ? path.join(cacheDir, `${cacheKey(source, filename, version)}.js`) : undefined;
    if (file) {
      try {
        const code = fs.readFileSync(file, "utf8");
        stats.hits++;
        return code;
      } catch {
        // not cached yet
      }
    }
    stats.misses++;
    swc = swc || load();
    const code = swc.transformSync(source, swcOptions(filename)).code;
    if (file) {
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, file);
      } catch {
        // a cache that cannot be written only costs the next run a transpile
      }
    }
    return code;
  };
  transpile.stats = stats;
  return transpile;
}

/** Registers the hook for `.ts` files. Returns the transpiler. */
function register(cacheDir = process.env.SHOP_TS_CACHE || undefined) {
  const transpile = makeTranspiler(cacheDir);
  require.extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    module._compile(transpile(source, filename), filename);
  };
  return transpile;
}

module.exports = { swcOptions, cacheKey, makeTranspiler, register };

// Preloaded (`node -r`): register at once.
if (require.main === undefined) register();
