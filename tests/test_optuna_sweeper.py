"""sr_lab's Optuna sweeper (hydra/sweeper=sr_lab_optuna) on a toy Hydra app: search space,
resumed studies that continue, and debug trials kept out of the real study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

APP = """
import hydra

@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg):
    return -(cfg.x - 1) ** 2 + (cfg.y == "b") + cfg.z

main()
"""

CONFIG = """
defaults:
  - override hydra/sweeper: sr_lab_optuna
x: 0.0
y: a
z: 1
debug: null
hydra:
  mode: MULTIRUN
  sweep:
    dir: {sweep}
  sweeper:
    storage: sqlite:///{db}
    study_name: toy
    n_trials: 3
    sampler:
      _target_: optuna.samplers.TPESampler
      seed: 0
      n_startup_trials: 2
    params:
      x: tag(log, interval(0.1, 3.0))
      y: choice(a, b)
      z: range(1, 6, 2)
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    sweep, db = tmp_path / "sweep", tmp_path / "study.db"
    (tmp_path / "config.yaml").write_text(CONFIG.format(sweep=sweep, db=db))
    return tmp_path


def sweep(app: Path, *overrides: str) -> None:
    done = subprocess.run(
        [sys.executable, "app.py", *overrides], cwd=app, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def trials(app: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{app / 'study.db'}").trials


def test_search_space_and_results(app: Path) -> None:
    sweep(app)
    found = trials(app, "toy")
    assert len(found) == 3 and all(t.state.name == "COMPLETE" for t in found)
    for t in found:
        assert 0.1 <= t.params["x"] <= 3.0 and t.params["y"] in ("a", "b")
        assert t.params["z"] in (1, 3, 5)
        assert t.value == pytest.approx(
            -((t.params["x"] - 1) ** 2) + (t.params["y"] == "b") + t.params["z"]
        )
    results = yaml.safe_load((app / "sweep" / "optimization_results.yaml").read_text())
    assert results["best_value"] == max(t.value for t in found)


def test_a_resumed_study_continues_without_repeating(app: Path) -> None:
    sweep(app)
    sweep(app, "hydra.sweeper.n_trials=5")
    found = trials(app, "toy")
    assert len(found) == 5
    assert len({t.params["x"] for t in found}) == 5  # the new trials are not the first ones again
    assert sorted(p.name for p in (app / "sweep").iterdir() if p.is_dir()) == [
        str(i) for i in range(5)
    ]


def test_debug_trials_stay_out_of_the_real_study(app: Path) -> None:
    sweep(app, "debug=smoke", "hydra.sweeper.n_trials=2")
    names = optuna.get_all_study_names(storage=f"sqlite:///{app / 'study.db'}")
    assert names == ["toy-debug"] and len(trials(app, "toy-debug")) == 2
