/**
 * The bundled-model registry: models/manifest.json, written by
 * scripts/train_models.py. Gives each model's file, input spec, preprocessing,
 * data files and the float accuracy measured when it was built.
 */
import { readFileSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { packageRoot } from "../util/package-root.js";

export interface BundledModel {
  readonly key: string;
  readonly file: string;
  readonly description: string;
  /** `range`: what preprocessing maps every input element into (data-free mode assumes it). */
  readonly input: { name: string; shape: (number | string)[]; dtype: string; range?: [number, number] };
  readonly output: { name: string; shape: (number | string)[]; dtype: string };
  readonly preprocessing: string;
  readonly accuracy: { test10k: number; eval2000: number; measured_with: string };
  readonly bn_folded: boolean;
  readonly has_batchnorm: boolean;
  readonly data: { calibration: string; eval: string; eval_labels: string };
}

export interface Manifest {
  readonly models: Record<string, Omit<BundledModel, "key">>;
}

/** The repository's models/ folder. */
export const MODELS_DIR = join(packageRoot(), "models");

export function readManifest(dir = MODELS_DIR): Manifest {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
}

export function bundledModels(dir = MODELS_DIR): BundledModel[] {
  return Object.entries(readManifest(dir).models).map(([key, m]) => ({ key, ...m }));
}

/** The real path of `p` (symlinks and `..` resolved), or its absolute path when it does not exist. */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** The bundled model whose file is at `path` (through symlinks too: a linked models/ folder or package), if any. */
export function bundledModelFor(path: string, dir = MODELS_DIR): BundledModel | undefined {
  const abs = realPath(path);
  try {
    return bundledModels(dir).find((m) => realPath(resolve(dir, m.file)) === abs);
  } catch {
    return undefined;
  }
}
