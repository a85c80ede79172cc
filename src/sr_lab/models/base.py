"""The contract every sr_lab network follows (see DESIGN.md): forward(lr) -> sr plus geometry."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

CHANNEL_CHOICES = (1, 3)


class SRModel(nn.Module):
    """Base class declaring scale, offset, context and channels, and remembering its config.

    ``config`` holds the constructor arguments, so a saved model can be rebuilt from its file.
    """

    arch: ClassVar[str]
    scale: int
    offset: int
    context: int
    in_channels: int
    out_channels: int

    def __init__(self, **config: Any) -> None:
        super().__init__()
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

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, offset={self.offset}, context={self.context}, "
            f"channels={self.in_channels}->{self.out_channels}"
        )


def make_activation(name: str, channels: int) -> nn.Module:
    """Activation by name; PReLU learns one slope per channel as in DCSCN."""
    if name == "selu":
        return nn.SELU()
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return nn.PReLU(channels)
    raise ValueError(f"unknown activation {name!r}; choose from: selu, prelu, relu")
