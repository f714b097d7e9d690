/** Damage for tests: flips one byte inside a record's sealed body, so its header still opens. */
import { open } from "node:fs/promises";
import { RECORD_PREFIX_SIZE_BYTES } from "../../src/vault/format.ts";

export async function damageBody(vaultPath: string, offset: number): Promise<void> {
  const handle = await open(vaultPath, "r+");
  try {
    const at = offset + RECORD_PREFIX_SIZE_BYTES + 3;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 0x40;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}
