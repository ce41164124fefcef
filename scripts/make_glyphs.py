"""Make the signed-distance-field glyphs MapLibre draws Latin label text with, for the offline map.

MapLibre fetches ``{glyphs URL}/{fontstack}/{start}-{end}.pbf`` for every block of 256 code
points a label uses. Chinese labels need no glyph files: with ``localIdeographFontFamily`` set,
MapLibre draws CJK ideographs (and kana, hangul) from the browser's own fonts. So only the block
0–255 (ASCII digits and letters, Latin-1 punctuation, ``·``) is made, for one font stack named
after the font: ``DejaVu Sans Book`` (family and style, as fontnik names stacks).

The encoding is fontnik's (node-fontnik, sdf-glyph-foundry), which MapLibre's ``glyphs.proto``
reader and its text shaders expect:

* outlines unhinted at 24 px (``FT_Set_Char_Size`` 24 × 64, 72 dpi), curves flattened to line
  segments;
* the glyph box is the outline's box with each side rounded (half away from zero); the bitmap is
  that box plus a 3 px buffer on every side, ``(width + 6) × (height + 6)`` bytes, top row first;
* each pixel centre's distance d (px) to the nearest segment, negative inside, becomes
  ``255 − clamp(32 d + 64, 0, 255)``: 191 on the outline (MapLibre's 0.75 edge), 255 two pixels
  inside, 0 six pixels outside (radius 8 px, cutoff 0.25);
* metrics: ``left`` = box x-min, ``top`` = box y-max − the face's ascender at 24 px (integer
  pixels), ``advance`` = the unhinted advance in whole pixels (truncated); a glyph without an
  outline (space) has width and height 0, no bitmap and ``top`` = −ascender.

Two deliberate refinements over fontnik, invisible in the format: curves are flattened to within
0.05 px (fontnik's AGG subdivision stops at about 0.5 px), and inside/outside follows the
non-zero winding rule TrueType outlines are drawn with (fontnik's even-odd test hollows out
overlapping contours).

The protobuf (``glyphs`` → ``fontstack`` → ``glyph``, llmr.glyphs) is written by hand: three
small messages, varints and length-delimited fields only.

Usage: ``python scripts/make_glyphs.py [--font PATH] [--out DIR]``; needs ``freetype-py``
(the ``dev`` extra). Writes ``DIR/<fontstack>/0-255.pbf`` (default ``web/public/fonts``).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import freetype
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core
OUT = ROOT / "web" / "public" / "fonts"
SIZE = 24  # px
BUFFER = 3  # px of distance field around the glyph box
RADIUS = 8  # px of distance one byte spans (256 / RADIUS per px)
CUTOFF = 0.25  # share of the byte range given to the inside
START, END = 0, 255
FLATNESS = 0.05  # px: the most a flattened curve strays from the curve


@dataclass(frozen=True)
class Glyph:
    """One glyph as glyphs.proto stores it."""

    id: int
    width: int
    height: int
    left: int
    top: int
    advance: int
    bitmap: bytes  # (width + 2 BUFFER) × (height + 2 BUFFER), empty when width is 0


# -- outlines ------------------------------------------------------------------------------------


def _px(v) -> np.ndarray:
    return np.array([v.x / 64.0, v.y / 64.0])


def _steps(bend: float, degree: int) -> int:
    """Segments for a Bézier curve so the chords stray at most FLATNESS from it: the second
    derivative is at most degree·(degree−1)·bend, a chord of a parameter step h strays by
    h²/8 of that."""
    return max(1, math.ceil(math.sqrt(degree * (degree - 1) * bend / (8 * FLATNESS))))


class _Rings:
    """Collects an outline's contours as closed rings of points (px, y up)."""

    def __init__(self) -> None:
        self.rings: list[list[np.ndarray]] = []

    def move_to(self, a, _ctx) -> int:
        self._close()
        self.rings.append([_px(a)])
        return 0

    def line_to(self, a, _ctx) -> int:
        self.rings[-1].append(_px(a))
        return 0

    def conic_to(self, a, b, _ctx) -> int:
        p0, p1, p2 = self.rings[-1][-1], _px(a), _px(b)
        n = _steps(float(np.hypot(*(p0 - 2 * p1 + p2))), 2)
        for t in np.arange(1, n + 1) / n:
            self.rings[-1].append((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2)
        return 0

    def cubic_to(self, a, b, c, _ctx) -> int:
        p0, p1, p2, p3 = self.rings[-1][-1], _px(a), _px(b), _px(c)
        bend = max(np.hypot(*(p0 - 2 * p1 + p2)), np.hypot(*(p1 - 2 * p2 + p3)))
        n = _steps(float(bend), 3)
        for t in np.arange(1, n + 1) / n:
            u = 1 - t
            point = u**3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t**3 * p3
            self.rings[-1].append(point)
        return 0

    def _close(self) -> None:
        if self.rings and not np.array_equal(self.rings[-1][0], self.rings[-1][-1]):
            self.rings[-1].append(self.rings[-1][0])

    def segments(self) -> np.ndarray:
        """Every ring's segments, shape (n, 4): x1, y1, x2, y2."""
        self._close()
        parts = [np.hstack([r[:-1], r[1:]]) for r in map(np.array, self.rings) if len(r) > 1]
        return np.vstack(parts) if parts else np.zeros((0, 4))


def _round(v: float) -> int:
    """std::round: halves away from zero."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


# -- distance field ------------------------------------------------------------------------------


def _distance_field(seg: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Bytes (rows × cols, top row first) for pixel centres (x + 0.5, y + 0.5) of a box whose
    lower-left corner is the origin of ``seg``'s coordinates."""
    x, y = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    px, py = x.reshape(-1, 1), y.reshape(-1, 1)
    x1, y1, x2, y2 = (seg[:, i].reshape(1, -1) for i in range(4))
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(length2 > 0, ((px - x1) * dx + (py - y1) * dy) / length2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    distance = np.hypot(px - (x1 + t * dx), py - (y1 + t * dy)).min(axis=1)
    # non-zero winding: +1 for each upward edge the point is left of, −1 downward and right of
    side = dx * (py - y1) - dy * (px - x1)
    up = (y1 <= py) & (py < y2) & (side > 0)
    down = (y2 <= py) & (py < y1) & (side < 0)
    inside = (up.sum(axis=1) - down.sum(axis=1)) != 0
    d = np.where(inside, -distance, distance) * (256 / RADIUS) + CUTOFF * 256
    n = np.clip(d, 0, 255).astype(np.int64)  # truncated, as the C++ cast
    field = (255 - n).astype(np.uint8).reshape(rows, cols)
    return field[::-1].tobytes()  # row 0 of the bitmap is the top


def make_glyph(face: freetype.Face, code: int) -> Glyph:
    """The SDF glyph of code point ``code`` (the face at SIZE px)."""
    face.load_char(chr(code), freetype.FT_LOAD_NO_HINTING)
    advance = face.glyph.metrics.horiAdvance // 64
    ascender = face.size.ascender // 64
    rings = _Rings()
    if face.glyph.format == freetype.FT_GLYPH_FORMAT_OUTLINE:
        face.glyph.outline.decompose(
            None, rings.move_to, rings.line_to, rings.conic_to, rings.cubic_to
        )
    seg = rings.segments()
    if len(seg) == 0:
        return Glyph(code, 0, 0, 0, -ascender, advance, b"")
    xs, ys = np.concatenate([seg[:, 0], seg[:, 2]]), np.concatenate([seg[:, 1], seg[:, 3]])
    left, right = _round(xs.min()), _round(xs.max())
    bottom, top = _round(ys.min()), _round(ys.max())
    if right == left or top == bottom:
        return Glyph(code, 0, 0, 0, -ascender, advance, b"")
    width, height = right - left, top - bottom
    shift = np.array([BUFFER - left, BUFFER - bottom] * 2)
    bitmap = _distance_field(seg + shift, width + 2 * BUFFER, height + 2 * BUFFER)
    return Glyph(code, width, height, left, top - ascender, advance, bitmap)


# -- protobuf ------------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _uint(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n)


def _sint(field: int, n: int) -> bytes:
    return _uint(field, (n << 1) ^ (n >> 31))  # zigzag


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def encode(stack: str, glyphs: list[Glyph]) -> bytes:
    """``glyphs { stacks { name, range, glyphs… } }`` as glyphs.proto (llmr.glyphs) has it."""
    body = _bytes(1, stack.encode()) + _bytes(2, f"{START}-{END}".encode())
    for g in glyphs:
        message = _uint(1, g.id)
        if g.width > 0:
            message += _bytes(2, g.bitmap)
        message += _uint(3, g.width) + _uint(4, g.height)
        message += _sint(5, g.left) + _sint(6, g.top) + _uint(7, g.advance)
        body += _bytes(3, message)
    return _bytes(1, body)


def make_range(font: Path) -> tuple[str, bytes]:
    """The font stack's name and the PBF of its glyphs START–END (code points the font maps)."""
    face = freetype.Face(str(font))
    face.set_char_size(0, SIZE * 64, 0, 0)
    stack = f"{face.family_name.decode()} {face.style_name.decode()}"
    glyphs = [make_glyph(face, c) for c in range(START, END + 1) if face.get_char_index(c)]
    return stack, encode(stack, glyphs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", type=Path, default=FONT, help=f"TrueType font (default {FONT})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"fonts folder (default {OUT})")
    args = parser.parse_args()
    stack, pbf = make_range(args.font)
    path = args.out / stack / f"{START}-{END}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pbf)
    print(f"{path}: {len(pbf)} bytes")


if __name__ == "__main__":
    main()
