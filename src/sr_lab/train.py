"""Smoke training entry point: ``python -m sr_lab.train [model=NAME] [steps=N]``.

Trains any registered model for a few steps on procedurally drawn shapes and prints validation
PSNR against bicubic, proving models, configs and set-up work end to end.
"""

from __future__ import annotations

import math

import hydra
import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image, ImageDraw

from sr_lab.data.image import pil_to_tensor
from sr_lab.inference import run_padded


def drawn_shapes(size: int, seed: int) -> torch.Tensor:
    """A (3, size, size) image of flat-coloured shapes with dark outlines on a gradient."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size)[None, :, None] * rng.uniform(0, 255, 3)
    image = Image.fromarray(np.broadcast_to(ramp, (size, size, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rng.integers(-size // 4, size, 2)
        x1, y1 = (x0, y0) + rng.integers(8, size // 3, 2)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=fill, outline=(20, 20, 20), width=int(rng.integers(1, 4)))
    return pil_to_tensor(image)


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic downscale of a (B, C, H, W) batch."""
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp(0, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1 / F.mse_loss(a.clamp(0, 1), b).item())


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    torch.manual_seed(cfg.seed)
    model = instantiate(cfg.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    train_image, val_image = drawn_shapes(384, cfg.seed), drawn_shapes(192, cfg.seed + 1)
    size, off = cfg.patch_size, model.offset
    for step in range(1, cfg.steps + 1):
        ys, xs = torch.randint(0, train_image.shape[-1] - size + 1, (2, cfg.batch_size))
        hr = torch.stack(
            [train_image[:, y : y + size, x : x + size] for y, x in zip(ys, xs, strict=True)]
        )
        sr = model(downscale(hr, model.scale))
        loss = F.l1_loss(sr, hr[..., off : size - off, off : size - off])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % cfg.log_every == 0:
            print(f"step {step:5d}  train/l1 {loss.item():.4f}")
    model.eval()
    hr = val_image[None]
    lr = downscale(hr, model.scale)
    sr = run_padded(model, lr)
    bicubic = F.interpolate(lr, scale_factor=model.scale, mode="bicubic")
    val_psnr = psnr(sr, hr)
    print(f"val/psnr {val_psnr:.2f} dB  (bicubic {psnr(bicubic, hr):.2f} dB)")
    return val_psnr


if __name__ == "__main__":
    main()
