"""sr_lab models as ONNX graphs, and ONNX graphs as sr_lab models run by onnxruntime.

A graph has one input ``input`` and one output ``output`` (NCHW floats in [0, 1], batch, height
and width dynamic) and carries the model's arch, config and geometry under the metadata key
``sr_lab_model``, so ``OnnxRuntimeModel`` can stand in for the network anywhere the inference
engine runs one (tiling, TTA, alpha, Y-channel models). onnx, onnxscript and onnxruntime are
the optional extra ``sr_lab[onnx]``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sr_lab.models.base import SRModel
from sr_lab.models.files import FORMAT_KEY
from sr_lab.models.waifu2x_json import ModelFileError


def onnx_bytes(model: SRModel, opset: int = 18, fp16: bool = False) -> bytes:
    """``model`` as a serialised ONNX graph (batch, height and width dynamic)."""
    import onnx

    dtype = torch.float16 if fp16 else torch.float32
    net = copy.deepcopy(model).to(dtype, memory_format=torch.contiguous_format).eval()
    side = 2 * model.context + 8
    example = torch.rand(1, model.in_channels, side, side, dtype=dtype)
    dims = {0: torch.export.Dim("batch"), 2: torch.export.Dim("height", min=1)}
    dims[3] = torch.export.Dim("width", min=1)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes=(dims,),
            opset_version=opset,
            dynamo=True,
        )
    proto = program.model_proto
    geometry = {"scale": model.scale, "offset": model.offset, "context": model.context}
    meta = {"arch": model.arch, "config": model.config, **geometry}
    onnx.helper.set_model_props(proto, {FORMAT_KEY: json.dumps(meta)})
    return proto.SerializeToString()


class OnnxRuntimeModel(SRModel):
    """An ONNX graph exported by sr_lab, run by onnxruntime on the CPU, with the geometry of
    the model it came from (it has no parameters: the engine then feeds it fp32 on the CPU)."""

    arch = "onnx"

    def __init__(self, graph: bytes, source: str | Path = "<onnx>") -> None:
        import onnx
        import onnxruntime

        props = {p.key: p.value for p in onnx.load_from_string(graph).metadata_props}
        if FORMAT_KEY not in props:
            raise ModelFileError(source, f"an ONNX graph without sr_lab's {FORMAT_KEY} metadata")
        meta: dict[str, Any] = json.loads(props[FORMAT_KEY])
        super().__init__(meta["config"])
        self.arch, self.scale = meta["arch"], meta["scale"]
        self.offset, self.context = meta["offset"], meta["context"]
        self.session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
        self.fp16 = self.session.get_inputs()[0].type == "tensor(float16)"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feed = x.detach().cpu().contiguous().to(torch.float16 if self.fp16 else torch.float32)
        out = self.session.run(None, {"input": feed.numpy()})[0]
        return torch.from_numpy(out.astype(np.float32, copy=False))


def read_onnx(path: Path) -> OnnxRuntimeModel:
    """An ONNX file written by ``sr_lab.export`` as a model onnxruntime runs."""
    try:
        return OnnxRuntimeModel(path.read_bytes(), path)
    except ImportError:
        raise ModelFileError(path, "needs onnx and onnxruntime: pip install sr_lab[onnx]") from None
    except Exception as err:  # onnx's parse errors have no common base class
        if isinstance(err, ModelFileError):
            raise
        raise ModelFileError(path, f"not an ONNX graph ({type(err).__name__})") from None


def onnx_error(model: SRModel, graph: bytes, seed: int = 0) -> float:
    """Largest |onnxruntime - PyTorch| on a seeded random image of an odd size."""
    generator = torch.Generator().manual_seed(seed)
    side = 2 * model.context + 9
    x = torch.rand(1, model.in_channels, side, side + 6, generator=generator)
    got = OnnxRuntimeModel(graph)(x)
    with torch.no_grad():
        want = model.eval()(x)
    if got.shape != want.shape:
        raise ValueError(f"onnxruntime gave shape {tuple(got.shape)}, PyTorch {tuple(want.shape)}")
    return float((got - want).abs().max())
