"""Upscale and denoise images: ``python -m sr_lab.upscale INPUT [INPUT ...] -o OUT``.

INPUT is image files or folders (searched recursively); OUT is a .png or .webp file for a single
input image, else a folder (made if needed) that mirrors the input tree. Tiled inference is
within one 8-bit step of one whole-image pass (bit-identical with --exact), in memory bounded
by the tile size.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from sr_lab import models
from sr_lab.cli import (
    add_inference_arguments,
    counter,
    inference_options,
    make_parser,
    progress,
    run_or_exit,
)
from sr_lab.data.image import IMAGE_SUFFIXES, ImageError, list_images, open_image, save_image
from sr_lab.inference import doublings, doublings_to, resize_to, target_size, upscale_image
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


def load_checked(path: Path, name: str | None, need: int) -> SRModel:
    """Load one pass's weights, checking the architecture (``--model``) and the model's scale."""
    model = models.load(path)
    if name is not None and models.build(name).arch != model.arch:
        raise UsageError(f"--model {name} but {path} holds a {model.arch}")
    if model.scale != need:
        what = "a 1x (denoising)" if need == 1 else "a 2x"
        raise UsageError(f"{path} is a {model.scale}x model; this pass needs {what} model")
    return model


def pass_files(args: argparse.Namespace, doublings: int) -> list[tuple[Path, int]]:
    """The weights of each pass and the scale it must have: ``doublings`` 2x passes (the noise
    model first with --noise), or one 1x noise pass when no upscaling is needed."""
    weights = Path(args.weights)
    denoise_only = args.noise >= 0 and doublings == 0
    if args.weights != models.BUILTIN and weights.is_dir():
        if denoise_only:
            return [(waifu2x_file(weights, args.noise, 1), 1)]
        if doublings == 0:
            return []
        rest = [waifu2x_file(weights, -1, 2)] * (doublings - 1) if doublings > 1 else []
        return [(p, 2) for p in [waifu2x_file(weights, args.noise, 2), *rest]]
    if args.noise >= 0 and f"noise{args.noise}" not in weights.name:
        raise UsageError(
            f"--noise {args.noise}: {weights.name} is not a noise level "
            f"{args.noise} model (give a waifu2x model folder to choose by level)"
        )
    return [(weights, 1)] if denoise_only else [(weights, 2)] * doublings


class Passes:
    """The models each image needs, each loaded once and prepared for ``options``."""

    def __init__(self, args: argparse.Namespace, options: InferenceOptions) -> None:
        self.args, self.options = args, options
        self.loaded: dict[Path, SRModel] = {}

    def __call__(self, doublings: int) -> list[SRModel]:
        passes = pass_files(self.args, doublings)
        for path, need in passes:
            if path not in self.loaded:
                model = load_checked(path, self.args.model, need)
                self.loaded[path] = self.options.prepare(model)
        return [self.loaded[path] for path, _ in passes]


@dataclass
class Job:
    source: Path
    target: Path


OUTPUT_SUFFIXES = (".png", ".webp")


def plan_jobs(inputs: list[Path], out: Path, fmt: str) -> list[Job]:
    """Pair every input image with its output path, mirroring folders; every output problem
    (an unsupported suffix, a file where a folder must be, an output that is an input, two
    inputs on one output, a folder that cannot be written) is found here, before any work."""
    for path in inputs:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if len(inputs) == 1 and inputs[0].is_file() and out.suffix and not out.is_dir():
        if out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(f"-o {out}: the output must end in .png or .webp")
        jobs = [Job(inputs[0], out)]
    else:
        if out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
            raise UsageError(f"-o {out}: several input images need an output folder, not a file")
        jobs = []
        for path in inputs:
            if path.is_file():
                jobs.append(Job(path, out / f"{path.stem}.{fmt}"))
                continue
            try:
                files = list_images(path)
            except ImageError as err:
                raise UsageError(str(err)) from None
            base = out / path.name if len(inputs) > 1 else out
            jobs += [Job(f, (base / f.relative_to(path)).with_suffix(f".{fmt}")) for f in files]
    check_targets(jobs)
    return jobs


def check_targets(jobs: list[Job]) -> None:
    """Outputs must be distinct, differ from every input, and lie in folders that can be made
    and written; stale temporary files of an interrupted earlier run are removed."""
    sources = {job.source.resolve() for job in jobs}
    seen: dict[Path, Path] = {}
    for job in jobs:
        target = job.target.resolve()
        if target in sources:
            raise UsageError(f"{job.target} is an input image: choose another -o")
        if target in seen:
            raise UsageError(f"{seen[target]} and {job.source} would both write {job.target}")
        seen[target] = job.source
    for folder in sorted({job.target.parent for job in jobs}):
        existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise UsageError(f"-o: {existing} is a file, so {folder} cannot be a folder")
        if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"-o: {existing} is not writable")
    for job in jobs:
        for stale in job.target.parent.glob(f".{job.target.name}.*.tmp"):
            stale.unlink(missing_ok=True)


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
        type=float,
        help="any factor > 0: 2x passes as many as needed, then an antialiased Lanczos "
        "downscale to the exact size; 1 only denoises (default: 2)",
    )
    parser.add_argument("--width", type=int, help="output width; height keeps the aspect ratio")
    parser.add_argument(
        "--height",
        type=int,
        help="output height; with --width, the largest size that fits inside both",
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
    if args.width is not None or args.height is not None:
        if args.scale is not None:
            parser.error("give --scale or --width/--height, not both")
        if min(v for v in (args.width, args.height) if v is not None) < 1:
            parser.error("--width and --height must be >= 1")
    elif args.scale is None:
        args.scale = 2.0
    elif not math.isfinite(args.scale):
        parser.error(f"--scale must be a finite number, got {args.scale}")
    elif args.scale <= 0:
        parser.error(f"--scale must be > 0, got {args.scale:g}")
    elif args.scale == 1 and args.noise < 0:
        parser.error("--scale 1 only denoises: give --noise 0..3")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    return args


def run(args: argparse.Namespace) -> int:
    """Upscale every planned image; return the exit status: 1 if any image failed (existing
    outputs kept on purpose are not failures)."""
    options = inference_options(args)
    passes = Passes(args, options)
    if args.scale is not None:  # the same passes for every image: load (and check) them now
        passes(doublings(args.scale))
    jobs = plan_jobs(args.inputs, args.output, args.format)
    failed, kept, done, mp_in, start = 0, 0, 0, 0.0, time.perf_counter()
    for job in progress(jobs, "images", "img") if len(jobs) > 1 else jobs:
        if job.target.exists() and not args.overwrite:
            tqdm.write(f"kept {job.target}: it exists (--overwrite replaces it)")
            kept += 1
            continue
        try:
            image = open_image(job.source)
            if image.info.get("sr_lab_deep"):
                tqdm.write(f"note: {job.source} has more than 8 bits per sample; reduced to 8")
        except ImageError as err:
            tqdm.write(f"skipped {err}")
            failed += 1
            continue
        icc = image.info.get("icc_profile")
        mp_in += image.width * image.height / 1e6
        size = target_size(image.size, args.scale, args.width, args.height)
        for model in passes(doublings_to(image.size, size)):
            total = tile_count(image.height, image.width, options)
            with counter(total, job.source.name, "tile") as advance:
                image = upscale_image(model, image, options, advance)
        try:
            save_image(resize_to(image, size), job.target, icc)
        except OSError as err:  # a full disk, a folder removed meanwhile: this image fails
            tqdm.write(f"failed {job.target}: {err.strerror or err}")
            failed += 1
            continue
        done += 1
    seconds = time.perf_counter() - start
    print(
        f"upscaled {done} image(s), {mp_in:.2f} megapixels in, {seconds:.1f} s; "
        f"{kept} kept (existing), {failed} failed"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> None:
    raise SystemExit(run_or_exit(run, parse_args(argv)))


if __name__ == "__main__":
    main()
