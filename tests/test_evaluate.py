"""Evaluation protocols and the evaluate command: known values, published numbers, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_module
from sr_lab import models
from sr_lab.cli import progress
from sr_lab.data.degradation import make_degradation
from sr_lab.data.image import ImageError
from sr_lab.data.synthetic import synthetic_illustration
from sr_lab.evaluate import evaluate, markdown_table, write_outputs
from sr_lab.metrics import ssim
from sr_lab.models import ModelFileError
from sr_lab.protocols import get_protocol


@pytest.fixture
def config(compose_evaluate):
    return compose_evaluate


@pytest.fixture
def folder(toons: Path) -> Path:
    return toons


def test_protocols_differ_as_documented() -> None:
    hr = np.full((32, 32, 3), 100, np.uint8)
    sr = hr.copy()
    sr[0, :, :] = 110  # an error on the border row only
    paper, waifu2x = get_protocol("paper"), get_protocol("waifu2x")
    assert math.isinf(paper.score(sr, hr, 2)["psnr"])  # shaved away
    assert waifu2x.score(hr, hr, 2)["psnr"] == pytest.approx(10 * math.log10(255**2))  # MSE floor
    assert get_protocol("waifu2x").crop_hr(Image.new("RGB", (31, 30)), 2).size == (28, 28)
    assert get_protocol("paper").crop_hr(Image.new("RGB", (31, 30)), 2).size == (30, 30)
    with pytest.raises(ValueError, match="unknown protocol 'psnr'"):
        get_protocol("psnr")


def test_rgb_metrics_score_every_channel() -> None:
    hr = np.random.default_rng(0).integers(0, 240, (96, 96, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[..., 0] += 10  # red off by 10 everywhere: MSE 100 on one channel of three
    paper = get_protocol("paper")
    rgb = paper.score(sr, hr, 2, channels="rgb")
    assert rgb["psnr"] == pytest.approx(10 * math.log10(255**2 / (100 / 3)))
    plane = lambda x: torch.from_numpy(x[2:-2, 2:-2, 0].astype(float))[None, None]  # noqa: E731
    red = float(ssim(plane(sr), plane(hr))[0])
    assert rgb["ssim"] == pytest.approx((red + 2) / 3)
    assert red < 1 and rgb["ms_ssim"] < 1
    y = paper.score(sr, hr, 2)  # Y moves by 10 * 65.481 / 255 = 2.568 in every pixel
    assert y["psnr"] == pytest.approx(10 * math.log10(255**2 / (10 * 65.481 / 255) ** 2))
    with pytest.raises(ValueError, match="channels must be y or rgb"):
        paper.score(sr, hr, 2, channels="lab")


def test_evaluation_is_deterministic_and_writes_json_and_csv(
    config, folder: Path, tmp_path: Path
) -> None:
    cfg = config(dataset=str(folder), weights="[bicubic,nearest]", protocol="waifu2x")
    first, second = evaluate(cfg), evaluate(cfg)
    write_outputs(first, tmp_path / "a.json")
    write_outputs(second, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    saved = json.loads((tmp_path / "a.json").read_text())
    toons = saved["datasets"]["toons"]
    assert sorted(toons["bicubic"]["images"]) == ["0.png", "1.png", "2.png"]
    assert toons["bicubic"]["mean"]["psnr"] > toons["nearest"]["mean"]["psnr"]
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert rows[0] == "dataset,method,image,psnr,ssim,ms_ssim" and len(rows) == 1 + 2 * 4
    table = markdown_table(first)
    assert "### toons (waifu2x protocol, Y, x2" in table and "| bicubic |" in table
    rgb = evaluate(config(dataset=str(folder), weights="[bicubic]", channels="rgb"))
    assert "### toons (paper protocol, RGB, x2" in markdown_table(rgb)
    y = evaluate(config(dataset=str(folder), weights="[bicubic]"))
    rgb_psnr, y_psnr = (r["datasets"]["toons"]["bicubic"]["mean"]["psnr"] for r in (rgb, y))
    assert 20 < rgb_psnr < y_psnr  # chroma errors count in RGB


def test_set5_bicubic_reproduces_the_published_baseline(config, datasets_dir: Path) -> None:
    """docs/results.md: 33.673 dB (published 33.66), paper protocol."""
    paper = evaluate(config(dataset="Set5", **{"paths.data_root": datasets_dir}))
    assert paper["datasets"]["Set5"]["bicubic"]["mean"]["psnr"] == pytest.approx(33.673, abs=5e-4)


@pytest.mark.slow
def test_bsd100_reproduces_waifu2x_published_numbers(
    config, waifu2x_dir: Path, datasets_dir: Path
) -> None:
    """docs/results.md: bicubic 29.552 (published 29.558), upconv_7/photo 31.627 (31.640)."""
    weights = waifu2x_dir / "models/upconv_7/photo/scale2.0x_model.json"
    cfg = config(
        dataset="BSD100",
        protocol="waifu2x",
        weights=f"[bicubic,{weights}]",
        **{"paths.data_root": datasets_dir},
    )
    result = evaluate(cfg)["datasets"]["BSD100"]
    assert result["bicubic"]["mean"]["psnr"] == pytest.approx(29.552, abs=5e-4)
    photo = result["upconv_7/photo/scale2.0x_model"]["mean"]["psnr"]
    assert photo == pytest.approx(31.627, abs=5e-4)


def test_noise_model_beats_the_jpeg_input(config, waifu2x_dir: Path, folder: Path) -> None:
    weights = waifu2x_dir / "models/vgg_7/art/noise1_model.json"
    cfg = config(dataset=str(folder), weights=f"[nearest,{weights}]", scale=1, jpeg_quality=70)
    result = evaluate(cfg)
    assert result["degradation"] == "bicubic (no downscale)" and result["scale"] == 1
    scores = result["datasets"]["toons"]
    assert scores["vgg_7/art/noise1_model"]["mean"]["psnr"] > scores["nearest"]["mean"]["psnr"]


def test_sr_lab_files_and_bare_state_dicts_give_the_same_scores(
    config, folder: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = models.build("vgg7")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    models.save(model, tmp_path / "model.pt")
    models.save(model, tmp_path / "run" / "checkpoints" / "best.pt")  # labelled by its run
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    files = [tmp_path / "model.pt", tmp_path / "bare.pt", tmp_path / "run/checkpoints/best.pt"]
    results = evaluate(config(dataset=str(folder), weights=f"[{','.join(map(str, files))}]"))
    methods = results["datasets"]["toons"]
    parent = f"{tmp_path.parent.name}/{tmp_path.name}"
    assert list(methods) == [f"{parent}/model", f"{parent}/bare", "run/best"]
    assert len({json.dumps(m["images"]) for m in methods.values()}) == 1


def test_errors(config, tmp_path: Path, folder: Path, waifu2x_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="empty: no images"):
        evaluate(config(dataset=str(tmp_path / "empty")))
    (tmp_path / "tiny").mkdir()
    Image.new("RGB", (20, 20)).save(tmp_path / "tiny" / "t.png")
    weights = waifu2x_dir / "models/upconv_7/art/scale2.0x_model.json"
    with pytest.raises(ImageError, match="too small to evaluate"):
        evaluate(config(dataset=str(tmp_path / "tiny"), weights=str(weights)))
    with pytest.raises(ValueError, match="channels must be y or rgb"):
        evaluate(config(dataset=str(folder), channels="ycbcr"))
    with pytest.raises(ModelFileError, match="holds a upconv7, but model=vgg7"):
        evaluate(config(dataset=str(folder), weights=str(weights), model="vgg7"))
    result = run_module("sr_lab.evaluate", f"dataset={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: ")
    assert "nowhere: no such folder" in result.stderr
    assert not list(tmp_path.glob("*.log")) and not list(tmp_path.glob("outputs/evaluate/*"))


def test_progress_without_a_terminal_is_plain_lines(capsys: pytest.CaptureFixture) -> None:
    assert list(progress(["a", "b", "c"], "Set5", "img", every_s=0)) == ["a", "b", "c"]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "Set5: 1/3 img",
        "Set5: 2/3 img",
        "Set5: 3/3 img",
    ]
    assert list(progress(["a"], "Set5", "img")) == ["a"] and capsys.readouterr().err == ""


def test_results_go_to_the_run_directory(toons: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run_module("sr_lab.evaluate", f"dataset={toons}", "weights=bicubic", cwd=work)
    assert result.returncode == 0, result.stderr
    (run,) = (work / "outputs" / "evaluate").iterdir()
    assert sorted(p.name for p in run.iterdir()) == ["results.csv", "results.json"]
    assert [p.name for p in work.iterdir()] == ["outputs"]
    elsewhere = tmp_path / "mine.json"
    result = run_module("sr_lab.evaluate", f"dataset={toons}", f"output={elsewhere}", cwd=work)
    assert result.returncode == 0 and elsewhere.is_file()
    assert len(list((work / "outputs" / "evaluate").iterdir())) == 1  # no empty run directory


def scores_only(results: dict) -> dict:
    return {
        d: {m: (r["mean"], r["images"]) for m, r in methods.items()}
        for d, methods in results["datasets"].items()
    }


def test_patches_protocol_scores_each_96_pixel_patch(config, tmp_path: Path) -> None:
    (tmp_path / "big").mkdir()
    Image.fromarray(synthetic_illustration(200, 7)).save(tmp_path / "big" / "a.png")
    seed_table = {"dataset": str(tmp_path / "big"), "protocol": "patches", "weights": "[bicubic]"}
    cfg = config(**seed_table, degradation="jpeg_noise1_bicubic")
    first = evaluate(cfg)
    assert scores_only(first) == scores_only(evaluate(cfg))
    assert first["degradation"] == "jpeg_noise1_bicubic (PIL bicubic, JPEG q75-95)"
    result = first["datasets"]["big"]["bicubic"]
    assert result["images"]["a.png"] == result["mean"]  # one image: its 4 patches' mean
    clean = evaluate(config(**seed_table))  # degradation=bicubic: no JPEG
    assert result["mean"]["psnr"] < clean["datasets"]["big"]["bicubic"]["mean"]["psnr"]
    other = evaluate(config(**seed_table, degradation="jpeg_noise1_bicubic", seed=1))
    assert other["datasets"]["big"]["bicubic"]["mean"] != result["mean"]  # a new JPEG draw
    random = evaluate(config(**seed_table, degradation="jpeg_noise1"))
    assert random["degradation"] == "jpeg_noise1 (PIL bilinear/bicubic/lanczos, JPEG q75-95)"
    assert random["datasets"]["big"]["bicubic"]["mean"] != result["mean"]


def test_degradation_and_jpeg_quality_make_the_lr(config, folder: Path) -> None:
    base = {"dataset": str(folder), "protocol": "waifu2x"}
    bicubic = scores_only(evaluate(config(**base)))
    noisy = evaluate(config(**base, degradation="waifu2x_art_noise3", jpeg_quality=90))
    assert (
        noisy["degradation"] == "waifu2x_art_noise3 (PIL bicubic, JPEG q27-70|q37-70 x2|q52-70 x3)"
    )
    assert "then JPEG q90" in markdown_table(noisy)
    psnr = {
        k: v["toons"]["bicubic"][0]["psnr"]
        for k, v in (("clean", bicubic), ("noisy", scores_only(noisy)))
    }
    assert psnr["noisy"] < psnr["clean"] - 1
    with pytest.raises(ValueError, match="jpeg_quality must be 1..100, got"):
        evaluate(config(**base, jpeg_quality=0))


def test_ready_lr_folder_gives_the_same_scores(config, folder: Path, tmp_path: Path) -> None:
    protocol = get_protocol("waifu2x")
    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    for path in folder.iterdir():
        hr = protocol.crop_hr(Image.open(path).convert("RGB"), 2)
        Image.fromarray(make_degradation()(np.asarray(hr), np.random.default_rng())).save(
            lr_dir / path.name
        )
    generated = evaluate(config(dataset=str(folder), protocol="waifu2x"))
    given = evaluate(config(dataset=str(folder), protocol="waifu2x", lr_dataset=str(lr_dir)))
    assert scores_only(given) == scores_only(generated)
    for path in lr_dir.iterdir():  # LR made another way: the folder's images are what count
        image = Image.open(path)
        image.resize(image.size, Image.Resampling.NEAREST).rotate(180).save(path)
    rotated = evaluate(config(dataset=str(folder), protocol="waifu2x", lr_dataset=str(lr_dir)))
    assert scores_only(rotated) != scores_only(generated)
    with pytest.raises(ValueError, match="ready LR images: jpeg_quality does not apply"):
        evaluate(config(dataset=str(folder), lr_dataset=str(lr_dir), jpeg_quality=80))
    with pytest.raises(ValueError, match="the patches protocol degrades each patch itself"):
        evaluate(config(dataset=str(folder), lr_dataset=str(lr_dir), protocol="patches"))
    Image.new("RGB", (10, 10)).save(lr_dir / "0.png")
    with pytest.raises(ImageError, match=r"0.png: LR 10x10 is not HR / 2"):
        evaluate(config(dataset=str(folder), protocol="waifu2x", lr_dataset=str(lr_dir)))


def test_bad_values_are_named_before_any_work(config, folder: Path) -> None:
    for values, message in [
        ({"jpeg_quality": "abc"}, "jpeg_quality must be a whole number, got 'abc'"),
        ({"jpeg_quality": 0}, "jpeg_quality must be 1..100, got 0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
        ({"inference.tile": "abc"}, "inference: tile must be a whole number, got 'abc'"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluate(config(dataset=str(folder), **values))
