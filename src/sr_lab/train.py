"""Smoke training entry point: ``python -m sr_lab.train [model=NAME] [data=...] [steps=N]``.

Trains any registered model for a few steps with a plain PyTorch loop on the configured
datamodule, then prints validation PSNR against bicubic, proving models, data, configs and
set-up work end to end.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import count, islice

import hydra
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from sr_lab.inference import run_padded


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of images in [0, 1]."""
    return 10 * math.log10(1 / F.mse_loss(a.clamp(0, 1), b).item())


def endless(loader: DataLoader) -> Iterator:
    """Batches over successive epochs, telling the sampler each new epoch."""
    for epoch in count():
        loader.sampler.set_epoch(epoch)
        yield from loader


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    torch.manual_seed(cfg.seed)
    model = instantiate(cfg.model)
    data = instantiate(cfg.data)
    data.check_model(model)
    data.setup("fit")
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    off = model.offset
    for step, (lr, hr) in enumerate(islice(endless(data.train_dataloader()), cfg.steps), 1):
        loss = F.l1_loss(model(lr), hr[..., off : hr.shape[-2] - off, off : hr.shape[-1] - off])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % cfg.log_every == 0:
            print(f"step {step:5d}  train/l1 {loss.item():.4f}", flush=True)
    model.eval()
    scores, baseline = [], []
    for lr, hr in data.val_dataloader():
        scores.append(psnr(run_padded(model, lr), hr))
        bicubic = F.interpolate(lr, scale_factor=model.scale, mode="bicubic")
        baseline.append(psnr(bicubic, hr))
    val_psnr = sum(scores) / len(scores)
    print(f"val/psnr {val_psnr:.2f} dB  (bicubic {sum(baseline) / len(baseline):.2f} dB)")
    return val_psnr


if __name__ == "__main__":
    main()
