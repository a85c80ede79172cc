"""Tiled inference equals whole-image inference bit for bit; TTA is equivariant; options are
checked."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from sr_lab import dihedral, models
from sr_lab.cli import add_inference_arguments, inference_options
from sr_lab.data.image import quantize
from sr_lab.inference import run_padded
from sr_lab.tiling import InferenceOptions, tile_count, upscale_tiled

EXACT = InferenceOptions(exact=True)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", ["upconv7", "vgg7", "dcscn12", "dcscn8", "espcn7"])
def test_tiles_equal_the_whole_image_exactly(name: str, image: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = models.build(name).eval()
    whole = run_padded(model, image, EXACT)
    assert whole.shape == (1, 3, 74, 106)
    for tile in (8, 17, 37, 64, 256):  # smaller than, not dividing, equal to, larger than
        for batch in (1, 2, 3, 7) if tile < 37 else (1, 2):
            options = InferenceOptions(tile=tile, batch=batch, exact=True)
            assert torch.equal(upscale_tiled(model, image, options), whole), (tile, batch)


def test_vgg7_denoiser_tiles_exactly(image: torch.Tensor) -> None:
    model = models.build("vgg7", scale=1).eval()
    tiled = upscale_tiled(model, image, InferenceOptions(tile=10, batch=2, exact=True))
    assert torch.equal(tiled, run_padded(model, image, EXACT))


@pytest.mark.parametrize("name", ["upconv7", "dcscn8"])
def test_default_fast_kernels_stay_close(name: str, image: torch.Tensor) -> None:
    model = InferenceOptions().prepare(models.build(name))
    fast = upscale_tiled(model, image, InferenceOptions(tile=17, batch=2))
    exact = run_padded(model, image, EXACT)
    difference = (fast - exact).abs().max()
    assert difference < 1e-5  # oneDNN's rounding, not a different result
    if name == "upconv7":  # its transposed convolution ran as a subpixel one: other sums
        assert difference > 0


def test_uint8_input_and_store_equal_the_float_path(image: torch.Tensor) -> None:
    model = models.build("upconv7").eval()
    as_bytes = quantize(image)
    options = InferenceOptions(tile=16, batch=3, tta=2, exact=True)
    expected = quantize(upscale_tiled(model, as_bytes.float() / 255, options))
    stored = upscale_tiled(model, as_bytes, options, store=quantize)
    assert stored.dtype == torch.uint8 and torch.equal(stored, expected)


def test_bf16_option_runs_under_autocast_and_stays_near(image: torch.Tensor) -> None:
    model = models.build("vgg7").eval()
    bf16 = upscale_tiled(model, image, InferenceOptions(tile=20, precision="bf16"))
    fp32 = upscale_tiled(model, image, InferenceOptions(tile=20))
    difference = (bf16.float() - fp32).abs().max().item()
    assert 0 < difference < 0.05  # rounded to bf16's 8 mantissa bits, not a different result


def test_prepare_applies_device_and_memory_format() -> None:
    def layout(options: InferenceOptions, name: str) -> bool:
        weight = next(options.prepare(models.build(name)).parameters())
        return weight.is_contiguous(memory_format=torch.channels_last)

    model = InferenceOptions(channels_last=True).prepare(models.build("dcscn8"))
    assert not model.training and layout(InferenceOptions(channels_last=True), "dcscn8")
    # by default, the layout bench infer measured faster on the CPU for each architecture
    assert [layout(InferenceOptions(), n) for n in ("upconv7", "vgg7", "dcscn8", "espcn7")] == [
        True,
        True,
        False,
        False,
    ]
    assert not layout(InferenceOptions(channels_last=False), "upconv7")


def test_progress_counts_every_tile(image: torch.Tensor) -> None:
    seen: list[int] = []
    options = InferenceOptions(tta=2, tile=16, batch=4)
    upscale_tiled(models.build("vgg7").eval(), image, options, progress=seen.append)
    assert sum(seen) == tile_count(37, 53, options) == 2 * 3 * 4


def test_dihedral_variants_are_distinct_and_invert_on_tensors_and_arrays() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    moved = [dihedral.transform(x, v) for v in range(8)]
    assert len({tuple(m.flatten().tolist()) for m in moved}) == 8
    assert all(torch.equal(dihedral.invert(m, v), x) for v, m in enumerate(moved))
    assert torch.equal(dihedral.transform(x, 1), x.transpose(-1, -2))
    assert torch.equal(dihedral.transform(x, 4), x.flip(-1))
    array = np.arange(24).reshape(3, 4, 2)  # (H, W, C) as training augments it
    for v in range(8):
        as_tensor = dihedral.transform(torch.from_numpy(array), v, axes=(0, 1))
        assert np.array_equal(dihedral.transform(array, v, axes=(0, 1)), as_tensor.numpy())
    with pytest.raises(ValueError, match="variant must be in 0..7"):
        dihedral.transform(x, 8)


@pytest.mark.parametrize("tta", [2, 4, 8])
def test_tta_is_equivariant_to_its_transforms(tta: int, image: torch.Tensor) -> None:
    model = models.build("upconv7").eval()
    options = InferenceOptions(tta=tta, tile=32, exact=True)
    base = upscale_tiled(model, image, options)
    for variant in range(tta):
        moved = upscale_tiled(model, dihedral.transform(image, variant).contiguous(), options)
        assert torch.allclose(moved, dihedral.transform(base, variant), atol=1e-6, rtol=0)


def test_tta_is_the_mean_of_whole_image_passes_exactly(image: torch.Tensor) -> None:
    model = models.build("upconv7").eval()
    total = None
    for variant in range(8):
        moved = run_padded(model, dihedral.transform(image, variant).contiguous(), EXACT)
        y = dihedral.invert(moved, variant)
        total = y if total is None else total + y
    options = InferenceOptions(tta=8, tile=20, batch=2, exact=True)
    assert torch.equal(upscale_tiled(model, image, options), total / 8)


def test_one_image_at_a_time(image: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="takes one image"):
        upscale_tiled(models.build("vgg7").eval(), image.expand(2, -1, -1, -1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tta": 3}, "tta must be one of"),
        ({"tile": 0}, "tile must be >= 1"),
        ({"batch": "4"}, "batch must be a whole number"),
        ({"precision": "fp16"}, "precision must be one of"),
    ],
)
def test_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InferenceOptions(**kwargs)


def test_bf16_falls_back_to_fp32_without_native_bf16(capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser()
    add_inference_arguments(parser)
    args = parser.parse_args(["--bf16"])
    assert inference_options(args, {"avx2", "fma"}).precision == "fp32"
    assert "no native bf16" in capsys.readouterr().err
    assert inference_options(args, {"avx512f", "avx512_bf16"}).precision == "bf16"
    assert capsys.readouterr().err == ""


def test_a_very_small_tile_gets_a_warning(capsys: pytest.CaptureFixture) -> None:
    parser = argparse.ArgumentParser()
    add_inference_arguments(parser)
    assert inference_options(parser.parse_args(["--tile", "8"])).tile == 8
    assert "note: --tile 8 is small" in capsys.readouterr().err
    inference_options(parser.parse_args(["--tile", "64"]))
    assert capsys.readouterr().err == ""
