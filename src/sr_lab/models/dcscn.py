"""DCSCN (Yamanaka et al. 2017) as the seed modified it: exponential filter decay, SELU, wide
reconstruction, sub-pixel upsampler and a global bicubic skip."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sr_lab.models.base import SRModel, make_activation


def decayed_filters(layers: int, first: int, last: int) -> list[int]:
    """n_i = round(first * exp(-alpha * i)), alpha = ln(first / last) / (layers - 1)."""
    if layers < 2:
        return [first] * layers
    alpha = math.log(first / last) / (layers - 1)
    return [round(first * math.exp(-alpha * i)) for i in range(layers)]


def conv_act(c_in: int, c_out: int, kernel: int, activation: str) -> nn.Sequential:
    """A same-padded convolution followed by the named activation."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), make_activation(activation, c_out)
    )


class DCSCN(SRModel):
    """Feature layers whose outputs are all concatenated, a two-branch 1x1/3x3 reconstruction,
    a PixelShuffle upsampler, plus a bicubic upscale of the input (so it learns a residual)."""

    arch = "dcscn"

    def __init__(
        self,
        layers: int = 12,
        first_filters: int = 196,
        last_filters: int = 48,
        recon_filters: int = 128,
        upsampler_filters: int = 32,
        activation: str = "selu",
        scale: int = 2,
        in_channels: int = 3,
        out_channels: int = 3,
    ) -> None:
        super().__init__(locals())
        if in_channels != out_channels:
            raise ValueError("DCSCN: in_channels must equal out_channels (global skip)")
        if layers < 1 or scale < 1 or recon_filters < 2:
            raise ValueError("DCSCN: layers and scale must be >= 1 and recon_filters >= 2")
        self.scale = scale
        self.offset = 0
        # L feature convs + reconstruction 3x3 + upsampler 3x3 at input scale, and one more
        # input pixel for the final 3x3 conv at output scale.
        self.context = layers + 3
        widths = decayed_filters(layers, first_filters, last_filters)
        self.features = nn.ModuleList(
            conv_act(c_in, c_out, 3, activation)
            for c_in, c_out in zip([in_channels, *widths[:-1]], widths, strict=True)
        )
        total = sum(widths)
        half = recon_filters // 2
        self.recon_a = conv_act(total, recon_filters, 1, activation)
        self.recon_b = nn.Sequential(
            conv_act(total, half, 1, activation), conv_act(half, recon_filters, 3, activation)
        )
        self.upsampler = nn.Sequential(
            conv_act(2 * recon_filters, upsampler_filters * scale**2, 3, activation),
            nn.PixelShuffle(scale),
            nn.Conv2d(upsampler_filters, out_channels, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        outputs = []
        h = x
        for layer in self.features:
            h = layer(h)
            outputs.append(h)
        h = torch.cat(outputs, dim=1)
        h = torch.cat([self.recon_a(h), self.recon_b(h)], dim=1)
        return self.upsampler(h) + skip
