/**
 * The unlock: which header copy, the key slot that opens with the secret, the header MAC. Apart from
 * recover.ts and vault.ts so that it loads with few modules (no msgpack, no blob index, no BLAKE3 or
 * zstd addon): the CLI starts it before the rest of the library is loaded (EarlyUnlock), so that
 * Argon2id runs on its pool thread while node reads and compiles the rest, which is mostly waiting
 * on the disk when the page cache is cold (issue 5, docs/PERFORMANCE.md "Fixed costs").
 */
import { deriveKek, type KdfParams } from "../crypto/kdf.ts";
import { deriveVaultKeys } from "../crypto/keys.ts";
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { bytesEqual } from "../util/bytes.ts";
import { HEADER_COPY_OFFSETS, HEADER_COPY_SIZE_BYTES } from "./format.ts";
import { type HeaderProblem, type VaultHeader, decodeHeaderCopy, headerMac, unwrapMasterKey } from "./header.ts";
import { VaultFile } from "./vault-file.ts";

type HeaderCopies = readonly [Uint8Array, Uint8Array];

async function readHeaderCopies(file: VaultFile): Promise<HeaderCopies> {
  const first = await file.readAt(HEADER_COPY_OFFSETS[0], HEADER_COPY_SIZE_BYTES);
  const second = await file.readAt(HEADER_COPY_OFFSETS[1], HEADER_COPY_SIZE_BYTES);
  return [first, second];
}

/** The valid header copies, newest first (the caller unlocks and verifies the MAC in that order). */
export async function readHeader(file: VaultFile): Promise<{ candidates: VaultHeader[]; warnings: string[] }> {
  return decideHeader(await readHeaderCopies(file), file.path);
}

function decideHeader(copies: HeaderCopies, path: string): { candidates: VaultHeader[]; warnings: string[] } {
  const results = [decodeHeaderCopy(copies[0], 0), decodeHeaderCopy(copies[1], 1)];
  const valid = results.filter((r): r is VaultHeader => "vaultId" in r);
  const problems = results.filter((r): r is HeaderProblem => !("vaultId" in r));
  const unsupported = problems.find((p) => p.kind === "unsupported-version");
  if (unsupported !== undefined && unsupported.kind === "unsupported-version" && valid.length === 0) {
    throw new SuedeError("UNSUPPORTED_FORMAT_VERSION", `vault format version ${unsupported.version} is not supported by this suede (it reads version 1)`);
  }
  if (valid.length === 0) {
    if (problems.every((p) => p.kind === "not-a-vault")) throw new SuedeError("NOT_A_VAULT", `${path} is not a suede vault`);
    const details = problems.map((p) => (p.kind === "damaged" ? p.detail : p.kind)).join("; ");
    throw new VaultCorruptError(0, `both header copies are damaged (${details}); the vault cannot be unlocked without a header backup`);
  }
  valid.sort((a, b) => b.sequence - a.sequence);
  const warnings = problems.map((p) => `header copy damaged: ${p.kind === "damaged" ? p.detail : p.kind} (the other copy is used)`);
  return { candidates: valid, warnings };
}

export async function unlockHeader(header: VaultHeader, secret: Uint8Array): Promise<{ master: Uint8Array; slotIndex: number; createdMs: number }> {
  const tried = new Map<string, Uint8Array>();
  for (let slotIndex = 0; slotIndex < header.slots.length; slotIndex++) {
    const slot = header.slots[slotIndex];
    if (slot === null || slot === undefined) continue;
    const cacheKey = `${kdfKey(slot.kdf)}:${Buffer.from(slot.salt).toString("hex")}`;
    let kek = tried.get(cacheKey);
    if (kek === undefined) {
      kek = await deriveKek(secret, slot.salt, slot.kdf);
      tried.set(cacheKey, kek);
    }
    const unwrapped = unwrapMasterKey(kek, header.vaultId, slot);
    if (unwrapped !== null) return { master: unwrapped.master, slotIndex, createdMs: unwrapped.createdMs };
  }
  throw new SuedeError("WRONG_PASSPHRASE", "wrong passphrase (no key slot of this vault opens with it)");
}

function kdfKey(kdf: KdfParams): string {
  return `${kdf.iterations}/${kdf.memoryKiB}/${kdf.parallelism}`;
}

/**
 * Unlocks with the newest header copy whose MAC verifies under the unlocked key. A copy whose MAC
 * fails was changed by someone without the key (its checksum is public): the other copy is tried.
 */
export async function unlockVerified(candidates: readonly VaultHeader[], secret: Uint8Array) {
  const warnings: string[] = [];
  let wrongPassphrase: unknown = null;
  for (const header of candidates) {
    let unlocked: { master: Uint8Array; slotIndex: number; createdMs: number };
    try {
      unlocked = await unlockHeader(header, secret);
    } catch (error) {
      wrongPassphrase = error;
      continue;
    }
    const keys = deriveVaultKeys(unlocked.master, header.vaultId);
    if (bytesEqual(headerMac(keys.headerMac, header), header.mac)) return { header, unlocked, keys, warnings };
    warnings.push(`header copy with sequence ${header.sequence} fails its MAC (tampered); the other copy is used`);
  }
  if (warnings.length > 0) throw new VaultCorruptError(0, "header parameters were changed (MAC mismatch): the header was tampered with");
  throw wrongPassphrase;
}

export type UnlockResult = Awaited<ReturnType<typeof unlockVerified>> & { readonly headerWarnings: readonly string[] };

/** The header copies as the file holds them, decided and unlocked (what Vault.open does first). */
export async function unlockCopies(copies: HeaderCopies, path: string, secret: Uint8Array): Promise<UnlockResult> {
  const { candidates, warnings } = decideHeader(copies, path);
  return { ...(await unlockVerified(candidates, secret)), headerWarnings: warnings };
}

/**
 * An unlock started before the vault is opened (and before its writer lock is taken): reads the
 * header copies on a handle of its own and runs the KDF. Vault.open uses its result only when the
 * header copies it reads itself, under the lock, are byte for byte the ones unlocked here (a key
 * change by another writer meanwhile means unlocking again), and only for the same secret.
 */
export class EarlyUnlock {
  private readonly copies: Promise<HeaderCopies | null>;
  private readonly result: Promise<UnlockResult>;

  constructor(
    readonly path: string,
    private readonly secret: Uint8Array,
  ) {
    this.copies = (async () => {
      const file = await VaultFile.open(path, { writable: false });
      try {
        return await readHeaderCopies(file);
      } finally {
        await file.close();
      }
    })().catch(() => null); // Vault.open meets the same problem itself and reports it
    this.result = this.copies.then((copies) => (copies === null ? Promise.reject(new Error("header not read")) : unlockCopies(copies, path, secret)));
    // Vault.open may fail first (a lock held by another writer) and never ask for the result.
    this.result.catch(() => undefined);
  }

  /** The unlock of these header copies with this secret, if this one made it; else null. */
  async resultFor(copies: HeaderCopies, secret: Uint8Array): Promise<UnlockResult | null> {
    const mine = await this.copies;
    if (mine === null || !bytesEqual(secret, this.secret) || !bytesEqual(mine[0], copies[0]) || !bytesEqual(mine[1], copies[1])) return null;
    return this.result;
  }
}

/** Vault.open's unlock: the early one when it unlocked these very header copies, else a fresh one. */
export async function unlockOpened(file: VaultFile, secret: Uint8Array, early: EarlyUnlock | undefined): Promise<UnlockResult> {
  const copies = await readHeaderCopies(file);
  return (await early?.resultFor(copies, secret)) ?? unlockCopies(copies, file.path, secret);
}
