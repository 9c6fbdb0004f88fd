/** Types through control flow: If/Loop/Scan outputs from their bodies (src/ir/infer-body-types.ts). */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { inferTypesDeep } from "../../src/ir/infer-body-types.js";
import { inferTypes } from "../../src/ir/infer-types.js";
import { ifModel, loopModel, scanModel } from "../helpers/subgraph-models.js";

/** The model with its outputs' declared types removed, so only inference can type them. */
const undeclared = (m: Model): Model => ({ ...m, graph: { ...m.graph!, outputs: m.graph!.outputs.map((o) => ({ name: o.name })) } });

describe("inferTypesDeep", () => {
  it("types an If output from its branches (Conv → Relu in one, Conv → Mul in the other)", () => {
    const g = undeclared(ifModel()).graph!;
    expect(inferTypes(g).get("Y")).toBeUndefined();
    expect(inferTypesDeep(g).get("Y")).toEqual({ dtype: DataType.FLOAT, shape: ["N", 3, 6, 6] });
  });

  it("types a Loop's carried output from its body, and a Scan's scan output by element type only", () => {
    expect(inferTypesDeep(undeclared(loopModel()).graph!).get("Y")).toEqual({ dtype: DataType.FLOAT, shape: ["N", 4] });
    const scan = inferTypesDeep(undeclared(scanModel()).graph!);
    expect(scan.get("S")).toEqual({ dtype: DataType.FLOAT, shape: [4] });
    expect(scan.get("Y")).toEqual({ dtype: DataType.FLOAT, shape: undefined });
  });
});
