"""Line charts as PNG images, in pure Python, for tools that want to show a curve.

No plotting library is needed (nor allowed in a sandbox that cannot read one): a
canvas of RGB bytes, lines drawn with Bresenham's algorithm, zlib for the PNG. There
is no text in the picture; a tool says what is plotted in a text block beside it.

Example:
    >>> from mcp_box_server import line_chart
    >>> image = line_chart({"sin": [(x / 10, math.sin(x / 10)) for x in range(63)]})
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence

from mcp_box_server.box.content import Image

Point = tuple[float, float]
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))
_AXIS, _ZERO, _WHITE = (90, 90, 90), (200, 200, 200), (255, 255, 255)
_MARGIN = 12


def line_chart(series: Mapping[str, Sequence[Point]], width: int = 480, height: int = 320) -> Image:
    """A PNG with one coloured line per series (in order: blue, red, green, purple, orange).

    Points whose y is not finite break the line (a gap, as at a pole).
    """
    if not 64 <= width <= 2000 or not 64 <= height <= 2000:
        raise ValueError("width and height must be between 64 and 2000 pixels")
    finite = [
        (x, y) for points in series.values() for x, y in points if math.isfinite(x) and math.isfinite(y)
    ]
    if not finite:
        raise ValueError("nothing to plot: no finite point")
    canvas = _Canvas(width, height)
    x0, x1 = _span(x for x, _ in finite)
    y0, y1 = _span(y for _, y in finite)

    def pixel(x: float, y: float) -> tuple[int, int]:
        px = _MARGIN + (x - x0) / (x1 - x0) * (width - 2 * _MARGIN)
        py = height - _MARGIN - (y - y0) / (y1 - y0) * (height - 2 * _MARGIN)
        return round(px), round(py)

    if y0 < 0 < y1:
        canvas.line(pixel(x0, 0), pixel(x1, 0), _ZERO)
    if x0 < 0 < x1:
        canvas.line(pixel(0, y0), pixel(0, y1), _ZERO)
    canvas.line(pixel(x0, y0), pixel(x1, y0), _AXIS)
    canvas.line(pixel(x0, y0), pixel(x0, y1), _AXIS)
    for index, points in enumerate(series.values()):
        colour = COLOURS[index % len(COLOURS)]
        previous = None
        for x, y in points:
            here = pixel(x, y) if _finite(x, y) else None
            if previous is not None and here is not None:
                canvas.line(previous, here, colour, thick=True)
            previous = here
    return Image(canvas.png(), "image/png")


def _span(values: object) -> tuple[float, float]:
    numbers = list(values)  # type: ignore[call-overload]
    low, high = min(numbers), max(numbers)
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.05
    return low - pad, high + pad


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(_WHITE * (width * height))

    def dot(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = 3 * (y * self.width + x)
            self.pixels[at : at + 3] = bytes(colour)

    def line(
        self, start: tuple[int, int], end: tuple[int, int], colour: tuple[int, int, int], thick: bool = False
    ):
        (x, y), (x_end, y_end) = start, end
        dx, dy = abs(x_end - x), -abs(y_end - y)
        sx, sy = (1 if x < x_end else -1), (1 if y < y_end else -1)
        error = dx + dy
        for _ in range(4 * (self.width + self.height)):  # a bound: off-canvas points are clipped
            self.dot(x, y, colour)
            if thick:
                self.dot(x + 1, y, colour)
                self.dot(x, y + 1, colour)
            if (x, y) == (x_end, y_end):
                return
            doubled = 2 * error
            if doubled >= dy:
                error, x = error + dy, x + sx
            if doubled <= dx:
                error, y = error + dx, y + sy

    def png(self) -> bytes:
        row = 3 * self.width
        raw = b"".join(b"\0" + bytes(self.pixels[y * row : (y + 1) * row]) for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _finite(x: float, y: float) -> bool:
    return math.isfinite(x) and math.isfinite(y)
