"""Learning curves: ``python -m sr_lab.plot RUN_DIR [RUN_DIR ...] -o curve.png``.

Draws val/psnr of each training run against samples seen and against wall-clock minutes,
with each run's bicubic baseline as a dashed line, from the run's own TensorBoard events and
composed config (``.hydra/config.yaml``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from PIL import Image, ImageDraw, ImageFont

from sr_lab.cli import make_parser, run_or_exit
from sr_lab.data.image import save_image

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
PANEL, MARGIN = (560, 360), 56


@dataclass(frozen=True)
class Curve:
    """One run's validation PSNR: (samples seen, minutes since the first event, dB) points."""

    label: str
    points: list[tuple[float, float, float]]
    bicubic: float | None


def read_run(run: Path) -> Curve:
    """val/psnr and val/bicubic_psnr of the run in ``run`` (its directory)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = run / ".hydra" / "config.yaml"
    if not (run / "tensorboard").is_dir() or not config.is_file():
        raise ValueError(f"{run}: not a training run (needs tensorboard/ and .hydra/config.yaml)")
    cfg = OmegaConf.load(config)
    world = (
        cfg.trainer.devices * cfg.trainer.get("num_nodes", 1) if cfg.trainer.get("strategy") else 1
    )
    per_step = cfg.data.batch_size * world
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags()["scalars"]
    if "val/psnr" not in tags:
        raise ValueError(f"{run}: no val/psnr logged yet")
    psnr = events.Scalars("val/psnr")
    start = min(e.wall_time for tag in tags for e in events.Scalars(tag))
    # Lightning logs validation at the index of the last optimiser step: step + 1 steps done
    points = [((e.step + 1) * per_step, (e.wall_time - start) / 60, e.value) for e in psnr]
    bicubic = events.Scalars("val/bicubic_psnr")[-1].value if "val/bicubic_psnr" in tags else None
    return Curve(run.name, points, bicubic)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count or 1.0
    return [low + i * step for i in range(count + 1)]


def _panel(curves: list[Curve], axis: int, title: str) -> Image.Image:
    """One chart: x is samples (axis 0) or minutes (axis 1), y is PSNR."""
    image = Image.new("RGB", PANEL, "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    xs = [p[axis] for c in curves for p in c.points]
    ys = [p[2] for c in curves for p in c.points] + [c.bicubic for c in curves if c.bicubic]
    x0, x1 = 0.0, max(xs) or 1.0
    y0, y1 = min(ys) - 0.2, max(ys) + 0.2
    left, top, right, bottom = MARGIN, 24, PANEL[0] - 16, PANEL[1] - 40

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (right - left),
            bottom - (y - y0) / (y1 - y0) * (bottom - top),
        )

    draw.rectangle((left, top, right, bottom), outline="black")
    draw.text((left, 6), title, fill="black", font=font)
    for y in _ticks(y0, y1):
        draw.text((4, at(x0, y)[1] - 5), f"{y:.2f}", fill="black", font=font)
        draw.line((left, at(x0, y)[1], right, at(x0, y)[1]), fill="#e0e0e0")
    for x in _ticks(x0, x1):
        text = f"{x:.0f}" if axis == 1 else f"{x / 1e3:.0f}k" if x1 < 1e6 else f"{x / 1e6:.2f}M"
        draw.text((at(x, y0)[0] - 12, bottom + 6), text, fill="black", font=font)
    draw.text((right - 150, bottom + 22), "samples seen" if axis == 0 else "minutes", fill="black")
    for i, curve in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        line = [at(p[axis], p[2]) for p in curve.points]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        if curve.bicubic is not None:
            y = at(x0, curve.bicubic)[1]
            for x in range(int(left), int(right), 12):
                draw.line((x, y, x + 6, y), fill=colour)
        draw.text((left + 8, top + 8 + 12 * i), f"{curve.label} (dashed: bicubic)", fill=colour)
    return image


def plot(curves: list[Curve]) -> Image.Image:
    """val/psnr against samples seen (left) and wall-clock minutes (right)."""
    left = _panel(curves, 0, "val/psnr (dB) against samples seen")
    right = _panel(curves, 1, "val/psnr (dB) against wall-clock")
    figure = Image.new("RGB", (2 * PANEL[0], PANEL[1]), "white")
    figure.paste(left, (0, 0))
    figure.paste(right, (PANEL[0], 0))
    return figure


def run(args: argparse.Namespace) -> None:
    """Read every run, draw the curves and write the PNG."""
    figure = plot([read_run(Path(r)) for r in args.runs])
    save_image(figure, args.output)
    print(f"wrote {args.output} ({figure.width}x{figure.height})")


def main(argv: list[str] | None = None) -> None:
    parser = make_parser("python -m sr_lab.plot", __doc__)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="training run directories")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    run_or_exit(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
