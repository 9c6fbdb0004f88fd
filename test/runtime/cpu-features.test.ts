/**
 * CPU feature detection, forced through `parseCpuInfo` with /proc/cpuinfo
 * texts of each kind of machine, so both branches (saturating and exact) are
 * exercised whatever CPU runs the suite.
 */
import { existsSync, readFileSync } from "node:fs";
import { arch } from "node:os";
import { describe, expect, it } from "vitest";
import { detectCpu, parseCpuInfo } from "../../src/runtime/cpu-features.js";

const x86 = (model: string, flags: string) => `processor\t: 0\nvendor_id\t: X\nmodel name\t: ${model}\nflags\t\t: fpu sse sse2 ssse3 ${flags}\n\nprocessor\t: 1\n`;

describe("parseCpuInfo", () => {
  it("x86 AVX2 without VNNI (e.g. AMD Zen 2): saturating int16 pair sums", () => {
    const c = parseCpuInfo(x86("AMD EPYC 7B12", "sse4_1 sse4_2 avx f16c avx2 bmi2"), "x64");
    expect(c.features).toEqual(["sse4_1", "avx2"]);
    expect(c.u8s8).toBe("saturating-int16-pairs");
    expect(c.model).toBe("AMD EPYC 7B12");
    expect(c.summary).toMatch(/AMD EPYC 7B12 \(x64; sse4_1 avx2\): ORT u8×s8 kernels saturate/);
  });

  it("x86 AVX512-BW without VNNI (e.g. Skylake-SP): still vpmaddubsw, saturating", () => {
    const c = parseCpuInfo(x86("Intel Xeon Platinum 8168", "sse4_1 avx2 avx512f avx512bw avx512vl"), "x64");
    expect(c.features).toEqual(["sse4_1", "avx2", "avx512bw"]);
    expect(c.u8s8).toBe("saturating-int16-pairs");
  });

  it("x86 AVX512-VNNI (e.g. AMD Zen 4, Cascade Lake): exact int32", () => {
    const c = parseCpuInfo(x86("AMD EPYC 9B14", "sse4_1 avx2 avx512f avx512bw avx512_vnni avx512_bf16"), "x64");
    expect(c.features).toContain("avx512_vnni");
    expect(c.u8s8).toBe("exact-int32");
  });

  it("x86 AVX-VNNI without AVX-512 (e.g. Alder Lake): exact int32", () => {
    expect(parseCpuInfo(x86("12th Gen Intel Core i7-12700", "sse4_1 avx2 avx_vnni"), "x64").u8s8).toBe("exact-int32");
  });

  it("x86 AMX-INT8 (e.g. Sapphire Rapids): exact int32", () => {
    expect(parseCpuInfo(x86("Intel Xeon 8480+", "sse4_1 avx2 amx_int8 amx_tile"), "x64").u8s8).toBe("exact-int32");
  });

  it("x86 SSE4.1 without AVX2: widening kernels, exact int32", () => {
    expect(parseCpuInfo(x86("old", "sse4_1 sse4_2"), "x64").u8s8).toBe("exact-int32");
  });

  it("does not take avx512_vnni's prefix for avx512bw, nor avx2 for avx", () => {
    const c = parseCpuInfo(x86("odd", "avx avx512_vnni"), "x64");
    expect(c.features).toEqual(["avx512_vnni"]);
  });

  it("Arm64 with dot-product and i8mm (e.g. Neoverse V1): exact int32", () => {
    const text = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes crc32 atomics asimddp i8mm bf16\nCPU part\t: 0xd40\n";
    const c = parseCpuInfo(text, "arm64");
    expect(c.features).toEqual(["asimd", "asimddp", "i8mm"]);
    expect(c.u8s8).toBe("exact-int32");
    expect(c.model).toBe("0xd40");
  });

  it("no /proc/cpuinfo (macOS, Windows) or another architecture: unknown", () => {
    expect(parseCpuInfo("", "x64").u8s8).toBe("unknown");
    expect(parseCpuInfo("", "x64").summary).toMatch(/unknown/);
    expect(parseCpuInfo(x86("riscv", "avx2"), "riscv64").u8s8).toBe("unknown");
  });
});

describe("detectCpu", () => {
  it("reads this machine and agrees with parsing the same file", () => {
    const c = detectCpu();
    const text = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
    expect(c).toEqual(parseCpuInfo(text, arch()));
    expect(detectCpu()).toBe(c);
  });
});
