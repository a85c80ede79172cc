"""Hostile model files: every malformed or non-finite file is one ModelFileError naming it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from sr_lab import models
from sr_lab.models import ModelFileError
from sr_lab.models.files import FORMAT_KEY


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """A valid waifu2x vgg_7 JSON model's layers, to spoil one way per test."""
    path = tmp_path_factory.mktemp("json") / "scale2.0x_model.json"
    models.write_waifu2x_json(models.build("vgg7"), path)
    return json.loads(path.read_text())


def spoil_json(layers: list[dict], change: Callable[[list[dict]], None]) -> str:
    spoiled = json.loads(json.dumps(layers))
    change(spoiled)
    return json.dumps(spoiled)


JSON_CASES = {
    "nan weight": (
        lambda ls: ls[2]["weight"][0][0][0].__setitem__(0, float("nan")),
        "layer 2: weight has NaN",
    ),
    "infinite bias": (
        lambda ls: ls[6]["bias"].__setitem__(0, float("inf")),
        "layer 6: bias has NaN",
    ),
    "planes not a number": (
        lambda ls: ls[0].__setitem__("nInputPlane", "three"),
        "nInputPlane is 'three'",
    ),
    "planes fractional": (lambda ls: ls[6].__setitem__("nOutputPlane", 2.5), "nOutputPlane is 2.5"),
    "config not an object": (
        lambda ls: ls[0].__setitem__("model_config", "vgg"),
        "model_config is a str",
    ),
    "weights not numbers": (
        lambda ls: ls[1].__setitem__("weight", "abc"),
        "layer 1: weight is not a numeric",
    ),
}


@pytest.mark.parametrize("case", JSON_CASES)
def test_bad_waifu2x_json_is_refused(layers, tmp_path: Path, case: str) -> None:
    change, message = JSON_CASES[case]
    path = tmp_path / "scale2.0x_model.json"
    path.write_text(spoil_json(layers, change))
    with pytest.raises(ModelFileError, match=message) as err:
        models.load(path)
    assert str(err.value).startswith(str(path))


def test_deeply_nested_json_and_bad_scale_are_refused(layers, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="deep.json: JSON nested too deeply"):
        models.load(deep)
    good = tmp_path / "scale2.0x_model.json"
    good.write_text(json.dumps(layers))
    for scale in (0, -2, 1.5, True):
        with pytest.raises(ModelFileError, match="scale must be a whole number >= 1"):
            models.load(good, scale=scale)


def save_payload(path: Path, payload: object) -> Path:
    torch.save(payload, path)
    return path


def test_bad_sr_lab_files_are_refused(tmp_path: Path) -> None:
    model = models.build("dcscn8")
    meta = {"arch": model.arch, "config": model.config}
    state = model.state_dict()
    poisoned = {
        **state,
        "features.0.0.weight": torch.full_like(state["features.0.0.weight"], float("inf")),
    }
    cases = [
        ({FORMAT_KEY: "dcscn", "state_dict": state}, "is not {arch, config}"),
        (
            {FORMAT_KEY: {"arch": "dcscn", "config": [1]}, "state_dict": state},
            "is not {arch, config}",
        ),
        (
            {FORMAT_KEY: {**meta, "config": {**model.config, "colour": 1}}, "state_dict": state},
            "config does not build",
        ),
        (
            {FORMAT_KEY: {**meta, "config": {**model.config, "layers": 0}}, "state_dict": state},
            "config does not build",
        ),
        ({FORMAT_KEY: meta}, "holds no state_dict"),
        (
            {FORMAT_KEY: meta, "state_dict": poisoned},
            "features.0.0.weight has NaN or infinite values",
        ),
        (
            {FORMAT_KEY: meta, "state_dict": {**state, "features.0.0.bias": [0.0]}},
            "is a list, not a tensor",
        ),
        (poisoned, "features.0.0.weight has NaN or infinite values"),  # a bare state dict
    ]
    for i, (payload, message) in enumerate(cases):
        path = save_payload(tmp_path / f"case{i}.pt", payload)
        with pytest.raises(ModelFileError, match=message) as err:
            models.load(path)
        assert str(err.value).startswith(str(path))
    good = save_payload(tmp_path / "good.pt", {FORMAT_KEY: meta, "state_dict": state})
    with pytest.raises(ModelFileError, match="config does not build"):
        models.load(good, scale=0)
