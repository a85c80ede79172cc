"""Read and write the original waifu2x JSON model files (schema: ../shared/waifu2x/README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sr_lab.atomic import atomic_write
from sr_lab.models.base import SRModel
from sr_lab.models.waifu2x import Upconv7, Vgg7

CONV = "nn.SpatialConvolutionMM"
FULL_CONV = "nn.SpatialFullConvolution"
ARCH_NAMES = {"vgg_7": "vgg7", "upconv_7": "upconv7"}
LAYER_KEYS = ("class_name", "nInputPlane", "nOutputPlane", "kW", "kH", "weight", "bias")


class ModelFileError(ValueError):
    """A weights file that is missing, unreadable or does not fit the architecture."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def weight_layers(model: nn.Module) -> list[nn.Conv2d | nn.ConvTranspose2d]:
    """The model's convolutions in forward order, as waifu2x lists them."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]


def scale_from_filename(path: Path) -> int:
    """waifu2x names 2x models ``scale2.0x_model.json`` / ``noiseN_scale2.0x_model.json``."""
    match = re.search(r"scale(\d+(?:\.\d+)?)x", path.name)
    return round(float(match.group(1))) if match else 1


def _arch_of(path: Path, layers: list[dict[str, Any]]) -> str:
    config = layers[0].get("model_config") or {}
    if not isinstance(config, dict):
        raise ModelFileError(path, f"model_config is a {type(config).__name__}, not an object")
    name = config.get("arch_name")
    if name is not None:
        if name not in ARCH_NAMES:
            raise ModelFileError(
                path, f"unsupported arch_name {name!r}; supported: {', '.join(ARCH_NAMES)}"
            )
        return ARCH_NAMES[name]
    return "upconv7" if layers[-1].get("class_name") == FULL_CONV else "vgg7"


def _parse(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ModelFileError(path, "no such file")
    try:
        layers = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(path, f"not valid JSON ({err})") from None
    except RecursionError:
        raise ModelFileError(path, "JSON nested too deeply to be a waifu2x model") from None
    if not isinstance(layers, list) or not layers or not all(isinstance(x, dict) for x in layers):
        raise ModelFileError(path, "not a waifu2x model (expected a JSON list of layer objects)")
    for i, layer in enumerate(layers):
        missing = [k for k in LAYER_KEYS if k not in layer]
        if missing:
            raise ModelFileError(path, f"layer {i} lacks {', '.join(missing)}")
    return layers


def _tensor(
    path: Path, i: int, what: str, values: Any, shape: tuple[int, ...] | None
) -> torch.Tensor:
    """A layer's numeric array, checked: numbers, the expected ``shape`` (if given), finite."""
    try:
        t = torch.tensor(values, dtype=torch.float32)
    except (TypeError, ValueError):
        raise ModelFileError(path, f"layer {i}: {what} is not a numeric array") from None
    if shape is not None and tuple(t.shape) != shape:
        raise ModelFileError(
            path, f"layer {i}: {what} has shape {tuple(t.shape)}, expected {shape}"
        )
    if not torch.isfinite(t).all():
        raise ModelFileError(path, f"layer {i}: {what} has NaN or infinite values")
    return t


def _plane_count(path: Path, i: int, layer: dict[str, Any], key: str) -> int:
    value = layer[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ModelFileError(path, f"layer {i}: {key} is {value!r}, not a whole number")
    return int(value)


def read_waifu2x_json(path: str | Path, scale: int | None = None) -> SRModel:
    """Build a Vgg7 or Upconv7 from a waifu2x JSON file, checking every layer's shape.

    Vgg_7 files store ``scale_factor: 1`` even for 2x models (waifu2x upscales outside the
    network); the scale then comes from the file name unless ``scale`` is given.
    """
    path = Path(path)
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int) or scale < 1):
        raise ModelFileError(path, f"scale must be a whole number >= 1, got {scale!r}")
    layers = _parse(path)
    arch = _arch_of(path, layers)
    channels = _plane_count(path, 0, layers[0], "nInputPlane")
    out_channels = _plane_count(path, len(layers) - 1, layers[-1], "nOutputPlane")
    if channels not in (1, 3) or out_channels not in (1, 3):
        raise ModelFileError(path, f"channels {channels}->{out_channels}; expected 1 or 3")
    if arch == "vgg7":
        model: SRModel = Vgg7(scale or scale_from_filename(path), channels, out_channels)
    else:
        last = len(layers) - 1
        has_bias = bool((_tensor(path, last, "bias", layers[-1]["bias"], None) != 0).any())
        model = Upconv7(channels, out_channels, deconv_bias=has_bias)
    modules = weight_layers(model)
    if len(layers) != len(modules):
        raise ModelFileError(path, f"{len(layers)} layers, but {arch} has {len(modules)}")
    state: dict[str, torch.Tensor] = {}
    names = {id(m): n for n, m in model.named_modules()}
    for i, (layer, module) in enumerate(zip(layers, modules, strict=True)):
        expected = FULL_CONV if isinstance(module, nn.ConvTranspose2d) else CONV
        if layer["class_name"] != expected:
            raise ModelFileError(path, f"layer {i} is {layer['class_name']}, expected {expected}")
        state[f"{names[id(module)]}.weight"] = _tensor(
            path, i, "weight", layer["weight"], tuple(module.weight.shape)
        )
        n_out = module.weight.shape[1 if expected == FULL_CONV else 0]
        bias = _tensor(path, i, "bias", layer["bias"], (n_out,))
        if module.bias is not None:
            state[f"{names[id(module)]}.bias"] = bias
    model.load_state_dict(state)
    model.waifu2x_model_config = layers[0].get("model_config")
    return model


def _default_model_config(model: SRModel) -> dict[str, Any]:
    if isinstance(model, Upconv7):
        return dict(
            arch_name="upconv_7", scale_factor=2, channels=model.in_channels, offset=14, resize=True
        )
    return dict(arch_name="vgg_7", scale_factor=1, channels=model.in_channels, offset=7)


def to_waifu2x_layers(model: SRModel) -> list[dict[str, Any]]:
    """The model as waifu2x layer objects, in the key order waifu2x's exporter writes."""
    if not isinstance(model, Upconv7 | Vgg7):
        raise ValueError(f"only upconv7 and vgg7 have a waifu2x JSON form, not {model.arch}")
    config = getattr(model, "waifu2x_model_config", None) or _default_model_config(model)
    layers = []
    for i, module in enumerate(weight_layers(model)):
        full = isinstance(module, nn.ConvTranspose2d)
        n_in, n_out = (module.in_channels, module.out_channels)
        bias = module.bias.tolist() if module.bias is not None else [0] * n_out
        stride, kernel, pad = (2, 4, 3) if full else (1, 3, 0)
        layer: dict[str, Any] = dict(dH=stride, dW=stride, nInputPlane=n_in, kW=kernel, kH=kernel)
        if i == 0:
            layer["model_config"] = config
        layer.update(
            weight=module.weight.detach().cpu().tolist(),
            bias=bias,
            nOutputPlane=n_out,
            padW=pad,
            class_name=FULL_CONV if full else CONV,
            padH=pad,
        )
        layers.append(layer)
    return layers


def _encode(value: Any) -> str:
    """JSON text as lua-cjson prints it: no spaces, numbers as %.14g."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:.14g}"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_waifu2x_json(model: SRModel, path: str | Path) -> None:
    """Write ``model`` (upconv7 or vgg7) as a waifu2x JSON model file, atomically."""
    text = _encode(to_waifu2x_layers(model))
    with atomic_write(path, "w") as f:
        f.write(text)
