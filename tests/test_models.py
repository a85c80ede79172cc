"""The model contract: exact sizes, geometry (offset, context) as the network really behaves."""

from __future__ import annotations

import pytest
import torch

from sr_lab import models
from sr_lab.models.subpixel import SubpixelConvTranspose
from sr_lab.tiling import InferenceOptions

PARAMETERS = {
    "upconv7": 552_480,
    "vgg7": 290_467,
    "dcscn12": 1_889_974,
    "dcscn8": 538_353,
    "espcn7": 1_345_996,
}
GEOMETRY = {  # name: (scale, offset, context)
    "upconv7": (2, 14, 7),
    "vgg7": (2, 7, 4),
    "dcscn12": (2, 0, 15),
    "dcscn8": (2, 0, 11),
    "espcn7": (2, 0, 7),
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_count(name: str) -> None:
    assert n_params(models.build(name)) == PARAMETERS[name]


def test_dcscn_default_is_dcscn12_and_filters_decay() -> None:
    assert n_params(models.build("dcscn")) == PARAMETERS["dcscn12"]
    assert models.dcscn.decayed_filters(12, 196, 48) == [
        196,
        172,
        152,
        134,
        118,
        103,
        91,
        80,
        70,
        62,
        55,
        48,
    ]


def test_vgg7_denoiser_keeps_size() -> None:
    model = models.build("vgg7", scale=1)
    assert (model.scale, model.offset, model.context) == (1, 7, 7)
    assert model(torch.rand(1, 3, 20, 21)).shape == (1, 3, 6, 7)


@pytest.mark.parametrize("name", sorted(PARAMETERS))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(31, 32), (32, 33)])
def test_output_shape(name: str, channels: int, size: tuple[int, int]) -> None:
    model = models.build(name, in_channels=channels, out_channels=channels)
    scale, offset, _ = GEOMETRY[name]
    assert (model.scale, model.offset, model.in_channels) == (scale, offset, channels)
    h, w = size
    out = model(torch.rand(2, channels, h, w))
    assert out.shape == (2, channels, scale * h - 2 * offset, scale * w - 2 * offset)
    assert model.output_size(h, w) == tuple(out.shape[-2:])


@pytest.mark.parametrize("name", sorted(GEOMETRY))
def test_context_is_the_true_receptive_radius(name: str) -> None:
    """Changing one input pixel moves outputs up to exactly `context` input pixels away."""
    torch.manual_seed(0)
    model = models.build(name).double().eval()
    size, centre = 41, 20
    x = torch.rand(1, 3, size, size, dtype=torch.float64)
    bumped = x.clone()
    bumped[..., centre, centre] += 1.0
    with torch.no_grad():
        changed = (model(bumped) - model(x)).abs().amax(dim=(0, 1)) > 0
    rows, cols = changed.nonzero(as_tuple=True)
    # output pixel i sits at output-resolution position i + offset, i.e. input pixel // scale
    reach_rows = ((rows + model.offset) // model.scale - centre).abs().max().item()
    reach_cols = ((cols + model.offset) // model.scale - centre).abs().max().item()
    assert max(reach_rows, reach_cols) == model.context == GEOMETRY[name][2]


@pytest.mark.parametrize("activation", ["prelu", "relu"])
@pytest.mark.parametrize("name", ["dcscn8", "espcn7"])
def test_activation_choice(name: str, activation: str) -> None:
    model = models.build(name, activation=activation)
    prelu = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.PReLU))
    selu = sum(getattr(m, "fn", None) is torch.nn.functional.selu for m in model.modules())
    assert selu == 0 and models.build(name).config["activation"] == "selu"
    assert (
        sum(
            getattr(m, "fn", None) is torch.nn.functional.selu for m in models.build(name).modules()
        )
        > 0
    )
    assert n_params(model) == PARAMETERS[name] + prelu
    assert (prelu > 0) == (activation == "prelu")


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_trains_one_step(name: str) -> None:
    torch.manual_seed(0)
    model = models.build(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr = torch.rand(2, 3, 24, 24)
    hr = torch.rand(2, 3, *model.output_size(24, 24))
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.l1_loss(model(lr), hr)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    optimizer.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown model 'srgan'; choose from: dcscn, dcscn12"):
        models.build("srgan")


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("upconv7", {"in_channels": 4}, "in_channels must be 1 .* or 3"),
        ("dcscn8", {"in_channels": 1}, "in_channels must equal out_channels"),
        ("espcn7", {"activation": "gelu"}, "unknown activation 'gelu'"),
        ("vgg7", {"scale": 3}, "scale must be 1 or 2"),
        ("vgg7", {"depth": 3}, "unexpected keyword argument 'depth'"),
    ],
)
def test_bad_arguments(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        models.build(name, **kwargs)


@pytest.mark.parametrize(("k", "s", "p"), [(4, 2, 3), (4, 2, 1), (3, 2, 1), (2, 2, 0), (5, 3, 2)])
def test_subpixel_convolution_equals_the_transposed_one(k: int, s: int, p: int) -> None:
    torch.manual_seed(0)
    layer = torch.nn.ConvTranspose2d(7, 3, k, stride=s, padding=p, bias=k != 4)
    x = torch.randn(2, 7, 9, 13)
    with torch.no_grad():
        expected, got = layer(x), SubpixelConvTranspose(layer)(x)
    assert got.shape == expected.shape and (got - expected).abs().max() < 1e-5


def test_fast_inference_converts_upconv7_and_leaves_the_model_alone() -> None:
    model = models.build("upconv7").eval()
    fast = InferenceOptions().prepare(model)
    assert isinstance(fast.upsample, SubpixelConvTranspose)
    assert isinstance(model.upsample, torch.nn.ConvTranspose2d)  # the caller's model is kept
    assert InferenceOptions(exact=True).prepare(model) is model
    x = torch.rand(1, 3, 30, 34)
    with torch.no_grad():
        assert (fast(x) - model(x)).abs().max() < 1e-5
