"""The 8 flips and transposes of an image (the dihedral group of the square): one definition
for training augmentation and test-time augmentation.

Variant bits: 1 transposes, 2 turns by 180 degrees, 4 flips left-right. Variants 0-1, 0-3 and
0-7 each form a group, so TTA over the first 2, 4 or 8 transforms the output exactly as the
input (equivariance)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)
VARIANTS = 8


def _flip(x: Array, axis: int) -> Array:
    return np.flip(x, axis) if isinstance(x, np.ndarray) else x.flip(axis)


def transform(x: Array, variant: int, axes: tuple[int, int] = (-2, -1)) -> Array:
    """Variant ``variant`` (0-7) of ``x``, whose height and width lie on ``axes`` (a view)."""
    if not 0 <= variant < VARIANTS:
        raise ValueError(f"dihedral variant must be in 0..7, got {variant}")
    height, width = axes
    if variant & 1:
        x = x.swapaxes(height, width)
    if variant & 2:
        x = _flip(_flip(x, height), width)
    return _flip(x, width) if variant & 4 else x


def invert(x: Array, variant: int, axes: tuple[int, int] = (-2, -1)) -> Array:
    """Undo ``transform(x, variant, axes)``."""
    height, width = axes
    if variant & 4:
        x = _flip(x, width)
    if variant & 2:
        x = _flip(_flip(x, height), width)
    return x.swapaxes(height, width) if variant & 1 else x
