"""A Hydra sweeper that asks Optuna (4.x, ask-and-tell) for each trial's overrides.

``hydra.sweeper.params`` takes Hydra's sweep syntax: ``choice(a, b)``, ``range(6, 12)`` (the
end excluded, as Hydra's range), ``interval(1e-4, 1e-2)`` and ``tag(log, interval(...))``.
Studies in a storage resume: a resumed study runs only the trials still missing, and its
sampler is seeded past the trials it already has, so it does not repeat them. Trials of a
``debug=...`` run go to the study ``NAME-debug``, never into the real one.
"""

# No ``from __future__ import annotations``: Hydra's plugin scan runs this module outside
# sys.modules, where dataclasses cannot resolve string annotations.
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


@dataclass
class OptunaSweeperConf:
    """``hydra/sweeper=sr_lab_optuna``: the study and its search space."""

    _target_: str = "hydra_plugins.sr_lab_optuna.sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sampler is made per sweep, seeded past existing trials
    storage: str | None = None  # e.g. sqlite:///outputs/optuna.db; None: in memory
    study_name: str = "sr_lab"
    direction: str = "maximize"  # or minimize: what the task function returns
    n_trials: int = 20  # trials the study holds when the sweep ends
    n_jobs: int = 1  # trials launched at once
    sampler: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None}
    )
    params: dict[str, str] = field(default_factory=dict)  # override key -> sweep expression


ConfigStore.instance().store(
    group="hydra/sweeper", name="sr_lab_optuna", node=OptunaSweeperConf, provider="sr_lab"
)


def distribution(override: Override) -> Any:
    """The Optuna distribution for one sweep override."""
    import optuna.distributions as d

    value = override.value()
    if isinstance(value, ChoiceSweep):
        return d.CategoricalDistribution([str(v) if isinstance(v, str) else v for v in value.list])
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step or 1
        if not all(float(x).is_integer() for x in (start, stop, step)):
            raise ValueError(f"{override.input_line}: range() takes integers here")
        last = start + step * ((stop - start - 1) // step)
        return d.IntDistribution(int(start), int(last), step=int(step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return d.IntDistribution(value.start, value.end, log=log)
        return d.FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(f"{override.input_line}: use choice(), range() or interval() to search")


class OptunaSweeper(Sweeper):
    """Asks the study for ``n_jobs`` trials at a time, launches them, tells it their results."""

    def __init__(self, **conf: Any) -> None:
        self.conf = OptunaSweeperConf(**OmegaConf.to_container(OmegaConf.create(conf)))
        self.launcher: Any = None
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        parser = OverridesParser.create()
        given = parser.parse_overrides(arguments)
        fixed = [o.input_line for o in given if not o.is_sweep_override()]
        searched = [o for o in given if o.is_sweep_override()]
        searched += parser.parse_overrides([f"{k}={v}" for k, v in self.conf.params.items()])
        space = {o.get_key_element(): distribution(o) for o in searched}
        debug = any(o.get_key_element() == "debug" for o in given)
        name = f"{self.conf.study_name}-debug" if debug else self.conf.study_name
        study = optuna.create_study(
            study_name=name,
            storage=self.conf.storage,
            direction=self.conf.direction,
            load_if_exists=True,
        )
        done = sum(t.state.is_finished() for t in study.trials)
        sampler = dict(self.conf.sampler)
        if sampler.get("seed") is not None:
            sampler["seed"] += done  # a resumed study draws new trials, not its first ones again
        study.sampler = instantiate(sampler)
        job = done
        while (missing := self.conf.n_trials - job) > 0:
            trials = [study.ask(space) for _ in range(min(self.conf.n_jobs, missing))]
            overrides = [
                tuple(fixed + [f"{k}={v}" for k, v in trial.params.items()]) for trial in trials
            ]
            for trial, ret in zip(
                trials, self.launcher.launch(overrides, initial_job_idx=job), strict=True
            ):
                try:
                    study.tell(trial, float(ret.return_value))
                except Exception:  # a failed run, or one that returned no number
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
            job += len(trials)
        self._write_results(study)

    def _write_results(self, study: Any) -> None:
        complete = [t for t in study.trials if t.state.name == "COMPLETE"]
        best = study.best_trial if complete else None
        results = {
            "name": study.study_name,
            "best_params": best.params if best else None,
            "best_value": best.value if best else None,
        }
        out = Path(self.config.hydra.sweep.dir) / "optimization_results.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(results), out)
