"""The interpolation baselines (bicubic, lanczos, nearest), one definition for training logs
(``val/bicubic_*``, the image grid), evaluation rows, compare panels and bench: Pillow's
filter applied to the 8-bit LR image, as an image file holds it. Pillow's BICUBIC is
Catmull-Rom (a = -0.5), the same family as waifu2x's "Catrom" and MATLAB's imresize."""

from __future__ import annotations

import torch
from PIL import Image

from sr_lab.data.image import pil_to_tensor, tensor_to_pil

INTERPOLATIONS = {
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}
BASELINE = "bicubic"
DESCRIPTION = "PIL bicubic (Catmull-Rom) of the 8-bit LR"


def interpolate_image(lr: Image.Image, scale: int, name: str = BASELINE) -> Image.Image:
    """``lr`` enlarged ``scale`` times by the interpolation called ``name``."""
    if name not in INTERPOLATIONS:
        raise ValueError(
            f"unknown interpolation {name!r}; choose from: {', '.join(INTERPOLATIONS)}"
        )
    return lr.resize((lr.width * scale, lr.height * scale), INTERPOLATIONS[name])


def interpolate(lr: torch.Tensor, scale: int, name: str = BASELINE) -> torch.Tensor:
    """A (B, C, h, w) batch in [0, 1] (C = 1 or 3) enlarged by ``interpolate_image``, each
    image rounded to 8 bits first; returned as float32 on the batch's device."""
    images = [interpolate_image(tensor_to_pil(x), scale, name) for x in lr]
    return torch.stack([pil_to_tensor(image) for image in images]).to(lr.device)
