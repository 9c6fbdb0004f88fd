/** Runs a model file in onnxruntime-node once (as a user would open it) and returns its outputs. */
import * as ort from "onnxruntime-node";

export async function runModelFile(path: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(path);
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}
