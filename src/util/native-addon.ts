/**
 * Loads a napi-rs addon's glibc Linux build straight from its platform package. The packages'
 * generated loaders spend 10–20 CPU-ms per thread telling glibc from musl (process.report.getReport(),
 * reading /usr/bin/ldd) and trying a bundled .node that is not there; every unlock waits on the
 * Argon2id addon's load, and every worker on BLAKE3's (issue 5, docs/PERFORMANCE.md "Fixed costs").
 * Anywhere else, or when the platform package is missing or does not load (musl), the package's own
 * loader decides, with its own error message.
 */
import { createRequire } from "node:module";

const requireHere = createRequire(import.meta.url);

export function loadNapiAddon<T>(packageName: string): T {
  if (process.platform === "linux" && (process.arch === "x64" || process.arch === "arm64")) {
    try {
      return requireHere(`${packageName}-linux-${process.arch}-gnu`) as T;
    } catch {
      // Not installed or not loadable here: the package's loader below picks the right build.
    }
  }
  return requireHere(packageName) as T;
}
