/** A size-limited tmpfs for full-disk tests (needs root) and incompressible data to fill it with. */
import { createCipheriv } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runTool, tempDir } from "./cli.ts";

/** Runs fn with a scratch dir and a tmpfs of `size` mounted at work/disk; unmounts and removes both after. */
export async function onTmpfs(prefix: string, size: string, fn: (work: string, mount: string) => Promise<void>): Promise<void> {
  const work = await tempDir(prefix);
  const mount = join(work.path, "disk");
  mkdirSync(mount);
  await runTool("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mount]);
  try {
    await fn(work.path, mount);
  } finally {
    await runTool("umount", [mount]).catch(() => undefined);
    await work.remove();
  }
}

/** `size` bytes that zstd cannot shrink, the same for the same seed. */
export function noise(seed: number, size: number): Buffer {
  return createCipheriv("aes-128-ctr", Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(size));
}
