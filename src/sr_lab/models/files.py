"""Save and load models: sr_lab files (architecture + config + weights, as a PyTorch file or as
safetensors with the architecture in its metadata), training checkpoints, bare state dicts,
waifu2x JSON and sr_lab's ONNX exports (run by onnxruntime), detected from the file itself."""

from __future__ import annotations

import json
import pickle
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sr_lab.atomic import atomic_write
from sr_lab.models.base import SRModel
from sr_lab.models.registry import ARCHITECTURES, build, names
from sr_lab.models.waifu2x_json import ModelFileError, read_waifu2x_json

FORMAT_KEY = "sr_lab_model"
BUILTIN = "builtin"
BUILTIN_FILE = "dcscn8_x2.pt"


def builtin_path() -> Path:
    """The model shipped inside the package (its card is ``dcscn8_x2.md`` beside it): what
    ``builtin`` names wherever a weights file is asked for."""
    return Path(str(resources.files("sr_lab") / "weights" / BUILTIN_FILE))


def save(model: SRModel, path: str | Path) -> None:
    """Write ``model`` with its architecture, config and state dict: a ``.safetensors`` file
    (the architecture as JSON under the metadata key ``sr_lab_model``) or else a PyTorch file.

    The file is written atomically, so an interrupted save never leaves a truncated model.
    """
    meta = {"arch": model.arch, "config": model.config}
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    with atomic_write(path) as f:
        if Path(path).suffix.lower() == ".safetensors":
            f.write(save_safetensors(state, metadata={FORMAT_KEY: json.dumps(meta)}))
        else:
            torch.save({FORMAT_KEY: meta, "state_dict": state}, f)


def _read_safetensors(path: Path) -> dict[str, Any]:
    """A safetensors file as the payload a PyTorch sr_lab file holds (or a bare state dict)."""
    data = path.read_bytes()
    try:
        state = load_safetensors(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError) as err:
        raise ModelFileError(path, f"not a safetensors file ({err})") from None
    meta = header.get("__metadata__", {}).get(FORMAT_KEY)
    if meta is None:
        return state
    try:
        return {FORMAT_KEY: json.loads(meta), "state_dict": state}
    except json.JSONDecodeError:
        raise ModelFileError(path, f"its {FORMAT_KEY} metadata is not JSON") from None


def _load_state(path: Path, model: SRModel, state: dict[str, Any]) -> SRModel:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        problem = f"missing {missing[:3]}, unexpected {unexpected[:3]}"
        raise ModelFileError(path, f"state dict does not fit {model.arch}: {problem}")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ModelFileError(path, f"{key} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(expected[key].shape):
            want = tuple(expected[key].shape)
            problem = f"{key} has shape {tuple(value.shape)}, {model.arch} expects {want}"
            raise ModelFileError(path, problem)
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ModelFileError(path, f"{key} has NaN or infinite values")
    model.load_state_dict(state)
    return model


def _from_meta(path: Path, payload: dict[str, Any], overrides: dict[str, Any]) -> SRModel:
    """The model an sr_lab file or checkpoint describes, its metadata checked."""
    meta, state = payload[FORMAT_KEY], payload.get("state_dict")
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise ModelFileError(path, f"its {FORMAT_KEY} entry is not {{arch, config}}")
    if meta.get("arch") not in ARCHITECTURES:
        raise ModelFileError(path, f"unknown architecture {meta.get('arch')!r}")
    if not isinstance(state, dict):
        raise ModelFileError(path, "holds no state_dict")
    try:
        model = ARCHITECTURES[meta["arch"]](**{**meta["config"], **overrides})
    except (TypeError, ValueError) as err:
        raise ModelFileError(path, f"its {meta['arch']} config does not build ({err})") from None
    if "epoch" in payload:  # a training checkpoint: keep the network's own weights
        state = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    return _load_state(path, model, state)


def _match_preset(path: Path, state: dict[str, Any]) -> SRModel:
    """A bare state dict carries no architecture: find the preset whose shapes it fits."""
    channels = {1, 3}
    for name in names():
        for c in sorted(channels):
            model = build(name, in_channels=c, out_channels=c)
            shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
            if shapes == {k: tuple(v.shape) for k, v in state.items()}:
                return _load_state(path, model, state)
    raise ModelFileError(path, "state dict matches no known model; save with sr_lab.models.save")


def load(path: str | Path, **overrides: Any) -> SRModel:
    """Load any supported weights file; nothing is returned half-loaded.

    ``overrides`` (e.g. ``scale=2`` for a vgg7 JSON) adjust what the file implies;
    ``builtin`` is the shipped model.
    """
    path = builtin_path() if str(path) == BUILTIN else Path(path)
    if not path.is_file():
        raise ModelFileError(path, "no such file")
    if path.suffix.lower() == ".json":
        return read_waifu2x_json(path, **overrides)
    if path.suffix.lower() == ".onnx":  # runs only through onnxruntime
        from sr_lab.onnx_graph import read_onnx

        return read_onnx(path)
    if path.suffix.lower() == ".safetensors":
        payload = _read_safetensors(path)
    else:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if reason.startswith("Weights only load failed"):  # torch's advice does not apply
                reason = "it holds pickled objects beyond tensors, which sr_lab never runs"
            raise ModelFileError(path, f"not a PyTorch weights file ({reason})") from None
    if not isinstance(payload, dict):
        raise ModelFileError(path, f"expected a dict of weights, found {type(payload).__name__}")
    if FORMAT_KEY in payload:
        return _from_meta(path, payload, overrides)
    if all(isinstance(v, torch.Tensor) for v in payload.values()):
        return _match_preset(path, payload)
    raise ModelFileError(path, "not an sr_lab model, a state dict or a waifu2x JSON model")
