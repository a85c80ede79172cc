"""Evaluation protocols, named in every table: how HR is cropped, how LR is made, how scores are
computed. ``paper`` follows the SR papers (BasicSR's formulas); ``waifu2x`` follows waifu2x's
tools/benchmark.lua (see ../shared/datasets/README.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

from sr_lab.metrics import MS_SSIM_BETAS

Y_WEIGHTS = np.array([65.481, 128.553, 24.966])


def matlab_y(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB to MATLAB's Y in [16, 235] as float64 (16 + 65.481 R + ...)."""
    return 16.0 + (rgb.astype(np.float64) / 255.0) @ Y_WEIGHTS


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return torch.outer(g, g)[None, None]


def ssim_basicsr(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two float64 [0, 255] planes as BasicSR computes it: 11x11 Gaussian (sigma 1.5),
    'valid' windows only, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, mean of the SSIM map."""
    x = torch.from_numpy(np.ascontiguousarray(a))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(b))[None, None]
    w = _gaussian_window()
    mu_x, mu_y = F.conv2d(x, w), F.conv2d(y, w)
    sxx = F.conv2d(x * x, w) - mu_x**2
    syy = F.conv2d(y * y, w) - mu_y**2
    sxy = F.conv2d(x * y, w) - mu_x * mu_y
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(ssim.mean())


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """torchmetrics MS-SSIM of two [0, 255] planes (uniform 5x5 window, 5 standard betas);
    None for planes too small for its five scales (under 80 pixels)."""
    if min(a.shape) < 80:
        return None
    x = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))[None, None]
    value = multiscale_structural_similarity_index_measure(
        x, y, gaussian_kernel=False, kernel_size=5, betas=MS_SSIM_BETAS, data_range=255.0
    )
    return float(value)


def psnr(mse: float, peak: float = 255.0) -> float:
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


@dataclass(frozen=True)
class Protocol:
    """One evaluation convention."""

    name: str
    crop_multiple: int | None  # HR cropped to a multiple of this (None: of the scale)
    shave: bool  # drop `scale` border pixels before scoring
    truncate_y: bool  # waifu2x's "range bug": Y truncated to an integer
    mse_floor: float  # waifu2x floors the MSE at 1

    def crop_hr(self, hr: Image.Image, scale: int) -> Image.Image:
        """HR cropped (from the top-left) so that it downscales evenly."""
        m = self.crop_multiple or scale
        return hr.crop((0, 0, hr.width - hr.width % m, hr.height - hr.height % m))

    def score(
        self, sr: np.ndarray, hr: np.ndarray, scale: int, channels: str = "y"
    ) -> dict[str, float | None]:
        """PSNR, SSIM and MS-SSIM of two (H, W, 3) uint8 images, on Y (``channels="y"``, the
        protocols' convention) or on R, G and B (PSNR over all three; SSIM and MS-SSIM per
        channel, then averaged, as BasicSR does)."""
        if channels == "y":
            a, b = matlab_y(sr)[..., None], matlab_y(hr)[..., None]
            if self.truncate_y:
                a, b = np.floor(a), np.floor(b)
        elif channels == "rgb":
            a, b = sr.astype(np.float64), hr.astype(np.float64)
        else:
            raise ValueError(f"channels must be y or rgb (got {channels!r})")
        if self.shave:
            a, b = a[scale:-scale, scale:-scale], b[scale:-scale, scale:-scale]
        mse = max(float(np.mean((a - b) ** 2)), self.mse_floor)
        planes = [(a[..., c], b[..., c]) for c in range(a.shape[-1])]
        ms = [ms_ssim(x, y) for x, y in planes]
        return {
            "psnr": psnr(mse),
            "ssim": float(np.mean([ssim_basicsr(x, y) for x, y in planes])),
            "ms_ssim": None if ms[0] is None else float(np.mean(ms)),
        }


PROTOCOLS = {
    "paper": Protocol("paper", None, shave=True, truncate_y=False, mse_floor=0.0),
    "waifu2x": Protocol("waifu2x", 4, shave=False, truncate_y=True, mse_floor=1.0),
    # the seed's table: 96x96 patches, each degraded and scored on its own (Y, no shave)
    "patches": Protocol("patches", None, shave=False, truncate_y=False, mse_floor=0.0),
}
PATCH = 96


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose from: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
