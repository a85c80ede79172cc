"""Exact tiled inference and test-time augmentation.

The image is replicate-padded by ``model.context`` once (as waifu2x pads), then cut into tiles
of ``tile`` input pixels that each carry ``context`` extra pixels on every side, run in batches
and stitched. Every output pixel sees exactly the input it would see in one whole-image pass,
so the result equals ``inference.run_padded`` while memory depends on the tile, not the image.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from sr_lab.models.base import SRModel

TTA_LEVELS = (1, 2, 4, 8)


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


def _tile_origins(size: int, tile: int) -> list[int]:
    return list(range(0, size, tile))


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@torch.inference_mode()
def upscale_tiled(
    model: SRModel,
    x: torch.Tensor,
    tile: int = 256,
    batch: int = 1,
    progress: Callable[[int], None] | None = None,
    exact: bool = True,
) -> torch.Tensor:
    """Super-resolve a (1, C, H, W) image tile by tile; bit-identical to ``run_padded`` with
    the same ``exact`` on CPU (see ``inference.exact_kernels``).

    ``progress`` is called with the number of tiles finished after each batch.
    """
    with exact_kernels(exact):
        return _upscale_tiled(model, x, tile, batch, progress)


def _upscale_tiled(
    model: SRModel,
    x: torch.Tensor,
    tile: int,
    batch: int,
    progress: Callable[[int], None] | None,
) -> torch.Tensor:
    if tile < 1 or batch < 1:
        raise ValueError(f"tile and batch must be >= 1, got tile={tile}, batch={batch}")
    param = next(model.parameters())
    c, s = model.context, model.scale
    excess = s * c - model.offset
    if excess < 0:
        raise ValueError(f"{model.arch}: context {c} does not cover offset {model.offset}")
    if x.shape[0] != 1:
        raise ValueError(f"upscale_tiled takes one image (1, C, H, W), got batch {x.shape[0]}")
    _, channels, h, w = x.shape
    tile = min(tile, max(h, w))
    ys, xs = _tile_origins(h, tile), _tile_origins(w, tile)
    # replicate-pad by the context, and further at the bottom/right so every tile is full size
    extra_h, extra_w = ys[-1] + tile - h, xs[-1] + tile - w
    padded = F.pad(x.to(param.device, param.dtype), (c, c + extra_w, c, c + extra_h), "replicate")
    out = torch.empty(
        1,
        model.out_channels,
        s * (h + extra_h),
        s * (w + extra_w),
        dtype=param.dtype,
        device=param.device,
    )
    span, core = tile + 2 * c, s * tile
    origins = [(y, x0) for y in ys for x0 in xs]
    for group in _batches(origins, batch):
        windows = torch.cat([padded[..., y : y + span, x0 : x0 + span] for y, x0 in group])
        result = model(windows)[..., excess : excess + core, excess : excess + core]
        for (y, x0), part in zip(group, result, strict=True):
            out[0, :, s * y : s * y + core, s * x0 : s * x0 + core] = part
        if progress is not None:
            progress(len(group))
    return out[..., : s * h, : s * w]


def dihedral_pairs(level: int) -> list[tuple[Callable, Callable]]:
    """(transform, inverse) pairs for TTA at ``level`` 1, 2, 4 or 8: identity or transpose,
    then a half turn, then a horizontal flip. Each level's set is a group, so the averaged
    output transforms exactly as the input does."""
    if level not in TTA_LEVELS:
        raise ValueError(f"tta must be one of {TTA_LEVELS}, got {level}")
    pairs = []
    for index in range(level):
        transpose, half_turn, hflip = index & 1, index & 2, index & 4

        def forward(t: torch.Tensor, tr=transpose, ht=half_turn, hf=hflip) -> torch.Tensor:
            t = t.transpose(-1, -2) if tr else t
            t = t.flip(-2, -1) if ht else t
            return t.flip(-1) if hf else t

        def inverse(t: torch.Tensor, tr=transpose, ht=half_turn, hf=hflip) -> torch.Tensor:
            t = t.flip(-1) if hf else t
            t = t.flip(-2, -1) if ht else t
            return t.transpose(-1, -2) if tr else t

        pairs.append((forward, inverse))
    return pairs


def upscale_tta(
    model: SRModel,
    x: torch.Tensor,
    tta: int = 1,
    tile: int = 256,
    batch: int = 1,
    progress: Callable[[int], None] | None = None,
    exact: bool = True,
) -> torch.Tensor:
    """Average of ``upscale_tiled`` over ``tta`` flipped/transposed copies of the input."""
    total = None
    for forward, inverse in dihedral_pairs(tta):
        x_t = forward(x).contiguous()
        y = inverse(upscale_tiled(model, x_t, tile, batch, progress, exact))
        total = y if total is None else total + y
    return total / tta


def tile_count(height: int, width: int, tile: int, tta: int = 1) -> int:
    """How many tiles ``upscale_tta`` runs for an image (for progress bars)."""
    tile = min(tile, max(height, width))
    return tta * len(_tile_origins(height, tile)) * len(_tile_origins(width, tile))
