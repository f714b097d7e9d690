// Seeded pseudo-random generator (sfc32 seeded through splitmix32) for reproducible test data; never Math.random.

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** n pseudo-random bytes. */
  bytes(n: number): Buffer {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    return Buffer.from(words.buffer, 0, n);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "vu", "shi", "ra", "en", "ul", "or", "is"];

/** A vocabulary of count pseudo-words made from syllables. */
export function vocabulary(prng: Prng, count: number): string[] {
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    let word = "";
    const length = 1 + prng.below(4);
    for (let j = 0; j < length; j++) word += prng.pick(SYLLABLES);
    words.push(word);
  }
  return words;
}

/** About `bytes` bytes of text: words from a small vocabulary, spaces and line breaks (compresses well). */
export function wordText(prng: Prng, bytes: number, vocabularySize = 200): Buffer {
  const words = vocabulary(prng, vocabularySize);
  const parts: string[] = [];
  let length = 0;
  let line = 0;
  while (length < bytes) {
    const word = prng.pick(words);
    line += word.length + 1;
    const separator = line > 72 ? "\n" : " ";
    if (line > 72) line = 0;
    parts.push(word, separator);
    length += word.length + 1;
  }
  return Buffer.from(parts.join("").slice(0, bytes), "utf8");
}

/** `length` bytes of one numbered line repeated: compresses well, differs per seed. */
export function lineText(length: number, seed: number): Uint8Array {
  const line = Buffer.from(`line ${seed}: the quick brown fox jumps over the lazy dog\n`);
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += line.length) line.copy(out, at);
  return out;
}
