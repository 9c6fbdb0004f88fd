/**
 * `--part`: the AMD/Xilinx device build.tcl passes to set_part, checked
 * against the part-number scheme so a typo fails here, not hours later in
 * vitis_hls. A part number reads
 *
 *   x{c|a|q} FAMILY DEVICE PACKAGE -SPEED [-TEMP] [-SUFFIX…]
 *
 *   x{c|a|q}  commercial, automotive (XA) or defense (XQ) grade
 *   FAMILY    7z 7a 7k 7v 7s (7 series), 6v 6s, 5v 4v 3s (older), ku vu zu au su
 *             (UltraScale/UltraScale+), k (Kria), v vc ve vm vp vh (Versal), u (Alveo)
 *   DEVICE    optional letters, digits, optional letters: 020, 35t, 9p, 9eg, 28dr, lx240t, 1902
 *   PACKAGE   letters then pin count, glued or after "-": clg400, -flga2104, -sfvc784
 *   SPEED     -digit with optional letters (-1, -2, -2L, -2LV, -2MP); older
 *             parts put it before the package (xc6slx9-2tqg144)
 *   TEMP …    -e -i -c … and suffixes such as -S or -es1
 *
 * e.g. xcvu9p-flga2104-2-e, xc7z020clg400-1, xczu9eg-ffvb1156-2-e,
 * xck26-sfvc784-2LV-c, xcvc1902-vsva2197-2MP-e-S. Matched ignoring case.
 * A name with a known family and device but no recognisable package/speed
 * grade is accepted with a warning (the scheme has exceptions); anything
 * else, or a character a Tcl word cannot hold safely, is refused.
 */
import { FixqError } from "../../ir/errors.js";

const FAMILY = "x[acq](?:7[aksvz]|6[sv]|[345][sv]|ku|vu|zu|au|su|k|v[cehmp]?|u)";
const DEVICE = "[a-z]{0,3}\\d+[a-z]*";
const PACKAGE_SPEED = "(?:-?[a-z]{1,5}\\d{2,4}-\\d[a-z]*|-\\d[a-z]{1,5}\\d{2,4})";
const KNOWN_FAMILY = new RegExp(`^${FAMILY}[a-z]{0,3}\\d`, "i");
const FULL_PART = new RegExp(`^${FAMILY}${DEVICE}${PACKAGE_SPEED}(?:-[a-z0-9]+)*$`, "i");
const EXAMPLE = "e.g. xcvu9p-flga2104-2-e or xc7z020clg400-1";

/**
 * Checks `part`: undefined for a recognised part number, a one-line warning
 * for a name with a known family but an unusual rest; throws a usage error
 * naming --part and an example for anything else.
 */
export function checkPartName(part: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(part)) throw new FixqError("usage", `--part expects a part name (letters, digits, . _ -), got '${part}'`);
  if (FULL_PART.test(part)) return undefined;
  if (!KNOWN_FAMILY.test(part)) {
    throw new FixqError("usage", `--part '${part}' is not an AMD/Xilinx part number (x{c,a,q} + family such as 7z, ku, vu, zu, au, v…, then device, package and speed grade, ${EXAMPLE})`);
  }
  return `--part '${part}' has a known family but no package and speed grade recognised (${EXAMPLE}); build.tcl passes it to set_part as given`;
}
