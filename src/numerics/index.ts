/** The numerics module: one definition of every number format fixq knows. */
export * from "./float-format.js";
export * from "./float-formats.js";
export * from "./float-codec.js";
export * from "./pack.js";
export * from "./rounding.js";
export * from "./int.js";
export * from "./overflow.js";
export * from "./fixed.js";
export * from "./fixed-convert.js";
export * from "./requant.js";
