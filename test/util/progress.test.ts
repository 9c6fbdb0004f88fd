import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { silentProgress, terminalProgress } from "../../src/util/progress.js";

function fakeStream(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; cursorTo: () => boolean; clearLine: () => boolean; moveCursor: () => boolean };
  s.isTTY = isTTY;
  s.columns = 80;
  s.cursorTo = () => true;
  s.clearLine = () => true;
  s.moveCursor = () => true;
  let out = "";
  s.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => out };
}

describe("progress", () => {
  it("draws a bar on a terminal", () => {
    const { stream, text } = fakeStream(true);
    const p = terminalProgress(stream);
    p.start(4, "running");
    p.tick(2);
    p.tick(2);
    p.stop();
    expect(text()).toMatch(/running \[.*\] \d\/4/);
  });

  it("stays silent when the output is not a terminal", () => {
    const { stream } = fakeStream(false);
    expect(terminalProgress(stream)).toBe(silentProgress);
  });
});
