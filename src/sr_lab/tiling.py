"""The inference engine: exact tiled inference and test-time augmentation, run as one
``InferenceOptions`` object says.

The image is replicate-padded by the model's context once (as waifu2x pads), then cut into
tiles of ``tile`` input pixels that each carry the context on every side, run in batches and
stitched. Every output pixel sees exactly the input it would see in one whole-image pass, so
the result equals ``inference.run_padded`` while memory depends on the tile, not the image.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sr_lab import dihedral
from sr_lab.models.base import SRModel

TTA_LEVELS = (1, 2, 4, 8)
PRECISIONS = ("fp32", "bf16")
BACKENDS = ("torch", "onnxruntime")
Progress = Callable[[int], None]


@contextlib.contextmanager
def exact_kernels(enabled: bool = True) -> Iterator[None]:
    """On CPU, oneDNN picks convolution algorithms by input size, so the same pixel can come out
    an ulp apart in a tile and in the whole image; ATen's own kernels do not. ``enabled`` trades
    oneDNN's speed (about 1.5x on 2 cores) for that exactness."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = previous and not enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


@dataclass(frozen=True)
class InferenceOptions:
    """How models run, from the CLIs and configs to the engine: tile side (input pixels),
    tiles per forward pass, TTA level, precision (fp32 | bf16 autocast), channels_last weights,
    exact kernels (bit-identical tiling on CPU), the device, and the backend (PyTorch, or the
    model exported to ONNX and run by onnxruntime on the CPU)."""

    tile: int = 256
    batch: int = 1
    tta: int = 1
    precision: str = "fp32"
    channels_last: bool = False
    exact: bool = True
    device: str = "cpu"
    backend: str = "torch"

    def __post_init__(self) -> None:
        if not (isinstance(self.tile, int) and isinstance(self.batch, int)):
            raise ValueError(f"tile and batch must be integers, got {self.tile!r}, {self.batch!r}")
        if self.tile < 1 or self.batch < 1:
            raise ValueError(
                f"tile and batch must be >= 1, got tile={self.tile}, batch={self.batch}"
            )
        if self.tta not in TTA_LEVELS:
            raise ValueError(f"tta must be one of {TTA_LEVELS}, got {self.tta}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "onnxruntime" and (self.precision, self.device) != ("fp32", "cpu"):
            raise ValueError("the onnxruntime backend runs fp32 on the CPU (export --fp16 instead)")

    def prepare(self, model: SRModel) -> SRModel:
        """``model`` in eval mode on the device, in the memory format these options ask for;
        for the onnxruntime backend, exported to ONNX (unless it is an ONNX graph already)."""
        if self.backend == "onnxruntime":
            from sr_lab.onnx_graph import OnnxRuntimeModel, onnx_bytes

            if not isinstance(model, OnnxRuntimeModel):
                model = OnnxRuntimeModel(onnx_bytes(model))
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        return model.eval().to(self.device, memory_format=layout)

    @contextlib.contextmanager
    def runtime(self) -> Iterator[None]:
        """Kernels and autocast as asked; fp32 leaves any caller's autocast as it is."""
        with exact_kernels(self.exact), contextlib.ExitStack() as stack:
            if self.precision == "bf16":
                stack.enter_context(torch.autocast(torch.device(self.device).type, torch.bfloat16))
            yield


def placement(model: SRModel) -> tuple[torch.device, torch.dtype]:
    """Where ``model`` runs and in what dtype: its parameters', or fp32 on the CPU for a model
    without any (an onnxruntime graph)."""
    param = next(model.parameters(), None)
    if param is None:
        return torch.device("cpu"), torch.float32
    return param.device, param.dtype


DEFAULT_OPTIONS = InferenceOptions()


def _tile_origins(size: int, tile: int) -> list[int]:
    return list(range(0, size, tile))


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@torch.inference_mode()
def upscale_tiled(
    model: SRModel,
    x: torch.Tensor,
    options: InferenceOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Super-resolve a (1, C, H, W) image tile by tile, as the mean over the first
    ``options.tta`` dihedral variants of the input, each mapped back (``sr_lab.dihedral``).
    Without TTA, bit-identical on CPU to ``run_padded`` with the same options. ``progress`` is
    called with the tiles finished after each batch."""
    if x.shape[0] != 1:
        raise ValueError(f"upscale_tiled takes one image (1, C, H, W), got batch {x.shape[0]}")
    total = None
    with options.runtime():
        for variant in range(options.tta):
            moved = dihedral.transform(x, variant).contiguous()
            y = _upscale_tiled(model, moved, options.tile, options.batch, progress)
            y = dihedral.invert(y, variant)
            total = y if total is None else total + y
    return total if options.tta == 1 else total / options.tta


def _upscale_tiled(
    model: SRModel, x: torch.Tensor, tile: int, batch: int, progress: Progress | None
) -> torch.Tensor:
    device, dtype = placement(model)
    c, excess = model.padding()
    s = model.scale
    _, channels, h, w = x.shape
    tile = min(tile, max(h, w))
    ys, xs = _tile_origins(h, tile), _tile_origins(w, tile)
    # replicate-pad by the context, and further at the bottom/right so every tile is full size
    extra_h, extra_w = ys[-1] + tile - h, xs[-1] + tile - w
    padded = F.pad(x.to(device, dtype), (c, c + extra_w, c, c + extra_h), "replicate")
    out = torch.empty(
        1,
        model.out_channels,
        s * (h + extra_h),
        s * (w + extra_w),
        dtype=dtype,
        device=device,
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


def tile_count(height: int, width: int, options: InferenceOptions) -> int:
    """How many tiles ``upscale_tiled`` runs for an image (for progress bars)."""
    tile = min(options.tile, max(height, width))
    return options.tta * len(_tile_origins(height, tile)) * len(_tile_origins(width, tile))
