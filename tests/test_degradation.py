"""Degradations: sizes, that every filter and quality range is really used, determinism."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from sr_lab.data.degradation import FILTERS, JpegChain, jpeg_roundtrip, make_degradation
from sr_lab.data.synthetic import synthetic_illustration

CONF = Path(__file__).resolve().parents[1] / "conf"
HR = synthetic_illustration(64, seed=3)


def preset(name: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return instantiate(compose("train", overrides=[f"degradation={name}"]).degradation)


def resized(filter_name: str) -> np.ndarray:
    return np.asarray(Image.fromarray(HR).resize((32, 32), FILTERS[filter_name]))


def matching_jpeg(lr: np.ndarray, base: np.ndarray) -> tuple[int, int] | None:
    """The (quality, subsampling) whose single JPEG round trip of ``base`` gives ``lr``."""
    for quality in range(1, 101):
        for sub in (0, 2):
            if np.array_equal(np.asarray(jpeg_roundtrip(Image.fromarray(base), quality, sub)), lr):
                return quality, sub
    return None


def test_every_preset_composes() -> None:
    names = sorted(p.stem for p in (CONF / "degradation").glob("*.yaml"))
    assert names == sorted(
        ["bicubic", "random_resample", "jpeg_noise1", "jpeg_noise1_bicubic", "jpeg_noise2"]
        + [f"waifu2x_art_noise{i}" for i in range(4)]
    )
    for name in names:
        degradation = preset(name)
        assert degradation.name == name and degradation.scale == 2


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_pil_resize(name: str) -> None:
    degradation = make_degradation(filters=[name])
    lr = degradation(HR, np.random.default_rng(0))
    assert lr.shape == (32, 32, 3) and np.array_equal(lr, resized(name))


def test_random_resample_draws_all_three_filters() -> None:
    degradation = preset("random_resample")
    outputs = {name: resized(name) for name in ("bilinear", "bicubic", "lanczos")}
    used = Counter()
    for seed in range(60):
        lr = degradation(HR, np.random.default_rng(seed))
        used.update(n for n, out in outputs.items() if np.array_equal(out, lr))
    assert set(used) == set(outputs) and sum(used.values()) == 60
    assert min(used.values()) >= 10


@pytest.mark.parametrize(
    ("name", "low", "high"), [("jpeg_noise1", 75, 95), ("jpeg_noise2", 50, 75)]
)
def test_jpeg_quality_is_drawn_from_the_range(name: str, low: int, high: int) -> None:
    assert preset(name).noise.chains[0].first == (low, high)
    degradation = make_degradation(filters=["bicubic"], jpeg=[{"first": [low, high]}])
    base = resized("bicubic")
    qualities, subsamplings = [], set()
    for seed in range(12):
        found = matching_jpeg(degradation(HR, np.random.default_rng(seed)), base)
        assert found is not None
        qualities.append(found[0])
        subsamplings.add(found[1])
    assert low <= min(qualities) and max(qualities) <= high and len(set(qualities)) >= 5
    assert subsamplings == {0, 2}


def test_nr_rate_is_the_share_of_noisy_pairs() -> None:
    degradation = preset("waifu2x_art_noise1")
    assert degradation.nr_rate == 0.65 and preset("waifu2x_art_noise3").nr_rate == 1.0
    base = resized("bicubic")
    clean = sum(
        np.array_equal(degradation(HR, np.random.default_rng(seed)), base) for seed in range(300)
    )
    assert abs(clean / 300 - 0.35) < 0.08


def test_waifu2x_noise2_chains() -> None:
    chains = preset("waifu2x_art_noise2").noise.chains
    assert [c.p for c in chains] == [0.6, 0.3, 0.1]
    rng = np.random.default_rng(0)
    for chain, first in zip(chains, [(27, 70), (37, 70), (52, 70)], strict=True):
        drawn = np.array([chain.qualities(rng) for _ in range(400)])
        assert (drawn[:, 0].min(), drawn[:, 0].max()) == first
        for k, (lo, hi) in enumerate(chain.then, start=1):
            drops = drawn[:, 0] - drawn[:, k]
            assert (drops.min(), drops.max()) == (lo, hi)
    assert JpegChain(1.0, (52, 70), ((5, 15), (15, 25))).qualities(rng)[0] >= 52


def test_draws_are_a_function_of_the_generator() -> None:
    degradation = preset("waifu2x_art_noise3")
    a = degradation(HR, np.random.default_rng([1, 2, 3]))
    b = degradation(HR, np.random.default_rng([1, 2, 3]))
    c = degradation(HR, np.random.default_rng([1, 2, 4]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_noise_only_keeps_size() -> None:
    lr = make_degradation(scale=1, jpeg=[{"first": [50, 50]}])(HR, np.random.default_rng(0))
    assert lr.shape == HR.shape


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": ["cubic"]}, "unknown filter"),
        ({"scale": 0}, "scale must be >= 1"),
        ({"nr_rate": 1.5}, r"nr_rate must be in \[0, 1\]"),
    ],
)
def test_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_degradation(**kwargs)
