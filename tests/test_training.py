"""Training end to end with real Lightning, Hydra and TensorBoard files (all on CPU)."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import ROOT, run_module
from sr_lab import models
from sr_lab.config import compose, cpu_training_precision
from sr_lab.drawing import label
from sr_lab.evaluate import evaluate
from sr_lab.train import train


def compose_train(out: Path, *overrides: str):
    """A smoke run writing to ``out``."""
    return compose("train", ["debug=smoke", f"paths.output_dir={out}", *overrides])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_module("sr_lab.train", *args, cwd=cwd)


@pytest.mark.parametrize("name", ["upconv7", "vgg7", "dcscn12", "dcscn8", "espcn7"])
def test_smoke_run_writes_every_output(tmp_path: Path, name: str) -> None:
    metrics = train(compose_train(tmp_path, f"model={name}", "loss=huber"))
    assert metrics["val/psnr_best"] == metrics["val/psnr"] > 0
    assert metrics["val/bicubic_psnr"] > 20 and 0 < metrics["val/ms_ssim"] <= 1
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["global_step"] == 3 and saved["val/psnr"] == pytest.approx(metrics["val/psnr"])
    for ckpt in ("best.ckpt", "last.ckpt"):
        loaded = models.load(tmp_path / "checkpoints" / ckpt)
        assert loaded.arch == models.build(name).arch
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "val/psnr", "val/ssim", "val/ms_ssim", "val/psnr_best"} <= scalars
    assert {"val/bicubic_psnr", "lr-Adam"} <= scalars
    assert events.Tags()["images"] == ["val/bicubic|model|truth"]
    encoded = events.Images("val/bicubic|model|truth")[-1].encoded_image_string
    grid = np.asarray(Image.open(io.BytesIO(encoded)).convert("L"))
    top = label(grid.shape[1] // 3, "titles").height  # the column titles' strip
    assert (grid[:top] > 200).mean() > 0.8 and (grid[:top] < 80).any()


def test_validation_scores_are_the_evaluators(
    tmp_path: Path, toons: Path, compose_evaluate
) -> None:
    """val/psnr of a checkpoint and val/bicubic_psnr equal what ``sr_lab.evaluate
    protocol=paper`` reports for the same weights and images."""
    folder = ["data=folder", f"data.source.train={toons}", f"data.source.val={toons}"]
    whole = ["data.val_crop=null", "data.limit_images=null", "trainer.limit_val_batches=1.0"]
    metrics = train(compose_train(tmp_path / "run", "model=vgg7", *folder, *whole))
    checkpoint = tmp_path / "run" / "checkpoints" / "best.ckpt"
    results = evaluate(compose_evaluate(dataset=toons, weights=f"[bicubic,{checkpoint}]"))
    scores = results["datasets"]["toons"]
    assert scores["bicubic"]["mean"]["psnr"] == pytest.approx(metrics["val/bicubic_psnr"], abs=1e-6)
    assert scores["bicubic"]["mean"]["ssim"] == pytest.approx(metrics["val/bicubic_ssim"], abs=1e-9)
    assert scores["run/best"]["mean"]["psnr"] == pytest.approx(metrics["val/psnr"], abs=0.01)


def test_channels_last_trains_the_same_model(tmp_path: Path) -> None:
    plain = train(compose_train(tmp_path / "plain", "model=dcscn8", "channels_last=false"))
    fast = train(compose_train(tmp_path / "fast", "model=dcscn8", "channels_last=true"))
    assert fast["val/psnr"] == pytest.approx(plain["val/psnr"], abs=0.05)
    state = torch.load(tmp_path / "fast/checkpoints/last.ckpt", weights_only=True)["state_dict"]
    weight = state["model.features.0.0.weight"]
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def test_cpu_budget_recipe_composes_and_runs(tmp_path: Path, datasets_dir: Path) -> None:
    if not (datasets_dir / "BSD200").is_dir():
        pytest.skip(f"BSD200 not found under {datasets_dir}")
    overrides = ["experiment=cpu_budget", f"paths.data_root={datasets_dir}", "data.limit_images=2"]
    cfg = compose_train(tmp_path, *overrides)
    assert cfg.trainer.precision == cpu_training_precision()
    assert (cfg.trainer.max_steps, cfg.channels_last) == (31500, True)
    metrics = train(cfg)  # debug=smoke keeps it to 3 steps and one validation
    assert metrics["val/psnr"] > 0 and (tmp_path / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(
    ("recipe", "params", "steps", "patch", "lr"),
    [("dcscn_paper", 1_561_551, 75600, 96, 0.002), ("waifu2x_upconv7", 552_480, -1, 48, 0.00025)],
)
def test_paper_recipes_compose_and_run(
    tmp_path: Path, datasets_dir: Path, recipe: str, params: int, steps: int, patch: int, lr: float
) -> None:
    if not (datasets_dir / "BSD200").is_dir():
        pytest.skip(f"BSD200 not found under {datasets_dir}")
    overrides = [f"experiment={recipe}", f"paths.data_root={datasets_dir}", "trainer=cpu"]
    full = compose("train", overrides)
    assert sum(p.numel() for p in instantiate(full.model).parameters()) == params
    assert (full.trainer.max_steps, full.data.patch_size, full.optimizer.lr) == (steps, patch, lr)
    assert train(compose_train(tmp_path, *overrides))["val/psnr"] > 0  # debug=smoke: 3 steps


def test_cpu_trainers_default_to_the_fast_layout_and_precision() -> None:
    cpu = compose("train", ["trainer=cpu"])
    assert (cpu.channels_last, cpu.trainer.precision) == (True, cpu_training_precision())
    gpu = compose("train", ["trainer=gpu"])
    assert (gpu.channels_last, gpu.trainer.precision) == (False, "32-true")


def test_precision_follows_native_bf16() -> None:
    assert cpu_training_precision({"avx2", "fma"}) == "32-true"
    assert cpu_training_precision({"avx512f", "avx512_bf16"}) == "bf16-mixed"
    assert cpu_training_precision({"amx_bf16"}) == "bf16-mixed"


def test_resume_reaches_the_same_weights(tmp_path: Path) -> None:
    def weights(ckpt: Path) -> dict[str, torch.Tensor]:
        return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]

    common = ["model=dcscn8", "scheduler=waifu2x", "scheduler.decay=0.01"]
    train(compose_train(tmp_path / "straight", *common, "trainer.max_epochs=2"))
    train(compose_train(tmp_path / "first", *common, "trainer.max_epochs=1"))  # stops at step 3
    resume = f"ckpt_path={tmp_path / 'first' / 'checkpoints' / 'last.ckpt'}"
    train(compose_train(tmp_path / "resumed", *common, "trainer.max_epochs=2", resume))
    straight = weights(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    resumed = weights(tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    first = weights(tmp_path / "first" / "checkpoints" / "last.ckpt")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert not all(torch.equal(straight[k], first[k]) for k in straight)


def test_resuming_from_a_checkpoint_continues_that_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = run_cli("debug=smoke", "model=vgg7", "loss=huber", f"hydra.run.dir={run}", cwd=ROOT)
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt = f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"
    again = run_cli("debug=smoke", ckpt, "trainer.max_epochs=2", cwd=tmp_path)  # no model=vgg7
    assert again.returncode == 0, again.stderr[-3000:]
    assert not (tmp_path / "outputs").exists()  # written to the run it resumed
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["global_step"] == 6 and "val/bicubic_psnr" in metrics
    config = (run / ".hydra" / "config.yaml").read_text()
    assert "Vgg7" in config and "ClippedWeightedHuber" in config


def test_resuming_another_architecture_is_one_line(tmp_path: Path) -> None:
    train(compose_train(tmp_path / "a", "model=dcscn8"))
    ckpt = f"ckpt_path={tmp_path / 'a' / 'checkpoints' / 'last.ckpt'}"
    with pytest.raises(ValueError, match="holds a dcscn .* but the config builds a vgg7"):
        train(compose_train(tmp_path / "b", "model=vgg7", ckpt))
    with pytest.raises(ValueError, match="missing.ckpt: no such file"):
        train(compose_train(tmp_path / "c", f"ckpt_path={tmp_path / 'missing.ckpt'}"))


def test_ema_weights_are_kept_and_checkpointed(tmp_path: Path) -> None:
    plain = train(compose_train(tmp_path / "plain", "model=vgg7"))
    ema = train(compose_train(tmp_path / "ema", "model=vgg7", "callbacks=ema"))
    checkpoint = torch.load(tmp_path / "ema" / "checkpoints" / "last.ckpt", weights_only=True)
    assert any("EMAWeightAveraging" in key for key in checkpoint["callbacks"])
    assert ema["val/psnr"] != plain["val/psnr"]  # validation used the averaged weights


def test_bf16_mixed_precision_trains_close_to_fp32(tmp_path: Path) -> None:
    fp32 = train(compose_train(tmp_path / "fp32", "model=espcn7"))
    bf16 = train(compose_train(tmp_path / "bf16", "model=espcn7", "trainer.precision=bf16-mixed"))
    assert bf16["train/loss"] != fp32["train/loss"]  # autocast really ran in bf16
    assert bf16["val/psnr"] == pytest.approx(fp32["val/psnr"], abs=0.5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimizer.lr=-0.1"], "optimizer.lr must be > 0, got -0.1"),
        (["model=upconv7", "data.patch_size=24"], "data.patch_size 24 is too small for upconv7"),
        (["data.channels=1"], "model.in_channels=3 but data.channels=1"),
        (["degradation.filters=[cubic]"], "unknown filter"),
        (["optimizer.lr=abc"], "optimizer.lr must be a number, got 'abc'"),
        (["seed=-1"], "seed must be >= 0, got -1"),
        (["data.batch_size=2.5"], "data.batch_size must be a whole number, got 2.5"),
        (["data.val_crop=0"], "data.val_crop must be >= 4, got 0"),
        (["data.limit_images=0"], "data.limit_images must be >= 1, got 0"),
        (["degradation=jpeg_noise1", "degradation.jpeg=[{first: [0, 0]}]"], "within 1..100"),
    ],
)
def test_bad_values_fail_before_training(tmp_path: Path, overrides, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(compose_train(tmp_path, *overrides))
    assert not (tmp_path / "checkpoints").exists()


def test_unknown_key_or_option_fails_at_composition(tmp_path: Path) -> None:
    with pytest.raises(ConfigCompositionException):
        compose_train(tmp_path, "trainer.max_epoch=3")
    with pytest.raises(ConfigCompositionException):
        compose_train(tmp_path, "loss=charbonnier")


def test_cli_error_is_one_line_and_leaves_no_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_cli("debug=smoke", "optimizer.lr=0", f"hydra.run.dir={run}", cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: optimizer.lr must be > 0, got 0"
    assert not run.exists()


@pytest.mark.parametrize("bar", ["default", "tqdm"])  # rich where installed, else tqdm
def test_console_and_train_log(tmp_path: Path, bar: str) -> None:
    beat = "callbacks.epoch_summary.heartbeat_s=0"  # without a terminal: a line every step
    tqdm = "+callbacks.bar._target_=pytorch_lightning.callbacks.TQDMProgressBar"
    args = ["debug=smoke", "trainer=cpu", beat, f"hydra.run.dir={tmp_path}"]
    result = run_cli(*args, *([tqdm] if bar == "tqdm" else []), cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "Tip:" not in out and "LeafSpec" not in out and "model summary" not in out
    # "Total FLOPs: 8.7 B" (rich summary) or "8.7 B  Total Flops" (plain): a 48x48 patch counted
    flops = next(line for line in out.splitlines() if "total flops" in line.lower())
    assert re.search(r"[1-9]", flops), flops
    log = (tmp_path / "train.log").read_text()
    where = f"run directory: {tmp_path.resolve()}"
    for line in (where, "epoch 0 | step 3 | train/loss", "`Trainer.fit` stopped", "done at step 3"):
        assert line in log
    assert "step 2 | " in log and " steps/s | train/loss " in log
    for line in (where, "epoch 0 | step 3 | train/loss", "done at step 3"):  # and the console
        assert line in out, (line, out[-2000:])


def test_ddp_sim_runs_two_cpu_processes_and_reduces_metrics(tmp_path: Path) -> None:
    """Each of the 2 ranks validates one image; the bicubic scores, which training does not
    touch, must equal a single process scoring both images."""
    out = tmp_path / "ddp"
    result = run_cli("trainer=ddp_sim", "debug=smoke", f"hydra.run.dir={out}", cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MEMBER: 2/2" in result.stderr and "distributed_backend=gloo" in result.stderr
    saved = json.loads((out / "metrics.json").read_text())
    # samples_per_epoch (6) is shared by the ranks: 3 each, one batch of 2 (the last dropped)
    assert saved["val/psnr"] > 0 and saved["global_step"] == 1
    single = train(compose_train(tmp_path / "single", "trainer.limit_val_batches=2"))
    for key in ("val/bicubic_psnr", "val/bicubic_ssim", "val/bicubic_ms_ssim"):
        assert saved[key] == pytest.approx(single[key], abs=1e-5)


def test_multirun_runs_each_combination(tmp_path: Path) -> None:
    args = ["-m", "model=upconv7,vgg7", "loss=l1,huber", "debug=smoke"]
    result = run_cli(*args, f"hydra.sweep.dir={tmp_path}", cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p.parent.name for p in tmp_path.glob("*/metrics.json"))
    assert runs == ["0", "1", "2", "3"]
    overrides = {(tmp_path / r / ".hydra" / "overrides.yaml").read_text() for r in runs}
    assert len(overrides) == 4


def test_optuna_search_maximises_psnr_best(tmp_path: Path) -> None:
    args = [
        "hparams_search=dcscn_optuna",
        "debug=smoke",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweeper.storage=sqlite:///{tmp_path}/optuna.db",
        f"hydra.sweep.dir={tmp_path}",
        "model.first_filters=16",
        "model.last_filters=8",
        "model.recon_filters=8",
        "model.upsampler_filters=8",
    ]
    result = run_cli(*args, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(tmp_path.glob("*/metrics.json"))) == 2
    best = (tmp_path / "optimization_results.yaml").read_text()
    assert "best_params" in best and "best_value" in best
    assert (tmp_path / "optuna.db").stat().st_size > 0
