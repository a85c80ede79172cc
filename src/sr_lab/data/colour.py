"""RGB <-> YCbCr, ITU-R BT.601 in the 'studio' range MATLAB's rgb2ycbcr uses (Y in 16..235),
the convention of the SR papers' Y-channel PSNR."""

from __future__ import annotations

import torch

# rows: Y, Cb, Cr; inputs in [0, 1], outputs in [0, 255] before the offsets
_RGB_TO_YCBCR = torch.tensor(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=torch.float64,
)
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0, 1] to YCbCr in [0, 1] (Y = (16 + 65.481R + ...)/255)."""
    m = _RGB_TO_YCBCR.to(rgb)
    return (torch.einsum("ij,...jhw->...ihw", m, rgb) + _OFFSET.to(rgb)[:, None, None]) / 255


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Inverse of ``rgb_to_ycbcr`` (not clamped)."""
    inverse = torch.linalg.inv(_RGB_TO_YCBCR).to(ycbcr)
    centred = ycbcr * 255 - _OFFSET.to(ycbcr)[:, None, None]
    return torch.einsum("ij,...jhw->...ihw", inverse, centred)


def rgb_to_y(rgb: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """The Y channel alone, keeping a channel dimension of 1, from RGB in [0, 1]: in [0, 1]
    by default; ``peak=255`` gives MATLAB's Y in [16, 235] (16 + 65.481 R + ...) with no
    rounding step, as the papers score it."""
    y = torch.einsum("j,...jhw->...hw", _RGB_TO_YCBCR[0].to(rgb), rgb)[..., None, :, :] + 16.0
    return y if peak == 255 else y * (peak / 255)
