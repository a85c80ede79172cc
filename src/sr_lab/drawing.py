"""Text labels drawn with Pillow, sized to what they label: the titles of comparison panels
(``sr_lab.compare``) and of TensorBoard's validation grid columns."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont


def font_size(width: int) -> int:
    """The title's font size above something ``width`` pixels wide: readable at a glance."""
    return max(12, min(28, width // 12))


def fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """``text``, cut at the front behind an ellipsis if it is wider than ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength("\u2026" + text, font=font) > width:
        text = text[1:]
    return "\u2026" + text


def label(width: int, title: str, detail: str | None = None) -> Image.Image:
    """A white strip ``width`` wide with ``title`` and, below it in grey, ``detail``."""
    size = font_size(width)
    height = size + 8 + (size * 4 // 5 + 4 if detail is not None else 0)
    strip = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=size)
    draw.text((4, 3), fit(draw, title, font, width - 8), fill="black", font=font)
    if detail is not None:
        small = ImageFont.load_default(size=size * 4 // 5)
        draw.text((4, size + 7), fit(draw, detail, small, width - 8), fill=(70, 70, 70), font=small)
    return strip
