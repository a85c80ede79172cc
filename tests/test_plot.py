"""Learning curves drawn from a real run's TensorBoard events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_module
from sr_lab.plot import COLOURS, PANEL, read_run


def smoke_run(out: Path, model: str) -> Path:
    """A 3-epoch smoke run, Hydra-style: events, checkpoints and .hydra/config.yaml."""
    args = ["debug=smoke", f"model={model}", "trainer.max_epochs=3", f"hydra.run.dir={out}"]
    result = run_module("sr_lab.train", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smoke_run(tmp_path_factory.mktemp("vgg7"), "vgg7")


def test_read_run_counts_samples_and_minutes(run_dir: Path) -> None:
    curve = read_run(run_dir)
    assert [p[0] for p in curve.points] == [6, 12, 18]  # 3 steps of 2 patches per epoch
    assert all(b >= a for a, b in zip(curve.points, curve.points[1:], strict=False))
    assert curve.label == run_dir.name and curve.bicubic is not None and 20 < curve.bicubic < 40
    assert len({round(p[2], 6) for p in curve.points}) == 3  # the model changed each epoch


def test_plot_command_draws_both_panels(run_dir: Path, tmp_path: Path) -> None:
    other = smoke_run(tmp_path / "upconv7", "upconv7")
    out = tmp_path / "curve.png"
    result = run_module("sr_lab.plot", run_dir, other, "-o", out)
    assert result.returncode == 0, result.stderr
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (PANEL[1], 2 * PANEL[0], 3)
    for colour in COLOURS[:2]:  # both runs' curves are drawn in their colours, in each panel
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        hits = (image == rgb).all(axis=-1)
        assert hits[:, : PANEL[0]].sum() > 20 and hits[:, PANEL[0] :].sum() > 20


def test_not_a_run_is_one_error_line(tmp_path: Path) -> None:
    result = run_module("sr_lab.plot", tmp_path, "-o", tmp_path / "curve.png")
    assert result.returncode == 2 and not (tmp_path / "curve.png").exists()
    assert (
        result.stderr.strip()
        == f"error: {tmp_path}: not a training run (needs tensorboard/ and .hydra/config.yaml)"
    )
