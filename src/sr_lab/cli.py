"""What the entry points share: bad input ends in one ``error:`` line and exit status 2, and
the inference engine's options are the same flags everywhere."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from tqdm import tqdm

from sr_lab import __version__
from sr_lab.config import RunDirectory, cpu_training_precision
from sr_lab.tiling import BACKENDS, InferenceOptions

T = TypeVar("T")
# errors of a write that failed midway (full disk or quota, file too large, I/O): the work
# failed (status 1), unlike bad input found before any work (status 2)
WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}
SMALL_TILE = 32  # input pixels: below this, the tiles' context overlap dominates the work


def run_or_exit(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` under sr_lab's exit-status contract, one line on stderr and no
    traceback (``SR_LAB_DEBUG=1`` shows it): a ValueError or OSError (bad value, missing or
    unreadable file) exits 2, a write that failed (a full disk) 1, Ctrl-C 130, anything
    unexpected 1."""
    debug = os.environ.get("SR_LAB_DEBUG", "") not in ("", "0")
    try:
        return function(*args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except (ValueError, OSError) as err:
        if debug:
            raise
        where = isinstance(err, OSError) and err.filename is not None and err.strerror
        print(f"error: {f'{err.filename}: {err.strerror}' if where else err}", file=sys.stderr)
        raise SystemExit(1 if getattr(err, "errno", None) in WRITE_FAILURES else 2) from None
    except Exception as err:
        if debug:
            raise
        print(f"error: {type(err).__name__}: {err} (SR_LAB_DEBUG=1 shows where)", file=sys.stderr)
        raise SystemExit(1) from None


@contextlib.contextmanager
def counter(total: int, desc: str, unit: str, every_s: float = 30.0) -> Iterator[Callable]:
    """An ``advance(n)`` function for work of ``total`` units: a progress bar on a terminal;
    when stderr goes to a file, a plain line every ``every_s`` seconds (and a last one, if any
    was written), so logs show that long work is moving."""
    if sys.stderr.isatty():
        with tqdm(total=total, desc=desc, unit=unit, leave=False) as bar:
            yield bar.update
        return
    start = time.monotonic()
    done, shown, last = 0, 0, start

    def show() -> None:
        nonlocal shown, last
        last = time.monotonic()
        print(f"{desc}: {done}/{total} {unit} ({last - start:.0f} s)", file=sys.stderr)
        shown = done

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        if time.monotonic() - last >= every_s:
            show()

    yield advance
    if shown and shown != done:
        show()


def progress(items: Sequence[T], desc: str, unit: str, every_s: float = 30.0) -> Iterator[T]:
    """``items``, counted by ``counter`` as each one's work finishes."""
    with counter(len(items), desc, unit, every_s) as advance:
        for item in items:
            yield item
            advance()


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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line (exit status 2), as every
    other bad input is, pointing to ``--help`` instead of printing the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def make_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose help starts with the entry point's docstring, as written, and
    that answers ``--version``."""
    parser = OneLineParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sr_lab {__version__}")
    return parser


def run_hydra(hydra_main: Callable[[], Any]) -> None:
    """A Hydra entry point under the exit-status contract: Hydra's own errors (an unknown
    config key, a bad override, a missing config option) become one ``error:`` line and exit
    status 2 like every other bad input. ``HYDRA_FULL_ERROR=1`` (set here unless the user set
    it) makes Hydra raise them rather than print its multi-line report."""
    from hydra.errors import HydraException

    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    RunDirectory.last = None

    def composed() -> None:
        try:
            hydra_main()
        except HydraException as err:
            message = str(err).split("Config search path")[0]
            raise ValueError(" ".join(message.split())) from None
        except OSError as err:  # Hydra's own writes (.hydra/, the log) failed: a full disk
            run_dir = RunDirectory.last
            if run_dir is None:
                raise
            remove_stub(run_dir)
            if err.filename is None:
                raise OSError(err.errno, err.strerror, str(run_dir)) from None
            raise

    run_or_exit(composed)


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
