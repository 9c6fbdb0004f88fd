/** The bundled evaluation and calibration sets, loaded once per test file. */
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import { readNpy } from "../../src/io/npy.js";
import { readTensorFile } from "../../src/io/npz.js";

const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
/** The 2,000 eval images, as an ORT feed. */
export const evalX = { dtype: DataType.FLOAT, dims: [...x.shape], data: x.data as Float32Array };
export const evalY = y.data as BigInt64Array;
/** models/data/calib.npy, keyed as readTensorFile returns it. */
export const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
