"""Shared fixtures: where ../shared lives, and skipping cleanly where it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SR_LAB_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def waifu2x_dir() -> Path:
    """../shared/waifu2x (weights, images, reference outputs), or skip with the reason."""
    path = SHARED / "waifu2x"
    if not (path / "models").is_dir():
        pytest.skip(f"waifu2x reference data not found at {path} (set SR_LAB_SHARED)")
    return path
