"""Side-by-side comparison images: ``python -m sr_lab.compare IMAGE --weights A [B ...] -o F``.

Columns show the same crop of: the LR input (nearest-upscaled), bicubic, each model, and the
ground truth, labelled with the method and its PSNR on the whole image (paper protocol).
IMAGE is an HR image file, or ``synthetic:SEED`` for one of the built-in illustrations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from sr_lab import models
from sr_lab.baseline import BASELINE
from sr_lab.checks import whole
from sr_lab.cli import make_parser, run_or_exit
from sr_lab.data.degradation import make_degradation
from sr_lab.data.image import open_image, save_image
from sr_lab.data.synthetic import synthetic_illustration
from sr_lab.drawing import label
from sr_lab.methods import Upscaler
from sr_lab.protocols import get_protocol


def load_hr(spec: str) -> Image.Image:
    """An HR image from a file, or ``synthetic:SEED`` (a 384-pixel built-in illustration)."""
    if spec.startswith("synthetic:"):
        return Image.fromarray(synthetic_illustration(384, int(spec.split(":", 1)[1])))
    return open_image(spec).convert("RGB")


def panel(
    image: Image.Image, box: tuple[int, int, int, int], zoom: int, title: str, detail: str
) -> Image.Image:
    """The crop ``box`` of ``image``, enlarged by ``zoom`` (nearest), under its title and a
    detail line (the score)."""
    crop = image.crop(box)
    crop = crop.resize((crop.width * zoom, crop.height * zoom), Image.Resampling.NEAREST)
    top = label(crop.width, title, detail)
    out = Image.new("RGB", (crop.width, crop.height + top.height), "white")
    out.paste(top, (0, 0))
    out.paste(crop, (0, top.height))
    return out


def title_of(upscaler: Upscaler, name: str) -> str:
    """A column's title: the method, or for a training checkpoint the model and the file (its
    run directory's timestamp says nothing at a glance)."""
    path = Path(name)
    if upscaler.model is not None and path.parent.name == "checkpoints":
        return f"{upscaler.model.arch} {path.stem}"
    return upscaler.label


def compare(
    hr: Image.Image,
    weights: list[str],
    scale: int = 2,
    crop: tuple[int, int, int] | None = None,
    zoom: int = 2,
) -> Image.Image:
    """The comparison strip for ``hr``: LR | bicubic | each weights | ground truth."""
    protocol = get_protocol("paper")
    hr = protocol.crop_hr(hr, scale)
    lr = Image.fromarray(make_degradation(scale)(np.asarray(hr), np.random.default_rng(0)))
    x, y, size = crop or (hr.width // 4, hr.height // 4, min(hr.width, hr.height) // 2)
    if x < 0 or y < 0 or x + size > hr.width or y + size > hr.height or size < 8:
        raise ValueError(f"crop {x},{y},{size} does not fit the {hr.width}x{hr.height} image")
    box = (x, y, x + size, y + size)
    nearest = lr.resize(hr.size, Image.Resampling.NEAREST)
    columns = [panel(nearest, box, zoom, "LR input", f"{lr.width}x{lr.height}, nearest")]
    for name in [BASELINE, *weights]:
        upscaler = Upscaler(name, scale=scale)
        sr = upscaler(lr, scale)
        score = protocol.score(np.asarray(sr), np.asarray(hr), scale)["psnr"]
        columns.append(panel(sr, box, zoom, title_of(upscaler, name), f"{score:.2f} dB PSNR"))
    columns.append(panel(hr, box, zoom, "ground truth", f"{hr.width}x{hr.height}"))
    strip = Image.new("RGB", (sum(c.width for c in columns), columns[0].height), "white")
    for i, column in enumerate(columns):
        strip.paste(column, (sum(c.width for c in columns[:i]), 0))
    return strip


def main(argv: list[str] | None = None) -> None:
    parser = make_parser("python -m sr_lab.compare", __doc__)
    parser.add_argument("image", help="HR image file, or synthetic:SEED")
    parser.add_argument(
        "--weights",
        nargs="+",
        default=[models.BUILTIN],
        help="weights files (waifu2x JSON, sr_lab file, checkpoint), builtin (the model "
        "shipped with sr_lab) or lanczos (default: builtin)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    parser.add_argument("--scale", type=int, default=2, help="upscaling factor (default: 2)")
    parser.add_argument("--crop", help="X,Y,SIZE of the square HR crop (default: centre half)")
    parser.add_argument("--zoom", type=int, default=2, help="pixel enlargement (default: 2)")
    args = parser.parse_args(argv)
    run_or_exit(run, args)


def run(args: argparse.Namespace) -> None:
    """Make the strip the arguments ask for and write it."""
    if args.output.suffix.lower() not in (".png", ".webp"):
        raise ValueError(f"-o {args.output}: the output must end in .png or .webp")
    whole("--scale", args.scale, 2)
    whole("--zoom", args.zoom, 1, 16)
    try:
        crop = tuple(int(v) for v in args.crop.split(",")) if args.crop else None
    except ValueError:
        crop = ()
    if crop is not None and len(crop) != 3:
        raise ValueError(f"--crop takes X,Y,SIZE (whole numbers), got {args.crop!r}")
    strip = compare(load_hr(args.image), args.weights, args.scale, crop, args.zoom)
    save_image(strip, args.output)
    print(f"wrote {args.output} ({strip.width}x{strip.height})")


if __name__ == "__main__":
    main()
