"""Upscale and denoise images: ``python -m sr_lab.upscale INPUT [INPUT ...] -o OUT``.

INPUT is image files or folders (searched recursively); OUT is a file for a single input image,
else a folder that mirrors the input tree. Tiled inference equals whole-image inference, in
memory bounded by the tile size.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from sr_lab import models
from sr_lab.cli import add_inference_arguments, inference_options, make_parser, run_or_exit
from sr_lab.data.image import ImageError, list_images, open_image, save_image
from sr_lab.inference import upscale_image
from sr_lab.models import SRModel
from sr_lab.tiling import TTA_LEVELS, InferenceOptions, tile_count


class UsageError(ValueError):
    """A wrong option or option combination, found before any work."""


def waifu2x_file(folder: Path, noise: int, scale: int) -> Path:
    """The model file waifu2x would pick in ``folder`` for a noise level and scale."""
    if noise < 0:
        name = "scale2.0x_model.json"
    elif scale == 1:
        name = f"noise{noise}_model.json"
    else:
        name = f"noise{noise}_scale2.0x_model.json"
    path = folder / name
    if not path.is_file():
        have = ", ".join(sorted(p.name for p in folder.glob("*.json"))) or "no models"
        what = f"noise level {noise}" if noise >= 0 else "2x"
        raise UsageError(f"{folder} has no {what} model {name} (it has: {have})")
    return path


def load_checked(path: Path, name: str | None, scale: int) -> SRModel:
    model = models.load(path)
    if name is not None and models.build(name).arch != model.arch:
        raise UsageError(f"--model {name} but {path} holds a {model.arch}")
    if model.scale != min(scale, 2):
        raise UsageError(
            f"{path} is a {model.scale}x model; --scale {scale} needs a {min(scale, 2)}x model"
        )
    return model


def resolve_models(args: argparse.Namespace, options: InferenceOptions) -> list[SRModel]:
    """The models to run in turn: one pass, or two 2x passes for --scale 4 (noise in the first)."""
    weights = Path(args.weights)
    if args.weights != models.BUILTIN and weights.is_dir():
        first = waifu2x_file(weights, args.noise, args.scale)
        passes = [first] if args.scale < 4 else [first, waifu2x_file(weights, -1, 2)]
    else:
        if args.noise >= 0 and f"noise{args.noise}" not in weights.name:
            raise UsageError(
                f"--noise {args.noise}: {weights.name} is not a noise level "
                f"{args.noise} model (give a waifu2x model folder to choose by level)"
            )
        passes = [weights] * (2 if args.scale == 4 else 1)
    loaded: dict[Path, SRModel] = {}
    for path in passes:
        if path not in loaded:
            loaded[path] = options.prepare(load_checked(path, args.model, args.scale))
    return [loaded[p] for p in passes]


@dataclass
class Job:
    source: Path
    target: Path


def plan_jobs(inputs: list[Path], out: Path, fmt: str) -> list[Job]:
    """Pair every input image with its output path, mirroring folders."""
    for path in inputs:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if len(inputs) == 1 and inputs[0].is_file() and not out.is_dir():
        target = out if out.suffix.lower() in (".png", ".webp") else out.with_suffix(f".{fmt}")
        return [Job(inputs[0], target)]
    jobs = []
    for path in inputs:
        if path.is_file():
            jobs.append(Job(path, out / f"{path.stem}.{fmt}"))
        else:
            try:
                files = list_images(path)
            except ImageError as err:
                raise UsageError(str(err)) from None
            base = out / path.name if len(inputs) > 1 else out
            jobs += [Job(f, (base / f.relative_to(path)).with_suffix(f".{fmt}")) for f in files]
    return jobs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = make_parser("python -m sr_lab.upscale", __doc__)
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders (recursive)"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help="output file (one input image) or folder",
    )
    parser.add_argument(
        "--weights",
        default=models.BUILTIN,
        help="waifu2x JSON model, sr_lab model or training checkpoint, a waifu2x model "
        "folder (e.g. .../upconv_7/art) chosen by --noise/--scale, or builtin: the 2x "
        "photo model shipped with sr_lab, no denoising (default: builtin)",
    )
    parser.add_argument(
        "--model", choices=models.names(), help="check that the weights hold this architecture"
    )
    parser.add_argument(
        "--scale",
        type=int,
        choices=(1, 2, 4),
        default=2,
        help="1 (denoise only), 2, or 4 (2x twice) (default: 2)",
    )
    parser.add_argument(
        "--noise",
        type=int,
        choices=(-1, 0, 1, 2, 3),
        default=-1,
        help="JPEG noise level to remove, -1 for none (default: -1)",
    )
    add_inference_arguments(parser)
    parser.add_argument(
        "--tta",
        type=int,
        choices=TTA_LEVELS,
        default=1,
        help="test-time augmentation: average of 1, 2, 4 or 8 flips (default: 1)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--format",
        choices=("png", "webp"),
        default="png",
        help="output format for folders (default: png; webp is lossless)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    args = parser.parse_args(argv)
    if args.tile < 1 or args.batch < 1:
        parser.error("--tile and --batch must be >= 1")
    if args.scale == 1 and args.noise < 0:
        parser.error("--scale 1 only denoises: give --noise 0..3")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    return args


def run(args: argparse.Namespace) -> int:
    """Upscale every planned image; return the exit status (1 if any image failed)."""
    options = inference_options(args)
    passes = resolve_models(args, options)
    jobs = plan_jobs(args.inputs, args.output, args.format)
    failed, done, mp_in, start = 0, 0, 0.0, time.perf_counter()
    for job in tqdm(jobs, desc="images", unit="img", disable=len(jobs) < 2):
        if job.target.exists() and not args.overwrite:
            tqdm.write(f"skipped {job.source}: {job.target} exists (use --overwrite)")
            failed += 1
            continue
        try:
            image = open_image(job.source)
            if image.info.get("sr_lab_16bit"):
                tqdm.write(f"note: {job.source} has 16 bits per sample; reduced to 8")
        except ImageError as err:
            tqdm.write(f"skipped {err}")
            failed += 1
            continue
        icc = image.info.get("icc_profile")
        mp_in += image.width * image.height / 1e6
        for model in passes:
            total = tile_count(image.height, image.width, options)
            with tqdm(total=total, desc=job.source.name, unit="tile", leave=False) as bar:
                image = upscale_image(model, image, options, bar.update)
        save_image(image, job.target, icc)
        done += 1
    seconds = time.perf_counter() - start
    print(
        f"upscaled {done} image(s), {mp_in:.2f} megapixels in, {seconds:.1f} s; "
        f"{failed} failed or skipped"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> None:
    raise SystemExit(run_or_exit(run, parse_args(argv)))


if __name__ == "__main__":
    main()
