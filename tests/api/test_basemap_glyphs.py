"""The bundled label glyphs (web/public/fonts): decoded with the ``protobuf`` package from a
schema written here (glyphs.proto, as MapLibre reads it), checked for the range, the metrics
and the signed distance field against Pillow's own rendering of the same font; the file is what
scripts/make_glyphs.py makes; the demo's label text needs no other glyph block."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import psycopg
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
STACK = "DejaVu Sans Book"
PBF = ROOT / "web" / "public" / "fonts" / STACK / "0-255.pbf"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core
BUFFER = 3
EDGE = 192  # MapLibre draws the glyph's edge at 0.75 of the byte range


def _glyphs_class():
    """The llmr.glyphs messages of MapLibre's glyphs.proto, built field by field."""
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="glyphs.proto", package="llmr.glyphs", syntax="proto2"
    )
    glyph = proto.message_type.add(name="glyph")
    for name, number, kind, label in [
        ("id", 1, f.TYPE_UINT32, f.LABEL_REQUIRED),
        ("bitmap", 2, f.TYPE_BYTES, f.LABEL_OPTIONAL),
        ("width", 3, f.TYPE_UINT32, f.LABEL_REQUIRED),
        ("height", 4, f.TYPE_UINT32, f.LABEL_REQUIRED),
        ("left", 5, f.TYPE_SINT32, f.LABEL_REQUIRED),
        ("top", 6, f.TYPE_SINT32, f.LABEL_REQUIRED),
        ("advance", 7, f.TYPE_UINT32, f.LABEL_REQUIRED),
    ]:
        glyph.field.add(name=name, number=number, type=kind, label=label)
    stack = proto.message_type.add(name="fontstack")
    stack.field.add(name="name", number=1, type=f.TYPE_STRING, label=f.LABEL_REQUIRED)
    stack.field.add(name="range", number=2, type=f.TYPE_STRING, label=f.LABEL_REQUIRED)
    stack.field.add(
        name="glyphs", number=3, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
        type_name=".llmr.glyphs.glyph",
    )  # fmt: skip
    top = proto.message_type.add(name="glyphs")
    top.field.add(
        name="stacks", number=1, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
        type_name=".llmr.glyphs.fontstack",
    )  # fmt: skip
    top.extension_range.add(start=16, end=8192)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("llmr.glyphs.glyphs"))


@pytest.fixture(scope="module")
def glyphs() -> dict:
    message = _glyphs_class().FromString(PBF.read_bytes())  # raises on a malformed message
    (stack,) = message.stacks
    assert stack.name == STACK and stack.range == "0-255"
    return {g.id: g for g in stack.glyphs}


def _sdf(g) -> np.ndarray:
    return np.frombuffer(g.bitmap, np.uint8).reshape(g.height + 2 * BUFFER, g.width + 2 * BUFFER)


def test_range_metrics_and_bitmap_sizes(glyphs: dict) -> None:
    assert set(range(32, 127)) <= set(glyphs) <= set(range(256))
    for code, g in glyphs.items():
        if g.width:
            assert len(g.bitmap) == (g.width + 2 * BUFFER) * (g.height + 2 * BUFFER), code
            assert 0 < g.width <= 30 and 0 < g.height <= 30 and -30 <= g.top <= 5  # px, 24 px font
        else:
            assert not g.HasField("bitmap") and g.height == 0
    assert all(glyphs[c].width > 0 for c in range(33, 127))  # every visible ASCII character
    space = glyphs[32]
    assert space.width == 0 and space.advance > 0 and not space.bitmap
    assert glyphs[ord("i")].advance < glyphs[ord("n")].advance < glyphs[ord("W")].advance
    # top counts up from the ascender: 'g' starts where 'x' does and goes lower; 'É' is taller
    x, g, cap = glyphs[ord("x")], glyphs[ord("g")], glyphs[0xC9]
    assert g.top == x.top and g.height > x.height and cap.top > glyphs[ord("E")].top
    assert glyphs[ord("W")].advance == pytest.approx(24 * 2025 / 2048, abs=1)  # DejaVu's 'W'


def _pillow_ink(char: str) -> np.ndarray:
    """Pillow's own rendering of ``char`` at 24 px (coverage 0–255), cropped to its ink."""
    assert FONT.exists(), f"{FONT} is missing: `make setup` installs fonts-dejavu-core"
    font = ImageFont.truetype(str(FONT), 24)
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((16, 8), char, fill=255, font=font)
    ink = np.asarray(image)
    rows, cols = np.nonzero(ink > 0)
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


@pytest.mark.parametrize("char", ["O", "e", "A", "8"])
def test_distance_field_matches_a_rasterisation(glyphs: dict, char: str) -> None:
    """Inside the outline (Pillow's pixels fully covered) the field is above the edge value,
    outside (not covered at all) below it; for 'O' the centre of the hole is dark and the ring
    bright."""
    g = glyphs[ord(char)]
    field = _sdf(g)[BUFFER : BUFFER + g.height, BUFFER : BUFFER + g.width].astype(int)
    ink = _pillow_ink(char)
    # Pillow hints the outline (the field is unhinted): compare where both boxes agree, over
    # the best of the one-pixel shifts
    best = 0.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(np.roll(ink, dy, axis=0), dx, axis=1)
            h, w = min(field.shape[0], shifted.shape[0]), min(field.shape[1], shifted.shape[1])
            f, k = field[:h, :w], shifted[:h, :w]
            decided = (k == 255) | (k == 0)
            agree = ((f >= EDGE) == (k == 255))[decided].mean()
            best = max(best, agree)
    assert best > 0.9, best
    if char == "O":
        full = _sdf(g).astype(int)
        cy, cx = full.shape[0] // 2, full.shape[1] // 2
        assert full[cy, cx] < 64  # the hole: several pixels from the inner edge
        ring = full[cy, BUFFER : BUFFER + 4]  # the left stroke at mid height
        assert ring.max() >= 224  # a pixel inside the stroke
        assert full[cy, 0] < EDGE - 64  # outside, three pixels left of the glyph box


def test_committed_file_is_what_the_script_makes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_glyphs.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / STACK / "0-255.pbf").read_bytes() == PBF.read_bytes()


def _drawn_locally(char: str) -> bool:
    """What MapLibre draws with localIdeographFontFamily: CJK ideographs (and hangul, kana)."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def test_demo_label_text_needs_no_other_glyph_block(service, glyphs: dict) -> None:
    """Every character of the names the basemap labels (admin units, rivers) is an ideograph
    (drawn from the browser's fonts) or has a glyph in the bundled 0–255 block."""
    with psycopg.connect(service.db_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM admin_unit UNION SELECT name FROM river WHERE name IS NOT NULL"
            )
        ]
    chars = {c for name in names for c in name}
    assert len(names) > 100 and any(_drawn_locally(c) for c in chars)
    missing = sorted(c for c in chars if not _drawn_locally(c) and ord(c) not in glyphs)
    assert missing == []
