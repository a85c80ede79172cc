"""Whole-image inference: waifu2x parity, edge handling, image modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from sr_lab import models
from sr_lab.data.colour import rgb_to_y
from sr_lab.data.image import pil_to_tensor, quantize
from sr_lab.inference import fill_transparent, run_padded, upscale_image
from sr_lab.tiling import InferenceOptions, exact_kernels

REFERENCES = {  # reference output: (model file, input image)
    "miku_small_noisy__upconv_7_art_noise1_scale2.0x.png": (
        "upconv_7/art/noise1_scale2.0x_model.json",
        "miku_small_noisy.png",
    ),
    "miku_small_noisy__upconv_7_art_scale2.0x.png": (
        "upconv_7/art/scale2.0x_model.json",
        "miku_small_noisy.png",
    ),
    "miku_small_noisy__upconv_7_photo_scale2.0x.png": (
        "upconv_7/photo/scale2.0x_model.json",
        "miku_small_noisy.png",
    ),
    "miku_noisy__vgg_7_art_noise1.png": ("vgg_7/art/noise1_model.json", "miku_noisy.png"),
}


def psnr_8bit(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize("reference", sorted(REFERENCES))
def test_matches_waifu2x_reference(waifu2x_dir: Path, reference: str) -> None:
    model_file, image_file = REFERENCES[reference]
    model = models.load(waifu2x_dir / "models" / model_file)
    out = np.asarray(upscale_image(model, Image.open(waifu2x_dir / "images" / image_file)))
    ref = np.asarray(Image.open(waifu2x_dir / "reference_outputs" / reference))
    assert out.shape == ref.shape
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() >= 0.999
    assert psnr_8bit(out, ref) > 80


def test_upconv7_edges_are_waifu2x_replicate_padding() -> None:
    torch.manual_seed(0)
    model = models.build("upconv7").eval()
    x = torch.rand(1, 3, 13, 17)
    with torch.no_grad(), exact_kernels():
        expected = model(F.pad(x, (7, 7, 7, 7), mode="replicate"))
    assert torch.equal(run_padded(model, x, InferenceOptions(exact=True)), expected)


def test_vgg7_2x_equals_waifu2x_nearest_then_pad() -> None:
    """waifu2x upscales by nearest first and pads the 2x image by 7; the model pads by 4."""
    torch.manual_seed(0)
    model = models.build("vgg7").eval()
    x = torch.rand(1, 3, 11, 14)
    big = F.interpolate(x, scale_factor=2, mode="nearest")
    with torch.no_grad():
        expected = model.body(F.pad(big, (7, 7, 7, 7), mode="replicate"))
    assert torch.allclose(run_padded(model, x), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("name", "padding"), [("upconv7", (7, 0)), ("vgg7", (4, 1)), ("dcscn8", (11, 22))]
)
def test_output_is_exactly_scale_times_input(name: str, padding: tuple[int, int]) -> None:
    model = models.build(name).eval()
    assert model.padding() == padding  # (input pad, output crop) = (context, 2 context - offset)
    assert run_padded(model, torch.rand(1, 3, 9, 10)).shape == (1, 3, 18, 20)


def test_whole_image_fast_kernels_and_bf16_stay_close() -> None:
    model = models.build("upconv7").eval()
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(1))
    exact = run_padded(model, x, InferenceOptions(exact=True))
    fast = run_padded(model, x)
    bf16 = run_padded(model, x, InferenceOptions(precision="bf16"))
    assert torch.allclose(fast, exact, atol=1e-5, rtol=0) and bf16.dtype == torch.bfloat16
    assert 0 < (bf16.float() - exact).abs().max() < 0.05


def test_quantize_rounds_like_waifu2x() -> None:
    x = torch.tensor([-0.2, 0.0, 0.49, 0.51, 1.49, 1.5, 254.5, 254.51, 255, 300]) / 255
    assert quantize(x.double()).tolist() == [0, 0, 0, 1, 1, 1, 254, 255, 255, 255]
    assert quantize(x.float()).tolist()[:5] == [0, 0, 0, 1, 1]


@pytest.mark.parametrize(
    ("mode", "out_mode"), [("RGB", "RGB"), ("RGBA", "RGBA"), ("L", "L"), ("LA", "LA")]
)
def test_modes_are_kept(mode: str, out_mode: str, random_image) -> None:
    model = models.build("vgg7").eval()
    out = upscale_image(model, random_image(mode))
    assert (out.mode, out.size) == (out_mode, (26, 20))


def test_greyscale_is_rgb_inference_converted_back(random_image) -> None:
    model = models.build("upconv7").eval()
    grey = random_image("L")
    via_rgb = upscale_image(model, grey.convert("RGB")).convert("L")
    assert np.array_equal(np.asarray(upscale_image(model, grey)), np.asarray(via_rgb))


def test_palette_with_transparency_keeps_alpha(random_image) -> None:
    image = random_image("RGBA").convert("P")
    image.info["transparency"] = 0
    assert upscale_image(models.build("vgg7").eval(), image).mode == "RGBA"


def test_transparent_pixels_take_their_neighbours_colour() -> None:
    rgb = torch.tensor([[[0.8, 0.1, 0.9, 0.3]], [[0.2, 0.7, 0.0, 0.3]], [[0.4, 0.5, 1.0, 0.3]]])
    alpha = torch.tensor([[[1.0, 0.0, 0.0, 0.5]]])
    filled = fill_transparent(rgb, alpha, steps=1)
    # each hidden pixel has one visible neighbour (pixel 0, resp. 3) and takes its colour
    assert torch.allclose(filled[:, 0, 1], rgb[:, 0, 0], atol=1e-6)
    assert torch.allclose(filled[:, 0, 2], rgb[:, 0, 3], atol=1e-6)
    both = fill_transparent(rgb[..., [0, 1, 3]], alpha[..., [0, 1, 3]], steps=1)
    assert torch.allclose(both[:, 0, 1], (rgb[:, 0, 0] + rgb[:, 0, 3]) / 2, atol=1e-6)
    assert torch.equal(filled[:, 0, [0, 3]], rgb[:, 0, [0, 3]])


def test_rgba_hidden_colours_do_not_matter(random_image) -> None:
    model = models.build("upconv7").eval()
    image = np.asarray(random_image("RGBA", (24, 20))).copy()
    image[:, :8, 3] = 0  # a transparent band whose colours are invisible
    other = image.copy()
    other[:, :8, :3] = 255 - other[:, :8, :3]
    a = upscale_image(model, Image.fromarray(image, "RGBA"))
    b = upscale_image(model, Image.fromarray(other, "RGBA"))
    assert a.mode == "RGBA" and np.array_equal(np.asarray(a), np.asarray(b))


def test_y_channel_model_runs_on_bt601_y() -> None:
    """A 1-channel model's output is BT.601 studio-range Y, as training feeds it; chroma comes
    from Lanczos. A model that outputs Y = 0.7 everywhere must give images whose Y is 0.7."""
    model = models.build("vgg7", in_channels=1, out_channels=1).eval()
    with torch.no_grad():
        for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.weight.zero_()
            conv.bias.zero_()
        conv.bias.fill_(0.7)
    grey = np.random.default_rng(0).integers(80, 170, (10, 13, 1))
    image = Image.fromarray((grey + np.array([20, -10, 5])).astype(np.uint8))  # constant chroma
    out = upscale_image(model, image)
    assert (out.mode, out.size) == ("RGB", (26, 20))
    y_out = rgb_to_y(pil_to_tensor(out).double())
    assert (y_out - 0.7).abs().max() < 1.5 / 255


FAST_SAMPLES = ["miku_small.png", "miku_small_noisy.jpg", "miku_bg.png", "tone.png", "tta.png"]
SLOW_SAMPLES = ["city.jpg", "lena.png", "miku_CC_BY-NC.jpg", "miku_noisy.jpg", "slide.png"]


@pytest.mark.parametrize(
    "sample", [*FAST_SAMPLES, *(pytest.param(s, marks=pytest.mark.slow) for s in SLOW_SAMPLES)]
)
def test_the_default_is_within_one_step_of_exact(waifu2x_dir: Path, sample: str) -> None:
    """The default (oneDNN) path against ``exact=True`` on every pixel of waifu2x's sample
    images, for the built-in model and (on the small ones) upconv_7, which runs channels_last."""
    image = Image.open(waifu2x_dir / "images" / sample)
    weights = ["builtin"] + ["upconv_7/art/scale2.0x_model.json"] * (sample in FAST_SAMPLES)
    exact = InferenceOptions(exact=True)
    for name in weights:
        model = models.load(name if name == "builtin" else waifu2x_dir / "models" / name)
        fast = np.asarray(upscale_image(InferenceOptions().prepare(model), image), dtype=int)
        reference = np.asarray(upscale_image(exact.prepare(model), image, exact), dtype=int)
        assert fast.shape == reference.shape and np.abs(fast - reference).max() <= 1, name
