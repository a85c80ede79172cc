"""The model shipped inside the package: its file, its output and its card's scores."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import ROOT, run_module
from sr_lab import models
from sr_lab.evaluate import evaluate
from sr_lab.inference import upscale_image

DATA = ROOT / "tests" / "data"


def card() -> dict:
    """The model card's YAML front matter (between the first two ``---`` lines)."""
    text = models.builtin_path().with_suffix(".md").read_text()
    return yaml.safe_load(text.split("---\n")[1])


def assert_matches_reference(image: Image.Image) -> None:
    """Equal to the stored output up to one 8-bit step on a few pixels (float rounding differs
    between CPUs' kernels before the 8-bit quantisation)."""
    reference = np.asarray(Image.open(DATA / "builtin_out.png"), dtype=np.int16)
    got = np.asarray(image, dtype=np.int16)
    assert got.shape == reference.shape == (64, 64, 3)
    difference = np.abs(got - reference)
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_builtin_file_is_the_one_the_card_describes() -> None:
    path = models.builtin_path()
    meta = card()
    assert path.name == meta["file"] and path.stat().st_size <= 5 * 2**20
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    model = models.load(models.BUILTIN)
    assert (model.arch, model.scale, model.in_channels, model.out_channels) == ("dcscn", 2, 3, 3)
    assert sum(p.numel() for p in model.parameters()) == meta["parameters"] == 538_353


def test_builtin_output_matches_the_stored_reference() -> None:
    model = models.load(models.BUILTIN)
    assert_matches_reference(upscale_image(model, Image.open(DATA / "builtin_in.png")))


def test_upscale_uses_the_builtin_model_without_weights(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    done = run_module("sr_lab.upscale", DATA / "builtin_in.png", "-o", out)
    assert done.returncode == 0, done.stderr
    assert_matches_reference(Image.open(out))
    refused = run_module("sr_lab.upscale", DATA / "builtin_in.png", "-o", out, "--noise", "1")
    assert refused.returncode == 2 and "builtin is not a noise level 1 model" in refused.stderr


@pytest.mark.parametrize("protocol", ["paper", "waifu2x"])
def test_builtin_set5_scores_are_the_cards(
    compose_evaluate, datasets_dir: Path, tmp_path: Path, protocol: str
) -> None:
    where = {"paths.data_root": datasets_dir, "inference.exact": "false"}  # as the card's command
    cfg = compose_evaluate(weights="builtin", dataset="[Set5]", protocol=protocol, **where)
    mean = evaluate(cfg)["datasets"]["Set5"]["builtin"]["mean"]
    expected = card()["scores"][protocol]["Set5"]
    assert mean["psnr"] == pytest.approx(expected["psnr"], abs=5e-4)
    assert mean["ssim"] == pytest.approx(expected["ssim"], abs=5e-5)
