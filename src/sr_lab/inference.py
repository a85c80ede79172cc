"""Whole-image inference with waifu2x's edge handling; the tiling engine must equal this."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sr_lab.data.colour import rgb_to_ycbcr, ycbcr_to_rgb
from sr_lab.data.image import pil_to_tensor, tensor_to_pil
from sr_lab.models.base import SRModel


@contextlib.contextmanager
def exact_kernels(enabled: bool = True) -> Iterator[None]:
    """On CPU, oneDNN picks convolution algorithms by input size, so the same pixel can come out
    an ulp apart in a tile and in the whole image; ATen's own kernels do not. ``enabled`` trades
    that exactness for oneDNN's speed (about 1.5x on 2 cores)."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = previous and not enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


@torch.inference_mode()
def run_padded(model: SRModel, x: torch.Tensor, exact: bool = True) -> torch.Tensor:
    """Super-resolve a (B, C, H, W) batch to exactly (B, C', scale*H, scale*W).

    The input is replicate-padded by ``model.context`` so border pixels see real-looking
    neighbours (as waifu2x pads), and what the padding adds beyond ``offset`` is cropped.
    ``exact`` makes the result bit-identical to ``tiling.upscale_tiled`` (see exact_kernels).
    """
    with exact_kernels(exact):
        return _run_padded(model, x)


def _run_padded(model: SRModel, x: torch.Tensor) -> torch.Tensor:
    param = next(model.parameters())
    c = model.context
    padded = F.pad(x.to(param.device, param.dtype), (c, c, c, c), mode="replicate")
    y = model(padded)
    excess = model.scale * c - model.offset
    if excess < 0:
        raise ValueError(f"{model.arch}: context {c} does not cover offset {model.offset}")
    h, w = model.scale * x.shape[-2], model.scale * x.shape[-1]
    return y[..., excess : excess + h, excess : excess + w]


def _lanczos(plane: torch.Tensor, scale: int) -> torch.Tensor:
    """Lanczos-upscale an (H, W) float plane with PIL, as waifu2x does for chroma."""
    image = Image.fromarray(plane.numpy().astype("float32"), mode="F")
    size = (image.width * scale, image.height * scale)
    return torch.from_numpy(np.asarray(image.resize(size, Image.Resampling.LANCZOS)).copy())


def _run_channels(model: SRModel, x: torch.Tensor) -> torch.Tensor:
    """Run an RGB (3, H, W) tensor through a 3-channel model, or through a Y-channel model
    (BT.601 Y, as training uses) with Cb and Cr upscaled by Lanczos."""
    if model.in_channels == 3:
        return run_padded(model, x[None])[0].clamp(0, 1)
    ycbcr = rgb_to_ycbcr(x)
    y = run_padded(model, ycbcr[None, :1])[0].float().cpu()
    chroma = torch.stack([_lanczos(ycbcr[c], model.scale) for c in (1, 2)])
    return ycbcr_to_rgb(torch.cat([y, chroma])).clamp(0, 1)


def _run_alpha(model: SRModel, alpha: torch.Tensor) -> torch.Tensor:
    """Upscale an alpha plane (1, H, W) with the model itself, so edges stay as sharp as colour."""
    if model.scale == 1:
        return alpha
    out = run_padded(model, alpha.expand(model.in_channels, -1, -1)[None])[0]
    return out.mean(dim=0, keepdim=True).clamp(0, 1)


def upscale_image(model: SRModel, image: Image.Image) -> Image.Image:
    """Super-resolve a whole PIL image; RGBA/LA keep their alpha, L stays greyscale."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "PA")
    rgb = pil_to_tensor(image.convert("RGB"))
    out = _run_channels(model, rgb)
    if has_alpha:
        alpha = pil_to_tensor(image.getchannel("A"))
        out = torch.cat([out, _run_alpha(model, alpha)])
    result = tensor_to_pil(out)
    if mode in ("L", "LA", "I", "I;16", "F"):
        result = result.convert("LA" if has_alpha else "L")
    return result
