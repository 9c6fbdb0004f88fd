/**
 * What every streaming statistic of a tensor keeps: how many finite values it
 * has seen, their exact extremes, and NaN/±Inf counted apart.
 */
export abstract class FiniteStats {
  protected n = 0;
  protected nan = 0;
  protected posInf = 0;
  protected negInf = 0;
  protected lo = Number.POSITIVE_INFINITY;
  protected hi = Number.NEGATIVE_INFINITY;

  /** Number of finite values seen. */
  get count(): number {
    return this.n;
  }
  get nanCount(): number {
    return this.nan;
  }
  get posInfCount(): number {
    return this.posInf;
  }
  get negInfCount(): number {
    return this.negInf;
  }
  /** Exact smallest finite value (NaN when none). */
  get min(): number {
    return this.n === 0 ? Number.NaN : this.lo;
  }
  /** Exact largest finite value (NaN when none). */
  get max(): number {
    return this.n === 0 ? Number.NaN : this.hi;
  }
}
