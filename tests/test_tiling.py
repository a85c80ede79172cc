"""Tiled inference equals whole-image inference bit for bit; TTA is equivariant."""

from __future__ import annotations

import pytest
import torch

from sr_lab import models
from sr_lab.inference import run_padded
from sr_lab.tiling import dihedral_pairs, tile_count, upscale_tiled, upscale_tta


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", ["upconv7", "vgg7", "dcscn12", "dcscn8", "espcn7"])
def test_tiles_equal_the_whole_image_exactly(name: str, image: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = models.build(name).eval()
    whole = run_padded(model, image)
    assert whole.shape == (1, 3, 74, 106)
    for tile in (8, 17, 37, 64, 256):  # smaller than, not dividing, equal to, larger than
        for batch in (1, 3):
            assert torch.equal(upscale_tiled(model, image, tile, batch), whole), (tile, batch)


def test_vgg7_denoiser_tiles_exactly(image: torch.Tensor) -> None:
    model = models.build("vgg7", scale=1).eval()
    assert torch.equal(upscale_tiled(model, image, 10, 2), run_padded(model, image))


def test_fast_kernels_stay_close(image: torch.Tensor) -> None:
    model = models.build("dcscn8").eval()
    fast = upscale_tiled(model, image, 17, 2, exact=False)
    assert torch.allclose(fast, run_padded(model, image), atol=1e-5, rtol=0)


def test_progress_counts_every_tile(image: torch.Tensor) -> None:
    seen: list[int] = []
    upscale_tta(models.build("vgg7").eval(), image, tta=2, tile=16, batch=4, progress=seen.append)
    assert sum(seen) == tile_count(37, 53, 16, tta=2) == 2 * 3 * 4


def test_dihedral_pairs_invert() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    pairs = dihedral_pairs(8)
    outputs = {tuple(forward(x).flatten().tolist()) for forward, _ in pairs}
    assert len(outputs) == 8
    assert all(torch.equal(inverse(forward(x)), x) for forward, inverse in pairs)
    assert len(dihedral_pairs(2)) == 2 and len(dihedral_pairs(4)) == 4


@pytest.mark.parametrize("tta", [2, 4, 8])
def test_tta_is_equivariant_to_its_transforms(tta: int, image: torch.Tensor) -> None:
    model = models.build("upconv7").eval()
    base = upscale_tta(model, image, tta=tta, tile=32)
    for forward, _ in dihedral_pairs(tta):
        moved = upscale_tta(model, forward(image).contiguous(), tta=tta, tile=32)
        assert torch.allclose(moved, forward(base), atol=1e-6, rtol=0)


def test_one_image_at_a_time(image: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="takes one image"):
        upscale_tiled(models.build("vgg7").eval(), image.expand(2, -1, -1, -1))


def test_tta_1_is_plain_tiling(image: torch.Tensor) -> None:
    model = models.build("espcn7").eval()
    assert torch.equal(upscale_tta(model, image, tta=1, tile=20), upscale_tiled(model, image, 20))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tta": 3}, "tta must be one of"), ({"tile": 0}, "tile and batch must be >= 1")],
)
def test_bad_arguments(kwargs: dict, message: str, image: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=message):
        upscale_tta(models.build("vgg7").eval(), image, **kwargs)
