/**
 * Calibration keeps no raw data beyond a batch: the .npy or .npz is read a
 * batch of rows at a time and activations go into streaming statistics, so
 * peak memory at N = 10,000 samples is at most 1.2× the peak at N = 1,000.
 * And the output is byte-identical at any thread count.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { writeNpz } from "../../src/io/npz.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-calmem-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `fixq quantize` in a fresh process; returns its peak RSS in kB (GNU time's %M is not assumed: /proc is read by a wrapper). */
function quantizeInFreshProcess(calib: string, out: string, extra: string[] = [], model = "models/resnet.onnx"): number {
  const wrapper = `
    import("./bin/fixq.mjs").then(() => {});
    process.on("exit", () => {
      const hwm = /VmHWM:\\s+(\\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8"));
      require("node:fs").writeFileSync(${JSON.stringify(`${out}.rss`)}, hwm ? hwm[1] : "0");
    });`;
  const r = spawnSync(process.execPath, ["-e", wrapper, "--", "x", "quantize", model, "--calib", calib, "-o", out, ...extra], {
    encoding: "utf8",
  });
  expect(r.stderr.split("\n").filter((l) => l.startsWith("error")).join("\n")).toBe("");
  return Number(readFileSync(`${out}.rss`, "utf8"));
}

function calibSet(n: number, ext: "npy" | "npz" = "npy"): string {
  const c = readNpy("models/data/calib.npy");
  const d = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) d.set((c.data as Float32Array).subarray((i % 512) * 784, ((i % 512) + 1) * 784), i * 784);
  const p = join(tmp, `calib${n}.${ext}`);
  const arr = { dtype: "f4" as const, shape: [n, 1, 28, 28], data: d };
  if (ext === "npy") writeNpy(p, arr);
  else writeNpz(p, { input: arr }, { compress: true });
  return p;
}

describe("calibration bounds", () => {
  it("peak RSS at N = 10,000 is at most 1.2× the peak at N = 1,000", () => {
    const small = quantizeInFreshProcess(calibSet(1000), join(tmp, "q1k.onnx"));
    const large = quantizeInFreshProcess(calibSet(10000), join(tmp, "q10k.onnx"));
    console.log(`calibration peak RSS: N=1000 ${(small / 1024).toFixed(1)} MB, N=10000 ${(large / 1024).toFixed(1)} MB, ratio ${(large / small).toFixed(3)}`);
    expect(small).toBeGreaterThan(0);
    expect(large / small).toBeLessThanOrEqual(1.2);
  }, 120_000);

  it("a deflated .npz streams too: at N = 30,000 (94 MB of floats) peak RSS grows by less than half the array over N = 1,000", () => {
    // The MLP keeps the run short; reading the array whole would add at least its 94 MB. The bound is on the
    // growth, not a ratio: a fixed 1.2× of a ~110 MB base leaves too little room for the GC's timing.
    const small = quantizeInFreshProcess(calibSet(1000, "npz"), join(tmp, "z1k.onnx"), [], "models/mlp.onnx");
    const large = quantizeInFreshProcess(calibSet(30000, "npz"), join(tmp, "z30k.onnx"), [], "models/mlp.onnx");
    console.log(`calibration peak RSS from .npz: N=1000 ${(small / 1024).toFixed(1)} MB, N=30000 ${(large / 1024).toFixed(1)} MB, ratio ${(large / small).toFixed(3)}`);
    const arrayKB = (30000 * 784 * 4) / 1024;
    expect(large - small).toBeLessThan(arrayKB / 2);
  }, 120_000);

  it("gives a byte-identical model with 1 and 2 threads", () => {
    const calib = calibSet(1000);
    quantizeInFreshProcess(calib, join(tmp, "t1.onnx"), ["--threads", "1"]);
    quantizeInFreshProcess(calib, join(tmp, "t2.onnx"), ["--threads", "2"]);
    expect(Buffer.compare(readFileSync(join(tmp, "t1.onnx")), readFileSync(join(tmp, "t2.onnx")))).toBe(0);
  }, 120_000);
});
