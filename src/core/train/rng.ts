/**
 * A small seeded generator (mulberry32) whose whole state is one 32-bit integer, so a checkpoint
 * can store it and a resumed run draws exactly the same numbers.
 */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A seed for a tfjs random op drawn from this stream. */
  seed(): number {
    return this.int(2 ** 31);
  }
}
