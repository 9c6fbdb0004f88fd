/**
 * The CPU features that change how ONNX Runtime's CPU provider runs its
 * 8-bit integer kernels (MLAS), detected at run time, never assumed.
 *
 * What each feature means for a u8×s8 dot product Σ x·w (x uint8, w int8),
 * the kernel behind QLinearConv, QLinearMatMul, QGemm and MatMulInteger:
 * - x86 AVX2 (and AVX512-BW) without VNNI: `vpmaddubsw` multiplies byte pairs
 *   and adds each pair into a *saturating* int16, so x₀w₀ + x₁w₁ is clamped to
 *   [−32768, 32767] before the int32 sum. With 255·127·2 = 64770 > 32767 full
 *   8-bit weights can saturate; |w| ≤ 64 cannot (255·64·2 = 32640).
 * - x86 AVX512-VNNI, AVX-VNNI or AMX-INT8: `vpdpbusd` / `tdpbusd` add the
 *   four products of a byte quad straight into int32: exact.
 * - x86 without AVX2 (SSE4.1): bytes are widened to int16 before `pmaddwd`,
 *   whose pair sums are int32: exact.
 * - Arm64: `udot`/`sdot` (dot-product) and `ummla`/`smmla` (i8mm) accumulate
 *   in int32; plain NEON widens to 16-bit products first: exact in every case
 *   (stated from the instruction semantics, not measured here).
 * - Anything else (other OS, no /proc/cpuinfo): unknown.
 *
 * `parseCpuInfo` is pure so tests can feed it any machine's /proc/cpuinfo.
 */
import { readFileSync } from "node:fs";
import { arch as osArch } from "node:os";

/** How ORT's u8×s8 kernels add products on this CPU. */
export type U8S8Accumulation = "saturating-int16-pairs" | "exact-int32" | "unknown";

export interface CpuFeatures {
  /** `x64`, `arm64`, … as Node names it. */
  arch: string;
  /** The model name, or "unknown". */
  model: string;
  /** The integer-kernel features found, by their /proc/cpuinfo names (e.g. avx2, avx512_vnni, asimddp). */
  features: string[];
  u8s8: U8S8Accumulation;
  /** One line for humans and bench headers: model, features and what they mean. */
  summary: string;
}

/** The /proc/cpuinfo flags that matter to ORT's integer kernels, in the order they are printed. */
const X86_FLAGS = ["sse4_1", "avx2", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8"] as const;
const ARM_FLAGS = ["asimd", "asimddp", "i8mm"] as const;

/** Reads the first `key : value` line's value of a /proc/cpuinfo text. */
function field(text: string, key: string): string | undefined {
  const re = new RegExp(`^${key}\\s*:\\s*(.*)$`, "m");
  return re.exec(text)?.[1]?.trim();
}

/** Decides how u8×s8 products accumulate from the detected flags (see the module comment). */
export function u8s8Accumulation(arch: string, features: readonly string[]): U8S8Accumulation {
  const has = (f: string) => features.includes(f);
  if (arch === "x64" || arch === "ia32") {
    if (has("avx512_vnni") || has("avx_vnni") || has("amx_int8")) return "exact-int32";
    if (has("avx2")) return "saturating-int16-pairs";
    if (has("sse4_1")) return "exact-int32";
    return "unknown";
  }
  if (arch === "arm64") return has("asimd") ? "exact-int32" : "unknown";
  return "unknown";
}

const MEANING: Record<U8S8Accumulation, string> = {
  "saturating-int16-pairs": "ORT u8×s8 kernels saturate int16 pair sums",
  "exact-int32": "ORT u8×s8 kernels accumulate exactly in int32",
  unknown: "ORT u8×s8 kernel behaviour unknown",
};

/** Parses a /proc/cpuinfo text (x86 `flags`, Arm `Features`) for `arch`; an empty text gives "unknown". */
export function parseCpuInfo(text: string, arch: string): CpuFeatures {
  const flagLine = field(text, "flags") ?? field(text, "Features") ?? "";
  const flags = new Set(flagLine.split(/\s+/).filter(Boolean));
  const wanted: readonly string[] = arch === "arm64" ? ARM_FLAGS : X86_FLAGS;
  const features = wanted.filter((f) => flags.has(f));
  const model = field(text, "model name") ?? field(text, "CPU part") ?? "unknown";
  const u8s8 = flagLine ? u8s8Accumulation(arch, features) : "unknown";
  const summary = `${model} (${arch}; ${features.length ? features.join(" ") : "no integer-kernel features detected"}): ${MEANING[u8s8]}`;
  return { arch, model, features, u8s8, summary };
}

let cached: CpuFeatures | undefined;

/** This machine's features, read once from /proc/cpuinfo ("unknown" where it does not exist). */
export function detectCpu(): CpuFeatures {
  if (cached) return cached;
  let text = "";
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // not Linux: stays unknown
  }
  cached = parseCpuInfo(text, osArch());
  return cached;
}
