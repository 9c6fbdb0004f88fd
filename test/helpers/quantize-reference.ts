/**
 * QuantizeLinear's definition (numerics/definitions.ts quantizeDef) written
 * out directly for tests that check millions of values: float32(x / s)
 * rounded half to even (floor-based, as roundHalfEvenDef), + z, clamped to
 * [qmin, qmax]; NaN → 0 as the generated code's integer conversion gives.
 * test/numerics/quantize-lanes.test.ts checks it against the printable definition.
 */
export function quantizeReference(x: number, s: number, z: number, qmin: number, qmax: number): number {
  const f = Math.fround(x / s);
  if (Number.isNaN(f)) return 0;
  const t = Math.floor(f);
  const d = f - t;
  const r = d > 0.5 || (d === 0.5 && t % 2 !== 0) ? t + 1 : t;
  return Math.min(Math.max(r + z, qmin), qmax) + 0;
}

/** The float32 neighbours of a float32 v: v itself and ±1…n ulps (by bit pattern). */
export function ulpsAround(v: number, n: number): number[] {
  const f = new Float32Array(1);
  const u = new Int32Array(f.buffer);
  f[0] = v;
  const base = u[0]!;
  const out: number[] = [];
  for (let j = -n; j <= n; j++) {
    u[0] = base + j;
    out.push(f[0]!);
  }
  return out;
}
