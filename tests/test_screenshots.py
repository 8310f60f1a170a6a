"""The README's pictures: ``scripts/screenshots`` refuses one that is not what the README shows."""

from pathlib import Path
import re
import struct
import zlib

import pytest

from devtools.browser import VIEWPORT, PictureError, check_size, png_size
from devtools.instance import ROOT

README = ROOT / "README.md"
# The tallest window a README picture is taken in (the config flow's, whose form is long).
TALLEST = 1000


def make_png(width: int, height: int) -> bytes:
    """Return a valid greyscale PNG image of this size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        """Return one PNG chunk: length, type, data, CRC."""
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_png_size_reads_the_header() -> None:
    """The size comes from the image itself."""
    assert png_size(make_png(332, 387)) == (332, 387)
    assert png_size(make_png(1280, 860)) == (1280, 860)


def test_a_picture_taller_than_the_window_is_refused() -> None:
    """A busy instance's missed calls card (a page of list) never replaces the README's."""
    check_size("missed_calls.png", make_png(332, 387), VIEWPORT["width"], VIEWPORT["height"])
    with pytest.raises(PictureError, match="332x1863"):
        check_size("missed_calls.png", make_png(332, 1863), VIEWPORT["width"], VIEWPORT["height"])


def test_what_is_no_png_is_refused() -> None:
    """An error page or an empty file is no picture."""
    with pytest.raises(PictureError, match="not a PNG"):
        png_size(b"<html>502 Bad Gateway</html>" + bytes(16))


def test_readme_pictures_exist_and_fit_a_window() -> None:
    """Every picture the README shows is in the repository and no taller than its window."""
    pictures = re.findall(r"\]\((docs/images/[^)]+\.png)\)", README.read_text(encoding="utf-8"))
    assert len(pictures) >= 6
    for picture in pictures:
        data = (ROOT / picture).read_bytes()
        check_size(picture, data, VIEWPORT["width"], TALLEST)
    assert {Path(p).name for p in pictures} == {
        p.name for p in (ROOT / "docs" / "images").glob("*.png")
    }
