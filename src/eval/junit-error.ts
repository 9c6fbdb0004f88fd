/**
 * The JUnit file of an `eval` that could not finish (a model ONNX Runtime
 * refuses, bad data, a usage error): one failing test case carrying the
 * one-line error message, so CI shows why the gate did not run.
 */
import { writeFileAtomic } from "../ir/atomic-write.js";
import { escapeXml } from "./reports.js";

export interface EvalErrorCase {
  readonly reference: string;
  readonly candidate: string;
  /** The one-line message printed on stderr. */
  readonly message: string;
  readonly seconds: number;
}

export function junitErrorReport(c: EvalErrorCase): string {
  const time = c.seconds.toFixed(3);
  const counts = `tests="1" failures="1" errors="0"`;
  const attr = (s: string) => escapeXml(s, true);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="fixq" ${counts} time="${time}">`,
    `  <testsuite name="fixq eval" ${counts} skipped="0" time="${time}">`,
    "    <properties>",
    `      <property name="reference" value="${attr(c.reference)}"/>`,
    `      <property name="candidate" value="${attr(c.candidate)}"/>`,
    "    </properties>",
    `    <testcase classname="fixq.eval" name="eval ran to completion" time="${time}">`,
    `      <failure message="${attr(c.message)}" type="error">${escapeXml(c.message)}</failure>`,
    "    </testcase>",
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

/** Writes the error report; a failure to write it is ignored (the error itself is what gets reported). */
export function writeJunitError(path: string, c: EvalErrorCase): void {
  try {
    writeFileAtomic(path, new TextEncoder().encode(junitErrorReport(c)));
  } catch {
    // the original error is reported by the caller
  }
}
