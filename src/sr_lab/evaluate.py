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
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig
from PIL import Image

from sr_lab.atomic import atomic_write
from sr_lab.checks import whole
from sr_lab.cli import exit_on_version, progress, remove_stub, run_hydra, run_or_exit
from sr_lab.config import CONF_DIR, build
from sr_lab.data.degradation import SUBSAMPLING, Degradation, jpeg_roundtrip
from sr_lab.data.image import ImageError, list_images, open_image
from sr_lab.methods import Upscaler
from sr_lab.metrics import CHANNELS as METRIC_CHANNELS
from sr_lab.metrics import NAMES as METRICS
from sr_lab.models.registry import arch_of_target
from sr_lab.protocols import Protocol, get_protocol


def resolve_dataset(name: str, root: str | Path) -> Path:
    """A dataset folder: a path as given, or a named set under ``root`` (SR_LAB_DATA)."""
    for candidate in (Path(name), Path(root) / name):
        if candidate.is_dir():
            return candidate
    raise ImageError(name, f"no such folder, nor a dataset under {root}")


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
        the protocol's targets, each degraded by a generator seeded by (seed, image, target),
        then given the fixed JPEG."""
        if self.lr_folder is not None:
            lr = open_image(self.lr_folder / path.relative_to(folder)).convert("RGB")
            return [(lr, self.protocol.targets(hr, self.scale)[0])]

        def make_lr(target: np.ndarray, k: int) -> Image.Image:
            lr = Image.fromarray(
                self.degradation(target, np.random.default_rng([self.seed, index, k]))
            )
            if self.jpeg_quality is not None:
                lr = jpeg_roundtrip(lr, self.jpeg_quality, SUBSAMPLING["4:2:0"])
            return lr

        return self.protocol.pairs(hr, self.scale, make_lr)


def evaluate_dataset(
    upscalers: list[Upscaler], folder: Path, setting: Setting
) -> dict[str, dict[str, Any]]:
    """Per-image scores and their means for every method on one dataset, by method label. Each
    HR image is decoded and degraded once for all methods (for the patches protocol, an
    image's score is its patches' mean, and the dataset mean is over patches)."""
    scale, protocol = setting.scale, setting.protocol
    need = protocol.min_size(scale, max(up.context for up in upscalers))
    results = {up.label: {"images": {}, "seconds": 0.0, "scores": []} for up in upscalers}
    paths = list_images(folder)
    for index, path in enumerate(progress(paths, folder.name, "img")):
        hr = open_image(path).convert("RGB")
        size = protocol.crop_hr(hr, scale).size
        if min(size) < need:
            raise ImageError(path, f"{size[0]}x{size[1]} is too small to evaluate at {scale}x")
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
    if cfg.scale not in (1, 2):
        raise ValueError(f"scale must be 1 or 2 (got {cfg.scale})")
    if cfg.channels not in METRIC_CHANNELS:
        raise ValueError(f"channels must be y or rgb (got {cfg.channels!r})")
    whole("jpeg_quality", cfg.jpeg_quality, 1, 100, optional=True)
    whole("seed", cfg.seed, 0)
    options = build(cfg, "inference")
    arch = arch_of_target(cfg.model._target_).arch if cfg.get("model") else None
    upscalers = [Upscaler(w, options, arch, cfg.scale) for w in as_list(cfg.weights)]
    folders = {Path(n).name: resolve_dataset(n, cfg.paths.data_root) for n in as_list(cfg.dataset)}
    lr_folder = Path(cfg.lr_dataset) if cfg.get("lr_dataset") else None
    if lr_folder is not None and (len(folders) != 1 or not lr_folder.is_dir()):
        raise ValueError(f"lr_dataset={lr_folder} needs an existing folder and exactly one dataset")
    if lr_folder is not None and cfg.jpeg_quality is not None:
        raise ValueError("lr_dataset takes ready LR images: jpeg_quality does not apply")
    if lr_folder is not None and not protocol.takes_ready_lr:
        raise ValueError(
            f"lr_dataset takes ready LR images: the {protocol.name} protocol degrades each "
            "patch itself"
        )
    setting = Setting(
        protocol,
        cfg.scale,
        build(cfg, "degradation"),
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
        "tta": options.tta,
        "datasets": {},
    }
    for name, folder in folders.items():
        results["datasets"][name] = evaluate_dataset(upscalers, folder, setting)
    return results


def write_outputs(results: dict[str, Any], output: Path) -> None:
    """results.json (deterministic: no timings) and a CSV beside it: per-image and mean scores,
    each written atomically."""
    stable = json.loads(json.dumps(results))
    for methods in stable["datasets"].values():
        for r in methods.values():
            r.pop("seconds")
    with atomic_write(output, "w") as f:
        f.write(json.dumps(stable, indent=2, sort_keys=True) + "\n")
    with atomic_write(output.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "method", "image", *METRICS])
        for dataset, methods in results["datasets"].items():
            for label, r in methods.items():
                for image, s in r["images"].items():
                    writer.writerow([dataset, label, image, *(s[m] for m in METRICS)])
                writer.writerow([dataset, label, "mean", *(r["mean"][m] for m in METRICS)])


def run(cfg: DictConfig) -> None:
    """Evaluate, print the markdown table and write the result files."""
    results = evaluate(cfg)
    print(markdown_table(results))
    output = Path(cfg.output)
    write_outputs(results, output)
    print(f"wrote {output} and {output.with_suffix('.csv')}", file=sys.stderr)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluate")
def hydra_main(cfg: DictConfig) -> None:
    try:
        run_or_exit(run, cfg)
    finally:  # a failed run, or one whose output= points elsewhere, leaves no run directory
        remove_stub(Path(HydraConfig.get().runtime.output_dir))


def main() -> None:
    """The console entry point: ``--version``, or Hydra's command line."""
    exit_on_version()
    run_hydra(hydra_main)


if __name__ == "__main__":
    main()
