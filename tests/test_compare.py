"""Comparison images: layout, labels with PSNR, one command for two training runs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from conftest import run_module
from sr_lab import models
from sr_lab.compare import compare, load_hr
from sr_lab.drawing import label


def test_strip_has_lr_bicubic_models_and_truth(tmp_path: Path) -> None:
    for name in ("a", "b"):
        models.save(models.build("vgg7"), tmp_path / f"{name}.pt")
    hr = load_hr("synthetic:3")
    strip = compare(hr, [str(tmp_path / "a.pt"), str(tmp_path / "b.pt")], crop=(10, 20, 40), zoom=3)
    top = label(120, "title", "detail").height
    assert strip.size == (5 * 120, 120 + top) and top == 33
    truth = np.asarray(strip)[top:, 4 * 120 :]
    expected = hr.crop((10, 20, 50, 60)).resize((120, 120), Image.Resampling.NEAREST)
    assert np.array_equal(truth, np.asarray(expected))


def test_cli_compares_two_runs_and_rejects_bad_crops(tmp_path: Path) -> None:
    for name in ("run1", "run2"):
        models.save(models.build("upconv7"), tmp_path / f"{name}.pt")
    out = tmp_path / "cmp.png"
    args = [
        "synthetic:5",
        "--weights",
        str(tmp_path / "run1.pt"),
        str(tmp_path / "run2.pt"),
        "-o",
        str(out),
        "--crop",
        "0,0,64",
    ]
    result = run_module("sr_lab.compare", *args)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (5 * 128, 128 + label(128, "t", "d").height)
    bad = run_module("sr_lab.compare", *args[:-1], "380,0,64")
    assert bad.returncode == 2 and "does not fit the 384x384 image" in bad.stderr


def test_bad_values_are_one_line(tmp_path: Path) -> None:
    for args, message in [
        (["--scale", "0"], "error: --scale must be >= 2, got 0"),
        (["--zoom", "0"], "error: --zoom must be 1..16, got 0"),
        (["--crop", "1,2"], "error: --crop takes X,Y,SIZE (whole numbers), got '1,2'"),
        (["--crop", "a,b,c"], "error: --crop takes X,Y,SIZE (whole numbers), got 'a,b,c'"),
    ]:
        result = run_module("sr_lab.compare", "synthetic:1", "-o", tmp_path / "c.png", *args)
        assert result.returncode == 2 and result.stderr.strip() == message
    assert not (tmp_path / "c.png").exists()
    result = run_module("sr_lab.compare", "synthetic:1", "-o", tmp_path / "c.jpg")
    assert result.returncode == 2 and "must end in .png or .webp" in result.stderr
    assert not (tmp_path / "c.jpg").exists()
