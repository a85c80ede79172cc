"""The contract every sr_lab network follows (docs/design.md): forward(lr) -> sr, plus the
geometry (scale, offset, context) from which every pad and crop in sr_lab is derived."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

CHANNEL_CHOICES = (1, 3)


class SRModel(nn.Module):
    """Base class declaring scale, offset, context and channels, and remembering its config.

    Subclasses call ``super().__init__(locals())`` first thing in their constructor, so
    ``config`` holds exactly the constructor arguments and a saved model can be rebuilt.
    """

    arch: ClassVar[str]
    scale: int
    offset: int
    context: int
    in_channels: int
    out_channels: int
    # inference on the CPU runs faster in channels_last for this architecture (bench infer)
    channels_last_cpu: ClassVar[bool] = False

    def __init__(self, arguments: dict[str, Any]) -> None:
        super().__init__()
        config = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        for key in ("in_channels", "out_channels"):
            if config[key] not in CHANNEL_CHOICES:
                raise ValueError(
                    f"{type(self).__name__}: {key} must be 1 (Y) or 3 (RGB), got {config[key]}"
                )
        self.config = dict(config)
        self.in_channels = config["in_channels"]
        self.out_channels = config["out_channels"]

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of ``forward``'s output for an input of ``height`` x ``width``."""
        return (
            self.scale * height - 2 * self.offset,
            self.scale * width - 2 * self.offset,
        )

    def padding(self) -> tuple[int, int]:
        """(pad, crop): replicate-pad the input by ``pad`` = context pixels on each side, and
        the output then carries ``crop`` = scale * context - offset extra pixels on each side
        beyond scale x the unpadded input. Tiling and whole-image inference both use it."""
        crop = self.scale * self.context - self.offset
        if crop < 0:
            raise ValueError(f"{self.arch}: context {self.context} does not cover offset")
        return self.context, crop

    def crop_target(self, hr: torch.Tensor) -> torch.Tensor:
        """The part of an HR batch that ``forward`` of its LR predicts: ``offset`` pixels
        fewer on each side (what training compares the output with)."""
        o = self.offset
        return hr[..., o : hr.shape[-2] - o, o : hr.shape[-1] - o]

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, offset={self.offset}, context={self.context}, "
            f"channels={self.in_channels}->{self.out_channels}"
        )


GRAIN = 32_768  # ATen's parallel grain size (at::internal::GRAIN_SIZE)


class PositionIndependent(nn.Module):
    """Applies an elementwise transcendental function (SELU, sigmoid) so that its result for a
    value never depends on where that value sits in the tensor.

    Multithreaded CPU kernels vectorise each thread's chunk but compute the chunk's last few
    elements with scalar code, whose exp differs by an ulp; chunk boundaries move with the
    tensor's size, so tiled and whole-image inference would differ. Padding the flattened
    tensor to a multiple of GRAIN x threads makes every chunk a whole number of vectors. Only
    done without autograd (inference); training uses the plain kernel.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or torch.is_grad_enabled():
            return self.fn(x)
        block = GRAIN * torch.get_num_threads()
        n = x.numel()
        flat = x.new_zeros(-(-n // block) * block)
        flat[:n] = x.reshape(-1)
        return self.fn(flat)[:n].view_as(x)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", "")


def make_activation(name: str, channels: int) -> nn.Module:
    """Activation by name; PReLU learns one slope per channel as in DCSCN."""
    if name == "selu":
        return PositionIndependent(F.selu)
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return nn.PReLU(channels)
    raise ValueError(f"unknown activation {name!r}; choose from: selu, prelu, relu")
