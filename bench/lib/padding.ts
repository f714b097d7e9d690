/**
 * Where a suede vault's bytes go: payload (stored, after compression), Padmé padding (FORMAT.md §5.4),
 * record framing (96 bytes per record, §5.1) and everything else (header, superblocks, index and
 * checkpoint records). Reads each indexed record's 80-byte prefix and opens its header, so the
 * stored length S is exact, not inferred from the padded length. A bench helper, not a vault API:
 * `info` would have to read every record header of a vault to report it.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { defaultDeps } from "../../src/api/suede-vault.ts";
import { passphraseBytes } from "../../src/crypto/kdf.ts";
import { RECORD_OVERHEAD_BYTES, RECORD_PREFIX_SIZE_BYTES } from "../../src/vault/format.ts";
import { openRecordHeader } from "../../src/vault/record.ts";
import { Vault } from "../../src/vault/vault.ts";

export interface VaultBytes {
  readonly fileBytes: number;
  readonly records: number;
  /** Sum of the stored lengths S of the blob records (what the records carry). */
  readonly payloadBytes: number;
  /** Sum of P − S: the Padmé padding. */
  readonly paddingBytes: number;
  /** 96 bytes per blob record: salt, sealed header, two tags. */
  readonly framingBytes: number;
  /** The rest of the file: header copies, superblocks, index and checkpoint records, garbage. */
  readonly otherBytes: number;
}

export async function vaultBytes(path: string, passphrase: string): Promise<VaultBytes> {
  const vault = await Vault.open(path, { secret: passphraseBytes(passphrase), writable: false, deps: defaultDeps });
  const fd = openSync(path, "r");
  try {
    await vault.loadIndex();
    const index = vault.blobIndex;
    const keys = vault.recordKeys;
    const prefix = Buffer.alloc(RECORD_PREFIX_SIZE_BYTES);
    let payloadBytes = 0;
    let paddingBytes = 0;
    let recordBytes = 0;
    for (let entry = 0; entry < index.size; entry++) {
      if (readSync(fd, prefix, 0, prefix.length, index.offsetOf(entry)) !== prefix.length) throw new Error(`short read at record ${entry}`);
      const opened = openRecordHeader(keys, prefix);
      if (typeof opened === "string") throw new Error(`record ${entry}: ${opened}`);
      payloadBytes += opened.header.storedLength;
      paddingBytes += opened.header.paddedLength - opened.header.storedLength;
      recordBytes += index.recordLengthOf(entry);
    }
    const fileBytes = statSync(path).size;
    const framingBytes = index.size * RECORD_OVERHEAD_BYTES;
    if (payloadBytes + paddingBytes + framingBytes !== recordBytes) throw new Error("record lengths do not add up to 96 + P");
    return { fileBytes, records: index.size, payloadBytes, paddingBytes, framingBytes, otherBytes: fileBytes - recordBytes };
  } finally {
    closeSync(fd);
    await vault.close();
  }
}
