import type { Command } from "commander";
import { addSecretOptions, parseSnapshotRef, printJson, withVault } from "../common.ts";
import { displayPath } from "../../fs/display-path.ts";
import { formatBytes, formatTime, jsonPath, nsToMs } from "../output.ts";

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
        ["referenced by snapshots", info.referencedBytes === null ? "unknown (a snapshot is damaged; run suede check)" : formatBytes(info.referencedBytes)],
        ["unreferenced", info.garbageBytes === null ? "unknown (a snapshot is damaged; run suede check)" : `${formatBytes(info.garbageBytes)} (prune gives it back)`],
        ["snapshots", String(info.snapshots)],
        ["total of snapshots", formatBytes(info.logicalBytes)],
        ["deduplication", `${info.deduplicationRatio.toFixed(2)}x`],
        ["compression", `${info.compressionRatio.toFixed(2)}x`],
        ["key slots", info.keySlots.map((s) => `${s.index} (${s.kind}, created ${(s.createdMs === null ? "unknown" : formatTime(s.createdMs))}${s.belowFloor ? ", KDF below floor" : ""})`).join("; ")],
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

export function registerHistory(program: Command): void {
  addSecretOptions(program.command("log").argument("<vault>").argument("<path>", "absolute path of a file or directory"))
    .description("every version of a path across all snapshots")
    .option("--json", "print a JSON array")
    .action(async (vaultPath: string, path: string, options) => {
      const rows = await withVault(vaultPath, options, async (vault) => {
        const entries = [];
        for await (const entry of vault.history(path)) entries.push(entry);
        return entries;
      });
      if (options.json === true) {
        return printJson(
          rows.map((r) => ({
            snapshot: r.snapshot.number,
            time: new Date(r.snapshot.timeMs).toISOString(),
            exists: r.node !== null,
            type: r.node?.type ?? null,
            size: r.node?.sizeBytes ?? null,
            mtime: r.node === null ? null : new Date(nsToMs(r.node.mtimeNs)).toISOString(),
            changed: r.changed,
          })),
        );
      }
      for (const r of rows) {
        const what = r.node === null ? "absent" : `${r.node.type} ${formatBytes(r.node.sizeBytes)}, modified ${formatTime(nsToMs(r.node.mtimeNs))}`;
        process.stdout.write(`${String(r.snapshot.number).padStart(5)}  ${formatTime(r.snapshot.timeMs)}  ${r.changed ? "changed  " : "unchanged"}  ${what}\n`);
      }
    });

  addSecretOptions(program.command("find").argument("<vault>").argument("<pattern>", "gitignore-style pattern, e.g. '*.pdf' or 'home/me/**/notes.txt'"))
    .description("which snapshots contain paths matching a pattern")
    .option("--json", "print one JSON object per line")
    .action(async (vaultPath: string, pattern: string, options) => {
      await withVault(vaultPath, options, async (vault) => {
        for await (const match of vault.find(pattern)) {
          if (options.json === true) {
            process.stdout.write(`${JSON.stringify({ snapshot: match.snapshot, ...jsonPath(match.path), type: match.node.type, size: match.node.sizeBytes })}\n`);
          } else {
            process.stdout.write(`${String(match.snapshot).padStart(5)}  ${displayPath(match.path)}\n`);
          }
        }
      });
    });
}

export function registerDiff(program: Command): void {
  addSecretOptions(program.command("diff").argument("<vault>").argument("<a>", "older snapshot").argument("<b>", "newer snapshot"))
    .description("what changed between two snapshots: added (+), removed (-), modified (M), metadata only (U), type (T)")
    .option("--json", "print one JSON object per line")
    .action(async (vaultPath: string, aText: string, bText: string, options) => {
      const [a, b] = [parseSnapshotRef(aText), parseSnapshotRef(bText)];
      const symbol = { added: "+", removed: "-", modified: "M", metadata: "U", type: "T" } as const;
      let added = 0;
      let removed = 0;
      let changed = 0;
      await withVault(vaultPath, options, async (vault) => {
        for await (const change of vault.diff(a, b)) {
          const node = change.after ?? change.before;
          if (change.kind === "added") added++;
          else if (change.kind === "removed") removed++;
          else changed++;
          if (options.json === true) {
            process.stdout.write(
              `${JSON.stringify({ change: change.kind, ...jsonPath(change.path), type: node?.type ?? null, sizeBefore: change.before?.sizeBytes ?? null, sizeAfter: change.after?.sizeBytes ?? null })}\n`,
            );
          } else {
            const size = change.kind === "modified" ? `${formatBytes(change.before?.sizeBytes ?? 0)} → ${formatBytes(change.after?.sizeBytes ?? 0)}` : node?.type === "file" ? formatBytes(node.sizeBytes) : "";
            process.stdout.write(`${symbol[change.kind]}  ${displayPath(change.path)}${node?.type === "dir" ? "/" : ""}${size === "" ? "" : `  (${size})`}\n`);
          }
        }
      });
      if (options.json !== true) process.stdout.write(`${added} added, ${removed} removed, ${changed} changed\n`);
    });
}
