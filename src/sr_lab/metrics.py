"""The metric core: PSNR, SSIM and MS-SSIM as the SR papers compute them, one implementation
for training (``val/*``), evaluation, compare and bench.

Images are scored as files hold them: RGB rounded to 8 bits, then MATLAB's Y (BT.601 studio
range, from ``data/colour``) in float64, or R, G and B. SSIM is BasicSR's (11x11 Gaussian,
sigma 1.5, 'valid' windows only, which torchmetrics' padded SSIM is not); MS-SSIM is
torchmetrics' with a uniform 5x5 window and the 5 standard betas (its Gaussian window, 11
pixels for sigma 1.5, is too big for the 5th scale of a 96-pixel patch). Protocols
(``sr_lab.protocols``) choose the shave, the truncation of Y and the MSE floor, and
``protocols.SRMetrics`` accumulates their scores for training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

from sr_lab.data.colour import rgb_to_y
from sr_lab.data.image import quantize

PEAK = 255.0
MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, 5 scales
MS_SSIM_MIN_SIZE = 80  # smallest side whose 5th scale (1/16) still holds the 5x5 window
MS_SSIM = {"gaussian_kernel": False, "kernel_size": 5, "betas": MS_SSIM_BETAS, "data_range": PEAK}
NAMES = ("psnr", "ssim", "ms_ssim")
CHANNELS = ("y", "rgb")


def planes(x: torch.Tensor, channels: str = "y") -> torch.Tensor:
    """The float64 planes in [0, 255] that are scored, from a (B, 3 | 1, H, W) batch in [0, 1]:
    RGB is rounded to 8 bits, then reduced to Y (``channels="y"``) or kept; a 1-channel batch
    already is Y (as Y-channel models see it) and is only clamped."""
    if channels not in CHANNELS:
        raise ValueError(f"channels must be y or rgb (got {channels!r})")
    if x.shape[1] == 1:
        return x.double().clamp(0, 1) * PEAK
    rgb = quantize(x.detach().float().cpu()).double()
    return rgb_to_y(rgb / PEAK, PEAK) if channels == "y" else rgb


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return torch.outer(g, g)[None, None]


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-plane SSIM of (N, 1, H, W) float64 planes in [0, 255], as BasicSR computes it:
    C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, the mean of the valid-window SSIM map."""
    w = _gaussian_window()
    mu_a, mu_b = F.conv2d(a, w), F.conv2d(b, w)
    saa = F.conv2d(a * a, w) - mu_a**2
    sbb = F.conv2d(b * b, w) - mu_b**2
    sab = F.conv2d(a * b, w) - mu_a * mu_b
    c1, c2 = (0.01 * PEAK) ** 2, (0.03 * PEAK) ** 2
    index = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2)
    )
    return index.flatten(1).mean(1)


def ms_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-plane MS-SSIM of (N, 1, H, W) planes in [0, 255]; NaN where a side is under 80."""
    if min(a.shape[-2:]) < MS_SSIM_MIN_SIZE:
        return torch.full(a.shape[:1], torch.nan, dtype=torch.float64)
    return multiscale_structural_similarity_index_measure(a, b, reduction="none", **MS_SSIM)


def score(
    sr: torch.Tensor,
    hr: torch.Tensor,
    channels: str = "y",
    shave: int = 0,
    truncate_y: bool = False,
    mse_floor: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Per-image PSNR, SSIM and MS-SSIM, each a (B,) float64 tensor, of two (B, C, H, W)
    batches in [0, 1]. ``shave`` border pixels are dropped on each side; ``truncate_y`` floors
    Y to an integer and ``mse_floor`` bounds the MSE from below (waifu2x's benchmark). With
    several planes (RGB), PSNR is over all of them, SSIM and MS-SSIM per plane, then averaged,
    as BasicSR does."""
    a, b = planes(sr, channels), planes(hr, channels)
    if truncate_y and channels == "y":
        a, b = a.floor(), b.floor()
    if shave:
        a, b = a[..., shave:-shave, shave:-shave], b[..., shave:-shave, shave:-shave]
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3)).clamp_min(mse_floor)
    n, c = a.shape[:2]
    flat_a, flat_b = a.reshape(n * c, 1, *a.shape[-2:]), b.reshape(n * c, 1, *b.shape[-2:])
    return {
        "psnr": 10 * torch.log10(PEAK**2 / mse),
        "ssim": ssim(flat_a, flat_b).view(n, c).mean(1),
        "ms_ssim": ms_ssim(flat_a, flat_b).view(n, c).mean(1),
    }
