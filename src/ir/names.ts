/**
 * Fresh names for values and nodes a rewrite adds: `base`, then `base_1`,
 * `base_2`, … — the first not yet taken, where taken = the names reserved
 * (at the start or later) plus every name handed out since. One generator
 * for every layer (passes, the integer ONNX builder).
 */

export class NameSet {
  private readonly used: Set<string>;

  constructor(taken: Iterable<string> = []) {
    this.used = new Set(taken);
  }

  /** Marks `name` as taken (fresh names will avoid it). */
  reserve(name: string): void {
    this.used.add(name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** The first of `base`, `base_1`, `base_2`, … not taken; it is taken from now on. */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** Hands out names not in `taken` (and not handed out before): `base`, `base_1`, `base_2`, … */
export function uniqueNamer(taken: Iterable<string> = []): (base: string) => string {
  const names = new NameSet(taken);
  return (base) => names.fresh(base);
}
