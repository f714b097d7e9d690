/** The only source of randomness for salts, keys and record nonces. */
import { randomFillSync } from "node:crypto";

export interface Random {
  bytes(sizeBytes: number): Uint8Array;
}

export const systemRandom: Random = {
  bytes(sizeBytes: number): Uint8Array {
    return randomFillSync(new Uint8Array(sizeBytes));
  },
};
