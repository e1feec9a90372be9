/**
 * The module compile cache of Node 22.1+ (`module.enableCompileCache()`), for
 * the CLI's own start-up: V8's compiled code of the modules the command loads
 * is kept on disk and reused by the next start. The cache lives in
 * `NODE_COMPILE_CACHE` when that is set, else in Node's default,
 * `<os.tmpdir()>/node-compile-cache`, never in the run directory. Node 20
 * has no compile cache, and there this does nothing. A directory that cannot
 * be created or written leaves the cache off, silently (Node reports it only
 * in the returned status), and `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 * The cache is the CLI's own: enabling it sets no environment variable, so the
 * commands `run` and `exec` start do not inherit it.
 */
import module from "node:module";

type CompileCacheModule = { enableCompileCache?: (directory?: string) => unknown };

/** Turns the compile cache on where the runtime has it; never throws, never prints. */
export function enableCompileCache(): void {
  const enable = (module as CompileCacheModule).enableCompileCache;
  if (typeof enable !== "function") return;
  try {
    const configured = process.env.NODE_COMPILE_CACHE;
    // Node 22 falls back to its default directory when NODE_COMPILE_CACHE could not be used at
    // start-up; passing it keeps the cache where the user asked for it, or off.
    if (configured) enable(configured);
    else enable();
  } catch {
    // A runtime that throws where it should report a status: the CLI runs without the cache.
  }
}
