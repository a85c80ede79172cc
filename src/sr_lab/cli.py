"""What the entry points share: bad input ends in one ``error:`` line and exit status 2, and
the inference engine's options are the same flags everywhere."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from sr_lab import __version__
from sr_lab.config import cpu_training_precision
from sr_lab.tiling import BACKENDS, InferenceOptions

T = TypeVar("T")
SMALL_TILE = 32  # input pixels: below this, the tiles' context overlap dominates the work


def run_or_exit(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` under sr_lab's exit-status contract, one line on stderr and no
    traceback (``SR_LAB_DEBUG=1`` shows it): a ValueError or OSError (bad value, missing or
    unreadable file) exits 2, Ctrl-C exits 130, anything unexpected exits 1."""
    debug = os.environ.get("SR_LAB_DEBUG", "") not in ("", "0")
    try:
        return function(*args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except (ValueError, OSError) as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as err:
        if debug:
            raise
        print(f"error: {type(err).__name__}: {err} (SR_LAB_DEBUG=1 shows where)", file=sys.stderr)
        raise SystemExit(1) from None


def progress(items: Sequence[T], desc: str, unit: str, every_s: float = 30.0) -> Iterator[T]:
    """``items`` with a progress bar on a terminal; when stderr goes to a file, a plain line
    every ``every_s`` seconds (and a last one, if any was written)."""
    if sys.stderr.isatty():
        yield from tqdm(items, desc=desc, unit=unit, leave=False)
        return
    start = last = time.monotonic()
    for done, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if now - last >= every_s or (done == len(items) and last > start):
            print(f"{desc}: {done}/{len(items)} {unit} ({now - start:.0f} s)", file=sys.stderr)
            last = now


def remove_stub(run_dir: Path) -> None:
    """A Hydra run that failed before producing anything leaves nothing behind: the
    ``.hydra/`` and ``*.log`` Hydra made go, then the folder if that empties it."""
    if not run_dir.is_dir() or (run_dir / "checkpoints").exists():
        return
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    for log in run_dir.glob("*.log"):
        log.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()


def make_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose help starts with the entry point's docstring, as written, and
    that answers ``--version``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sr_lab {__version__}")
    return parser


def exit_on_version(argv: list[str] | None = None) -> None:
    """``--version`` for the Hydra entry points (train, evaluate), before Hydra reads argv."""
    if "--version" in (sys.argv[1:] if argv is None else argv):
        print(f"sr_lab {__version__}")
        raise SystemExit(0)


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """The inference engine's options (``tiling.InferenceOptions``) as command-line flags."""
    parser.add_argument(
        "--tile", type=int, default=256, help="tile side in input pixels (default: 256)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="tiles per forward pass; more helps on a GPU (default: 1)",
    )
    parser.add_argument(
        "--exact",
        action="store_true",
        help="ATen's CPU kernels instead of oneDNN's: output bit-identical to one whole-image "
        "pass for any tile and batch, 2-3x slower (by default it is within float rounding)",
    )
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast: about 2x faster on CPUs and GPUs with bf16, slightly different "
        "output",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="torch, or onnxruntime: the model exported to ONNX on the fly (or a .onnx file "
        "from sr_lab.export), on the CPU (default: torch)",
    )
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last memory format (default: the model's faster one on the CPU, "
        "measured: on for upconv7 and vgg7, off for dcscn and espcn7)",
    )


def inference_options(args: argparse.Namespace, flags: set[str] | None = None) -> InferenceOptions:
    """The engine's options from flags added by ``add_inference_arguments`` (and, where the
    command has them, --tta and --device). ``--bf16`` on a CPU without native bf16 (``flags``:
    this machine's) would be emulated and many times slower: fp32 runs instead, with a notice."""
    device = getattr(args, "device", "cpu")
    if 1 <= args.tile < SMALL_TILE:
        print(
            f"note: --tile {args.tile} is small: every tile recomputes the model's context on "
            "each side, so this runs many times slower than the default 256",
            file=sys.stderr,
        )
    bf16 = args.bf16
    if bf16 and device == "cpu" and cpu_training_precision(flags) != "bf16-mixed":
        print(
            "note: this CPU has no native bf16 (AVX512-BF16, AMX); --bf16 runs as fp32",
            file=sys.stderr,
        )
        bf16 = False
    return InferenceOptions(
        tile=args.tile,
        batch=args.batch,
        tta=getattr(args, "tta", 1),
        precision="bf16" if bf16 else "fp32",
        channels_last=args.channels_last,
        exact=args.exact,
        device=device,
        backend=args.backend,
    )
