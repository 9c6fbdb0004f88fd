/**
 * The generated build.tcl, run: tclsh executes it with stand-ins for the
 * Vitis HLS commands (vitis-stub.tcl) that check each call against UG1399's
 * syntax (options, values, order, files, top function, clock) and log it.
 * For each -tclargs combination the call sequence is the expected one, every
 * added file and -I folder exists (from another working folder: the paths do
 * not depend on where vitis_hls starts), set_part/create_clock carry --part
 * and --clock, config_array_partition -maximum_size (refused by Vitis HLS
 * 2023.2, as by the stand-in) is caught and the script goes on, and bad
 * flag combinations stop before any command with exit 2. The stand-ins
 * themselves fail on a missing file, a top function the design does not
 * define, an unknown option and cosim before synthesis. This checks the
 * script, not synthesis (no Vitis here). Skips without tclsh (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitHls } from "../../../src/backends/hls/emit.js";
import { tempDir } from "../../helpers/c-toolchain.js";
import { dataRequired } from "../../helpers/require-data.js";
import { I8, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { Rng } from "../../helpers/prng.js";
import { usefulMultipliers } from "../js/feeds.js";

const STUB = join(import.meta.dirname, "vitis-stub.tcl");

function tclAvailable(): boolean {
  const r = spawnSync("tclsh", [], { input: "exit 0\n", stdio: ["pipe", "ignore", "ignore"] });
  if (r.status === 0) return true;
  if (dataRequired()) throw new Error("tclsh not found on PATH (FIXQ_REQUIRE_DATA=1)");
  console.warn("tclsh not found on PATH: skipping the build.tcl run (apt-get install tcl)");
  return false;
}
const HAVE = tclAvailable();
const tmp = tempDir("fixq-hls-tcl-");
afterAll(tmp.remove);

/** A dense layer → requant: the smallest program with a MAC layer. */
function program() {
  const rng = new Rng(3);
  const b = new ProgramBuilder("single");
  const d = b.dense(b.input([12], U8, 0.02, 128), 128, randomInts(rng, 12 * 4, -127, 127), 4);
  b.output(b.requant(d, usefulMultipliers(rng, 4, 14), 0, I8, -1), 0.05);
  return b.build();
}

/** The project in DIR, with tb/in.bin (the testbench's input, which the user provides). */
function project(dir: string, part = "xc7z020clg400-1", clockNs = 8): void {
  for (const [rel, text] of emitHls(program(), { prefix: "net", part, clockNs })) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  writeFileSync(join(dir, "tb/in.bin"), new Uint8Array(48));
}

/** tclsh vitis-stub.tcl DIR/build.tcl ARGS, started in another folder; the CALL lines split into words. */
function runScript(dir: string, args: string[] = []) {
  const cwd = join(tmp.dir, "elsewhere");
  mkdirSync(cwd, { recursive: true });
  const r = spawnSync("tclsh", [STUB, join(dir, "build.tcl"), ...args], { cwd, encoding: "utf8" });
  const calls = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("CALL "))
    .map((l) => l.slice(5).split(" "));
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, calls, names: calls.map((c) => c[0]) };
}

const SETUP = ["open_project", "set_top", "add_files", "add_files", "add_files", "open_solution", "set_part", "create_clock", "config_array_partition"];

describe("build.tcl's text", () => {
  it("UG1399's commands only; the partition limit inside catch, as hls4ml writes it", () => {
    const tcl = emitHls(program(), { part: "xc7z020clg400-1", clockNs: 8 }).get("build.tcl")!;
    expect(tcl).toMatch(/^set_part \{xc7z020clg400-1\}$/m);
    expect(tcl).toMatch(/^create_clock -period 8 -name default$/m);
    expect(tcl).toMatch(/^catch \{config_array_partition -maximum_size 4096\}$/m);
    expect(tcl).toMatch(/^set_top fixq_top$/m);
  });
});

describe.skipIf(!HAVE)("build.tcl under tclsh with UG1399-checking stand-ins for the Vitis commands", () => {
  const dir = join(tmp.dir, "prj");
  project(dir);

  it.each([
    [[], [...SETUP, "csim_design", "csynth_design", "exit"]],
    [["nocsim"], [...SETUP, "csynth_design", "exit"]],
    [["nosynth"], [...SETUP, "csim_design", "exit"]],
    [["cosim"], [...SETUP, "csim_design", "csynth_design", "cosim_design", "exit"]],
    [["nocsim", "export"], [...SETUP, "csynth_design", "export_design", "exit"]],
    [["cosim", "export"], [...SETUP, "csim_design", "csynth_design", "cosim_design", "export_design", "exit"]],
  ])("-tclargs %j: the calls in order, each accepted", (args, names) => {
    const r = runScript(dir, args);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.names).toEqual(names);
  });

  it("the calls' arguments: project, top, files (absolute, existing), part, clock, testbench paths", () => {
    const { calls } = runScript(dir, ["cosim"]);
    const call = (name: string) => calls.filter((c) => c[0] === name).map((c) => c.slice(1));
    expect(call("open_project")).toEqual([["-reset", "net_prj"]]);
    expect(call("set_top")).toEqual([["net_top"]]);
    const files = call("add_files").map((a) => (a[0] === "-tb" ? ["tb", a[1]!] : ["design", a[0]!]));
    expect(files).toEqual([
      ["design", join(dir, "firmware/fixq_top.cpp")],
      ["tb", join(dir, "tb/csim_run.cpp")],
      ["tb", join(dir, "tb/model.c")],
    ]);
    for (const [, f] of files) expect(readFileSync(f!, "utf8").length).toBeGreaterThan(0);
    expect(call("set_part")).toEqual([["xc7z020clg400-1"]]);
    expect(call("create_clock")).toEqual([["-period", "8", "-name", "default"]]);
    expect(call("config_array_partition")).toEqual([["-maximum_size", "4096"]]);
    for (const name of ["csim_design", "cosim_design"]) {
      const [argv] = call(name);
      expect(argv!.slice(0, 1)).toEqual(["-argv"]);
      const paths = argv!.slice(1);
      expect(paths).toEqual([join(dir, "tb/in.bin"), join(dir, "tb/out.bin")]);
      expect(paths.every(isAbsolute)).toBe(true);
    }
  });

  it.each([
    [["nosynth", "cosim"], /^build\.tcl: cosim and export need the synthesis; drop nosynth$/],
    [["nosynth", "export"], /^build\.tcl: cosim and export need the synthesis; drop nosynth$/],
    [["synth"], /^build\.tcl: unknown argument 'synth' \(expected nocsim, nosynth, cosim, export\)$/],
  ])("-tclargs %j: one line, exit 2, no command run", (args, message) => {
    const r = runScript(dir, args);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.names).toEqual(["exit"]);
  });

  // the stand-ins can fail: each tampering of the script or the project is caught, naming the command
  it.each([
    ["a missing design file", (t: string) => t.replace("firmware/fixq_top.cpp", "firmware/top.cpp"), /add_files: file '.*firmware\/top\.cpp' does not exist/],
    ["a relative include folder", (t: string) => t.replace("-I$dir/tb", "-Itb"), /add_files: include folder 'tb' is relative/],
    ["a top function the design does not define", (t: string) => t.replace("set_top net_top", "set_top fixq_top"), /csim_design: top function 'fixq_top' is not defined in the design files/],
    ["an option UG1399 does not list", (t: string) => t.replace("csynth_design }", "csynth_design -O3 }"), /csynth_design: unknown option '-O3'/],
    ["config_array_partition outside catch", (t: string) => t.replace("catch {config_array_partition -maximum_size 4096}", "config_array_partition -maximum_size 4096"), /config_array_partition: unknown option '-maximum_size'/],
    ["a clock period of 0", (t: string) => t.replace("-period 8", "-period 0"), /create_clock: -period expects a positive number/],
    ["cosim before synthesis", (t: string) => t.replace("if {$do_csynth} { csynth_design }\n", ""), /cosim_design: no synthesis in this solution/],
    ["set_part before open_solution", (t: string) => t.replace(/^(open_solution .*)\n(set_part .*)$/m, "$2\n$1"), /set_part: no solution open/],
  ])("the stand-ins refuse %s", (_, tamper, message) => {
    const bad = join(tmp.dir, `bad-${Math.random().toString(36).slice(2)}`);
    project(bad);
    const file = join(bad, "build.tcl");
    const text = readFileSync(file, "utf8");
    const changed = tamper(text);
    expect(changed).not.toBe(text);
    writeFileSync(file, changed);
    const r = runScript(bad, ["cosim"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});
