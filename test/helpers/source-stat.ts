/** A regular file's lstat as the source side reports it: the base the unchanged-detection tests vary one field of. */
import type { SourceStat } from "../../src/core/ports.ts";

export const FILE_STAT: SourceStat = {
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 0,
  sizeBytes: 5000,
  mtimeNs: 1_700_000_000_123_456_789n,
  ctimeNs: 1_700_000_001_000_000_001n,
  inode: 40n,
  device: 2049n,
  rdev: 0n,
  nlink: 1,
  blocks: 16,
};
