"""Evaluation: ``python -m sr_lab.evaluate weights=PATH dataset=Set5 protocol=waifu2x``.

Scores models (waifu2x JSON, sr_lab files, training checkpoints) and plain interpolations
(``bicubic``, ``lanczos``, ``nearest``) on datasets under a named protocol, through the tiling
engine, and writes a markdown table, ``results.json`` (per image and mean) and a CSV.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig
from PIL import Image
from tqdm import tqdm

from sr_lab import models
from sr_lab.data.degradation import SUBSAMPLING, Degradation, jpeg_roundtrip
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


def describe(degradation: Degradation) -> str:
    """How the LR images were made, for table titles: preset, filter(s), JPEG noise."""
    resample = "PIL " + "/".join(degradation.filters) if degradation.scale > 1 else "no downscale"
    text = f"{degradation.name} ({resample}"
    if degradation.noise is not None:
        chains = "|".join(
            f"q{c.first[0]}-{c.first[1]}" + (f" x{len(c.then) + 1}" if c.then else "")
            for c in degradation.noise.chains
        )
        rate = f" for {degradation.nr_rate:.0%}" if degradation.nr_rate < 1 else ""
        text += f", JPEG {chains}{rate}"
    return text + ")"


@dataclass(frozen=True)
class Setting:
    """How LR/HR pairs are made and scored, the same for every method in one call."""

    protocol: Protocol
    scale: int
    degradation: Degradation
    jpeg_quality: int | None = None
    lr_folder: Path | None = None
    seed: int = 0
    channels: str = "y"

    def pairs(
        self, hr: Image.Image, path: Path, folder: Path, index: int
    ) -> list[tuple[Image.Image, np.ndarray]]:
        """(LR, HR target) pairs for one HR image: the ready LR image from ``lr_folder``, or
        the degradation of the whole image (patches protocol: of each non-overlapping 96x96
        patch), drawn from a generator seeded by (seed, image, patch), then the fixed JPEG."""
        array = np.asarray(hr)
        if self.lr_folder is not None:
            return [(open_image(self.lr_folder / path.relative_to(folder)).convert("RGB"), array)]
        targets = [array]
        if self.protocol.name == "patches":
            corners = [
                (y, x)
                for y in range(0, hr.height - PATCH + 1, PATCH)
                for x in range(0, hr.width - PATCH + 1, PATCH)
            ]
            targets = [
                np.ascontiguousarray(array[y : y + PATCH, x : x + PATCH]) for y, x in corners
            ]
        pairs = []
        for k, target in enumerate(targets):
            lr = Image.fromarray(
                self.degradation(target, np.random.default_rng([self.seed, index, k]))
            )
            if self.jpeg_quality is not None:
                lr = jpeg_roundtrip(lr, self.jpeg_quality, SUBSAMPLING["4:2:0"])
            pairs.append((lr, target))
        return pairs


def evaluate_dataset(
    upscalers: list[Upscaler], folder: Path, setting: Setting
) -> dict[str, dict[str, Any]]:
    """Per-image scores and their means for every method on one dataset, by method label. Each
    HR image is decoded and degraded once for all methods (for the patches protocol, an
    image's score is its patches' mean, and the dataset mean is over patches)."""
    scale, protocol = setting.scale, setting.protocol
    contexts = [up.model.context if up.model is not None else 1 for up in upscalers]
    need = PATCH if protocol.name == "patches" else (2 * max(contexts) + 4) * scale
    results = {up.label: {"images": {}, "seconds": 0.0, "scores": []} for up in upscalers}
    paths = list_images(folder)
    for index, path in enumerate(
        tqdm(paths, desc=folder.name, unit="img", leave=False, disable=None)
    ):
        hr = protocol.crop_hr(open_image(path).convert("RGB"), scale)
        if min(hr.size) < need:
            raise ImageError(path, f"{hr.width}x{hr.height} is too small to evaluate at {scale}x")
        pairs = setting.pairs(hr, path, folder, index)
        for lr, target in pairs:
            if lr.width * scale != target.shape[1] or lr.height * scale != target.shape[0]:
                raise ImageError(path, f"LR {lr.width}x{lr.height} is not HR / {scale}")
        for up in upscalers:
            r, scores = results[up.label], []
            for lr, target in pairs:
                start = time.perf_counter()
                sr = up(lr, scale)
                r["seconds"] += time.perf_counter() - start
                scores.append(protocol.score(np.asarray(sr), target, scale, setting.channels))
            r["scores"] += scores
            r["images"][path.name] = {m: _mean([s[m] for s in scores]) for m in METRICS}
    for r in results.values():
        scores = r.pop("scores")
        r["mean"] = {m: _mean([s[m] for s in scores]) for m in METRICS}
    return results


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
            f"x{results['scale']}, LR: {results['degradation']}{results['noise_note']})",
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
    lr_folder = Path(cfg.lr_dataset) if cfg.get("lr_dataset") else None
    if lr_folder is not None and (len(folders) != 1 or not lr_folder.is_dir()):
        raise ValueError(f"lr_dataset={lr_folder} needs an existing folder and exactly one dataset")
    if lr_folder is not None and (cfg.jpeg_quality is not None or protocol.name == "patches"):
        raise ValueError("lr_dataset takes ready LR images: jpeg_quality and patches don't apply")
    if cfg.jpeg_quality is not None and not 1 <= cfg.jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100 (got {cfg.jpeg_quality})")
    setting = Setting(
        protocol,
        cfg.scale,
        instantiate(cfg.degradation),
        cfg.jpeg_quality,
        lr_folder,
        cfg.seed,
        cfg.channels,
    )
    results: dict[str, Any] = {
        "protocol": protocol.name,
        "scale": cfg.scale,
        "channels": cfg.channels,
        "degradation": f"ready LR images in {lr_folder}"
        if lr_folder is not None
        else describe(setting.degradation),
        "noise_note": f", then JPEG q{cfg.jpeg_quality}" if cfg.jpeg_quality is not None else "",
        "tta": cfg.tta,
        "datasets": {},
    }
    for name, folder in folders.items():
        results["datasets"][name] = evaluate_dataset(upscalers, folder, setting)
    return results


def write_outputs(results: dict[str, Any], output: Path) -> None:
    """results.json (deterministic: no timings) and a CSV beside it: per-image and mean scores."""
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
