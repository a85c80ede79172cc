"""A corpus of hostile inputs, generated here, through every command and the Python API.

For each case: the exit status of the contract (0 done, 1 some inputs failed, 2 bad usage,
130 interrupted), one ``error:`` line and no traceback, and nothing partial, zero-byte or
temporary left behind. Commands run in this process (their ``main``), so the corpus is quick.
"""

from __future__ import annotations

import _thread
import contextlib
import resource
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hostile_files import make_corpus
from sr_lab import compare, evaluate, export, models, train, upscale
from sr_lab.bench import main as bench_main
from sr_lab.data.datamodule import decode_shard
from sr_lab.data.sources import FolderSource
from sr_lab.inference import upscale_image
from sr_lab.models import ModelFileError


@pytest.fixture(scope="module")
def d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's files (``hostile_files.make_corpus``)."""
    return make_corpus(tmp_path_factory.mktemp("hostile"))


COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "upscale": upscale.main,
    "compare": compare.main,
    "export": export.main,
    "bench": bench_main,
}


def run_hydra(main: Callable[[], None], argv: list[str]) -> None:
    old = sys.argv
    sys.argv = ["sr_lab", *argv]
    try:
        main()
    finally:
        sys.argv = old


COMMANDS["evaluate"] = lambda argv: run_hydra(evaluate.main, argv)
COMMANDS["train"] = lambda argv: run_hydra(train.main, argv)


@dataclass
class Result:
    status: int
    out: str
    err: str


def call(command: str, argv: list[str], capsys: pytest.CaptureFixture) -> Result:
    """Run one command's ``main`` here, as its console script would, and what it printed."""
    try:
        COMMANDS[command](argv)
        status = 0
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


def leftovers(folder: Path) -> list[Path]:
    """Files nobody should find after a run: zero-byte ones and sr_lab's temporaries."""
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and (p.stat().st_size == 0 or p.suffix == ".tmp")
    ]


@contextlib.contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """Writes past ``size`` bytes fail (EFBIG), as on a full disk, for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@dataclass
class Case:
    """One hostile run: the command, its arguments ({d}: the corpus, {o}: this case's empty
    output folder), the exit status, a text its output must hold, and the images it must
    have written (name under {o}: (width, height[, mode[, value of every pixel]]), RGB unless
    said; ``ID`` is the identity model, so the values are the input's)."""

    command: str
    argv: str
    status: int
    says: str
    writes: dict[str, tuple] | None = None


IN = "{d}/good.png -o {o}/x.png"
W = "--weights {d}/vgg7.pt"
ID = "--weights {d}/identity.pt"
EVAL = "dataset={d}/mixed weights=bicubic hydra.run.dir={o}/run"
EVAL_OK = "dataset={d}/eval weights=bicubic"
TRAIN = "debug=smoke hydra.run.dir={o}/run"
CASES = {
    # model files: each one error line naming the file, before any work
    "json with NaN": Case("upscale", IN + " --weights {d}/nan.json", 2, "nan.json: layer 2: bias"),
    "json with Inf": Case("upscale", IN + " --weights {d}/inf.json", 2, "inf.json: layer 6: bias"),
    "json planes": Case("upscale", IN + " --weights {d}/planes.json", 2, "nInputPlane is 'three'"),
    "json deep": Case("upscale", IN + " --weights {d}/deep.json", 2, "deep.json: "),
    "json cut": Case("upscale", IN + " --weights {d}/truncated.json", 2, "truncated.json: "),
    "json object": Case("upscale", IN + " --weights {d}/object.json", 2, "object.json: "),
    "json empty": Case("upscale", IN + " --weights {d}/empty.json", 2, "empty.json: "),
    "pt with NaN": Case("upscale", IN + " --weights {d}/nan.pt", 2, "has NaN or infinite"),
    "pt bad keys": Case("upscale", IN + " --weights {d}/keys.pt", 2, "config does not build"),
    "pt bad meta": Case("upscale", IN + " --weights {d}/meta.pt", 2, "is not {arch, config}"),
    "pt empty": Case("upscale", IN + " --weights {d}/empty.pt", 2, "empty.pt: "),
    "pt noise": Case("upscale", IN + " --weights {d}/noise.pt", 2, "noise.pt: "),
    "safetensors noise": Case(
        "upscale", IN + " --weights {d}/noise.safetensors", 2, "noise.safetensors: "
    ),
    "no weights file": Case("upscale", IN + " --weights {d}/missing.pt", 2, "missing.pt"),
    "folder of no models": Case("upscale", IN + " --weights {d}/nomodels", 2, "nomodels"),
    "compare NaN model": Case(
        "compare", "synthetic:1 -o {o}/c.png --weights {d}/nan.json", 2, "nan.json"
    ),
    "evaluate NaN model": Case(
        "evaluate", "dataset={d}/mixed weights={d}/nan.pt hydra.run.dir={o}/run", 2, "nan.pt"
    ),
    "export NaN model": Case("export", "{d}/nan.json -o {o}/m.safetensors", 2, "nan.json"),
    "export bad suffix": Case("export", "{d}/vgg7.pt -o {o}/m.zip", 2, "m.zip"),
    # images beyond Pillow's bomb guard: skipped, named, the rest done
    "bomb": Case("upscale", "{d}/bomb.png -o {o}/x.png " + W, 1, "SR_LAB_MAX_PIXELS"),
    "bomb in a folder": Case(
        "upscale", "{d}/mixed -o {o}/out " + W, 1, "2 failed", {"out/good.png": (24, 20)}
    ),
    "compare a bomb": Case("compare", "{d}/bomb.png -o {o}/c.png", 2, "bomb.png"),
    # outputs that cannot be written: refused before work, or the one image fails
    "output under a file": Case("upscale", "{d}/good.png -o {d}/a_file/x.png", 2, "is a file"),
    "folder onto a file": Case("upscale", "{d}/mixed -o {d}/a_file", 2, "a_file"),
    # output names
    "gif output": Case("upscale", "{d}/good.png -o {o}/x.gif", 2, "must end in .png or .webp"),
    "xyz output": Case("upscale", "{d}/good.png -o {o}/x.xyz", 2, "must end in .png or .webp"),
    "jpg output": Case("upscale", "{d}/good.png -o {o}/x.jpg", 2, "must end in .png or .webp"),
    "compare jpg": Case("compare", "synthetic:1 -o {o}/c.jpg", 2, "must end in .png or .webp"),
    "two into one": Case(
        "upscale", "{d}/good.png {d}/one.png -o {o}/x.png", 2, "need an output folder"
    ),
    "two into a .bmp": Case(
        "upscale", "{d}/good.png {d}/one.png -o {o}/x.bmp", 2, "need an output folder"
    ),
    "x.png and x.jpg": Case("upscale", "{d}/twins -o {o}/out", 2, "would both write"),
    "onto the input": Case("upscale", "{d}/good.png -o {d}/good.png", 2, "is an input image"),
    "onto the input, forced": Case(
        "upscale", "{d}/good.png -o {d}/good.png --overwrite", 2, "is an input image"
    ),
    # image content
    "exif rotation": Case(
        "upscale", "{d}/rotated.jpg -o {o}/x.png " + W, 0, "", {"x.png": (20, 24)}
    ),
    "animated gif": Case("upscale", "{d}/anim.gif -o {o}/x.png " + W, 1, "animated (2 frames)"),
    "animated webp": Case("upscale", "{d}/anim.webp -o {o}/x.png " + W, 1, "animated (2 frames)"),
    "float tiff": Case(
        "upscale", "{d}/float.tif -o {o}/x.png " + ID, 0, "", {"x.png": (24, 20, "L", 204)}
    ),
    "16-bit png": Case(
        "upscale",
        "{d}/deep16.png -o {o}/x.png " + ID,
        0,
        "reduced to 8",
        {"x.png": (24, 20, "L", 156)},
    ),
    "text as png": Case("upscale", "{d}/text.png -o {o}/x.png " + W, 1, "text.png"),
    "empty png": Case("upscale", "{d}/empty.png -o {o}/x.png " + W, 1, "empty.png"),
    "cut png": Case("upscale", "{d}/truncated.png -o {o}/x.png " + W, 1, "truncated.png"),
    "1x1 image": Case(
        "upscale", "{d}/one.png -o {o}/x.png " + ID, 0, "", {"x.png": (2, 2, "RGB", [200, 10, 10])}
    ),
    "cmyk profile": Case(
        "upscale", "{d}/cmyk_icc.png -o {o}/x.png " + ID, 0, "", {"x.png": (24, 20)}
    ),
    # values: named, range-checked, before any work
    "tile abc": Case("upscale", IN + " --tile abc", 2, "--tile: invalid int value: 'abc'"),
    "tile 0": Case("upscale", IN + " --tile 0", 2, "--tile and --batch must be >= 1"),
    "batch 0": Case("upscale", IN + " --batch 0", 2, "--tile and --batch must be >= 1"),
    "scale 0": Case("upscale", IN + " --scale 0", 2, "--scale must be > 0, got 0"),
    "scale nan": Case("upscale", IN + " --scale nan", 2, "--scale must be a finite number"),
    "scale inf": Case("upscale", IN + " --scale inf", 2, "--scale must be a finite number"),
    "width 0": Case("upscale", IN + " --width 0", 2, "--width and --height must be >= 1"),
    "tta 3": Case("upscale", IN + " --tta 3", 2, "--tta: invalid choice: 3"),
    "noise 5": Case("upscale", IN + " --noise 5", 2, "--noise: invalid choice: 5"),
    "tile 1": Case(
        "upscale", IN + " --tile 1 " + W, 0, "note: --tile 1 is small", {"x.png": (24, 20)}
    ),
    "compare scale 0": Case("compare", "synthetic:1 -o {o}/c.png --scale 0", 2, "--scale must be"),
    "compare zoom 0": Case("compare", "synthetic:1 -o {o}/c.png --zoom 0", 2, "--zoom must be"),
    "compare crop": Case("compare", "synthetic:1 -o {o}/c.png --crop 1,2", 2, "--crop takes"),
    "evaluate quality abc": Case("evaluate", EVAL + " jpeg_quality=abc", 2, "jpeg_quality must"),
    "evaluate tile abc": Case("evaluate", EVAL + " inference.tile=abc", 2, "tile must be a whole"),
    "evaluate unknown key": Case(
        "evaluate", EVAL + " limit_images=0", 2, "Could not override 'limit_images'"
    ),
    "train unknown key": Case("train", TRAIN + " trainer.max_epoch=3", 2, "max_epoch"),
    "train unknown option": Case("train", TRAIN + " loss=charbonnier", 2, "charbonnier"),
    "train limit 0": Case("train", TRAIN + " data.limit_images=0", 2, "limit_images must be"),
    "train lr abc": Case("train", TRAIN + " optimizer.lr=abc", 2, "optimizer.lr must be a number"),
    "train val_crop 0": Case("train", TRAIN + " data.val_crop=0", 2, "data.val_crop must be >= 4"),
    "train val_crop -1": Case("train", TRAIN + " data.val_crop=-1", 2, "data.val_crop must be"),
    "train seed -1": Case("train", TRAIN + " seed=-1", 2, "seed must be >= 0, got -1"),
    "train jpeg 0..0": Case(
        "train",
        TRAIN + " degradation=jpeg_noise1 degradation.jpeg=[{{first:[0,0]}}]",
        2,
        "within 1..100",
    ),
    "train jpeg 101..150": Case(
        "train",
        TRAIN + " degradation=jpeg_noise1 degradation.jpeg=[{{first:[101,150]}}]",
        2,
        "within 1..100",
    ),
    "bench unknown model": Case("bench", "infer --model srgan", 2, "unknown model 'srgan'"),
    "bench agree, text image": Case("bench", "agree {d}/text.png", 2, "text.png"),
    "resume another network": Case(
        "train", TRAIN + " model=dcscn8 ckpt_path={d}/vgg7.pt", 2, "holds a vgg7"
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_command(name: str, d: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    case = CASES[name]
    out = tmp_path / "o"
    out.mkdir()
    argv = [a.format(d=d, o=out) for a in case.argv.split()]
    result = call(case.command, argv, capsys)
    check(result, case.status, case.says)
    for image, (width, height, *more) in (case.writes or {}).items():
        with Image.open(out / image) as written:
            mode, value = (more + [None])[:2] if more else ("RGB", None)
            assert (*written.size, written.mode) == (width, height, mode), image
            assert "icc_profile" not in written.info  # none fits: no input had an RGB one
            if value is not None:
                assert np.all(np.asarray(written) == value), np.unique(np.asarray(written))
    if case.status == 2:  # refused before any work: nothing written, no run directory
        assert not any(out.iterdir()), list(out.rglob("*"))
    assert not leftovers(out) and not list(d.rglob("*.tmp"))


def check(result: Result, status: int, says: str) -> None:
    """The contract: the status, no traceback, ``says`` in the output, and for bad usage
    exactly one ``error:`` line on stderr (notes aside)."""
    text = result.out + result.err
    assert result.status == status, text
    assert "Traceback" not in text and says in text, text
    errors = [line for line in result.err.splitlines() if line.strip()]
    if status == 2:
        assert len(errors) == 1 and errors[0].startswith("error: "), errors


FULL_DISK = {
    "upscale": ("upscale", IN + " " + W, 1, "failed {o}/x.png: File too large"),
    "compare": ("compare", "synthetic:1 -o {o}/c.png", 1, "{o}/c.png: File too large"),
    "export": ("export", "{d}/vgg7.pt -o {o}/m.safetensors", 1, "m.safetensors: File too large"),
    "evaluate": ("evaluate", EVAL_OK + " hydra.run.dir={o}/run", 1, "results.json: File too large"),
    "train": ("train", TRAIN, 1, "{o}/run: File too large"),
}


@pytest.mark.parametrize("name", FULL_DISK)
def test_a_full_disk_is_one_line_naming_the_file(
    name: str, d: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    command, argv, status, says = FULL_DISK[name]
    with file_size_limit(50):  # below any PNG this writes
        result = call(command, [a.format(d=d, o=tmp_path) for a in argv.split()], capsys)
    check(result, status, says.format(o=tmp_path))
    assert not list(tmp_path.iterdir())  # no partial file, no temporary, no run directory


def test_ctrl_c_is_status_130_and_leaves_nothing(
    d: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (512, 512), (90, 140, 200)).save(big)
    argv = [str(big), "-o", str(tmp_path / "out.png"), "--weights", str(d / "vgg7.pt")]
    timer = threading.Timer(0.5, _thread.interrupt_main)  # a few seconds of 8-pixel tiles
    # Ctrl-C as Python handles it, even where the test runner started with SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        result = call("upscale", [*argv, "--tile", "8"], capsys)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    check(result, 130, "interrupted")
    assert result.err.strip().splitlines()[-1] == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png"]


def test_a_rerun_keeps_what_exists_and_clears_stale_temporaries(
    d: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = [
        str(d / "good.png"),
        str(d / "one.png"),
        "-o",
        str(tmp_path / "out"),
        *W.format(d=d).split(),
    ]
    check(call("upscale", argv, capsys), 0, "upscaled 2 image(s)")
    stale = tmp_path / "out" / ".good.png.k3j2h1.tmp"  # as a kill during a write leaves it
    stale.write_bytes(b"half an image")
    (tmp_path / "out" / "one.png").unlink()
    check(call("upscale", argv, capsys), 0, "upscaled 1 image(s)")
    assert not stale.exists()
    again = call("upscale", argv, capsys)
    check(again, 0, "upscaled 0 image(s)")
    assert "2 kept (existing), 0 failed" in again.out


def test_hostile_python_api_calls(d: Path) -> None:
    with pytest.raises(ModelFileError, match="vgg7.pt: .*config does not build"):
        models.load(d / "vgg7.pt", scale=0)
    with pytest.raises(ModelFileError, match="deep.json"):
        models.load(d / "deep.json")
    model = models.load(d / "vgg7.pt").eval()
    with pytest.raises(ValueError, match="the image is 0x5: nothing to upscale"):
        upscale_image(model, Image.new("RGB", (0, 5)))
    with pytest.raises(ValueError, match="the image is 7x0: nothing to upscale"):
        upscale_image(model, Image.new("L", (7, 0)))
    flat = models.build("vgg7", scale=1).eval()  # a denoiser that passes grey through:
    with torch.no_grad():
        for p in flat.parameters():
            p.zero_()
        for conv in flat.body:
            if isinstance(conv, torch.nn.Conv2d):  # every channel copies the first one
                conv.weight[:, 0, 1, 1] = 1
    assert flat.padding()[0] == 7
    for image, expected in [
        (Image.fromarray(np.full((6, 5), 40000, np.uint16)), round(40000 / 65535 * 255)),
        (Image.fromarray(np.full((6, 5), 1 << 30, np.int32), "I"), 64),
        (Image.fromarray(np.full((6, 5), 0.25, np.float32), "F"), 64),
    ]:
        grey = np.asarray(upscale_image(flat, image))
        assert grey.shape == (6, 5) and np.abs(grey.astype(int) - expected).max() <= 1, image.mode


def test_a_bomb_in_a_training_folder_is_skipped_and_counted(d: Path) -> None:
    source = FolderSource(d / "mixed", val=d / "twins")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable train image\(s\)"):
        images = decode_shard(source, "train", 0, 1)
    assert len(images) == 1 and images[0].shape == (10, 12, 3)
