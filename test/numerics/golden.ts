/** Golden vectors from scripts/make_float_format_vectors.py (see test/fixtures/numerics/README.md). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpz } from "../../src/io/npz.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/numerics");

interface DecodeGolden {
  versions: Record<string, string>;
  decode: Record<string, string[]>;
}

/** float32 bit patterns of every code, per format name. */
export function goldenDecode(): DecodeGolden {
  return JSON.parse(readFileSync(join(DIR, "decode.json"), "utf8")) as DecodeGolden;
}

/** `x` (float32 inputs) and the reference code arrays of one format. */
export function goldenEncode(name: string): { x: Float32Array; codes: Record<string, Uint8Array> } {
  const arrays = readNpz(join(DIR, `encode-${name}.npz`));
  const codes: Record<string, Uint8Array> = {};
  for (const [k, a] of arrays) if (k !== "x") codes[k] = a.data as Uint8Array;
  return { x: arrays.get("x")!.data as Float32Array, codes };
}
