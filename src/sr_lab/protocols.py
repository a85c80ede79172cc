"""Evaluation protocols, named in every table. A protocol owns how HR is cropped (or cut into
patches), how each target's LR is drawn, and how SR is scored; the evaluator never asks which
one it has, and training's ``SRMetrics`` scores validation under one. ``paper`` follows the SR
papers (BasicSR's formulas); ``waifu2x`` follows waifu2x's tools/benchmark.lua; ``patches`` is
the seed's table (see docs/design.md)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchmetrics import Metric

from sr_lab import metrics

# makes the LR image of one HR target (H, W, 3 uint8), given the target's index in its image
MakeLR = Callable[[np.ndarray, int], Image.Image]


def to_batch(image: Image.Image | np.ndarray) -> torch.Tensor:
    """A (1, C, H, W) float64 batch in [0, 1] from an 8-bit image or (H, W, C) array."""
    array = np.array(image, dtype=np.uint8)  # a writable copy, as torch wants
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(array).permute(2, 0, 1)[None].double() / 255


def _finite(value: torch.Tensor) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Protocol:
    """One evaluation convention."""

    name: str
    crop_multiple: int | None  # HR cropped to a multiple of this (None: of the scale)
    shave: bool  # drop `scale` border pixels before scoring
    truncate_y: bool  # waifu2x's "range bug": Y truncated to an integer
    mse_floor: float  # waifu2x floors the MSE at 1
    patch: int | None = None  # score each non-overlapping patch x patch cell on its own

    @property
    def takes_ready_lr(self) -> bool:
        """Whether a folder of ready LR images can stand in for the drawn LR."""
        return self.patch is None

    def crop_hr(self, hr: Image.Image, scale: int) -> Image.Image:
        """HR cropped (from the top-left) so that it downscales evenly."""
        m = self.crop_multiple or scale
        return hr.crop((0, 0, hr.width - hr.width % m, hr.height - hr.height % m))

    def min_size(self, scale: int, context: int) -> int:
        """The smallest HR side this protocol evaluates for a model of ``context``."""
        return self.patch or (2 * context + 4) * scale

    def targets(self, hr: Image.Image, scale: int) -> list[np.ndarray]:
        """The (H, W, 3) uint8 HR targets scored for one image: the cropped image, or its
        non-overlapping patches in reading order."""
        array = np.asarray(self.crop_hr(hr, scale))
        if self.patch is None:
            return [array]
        p = self.patch
        return [
            np.ascontiguousarray(array[y : y + p, x : x + p])
            for y in range(0, array.shape[0] - p + 1, p)
            for x in range(0, array.shape[1] - p + 1, p)
        ]

    def pairs(
        self, hr: Image.Image, scale: int, make_lr: MakeLR
    ) -> list[tuple[Image.Image, np.ndarray]]:
        """(LR, HR target) pairs for one HR image, each target degraded on its own."""
        return [(make_lr(target, k), target) for k, target in enumerate(self.targets(hr, scale))]

    def score_tensors(
        self, sr: torch.Tensor, hr: torch.Tensor, scale: int, channels: str = "y"
    ) -> dict[str, torch.Tensor]:
        """Per-image scores of two (B, C, H, W) batches in [0, 1] (see ``metrics.score``)."""
        return metrics.score(
            sr,
            hr,
            channels,
            shave=scale if self.shave else 0,
            truncate_y=self.truncate_y,
            mse_floor=self.mse_floor,
        )

    def score(
        self,
        sr: Image.Image | np.ndarray,
        hr: Image.Image | np.ndarray,
        scale: int,
        channels: str = "y",
    ) -> dict[str, float | None]:
        """PSNR, SSIM and MS-SSIM of two 8-bit RGB images, on Y (the protocols' convention)
        or on R, G and B; MS-SSIM is None for images under 80 pixels."""
        scores = self.score_tensors(to_batch(sr), to_batch(hr), scale, channels)
        return {name: _finite(value[0]) for name, value in scores.items()}


PROTOCOLS = {
    "paper": Protocol("paper", None, shave=True, truncate_y=False, mse_floor=0.0),
    "waifu2x": Protocol("waifu2x", 4, shave=False, truncate_y=True, mse_floor=1.0),
    # the seed's table: 96x96 patches, each degraded and scored on its own (Y, no shave)
    "patches": Protocol("patches", None, shave=False, truncate_y=False, mse_floor=0.0, patch=96),
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``; a ValueError naming the choices otherwise."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose from: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


class SRMetrics(Metric):
    """Validation scores under a named evaluation protocol (``paper`` by default), averaged
    per image, so ``val/psnr`` is the number ``python -m sr_lab.evaluate`` reports for the
    same images. Sums are states that torchmetrics reduces across DDP ranks."""

    full_state_update = False

    def __init__(self, protocol: str = "paper", channels: str = "y", scale: int = 2) -> None:
        super().__init__()
        if channels not in metrics.CHANNELS:
            raise ValueError(f"metrics.channels must be y or rgb (got {channels!r})")
        self.protocol, self.channels, self.scale = get_protocol(protocol), channels, scale
        for name in (*metrics.NAMES, "images", "ms_ssim_images"):
            self.add_state(name, torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, sr: torch.Tensor, hr: torch.Tensor) -> None:
        scores = self.protocol.score_tensors(sr, hr, self.scale, self.channels)
        scores = {k: v.to(self.images.device) for k, v in scores.items()}
        known = ~scores["ms_ssim"].isnan()
        self.psnr += scores["psnr"].sum()
        self.ssim += scores["ssim"].sum()
        self.ms_ssim += scores["ms_ssim"][known].sum()
        self.images += len(scores["psnr"])
        self.ms_ssim_images += known.sum()

    def compute(self) -> dict[str, torch.Tensor]:
        return {
            "psnr": self.psnr / self.images,
            "ssim": self.ssim / self.images,
            "ms_ssim": self.ms_ssim / self.ms_ssim_images,
        }
