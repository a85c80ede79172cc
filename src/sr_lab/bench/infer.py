"""``bench infer``: tiled against whole-image inference time, throughput and peak memory per
image size, each measured in a fresh process (``infer-once``), beside the FLOP bound; and
``bench agree``: how far an option set's output is from the exact fp32 one on a real image."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

from sr_lab import models
from sr_lab.bench.flops import conv_flops, matmul_flops_per_s
from sr_lab.cli import add_inference_arguments, inference_options
from sr_lab.data.image import open_image, pil_to_tensor
from sr_lab.inference import run_padded, upscale_image
from sr_lab.tiling import InferenceOptions, tile_grid


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, which, unlike ru_maxrss, does not carry
    over the parent's peak across fork and exec)."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024, 1)


def infer_once(args: argparse.Namespace) -> dict:
    """One measurement in this (fresh) process: seconds and peak RSS for one image size, tiled
    as ``sr_lab.upscale`` runs (an 8-bit RGB image in, one out) or as one float tensor pass.
    A warm-up first (one tile's worth, or the whole pass once) lets oneDNN create its kernels,
    a one-off cost per shape (``warmup_s``), so ``seconds`` is the steady rate."""
    options = inference_options(args)
    model = options.prepare(models.build(args.model))
    pixels = torch.randint(0, 256, (args.size, args.size, 3), dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy(), "RGB")
    del pixels
    if args.mode == "whole":
        x = pil_to_tensor(image)[None]

        def run() -> object:
            return run_padded(model, x, options)

        warmup = run
    else:
        step = tile_grid(args.size, options.tile)[0]

        def run() -> object:
            return upscale_image(model, image, options)

        def warmup() -> object:
            return upscale_image(model, image.crop((0, 0, step, step)), options)

    start = time.perf_counter()
    warmup()
    warm = time.perf_counter()
    run()
    end = time.perf_counter()
    return {
        "seconds": round(end - warm, 3),
        "warmup_s": round(warm - start, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def measure(args: argparse.Namespace, size: int, mode: str) -> dict:
    """``infer_once`` in a fresh process, so each peak RSS is its own."""
    flags = [f for f, on in (("--exact", args.exact), ("--bf16", args.bf16)) if on]
    if args.channels_last is not None:
        flags += ["--channels-last" if args.channels_last else "--no-channels-last"]
    flags += ["--backend", args.backend]
    command = [sys.executable, "-m", "sr_lab.bench", "infer-once", "--model", args.model]
    command += ["--tile", str(args.tile), "--batch", str(args.batch), *flags]
    command += ["--size", str(size), "--mode", mode]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def bench_infer(args: argparse.Namespace) -> dict:
    """Tiled vs whole-image time, throughput and peak memory per size, each in a fresh process."""
    model = models.build(args.model)
    rate = matmul_flops_per_s()
    sizes = []
    for size in (int(s) for s in args.sizes.split(",")):
        tiled = measure(args, size, "tiled")
        # a whole-image pass holds every layer's activations (and, with exact kernels, their
        # im2col buffers): 2048x2048 upconv7 would need about 25 GB, more than this machine has
        whole = measure(args, size, "whole") if size <= args.whole_max_size else None
        sizes.append(
            {
                "size": size,
                "tiled_s": tiled["seconds"],
                "tiled_warmup_s": tiled["warmup_s"],
                "whole_s": whole and whole["seconds"],
                "tiled_over_whole": whole and round(tiled["seconds"] / whole["seconds"], 3),
                "megapixels_per_s": round(size * size / 1e6 / tiled["seconds"], 4),
                "peak_rss_mb": tiled["peak_rss_mb"],
                "whole_peak_rss_mb": whole and whole["peak_rss_mb"],
                "flop_bound_s": round(conv_flops(model, size + 2 * model.padding()[0]) / rate, 3),
            }
        )
    return {
        "model": args.model,
        "tile": args.tile,
        "batch": args.batch,
        "exact": args.exact,
        "bf16": args.bf16,
        "channels_last": args.channels_last,
        "backend": args.backend,
        "matmul_gflops": round(rate / 1e9, 1),
        "sizes": sizes,
    }


def bench_agree(args: argparse.Namespace) -> dict:
    """The options' output against the exact fp32 one on a real image: the largest difference
    in 8-bit steps, the share of pixels that differ, and the PSNR (RGB, 8-bit) between them."""
    model = models.load(args.weights)
    image = open_image(args.image)
    exact = InferenceOptions(exact=True)
    options = inference_options(args)
    reference = np.asarray(upscale_image(exact.prepare(model), image, exact), dtype=np.float64)
    result = np.asarray(upscale_image(options.prepare(model), image, options), dtype=np.float64)
    difference = np.abs(result - reference)
    mse = float(np.mean(difference**2))
    return {
        "image": str(args.image),
        "weights": str(args.weights),
        "options": dataclasses.asdict(options),
        "max_difference": int(difference.max()),
        "differing_pct": round(100 * float(np.mean(difference > 0)), 3),
        "psnr_vs_exact": None if mse == 0 else round(10 * np.log10(255**2 / mse), 2),
    }


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="upconv7", help="model name (default: upconv7)")
    add_inference_arguments(parser)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``infer`` command and its internal ``infer-once``."""
    infer = commands.add_parser("infer", help="tiled vs whole-image inference time and memory")
    _options(infer)
    infer.add_argument(
        "--sizes", default="512,1024,2048", help="input sizes (default: %(default)s)"
    )
    infer.add_argument(
        "--whole-max-size",
        type=int,
        default=1024,
        help="largest size also run as one whole-image pass (default: 1024)",
    )
    infer.set_defaults(run=bench_infer)
    once = commands.add_parser("infer-once", help="(internal) one measurement of `infer`")
    _options(once)
    once.add_argument("--size", type=int, required=True)
    once.add_argument("--mode", choices=("tiled", "whole"), required=True)
    once.set_defaults(run=infer_once)
    agree = commands.add_parser(
        "agree", help="an option set's output against the exact fp32 one, on a real image"
    )
    agree.add_argument("image", help="image file to upscale")
    agree.add_argument(
        "--weights", default="builtin", help="model file or builtin (default: builtin)"
    )
    add_inference_arguments(agree)
    agree.set_defaults(run=bench_agree)
