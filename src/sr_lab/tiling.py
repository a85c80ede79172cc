"""The inference engine: tiled inference and test-time augmentation, run as one
``InferenceOptions`` object says.

The image is cut into equal tiles of at most ``tile`` input pixels a side, each read with the
model's context on every side (replicate-padded at the borders, as waifu2x pads), run in
batches (all TTA variants of a tile together) and written into the output as it comes. Every
output pixel sees exactly the input it would see in one whole-image pass, so with exact kernels
the result equals ``inference.run_padded`` bit for bit. Beside the input and the output (8-bit
when the caller passes ``store=quantize``) only tile-sized buffers exist: memory depends on the
tile, not on the image.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from sr_lab import dihedral
from sr_lab.checks import whole
from sr_lab.models.base import SRModel
from sr_lab.models.subpixel import with_subpixel_upsampling

TTA_LEVELS = (1, 2, 4, 8)
PRECISIONS = ("fp32", "bf16")
BACKENDS = ("torch", "onnxruntime")
Progress = Callable[[int], None]


@contextlib.contextmanager
def exact_kernels(enabled: bool = True) -> Iterator[None]:
    """On CPU, oneDNN picks convolution algorithms by input size and batch, so the same pixel
    can come out an ulp apart in a tile and in the whole image; ATen's own kernels do not.
    ``enabled`` trades oneDNN's speed (2-3x on 2 cores, docs/benchmarks.md) for that
    exactness."""
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = previous and not enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


# glibc's mallopt parameters and their defaults (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (which has ``mallopt``), else None."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # a platform without a process-wide C library handle
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


@contextlib.contextmanager
def reused_memory() -> Iterator[None]:
    """glibc hands every freed block above 32 MB back to the kernel at once and maps fresh,
    zeroed pages for the next, so each tile's activations page-fault anew: about 20% of fp32
    upconv7 inference on 2 cores (docs/benchmarks.md). For the block, malloc keeps what is
    freed for reuse (no mmap for large blocks, no trimming); afterwards it is given back. Only
    for repeated same-shape work (tiles): one whole-image pass would fragment the heap. Not
    glibc: nothing changes."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_MAX, 0)
    libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)


@dataclass(frozen=True)
class InferenceOptions:
    """How models run, from the CLIs and configs to the engine: tile side (input pixels),
    tiles per forward pass, TTA level, precision (fp32 | bf16 autocast), channels_last layout
    (None: the model's own ``channels_last_cpu`` on the CPU, off elsewhere), exact kernels
    (ATen's, bit-identical to one whole-image pass; default oneDNN's, within float rounding),
    the device, and the backend (PyTorch, or the model exported to ONNX and run by onnxruntime
    on the CPU)."""

    tile: int = 256
    batch: int = 1
    tta: int = 1
    precision: str = "fp32"
    channels_last: bool | None = None
    exact: bool = False
    device: str = "cpu"
    backend: str = "torch"

    def __post_init__(self) -> None:
        whole("tile", self.tile, 1)
        whole("batch", self.batch, 1)
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
        without ``exact``, its transposed convolutions computed as subpixel convolutions (a
        copy: the model itself is left as it is); for the onnxruntime backend, exported to
        ONNX (unless it is an ONNX graph already)."""
        if self.backend == "onnxruntime":
            from sr_lab.onnx_graph import OnnxRuntimeModel, onnx_bytes

            if not isinstance(model, OnnxRuntimeModel):
                model = OnnxRuntimeModel(onnx_bytes(model))
        elif not self.exact:
            model = with_subpixel_upsampling(model)
        layout = torch.channels_last if self.wants_channels_last(model) else torch.contiguous_format
        return model.eval().to(self.device, memory_format=layout)

    def wants_channels_last(self, model: SRModel) -> bool:
        """The layout asked for, or (None) the one measured fastest for ``model`` on the CPU."""
        if self.channels_last is not None:
            return self.channels_last
        return self.device == "cpu" and model.channels_last_cpu

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


Store = Callable[[torch.Tensor], torch.Tensor]


def tile_grid(size: int, tile: int) -> tuple[int, list[int]]:
    """(step, origins): the fewest tiles of at most ``tile`` pixels along a side of ``size``,
    made equal (279 pixels with tile 256: two of 140, not 256 + 23 and a mostly padded one)."""
    step = -(-size // -(-size // tile))
    return step, list(range(0, size, step))


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _window(x: torch.Tensor, top: int, left: int, span: tuple[int, int]) -> torch.Tensor:
    """The (height, width) = ``span`` window of a (1, C, H, W) image at (top, left),
    replicate-padded where it leaves the image (indices clamped to the border), as one
    whole-image pad would give it."""
    rows = torch.arange(top, top + span[0]).clamp_(0, x.shape[-2] - 1)
    cols = torch.arange(left, left + span[1]).clamp_(0, x.shape[-1] - 1)
    return x[..., rows[:, None], cols]


@torch.inference_mode()
def upscale_tiled(
    model: SRModel,
    x: torch.Tensor,
    options: InferenceOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
    store: Store | None = None,
) -> torch.Tensor:
    """Super-resolve a (1, C, H, W) image, float in [0, 1] or uint8 (read as value / 255),
    tile by tile, as the mean over the first ``options.tta`` dihedral variants of each tile,
    each mapped back (``sr_lab.dihedral``). ``store`` turns each finished tile into what the
    output holds (e.g. ``data.image.quantize`` for uint8; default: the model's float output).
    With exact kernels, bit-identical on CPU to ``run_padded``. ``progress`` is called with
    the tiles finished (per TTA variant) after each batch."""
    if x.shape[0] != 1:
        raise ValueError(f"upscale_tiled takes one image (1, C, H, W), got batch {x.shape[0]}")
    device, dtype = placement(model)
    c, excess = model.padding()
    s, (h, w) = model.scale, x.shape[-2:]
    (tile_h, ys), (tile_w, xs) = tile_grid(h, options.tile), tile_grid(w, options.tile)
    span = (tile_h + 2 * c, tile_w + 2 * c)
    origins = [(y, x0) for y in ys for x0 in xs]
    out = None
    with options.runtime(), reused_memory():  # tiles of one shape: each reuses the last's memory
        for group in _batches(origins, options.batch):
            windows = torch.cat([_window(x, y - c, x0 - c, span) for y, x0 in group]).to(device)
            is_bytes = windows.dtype == torch.uint8
            windows = windows.to(dtype).div_(255) if is_bytes else windows.to(dtype)
            result = _run_variants(model, windows, options.tta, progress)
            result = result[..., excess : excess + s * tile_h, excess : excess + s * tile_w]
            result = store(result) if store is not None else result
            if out is None:
                size = (1, result.shape[1], s * h, s * w)
                layout = torch.channels_last  # (H, W, C) in memory: an image array as it is
                out = torch.empty(
                    size, dtype=result.dtype, device=result.device, memory_format=layout
                )
            for (y, x0), part in zip(group, result, strict=True):
                rows, cols = min(s * tile_h, s * (h - y)), min(s * tile_w, s * (w - x0))
                out[0, :, s * y : s * y + rows, s * x0 : s * x0 + cols] = part[:, :rows, :cols]
    return out


def _run_variants(
    model: SRModel, windows: torch.Tensor, tta: int, progress: Progress | None
) -> torch.Tensor:
    """The mean of the model's output over the first ``tta`` dihedral variants of the windows
    (all of one shape, so each variant is one batch)."""
    total = None
    for variant in range(tta):
        moved = dihedral.transform(windows, variant).contiguous()
        y = dihedral.invert(model(moved), variant)
        total = y if total is None else total + y
        if progress is not None:
            progress(len(windows))
    return total if tta == 1 else total / tta


def tile_count(height: int, width: int, options: InferenceOptions) -> int:
    """How many tiles ``upscale_tiled`` runs for an image (for progress bars)."""
    rows, cols = tile_grid(height, options.tile)[1], tile_grid(width, options.tile)[1]
    return options.tta * len(rows) * len(cols)
