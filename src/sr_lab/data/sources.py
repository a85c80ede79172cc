"""Where HR images come from: a folder tree, or the procedural generator. A source lists cheap
keys first, so each DDP rank decodes only its own shard."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np

from sr_lab.data.image import ImageError, list_images, load_rgb
from sr_lab.data.synthetic import synthetic_illustration

Folders = str | Path | Sequence[str | Path]


def as_folders(value: Folders) -> list[Path]:
    """One folder or a list of them, as paths."""
    return [Path(value)] if isinstance(value, str | Path) else [Path(v) for v in value]


class FolderSource:
    """Images under ``train`` (a folder or a list of folders, each searched recursively);
    validation from ``val`` (likewise), or else the last ``val_count`` training files held out."""

    def __init__(self, train: Folders, val: Folders | None = None, val_count: int = 0):
        self.train = as_folders(train)
        self.val = None if val is None else as_folders(val)
        self.val_count = val_count
        if val is None and val_count < 1:
            raise ValueError("folder data: give a val folder or a val_count >= 1 to hold out")

    def keys(self, split: str) -> list[Hashable]:
        if split == "val" and self.val is not None:
            return [f for folder in self.val for f in list_images(folder)]
        files = [f for folder in self.train for f in list_images(folder)]
        if self.val is None:
            if len(files) <= self.val_count:
                raise ImageError(
                    self.location("train"),
                    f"{len(files)} images, cannot hold out {self.val_count} for validation",
                )
            return files[-self.val_count :] if split == "val" else files[: -self.val_count]
        return files

    def decode(self, key: Hashable) -> np.ndarray:
        return load_rgb(key)[0]

    def location(self, split: str) -> str:
        """Where ``split`` comes from, for messages."""
        folders = self.val if split == "val" and self.val is not None else self.train
        return ", ".join(map(str, folders))


class SyntheticSource:
    """``train_count`` + ``val_count`` procedural illustrations of ``size`` pixels square."""

    def __init__(self, train_count: int = 32, val_count: int = 4, size: int = 256, seed: int = 0):
        if min(train_count, val_count) < 1 or size < 16:
            raise ValueError("synthetic data: counts must be >= 1 and size >= 16")
        self.train_count, self.val_count, self.size, self.seed = train_count, val_count, size, seed

    def keys(self, split: str) -> list[Hashable]:
        first = self.seed if split == "train" else self.seed + self.train_count
        count = self.train_count if split == "train" else self.val_count
        return list(range(first, first + count))

    def decode(self, key: Hashable) -> np.ndarray:
        return synthetic_illustration(self.size, int(key))

    def location(self, split: str) -> str:
        """Where ``split`` comes from, for messages."""
        return f"synthetic {split} images (seed {self.keys(split)[0]})"
