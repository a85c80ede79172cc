"""Whole-image inference with waifu2x's edge handling; the tiling engine must equal this."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sr_lab.data.colour import rgb_to_ycbcr, ycbcr_to_rgb
from sr_lab.data.image import bytes_to_pil, image_bytes, quantize, to_8bit
from sr_lab.models.base import SRModel
from sr_lab.tiling import (
    DEFAULT_OPTIONS,
    InferenceOptions,
    Progress,
    Store,
    placement,
    upscale_tiled,
)


@torch.inference_mode()
def run_padded(
    model: SRModel, x: torch.Tensor, options: InferenceOptions = DEFAULT_OPTIONS
) -> torch.Tensor:
    """Super-resolve a (B, C, H, W) batch to exactly (B, C', scale*H, scale*W) in one pass.

    The input is replicate-padded (``model.padding``) so border pixels see real-looking
    neighbours (as waifu2x pads), and what the padding adds beyond ``offset`` is cropped. With
    ``options.exact`` the result is bit-identical to ``tiling.upscale_tiled``. Memory grows
    with the image (every layer's activations at once): for tests and measurements.
    """
    device, dtype = placement(model)
    pad, crop = model.padding()
    h, w = model.scale * x.shape[-2], model.scale * x.shape[-1]
    with options.runtime():
        padded = F.pad(x.to(device, dtype), (pad,) * 4, mode="replicate")
        return model(padded)[..., crop : crop + h, crop : crop + w]


def _lanczos(plane: torch.Tensor, scale: int) -> torch.Tensor:
    """Lanczos-upscale an (H, W) float plane with PIL, as waifu2x does for chroma."""
    image = Image.fromarray(plane.numpy().astype("float32"), mode="F")
    size = (image.width * scale, image.height * scale)
    return torch.from_numpy(np.asarray(image.resize(size, Image.Resampling.LANCZOS)).copy())


Runner = Callable[..., torch.Tensor]


def _to_bytes(x: torch.Tensor) -> torch.Tensor:
    return quantize(x.float())


def _mean_to_bytes(x: torch.Tensor) -> torch.Tensor:
    return quantize(x.float().mean(dim=1, keepdim=True))


def _run_colour(model: SRModel, rgb: torch.Tensor, run: Runner) -> torch.Tensor:
    """(3, sH, sW) uint8 from an RGB (3, H, W) tensor (uint8 or float), through a 3-channel
    model tile by tile, or through a Y-channel model (BT.601 Y, as training uses) with Cb and
    Cr upscaled by Lanczos (whole-image float planes: PIL's Lanczos does not tile)."""
    if model.in_channels == 3:
        return run(rgb[None], _to_bytes)[0]
    rgb = rgb.float().div_(255) if rgb.dtype == torch.uint8 else rgb
    ycbcr = rgb_to_ycbcr(rgb)
    y = run(ycbcr[None, :1])[0].float().cpu()
    chroma = torch.stack([_lanczos(ycbcr[c], model.scale) for c in (1, 2)])
    return quantize(ycbcr_to_rgb(torch.cat([y, chroma])))


def _run_alpha(model: SRModel, alpha: torch.Tensor, run: Runner) -> torch.Tensor:
    """Upscale a uint8 alpha plane (1, H, W) with the model itself (the mean of its output
    channels), so edges stay as sharp as colour."""
    if model.scale == 1:
        return alpha
    return run(alpha.expand(model.in_channels, -1, -1)[None], _mean_to_bytes)[0]


def fill_transparent(rgb: torch.Tensor, alpha: torch.Tensor, steps: int) -> torch.Tensor:
    """waifu2x's border fill: fully transparent pixels take the mean colour of their visible
    neighbours, grown ``steps`` pixels outwards, so the network sees no fake edge there."""
    mask = (alpha > 0).float()[None]
    rgb = (rgb * mask[0])[None]
    ones = torch.ones(1, 1, 3, 3)
    for _ in range(steps):
        weight = F.conv2d(mask, ones, padding=1)
        spread = F.conv2d(rgb.reshape(3, 1, *rgb.shape[-2:]), ones, padding=1).reshape(rgb.shape)
        fill = spread / (weight + 1e-7)
        rgb = torch.where(mask > 0, rgb, fill)
        mask = (weight > 0).float()
    return rgb[0].clamp(0, 1)


def upscale_image(
    model: SRModel,
    image: Image.Image,
    options: InferenceOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> Image.Image:
    """Super-resolve a PIL image as ``options`` say (tiled: equal to one whole-image pass);
    RGBA/LA keep their alpha (transparent pixels border-filled first), L stays greyscale."""
    if image.width < 1 or image.height < 1:
        raise ValueError(f"the image is {image.width}x{image.height}: nothing to upscale")
    image = to_8bit(image)  # 16/32-bit, float and palette images, as open_image gives them
    mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "PA")

    def run(x: torch.Tensor, store: Store | None = None) -> torch.Tensor:
        return upscale_tiled(model, x, options, progress, store)

    rgb = image_bytes(image.convert("RGB"))
    if has_alpha:
        alpha = image_bytes(image.getchannel("A"))
        rgb = fill_transparent(rgb.float().div_(255), alpha.float().div_(255), model.context)
    planes = [_run_colour(model, rgb, run).cpu()]
    if has_alpha:
        planes.append(_run_alpha(model, alpha, run).cpu())
    result = bytes_to_pil(planes[0] if len(planes) == 1 else torch.cat(planes))
    if mode in ("L", "LA"):
        result = result.convert("LA" if has_alpha else "L")
    return result


def target_size(
    size: tuple[int, int],
    scale: float | None = None,
    width: int | None = None,
    height: int | None = None,
) -> tuple[int, int]:
    """The output (width, height) for an image of ``size``: ``scale`` times it, or the given
    ``width`` and/or ``height`` keeping the aspect ratio (both: the largest size inside them)."""
    w, h = size
    if width is None and height is None:
        if scale is None or scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        return max(1, int(w * scale + 0.5)), max(1, int(h * scale + 0.5))
    if (width is not None and width < 1) or (height is not None and height < 1):
        raise ValueError("width and height must be >= 1")
    if width is not None and (height is None or width / w <= height / h):
        return width, max(1, int(h * width / w + 0.5))
    return max(1, int(w * height / h + 0.5)), height


def doublings(factor: float) -> int:
    """How many 2x passes reach a magnification of at least ``factor`` (0 for <= 1)."""
    return max(0, math.ceil(math.log2(factor) - 1e-9)) if factor > 1 else 0


def doublings_to(size: tuple[int, int], target: tuple[int, int]) -> int:
    """How many 2x passes take ``size`` to at least ``target`` in both sides."""
    return doublings(max(target[0] / size[0], target[1] / size[1]))


def resize_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize to exactly ``size`` with Pillow's antialiased Lanczos (3 lobes: the sharpest of
    its filters, so the detail the model made survives; ringing stays small), on
    premultiplied alpha so transparent pixels' colour does not bleed into visible ones."""
    if image.size == size:
        return image
    if image.mode in ("RGBA", "LA"):
        mode = image.mode
        premultiplied = image.convert("RGBA").convert("RGBa")
        return premultiplied.resize(size, Image.Resampling.LANCZOS).convert("RGBA").convert(mode)
    return image.resize(size, Image.Resampling.LANCZOS)


def upscale_to_size(
    passes: list[SRModel],
    image: Image.Image,
    size: tuple[int, int],
    options: InferenceOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> Image.Image:
    """Run the model ``passes`` in turn (``doublings_to(image.size, size)`` 2x passes, a noise
    model first if wanted), then ``resize_to`` the exact ``size``."""
    for model in passes:
        image = upscale_image(model, image, options, progress)
    return resize_to(image, size)
