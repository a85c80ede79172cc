"""Losses against hand-computed values; the Huber clamp passes gradients straight through."""

from __future__ import annotations

import math

import pytest
import torch

from sr_lab.losses import ClippedWeightedHuber
from sr_lab.schedules import constant, cosine, step, waifu2x

W = (3 * 0.29891, 3 * 0.58661, 3 * 0.11448)


def test_huber_rgb_by_hand() -> None:
    # per channel: one small error (quadratic) and one large (linear), one clamped output
    sr = torch.tensor([[0.52, 0.9], [0.5, 1.4], [0.45, -0.3]]).view(1, 3, 1, 2)
    hr = torch.tensor([[0.5, 0.5], [0.5, 0.8], [0.5, 0.2]]).view(1, 3, 1, 2)
    d = [W[0] * 0.02, W[0] * 0.4, 0.0, W[1] * 0.2, W[2] * -0.05, W[2] * -0.2]
    expected = [0.5 * x * x if abs(x) < 0.1 else 0.1 * (abs(x) - 0.05) for x in d]
    loss = ClippedWeightedHuber()(sr, hr)
    assert math.isclose(loss.item(), sum(expected) / 6, rel_tol=1e-6)


def test_huber_y_has_unit_weight() -> None:
    sr, hr = torch.full((1, 1, 2, 2), 0.55), torch.full((1, 1, 2, 2), 0.5)
    assert math.isclose(ClippedWeightedHuber()(sr, hr).item(), 0.5 * 0.05**2, rel_tol=1e-5)


def test_huber_gradient_passes_the_clamp() -> None:
    sr = torch.tensor([1.3, -0.2, 0.5]).view(1, 1, 1, 3).requires_grad_()
    hr = torch.tensor([0.9, 0.1, 0.5]).view(1, 1, 1, 3)
    ClippedWeightedHuber()(sr, hr).backward()
    # d = (0.1, -0.1, 0): linear (slope 0.1) at the clamped pixels, zero where equal, / 3 pixels
    assert torch.allclose(sr.grad.flatten(), torch.tensor([0.1, -0.1, 0.0]) / 3, atol=1e-7)


def test_huber_rejects_bad_delta() -> None:
    with pytest.raises(ValueError, match="delta must be > 0"):
        ClippedWeightedHuber(delta=0)


def factors(make, steps: list[int], **kwargs) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = make(optimizer, total_steps=100, samples_per_step=16, **kwargs)
    return [scheduler.lr_lambdas[0](s) for s in steps]


def test_schedules() -> None:
    assert factors(constant, [0, 50]) == [1.0, 1.0]
    assert factors(waifu2x, [0, 1000], decay=3e-7) == [1.0, 1 / (1 + 3e-7 * 16_000)]
    assert factors(step, [0, 9, 10, 25], every=10, gamma=0.5) == [1.0, 1.0, 0.5, 0.25]
    start, middle, end = factors(cosine, [0, 50, 100], min_ratio=0.1)
    assert (start, end) == (1.0, pytest.approx(0.1)) and middle == pytest.approx(0.55)
    with pytest.raises(ValueError, match="decay must be >= 0"):
        factors(waifu2x, [0], decay=-1)
