"""Training callbacks: validation image grids, a one-line epoch summary, metrics.json."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_only
from tqdm import tqdm

from sr_lab.atomic import atomic_write
from sr_lab.baseline import interpolate
from sr_lab.drawing import label


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` (or smaller) window of a (..., H, W) tensor."""
    h, w = x.shape[-2:]
    ch, cw = min(h, size), min(w, size)
    y, x0 = (h - ch) // 2, (w - cw) // 2
    return x[..., y : y + ch, x0 : x0 + cw]


def pl_module_name(trainer: pl.Trainer) -> str:
    """The trained network's architecture name, for titles."""
    return trainer.lightning_module.model.arch


class ImageGrid(pl.Callback):
    """Every ``every_n_epochs``, logs to TensorBoard a grid of fixed validation crops under
    column titles: one row per image, columns bicubic | model (and step) | ground truth."""

    def __init__(self, every_n_epochs: int = 5, count: int = 4, crop: int = 96) -> None:
        self.every, self.count, self.crop = every_n_epochs, count, crop
        self.rows: list[torch.Tensor] = []

    def _active(self, trainer: pl.Trainer) -> bool:
        return not trainer.sanity_checking and trainer.current_epoch % self.every == 0

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        if not self._active(trainer) or len(self.rows) >= self.count:
            return
        lr, hr = batch
        bicubic = interpolate(lr[:1], pl_module.model.scale)
        tiles = [centre_crop(t[:1].float(), self.crop) for t in (bicubic, outputs["sr"], hr)]
        row = torch.cat([t.expand(-1, 3, -1, -1) for t in tiles], dim=-1)[0].cpu()
        self.rows.append(row)

    @rank_zero_only
    def _log(self, trainer: pl.Trainer) -> None:
        width = max(r.shape[-1] for r in self.rows)
        rows = [F.pad(r, (0, width - r.shape[-1])) for r in self.rows]
        titles = ["bicubic", f"{pl_module_name(trainer)}, step {trainer.global_step}", "truth"]
        strips = [np.asarray(label(width // 3, t)) for t in titles]
        header = torch.from_numpy(np.concatenate(strips, axis=1)).permute(2, 0, 1) / 255
        header = F.pad(header, (0, width - header.shape[-1]), value=1.0)
        grid = torch.cat([header, *rows], dim=-2).clamp(0, 1)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("val/bicubic|model|truth", grid, trainer.global_step)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if self.rows:
            self._log(trainer)
        self.rows = []


def scalar_metrics(trainer: pl.Trainer) -> dict[str, float]:
    """The trainer's logged metrics as plain floats."""
    return {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if v.numel() == 1}


def say(trainer: pl.Trainer, line: str) -> None:
    """A line on the console (through the progress bar, so it stays intact) and in the run's
    log file (``train.log``, through the ``sr_lab`` logger)."""
    bar = trainer.progress_bar_callback
    if isinstance(bar, TQDMProgressBar):  # its print() drops lines while no bar is active
        tqdm.write(line)
    else:
        (bar.print if bar is not None else print)(line)
    logging.getLogger("sr_lab").info(line)


class EpochSummary(pl.Callback):
    """The run directory at start and end, one line per training epoch (loss, validation
    PSNR, best, bicubic) and, when the console is not a terminal (no live progress bar), a
    line every ``heartbeat_s`` seconds with the step, the rate and the loss; on the console
    and in train.log."""

    def __init__(self, heartbeat_s: float = 60.0) -> None:
        self.heartbeat_s = heartbeat_s
        self.last = self.start = 0.0
        self.start_step = 0

    @rank_zero_only
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.last = self.start = time.monotonic()
        self.start_step = trainer.global_step

    @rank_zero_only
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.monotonic()
        if sys.stdout.isatty() or now - self.last < self.heartbeat_s:
            return
        self.last = now
        rate = (trainer.global_step - self.start_step) / max(now - self.start, 1e-9)
        loss = scalar_metrics(trainer).get("train/loss", math.nan)
        total = f"/{trainer.max_steps}" if trainer.max_steps > 0 else ""
        line = f"step {trainer.global_step}{total} | {rate:.2f} steps/s | train/loss {loss:.4f}"
        say(trainer, line)

    @rank_zero_only
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        say(trainer, f"run directory: {Path(trainer.default_root_dir).resolve()}")

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        best = scalar_metrics(trainer).get("val/psnr_best", math.nan)
        where = Path(trainer.default_root_dir).resolve()
        say(trainer, f"done at step {trainer.global_step}: best val/psnr {best:.2f} dB, in {where}")

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        m = scalar_metrics(trainer)
        parts = [f"epoch {trainer.current_epoch}", f"step {trainer.global_step}"]
        if "train/loss_epoch" in m:
            parts.append(f"train/loss {m['train/loss_epoch']:.4f}")
        if "val/psnr" in m:
            parts.append(
                f"val/psnr {m['val/psnr']:.2f} dB (best {m['val/psnr_best']:.2f}, "
                f"bicubic {m.get('val/bicubic_psnr', math.nan):.2f})"
            )
            parts.append(f"ssim {m['val/ssim']:.4f} ms-ssim {m['val/ms_ssim']:.4f}")
        say(trainer, " | ".join(parts))


class MetricsFile(pl.Callback):
    """Writes the final metrics (and where the run stopped) to ``path`` as JSON."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        report: dict[str, Any] = scalar_metrics(trainer)
        report.update(epoch=trainer.current_epoch, global_step=trainer.global_step)
        with atomic_write(self.path, "w") as f:
            f.write(json.dumps(report, indent=2) + "\n")
