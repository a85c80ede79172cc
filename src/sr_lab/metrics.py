"""Validation metrics: PSNR, SSIM and MS-SSIM on Y (BT.601) or RGB with ``shave`` border pixels
removed, as torchmetrics states, so they reduce correctly across DDP ranks."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics.image import (
    MultiScaleStructuralSimilarityIndexMeasure,
    PeakSignalNoiseRatio,
    StructuralSimilarityIndexMeasure,
)

from sr_lab.data.colour import rgb_to_y

MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, 5 scales


class SRMetrics(nn.Module):
    """Per-image PSNR averaged over images, mean SSIM (11x11 Gaussian, sigma 1.5) and MS-SSIM
    (a uniform ``ms_ssim_kernel`` window and the 5 standard betas). torchmetrics sizes a
    Gaussian window from sigma (11 px for 1.5), too big for the 5th scale of a 96-pixel image;
    a 5x5 window fits down to 80 pixels."""

    def __init__(self, channel: str = "y", shave: int = 2, ms_ssim_kernel: int = 5) -> None:
        super().__init__()
        if channel not in ("y", "rgb"):
            raise ValueError(f"metrics.channel must be 'y' or 'rgb', got {channel!r}")
        self.channel, self.shave = channel, shave
        self.psnr = PeakSignalNoiseRatio(
            data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3)
        )
        self.ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        self.ms_ssim = MultiScaleStructuralSimilarityIndexMeasure(
            data_range=1.0, gaussian_kernel=False, kernel_size=ms_ssim_kernel, betas=MS_SSIM_BETAS
        )

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().clamp(0, 1)
        if self.shave:
            x = x[..., self.shave : -self.shave, self.shave : -self.shave]
        return rgb_to_y(x) if self.channel == "y" and x.shape[1] == 3 else x

    def update(self, sr: torch.Tensor, hr: torch.Tensor) -> None:
        sr, hr = self._prepare(sr), self._prepare(hr)
        for metric in (self.psnr, self.ssim, self.ms_ssim):
            metric.update(sr, hr)

    def compute(self) -> dict[str, torch.Tensor]:
        return {
            "psnr": self.psnr.compute(),
            "ssim": self.ssim.compute(),
            "ms_ssim": self.ms_ssim.compute(),
        }

    def reset(self) -> None:
        for metric in (self.psnr, self.ssim, self.ms_ssim):
            metric.reset()
