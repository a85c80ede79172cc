"""Any output size: factors other than 2 and 4, and target widths/heights (API and CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_module
from sr_lab import models
from sr_lab.inference import (
    doublings,
    doublings_to,
    resize_to,
    target_size,
    upscale_image,
    upscale_to_size,
)


def test_target_sizes_and_pass_counts() -> None:
    assert target_size((37, 29), 1.5) == (56, 44)
    assert target_size((1000, 500), width=1920) == (1920, 960)
    assert target_size((1000, 500), height=300) == (600, 300)
    assert target_size((1000, 500), width=1920, height=600) == (1200, 600)  # fits inside both
    assert target_size((3, 3), 0.1) == (1, 1)
    assert [doublings(f) for f in (0.5, 1, 1.01, 2, 2.01, 3, 4, 6, 8.5)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        2,
        3,
        4,
    ]
    assert doublings_to((10, 10), (21, 20)) == 2
    with pytest.raises(ValueError, match="scale must be > 0"):
        target_size((10, 10), 0)
    with pytest.raises(ValueError, match="width and height must be >= 1"):
        target_size((10, 10), width=0)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "vgg7.pt"
    models.save(models.build("vgg7"), path)
    return path


def test_api_is_two_x_then_lanczos(weights: Path, random_image) -> None:
    model = models.load(weights).eval()
    image = random_image("RGB", (23, 17))
    size = target_size(image.size, 1.5)
    out = upscale_to_size([model], image, size)
    reference = upscale_image(model, image).resize(size, Image.Resampling.LANCZOS)
    assert out.size == (35, 26) and np.array_equal(np.asarray(out), np.asarray(reference))


def test_resize_keeps_hidden_colour_out_of_visible_pixels() -> None:
    rgba = np.zeros((8, 16, 4), np.uint8)
    rgba[:, :8] = (255, 0, 0, 0)  # transparent red
    rgba[:, 8:] = (0, 0, 255, 255)  # opaque blue
    out = np.asarray(resize_to(Image.fromarray(rgba, "RGBA"), (6, 3)))
    visible = out[..., 3] > 0
    assert out.shape == (3, 6, 4) and visible[:, -1].all()
    assert out[visible][:, 0].max() <= 2  # no red bleeds into what shows


def test_cli_sizes_are_exact(weights: Path, random_image, tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    random_image("RGBA", (24, 18)).save(source)
    for args, size in [
        (("--scale", "1.5"), (36, 27)),
        (("--scale", "3"), (72, 54)),
        (("--width", "100"), (100, 75)),
        (("--width", "50", "--height", "30"), (40, 30)),
    ]:
        out = tmp_path / f"out_{'_'.join(args)}.png"
        done = run_module("sr_lab.upscale", source, "-o", out, "--weights", weights, *args)
        assert done.returncode == 0, done.stderr
        assert Image.open(out).size == size and Image.open(out).mode == "RGBA"


def test_cli_keeps_alpha_at_any_size(waifu2x_dir: Path, random_image, tmp_path: Path) -> None:
    source, out = tmp_path / "in.png", tmp_path / "out.png"
    rgba = np.asarray(random_image("RGBA", (24, 18))).copy()
    rgba[:, :12, 3], rgba[:, 12:, 3] = 0, 255
    Image.fromarray(rgba, "RGBA").save(source)
    art = waifu2x_dir / "models/upconv_7/art/scale2.0x_model.json"
    done = run_module("sr_lab.upscale", source, "-o", out, "--weights", art, "--scale", "1.5")
    assert done.returncode == 0, done.stderr
    alpha = np.asarray(Image.open(out).getchannel("A"))
    assert alpha.shape == (27, 36) and alpha[:, :14].max() <= 8 and alpha[:, -14:].min() >= 247


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scale", "0"), "--scale must be > 0"),
        (("--scale", "2", "--width", "10"), "give --scale or --width/--height, not both"),
        (("--height", "0"), "--width and --height must be >= 1"),
    ],
)
def test_bad_sizes_fail_before_any_work(weights: Path, tmp_path: Path, args, message) -> None:
    source = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(source)
    done = run_module(
        "sr_lab.upscale", source, "-o", tmp_path / "o.png", "--weights", weights, *args
    )
    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "o.png").exists()
