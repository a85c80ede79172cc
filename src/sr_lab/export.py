"""Export a model for other runtimes: ``python -m sr_lab.export WEIGHTS -o model.onnx``.

WEIGHTS is anything ``sr_lab.models.load`` reads (``builtin``, a waifu2x JSON, an sr_lab file or
a training checkpoint). ``-o`` ending in ``.onnx`` writes an ONNX graph with dynamic batch,
height and width (input ``input``, output ``output``, [0, 1] floats, NCHW), checked with
onnxruntime against PyTorch before it is kept; ``.safetensors`` writes the weights with the
architecture and config as metadata, which ``sr_lab.models.load`` reads back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_lab import models
from sr_lab.atomic import atomic_write
from sr_lab.cli import make_parser, run_or_exit
from sr_lab.onnx_graph import onnx_bytes, onnx_error

ONNX_OPSETS = (18, 19, 20, 21, 22, 23)
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}  # largest |onnxruntime - PyTorch| kept, in [0, 1]


def export(weights: str, output: Path, opset: int = 18, fp16: bool = False) -> str:
    """Write ``weights`` to ``output`` (.onnx or .safetensors); returns a one-line report."""
    suffix = output.suffix.lower()
    if suffix not in (".onnx", ".safetensors"):
        raise ValueError(f"-o {output}: give a .onnx or .safetensors file")
    if suffix == ".safetensors" and fp16:
        raise ValueError("--fp16 applies to .onnx exports only")
    model = models.load(weights).eval()
    if suffix == ".safetensors":
        models.save(model, output)
        return f"wrote {output} ({model.arch}, {output.stat().st_size / 1e6:.2f} MB)"
    graph = onnx_bytes(model, opset, fp16)
    precision = "fp16" if fp16 else "fp32"
    error = onnx_error(model, graph)
    if error > TOLERANCE[precision]:
        raise ValueError(
            f"onnxruntime differs from PyTorch by {error:.2g} (over {TOLERANCE[precision]}); "
            f"{output} not written"
        )
    with atomic_write(output) as f:
        f.write(graph)
    return (
        f"wrote {output} ({model.arch}, {precision}, opset {opset}, "
        f"{len(graph) / 1e6:.2f} MB); onnxruntime matches PyTorch to {error:.1e}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = make_parser("python -m sr_lab.export", __doc__)
    parser.add_argument("weights", help="builtin, a waifu2x JSON, an sr_lab file or a checkpoint")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="model.onnx or model.safetensors"
    )
    parser.add_argument(
        "--opset", type=int, choices=ONNX_OPSETS, default=18, help="ONNX opset (default: 18)"
    )
    parser.add_argument(
        "--fp16", action="store_true", help="half-precision ONNX weights and activations"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(run_or_exit(export, args.weights, args.output, args.opset, args.fp16))


if __name__ == "__main__":
    main()
