import type { Command } from "commander";
import { displayPath } from "../../fs/display-path.ts";
import { addSecretOptions, parseSnapshotRef, withVault } from "../common.ts";

export function registerMount(program: Command): void {
  addSecretOptions(program.command("mount").argument("<vault>").argument("<mountpoint>", "an existing empty directory"))
    .description("show every snapshot as a read-only file system (FUSE) until Ctrl-C, SIGTERM or fusermount -u")
    .option("--snapshot <snapshot>", "show only this snapshot (number or latest) at the mount point")
    .option("--allow-other", "let other users see the mount (the snapshot's modes and owners apply)")
    .action(async (vaultPath: string, mountpoint: string, options) => {
      await withVault(vaultPath, options, async (vault) => {
        let snapshot: number | null = null;
        if (options.snapshot !== undefined) {
          const ref = parseSnapshotRef(options.snapshot as string);
          snapshot = ref === "latest" ? (await vault.getSnapshot("latest")).number : ref;
        }
        const { mountVault } = await import("../../mount/mount.ts"); // loaded on use, like the library
        const session = await mountVault(vault, {
          mountpoint,
          snapshot,
          allowOther: options.allowOther === true,
          nowMs: Date.now(),
          onError: (path, error) => process.stderr.write(`suede: error: ${displayPath(Buffer.from(path))}: ${error instanceof Error ? error.message : String(error)}\n`),
        });
        const stop = () => {
          session.unmount().catch((error: Error) => process.stderr.write(`suede: ${error.message}\n`));
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        process.on("SIGHUP", stop);
        const what = snapshot === null ? "all snapshots" : `snapshot ${snapshot}`;
        process.stderr.write(`suede: mounted ${what} of ${vaultPath} at ${session.mountpoint} (read-only); Ctrl-C or fusermount -u ${session.mountpoint} to unmount\n`);
        try {
          await session.unmounted;
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          process.off("SIGHUP", stop);
        }
        process.stderr.write(`suede: unmounted ${session.mountpoint}\n`);
      });
    });
}
