"""The upscale command end to end, through a subprocess, on waifu2x's sample images."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_module
from sr_lab import models


def upscale(*args: str | Path) -> subprocess.CompletedProcess:
    return run_module("sr_lab.upscale", *args)


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A waifu2x-style model folder made here, with a 2x and a noise-1 2x model only."""
    folder = tmp_path / "upconv_7_made"
    folder.mkdir()
    for name in ("scale2.0x_model.json", "noise1_scale2.0x_model.json"):
        models.write_waifu2x_json(models.build("upconv7"), folder / name)
    return folder


@pytest.fixture(scope="module")
def art(waifu2x_dir: Path) -> Path:
    return waifu2x_dir / "models" / "upconv_7" / "art"


def test_matches_the_waifu2x_reference(waifu2x_dir: Path, art: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    source = waifu2x_dir / "images" / "miku_small_noisy.png"
    result = upscale(source, "-o", out, "--weights", art, "--noise", "1", "--tile", "64")
    assert result.returncode == 0, result.stderr
    assert "upscaled 1 image(s)" in result.stdout
    reference = (
        waifu2x_dir / "reference_outputs/miku_small_noisy__upconv_7_art_noise1_scale2.0x.png"
    )
    diff = np.abs(np.asarray(Image.open(out), int) - np.asarray(Image.open(reference), int))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.999


def test_folder_with_rgba_grey_and_a_broken_file(waifu2x_dir: Path, art: Path, tmp_path: Path):
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    rgba = Image.open(waifu2x_dir / "images" / "tone.png")
    rgba.save(source / "tone.png")
    grey = (
        Image.open(waifu2x_dir / "images" / "miku_small_noisy.png")
        .convert("L")
        .crop((0, 0, 64, 48))
    )
    grey.save(source / "sub" / "grey.png")
    deep = (np.asarray(grey, np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(source / "sub" / "deep.png")
    (source / "broken.png").write_bytes(b"not a png")
    result = upscale(source, "-o", tmp_path / "out", "--weights", art, "--tta", "2")
    assert result.returncode == 1
    assert "broken.png" in result.stdout + result.stderr
    assert "upscaled 3 image(s)" in result.stdout and "0 kept (existing), 1 failed" in result.stdout
    assert "deep.png has more than 8 bits per sample; reduced to 8" in result.stdout
    tone = Image.open(tmp_path / "out" / "tone.png")
    assert (tone.mode, tone.size) == ("RGBA", (2 * rgba.width, 2 * rgba.height))
    grey_out = Image.open(tmp_path / "out" / "sub" / "grey.png")
    assert (grey_out.mode, grey_out.size) == ("L", (128, 96))
    deep_out = np.asarray(Image.open(tmp_path / "out" / "sub" / "deep.png"))
    assert np.array_equal(deep_out, np.asarray(grey_out))  # 16-bit v*257 keeps v as 8-bit
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_scale_4_and_overwrite(waifu2x_dir: Path, art: Path, tmp_path: Path) -> None:
    source = tmp_path / "small.png"
    Image.open(waifu2x_dir / "images" / "miku_small_noisy.png").crop((0, 0, 40, 30)).save(source)
    out = tmp_path / "big.webp"
    assert upscale(source, "-o", out, "--weights", art, "--scale", "4").returncode == 0
    assert Image.open(out).size == (160, 120) and Image.open(out).format == "WEBP"
    again = upscale(source, "-o", out, "--weights", art, "--scale", "4")
    assert again.returncode == 0 and "it exists (--overwrite replaces it)" in again.stdout
    assert "1 kept (existing), 0 failed" in again.stdout
    flags = ["--overwrite", "--exact", "--bf16", "--channels-last"]
    forced = upscale(source, "-o", out, "--weights", art, "--scale", "4", *flags)
    assert forced.returncode == 0 and Image.open(out).size == (160, 120)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--noise", "2"],
            "has no noise level 2 model noise2_scale2.0x_model.json "
            "(it has: noise1_scale2.0x_model.json, scale2.0x_model.json)",
        ),
        (["--model", "vgg7"], "--model vgg7 but"),
        (["--scale", "1"], "--scale 1 only denoises"),
        (["--tile", "0"], "--tile and --batch must be >= 1"),
    ],
)
def test_wrong_options_fail_before_any_work(
    waifu2x_dir: Path, model_folder: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    weights = model_folder if "--noise" in extra else model_folder / "scale2.0x_model.json"
    source = waifu2x_dir / "images" / "miku_small_noisy.png"
    result = upscale(source, "-o", tmp_path / "out.png", "--weights", weights, *extra)
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out.png").exists()


def test_ctrl_c_is_one_line_and_status_130(tmp_path: Path) -> None:
    source = tmp_path / "big.png"
    Image.new("RGB", (1200, 1200), (90, 140, 200)).save(source)
    weights = tmp_path / "dcscn12.pt"
    models.save(models.build("dcscn12"), weights)
    command = [sys.executable, "-m", "sr_lab.upscale", source, "-o", tmp_path / "out.png"]
    terminal, stderr = pty.openpty()  # a terminal, so the tiles' progress bar shows at once
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    job = subprocess.Popen(
        [*map(str, command), "--weights", str(weights), "--tile", "64"],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        # a shell's background job starts with SIGINT ignored; Ctrl-C must reach this one
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(stderr)
    seen = b""  # wait until the tiles' progress bar shows: the work has started
    while b"big.png" not in seen:
        seen += os.read(terminal, 4096)
    job.send_signal(signal.SIGINT)
    assert job.wait(timeout=60) == 130
    with contextlib.suppress(OSError):  # the terminal's end reads as an error once it closes
        while chunk := os.read(terminal, 4096):
            seen += chunk
    os.close(terminal)
    err = seen.decode(errors="replace")
    assert err.strip().splitlines()[-1].strip().endswith("interrupted")
    assert "Traceback" not in err and not (tmp_path / "out.png").exists()


def test_help_lists_every_option() -> None:
    result = upscale("--help")
    assert result.returncode == 0
    for option in (
        "--weights",
        "--scale",
        "--noise",
        "--tile",
        "--batch",
        "--tta",
        "--device",
        "--format",
        "--overwrite",
    ):
        assert option in result.stdout


def test_denoise_only_with_a_vgg7_folder(waifu2x_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.png"
    args = ["--weights", waifu2x_dir / "models/vgg_7/art", "--scale", "1", "--noise", "1"]
    result = upscale(waifu2x_dir / "images/miku_noisy.png", "-o", out, *args)
    assert result.returncode == 0, result.stderr
    reference = waifu2x_dir / "reference_outputs/miku_noisy__vgg_7_art_noise1.png"
    diff = np.abs(np.asarray(Image.open(out), int) - np.asarray(Image.open(reference), int))
    assert diff.shape == (279, 400, 3) and diff.max() <= 1 and (diff == 0).mean() >= 0.999
