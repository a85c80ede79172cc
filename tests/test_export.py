"""Export to ONNX (checked with onnxruntime) and safetensors (read back by models.load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import run_module
from sr_lab import models
from sr_lab.export import TOLERANCE, export, onnx_bytes, onnx_error

onnx = pytest.importorskip("onnx", reason="onnx is an optional extra: pip install sr_lab[onnx]")
pytest.importorskip("onnxruntime", reason="onnxruntime is an optional extra (sr_lab[onnx])")


@pytest.mark.parametrize("name", models.names())
def test_every_architecture_exports_to_onnx_within_tolerance(name: str) -> None:
    torch.manual_seed(0)
    model = models.build(name).eval()
    graph = onnx_bytes(model)
    assert onnx_error(model, graph) <= TOLERANCE["fp32"]
    props = {p.key: p.value for p in onnx.load_from_string(graph).metadata_props}
    meta = json.loads(props["sr_lab_model"])
    assert (meta["arch"], meta["scale"], meta["offset"]) == (model.arch, model.scale, model.offset)


def test_imported_waifu2x_models_export(waifu2x_dir: Path, tmp_path: Path) -> None:
    for style in ("upconv_7/photo/scale2.0x_model.json", "vgg_7/art/noise1_model.json"):
        out = tmp_path / f"{style.split('/')[0]}.onnx"
        report = export(str(waifu2x_dir / "models" / style), out)
        assert out.is_file() and "onnxruntime matches PyTorch" in report
    half = tmp_path / "half.onnx"
    export(str(waifu2x_dir / "models/upconv_7/photo/scale2.0x_model.json"), half, fp16=True)
    assert half.stat().st_size < 0.6 * (tmp_path / "upconv_7.onnx").stat().st_size


@pytest.mark.parametrize("name", models.names())
def test_safetensors_round_trip(name: str, tmp_path: Path) -> None:
    model = models.build(name, in_channels=1, out_channels=1)
    models.save(model, tmp_path / "m.safetensors")
    back = models.load(tmp_path / "m.safetensors")
    assert (back.arch, back.config) == (model.arch, model.config)
    state, loaded = model.state_dict(), back.state_dict()
    assert state.keys() == loaded.keys() and all(torch.equal(state[k], loaded[k]) for k in state)


def test_safetensors_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(models.ModelFileError, match="broken.safetensors: not a safetensors"):
        models.load(broken)


def test_export_cli_writes_and_refuses(tmp_path: Path) -> None:
    source = tmp_path / "dcscn8.pt"
    models.save(models.build("dcscn8"), source)
    done = run_module("sr_lab.export", source, "-o", tmp_path / "m.safetensors")
    assert done.returncode == 0 and "wrote" in done.stdout
    assert models.load(tmp_path / "m.safetensors").arch == "dcscn"
    for args, message in [
        ((source, "-o", tmp_path / "m.txt"), "give a .onnx or .safetensors file"),
        ((tmp_path / "missing.pt", "-o", tmp_path / "m.onnx"), "no such file"),
        ((source, "-o", tmp_path / "m.safetensors", "--fp16"), "--fp16 applies to .onnx"),
    ]:
        refused = run_module("sr_lab.export", *args)
        assert refused.returncode == 2 and message in refused.stderr
        assert refused.stderr.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.txt").exists()
