"""A procedural generator of anime-style illustrations, so training needs no files: flat
colour regions with dark anti-aliased outlines, gradients, cel shading, screentone, hatching,
thin lines and text-like strokes. Deterministic per seed."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

SUPERSAMPLE = 4  # draw at 4x and reduce with a box filter: anti-aliased edges


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(low, high, 3))


def _gradient(size: int, rng: np.random.Generator) -> Image.Image:
    """A linear gradient between two colours in a random direction."""
    a, b = np.array(_colour(rng, 120)), np.array(_colour(rng, 60))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / size
    t = np.clip((np.cos(angle) * xx + np.sin(angle) * yy + 1) / 2, 0, 1)[..., None]
    return Image.fromarray((a * (1 - t) + b * t).astype(np.uint8))


def _blob(draw: ImageDraw.ImageDraw, box: list[float], kind: int, **style) -> None:
    if kind == 0:
        draw.ellipse(box, **style)
    elif kind == 1:
        draw.rounded_rectangle(box, radius=(box[2] - box[0]) / 5, **style)
    else:
        x0, y0, x1, y1 = box
        draw.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], **style)


def _mask(size: int, box: list[float], kind: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    _blob(ImageDraw.Draw(mask), box, kind, fill=255)
    return mask


def _screentone(size: int, rng: np.random.Generator) -> Image.Image:
    """A dot-screen ('tone') pattern mask."""
    pitch = int(rng.integers(6, 14))
    radius = pitch * rng.uniform(0.2, 0.4)
    tone = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(tone)
    for y in range(0, size, pitch):
        shift = pitch // 2 if (y // pitch) % 2 else 0
        for x in range(-pitch, size, pitch):
            cx, cy = x + shift, y
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=255)
    return tone


def _hatching(size: int, rng: np.random.Generator) -> Image.Image:
    """Parallel diagonal lines mask."""
    hatch = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(hatch)
    pitch, width = int(rng.integers(8, 20)), int(rng.integers(2, 5))
    slope = rng.choice([-1, 1])
    for c in range(-size, 2 * size, pitch):
        draw.line([(c, 0), (c + slope * size, size)], fill=255, width=width)
    return hatch


def _shape(canvas: Image.Image, rng: np.random.Generator) -> None:
    """One flat-coloured region with cel shading, an optional tone or hatch, and an outline."""
    size = canvas.width
    w, h = rng.uniform(0.15, 0.6, 2) * size
    x0, y0 = rng.uniform(-0.1, 0.9, 2) * size
    box = [x0, y0, x0 + w, y0 + h]
    kind = int(rng.integers(3))
    region = _mask(size, box, kind)
    fill = np.array(_colour(rng, 40))
    canvas.paste(tuple(int(v) for v in fill), mask=region)
    shift = rng.uniform(0.1, 0.3, 2) * (w, h)
    lit = _mask(
        size, [box[0] - shift[0], box[1] - shift[1], box[2] - shift[0], box[3] - shift[1]], kind
    )
    shadow = ImageChops.subtract(region, lit)
    canvas.paste(tuple(int(v) for v in fill * 0.7), mask=shadow)
    pattern = rng.integers(4)
    if pattern < 2:
        texture = (_screentone if pattern == 0 else _hatching)(size, rng)
        canvas.paste(_colour(rng, 0, 90), mask=ImageChops.multiply(texture, region))
    outline = ImageDraw.Draw(canvas)
    _blob(outline, box, kind, outline=_colour(rng, 0, 50), width=int(rng.integers(3, 12)))


def _strokes(canvas: Image.Image, rng: np.random.Generator) -> None:
    """Thin wavy lines and rows of short text-like strokes."""
    size = canvas.width
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(2, 6))):
        points = np.cumsum(rng.normal(0, size / 12, (8, 2)), axis=0) + rng.uniform(0, size, 2)
        draw.line(
            [tuple(p) for p in points],
            fill=_colour(rng, 0, 60),
            width=int(rng.integers(2, 5)),
            joint="curve",
        )
    x, y = rng.uniform(0, 0.6, 2) * size
    glyph = rng.uniform(0.02, 0.04) * size
    ink = _colour(rng, 0, 60)
    for row in range(int(rng.integers(1, 4))):
        for col in range(int(rng.integers(4, 12))):
            gx, gy = x + col * glyph * 1.3, y + row * glyph * 1.6
            for _ in range(int(rng.integers(1, 4))):
                a, b = rng.uniform(0, glyph, 2), rng.uniform(0, glyph, 2)
                draw.line([(gx + a[0], gy + a[1]), (gx + b[0], gy + b[1])], fill=ink, width=3)


def synthetic_illustration(size: int, seed: int) -> np.ndarray:
    """An (size, size, 3) uint8 illustration, the same for the same (size, seed)."""
    rng = np.random.default_rng([seed, size])
    big = size * SUPERSAMPLE
    canvas = _gradient(big, rng)
    for _ in range(int(rng.integers(5, 10))):
        _shape(canvas, rng)
    _strokes(canvas, rng)
    return np.asarray(canvas.resize((size, size), Image.Resampling.BOX))
