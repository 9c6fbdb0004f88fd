/**
 * `--json [FILE]`, the same on every command: one JSON document with a
 * `command` field, written to FILE when one is given (atomically), else to
 * standard output (`--json -` also means standard output). Progress and notes
 * then go to standard error, so standard output holds the document alone.
 *
 * The value is optional, so `fixq inspect --json model.onnx` is ambiguous to
 * a plain option parser. fixq decides by counting: the word after `--json` is
 * its FILE only when the command's positional arguments are all given
 * without it (`fixq eval ref.onnx cand.onnx --json r.json`, or the old
 * `eval --json r.json ref.onnx cand.onnx`); otherwise it is a positional
 * argument and `--json` is bare. `--json=FILE` is always a file.
 */
import type { Command, Option } from "commander";
import { writeFileAtomic } from "../ir/atomic-write.js";

/** Where the JSON document goes: a file, or standard output. */
export type JsonTarget = { readonly file: string } | { readonly file?: undefined; readonly stdout: true };

/** The parsed `--json` option (true, a path, or "-") as a target; undefined when not given. */
export function jsonTarget(v: string | boolean | undefined): JsonTarget | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true || v === "-") return { stdout: true };
  return { file: v };
}

/** True when --json sends the document to standard output (so text output must go to stderr or nowhere). */
export function jsonOnStdout(t: JsonTarget | undefined): boolean {
  return t !== undefined && t.file === undefined;
}

/** Writes `{ command, ...body }` where the target says. Non-finite numbers need a `replacer`. */
export function emitJson(t: JsonTarget, command: string, body: object, replacer?: (key: string, v: unknown) => unknown): void {
  const text = `${JSON.stringify({ command, ...body }, replacer as never, 2)}\n`;
  if (t.file !== undefined) writeFileAtomic(t.file, new TextEncoder().encode(text));
  else process.stdout.write(text);
}

/** What commander takes for an option rather than a value. */
const optionLike = (a: string) => a.length > 1 && a.startsWith("-");

function findOption(options: readonly Option[], token: string): Option | undefined {
  return options.find((o) => o.long === token || o.short === token);
}

/**
 * Rewrites argv so that commander reads `--json` as described in the file
 * comment: a bare `--json` followed by a word that is a positional argument
 * becomes `--json=-`. Everything else is left as written.
 */
export function normalizeJsonFlag(program: Command, argv: readonly string[]): string[] {
  const out = [...argv];
  const args = out.slice(2);
  const name = args.find((a) => !optionLike(a));
  const cmd = program.commands.find((c) => c.name() === name || c.aliases().includes(name ?? ""));
  if (!cmd) return out;
  const options = [...cmd.options, ...program.options];
  const start = args.indexOf(name!) + 1;
  const free: number[] = [];
  const candidates: number[] = [];
  for (let i = start; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      for (let j = i + 1; j < args.length; j++) free.push(j);
      break;
    }
    if (!optionLike(a)) {
      free.push(i);
      continue;
    }
    if (a.includes("=")) continue;
    const opt = findOption(options, a);
    if (!opt) continue;
    const next = args[i + 1];
    const takesNext = next !== undefined && !optionLike(next);
    if (opt.long === "--json" && opt.optional) {
      if (takesNext) candidates.push(i + 1);
      i += takesNext ? 1 : 0;
    } else if (opt.variadic) {
      while (i + 1 < args.length && !optionLike(args[i + 1]!)) i++;
    } else if (opt.required || (opt.optional && takesNext)) i++;
  }
  const wanted = cmd.registeredArguments.filter((a) => a.required).length;
  let given = free.length;
  for (const c of candidates) {
    if (given < wanted) {
      out[2 + c - 1] = "--json=-"; // the word after it is positional
      given++;
    }
  }
  return out;
}
