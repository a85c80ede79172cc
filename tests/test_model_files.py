"""waifu2x JSON import/export and sr_lab weight files: round trips and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sr_lab import models
from sr_lab.models import ModelFileError

WAIFU2X_FILES = {  # path under models/: (architecture, scale)
    "vgg_7/art/scale2.0x_model.json": ("vgg7", 2),
    "vgg_7/art/noise1_model.json": ("vgg7", 1),
    "upconv_7/art/scale2.0x_model.json": ("upconv7", 2),
    "upconv_7/art/noise1_scale2.0x_model.json": ("upconv7", 2),
    "upconv_7/art/noise3_scale2.0x_model.json": ("upconv7", 2),
    "upconv_7/photo/scale2.0x_model.json": ("upconv7", 2),
}


def expected_geometry(relpath: str) -> tuple[str, int]:
    """(architecture, scale) that a waifu2x model file's path names."""
    if relpath.startswith("upconv_7/"):
        return "upconv7", 2
    return "vgg7", 2 if "scale2.0x" in relpath else 1


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("relpath", sorted(WAIFU2X_FILES))
def test_waifu2x_json_round_trip_is_byte_identical(
    waifu2x_dir: Path, relpath: str, tmp_path: Path
) -> None:
    source = waifu2x_dir / "models" / relpath
    model = models.load(source)
    assert (model.arch, model.scale) == WAIFU2X_FILES[relpath]
    out = tmp_path / "model.json"
    models.write_waifu2x_json(model, out)
    assert out.read_bytes() == source.read_bytes()


@pytest.mark.slow
def test_every_shared_waifu2x_file_loads_and_round_trips(waifu2x_dir: Path, tmp_path: Path):
    """Whatever ../shared/waifu2x/models holds now or later (noise levels, photo and art)."""
    files = sorted(
        p.relative_to(waifu2x_dir / "models") for p in waifu2x_dir.glob("models/**/*.json")
    )
    assert len(files) >= len(WAIFU2X_FILES)
    for relpath in map(str, files):
        model = models.load(waifu2x_dir / "models" / relpath)
        assert (model.arch, model.scale) == expected_geometry(relpath), relpath
        models.write_waifu2x_json(model, tmp_path / "model.json")
        assert (tmp_path / "model.json").read_bytes() == (
            waifu2x_dir / "models" / relpath
        ).read_bytes(), relpath


@pytest.mark.parametrize("name", ["upconv7", "vgg7"])
@pytest.mark.parametrize("channels", [1, 3])
def test_json_export_import_round_trip(name: str, channels: int, tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = models.build(name, in_channels=channels, out_channels=channels)
    path = tmp_path / "scale2.0x_model.json"
    models.write_waifu2x_json(model, path)
    first = json.loads(path.read_text())[0]
    assert first["model_config"]["channels"] == channels
    loaded = models.load(path)
    assert (loaded.arch, loaded.scale, loaded.in_channels) == (name, 2, channels)
    assert same_weights(model, loaded)


def test_deconv_bias_is_kept_when_a_file_has_one(tmp_path: Path) -> None:
    model = models.build("upconv7", deconv_bias=True)
    with torch.no_grad():
        model.upsample.bias.copy_(torch.tensor([0.25, -0.5, 0.125]))
    path = tmp_path / "old.json"
    models.write_waifu2x_json(model, path)
    loaded = models.load(path)
    assert loaded.upsample.bias.tolist() == [0.25, -0.5, 0.125]
    assert loaded.config["deconv_bias"] is True


@pytest.mark.parametrize("name", ["upconv7", "vgg7", "dcscn8", "espcn7"])
def test_sr_lab_file_round_trip(name: str, tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = models.build(name, in_channels=1, out_channels=1)
    path = tmp_path / "model.pt"
    models.save(model, path)
    loaded = models.load(path)
    assert (type(loaded), loaded.config) == (type(model), model.config)
    assert same_weights(model, loaded)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("name", ["upconv7", "dcscn12", "espcn7"])
def test_bare_state_dict_is_recognised(name: str, tmp_path: Path) -> None:
    model = models.build(name)
    path = tmp_path / "weights.pth"
    torch.save(model.state_dict(), path)
    loaded = models.load(path)
    assert loaded.config == model.config and same_weights(model, loaded)


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def valid_layers() -> list[dict]:
    model = models.build("vgg7")
    return models.waifu2x_json.to_waifu2x_layers(model)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json {", "not valid JSON"),
        ('{"a": 1}', "not a waifu2x model"),
        ("[]", "not a waifu2x model"),
        ('[{"class_name": "nn.SpatialConvolutionMM"}]', "layer 0 lacks nInputPlane"),
    ],
)
def test_bad_json_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=f"{path}: {message}"):
        models.load(path)


def test_layer_of_wrong_shape_is_named(tmp_path: Path) -> None:
    layers = valid_layers()
    layers[3]["weight"] = layers[3]["weight"][:10]
    path = write_json(tmp_path / "m.json", layers)
    with pytest.raises(
        ModelFileError,
        match=r"layer 3: weight has shape \(10, 64, 3, 3\), expected \(64, 64, 3, 3\)",
    ):
        models.load(path)


def test_wrong_layer_count_and_class(tmp_path: Path) -> None:
    layers = valid_layers()
    with pytest.raises(ModelFileError, match="6 layers, but vgg7 has 7"):
        models.load(write_json(tmp_path / "a.json", layers[:3] + layers[4:]))
    layers[0]["model_config"]["arch_name"] = "cunet"
    with pytest.raises(ModelFileError, match="unsupported arch_name 'cunet'"):
        models.load(write_json(tmp_path / "b.json", layers))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"garbage", "not a PyTorch weights file"), (None, "no such file")],
)
def test_bad_weight_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "model.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        models.load(path)


def test_state_dict_of_another_shape(tmp_path: Path) -> None:
    state = models.build("vgg7").state_dict()
    state["body.0.weight"] = torch.zeros(8, 3, 3, 3)
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(ModelFileError, match="matches no known model"):
        models.load(tmp_path / "w.pt")
    model = models.build("vgg7")
    models.save(model, tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["state_dict"]["body.0.weight"] = torch.zeros(8, 3, 3, 3)
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(ModelFileError, match=r"body.0.weight has shape \(8, 3, 3, 3\)"):
        models.load(tmp_path / "m.pt")
