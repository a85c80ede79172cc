"""Output paths are checked before any work: suffixes, collisions, inputs, files in the way,
unwritable folders; stale temporary files are removed; a failed write fails only its image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_module
from sr_lab import models


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder of two small images and the arguments for a fast random-weights model."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (12, 10), (30, 90, 200)).save(folder / name)
    weights = tmp_path / "vgg7.pt"
    models.save(models.build("vgg7"), weights)
    return folder, ["--weights", str(weights)]


def upscale(*args) -> tuple[int, str]:
    done = run_module("sr_lab.upscale", *args)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_bad_outputs_are_refused_before_any_work(setup, tmp_path: Path) -> None:
    folder, weights = setup
    Image.new("RGB", (12, 10)).save(folder / "a.jpg")
    (tmp_path / "file").write_text("a regular file")
    cases = [
        ([folder / "b.png", "-o", tmp_path / "out.gif"], "must end in .png or .webp"),
        ([folder / "b.png", "-o", tmp_path / "out.jpg"], "must end in .png or .webp"),
        ([folder / "b.png", folder / "a.png", "-o", tmp_path / "o.png"], "need an output folder"),
        ([folder, "-o", tmp_path / "out"], "would both write"),
        ([folder / "b.png", "-o", folder / "b.png"], "is an input image"),
        ([folder / "b.png", "-o", tmp_path / "file" / "o.png"], "is a file, so"),
    ]
    for args, message in cases:
        status, out = upscale(*args, *weights)
        assert status == 2 and message in out and "Traceback" not in out, (args, out)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.gif").exists()
    assert (folder / "b.png").stat().st_size > 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_unwritable_folder_is_refused(setup, tmp_path: Path) -> None:
    folder, weights = setup
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    status, out = upscale(folder / "a.png", "-o", locked / "o.png", *weights)
    assert status == 2 and "is not writable" in out


def test_stale_temporary_files_are_removed(setup, tmp_path: Path) -> None:
    folder, weights = setup
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".a.png.k3j2h1.tmp"
    stale.write_bytes(b"half an image from an interrupted run")
    status, text = upscale(folder, "-o", out, *weights)
    assert status == 0, text
    assert not stale.exists() and sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
