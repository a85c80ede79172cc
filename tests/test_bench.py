"""The benchmark command runs and prints the documented JSON (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_module
from sr_lab import models
from sr_lab.bench.flops import conv_flops

# multiply-adds of vgg7's convolutions on a 48x48 input (valid 3x3: 46, 44, ..., 34)
VGG7_MACS_48 = sum(
    9 * c_in * c_out * (48 - 2 * (i + 1)) ** 2
    for i, (c_in, c_out) in enumerate(
        zip((3, 32, 32, 64, 64, 128, 128), (32, 32, 64, 64, 128, 128, 3), strict=True)
    )
)


def run_bench(*args: str | Path) -> dict:
    """Run ``python -m sr_lab.bench ARGS`` and parse the JSON it prints."""
    result = run_module("sr_lab.bench", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bench_data_prints_runs_and_memory() -> None:
    args = ["data", "--seconds", "0.2", "--workers", "0,1", "--images", "2", "--size", "128"]
    report = run_bench(*args)
    runs = [(r["degradation"], r["workers"]) for r in report["runs"]]
    assert runs == [(d, w) for d in ("bicubic", "waifu2x_art_noise3") for w in (0, 1)]
    assert all(r["pairs_per_s"] > 0 for r in report["runs"])
    memory = report["memory"]
    assert memory["images"] == 3 and memory["uint8_bytes"] == 3 * 128 * 128 * 3
    assert memory["held_bytes"] >= memory["uint8_bytes"]


def test_bench_train_compares_lightning_with_a_bare_loop() -> None:
    args = [
        "train",
        "--models",
        "vgg7",
        "--variants",
        "fp32,channels_last",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--patch-size",
        "48",
        "--batch-size",
        "2",
    ]
    report = run_bench(*args)
    assert [(r["model"], r["variant"]) for r in report["runs"]] == [
        ("vgg7", "fp32"),
        ("vgg7", "channels_last"),
    ]
    assert (report["batch_size"], report["patch_size"], report["steps"]) == (2, 48, 2)
    for run in report["runs"]:  # rates only: how fast depends on the machine and its load
        assert run["bare_samples_per_s"] > 0 and run["lightning_samples_per_s"] > 0
        assert set(run) == {
            "model",
            "variant",
            "bare_samples_per_s",
            "lightning_samples_per_s",
            "overhead_pct",
            "gflop_per_sample",
            "training_gflops_per_s",
            "mfu_pct",
        }
        # 3 x the forward convolutions of vgg7 on a 24x24 LR patch (nearest 2x inside: 48x48)
        assert run["gflop_per_sample"] == round(3 * 2 * VGG7_MACS_48 / 1e9, 4)
    assert set(report["matmul_gflops"]) == {"fp32", "bf16"}


def test_bench_infer_reports_each_size_from_fresh_processes() -> None:
    args = [
        "infer",
        "--model",
        "vgg7",
        "--sizes",
        "40,48",
        "--whole-max-size",
        "40",
        "--tile",
        "16",
    ]
    report = run_bench(*args)
    assert (report["model"], report["exact"], report["tile"]) == ("vgg7", False, 16)
    small, large = report["sizes"]
    assert (small["size"], large["size"]) == (40, 48)
    assert small["whole_s"] > 0 and large["whole_s"] is None
    assert small["tiled_over_whole"] == round(small["tiled_s"] / small["whole_s"], 3)
    assert large["peak_rss_mb"] > 0 and large["flop_bound_s"] > 0 and large["tiled_warmup_s"] > 0
    assert large["megapixels_per_s"] == round(48 * 48 / 1e6 / large["tiled_s"], 4)


def test_bench_agree_measures_options_against_the_exact_path() -> None:
    image = Path(__file__).parent / "data" / "builtin_in.png"
    exact = run_bench("agree", image, "--exact")
    assert (exact["max_difference"], exact["differing_pct"], exact["psnr_vs_exact"]) == (0, 0, None)
    default = run_bench("agree", image, "--tile", "16")
    assert default["options"]["exact"] is False and default["max_difference"] <= 1
    assert default["options"]["tile"] == 16


def test_a_bad_model_name_is_one_error_line() -> None:
    result = run_module(
        "sr_lab.bench", "infer-once", "--model", "srgan", "--size", "8", "--mode", "whole"
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: unknown model 'srgan'; choose from: dcscn, dcscn12, dcscn8, espcn7, upconv7, vgg7"
    )


def test_conv_flops_counts_each_multiply_add_once() -> None:
    """upconv7 on 48x48: six valid 3x3 convs (46, ..., 36 pixels), then the 4x4 stride-2
    transposed conv, whose every input value is scattered to 3 x 4 x 4 outputs."""
    widths = (3, 16, 32, 64, 128, 128, 256)
    convs = sum(9 * widths[i] * widths[i + 1] * (46 - 2 * i) ** 2 for i in range(6))
    assert conv_flops(models.build("upconv7"), 48) == 2 * (convs + 256 * 36 * 36 * 3 * 16)
