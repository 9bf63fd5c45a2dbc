/**
 * The random bits behind stochastic rounding: xoshiro128** (Blackman and Vigna), seeded from
 * a 32-bit integer through splitmix32 so that nearby seeds give unrelated streams. Fast and
 * small; not for cryptography. Same seed, same bits, on every platform.
 */
export class RoundingRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32: expands one seed word into well-mixed state words (never all zero).
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Fills `out` with uniform 32-bit unsigned integers. */
  fill(out: Uint32Array): Uint32Array {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < out.length; i++) {
      const product = Math.imul(s1, 5);
      out[i] = Math.imul((product << 7) | (product >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }
}

/** The encoders stage random bits and scaled values in chunks of this many, small enough to stay in cache. */
export const CHUNK_LENGTH = 4096;

/** A seed for callers that asked for stochastic rounding without one. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}
