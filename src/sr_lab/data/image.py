"""Conversions between PIL images and float tensors in [0, 1], with waifu2x's 8-bit rounding."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1] from an 8-bit PIL image (modes L, RGB, RGBA...)."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and round to uint8 as waifu2x's encoder does (halves round down a hair)."""
    shifted = x + (0.5 - 0.5e-7) / 255
    return shifted.clamp_(0, 1).mul_(255).floor_().to(torch.uint8)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """A PIL image (L, RGB or RGBA by channel count) from a (C, H, W) float tensor in [0, 1]."""
    array = quantize(x.detach().float().cpu()).permute(1, 2, 0).numpy()
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(array[:, :, 0] if mode == "L" else array, mode)
