"""Training entry point: ``python -m sr_lab.train model=dcscn12 loss=l1 [key=value ...]``.

Composes the Hydra config (conf/train.yaml), checks it, and trains with Lightning. ``train``
is the library function (tests call it directly); ``main`` is the thin command-line wrapper.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, ListConfig, OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger

from sr_lab import models
from sr_lab.checks import number, whole
from sr_lab.cli import exit_on_version, remove_stub, run_hydra, run_or_exit
from sr_lab.config import CONF_DIR, build  # importing it registers the configs' resolvers
from sr_lab.models.base import SRModel
from sr_lab.module import SRModule


def check_config(cfg: DictConfig, model: SRModel) -> None:
    """Out-of-range values fail here, with one line, before any data is loaded."""
    number("optimizer.lr", cfg.optimizer.lr, 0, low_open=True)
    for key in ("patch_size", "batch_size", "samples_per_epoch"):
        whole(f"data.{key}", cfg.data[key], 1)
    patch, scale = cfg.data.patch_size, cfg.degradation.scale
    if model.output_size(patch // scale, patch // scale)[0] < 1:
        raise ValueError(
            f"data.patch_size {patch} is too small for {model.arch}: it loses {model.offset} "
            f"output pixels on each side (use at least {2 * model.offset + 2 * scale})"
        )


def check_resume(ckpt: Path, model: SRModel) -> None:
    """Resuming needs a checkpoint of the same network: one line if it is another."""
    saved = models.load(ckpt)  # a ModelFileError (one line) if it is no checkpoint at all
    if (saved.arch, saved.config) != (model.arch, model.config):
        raise ValueError(
            f"ckpt_path {ckpt} holds a {saved.arch} {saved.config}, but the config builds a "
            f"{model.arch} {model.config}: resume with the run's own model settings"
        )


def log_hyperparameters(trainer: pl.Trainer, cfg: DictConfig) -> None:
    """Every config value as hparams; TensorBoard's hparams view tracks val/psnr_best."""
    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics={"val/psnr_best": 0.0})
        else:
            logger.log_hyperparams(params)


def quiet_lightning() -> None:
    """Keep Lightning's product tips and two known-harmless warnings (a deprecation inside
    Lightning, and the size estimate it cannot make for mixed precision) off the console."""
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
        lambda record: not record.getMessage().startswith("\N{ELECTRIC LIGHT BULB} Tip")
    )
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r"Precision .* is not supported by the model summary")


def train(cfg: DictConfig) -> dict[str, float]:
    """Train as ``cfg`` says; return the final logged metrics."""
    quiet_lightning()
    pl.seed_everything(whole("seed", cfg.seed, 0), workers=True)
    model = build(cfg, "model")
    check_config(cfg, model)
    if cfg.ckpt_path is not None:
        check_resume(Path(cfg.ckpt_path), model)
    data = build(cfg, "data")
    data.check_model(model)
    module = SRModule(
        model,
        build(cfg, "loss"),
        build(cfg, "optimizer"),
        build(cfg, "scheduler"),
        build(cfg, "metrics"),
        channels_last=cfg.channels_last,
    )
    callbacks = [build(cfg.callbacks, name) for name in cfg.callbacks]
    loggers = [build(cfg.logger, name) for name in cfg.get("logger") or {}]
    trainer = build(cfg, "trainer", callbacks=callbacks, logger=loggers or False)
    log_hyperparameters(trainer, cfg)
    trainer.fit(module, datamodule=data, ckpt_path=cfg.ckpt_path)
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def hydra_main(cfg: DictConfig) -> float | None:
    try:
        return run_or_exit(train, cfg).get(cfg.optimized_metric)
    except SystemExit:
        remove_stub(Path(cfg.paths.output_dir))
        raise


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def resume_arguments(argv: list[str]) -> list[str]:
    """``ckpt_path=RUN/checkpoints/X.ckpt`` resumes that run: RUN's saved overrides come first
    (the command line's own win), and the run writes to RUN again."""
    ckpt = next((a.split("=", 1)[1] for a in argv if _key(a) == "ckpt_path"), None)
    saved = Path(ckpt or ".").resolve().parent.parent / ".hydra" / "overrides.yaml"
    if ckpt is None or not saved.is_file():
        return argv
    given = {_key(a) for a in argv if "=" in a}
    old = OmegaConf.load(saved)
    kept = [o for o in old if _key(o) not in given] if isinstance(old, ListConfig) else []
    run_dir = [] if "hydra.run.dir" in given else [f"hydra.run.dir={saved.parent.parent}"]
    return [*kept, *argv, *run_dir]


def main() -> None:
    """The console entry point: ``--version``, or Hydra's command line (a resumed run's
    saved overrides added first)."""
    exit_on_version()
    sys.argv[1:] = resume_arguments(sys.argv[1:])
    run_hydra(hydra_main)


if __name__ == "__main__":
    main()
