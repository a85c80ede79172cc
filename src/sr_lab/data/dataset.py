"""Datasets of (LR, HR) float pairs cut from in-memory uint8 images and degraded on the fly
(in DataLoader workers), each pair a pure function of (seed, rank, epoch, sample)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from sr_lab import dihedral
from sr_lab.data.colour import rgb_to_y
from sr_lab.data.degradation import Degradation

VAL_STREAM = 7_919  # separates the validation random stream from any training epoch


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields (epoch, index) keys, so workers seed each sample's draws by epoch and index.

    Lightning calls ``set_epoch`` at the start of every training epoch.
    """

    def __init__(self, length: int, shuffle: bool = False, seed: int = 0) -> None:
        self.length, self.shuffle, self.seed, self.epoch = length, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = np.arange(self.length)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.length)
        return ((self.epoch, int(i)) for i in order)

    def __len__(self) -> int:
        return self.length


def to_tensor(array: np.ndarray, channels: int) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1]; ``channels=1`` keeps only BT.601 Y."""
    x = torch.tensor(array).permute(2, 0, 1).float().div_(255)
    return rgb_to_y(x) if channels == 1 else x


class PatchDataset(Dataset):
    """Random ``patch_size`` HR patches (or cells of the non-overlapping grid) with a random
    flip/transpose, degraded into LR. Indexed by (epoch, index) keys from ``EpochSampler``."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        degradation: Degradation,
        patch_size: int,
        length: int,
        seed: int = 0,
        rank: int = 0,
        grid: bool = False,
        augment: bool = True,
        channels: int = 3,
    ) -> None:
        if patch_size % degradation.scale:
            raise ValueError(f"patch_size {patch_size} is not a multiple of the scale")
        usable = [img for img in images if min(img.shape[:2]) >= patch_size]
        if not usable:
            raise ValueError(f"no image is at least {patch_size}x{patch_size} pixels")
        self.images, self.degradation, self.patch = usable, degradation, patch_size
        self.length, self.seed, self.rank = length, seed, rank
        self.augment, self.channels = augment, channels
        p = patch_size
        if grid:
            self.cells = np.array(
                [
                    (i, y, x)
                    for i, img in enumerate(usable)
                    for y in range(0, img.shape[0] - p + 1, p)
                    for x in range(0, img.shape[1] - p + 1, p)
                ]
            )
        else:
            self.cells = None
            area = np.array([(h - p + 1) * (w - p + 1) for h, w, _ in (i.shape for i in usable)])
            self.weights = area / area.sum()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = key
        rng = np.random.default_rng([self.seed, self.rank, epoch, index])
        if self.cells is not None:  # the sampler shuffles; each index is one grid cell
            i, y, x = (int(v) for v in self.cells[index % len(self.cells)])
        else:
            i = int(rng.choice(len(self.images), p=self.weights))
            h, w = self.images[i].shape[:2]
            y, x = int(rng.integers(h - self.patch + 1)), int(rng.integers(w - self.patch + 1))
        hr = self.images[i][y : y + self.patch, x : x + self.patch]
        variant = int(rng.integers(dihedral.VARIANTS)) if self.augment else 0
        hr = np.ascontiguousarray(dihedral.transform(hr, variant, axes=(0, 1)))
        lr = self.degradation(hr, rng)
        return to_tensor(lr, self.channels), to_tensor(hr, self.channels)


class ValidationDataset(Dataset):
    """Whole images (cropped to a multiple of the scale) or fixed centre crops, with a
    degradation seeded per image only: identical in every epoch and every run."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        degradation: Degradation,
        seed: int = 0,
        crop: int | None = None,
        channels: int = 3,
    ) -> None:
        self.images, self.degradation, self.seed = images, degradation, seed
        self.crop, self.channels = crop, channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, s = self.images[index], self.degradation.scale
        h, w = image.shape[:2]
        ch, cw = (min(h, self.crop), min(w, self.crop)) if self.crop else (h, w)
        ch, cw = ch - ch % s, cw - cw % s
        y, x = (h - ch) // 2, (w - cw) // 2
        hr = np.ascontiguousarray(image[y : y + ch, x : x + cw])
        lr = self.degradation(hr, np.random.default_rng([self.seed, VAL_STREAM, index]))
        return to_tensor(lr, self.channels), to_tensor(hr, self.channels)
