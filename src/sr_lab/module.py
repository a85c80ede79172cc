"""The LightningModule: the only place that knows Lightning's training loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import MeanMetric

from sr_lab.baseline import interpolate
from sr_lab.models.base import SRModel
from sr_lab.models.files import FORMAT_KEY
from sr_lab.protocols import SRMetrics
from sr_lab.tiling import InferenceOptions, upscale_tiled

# validation runs the inference engine itself: one tile per image of up to 512 pixels, oneDNN
VALIDATION = InferenceOptions(tile=512, exact=False)


class SRModule(pl.LightningModule):
    """Trains ``model`` on (LR, HR) batches: sr = model(lr), loss against the HR part it
    predicts (``model.crop_target``). Validates whole images through the inference engine,
    logging val/psnr, val/ssim, val/ms_ssim under the metrics' protocol, the bicubic baseline
    (``sr_lab.baseline``, once) and val/psnr_best."""

    def __init__(
        self,
        model: SRModel,
        loss: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any],
        metrics: SRMetrics,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if channels_last:  # oneDNN's faster layout for convolutions (bench train measures it)
            model = model.to(memory_format=torch.channels_last)
        self.model, self.loss = model, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.metrics = metrics
        self.baseline = SRMetrics(metrics.protocol.name, metrics.channels, metrics.scale)
        self.train_loss = MeanMetric()
        self.register_buffer("best_psnr", torch.tensor(float("-inf"), dtype=torch.float64))
        self.baseline_done = False  # per process: a resumed run logs its baseline again
        # the model summary's FLOPs and in/out sizes: one 48x48 LR patch
        self.example_input_array = torch.zeros(1, model.in_channels, 48, 48)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.model(lr)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        lr, hr = batch
        loss = self.loss(self.model(lr), self.model.crop_target(hr))
        self.train_loss.update(loss.detach())
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/loss_epoch", self.train_loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        lr, hr = batch
        tiles = [upscale_tiled(self.model, x[None], VALIDATION) for x in lr]
        sr = torch.cat(tiles).float().clamp(0, 1)
        self.metrics.update(sr, hr)
        if not self.baseline_done:
            self.baseline.update(interpolate(lr, self.model.scale), hr)
        return {"sr": sr}

    def on_validation_epoch_end(self) -> None:
        scores = self.metrics.compute()
        self.metrics.reset()
        if self.trainer.sanity_checking:
            self.baseline.reset()
            return
        # torchmetrics already reduced these over ranks; sync_dist keeps Lightning's view equal
        self.log_dict({f"val/{k}": v for k, v in scores.items()}, sync_dist=True)
        self.best_psnr.fill_(max(self.best_psnr.item(), scores["psnr"].item()))
        self.log("val/psnr_best", self.best_psnr, sync_dist=True)
        if not self.baseline_done:
            base = self.baseline.compute()
            self.baseline.reset()
            self.baseline_done = True
            self.log_dict({f"val/bicubic_{k}": v for k, v in base.items()}, sync_dist=True)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(self.model.parameters())
        data = getattr(self.trainer, "datamodule", None)
        samples_per_step = getattr(data, "batch_size", 1) * self.trainer.world_size
        scheduler = self.scheduler_factory(
            optimizer,
            total_steps=int(self.trainer.estimated_stepping_batches),
            samples_per_step=samples_per_step,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the architecture so ``sr_lab.models.load`` can rebuild it from the checkpoint."""
        checkpoint[FORMAT_KEY] = {"arch": self.model.arch, "config": self.model.config}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Checkpoints from before the baseline flag stopped being saved still resume."""
        checkpoint["state_dict"].pop("baseline_done", None)
