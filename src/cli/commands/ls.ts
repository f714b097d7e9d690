import type { Command } from "commander";
import { displayPath } from "../../fs/display-path.ts";
import { addSecretOptions, parseSnapshotRef, withVault } from "../common.ts";
import { formatTime, jsonPath, modeString, nsToMs } from "../output.ts";

export function registerLs(program: Command): void {
  addSecretOptions(program.command("ls").argument("<vault>").argument("<snapshot>", "snapshot number or latest").argument("[path]", "directory in the snapshot", "/"))
    .description("list the entries of a directory in a snapshot")
    .option("-l, --long", "show mode, owner, size and time")
    .option("-R, --recursive", "list subdirectories too")
    .option("--json", "print one JSON object per line")
    .action(async (vaultPath: string, snapshotText: string, path: string, options) => {
      const ref = parseSnapshotRef(snapshotText);
      await withVault(vaultPath, options, async (vault) => {
        for await (const { path: entryPath, node } of vault.list(ref, { path, recursive: options.recursive === true })) {
          if (options.json === true) {
            const record: Record<string, unknown> = {
              ...jsonPath(entryPath),
              name: displayPath(node.name),
              type: node.type,
              mode: node.mode,
              size: node.sizeBytes,
              mtime: new Date(nsToMs(node.mtimeNs)).toISOString(),
              mtimeNs: node.mtimeNs.toString(),
              uid: node.uid,
              gid: node.gid,
              user: node.user,
              group: node.group,
              nlink: node.nlink,
            };
            if (node.linkTarget !== undefined) Object.assign(record, jsonPath(node.linkTarget, "linkTarget"));
            if (node.unreadable !== undefined) record.unreadable = node.unreadable;
            process.stdout.write(`${JSON.stringify(record)}\n`);
          } else if (options.long === true) {
            const owner = `${node.user || node.uid}/${node.group || node.gid}`;
            const link = node.linkTarget !== undefined ? ` -> ${displayPath(node.linkTarget)}` : "";
            process.stdout.write(
              `${modeString(node)} ${owner.padEnd(17)} ${String(node.sizeBytes).padStart(12)} ${formatTime(nsToMs(node.mtimeNs))} ${displayPath(entryPath)}${link}\n`,
            );
          } else {
            process.stdout.write(`${displayPath(entryPath)}\n`);
          }
        }
      });
    });
}
