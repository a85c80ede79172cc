"""Hydra configs compose and build what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate

from conftest import SHARED
from sr_lab import models
from sr_lab.data.datamodule import SRDataModule
from sr_lab.data.sources import FolderSource, SyntheticSource

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPECTED = {  # config name: (parameters, scale, offset)
    "upconv7": (552_480, 2, 14),
    "vgg7": (290_467, 2, 7),
    "dcscn": (1_889_974, 2, 0),
    "dcscn12": (1_889_974, 2, 0),
    "dcscn8": (538_353, 2, 0),
    "espcn7": (1_345_996, 2, 0),
}


def compose_train(*overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_every_model_config_is_tested() -> None:
    assert {p.stem for p in (CONF / "model").glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_config_builds(name: str) -> None:
    model = instantiate(compose_train(f"model={name}").model)
    assert isinstance(model, models.SRModel)
    n_params = sum(p.numel() for p in model.parameters())
    assert (n_params, model.scale, model.offset) == EXPECTED[name]


def test_y_channel_and_activation_overrides() -> None:
    overrides = ["model.in_channels=1", "model.out_channels=1", "model.activation=prelu"]
    cfg = compose_train("model=espcn7", *overrides)
    model = instantiate(cfg.model)
    assert (model.in_channels, model.config["activation"]) == (1, "prelu")


def test_unknown_model_option_fails() -> None:
    with pytest.raises(ConfigCompositionException, match="srgan"):
        compose_train("model=srgan")


def test_default_data_is_synthetic_bicubic() -> None:
    data = instantiate(compose_train().data)
    assert isinstance(data, SRDataModule) and isinstance(data.source, SyntheticSource)
    assert (data.patch_size, data.degradation.name, data.degradation.scale) == (96, "bicubic", 2)


def test_folder_data_with_a_degradation(tmp_path: Path) -> None:
    overrides = ["data=folder", f"data.source.train={tmp_path}", "degradation=jpeg_noise2"]
    data = instantiate(compose_train(*overrides).data)
    assert isinstance(data.source, FolderSource) and data.source.train == tmp_path
    assert data.degradation.noise.chains[0].first == (50, 75)


def test_benchmark_data_points_at_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED / "datasets" / "T91").is_dir():
        pytest.skip(f"datasets not found under {SHARED} (set SR_LAB_SHARED)")
    monkeypatch.setenv("SR_LAB_DATA", str(SHARED / "datasets"))
    data = instantiate(compose_train("data=benchmark").data)
    assert len(data.source.keys("train")) == 91 and len(data.source.keys("val")) == 14


def test_slurm_launcher_composes() -> None:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        overrides = ["hydra/launcher=submitit_slurm", "trainer=ddp", "trainer.num_nodes=2"]
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert (cfg.trainer.strategy, cfg.trainer.num_nodes) == ("ddp", 2)


@pytest.mark.parametrize("group", ["trainer", "logger", "callbacks", "scheduler", "optimizer"])
def test_every_option_of_a_group_composes(group: str) -> None:
    for option in sorted(p.stem for p in (CONF / group).glob("*.yaml")):
        cfg = compose_train(f"{group}={option}")
        assert cfg[group] is not None
