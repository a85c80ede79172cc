"""Throughput and memory benchmarks: ``python -m sr_lab.bench data|train``.

Prints one JSON object per command, so results can be compared and recorded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from sr_lab import models, schedules
from sr_lab.data.datamodule import SRDataModule
from sr_lab.data.degradation import Degradation
from sr_lab.data.sources import SyntheticSource
from sr_lab.inference import run_padded
from sr_lab.metrics import SRMetrics
from sr_lab.module import SRModule
from sr_lab.tiling import upscale_tiled

CONF = Path(__file__).resolve().parents[2] / "conf"


def degradation_preset(name: str) -> Degradation:
    """A degradation from conf/degradation, exactly as training composes it."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return instantiate(compose("train", overrides=[f"degradation={name}"]).degradation)


def pairs_per_second(module: SRDataModule, seconds: float) -> float:
    """Patch pairs per second the training DataLoader delivers, after its first batch."""
    loader = module.train_dataloader()
    batches = iter(loader)
    next(batches)
    count, start = 0, time.perf_counter()
    for lr, _ in batches:
        count += lr.shape[0]
        if time.perf_counter() - start >= seconds:
            break
    return count / (time.perf_counter() - start)


def bench_data(args: argparse.Namespace) -> dict:
    """Pairs/s for each degradation and worker count, and the datamodule's memory."""
    source = SyntheticSource(train_count=args.images, val_count=1, size=args.size)
    runs = []
    for name in args.degradations.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            module = SRDataModule(
                source,
                degradation_preset(name),
                patch_size=args.patch_size,
                batch_size=16,
                samples_per_epoch=10**6,
                num_workers=workers,
            )
            module.setup("fit")
            rate = pairs_per_second(module, args.seconds)
            runs.append({"degradation": name, "workers": workers, "pairs_per_s": round(rate, 1)})
    tracemalloc.start()
    module = SRDataModule(source, degradation_preset("bicubic"), num_workers=0)
    before = tracemalloc.get_traced_memory()[0]
    module.setup("fit")
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    memory = {
        "images": args.images + 1,
        "uint8_bytes": module.memory_bytes,
        "held_bytes": held,
        "ratio": round(held / module.memory_bytes, 3),
    }
    return {"patch_size": args.patch_size, "runs": runs, "memory": memory}


def make_batches(model_name: str, batch: int, patch: int, count: int) -> list[tuple]:
    """Fixed random (LR, HR) batches, so both loops do exactly the same work."""
    model = models.build(model_name)
    g = torch.Generator().manual_seed(0)
    lr_size, hr_size = patch // model.scale, patch
    return [
        (
            torch.rand(batch, 3, lr_size, lr_size, generator=g),
            torch.rand(batch, 3, hr_size, hr_size, generator=g),
        )
        for _ in range(count)
    ]


def prepare(model_name: str, variant: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = models.build(model_name)
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    return model


def bare_loop(model_name: str, variant: str, batches: list[tuple], warmup: int) -> float:
    """Samples/s of a plain PyTorch loop: forward, L1, backward, Adam step."""
    model = prepare(model_name, variant)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    dtype = torch.bfloat16 if variant == "bf16-mixed" else None
    for i, (lr, hr) in enumerate(batches):
        if i == warmup:
            start = time.perf_counter()
        o = model.offset
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.l1_loss(model(lr), hr[..., o : hr.shape[-2] - o, o : hr.shape[-1] - o])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (len(batches) - warmup) * batches[0][0].shape[0] / (time.perf_counter() - start)


class _Timer(pl.Callback):
    """Times training from the first batch after ``warmup`` to the end."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.end = time.perf_counter()


def lightning_loop(model_name: str, variant: str, batches: list[tuple], warmup: int) -> float:
    """Samples/s of the same steps through SRModule and a Lightning Trainer."""
    module = SRModule(
        prepare(model_name, variant),
        torch.nn.L1Loss(),
        partial(torch.optim.Adam, lr=1e-4),
        schedules.constant,
        SRMetrics(),
    )
    timer = _Timer(warmup)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=len(batches),
        limit_val_batches=0,
        precision="bf16-mixed" if variant == "bf16-mixed" else "32-true",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(module, DataLoader(batches, batch_size=None))
    return (len(batches) - warmup) * batches[0][0].shape[0] / (timer.end - timer.start)


def bench_train(args: argparse.Namespace) -> dict:
    """Training samples/s per model and variant, Lightning against a bare loop."""
    runs = []
    for name in args.models.split(","):
        batches = make_batches(name, args.batch_size, args.patch_size, args.steps + args.warmup)
        for variant in args.variants.split(","):
            bare = bare_loop(name, variant, batches, args.warmup)
            lit = lightning_loop(name, variant, batches, args.warmup)
            runs.append(
                {
                    "model": name,
                    "variant": variant,
                    "bare_samples_per_s": round(bare, 2),
                    "lightning_samples_per_s": round(lit, 2),
                    "overhead_pct": round(100 * (bare / lit - 1), 2),
                }
            )
    return {
        "batch_size": args.batch_size,
        "patch_size": args.patch_size,
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "runs": runs,
    }


def conv_flops(model: torch.nn.Module, size: int) -> int:
    """Multiply-adds x 2 of every convolution for a size x size input (one forward)."""
    total = 0

    def count(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        k = (
            module.weight[0].numel()
            if isinstance(module, torch.nn.Conv2d)
            else (module.weight.shape[0] * module.weight[0, 0].numel())
        )
        total += 2 * k * output.numel()

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    with torch.no_grad():
        model(torch.zeros(1, model.in_channels, size + 2 * model.context, size + 2 * model.context))
    for hook in hooks:
        hook.remove()
    return total


def matmul_flops_per_s(n: int = 2048, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate, measured now."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def infer_once(args: argparse.Namespace) -> dict:
    """One measurement in this (fresh) process: seconds and peak RSS for one image size."""
    model = models.build(args.model).eval()
    x = torch.rand(1, model.in_channels, args.size, args.size)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if args.bf16 else None
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
        if args.mode == "whole":
            run_padded(model, x, exact=not args.fast)
        else:
            upscale_tiled(model, x, args.tile, args.batch, exact=not args.fast)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, which, unlike ru_maxrss, does not carry
    over the parent's peak across fork and exec)."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024, 1)


def bench_infer(args: argparse.Namespace) -> dict:
    """Tiled vs whole-image time, throughput and peak memory per size, each in a fresh process."""
    model = models.build(args.model)
    rate = matmul_flops_per_s()
    options = ["--tile", str(args.tile), "--batch", str(args.batch)]
    options += [
        flag
        for flag, on in (
            ("--fast", args.fast),
            ("--bf16", args.bf16),
            ("--channels-last", args.channels_last),
        )
        if on
    ]
    sizes = []
    for size in (int(s) for s in args.sizes.split(",")):

        def measure(mode: str, size: int = size) -> dict:
            command = [
                sys.executable,
                "-m",
                "sr_lab.bench",
                "infer-once",
                "--model",
                args.model,
                "--size",
                str(size),
                "--mode",
                mode,
                *options,
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            return json.loads(done.stdout)

        tiled = measure("tiled")
        # a whole-image pass holds every layer's activations (and, with exact kernels, their
        # im2col buffers): 2048x2048 upconv7 would need about 25 GB, more than this machine has
        whole = measure("whole") if size <= args.whole_max_size else None
        flops = conv_flops(model, size)
        sizes.append(
            {
                "size": size,
                "tiled_s": tiled["seconds"],
                "whole_s": whole and whole["seconds"],
                "tiled_over_whole": whole and round(tiled["seconds"] / whole["seconds"], 3),
                "megapixels_per_s": round(size * size / 1e6 / tiled["seconds"], 4),
                "peak_rss_mb": tiled["peak_rss_mb"],
                "whole_peak_rss_mb": whole and whole["peak_rss_mb"],
                "flop_bound_s": round(flops / rate, 3),
            }
        )
    return {
        "model": args.model,
        "tile": args.tile,
        "batch": args.batch,
        "exact": not args.fast,
        "bf16": args.bf16,
        "channels_last": args.channels_last,
        "matmul_gflops": round(rate / 1e9, 1),
        "sizes": sizes,
    }


def add_infer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="upconv7", help="model name (default: upconv7)")
    parser.add_argument("--tile", type=int, default=256, help="tile side (default: 256)")
    parser.add_argument("--batch", type=int, default=1, help="tiles per pass (default: 1)")
    parser.add_argument("--fast", action="store_true", help="oneDNN kernels (not bit-exact)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument("--channels-last", action="store_true", help="channels_last weights")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sr_lab.bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="training DataLoader pairs/s and datamodule memory")
    data.add_argument(
        "--degradations",
        default="bicubic,waifu2x_art_noise3",
        help="comma-separated conf/degradation presets (default: %(default)s)",
    )
    data.add_argument("--workers", default="0,1,2", help="worker counts (default: %(default)s)")
    data.add_argument("--seconds", type=float, default=4.0, help="time per run (default: 4)")
    data.add_argument("--images", type=int, default=16, help="synthetic HR images (default: 16)")
    data.add_argument("--size", type=int, default=256, help="image side (default: 256)")
    data.add_argument("--patch-size", type=int, default=96, help="HR patch side (default: 96)")
    train = commands.add_parser("train", help="training samples/s, Lightning vs a bare loop")
    train.add_argument(
        "--models",
        default="upconv7,vgg7,dcscn8,espcn7",
        help="comma-separated model names (default: %(default)s)",
    )
    train.add_argument(
        "--variants",
        default="fp32,bf16-mixed,channels_last",
        help="comma-separated variants (default: %(default)s)",
    )
    train.add_argument("--steps", type=int, default=20, help="timed steps (default: 20)")
    train.add_argument("--warmup", type=int, default=3, help="untimed first steps (default: 3)")
    train.add_argument("--batch-size", type=int, default=8, help="batch size (default: 8)")
    train.add_argument("--patch-size", type=int, default=96, help="HR patch side (default: 96)")
    infer = commands.add_parser("infer", help="tiled vs whole-image inference time and memory")
    add_infer_options(infer)
    infer.add_argument(
        "--sizes", default="512,1024,2048", help="input sizes (default: %(default)s)"
    )
    infer.add_argument(
        "--whole-max-size",
        type=int,
        default=1024,
        help="largest size also run as one whole-image pass (default: 1024)",
    )
    once = commands.add_parser("infer-once", help="(internal) one measurement of `infer`")
    add_infer_options(once)
    once.add_argument("--size", type=int, required=True)
    once.add_argument("--mode", choices=("tiled", "whole"), required=True)
    args = parser.parse_args(argv)
    run = {
        "data": bench_data,
        "train": bench_train,
        "infer": bench_infer,
        "infer-once": infer_once,
    }[args.command]
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
