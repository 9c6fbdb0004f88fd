/**
 * The zero-padded plane both depthwise kernels read: channel c of the
 * input, x − z, copied into the interior of a plane with `pt` rows and `pl`
 * columns of padding (row stride Wp, i32 cells). The padding cells are
 * zeroed once per call by the caller and never written here, so padded taps
 * contribute 0 as the program requires.
 */
import { type Fn, SIMD } from "../../../util/wasm-asm.js";

/** Locals and parameters (indices into `f`) the copy reads and the scratch locals it uses. */
export interface PadPlaneSlots {
  readonly inp: number;
  readonly z: number;
  readonly vz: number;
  readonly plane: number;
  readonly c: number;
  readonly H: number;
  readonly W: number;
  readonly pt: number;
  readonly pl: number;
  readonly Wp: number;
  /** Scratch. */
  readonly y: number;
  readonly x: number;
  readonly src: number;
  readonly dst: number;
}

/** Emits the copy of channel `c` into the plane: four lanes at a time, then the tail. */
export function emitPadPlaneCopy(f: Fn, s: PadPlaneSlots): void {
  const inc = (n: number) => () => f.i32(n);
  f.for(s.y, inc(0), () => f.get(s.H), inc(1), () => {
    f.get(s.inp).get(s.c).get(s.H).mul().get(s.y).add().get(s.W).mul().i32(4).mul().add().set(s.src);
    f.get(s.plane).get(s.y).get(s.pt).add().get(s.Wp).mul().get(s.pl).add().i32(4).mul().add().set(s.dst);
    f.for(s.x, inc(0), () => f.get(s.W).i32(3).sub(), inc(4), () => {
      f.get(s.dst).get(s.x).i32(4).mul().add();
      f.get(s.src).get(s.x).i32(4).mul().add().v128Load().get(s.vz).simd(SIMD.i32x4Sub);
      f.v128Store();
    });
    f.for(s.x, () => f.get(s.W).i32(-4).and(), () => f.get(s.W), inc(1), () => {
      f.get(s.dst).get(s.x).i32(4).mul().add();
      f.get(s.src).get(s.x).i32(4).mul().add().i32Load().get(s.z).sub();
      f.i32Store();
    });
  });
}
