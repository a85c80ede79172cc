"""Where sr_lab's Hydra configs live, and composing them from library code and tests."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose(name: str, overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config ``name`` (train, evaluate) composed with ``overrides``, as the CLI would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose(name, overrides=list(overrides))
