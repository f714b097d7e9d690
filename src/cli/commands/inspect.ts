import type { Command } from "commander";
import { addSecretOptions, parseSnapshotRef, printJson, withVault } from "../common.ts";
import { formatBytes, formatTime } from "../output.ts";

export function registerInspect(program: Command): void {
  addSecretOptions(program.command("info").argument("<vault>"))
    .description("show vault facts: format, sizes, deduplication and compression, snapshots, key slots")
    .option("--json", "print JSON")
    .action(async (vaultPath: string, options) => {
      const info = await withVault(vaultPath, options, (vault) => vault.info());
      if (options.json === true) return printJson(info);
      const lines = [
        ["vault", info.path],
        ["format version", String(info.formatVersion)],
        ["file size", formatBytes(info.fileSizeBytes)],
        ["indexed data", `${formatBytes(info.liveBytes)} in ${info.blobs} blobs (${info.chunks} file chunks)`],
        ["unreferenced", `${formatBytes(info.garbageBytes)} (run prune after forget to give it back)`],
        ["snapshots", String(info.snapshots)],
        ["total of snapshots", formatBytes(info.logicalBytes)],
        ["deduplication", `${info.deduplicationRatio.toFixed(2)}x`],
        ["compression", `${info.compressionRatio.toFixed(2)}x`],
        ["key slots", info.keySlots.map((s) => `${s.index} (${s.kind}, created ${formatTime(s.createdMs)}${s.belowFloor ? ", KDF below floor" : ""})`).join("; ")],
      ];
      const width = Math.max(...lines.map(([k]) => k!.length));
      for (const [key, value] of lines) process.stdout.write(`${key!.padEnd(width)}  ${value}\n`);
    });

  addSecretOptions(program.command("cat").argument("<vault>").argument("<snapshot>").argument("<path>", "absolute path of a file in the snapshot"))
    .description("write one file's content from a snapshot to standard output")
    .action(async (vaultPath: string, snapshotText: string, path: string, options) => {
      const ref = parseSnapshotRef(snapshotText);
      await withVault(vaultPath, options, async (vault) => {
        const node = await vault.stat(ref, path);
        for await (const piece of vault.readFile(node)) {
          if (!process.stdout.write(piece)) await new Promise((resolve) => process.stdout.once("drain", resolve));
        }
      });
    });
}
