"""Validation metrics: known PSNR values, shaving, Y vs RGB, MS-SSIM on 96-pixel images."""

from __future__ import annotations

import math

import pytest
import torch

from sr_lab.metrics import SRMetrics


def scores(metrics: SRMetrics, sr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
    metrics.update(sr, hr)
    return {k: v.item() for k, v in metrics.compute().items()}


def test_psnr_of_a_constant_error() -> None:
    hr = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0)) * 0.8
    rgb = scores(SRMetrics("rgb", shave=0), hr + 0.1, hr)
    assert rgb["psnr"] == pytest.approx(20.0, abs=1e-4)
    y = scores(SRMetrics("y", shave=0), hr + 0.1, hr)  # Y moves by 0.1 * 219 / 255
    assert y["psnr"] == pytest.approx(-20 * math.log10(0.1 * 219 / 255), abs=1e-3)
    assert 0 < y["ms_ssim"] <= 1 and 0 < y["ssim"] <= 1


def test_shave_ignores_the_border_and_psnr_averages_per_image() -> None:
    hr = torch.full((2, 1, 96, 96), 0.5)
    sr = hr.clone()
    sr[..., :2, :] = 1.0  # a wrong border, removed by shave=2
    sr[0, ..., 40, 40] += 0.1  # one wrong pixel in each image, of different sizes
    sr[1, ..., 40, 40] += 0.2
    per_image = [-10 * math.log10(e**2 / (92 * 92)) for e in (0.1, 0.2)]
    result = scores(SRMetrics("y", shave=2), sr, hr)
    assert result["psnr"] == pytest.approx(sum(per_image) / 2, abs=1e-3)
    clean = scores(SRMetrics("y", shave=2), hr.clone().index_fill_(2, torch.tensor([0]), 1), hr)
    assert math.isinf(clean["psnr"]) and clean["ssim"] == pytest.approx(1.0)


def test_bad_channel() -> None:
    with pytest.raises(ValueError, match="metrics.channel must be 'y' or 'rgb'"):
        SRMetrics("ycbcr")
