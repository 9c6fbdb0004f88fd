/**
 * qonnx's DataType names, as its documentation lists them, checked
 * independently of fixq's writer (which must never be the source of a test's
 * expectations):
 *   FLOAT32, FLOAT16, BFLOAT16, BINARY, BIPOLAR, TERNARY,
 *   INT<n> (n ≥ 1), UINT<n> (n ≥ 1), FIXED<W,I> (signed, W ≥ 1, I < W),
 *   SCALEDINT<n>, FLOAT<E,M> or FLOAT<E,M,B> (arbitrary-precision float).
 * Returns undefined when `name` parses, else the reason.
 */
export function qonnxDatatypeProblem(name: string): string | undefined {
  if (["FLOAT32", "FLOAT16", "BFLOAT16", "BINARY", "BIPOLAR", "TERNARY"].includes(name)) return undefined;
  let m = /^U?INT([1-9][0-9]*)$/.exec(name);
  if (m) return undefined;
  m = /^FIXED<([1-9][0-9]*),(-?[0-9]+)>$/.exec(name);
  if (m) return Number(m[2]) < Number(m[1]) ? undefined : `${name}: FIXED<W,I> needs I < W`;
  if (/^SCALEDINT<[1-9][0-9]*>$/.test(name)) return undefined;
  if (/^FLOAT<[1-9][0-9]*,[0-9]+(,-?[0-9]+)?>$/.test(name)) return undefined;
  return `'${name}' is not a qonnx DataType name`;
}
