/**
 * The static memory plan of the generated C: every integer value of one
 * sample lives in one of a few static arrays, one per storage type
 * (int8_t, uint8_t, int16_t, uint16_t, int32_t), so that no pointer ever reads
 * an array through another type. A value is born at the op that writes it
 * (the program's quantized inputs, at the start) and dies after its last
 * reader (the integer outputs, at the end); values whose lives overlap never
 * share elements, and the others may. Placement is greedy in order of birth:
 * each value takes the lowest offset (a multiple of 64 bytes) that no live
 * value overlaps.
 */
import { integerOutputs, opInputs, type Program, sampleSize } from "../../integer/program.js";
import { C_BYTES, type CType, cType } from "./c-types.js";

export interface BufferPlan {
  /** The array and element offset of each integer value. */
  readonly place: ReadonlyMap<string, { readonly pool: CType; readonly offset: number }>;
  /** Elements of each array (0 for unused types). */
  readonly poolSize: ReadonlyMap<CType, number>;
}

interface Life {
  readonly name: string;
  readonly size: number;
  readonly birth: number;
  death: number;
}

export function planBuffers(p: Program): BufferPlan {
  const lives = new Map<string, Life>();
  const end = p.ops.length;
  p.ops.forEach((op, i) => {
    for (const v of op.kind === "quantize" ? [] : opInputs(op)) {
      const l = lives.get(v);
      if (!l) throw new Error(`op ${i} (${op.kind} ${op.source}) reads '${v}' before any op writes it`);
      l.death = Math.max(l.death, i);
    }
    if (op.kind === "dequantize") return;
    const v = p.values.get(op.output);
    if (!v) throw new Error(`op ${i} (${op.kind} ${op.source}) writes '${op.output}', which has no entry in program.values`);
    const birth = op.kind === "quantize" ? -1 : i;
    lives.set(op.output, { name: op.output, size: sampleSize(v.shape), birth, death: birth });
  });
  for (const v of integerOutputs(p)) lives.get(v)!.death = end;
  const place = new Map<string, { pool: CType; offset: number }>();
  const poolSize = new Map<CType, number>();
  const placed = new Map<CType, { life: Life; offset: number }[]>();
  for (const life of [...lives.values()].sort((a, b) => a.birth - b.birth)) {
    const pool = cType(p.values.get(life.name)!.type);
    const align = 64 / C_BYTES[pool];
    const others = (placed.get(pool) ?? []).filter((o) => o.life.birth <= life.death && life.birth <= o.life.death).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const o of others) {
      if (offset + life.size <= o.offset) break;
      offset = Math.max(offset, Math.ceil((o.offset + o.life.size) / align) * align);
    }
    placed.set(pool, [...(placed.get(pool) ?? []), { life, offset }]);
    place.set(life.name, { pool, offset });
    poolSize.set(pool, Math.max(poolSize.get(pool) ?? 0, offset + life.size));
  }
  return { place, poolSize };
}
