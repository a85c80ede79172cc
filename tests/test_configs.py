"""Hydra configs compose and build what they promise; model presets have one home."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import get_object, instantiate

from sr_lab import models
from sr_lab.data.datamodule import SRDataModule
from sr_lab.data.sources import FolderSource, SyntheticSource
from sr_lab.models.registry import preset

EXPECTED = {  # config name: (parameters, scale, offset)
    "upconv7": (552_480, 2, 14),
    "vgg7": (290_467, 2, 7),
    "dcscn": (1_889_974, 2, 0),
    "dcscn12": (1_889_974, 2, 0),
    "dcscn8": (538_353, 2, 0),
    "espcn7": (1_345_996, 2, 0),
}


def test_every_model_config_is_tested(conf_dir: Path) -> None:
    assert {p.stem for p in (conf_dir / "model").glob("*.yaml")} == set(EXPECTED)
    assert models.names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_config_builds_the_same_model_as_the_registry(compose_train, name: str) -> None:
    model = instantiate(compose_train(f"model={name}").model)
    n_params = sum(p.numel() for p in model.parameters())
    assert (n_params, model.scale, model.offset) == EXPECTED[name]
    built = models.build(name)
    assert (type(built), built.config) == (type(model), model.config)


def test_presets_follow_their_defaults_list() -> None:
    cls, arguments = preset("dcscn8")
    assert cls is models.DCSCN
    assert arguments == dict(
        layers=8,
        first_filters=96,
        last_filters=48,
        recon_filters=64,
        upsampler_filters=32,
        activation="selu",
        scale=2,
        in_channels=3,
        out_channels=3,
    )
    with pytest.raises(ValueError, match="unknown model 'srgan'; choose from: dcscn, dcscn12"):
        models.build("srgan")
    with pytest.raises(ValueError, match="model 'vgg7': .*unexpected keyword argument 'layers'"):
        models.build("vgg7", layers=3)


def test_y_channel_and_activation_overrides(compose_train) -> None:
    overrides = ["model.in_channels=1", "model.out_channels=1", "model.activation=prelu"]
    model = instantiate(compose_train("model=espcn7", *overrides).model)
    assert (model.in_channels, model.config["activation"]) == (1, "prelu")
    assert isinstance(model.body[1], torch.nn.PReLU)


def test_unknown_model_option_fails(compose_train) -> None:
    with pytest.raises(ConfigCompositionException, match="srgan"):
        compose_train("model=srgan")


def test_default_data_is_synthetic_bicubic(compose_train) -> None:
    data = instantiate(compose_train().data)
    assert isinstance(data, SRDataModule) and isinstance(data.source, SyntheticSource)
    assert (data.patch_size, data.degradation.name, data.degradation.scale) == (96, "bicubic", 2)


def test_folder_data_with_a_degradation(compose_train, tmp_path: Path) -> None:
    overrides = ["data=folder", f"data.source.train={tmp_path}", "degradation=jpeg_noise2"]
    data = instantiate(compose_train(*overrides).data)
    assert isinstance(data.source, FolderSource) and data.source.train == [tmp_path]
    assert data.degradation.noise.chains[0].first == (50, 75)


def test_benchmark_data_reads_paths_data_root(compose_train, datasets_dir: Path) -> None:
    data = instantiate(compose_train("data=benchmark", f"paths.data_root={datasets_dir}").data)
    assert data.source.train == [datasets_dir / "T91"] and data.source.val == [
        datasets_dir / "Set14"
    ]
    assert len(data.source.keys("train")) == 91 and len(data.source.keys("val")) == 14


def test_paper_data_is_t91_and_bsd200_validated_on_set14(compose_train, datasets_dir: Path) -> None:
    if not (datasets_dir / "BSD200").is_dir():
        pytest.skip(f"BSD200 not found under {datasets_dir}")
    data = instantiate(compose_train("data=paper", f"paths.data_root={datasets_dir}").data)
    assert data.source.train == [datasets_dir / "T91", datasets_dir / "BSD200"]
    train, val = data.source.keys("train"), data.source.keys("val")
    assert (len(train), len(val)) == (291, 14)
    assert {p.parent.name for p in train} == {"T91", "BSD200"} and val[0].parent.name == "Set14"
    assert "Set5" not in data.source.location("train") + data.source.location("val")


def test_slurm_launcher_composes(conf_dir: Path) -> None:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(conf_dir), version_base="1.3"):
        overrides = ["hydra/launcher=submitit_slurm", "trainer=ddp", "trainer.num_nodes=2"]
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert (cfg.trainer.strategy, cfg.trainer.num_nodes) == ("ddp", 2)


def options(conf_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


@pytest.mark.parametrize("group", ["optimizer", "scheduler"])
def test_every_optimizer_and_scheduler_builds_and_steps(
    compose_train, conf_dir: Path, group: str
) -> None:
    for option in options(conf_dir, group):
        cfg = compose_train(f"{group}={option}")
        weight = torch.nn.Parameter(torch.ones(2))
        optimizer = instantiate(cfg.optimizer)([weight])
        assert optimizer.param_groups[0]["lr"] == cfg.optimizer.lr
        scheduler = instantiate(cfg.scheduler)(optimizer, total_steps=100, samples_per_step=16)
        weight.grad = torch.ones(2)
        optimizer.step()
        scheduler.step()
        assert 0 < optimizer.param_groups[0]["lr"] <= cfg.optimizer.lr, option


def test_every_logger_and_callback_builds(compose_train, conf_dir: Path, tmp_path: Path) -> None:
    for option in options(conf_dir, "logger"):
        cfg = compose_train(f"logger={option}", f"paths.output_dir={tmp_path}")
        for name, node in cfg.logger.items():
            assert isinstance(instantiate(node), pl.loggers.Logger), (option, name)
    for option in options(conf_dir, "callbacks"):
        cfg = compose_train(f"callbacks={option}", f"paths.output_dir={tmp_path}")
        built = [instantiate(node) for node in cfg.callbacks.values()]
        assert all(isinstance(c, pl.Callback) for c in built), option
    assert "ema" in compose_train("callbacks=ema").callbacks


def test_every_trainer_names_a_real_accelerator_and_cpu_ones_build(
    compose_train, conf_dir: Path, tmp_path: Path
) -> None:
    for option in options(conf_dir, "trainer"):
        cfg = compose_train(f"trainer={option}", f"paths.output_dir={tmp_path}")
        assert get_object(cfg.trainer._target_) is pl.Trainer
        assert cfg.trainer.accelerator in ("auto", "cpu", "gpu"), option
        if cfg.trainer.accelerator == "cpu" and cfg.trainer.get("strategy") is None:
            trainer = instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
            assert trainer.num_devices == cfg.trainer.devices, option
