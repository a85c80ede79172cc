"""``bench data``: training DataLoader pairs/s per degradation and worker count, and the
datamodule's memory against the uint8 size of its images."""

from __future__ import annotations

import argparse
import time
import tracemalloc

from hydra.utils import instantiate

from sr_lab.config import compose
from sr_lab.data.datamodule import SRDataModule
from sr_lab.data.degradation import Degradation
from sr_lab.data.sources import SyntheticSource


def degradation_preset(name: str) -> Degradation:
    """A degradation from conf/degradation, exactly as training composes it."""
    return instantiate(compose("train", [f"degradation={name}"]).degradation)


def pairs_per_second(module: SRDataModule, seconds: float) -> float:
    """Patch pairs per second the training DataLoader delivers, after its first batch."""
    batches = iter(module.train_dataloader())
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


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``data`` command."""
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
    data.set_defaults(run=bench_data)
