"""Models by name. Each name is a preset in ``conf/model/NAME.yaml`` (an architecture class
and its arguments), the one place presets are written: Hydra composes the same files for
training, and ``build`` reads them for library code (following their ``defaults`` lists)."""

from __future__ import annotations

import functools
from typing import Any

from omegaconf import OmegaConf

from sr_lab.config import CONF_DIR
from sr_lab.models.base import SRModel
from sr_lab.models.dcscn import DCSCN
from sr_lab.models.espcn import ESPCN7
from sr_lab.models.waifu2x import Upconv7, Vgg7

ARCHITECTURES: dict[str, type[SRModel]] = {cls.arch: cls for cls in (Upconv7, Vgg7, DCSCN, ESPCN7)}
MODEL_CONF = CONF_DIR / "model"


def names() -> list[str]:
    """Every name ``build`` accepts."""
    return sorted(p.stem for p in MODEL_CONF.glob("*.yaml"))


def arch_of_target(target: str) -> type[SRModel]:
    """The architecture class a config's ``_target_`` (e.g. ``sr_lab.models.DCSCN``) names."""
    by_name = {cls.__name__: cls for cls in ARCHITECTURES.values()}
    cls = by_name.get(target.rpartition(".")[2])
    if cls is None or not target.startswith("sr_lab.models"):
        raise ValueError(f"{target!r} is not an sr_lab model class")
    return cls


@functools.cache
def _values(name: str) -> dict[str, Any]:
    path = MODEL_CONF / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown model {name!r}; choose from: {', '.join(names())}")
    own = OmegaConf.to_container(OmegaConf.load(path))
    defaults = own.pop("defaults", [])
    if "_self_" not in defaults:  # Hydra merges a file's own values last unless told
        defaults = [*defaults, "_self_"]
    values: dict[str, Any] = {}
    for entry in defaults:
        values.update(own if entry == "_self_" else _values(entry))
    return values


def preset(name: str) -> tuple[type[SRModel], dict[str, Any]]:
    """The architecture and constructor arguments of the preset called ``name``."""
    values = dict(_values(name))
    return arch_of_target(values.pop("_target_")), values


def build(name: str, **overrides: Any) -> SRModel:
    """Build the model called ``name`` with its preset arguments, updated by ``overrides``."""
    cls, arguments = preset(name)
    try:
        return cls(**{**arguments, **overrides})
    except TypeError as err:
        raise ValueError(f"model {name!r}: {err}") from None
