"""The LightningDataModule: HR images decoded once into memory as uint8 (each DDP rank only
its shard), random patches degraded fresh every epoch in workers, fixed validation pairs.

Run it with ``use_distributed_sampler=False`` in the Trainer: sharding is done here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytorch_lightning as pl
from torch.utils.data import DataLoader

from sr_lab.checks import whole
from sr_lab.data.dataset import EpochSampler, PatchDataset, ValidationDataset
from sr_lab.data.degradation import Degradation
from sr_lab.data.image import ImageError
from sr_lab.data.sources import FolderSource, SyntheticSource


def decode_shard(
    source: FolderSource | SyntheticSource,
    split: str,
    rank: int,
    world: int,
    limit: int | None = None,
) -> list[np.ndarray]:
    """This rank's images of ``split`` (at most ``limit``); unreadable files are skipped with
    one counting warning."""
    images, bad = [], []
    for key in source.keys(split)[rank::world][:limit]:
        try:
            images.append(source.decode(key))
        except ImageError as err:
            bad.append(str(err))
    where = source.location(split)
    if bad:
        warnings.warn(
            f"{where}: skipped {len(bad)} unreadable {split} image(s), e.g. {bad[0]}", stacklevel=2
        )
    if not images:
        raise ImageError(where, f"no readable {split} images")
    return images


class SRDataModule(pl.LightningDataModule):
    """(LR, HR) batches for any source and degradation.

    ``samples_per_epoch`` patches per epoch over all ranks; ``grid=True`` cuts the seed's
    non-overlapping grid instead of random positions; ``channels=1`` trains on Y.
    """

    def __init__(
        self,
        source: FolderSource | SyntheticSource,
        degradation: Degradation,
        patch_size: int = 96,
        batch_size: int = 16,
        samples_per_epoch: int = 4096,
        grid: bool = False,
        augment: bool = True,
        channels: int = 3,
        val_crop: int | None = None,
        val_batch_size: int = 1,
        num_workers: int = 2,
        pin_memory: bool = False,
        limit_images: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 (Y) or 3 (RGB), got {channels}")
        if patch_size < 2 * degradation.scale or patch_size % degradation.scale:
            raise ValueError(
                f"data.patch_size {patch_size} must be a multiple of the scale {degradation.scale}"
            )
        whole("data.val_crop", val_crop, 2 * degradation.scale, optional=True)
        whole("data.val_batch_size", val_batch_size, 1)
        whole("data.num_workers", num_workers, 0)
        whole("data.limit_images", limit_images, 1, optional=True)
        if val_batch_size > 1 and val_crop is None:
            raise ValueError("data.val_batch_size > 1 needs val_crop (whole images differ)")
        self.source, self.degradation = source, degradation
        self.patch_size, self.batch_size, self.samples = patch_size, batch_size, samples_per_epoch
        self.grid, self.augment, self.channels = grid, augment, channels
        self.val_crop, self.val_batch_size = val_crop, val_batch_size
        self.num_workers, self.pin_memory, self.seed = num_workers, pin_memory, seed
        self.limit_images = limit_images
        self.train_images: list[np.ndarray] = []
        self.val_images: list[np.ndarray] = []

    def _rank_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def check_model(self, model) -> None:
        """Fail early, with one line, where the model cannot consume this data."""
        if model.in_channels != self.channels:
            raise ValueError(
                f"model.in_channels={model.in_channels} but data.channels="
                f"{self.channels}: set both to 1 (Y) or 3 (RGB)"
            )
        if model.scale != self.degradation.scale:
            raise ValueError(
                f"model scale {model.scale} but degradation scale {self.degradation.scale}"
            )

    @property
    def memory_bytes(self) -> int:
        """Bytes of decoded images this rank holds (uint8, nothing else per image)."""
        return sum(img.nbytes for img in self.train_images + self.val_images)

    def setup(self, stage: str | None = None) -> None:
        rank, world = self._rank_world()
        if not self.train_images and stage in (None, "fit"):
            self.train_images = decode_shard(self.source, "train", rank, world, self.limit_images)
        if not self.val_images:
            self.val_images = decode_shard(self.source, "val", rank, world, self.limit_images)
        self.rank, self.world = rank, world

    def train_dataloader(self) -> DataLoader:
        length = max(self.batch_size, self.samples // self.world)
        dataset = PatchDataset(
            self.train_images,
            self.degradation,
            self.patch_size,
            length,
            self.seed,
            self.rank,
            self.grid,
            self.augment,
            self.channels,
        )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochSampler(length, shuffle=self.grid, seed=self.seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            drop_last=True,
        )

    def val_dataloader(self) -> DataLoader:
        dataset = ValidationDataset(
            self.val_images, self.degradation, self.seed, self.val_crop, self.channels
        )
        return DataLoader(
            dataset,
            batch_size=self.val_batch_size,
            num_workers=min(self.num_workers, 1),
            pin_memory=self.pin_memory,
        )
