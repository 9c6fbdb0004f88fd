import { describeModels } from "./model-checks.js";

describeModels(["mobilenetv2", "mobilenetv2.bn"]);
