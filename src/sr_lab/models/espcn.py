"""ESPCN_7: sub-pixel convolution (Shi et al. 2016) with selection units (Choi & Kim 2017)."""

from __future__ import annotations

import torch
from torch import nn

from sr_lab.models.base import PositionIndependent, SRModel, make_activation

WIDTHS = (64, 64, 128, 128, 256, 256)


class SelectionUnit(nn.Module):
    """A learned per-pixel gate: x * sigmoid(conv1x1(x)); it scales features, never replaces."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(channels, channels, 1)
        self.sigmoid = PositionIndependent(torch.sigmoid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.gate(x))


class ESPCN7(SRModel):
    """Six [3x3 conv, activation, selection unit] blocks at input resolution, then a 3x3 conv to
    out_channels * scale^2 and PixelShuffle. 1,345,996 parameters at scale 2."""

    arch = "espcn7"

    def __init__(
        self,
        scale: int = 2,
        activation: str = "selu",
        in_channels: int = 3,
        out_channels: int = 3,
    ) -> None:
        super().__init__(locals())
        if scale < 1:
            raise ValueError(f"ESPCN7: scale must be >= 1, got {scale}")
        self.scale = scale
        self.offset = 0
        self.context = len(WIDTHS) + 1
        blocks: list[nn.Module] = []
        for c_in, c_out in zip((in_channels, *WIDTHS[:-1]), WIDTHS, strict=True):
            blocks += [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                make_activation(activation, c_out),
                SelectionUnit(c_out),
            ]
        self.body = nn.Sequential(*blocks)
        self.upsample = nn.Sequential(
            nn.Conv2d(WIDTHS[-1], out_channels * scale**2, 3, padding=1), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.body(x))
