"""The metric core: known PSNR/SSIM values, shaving, Y vs RGB, and training's metric giving the
evaluator's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sr_lab.data.colour import rgb_to_y
from sr_lab.data.image import quantize
from sr_lab.metrics import planes, score, ssim
from sr_lab.protocols import SRMetrics, get_protocol


def batch(seed: int = 0, size: int = 96, count: int = 2) -> torch.Tensor:
    """8-bit-valued images in [0, 0.8], as decoded files give them."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 205, (count, 3, size, size), generator=g).double() / 255


def test_matlab_y_values() -> None:
    rgb = torch.tensor([[255.0, 0, 255], [255, 0, 0], [255, 0, 0]]).double().view(1, 3, 1, 3) / 255
    assert torch.allclose(rgb_to_y(rgb, 255.0), torch.tensor([235.0, 16.0, 81.481]).double())
    assert torch.allclose(planes(rgb)[0, 0, 0], torch.tensor([235.0, 16.0, 81.481]).double())


def test_psnr_of_a_constant_error() -> None:
    hr = batch()
    rgb = score(hr + 10 / 255, hr, channels="rgb")
    assert rgb["psnr"].tolist() == pytest.approx([20 * math.log10(25.5)] * 2, abs=1e-9)
    y = score(hr + 10 / 255, hr)  # Y moves by 10 * 219 / 255 in every pixel
    assert y["psnr"].tolist() == pytest.approx([-20 * math.log10(10 * 219 / 255**2)] * 2)
    assert all(0 < v < 1 for v in (*y["ssim"].tolist(), *y["ms_ssim"].tolist()))


def test_ssim_is_basicsr_valid_window_ssim() -> None:
    """Against BasicSR's formula written out in numpy over every 11x11 window."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 255, (16, 17))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for y in range(16 - 10):
        for x in range(17 - 10):
            pa, pb = a[y : y + 11, x : x + 11], b[y : y + 11, x : x + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * pa * pa).sum() - ma**2, (w * pb * pb).sum() - mb**2
            cov = (w * pa * pb).sum() - ma * mb
            values.append(
                (2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    to_plane = lambda p: torch.from_numpy(p)[None, None]  # noqa: E731
    assert float(ssim(to_plane(a), to_plane(b))[0]) == pytest.approx(np.mean(values), abs=1e-12)
    assert float(ssim(to_plane(a), to_plane(a))[0]) == pytest.approx(1.0)


def test_shave_ignores_the_border_and_psnr_averages_per_image() -> None:
    hr = torch.full((2, 1, 96, 96), 0.5, dtype=torch.float64)
    sr = hr.clone()
    sr[..., :2, :] = 1.0  # a wrong border, removed by shave=2
    sr[0, ..., 40, 40] += 0.1  # one wrong pixel in each image, of different sizes
    sr[1, ..., 40, 40] += 0.2
    per_image = [-10 * math.log10(e**2 / (92 * 92)) for e in (0.1, 0.2)]
    assert score(sr, hr, shave=2)["psnr"].tolist() == pytest.approx(per_image)
    clean = score(hr.clone().index_fill_(2, torch.tensor([0]), 1), hr, shave=2)
    assert math.isinf(clean["psnr"][0]) and clean["ssim"][0] == pytest.approx(1.0)


def test_ms_ssim_is_nan_below_80_pixels() -> None:
    small = batch(size=79, count=1)
    assert math.isnan(score(small, small)["ms_ssim"][0])
    assert score(batch(size=80, count=1), batch(size=80, count=1))["ms_ssim"][0] == 1.0


def test_training_metric_gives_the_evaluators_numbers() -> None:
    """SRMetrics (val/*) and Protocol.score (sr_lab.evaluate) on the same images: the float SR
    rounded to 8 bits as the upscaler saves it."""
    hr = batch(1)
    noise = torch.randn(hr.shape, generator=torch.Generator().manual_seed(2)) * 0.03
    sr = (hr + noise).clamp(0, 1).float()
    logged = {}
    for name in ("paper", "waifu2x"):
        metric = SRMetrics(protocol=name, scale=2)
        metric.update(sr, hr.float())
        logged[name] = {k: float(v) for k, v in metric.compute().items()}
        files = [
            (quantize(s).permute(1, 2, 0).numpy(), quantize(h.float()).permute(1, 2, 0).numpy())
            for s, h in zip(sr, hr, strict=True)
        ]
        scores = [get_protocol(name).score(s, h, 2) for s, h in files]
        for key in ("psnr", "ssim", "ms_ssim"):
            expected = np.mean([s[key] for s in scores])
            assert logged[name][key] == pytest.approx(expected, abs=1e-9)
    assert logged["paper"]["psnr"] != pytest.approx(logged["waifu2x"]["psnr"], abs=1e-3)


def test_bad_channels_and_protocol() -> None:
    with pytest.raises(ValueError, match="metrics.channels must be y or rgb"):
        SRMetrics(channels="ycbcr")
    with pytest.raises(ValueError, match="unknown protocol 'psnr'"):
        SRMetrics(protocol="psnr")
