"""FLOP counts and this machine's matrix-multiply rate, the yardsticks of ``bench train``
(model FLOP utilisation) and ``bench infer`` (the FLOP bound)."""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F


def conv_flops(model: torch.nn.Module, size: int) -> int:
    """Multiply-adds x 2 of every convolution in one forward pass of a size x size input,
    traced on the meta device (shapes only), so any size costs no memory."""
    total = 0

    def count(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        # a convolution does in_channels * k * k multiply-adds per output value; a transposed
        # one scatters out_channels * k * k per input value (its weight is (in, out, k, k))
        nonlocal total
        values = output if isinstance(module, torch.nn.Conv2d) else inputs[0]
        total += 2 * module.weight[0].numel() * values.numel()

    shapes = copy.deepcopy(model).to("meta")
    for m in shapes.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            m.register_forward_hook(count)
    with torch.no_grad():
        shapes(torch.zeros(1, model.in_channels, size, size, device="meta"))
    return total


def _rate(run, flops: int, repeats: int) -> float:
    """FLOP/s of the fastest of ``repeats`` timed runs after one warm-up: a peak rate, which
    a busy moment on a shared machine lowers less than it lowers a mean."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return flops / best


def matmul_flops_per_s(
    dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 10
) -> float:
    """This machine's dense matrix-multiply rate in ``dtype``, measured now: the fastest of
    ``torch.matmul`` (MKL for fp32), a 1x1 convolution (a plain GEMM in oneDNN) and a 3x3
    convolution of 256 channels (oneDNN's direct kernel), both channels_last. Convolutions run
    on oneDNN, which on some CPUs (AMD's) is far faster than MKL's matmul; taking the best
    keeps the yardstick the machine's, not one library's."""
    channels_last = torch.channels_last
    a, b = torch.rand(n, n, dtype=dtype), torch.rand(n, n, dtype=dtype)
    x = torch.rand(1, n, n // 64, 64, dtype=dtype).contiguous(memory_format=channels_last)
    w = torch.rand(n, n, 1, 1, dtype=dtype).contiguous(memory_format=channels_last)
    x3 = torch.rand(1, 256, 64, 64, dtype=dtype).contiguous(memory_format=channels_last)
    w3 = torch.rand(256, 256, 3, 3, dtype=dtype).contiguous(memory_format=channels_last)
    return max(
        _rate(lambda: a @ b, 2 * n**3, repeats),
        _rate(lambda: F.conv2d(x, w), 2 * n**3, repeats),
        _rate(lambda: F.conv2d(x3, w3, padding=1), 2 * 256 * 256 * 9 * 64 * 64, repeats),
    )
