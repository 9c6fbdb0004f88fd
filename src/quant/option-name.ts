/**
 * How an error names an option whose value it refuses: by the flag when the
 * value came from the command line, by the recipe key when it came from a
 * recipe file (or one of its `layers` rules), so the user edits the right one.
 *
 *   flag = "--" + key, each capital letter C written "-" + lower(C)   (weightBits → --weight-bits)
 *   key  = "key 'KEY'", quoted as the recipe-file checker quotes keys    (weightBits → key 'weightBits')
 */
export function optionName(key: string, fromFile: boolean): string {
  return fromFile ? `key '${key}'` : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
