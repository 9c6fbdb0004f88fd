/**
 * Checks over tens of thousands of generated cases without an `expect` per case
 * (vitest's `expect` costs tens of microseconds a call, which made such loops the
 * bulk of their files' time). `check(got, want, what)` compares with `Object.is`,
 * the equality of `toBe`, and keeps the case only when it differs, building its
 * description (`what`) only then; `expectNone()` fails listing the first differing
 * cases and how many of the cases checked differ. The same comparisons as
 * `expect(got, what).toBe(want)` inside the loop.
 */
import { expect } from "vitest";

export interface CaseChecker {
  check(got: unknown, want: unknown, what: () => string): void;
  /** Fails unless every case checked so far agreed (and at least one was checked). */
  expectNone(): void;
}

export function caseChecker(): CaseChecker {
  const bad: string[] = [];
  let checked = 0;
  return {
    check(got, want, what) {
      checked++;
      if (!Object.is(got, want)) bad.push(`${what()}: got ${String(got)}, expected ${String(want)}`);
    },
    expectNone() {
      expect(checked, "cases checked").toBeGreaterThan(0);
      expect(bad.slice(0, 10), `${bad.length} of ${checked} cases differ`).toEqual([]);
    },
  };
}
