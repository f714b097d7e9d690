/** A snapshot folder as a tar or zip stream, read file by file: nothing is built in memory. */
import { once } from "node:events";
import { Readable } from "node:stream";
import { pack as tarPack } from "tar-stream";
import yazl from "yazl";
import type { SnapshotRef, SuedeVault } from "../api/suede-vault.ts";
import { SuedeError } from "../errors/errors.ts";
import { relativeTo } from "./paths.ts";

/**
 * yazl scans its whole entry list for the next entry to write, so a zip of n entries costs O(n²):
 * zip is refused above this many entries (tar has no limit).
 */
export const ZIP_MAX_ENTRIES = 10_000;

function nsToDate(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}

/** Archive member names: the folder's own name, then the path below it (UTF-8; tar uses pax for long names). */
function memberName(folder: Uint8Array, path: Uint8Array): string {
  const base = Buffer.from(folder).toString("utf8").split("/").filter((c) => c !== "").pop() ?? "snapshot";
  const rel = relativeTo(folder, path)!.toString("utf8");
  return rel === "" ? base : `${base}/${rel}`;
}

export function tarStream(vault: SuedeVault, ref: SnapshotRef, folder: Uint8Array): Readable {
  const pack = tarPack();
  const produce = async (): Promise<void> => {
    const root = await vault.stat(ref, folder);
    const rootHeader = { name: memberName(folder, folder), mode: root.mode, mtime: nsToDate(root.mtimeNs), uid: root.uid, gid: root.gid, uname: root.user, gname: root.group };
    if (root.type !== "dir") throw new SuedeError("USAGE", "not a folder");
    pack.entry({ ...rootHeader, type: "directory" });
    for await (const { path, node } of vault.list(ref, { path: folder, recursive: true })) {
      const header = { name: memberName(folder, path), mode: node.mode, mtime: nsToDate(node.mtimeNs), uid: node.uid, gid: node.gid, uname: node.user, gname: node.group };
      if (node.type === "dir") pack.entry({ ...header, type: "directory" });
      else if (node.type === "symlink") pack.entry({ ...header, type: "symlink", linkname: Buffer.from(node.linkTarget ?? []).toString("utf8") });
      else if (node.type === "file" && node.unreadable === undefined) {
        const entry = pack.entry({ ...header, type: "file", size: node.sizeBytes });
        const written = new Promise<void>((resolve, reject) => {
          entry.once("finish", resolve);
          entry.once("error", reject);
        });
        for await (const chunk of vault.readFile(node)) {
          if (!entry.write(chunk)) await once(entry, "drain");
        }
        // streamx's end() takes no callback; the typings (node's Writable) do not know that overload.
        (entry as unknown as { end(): void }).end();
        await written;
      }
      // Devices, FIFOs, sockets and files unreadable at backup time have no bytes to put in an archive.
    }
    pack.finalize();
  };
  produce().catch((error: unknown) => pack.destroy(error as Error));
  return Readable.from(pack);
}

/** Counts entries below a folder, stopping once past `limit`. */
async function countEntries(vault: SuedeVault, ref: SnapshotRef, folder: Uint8Array, limit: number): Promise<number> {
  let count = 0;
  for await (const _ of vault.list(ref, { path: folder, recursive: true })) {
    if (++count > limit) break;
  }
  return count;
}

export async function zipStream(vault: SuedeVault, ref: SnapshotRef, folder: Uint8Array): Promise<Readable> {
  const root = await vault.stat(ref, folder);
  if (root.type !== "dir") throw new SuedeError("USAGE", "not a folder");
  if ((await countEntries(vault, ref, folder, ZIP_MAX_ENTRIES)) > ZIP_MAX_ENTRIES) {
    throw new SuedeError("USAGE", `this folder has more than ${ZIP_MAX_ENTRIES} entries; download it as tar instead`);
  }
  const zip = new yazl.ZipFile();
  const produce = async (): Promise<void> => {
    for await (const { path, node } of vault.list(ref, { path: folder, recursive: true })) {
      const name = memberName(folder, path);
      const options = { mtime: nsToDate(node.mtimeNs), mode: node.mode | (node.type === "dir" ? 0o040000 : 0o100000) };
      if (node.type === "dir") zip.addEmptyDirectory(name, options);
      else if (node.type === "file" && node.unreadable === undefined) {
        // Lazy: the file is read only when yazl reaches it, one at a time.
        zip.addReadStreamLazy(name, { ...options, size: node.sizeBytes }, (callback) => callback(null, Readable.from(vault.readFile(node))));
      }
    }
    zip.end();
  };
  const output = zip.outputStream as Readable;
  produce().catch((error: unknown) => output.destroy(error as Error));
  return output;
}
