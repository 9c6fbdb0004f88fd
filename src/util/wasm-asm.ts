/**
 * A minimal WebAssembly assembler for every part of fixq that generates
 * WebAssembly (the emulator's SIMD kernels, learned rounding's float64 tiles): just the instructions they use, encoded per the WebAssembly 2.0 binary format (LEB128
 * immediates, 0xFD-prefixed SIMD opcodes, 0xFC-prefixed bulk memory). One
 * module imports its memory as env.memory and exports its functions.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof V128;

function uleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`uleb ${n}`);
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

function sleb(n: bigint, out: number[]): void {
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  out.push(...b);
}

/** SIMD opcodes (after the 0xFD prefix). */
export const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  load64Splat: 0x0a,
  store: 0x0b,
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  i64x2Splat: 0x12,
  i32x4ExtractLane: 0x1b,
  f32x4Splat: 0x13,
  f32x4Eq: 0x41,
  f32x4Nearest: 0x6a,
  f32x4Div: 0xe7,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
  i32x4TruncSatF32x4S: 0xf8,
  i32x4ReplaceLane: 0x1c,
  bitselect: 0x52,
  i16x8NarrowI32x4S: 0x85,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4Mul: 0xb5,
  i32x4MinS: 0xb6,
  i32x4MaxS: 0xb8,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4LtS: 0x39,
  i32x4GtS: 0x3b,
  v128And: 0x4e,
  v128Or: 0x50,
  i32x4ShrS: 0xac,
  i32x4DotI16x8S: 0xba,
  i64x2ShrS: 0xcc,
  i64x2Add: 0xce,
  i64x2ExtmulLowI32x4S: 0xdc,
  i64x2ExtmulHighI32x4S: 0xdd,
  i64x2LtS: 0xd8,
  i64x2GtS: 0xd9,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
} as const;

/** One function's body, written instruction by instruction. */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  /** A parameter's local index is its position; this adds a local and returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  get(l: number): this {
    this.code.push(0x20);
    uleb(l, this.code);
    return this;
  }
  set(l: number): this {
    this.code.push(0x21);
    uleb(l, this.code);
    return this;
  }
  tee(l: number): this {
    this.code.push(0x22);
    uleb(l, this.code);
    return this;
  }
  i32(n: number): this {
    this.code.push(0x41);
    sleb(BigInt(n | 0), this.code);
    return this;
  }
  i64(n: bigint): this {
    this.code.push(0x42);
    sleb(BigInt.asIntN(64, n), this.code);
    return this;
  }
  private mem(opcode: number, offset: number): this {
    this.code.push(opcode, 0);
    uleb(offset, this.code);
    return this;
  }
  i32Load(offset = 0): this {
    return this.mem(0x28, offset);
  }
  i32Store(offset = 0): this {
    return this.mem(0x36, offset);
  }
  i32Store16(offset = 0): this {
    return this.mem(0x3b, offset);
  }
  simd(op: number): this {
    this.code.push(0xfd);
    uleb(op, this.code);
    return this;
  }
  private simdMem(op: number, offset: number): this {
    this.simd(op);
    this.code.push(0);
    uleb(offset, this.code);
    return this;
  }
  v128Load(offset = 0): this {
    return this.simdMem(SIMD.load, offset);
  }
  v128Load32Splat(offset = 0): this {
    return this.simdMem(SIMD.load32Splat, offset);
  }
  v128Load64Splat(offset = 0): this {
    return this.simdMem(SIMD.load64Splat, offset);
  }
  v128Store(offset = 0): this {
    return this.simdMem(SIMD.store, offset);
  }
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError("shuffle needs 16 lane indices");
    this.simd(SIMD.shuffle);
    this.code.push(...lanes);
    return this;
  }
  replaceLane(lane: number): this {
    this.simd(SIMD.i32x4ReplaceLane);
    this.code.push(lane);
    return this;
  }
  /** memory.fill(dest, byte, n) (bulk memory). */
  memoryFill(): this {
    this.code.push(0xfc);
    uleb(11, this.code);
    this.code.push(0);
    return this;
  }
  extractLane(lane: number): this {
    this.simd(SIMD.i32x4ExtractLane);
    this.code.push(lane);
    return this;
  }

  // i32 / i64 arithmetic
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  shl(): this {
    return this.op(0x74);
  }
  shrS(): this {
    return this.op(0x75);
  }
  and(): this {
    return this.op(0x71);
  }
  xor(): this {
    return this.op(0x73);
  }
  ltS(): this {
    return this.op(0x48);
  }
  geS(): this {
    return this.op(0x4e);
  }
  gtS(): this {
    return this.op(0x4a);
  }
  leS(): this {
    return this.op(0x4c);
  }
  eq(): this {
    return this.op(0x46);
  }
  i64LtS(): this {
    return this.op(0x53);
  }
  i64GtS(): this {
    return this.op(0x55);
  }
  eqz(): this {
    return this.op(0x45);
  }
  select(): this {
    return this.op(0x1b);
  }
  drop(): this {
    return this.op(0x1a);
  }
  i64ExtendI32S(): this {
    return this.op(0xac);
  }
  i64ExtendI32U(): this {
    return this.op(0xad);
  }
  i64Add(): this {
    return this.op(0x7c);
  }
  i64Mul(): this {
    return this.op(0x7e);
  }
  i64ShrS(): this {
    return this.op(0x87);
  }
  i64Shl(): this {
    return this.op(0x86);
  }
  i32WrapI64(): this {
    return this.op(0xa7);
  }

  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  /** `if` on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
    return this;
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }

  /** for (i = from(); i < end(); i += step) body(), with i an i32 local; `step` pushes the increment. */
  for(i: number, from: () => void, end: () => void, step: () => void, body: () => void): this {
    from();
    this.set(i);
    this.block(() => {
      this.loop(() => {
        this.get(i);
        end();
        this.geS().brIf(1);
        body();
        this.get(i);
        step();
        this.add().set(i);
        this.br(0);
      });
    });
    return this;
  }

  /** Encoded body: locals then code then `end`. */
  encode(): number[] {
    const out: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const g = groups[groups.length - 1];
      if (g && g[1] === t) g[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [n, t] of groups) {
      uleb(n, out);
      out.push(t);
    }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }
}

function section(id: number, payload: number[], out: number[]): void {
  out.push(id);
  uleb(payload.length, out);
  for (const b of payload) out.push(b);
}

/** A module importing env.memory and exporting `fns` under their names. */
export function assemble(fns: readonly Fn[]): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name("env", imports);
  name("memory", imports);
  imports.push(0x02, 0x00, 0x01); // memory, limits {min: 1}, no max
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  for (let i = 0; i < fns.length; i++) uleb(i, funcs);
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) for (const b of f.encode()) code.push(b);
  section(10, code, out);
  return Uint8Array.from(out);
}
