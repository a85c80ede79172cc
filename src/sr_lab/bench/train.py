"""``bench train``: training samples/s per model and variant (fp32, bf16-mixed,
channels_last, or both joined by ``+``: ``bf16-mixed+channels_last``), through SRModule and a
Lightning Trainer against a bare PyTorch loop, and the model FLOP utilisation: achieved training
FLOP/s (3x the forward convolutions: forward, input gradients, weight gradients) over this
machine's dense-kernel rate in the same precision, both measured in the same run."""

from __future__ import annotations

import argparse
import time
from functools import partial

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from sr_lab import models, schedules
from sr_lab.bench.flops import conv_flops, matmul_flops_per_s
from sr_lab.models.base import SRModel
from sr_lab.module import SRModule
from sr_lab.protocols import SRMetrics


def make_batches(model_name: str, batch: int, patch: int, count: int) -> list[tuple]:
    """Fixed random (LR, HR) batches, so both loops do exactly the same work."""
    model = models.build(model_name)
    g = torch.Generator().manual_seed(0)
    lr_size = patch // model.scale
    return [
        (
            torch.rand(batch, 3, lr_size, lr_size, generator=g),
            torch.rand(batch, 3, patch, patch, generator=g),
        )
        for _ in range(count)
    ]


def is_bf16(variant: str) -> bool:
    """Whether a variant (e.g. ``bf16-mixed+channels_last``) trains in bf16 autocast."""
    return "bf16-mixed" in variant.split("+")


def prepare(model_name: str, variant: str) -> SRModel:
    torch.manual_seed(0)
    model = models.build(model_name)
    if "channels_last" in variant.split("+"):
        model = model.to(memory_format=torch.channels_last)
    return model


def bare_loop(model_name: str, variant: str, batches: list[tuple], warmup: int) -> float:
    """Samples/s of a plain PyTorch loop: forward, L1, backward, Adam step."""
    model = prepare(model_name, variant)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    dtype = torch.bfloat16 if is_bf16(variant) else None
    for i, (lr, hr) in enumerate(batches):
        if i == warmup:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.l1_loss(model(lr), model.crop_target(hr))
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
        precision="bf16-mixed" if is_bf16(variant) else "32-true",
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
    rates = {"fp32": matmul_flops_per_s(torch.float32), "bf16": matmul_flops_per_s(torch.bfloat16)}
    runs = []
    for name in args.models.split(","):
        batches = make_batches(name, args.batch_size, args.patch_size, args.steps + args.warmup)
        model = models.build(name)
        flops = 3 * conv_flops(model, args.patch_size // model.scale)
        for variant in args.variants.split(","):
            bare = bare_loop(name, variant, batches, args.warmup)
            lit = lightning_loop(name, variant, batches, args.warmup)
            rate = rates["bf16" if is_bf16(variant) else "fp32"]
            runs.append(
                {
                    "model": name,
                    "variant": variant,
                    "bare_samples_per_s": round(bare, 2),
                    "lightning_samples_per_s": round(lit, 2),
                    "overhead_pct": round(100 * (bare / lit - 1), 2),
                    "gflop_per_sample": round(flops / 1e9, 4),
                    "training_gflops_per_s": round(lit * flops / 1e9, 1),
                    "mfu_pct": round(100 * lit * flops / rate, 1),
                }
            )
    return {
        "batch_size": args.batch_size,
        "patch_size": args.patch_size,
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "matmul_gflops": {k: round(v / 1e9, 1) for k, v in rates.items()},
        "runs": runs,
    }


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
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
    train.set_defaults(run=bench_train)
