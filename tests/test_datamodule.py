"""Synthetic images, patch and validation datasets, and the datamodule end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lab import models
from sr_lab.data.datamodule import SRDataModule, decode_shard
from sr_lab.data.dataset import EpochSampler, PatchDataset, ValidationDataset
from sr_lab.data.degradation import make_degradation
from sr_lab.data.sources import FolderSource, SyntheticSource
from sr_lab.data.synthetic import synthetic_illustration

BICUBIC = make_degradation()


def test_synthetic_is_deterministic_per_seed() -> None:
    a, b = synthetic_illustration(96, 5), synthetic_illustration(96, 5)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, synthetic_illustration(96, 6))
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 50  # anti-aliased, not a few flat colours


def test_patch_pairs_are_a_function_of_epoch_and_index() -> None:
    images = [synthetic_illustration(128, s) for s in range(3)]
    data = PatchDataset(images, BICUBIC, patch_size=96, length=8, seed=1)
    lr, hr = data[(0, 3)]
    assert lr.shape == (3, 48, 48) and hr.shape == (3, 96, 96) and lr.dtype == torch.float32
    again = PatchDataset(images, BICUBIC, patch_size=96, length=8, seed=1)[(0, 3)]
    assert torch.equal(lr, again[0]) and torch.equal(hr, again[1])
    assert not torch.equal(hr, data[(1, 3)][1]) and not torch.equal(hr, data[(0, 4)][1])


def test_grid_mode_cuts_non_overlapping_cells() -> None:
    image = synthetic_illustration(200, 0)
    data = PatchDataset([image], BICUBIC, 96, length=4, grid=True, augment=False)
    sampler = EpochSampler(4, shuffle=True, seed=0)
    patches = {data[key][1].mul(255).round().byte().numpy().tobytes() for key in sampler}
    cells = {
        np.ascontiguousarray(image[y : y + 96, x : x + 96].transpose(2, 0, 1)).tobytes()
        for y in (0, 96)
        for x in (0, 96)
    }
    assert patches == cells


def test_validation_is_fixed_and_cropped_to_the_scale() -> None:
    images = [synthetic_illustration(101, 0)]
    noisy = make_degradation(jpeg=[{"first": [30, 90]}])
    first = ValidationDataset(images, noisy, seed=4)[0]
    second = ValidationDataset(images, noisy, seed=4)[0]
    assert first[1].shape == (3, 100, 100) and first[0].shape == (3, 50, 50)
    assert torch.equal(first[0], second[0])
    lr, hr = ValidationDataset(images, noisy, seed=4, crop=64)[0]
    assert hr.shape == (3, 64, 64) and lr.shape == (3, 32, 32)


def make_module(**kwargs) -> SRDataModule:
    source = SyntheticSource(train_count=4, val_count=2, size=112, seed=0)
    settings = dict(patch_size=48, batch_size=4, samples_per_epoch=16, num_workers=0)
    return SRDataModule(source, make_degradation(), **{**settings, **kwargs})


def test_datamodule_holds_uint8_images_only() -> None:
    module = make_module()
    module.setup("fit")
    assert all(img.dtype == np.uint8 for img in module.train_images + module.val_images)
    assert module.memory_bytes == 6 * 112 * 112 * 3


@pytest.mark.parametrize("channels", [1, 3])
def test_batches_with_workers_are_reproducible(channels: int) -> None:
    def first_batches(epoch: int) -> list[torch.Tensor]:
        module = make_module(num_workers=2, channels=channels)
        module.setup("fit")
        loader = module.train_dataloader()
        loader.sampler.set_epoch(epoch)
        return [hr for _, hr in loader]

    a, b, c = first_batches(0), first_batches(0), first_batches(1)
    assert len(a) == 4 and a[0].shape == (4, channels, 48, 48)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_each_rank_decodes_only_its_shard() -> None:
    source = SyntheticSource(train_count=5, val_count=2, size=32, seed=10)
    shard = decode_shard(source, "train", rank=1, world=2)
    expected = [synthetic_illustration(32, s) for s in (11, 13)]
    assert all(np.array_equal(a, b) for a, b in zip(shard, expected, strict=True))


def test_check_model_rejects_channel_and_scale_mismatch() -> None:
    module = make_module(channels=1)
    with pytest.raises(ValueError, match="model.in_channels=3 but data.channels=1"):
        module.check_model(models.build("dcscn8"))
    module.check_model(models.build("dcscn8", in_channels=1, out_channels=1))
    with pytest.raises(ValueError, match="model scale 1 but degradation scale 2"):
        make_module().check_model(models.build("vgg7", scale=1))


def write_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(synthetic_illustration(64, i)).save(folder / f"{i}.png")


def test_folder_source_takes_a_list_of_folders(tmp_path: Path) -> None:
    for name, count in (("a", 2), ("b", 3)):
        (tmp_path / name).mkdir()
        for i in range(count):
            Image.fromarray(synthetic_illustration(32, i)).save(tmp_path / name / f"{i}.png")
    source = FolderSource([tmp_path / "a", tmp_path / "b"], val=[tmp_path / "b"])
    keys = source.keys("train")
    assert [(p.parent.name, p.name) for p in keys] == [
        ("a", "0.png"),
        ("a", "1.png"),
        ("b", "0.png"),
        ("b", "1.png"),
        ("b", "2.png"),
    ]
    assert len(source.keys("val")) == 3
    assert source.location("train") == f"{tmp_path / 'a'}, {tmp_path / 'b'}"


def test_folder_source_holds_out_validation(tmp_path: Path) -> None:
    write_images(tmp_path / "train", 5)
    (tmp_path / "train" / "00_broken.png").write_bytes(b"x")
    source = FolderSource(tmp_path / "train", val_count=2)
    assert [p.name for p in source.keys("val")] == ["3.png", "4.png"]
    with pytest.warns(UserWarning, match="skipped 1 unreadable train image"):
        train = decode_shard(source, "train", 0, 1)
    assert len(train) == 3
    with pytest.raises(ValueError, match="give a val folder or a val_count"):
        FolderSource(tmp_path / "train")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 47}, "patch_size 47 must be a multiple of the scale 2"),
        ({"channels": 2}, "channels must be 1"),
        ({"val_batch_size": 4}, "needs val_crop"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_module(**kwargs)


def test_folder_of_only_broken_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.png").write_bytes(b"x")
    source = FolderSource(tmp_path / "train", tmp_path / "train")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="train: no readable train"):
        decode_shard(source, "train", 0, 1)
