"use strict";
/**
 * A start-up hook for the Node processes of a stack operation, loaded with `node --require` before
 * anything else: the automation CLI (scripts/automation.sh) and, through the `NODE_OPTIONS` the CLI
 * hands to Pulumi (automation/settings.ts), the program and the dynamic providers' process, which the
 * language host starts with that environment. Plain JavaScript: it runs before ts-node is registered.
 *
 * 1. A compile cache (`v8-compile-cache-lib`) when `SHOP_NODE_COMPILE_CACHE` names a folder: the code
 *    V8 compiles for each module (the SDK, gRPC, protobuf, the Kubernetes SDK, the program as ts-node
 *    transpiled it) is kept there, one file set per entry script, and reused while the module's source
 *    is unchanged (keyed by its SHA-1; a cache V8 rejects is dropped and made again). Node 20 has no
 *    compile cache of its own. The folder is made on the first save.
 * 2. The Pulumi SDK's promise stacks without source maps: `debuggablePromise` records `new Error().stack`
 *    for every promise it makes (shown only when a promise leaks), and ts-node's source-map support maps
 *    every frame of every one of them, about a sixth of a no-op `up`'s CPU in the program. Those stacks
 *    are formatted as Node does without source maps; every other stack (the user's errors) still goes
 *    through whatever `Error.prepareStackTrace` is installed (ts-node's mapping included).
 * 3. npm's arborist and TypeScript, which the SDK loads at start, loaded only when used.
 * `SHOP_FAST_START=0` turns all three off.
 */
const path = require("path");

/** The first frame of a stack the SDK records for each promise it tracks. */
const PROMISE_STACK_FUNCTION = "debuggablePromise";

/** True for the stack trace (V8 call sites) `debuggablePromise` records for a promise. */
function isPromiseStack(trace) {
  const first = Array.isArray(trace) ? trace[0] : undefined;
  if (!first || typeof first.getFunctionName !== "function") return false;
  return first.getFunctionName() === PROMISE_STACK_FUNCTION;
}

/**
 * One frame as `name (file:line:column)`. Cheaper than the frame's own `toString`, which also looks up
 * the receiver's type and the method's name on it (about 0.25 s of CPU over a no-op `up`'s promises).
 */
function frameText(frame) {
  try {
    const name = frame.getFunctionName();
    const file = frame.getFileName() || (frame.isEval() ? "<eval>" : "<anonymous>");
    const where = `${file}:${frame.getLineNumber()}:${frame.getColumnNumber()}`;
    const text = name ? `${name} (${where})` : where;
    return frame.isAsync && frame.isAsync() ? `async ${text}` : text;
  } catch {
    return String(frame);
  }
}

/** The stack without source maps: the error's text, then a line per frame (`    at name (file:line:column)`). */
function plainStack(error, trace) {
  let head;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = "Error";
  }
  let out = head;
  for (const frame of trace) out += `\n    at ${frameText(frame)}`;
  return out;
}

/**
 * Makes `Error.prepareStackTrace` an accessor: what is assigned to it (ts-node's source-map support,
 * a library capturing call sites for a moment) is kept as the inner formatter, and reading it gives a
 * wrapper that formats promise stacks plainly and hands every other stack to the inner one. Reading it
 * and assigning the value back (the save/restore idiom) restores the same inner formatter. Returns a
 * function that puts the plain property back (with the current inner formatter).
 */
function installPlainPromiseStacks(ErrorCtor = Error) {
  const existing = Object.getOwnPropertyDescriptor(ErrorCtor, "prepareStackTrace");
  if (existing && existing.get && existing.get.shopFastStart) return existing.get.shopFastStart;
  let inner = ErrorCtor.prepareStackTrace;
  /** wrapper -> the inner formatter it wraps; inner -> its wrapper (one wrapper per inner). */
  const innerOf = new WeakMap();
  const wrapperOf = new WeakMap();
  let wrapperOfNone;
  const wrap = (fn) => {
    const known = typeof fn === "function" ? wrapperOf.get(fn) : wrapperOfNone;
    if (known) return known;
    const wrapper = function prepareStackTrace(error, trace) {
      if (isPromiseStack(trace)) return plainStack(error, trace);
      return typeof fn === "function" ? fn.call(this, error, trace) : plainStack(error, trace);
    };
    innerOf.set(wrapper, fn);
    if (typeof fn === "function") wrapperOf.set(fn, wrapper);
    else wrapperOfNone = wrapper;
    return wrapper;
  };
  const get = function () {
    return wrap(inner);
  };
  const uninstall = () => {
    Object.defineProperty(ErrorCtor, "prepareStackTrace", { value: inner, writable: true, configurable: true, enumerable: false });
  };
  get.shopFastStart = uninstall;
  Object.defineProperty(ErrorCtor, "prepareStackTrace", {
    configurable: true,
    enumerable: false,
    get,
    set(value) {
      inner = innerOf.has(value) ? innerOf.get(value) : value;
    },
  });
  return uninstall;
}

/** The file-name prefix of an entry script's cache: which program it is, readable. */
function cachePrefix(entry) {
  if (!entry) return "node";
  const parts = path.resolve(entry).split(path.sep).filter(Boolean);
  return parts.slice(-3).join("_");
}

/**
 * Installs the compile cache under `dir/<V8 version>` for the entry script; undefined when off,
 * unavailable, or when there is no entry script (`node -e`: a process too short to gain).
 */
function installCompileCache(dir, entry) {
  if (!dir || !entry) return undefined;
  let lib;
  try {
    lib = require("v8-compile-cache-lib");
  } catch {
    return undefined;
  }
  return lib.install({ cacheDir: path.join(dir, process.versions.v8), prefix: cachePrefix(entry) });
}

/**
 * Saves the cache also when the process is stopped by `signal` (the engine stops the dynamic
 * providers' process with SIGINT, which ends Node without its `exit` event): when nothing else
 * listens for the signal, the cache is saved and the signal raised again, so the process ends as it
 * would have; when something else handles it, the cache is only saved.
 */
function saveOnSignal(handle, signal, proc = process) {
  const onSignal = () => {
    handle.uninstall();
    if (proc.listenerCount(signal) === 0) proc.kill(proc.pid, signal);
  };
  proc.once(signal, onSignal);
  return onSignal;
}

/**
 * Modules the SDK loads eagerly but uses only in some processes: npm's arborist, which
 * `@pulumi/pulumi/runtime` loads at start for `computeCodePaths` (packaging functions with their
 * dependencies, never used here), and TypeScript, which it loads at start to parse functions it
 * serialises (the program serialises the dynamic providers; the CLI and the dynamic providers' process
 * never do). About 0.2 s of loading each, in each Node process that does not use them. Both are
 * required plainly (`require("typescript")`, TypeScript's `__importStar`), which the stand-in serves.
 */
const DEFERRED = ["@npmcli/arborist", "typescript"];

/**
 * Makes `require(name)` of the `names` give a stand-in that loads the module on first use (any property
 * read other than the `__esModule` check of TypeScript's import helper, `in`, key listing). Returns a
 * function that puts `Module._load` back.
 */
function deferModules(names, Module = require("module")) {
  const original = Module._load;
  const load = function (request, parent, isMain) {
    if (!names.includes(request)) return original.apply(this, arguments);
    let real;
    const target = () => (real = real || original.call(Module, request, parent, isMain));
    return new Proxy(
      {},
      {
        get: (_t, key) => (key === "__esModule" && real === undefined ? true : Reflect.get(target(), key)),
        has: (_t, key) => Reflect.has(target(), key),
        ownKeys: () => Reflect.ownKeys(target()),
        getOwnPropertyDescriptor: (_t, key) => {
          const d = Reflect.getOwnPropertyDescriptor(target(), key);
          return d && { ...d, configurable: true };
        },
      },
    );
  };
  Module._load = load;
  return () => {
    if (Module._load === load) Module._load = original;
  };
}

module.exports = { isPromiseStack, plainStack, frameText, deferModules, DEFERRED, installPlainPromiseStacks, cachePrefix, installCompileCache, saveOnSignal, PROMISE_STACK_FUNCTION };

// Installed only when preloaded (`--require`: no main module yet), not when a test requires the file.
if (require.main === undefined && process.env.SHOP_FAST_START !== "0" && !global.__shopFastStart) {
  global.__shopFastStart = true;
  installPlainPromiseStacks();
  deferModules(DEFERRED);
  try {
    const cache = installCompileCache(process.env.SHOP_NODE_COMPILE_CACHE, process.argv[1]);
    if (cache) for (const signal of ["SIGINT", "SIGTERM"]) saveOnSignal(cache, signal);
  } catch {
    // A cache that cannot be read or made costs time, never the run.
  }
}
