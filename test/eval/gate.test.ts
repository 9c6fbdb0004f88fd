// The eval gate over a model with several outputs: --min-sqnr must hold for
// every output, not only the first (a detector's box head could otherwise
// degrade to noise while its class head passes the gate).
import { describe, expect, it } from "vitest";
import type { CompareResult, OutputMetrics } from "../../src/eval/compare.js";
import { checkGate } from "../../src/eval/gate.js";

const output = (name: string, sqnrDb: number, agreement = 0.99): OutputMetrics => ({ name, candidateName: name, agreement, sqnrDb, cosine: 0.99, maxAbsError: 0.1 });

const twoHeads = (cls: OutputMetrics, box: OutputMetrics): CompareResult => ({
  samples: 64,
  batchSize: 64,
  reference: { accuracy: null },
  candidate: {
    all: { optimization: "all", accuracy: null, outputs: [cls, box] },
    disabled: { optimization: "disabled", accuracy: null, outputs: [cls, box] },
  },
});

describe("checkGate on several outputs", () => {
  it("fails --min-sqnr when a later output is below it, naming that output", () => {
    const gate = checkGate(twoHeads(output("cls", 35.78), output("box", 5.6)), { minSqnrDb: 30 });
    expect(gate.passed).toBe(false);
    expect(gate.checks).toHaveLength(1);
    expect(gate.checks[0]!.value).toBe(5.6);
    expect(gate.checks[0]!.message).toBe("SQNR 5.60 dB (output 'box', the worst of 2) < 30.00 dB");
  });

  it("passes when every output clears the bound, and reports the worst", () => {
    const gate = checkGate(twoHeads(output("cls", 35.78), output("box", 37.46)), { minSqnrDb: 30 });
    expect(gate.passed).toBe(true);
    expect(gate.checks[0]!.message).toBe("SQNR 35.78 dB (output 'cls', the worst of 2) >= 30.00 dB");
  });

  it("fails on a NaN SQNR in any output", () => {
    const gate = checkGate(twoHeads(output("cls", 40), output("box", Number.NaN)), { minSqnrDb: -100 });
    expect(gate.passed).toBe(false);
    expect(gate.checks[0]!.message).toBe("SQNR nan dB (output 'box', the worst of 2) < -100.00 dB");
  });

  it("keeps --min-agreement on the first output (the one labels refer to)", () => {
    const gate = checkGate(twoHeads(output("cls", 40, 0.95), output("box", 40, 0.2)), { minAgreement: 0.9 });
    expect(gate.passed).toBe(true);
    expect(gate.checks[0]!.message).toBe("agreement 0.9500 >= 0.9000");
  });
});
