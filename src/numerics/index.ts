/** The numerics module: one definition of every number format fixq knows. */
export * from "./float-format.js";
export * from "./float-formats.js";
export * from "./float-codec.js";
export * from "./pack.js";
export * from "./groups.js";
export * from "./int-group.js";
export * from "./mx.js";
export * from "./nvfp4.js";
export * from "./rounding.js";
export * from "./int.js";
export * from "./overflow.js";
export * from "./fixed.js";
export * from "./fixed-convert.js";
export * from "./requant.js";
export * from "./rescale.js";
