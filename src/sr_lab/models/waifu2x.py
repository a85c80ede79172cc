"""waifu2x's two networks, layer for layer: Vgg_7 and Upconv_7 (unpadded 3x3 convolutions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sr_lab.models.base import SRModel


def unpadded_stack(widths: list[int], activate_last: bool) -> nn.Sequential:
    """3x3 'valid' convolutions through ``widths``, each followed by LeakyReLU(0.1)."""
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Conv2d(c_in, c_out, 3))
        if activate_last or i < len(widths) - 2:
            layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


class Vgg7(SRModel):
    """waifu2x Vgg_7: seven valid 3x3 convs, 290,467 parameters, offset 7.

    At ``scale=2`` the input is first upscaled 2x by nearest neighbour (waifu2x's "Box"), so
    one 2x pixel depends on 4 input pixels each side; at ``scale=1`` it is a denoiser.
    """

    arch = "vgg7"
    channels_last_cpu = True

    def __init__(self, scale: int = 2, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__(locals())
        if scale not in (1, 2):
            raise ValueError(f"Vgg7: scale must be 1 or 2, got {scale}")
        self.scale = scale
        self.offset = 7
        self.context = 7 if scale == 1 else 4
        self.body = unpadded_stack([in_channels, 32, 32, 64, 64, 128, 128, out_channels], False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale != 1:
            x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.body(x)


class Upconv7(SRModel):
    """waifu2x Upconv_7: six valid 3x3 convs then a 4x4 stride-2 transposed conv (2x).

    552,480 parameters; output is 2*in - 28 (offset 14). Upstream the transposed conv has no
    bias; ``deconv_bias=True`` accepts older model files that carry one.
    """

    arch = "upconv7"
    channels_last_cpu = True

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, deconv_bias: bool = False
    ) -> None:
        super().__init__(locals())
        self.scale = 2
        self.offset = 14
        self.context = 7
        self.body = unpadded_stack([in_channels, 16, 32, 64, 128, 128, 256], True)
        self.upsample = nn.ConvTranspose2d(
            256, out_channels, 4, stride=2, padding=3, bias=deconv_bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.body(x))
