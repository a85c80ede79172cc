"""Evaluation: ``python -m sr_lab.evaluate weights=PATH dataset=Set5 protocol=waifu2x``.

Scores models (waifu2x JSON, sr_lab files, training checkpoints) and plain interpolations
(``bicubic``, ``lanczos``, ``nearest``) on datasets under a named protocol, through the tiling
engine, and writes a markdown table, ``results.json`` (per image and mean) and a CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, ListConfig
from PIL import Image
from tqdm import tqdm

from sr_lab import models
from sr_lab.data.degradation import Degradation, make_degradation
from sr_lab.data.image import ImageError, list_images, open_image
from sr_lab.inference import upscale_image
from sr_lab.models import ModelFileError, SRModel
from sr_lab.protocols import PATCH, Protocol, get_protocol

INTERPOLATIONS = {
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}
METRICS = ("psnr", "ssim", "ms_ssim")


def resolve_dataset(name: str, root: str | Path) -> Path:
    """A dataset folder: a path as given, or a named set under ``root`` (SR_LAB_DATA)."""
    for candidate in (Path(name), Path(root) / name):
        if candidate.is_dir():
            return candidate
    raise ImageError(name, f"no such folder, nor a dataset under {root}")


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """One JPEG round trip at ``quality`` (4:2:0), the noise a noise model removes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


class Upscaler:
    """One evaluated method: a model through the tiling engine, or a plain interpolation."""

    def __init__(
        self, weights: str, model_name: str | None, tta: int, tile: int, exact: bool = True
    ) -> None:
        self.label, self.tta, self.tile, self.exact = weights, tta, tile, exact
        self.model: SRModel | None = None
        if weights not in INTERPOLATIONS:
            model = models.load(weights).eval()
            if model_name is not None and models.build(model_name).arch != model.arch:
                raise ModelFileError(weights, f"holds a {model.arch}, but model={model_name}")
            self.model = model
            path = Path(weights)
            folders = [path.parent.parent.name, path.parent.name]
            if folders[1] == "checkpoints":  # a training run: name it by its run directory
                folders = folders[:1]
            self.label = "/".join([*folders, path.stem])
        self.scale = self.model.scale if self.model is not None else None

    def __call__(self, lr: Image.Image, scale: int) -> Image.Image:
        if self.model is None:
            return lr.resize((lr.width * scale, lr.height * scale), INTERPOLATIONS[self.label])
        return upscale_image(self.model, lr, self.tile, tta=self.tta, exact=self.exact)


def patch_pairs(
    hr: Image.Image, scale: int, degradation: Degradation, seed: int, index: int
) -> list[tuple[Image.Image, np.ndarray]]:
    """The seed's protocol: non-overlapping 96x96 HR patches, each degraded with its own draw
    (filter, JPEG quality) from a generator seeded by (seed, image, patch)."""
    array = np.asarray(hr)
    pairs = []
    for k, (y, x) in enumerate(
        (y, x)
        for y in range(0, hr.height - PATCH + 1, PATCH)
        for x in range(0, hr.width - PATCH + 1, PATCH)
    ):
        patch = np.ascontiguousarray(array[y : y + PATCH, x : x + PATCH])
        lr = degradation(patch, np.random.default_rng([seed, index, k]))
        pairs.append((Image.fromarray(lr), patch))
    return pairs


def evaluate_dataset(
    upscaler: Upscaler,
    folder: Path,
    protocol: Protocol,
    scale: int,
    quality: int | None,
    lr_folder: Path | None = None,
    patches: Degradation | None = None,
    seed: int = 0,
    channels: str = "y",
) -> dict[str, Any]:
    """Per-image scores and their means for one method on one dataset (for the patches
    protocol, an image's score is its patches' mean, and the dataset mean is over patches)."""
    images, seconds, all_scores = {}, 0.0, []
    need = 2 * (upscaler.model.context if upscaler.model is not None else 1) + 4
    paths = list_images(folder)
    bar = tqdm(
        paths, desc=f"{folder.name}: {upscaler.label}", unit="img", leave=False, disable=None
    )
    for index, path in enumerate(bar):
        hr = protocol.crop_hr(open_image(path).convert("RGB"), scale)
        if min(hr.size) < (PATCH if patches is not None else need * scale):
            raise ImageError(path, f"{hr.width}x{hr.height} is too small to evaluate at {scale}x")
        if patches is not None:
            pairs = patch_pairs(hr, scale, patches, seed, index)
        elif lr_folder is not None:
            pairs = [
                (open_image(lr_folder / path.relative_to(folder)).convert("RGB"), np.asarray(hr))
            ]
        else:
            lr = hr if upscaler.scale == 1 else protocol.make_lr(hr, scale)
            pairs = [(jpeg(lr, quality) if quality is not None else lr, np.asarray(hr))]
        scores = []
        for lr, target in pairs:
            if lr.width * scale != target.shape[1] or lr.height * scale != target.shape[0]:
                raise ImageError(path, f"LR {lr.width}x{lr.height} is not HR / {scale}")
            start = time.perf_counter()
            sr = upscaler(lr, scale)
            seconds += time.perf_counter() - start
            scores.append(protocol.score(np.asarray(sr), target, scale, channels))
        all_scores += scores
        images[path.name] = {m: _mean([s[m] for s in scores]) for m in METRICS}
    mean = {m: _mean([s[m] for s in all_scores]) for m in METRICS}
    return {"mean": mean, "images": images, "seconds": seconds}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(known)) if known else None


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(results: dict[str, Any]) -> str:
    """One table per dataset: method, PSNR, SSIM, MS-SSIM, seconds."""
    lines = []
    for dataset, methods in results["datasets"].items():
        lines += [
            f"### {dataset} ({results['protocol']} protocol, {results['channels'].upper()}, "
            f"x{results['scale']}, LR by {results['downscale']}{results['noise_note']})",
            "",
            "| method | PSNR | SSIM | MS-SSIM | seconds |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, r in methods.items():
            m = r["mean"]
            lines.append(
                f"| {label} | {_fmt(m['psnr'], 3)} | {_fmt(m['ssim'], 4)} | "
                f"{_fmt(m['ms_ssim'], 4)} | {r['seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple | ListConfig):
        return [str(v) for v in value]
    return [str(value)]


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score every weights entry on every dataset; returns the results (seconds kept apart)."""
    protocol = get_protocol(cfg.protocol)
    if cfg.scale not in (1, 2) or cfg.tta not in (1, 2, 4, 8):
        raise ValueError(f"scale must be 1 or 2 and tta 1, 2, 4 or 8 (got {cfg.scale}, {cfg.tta})")
    if cfg.channels not in ("y", "rgb"):
        raise ValueError(f"channels must be y or rgb (got {cfg.channels!r})")
    arch = cfg.model.name if cfg.get("model") else None
    upscalers = [Upscaler(w, arch, cfg.tta, cfg.tile, not cfg.fast) for w in as_list(cfg.weights)]
    for up in upscalers:
        if up.scale is not None and up.scale != cfg.scale:
            raise ModelFileError(up.label, f"is a {up.scale}x model, but scale={cfg.scale}")
    folders = {Path(n).name: resolve_dataset(n, cfg.data_root) for n in as_list(cfg.dataset)}
    quality = cfg.get("jpeg_quality")
    lr_folder = Path(cfg.lr_dataset) if cfg.get("lr_dataset") else None
    if lr_folder is not None and (len(folders) != 1 or not lr_folder.is_dir()):
        raise ValueError(f"lr_dataset={lr_folder} needs an existing folder and exactly one dataset")
    patches = None
    if protocol.name == "patches":
        q = [int(v) for v in cfg.patch_quality]
        patches = make_degradation(cfg.scale, list(cfg.patch_filters), [{"first": q}], 1.0)
    results: dict[str, Any] = {
        "protocol": protocol.name,
        "scale": cfg.scale,
        "channels": cfg.channels,
        "downscale": (
            f"{'/'.join(cfg.patch_filters)} per patch, JPEG q{cfg.patch_quality[0]}-"
            f"{cfg.patch_quality[1]}"
            if patches is not None
            else "PIL bicubic (Catmull-Rom, antialiased)"
        ),
        "noise_note": f", JPEG q{quality}" if quality is not None else "",
        "tta": cfg.tta,
        "datasets": {},
    }
    for name, folder in folders.items():
        results["datasets"][name] = {
            up.label: evaluate_dataset(
                up, folder, protocol, cfg.scale, quality, lr_folder, patches, cfg.seed, cfg.channels
            )
            for up in upscalers
        }
    return results


def write_outputs(results: dict[str, Any], output: Path) -> None:
    """results.json (deterministic: no timings) and a CSV beside it (with timings)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stable = json.loads(json.dumps(results))
    for methods in stable["datasets"].values():
        for r in methods.values():
            r.pop("seconds")
    output.write_text(json.dumps(stable, indent=2, sort_keys=True) + "\n")
    with open(output.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "method", "image", *METRICS])
        for dataset, methods in results["datasets"].items():
            for label, r in methods.items():
                for image, s in r["images"].items():
                    writer.writerow([dataset, label, image, *(s[m] for m in METRICS)])
                writer.writerow([dataset, label, "mean", *(r["mean"][m] for m in METRICS)])


@hydra.main(version_base="1.3", config_path="../../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    try:
        results = evaluate(cfg)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(markdown_table(results))
    output = Path(cfg.output)
    write_outputs(results, output)
    print(f"wrote {output} and {output.with_suffix('.csv')}", file=sys.stderr)


if __name__ == "__main__":
    main()
