"""Training losses: L1, MSE and waifu2x's clipped weighted Huber."""

from __future__ import annotations

import torch
from torch import nn

# waifu2x weights RGB errors by luma contribution, times 3 so the weights sum to about 1 per px
WAIFU2X_RGB_WEIGHTS = (3 * 0.29891, 3 * 0.58661, 3 * 0.11448)


def clamp_straight_through(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp in the forward pass, identity in the backward pass (as waifu2x's clip layer)."""
    return x + (x.clamp(low, high) - x).detach()


class ClippedWeightedHuber(nn.Module):
    """waifu2x's ClippedWeightedHuberCriterion: d = w * (clamp(sr, 0, 1) - hr),
    loss = mean(0.5 d^2 where |d| < delta, else delta (|d| - delta / 2)), delta = 0.1.

    ``w`` is waifu2x's RGB luma weights for 3 channels and 1 for a Y-channel model.
    """

    def __init__(self, delta: float = 0.1) -> None:
        super().__init__()
        if delta <= 0:
            raise ValueError(f"huber delta must be > 0, got {delta}")
        self.delta = delta
        self.register_buffer("rgb_weights", torch.tensor(WAIFU2X_RGB_WEIGHTS).view(1, 3, 1, 1))

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        d = clamp_straight_through(sr, 0.0, 1.0) - hr
        if d.shape[1] == 3:
            d = d * self.rgb_weights.to(d.dtype)
        a = d.abs()
        quadratic = 0.5 * d * d
        linear = self.delta * (a - 0.5 * self.delta)
        return torch.where(a < self.delta, quadratic, linear).mean()
