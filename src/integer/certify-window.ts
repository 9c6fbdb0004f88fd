/**
 * Window geometry for the certificates: which kernel taps of a conv or pool
 * window fall inside the input, for each output position.
 *
 * Along one spatial axis, output position o reads input i = o·stride − padBegin + k·dilation
 * for tap k; the tap is inside when 0 ≤ i < inSize (outside taps read padding,
 * which contributes 0 to Σ (x − inputZero)·w). Positions with the same set of
 * inside taps are alike, so they are grouped: a 2-D window class is a pair
 * (row class, column class), and the extremes over all output positions are
 * the extremes over the few classes.
 */

export interface TapClass {
  /** Inside taps, ascending. */
  readonly taps: readonly number[];
  /** One output position of the class (a position with the class's taps). */
  readonly position: number;
  /** Every tap inside (no padding read). */
  readonly full: boolean;
}

/** The classes of output positions along one axis. */
export function tapClasses(inSize: number, outSize: number, kernel: number, stride: number, padBegin: number, dilation: number): TapClass[] {
  const byKey = new Map<string, TapClass>();
  for (let o = 0; o < outSize; o++) {
    const taps: number[] = [];
    for (let k = 0; k < kernel; k++) {
      const i = o * stride - padBegin + k * dilation;
      if (i >= 0 && i < inSize) taps.push(k);
    }
    const key = taps.join(",");
    if (!byKey.has(key)) byKey.set(key, { taps, position: o, full: taps.length === kernel });
  }
  return [...byKey.values()];
}

export interface WindowClass {
  readonly rows: TapClass;
  readonly cols: TapClass;
  /** Both axes full: the whole window is inside the input. */
  readonly full: boolean;
}

export interface Window2d {
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/** Every distinct 2-D window class (row class × column class). */
export function windowClasses(w: Window2d): WindowClass[] {
  const rows = tapClasses(w.inH, w.outH, w.kernel[0], w.strides[0], w.pads[0], w.dilations[0]);
  const cols = tapClasses(w.inW, w.outW, w.kernel[1], w.strides[1], w.pads[1], w.dilations[1]);
  const out: WindowClass[] = [];
  for (const r of rows) for (const c of cols) out.push({ rows: r, cols: c, full: r.full && c.full });
  return out;
}
