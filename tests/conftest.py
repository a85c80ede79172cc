"""Shared fixtures: composed configs, where ../shared lives (skipping cleanly where it does
not), small images the tests make themselves, and the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig
from PIL import Image

from sr_lab.config import CONF_DIR, compose
from sr_lab.data.synthetic import synthetic_illustration

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SR_LAB_SHARED", ROOT.parent / "shared")).resolve()


def run_module(module: str, *args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` in a fresh process, as a user runs it."""
    command = [sys.executable, "-m", module, *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def conf_dir() -> Path:
    """The Hydra config directory the entry points compose from."""
    return CONF_DIR


@pytest.fixture(scope="session")
def compose_train() -> Callable[..., DictConfig]:
    """``compose_train(*overrides)``: conf/train.yaml composed as the CLI would."""
    return lambda *overrides: compose("train", overrides)


@pytest.fixture(scope="session")
def compose_evaluate() -> Callable[..., DictConfig]:
    """``compose_evaluate(key=value, ...)``: conf/evaluate.yaml with those overrides."""
    return lambda **values: compose("evaluate", [f"{k}={v}" for k, v in values.items()])


@pytest.fixture(scope="session")
def waifu2x_dir() -> Path:
    """../shared/waifu2x (weights, images, reference outputs), or skip with the reason."""
    path = SHARED / "waifu2x"
    if not (path / "models").is_dir():
        pytest.skip(f"waifu2x reference data not found at {path} (set SR_LAB_SHARED)")
    return path


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """../shared/datasets (Set5, Set14, BSD100, T91, ...), or skip with the reason."""
    path = Path(os.environ.get("SR_LAB_DATA", SHARED / "datasets"))
    if not (path / "Set5").is_dir():
        pytest.skip(f"benchmark datasets not found at {path} (set SR_LAB_DATA)")
    return path


@pytest.fixture
def toons(tmp_path: Path) -> Path:
    """A folder of three small synthetic illustrations (90, 91 and 92 pixels square)."""
    folder = tmp_path / "toons"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(synthetic_illustration(90 + seed, seed)).save(folder / f"{seed}.png")
    return folder


@pytest.fixture
def random_image() -> Callable[..., Image.Image]:
    """``random_image(mode, size=(13, 10))``: a seeded noise image in L, LA, RGB or RGBA."""

    def make(mode: str, size: tuple[int, int] = (13, 10)) -> Image.Image:
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
        array = np.random.default_rng(0).integers(0, 256, (size[1], size[0], channels))
        array = array.astype(np.uint8)
        return Image.fromarray(array.squeeze(-1) if channels == 1 else array, mode)

    return make
