"""Models by name: each name is an architecture plus preset arguments (dcscn12 = DCSCN(12, ...))."""

from __future__ import annotations

from typing import Any

from sr_lab.models.base import SRModel
from sr_lab.models.dcscn import DCSCN
from sr_lab.models.espcn import ESPCN7
from sr_lab.models.waifu2x import Upconv7, Vgg7

ARCHITECTURES: dict[str, type[SRModel]] = {cls.arch: cls for cls in (Upconv7, Vgg7, DCSCN, ESPCN7)}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "upconv7": ("upconv7", {}),
    "vgg7": ("vgg7", {}),
    "espcn7": ("espcn7", {}),
    "dcscn": ("dcscn", {}),
    "dcscn12": (
        "dcscn",
        dict(
            layers=12, first_filters=196, last_filters=48, recon_filters=128, upsampler_filters=32
        ),
    ),
    "dcscn8": (
        "dcscn",
        dict(layers=8, first_filters=96, last_filters=48, recon_filters=64, upsampler_filters=32),
    ),
}


def names() -> list[str]:
    """Every name ``build`` accepts."""
    return sorted(PRESETS)


def build(name: str, **overrides: Any) -> SRModel:
    """Build the model called ``name`` with its preset arguments, updated by ``overrides``."""
    if name not in PRESETS:
        raise ValueError(f"unknown model {name!r}; choose from: {', '.join(names())}")
    arch, preset = PRESETS[name]
    cls = ARCHITECTURES[arch]
    try:
        return cls(**{**preset, **overrides})
    except TypeError as err:
        raise ValueError(f"model {name!r}: {err}") from None
