// A small test vault for the web UI tests: two snapshots of a tree with a big folder, text, an image, binary data and a non-UTF-8 name.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { PASSPHRASE } from "../helpers/cli.ts";
import { Prng } from "../helpers/prng.ts";

export const BIG_FOLDER_ENTRIES = 1200;
/** A 1×1 PNG. */
export const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d49444154789c6360f80f0000010100005a4d6e1b0000000049454e44ae426082", "hex");
export const NON_UTF8 = Buffer.from([0x66, 0xff, 0xfe]);

export interface Fixture {
  readonly dir: string;
  readonly vault: string;
  /** The backed-up folder (absolute path, as it appears in the snapshot). */
  readonly src: string;
  readonly binary: Buffer;
  cleanup(): Promise<void>;
}

export const FAST_KDF_PARAMS = { iterations: 1, memoryKiB: 8, parallelism: 1 };

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "suede-web-"));
  const src = join(dir, "src");
  const prng = new Prng(7);
  const binary = prng.bytes(300_000);
  await mkdir(join(src, "docs", "deep"), { recursive: true });
  await mkdir(join(src, "big"));
  await writeFile(join(src, "docs", "notes.txt"), "line one\nline two\nline three\n");
  await writeFile(join(src, "docs", "deep", "data.bin"), binary);
  await writeFile(join(src, "docs", "pixel.png"), PNG);
  await writeFile(Buffer.concat([Buffer.from(join(src, "docs") + "/"), NON_UTF8]), "odd name\n");
  for (let i = 0; i < BIG_FOLDER_ENTRIES; i++) await writeFile(join(src, "big", `f${String(i).padStart(5, "0")}.txt`), "x".repeat(i % 50));
  const vault = join(dir, "vault.suede");
  const secret = { passphrase: PASSPHRASE };
  await SuedeVault.create(vault, { secret, kdf: FAST_KDF_PARAMS });
  const backup = async (): Promise<void> => {
    const v = await SuedeVault.open(vault, { secret, writable: true });
    try {
      await v.backup({ paths: [src] });
    } finally {
      await v.close();
    }
  };
  await backup();
  // Snapshot 2: one line changed, one file added, one removed.
  await writeFile(join(src, "docs", "notes.txt"), "line one\nline 2 changed\nline three\nline four\n");
  await writeFile(join(src, "docs", "added.txt"), "new file\n");
  await rm(join(src, "docs", "pixel.png"));
  await backup();
  return { dir, vault, src, binary, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
