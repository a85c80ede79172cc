"""Export to ONNX (checked with onnxruntime) and safetensors (read back by models.load)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import run_module
from sr_lab import models
from sr_lab.export import TOLERANCE, export
from sr_lab.onnx_graph import onnx_bytes, onnx_error
from sr_lab.tiling import InferenceOptions

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


def test_onnxruntime_backend_upscales_like_torch(waifu2x_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    Image.open(waifu2x_dir / "images" / "tone.png").crop((0, 0, 70, 50)).save(source)  # RGBA
    art = waifu2x_dir / "models/upconv_7/art/scale2.0x_model.json"
    common = ["--weights", art, "--tile", "32", "--tta", "2"]
    outputs = {}
    for backend in ("torch", "onnxruntime"):
        outputs[backend] = tmp_path / f"{backend}.png"
        args = [source, "-o", outputs[backend], *common, "--backend", backend]
        done = run_module("sr_lab.upscale", *args)
        assert done.returncode == 0, done.stderr
    torch_out, onnx_out = (np.asarray(Image.open(p), np.int16) for p in outputs.values())
    assert onnx_out.shape == torch_out.shape == (100, 140, 4)
    assert np.abs(onnx_out - torch_out).max() <= 1
    graph = tmp_path / "art.onnx"
    export(str(art), graph)
    from_file = tmp_path / "from_file.png"
    done = run_module("sr_lab.upscale", source, "-o", from_file, "--weights", graph, "--tta", "2")
    assert done.returncode == 0, done.stderr
    assert np.abs(np.asarray(Image.open(from_file), np.int16) - onnx_out).max() <= 1


def test_onnx_files_without_sr_lab_metadata_and_bad_options_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.onnx"
    node = onnx.helper.make_node("Identity", ["input"], ["output"])
    value = onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, None)
    out = onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, None)
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([node], "g", [value], [out])), plain)
    with pytest.raises(models.ModelFileError, match="without sr_lab's sr_lab_model metadata"):
        models.load(plain)
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(models.ModelFileError, match="junk.onnx: not an ONNX graph"):
        models.load(tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="onnxruntime backend runs fp32 on the CPU"):
        InferenceOptions(backend="onnxruntime", precision="bf16")
